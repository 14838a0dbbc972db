package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/forkstore/forkstore/console"
)

// s3Meter reads the console's live figures from the metrics s3api
// exports to /metrics: request, byte and latency counters, turned into
// rates between two readings.
type s3Meter struct {
	g prometheus.Gatherer

	mu   sync.Mutex
	prev *s3Reading
}

// s3Reading is the S3 counters at one instant.
type s3Reading struct {
	at                      time.Time
	reqs, in, out, inflight float64
	// buckets is the latency histogram: upper bound -> cumulative count.
	buckets map[float64]float64
	count   float64
}

func newS3Meter(g prometheus.Gatherer) *s3Meter { return &s3Meter{g: g} }

// read gathers the counters now.
func (m *s3Meter) read(now time.Time) (*s3Reading, bool) {
	mfs, err := m.g.Gather()
	if err != nil {
		return nil, false
	}
	r := &s3Reading{at: now, buckets: map[float64]float64{}}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			switch mf.GetName() {
			case "forkstore_s3_requests_total":
				r.reqs += mt.GetCounter().GetValue()
			case "forkstore_s3_received_bytes_total":
				r.in += mt.GetCounter().GetValue()
			case "forkstore_s3_sent_bytes_total":
				r.out += mt.GetCounter().GetValue()
			case "forkstore_s3_requests_in_flight":
				r.inflight += mt.GetGauge().GetValue()
			case "forkstore_s3_request_duration_seconds":
				h := mt.GetHistogram()
				for _, b := range h.GetBucket() {
					r.buckets[b.GetUpperBound()] += float64(b.GetCumulativeCount())
				}
				r.count += float64(h.GetSampleCount())
			}
		}
	}
	return r, true
}

// sample reads the counters and returns the rates since the previous
// sample (false for the first reading, which has no interval).
func (m *s3Meter) sample(now time.Time) (console.Sample, bool) {
	cur, ok := m.read(now)
	if !ok {
		return console.Sample{}, false
	}
	m.mu.Lock()
	p := m.prev
	m.prev = cur
	m.mu.Unlock()
	if p == nil {
		return console.Sample{}, false
	}
	secs := cur.at.Sub(p.at).Seconds()
	if secs <= 0 {
		return console.Sample{}, false
	}
	// A counter that went down was reset (a new registry): no rate.
	rate := func(a, b float64) float64 { return max(0, b-a) / secs }
	return console.Sample{At: now, Requests: rate(p.reqs, cur.reqs), BytesIn: rate(p.in, cur.in),
		BytesOut: rate(p.out, cur.out), P99: p99(p, cur)}, true
}

// p99 is the upper bound of the latency bucket the interval's 99th
// percentile falls in: NaN when no request finished, +Inf past the
// largest finite bucket.
func p99(p, cur *s3Reading) float64 {
	n := cur.count - p.count
	if n <= 0 {
		return math.NaN()
	}
	bounds := make([]float64, 0, len(cur.buckets))
	for b := range cur.buckets {
		bounds = append(bounds, b)
	}
	slices.Sort(bounds)
	for _, b := range bounds {
		if cur.buckets[b]-p.buckets[b] >= 0.99*n {
			return b
		}
	}
	return math.Inf(1)
}

// figures are the figures that need no interval: requests in flight and
// the totals.
func (m *s3Meter) figures() []console.Figure {
	r, ok := m.read(time.Now())
	if !ok {
		return nil
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
	return []console.Figure{
		{Name: "S3 requests in flight", Value: f(r.inflight)},
		{Name: "S3 requests (total)", Value: f(r.reqs)},
		{Name: "Bytes received (total)", Value: f(r.in)},
		{Name: "Bytes sent (total)", Value: f(r.out)},
	}
}

// consoleSessionKey derives the key of the console's session cookies from
// the cluster key, so that a session signed in on one node is good on
// every node; none without a cluster key (a node of its own: the console
// picks a random key, and its sessions end when it restarts).
func consoleSessionKey(clusterKey string) []byte {
	if clusterKey == "" {
		return nil
	}
	h := hmac.New(sha256.New, []byte(clusterKey))
	h.Write([]byte("forkstore console session key v1"))
	return h.Sum(nil)
}
