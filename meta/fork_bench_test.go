package meta

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchmarkForkCreate measures applying a fork and a snapshot command (the
// state machine's share of their latency: no Raft, no HTTP) on a base of
// 1,000 objects and on a large base loaded straight through the state
// machine: FORKSTORE_BENCH_META_KEYS objects, default 1,000,000. Creation
// is O(1), so the two must be within 20% of each other at p50.
// Run: go test -run '^$' -bench ForkCreate -benchtime 1x ./meta/
func BenchmarkForkCreate(b *testing.B) {
	large := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("FORKSTORE_BENCH_META_KEYS")); err == nil && v > 0 {
		large = v
	}
	tf := openTestFSM(b)
	load := func(bucket string, n int) {
		tf.createBucket(bucket)
		const batch = 256
		cmds := make([]any, 0, batch)
		for i := 0; i < n; i++ {
			cmds = append(cmds, &PutObject{
				Header: Header{RequestID: fmt.Sprintf("load-%s-%d", bucket, i), Stamp: uint64(i + 1)},
				Bucket: bucket,
				Object: Object{Key: fmt.Sprintf("dir-%03d/key-%08d", i%1000, i), Size: 0, ETag: `"d41d8cd98f00b204e9800998ecf8427e"`},
			})
			if len(cmds) == batch || i == n-1 {
				tf.applyBatch(cmds...)
				cmds = cmds[:0]
			}
		}
	}
	start := time.Now()
	load("small", 1000)
	load("large", large)
	b.Logf("loaded 1,000 + %d objects in %v", large, time.Since(start).Round(time.Millisecond))

	const samples = 300
	lat := map[string][]time.Duration{}
	n := 0
	for b.Loop() {
		for i := 0; i < samples; i++ {
			for _, base := range []string{"small", "large"} {
				n++
				t0 := time.Now()
				tf.must(&CreateBucket{Name: fmt.Sprintf("f-%s-%d", base, n), ForkSource: base})
				lat["fork-"+base] = append(lat["fork-"+base], time.Since(t0))
				t0 = time.Now()
				tf.must(&CreateSnapshot{Bucket: base})
				lat["snap-"+base] = append(lat["snap-"+base], time.Since(t0))
			}
		}
	}
	pct := func(d []time.Duration, p float64) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[int(p*float64(len(s)-1))].Nanoseconds()) / 1e3
	}
	for _, k := range []string{"fork-small", "fork-large", "snap-small", "snap-large"} {
		b.ReportMetric(pct(lat[k], 0.50), k+"-p50-us")
		b.ReportMetric(pct(lat[k], 0.99), k+"-p99-us")
	}
	for _, k := range []string{"fork", "snap"} {
		ratio := pct(lat[k+"-large"], 0.5) / max(pct(lat[k+"-small"], 0.5), 1)
		b.ReportMetric(ratio, k+"-large/small")
		if ratio > 1.2 {
			b.Errorf("%s creation p50 on %d objects is %.2fx the 1,000-object base's: not O(1)", k, large, ratio)
		}
	}
}
