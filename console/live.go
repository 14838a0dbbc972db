package console

import (
	"context"
	"math"
	"sync"
	"time"
)

// Sample is one reading of the cluster page's live figures: rates over
// the interval since the reading before it.
type Sample struct {
	At time.Time
	// Requests is S3 requests per second.
	Requests float64
	// P99 is the 99th percentile of the S3 request latency in seconds
	// (the upper bound of the histogram bucket it falls in); NaN when
	// no request finished in the interval.
	P99 float64
	// BytesIn and BytesOut are S3 request and answer body bytes per
	// second.
	BytesIn, BytesOut float64
}

// History keeps the last few minutes of samples in a ring, so that the
// cluster page's charts have a past on their first load.
type History struct {
	every time.Duration

	mu   sync.Mutex
	ring []Sample
	next int // where the next sample goes
	full bool
}

// Defaults of a History: a sample every 5 seconds for 10 minutes.
const (
	DefaultSampleEvery = 5 * time.Second
	DefaultSamples     = 120
)

// NewHistory returns a History of size samples taken every interval.
func NewHistory(every time.Duration, size int) *History {
	return &History{every: every, ring: make([]Sample, max(size, 1))}
}

// Add appends s, overwriting the oldest sample when the ring is full.
func (h *History) Add(s Sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ring[h.next] = s
	h.next = (h.next + 1) % len(h.ring)
	if h.next == 0 {
		h.full = true
	}
}

// Samples returns the samples kept, oldest first.
func (h *History) Samples() []Sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.full {
		return append([]Sample(nil), h.ring[:h.next]...)
	}
	return append(append([]Sample(nil), h.ring[h.next:]...), h.ring[:h.next]...)
}

// Span is the time the ring covers when full.
func (h *History) Span() time.Duration { return h.every * time.Duration(len(h.ring)) }

// Every is the interval between samples.
func (h *History) Every() time.Duration { return h.every }

// Run takes a sample with read now and then every interval until ctx
// ends; a reading that fails (false: the first, which only primes the
// reader, or one that could not read) is skipped.
func (h *History) Run(ctx context.Context, read func(now time.Time) (Sample, bool)) {
	if s, ok := read(time.Now()); ok {
		h.Add(s)
	}
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if s, ok := read(now); ok {
				h.Add(s)
			}
		}
	}
}

// liveCharts draws the history as the cluster page's three charts.
func liveCharts(h *History) []Chart {
	samples := h.Samples()
	at := make([]time.Time, len(samples))
	reqs := make([]float64, len(samples))
	p99 := make([]float64, len(samples))
	in := make([]float64, len(samples))
	out := make([]float64, len(samples))
	for i, s := range samples {
		at[i], reqs[i], in[i], out[i] = s.At, s.Requests, s.BytesIn, s.BytesOut
		p99[i] = s.P99 * 1000
		if math.IsNaN(s.P99) {
			p99[i] = math.NaN()
		}
	}
	var end time.Time
	if len(at) > 0 {
		end = at[len(at)-1]
	}
	span := h.Span()
	return []Chart{
		{ID: "chart-requests", Title: "S3 requests/s", Unit: plainUnit, At: at, End: end, Span: span,
			Series: []Series{{Name: "requests/s", Values: reqs}}},
		{ID: "chart-p99", Title: "S3 p99 latency (ms)", Unit: plainUnit, At: at, End: end, Span: span,
			Series: []Series{{Name: "p99 ms", Values: p99}}},
		{ID: "chart-bytes", Title: "Bytes/s in and out", Unit: byteUnit, Base: 1024, At: at, End: end, Span: span,
			Series: []Series{{Name: "in", Values: in}, {Name: "out", Values: out}}},
	}
}
