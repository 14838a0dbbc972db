package main

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/forkstore/forkstore/console"
)

// TestConsoleFigures: the cluster page's figures are rates and a p99
// over the interval between two readings, from the metrics s3api
// exports.
func TestConsoleFigures(t *testing.T) {
	reg := prometheus.NewRegistry()
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "forkstore_s3_requests_total"}, []string{"op"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "forkstore_s3_request_duration_seconds", Buckets: []float64{0.001, 0.01, 0.1, 1}}, []string{"op"})
	in := prometheus.NewCounter(prometheus.CounterOpts{Name: "forkstore_s3_received_bytes_total"})
	reg.MustRegister(reqs, dur, in)
	figures := consoleFigures(reg)
	// Before: many fast requests, which the window must not count.
	for i := 0; i < 1000; i++ {
		reqs.WithLabelValues("GetObject").Inc()
		dur.WithLabelValues("GetObject").Observe(0.0005)
	}
	first := figures()
	if figure(first, "S3 requests (total)") != "1000" || figure(first, "S3 requests/s") != "" {
		t.Fatalf("first reading: %v", first)
	}
	for i := 0; i < 100; i++ {
		reqs.WithLabelValues("PutObject").Inc()
		dur.WithLabelValues("PutObject").Observe(0.05)
		in.Add(1000)
	}
	second := figures()
	if got := figure(second, "S3 p99 latency"); got != "≤ 100 ms" {
		t.Errorf("p99 over the window = %q (%v)", got, second)
	}
	if rate := figure(second, "S3 requests/s"); rate == "" || strings.HasPrefix(rate, "0") {
		t.Errorf("requests/s = %q", rate)
	}
	if figure(second, "Bytes received (total)") != "100000" {
		t.Errorf("bytes in: %v", second)
	}
}

func figure(figs []console.Figure, name string) string {
	for _, f := range figs {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}
