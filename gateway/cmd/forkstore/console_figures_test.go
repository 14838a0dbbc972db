package main

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/forkstore/forkstore/console"
)

// TestConsoleSamples: the cluster page's samples are rates and a p99
// over the interval between two readings of the metrics s3api exports;
// its figures are the totals.
func TestConsoleSamples(t *testing.T) {
	reg := prometheus.NewRegistry()
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "forkstore_s3_requests_total"}, []string{"op"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "forkstore_s3_request_duration_seconds", Buckets: []float64{0.001, 0.01, 0.1, 1}}, []string{"op"})
	in := prometheus.NewCounter(prometheus.CounterOpts{Name: "forkstore_s3_received_bytes_total"})
	reg.MustRegister(reqs, dur, in)
	m := newS3Meter(reg)
	t0 := time.Unix(1_700_000_000, 0)
	// Before: many fast requests, which the interval must not count.
	for range 1000 {
		reqs.WithLabelValues("GetObject").Inc()
		dur.WithLabelValues("GetObject").Observe(0.0005)
	}
	if s, ok := m.sample(t0); ok {
		t.Fatalf("the first reading has no interval: %+v", s)
	}
	if got := figure(m.figures(), "S3 requests (total)"); got != "1000" {
		t.Fatalf("total = %q", got)
	}
	for range 100 {
		reqs.WithLabelValues("PutObject").Inc()
		dur.WithLabelValues("PutObject").Observe(0.05)
		in.Add(1000)
	}
	s, ok := m.sample(t0.Add(5 * time.Second))
	if !ok {
		t.Fatal("no second sample")
	}
	if s.P99 != 0.1 || s.Requests != 20 || s.BytesIn != 20000 || s.BytesOut != 0 {
		t.Errorf("sample %+v, want p99 0.1 s, 20 requests/s, 20000 bytes in/s", s)
	}
	// No request in the interval: no p99; one past the largest bucket: +Inf.
	if s, _ := m.sample(t0.Add(10 * time.Second)); !math.IsNaN(s.P99) || s.Requests != 0 {
		t.Errorf("idle sample %+v", s)
	}
	dur.WithLabelValues("PutObject").Observe(5)
	if s, _ := m.sample(t0.Add(15 * time.Second)); !math.IsInf(s.P99, 1) {
		t.Errorf("p99 past the largest bucket = %v", s.P99)
	}
	if got := figure(m.figures(), "Bytes received (total)"); got != "100000" {
		t.Errorf("bytes in total = %q", got)
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

// TestConsoleSessionKey: the nodes of a cluster derive one session key
// from their cluster key (not the cluster key itself); a node without
// one leaves the console to pick its own.
func TestConsoleSessionKey(t *testing.T) {
	a, b := consoleSessionKey("cluster-key-0123456789"), consoleSessionKey("cluster-key-0123456789")
	if len(a) != 32 || string(a) != string(b) {
		t.Fatalf("keys %x and %x", a, b)
	}
	if string(consoleSessionKey("cluster-key-other-0123")) == string(a) || string(a) == "cluster-key-0123456789" {
		t.Error("the key does not depend on the cluster key, or is it")
	}
	if consoleSessionKey("") != nil {
		t.Error("a key without a cluster key")
	}
}
