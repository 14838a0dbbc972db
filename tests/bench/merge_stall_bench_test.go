//go:build bench

package bench

// What a large merge costs the rest of the server: the latency of GETs of
// another bucket while a fork with FORKSTORE_BENCH_MERGE_CHANGES changes
// (default 100,000 new keys, loaded with 0-byte PUTs by 32 clients for at
// most FORKSTORE_BENCH_MERGE_LOAD, default 5m: the count reached is
// printed) is merged into its parent. Four clients GET keys of an
// unrelated bucket in a loop; the figures are the GETs sent before the
// merge (the baseline) and those sent while the merge request was open.
// Goal: p99 of the latter under 50 ms.
//
// Run with: make bench, or
//
//	go test -tags bench -run '^$' -bench MergeStall -benchtime 1x -timeout 30m -v ./tests/bench/

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func BenchmarkMergeStall(b *testing.B) {
	changes := envInt("FORKSTORE_BENCH_MERGE_CHANGES", 100_000)
	loadFor := envDuration("FORKSTORE_BENCH_MERGE_LOAD", 5*time.Minute)
	ctx := context.Background()
	s := startBenchServer(b)
	c := newForkBenchClient(s)
	run := fmt.Sprintf("%06d", time.Now().UnixNano()%1e6)
	base, fork, other := "ms-base-"+run, "ms-fork-"+run, "ms-other-"+run
	for _, bk := range []string{base, other} {
		if _, _, err := c.must(ctx, http.MethodPut, "/"+bk, nil); err != nil {
			b.Fatal(err)
		}
	}
	const otherKeys = 100
	if n, err := loadKeys(ctx, c, other, otherKeys, time.Minute); err != nil || n != otherKeys {
		b.Fatalf("loading %s: %d, %v", other, n, err)
	}
	if err := c.fork(ctx, base, fork); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	loaded, err := loadKeys(ctx, c, fork, changes, loadFor)
	if err != nil {
		b.Fatalf("loading the fork: %d, %v", loaded, err)
	}
	b.Logf("fork loaded with %d changes in %v", loaded, time.Since(t0).Round(time.Millisecond))

	// GETs of the other bucket, before and during the merge.
	type sample struct {
		start time.Time
		dur   time.Duration
	}
	var (
		mu      sync.Mutex
		samples []sample
		stop    atomic.Bool
		getErr  atomic.Value
		wg      sync.WaitGroup
	)
	const readers = 4
	for w := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(30 * time.Minute) // bound, whatever happens
			for i := w; !stop.Load() && time.Now().Before(deadline); i += readers {
				s0 := time.Now()
				if _, _, err := c.must(ctx, http.MethodGet, fmt.Sprintf("/%s/%s", other, benchKey(i%otherKeys)), nil); err != nil {
					getErr.Store(err)
					return
				}
				mu.Lock()
				samples = append(samples, sample{s0, time.Since(s0)})
				mu.Unlock()
			}
		}()
	}
	waitSamples := func(n int) {
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			mu.Lock()
			got := len(samples)
			mu.Unlock()
			if got >= n || getErr.Load() != nil {
				return
			}
			time.Sleep(10 * time.Millisecond) // polling a counter, not synchronisation
		}
	}
	waitSamples(500)
	var rep struct{ Puts, Deletes int }
	m0 := time.Now()
	mergeErr := c.admin(ctx, http.MethodPost, "buckets/"+fork+"/merge", map[string]any{}, &rep)
	m1 := time.Now()
	stop.Store(true)
	wg.Wait()
	if err, ok := getErr.Load().(error); ok {
		b.Fatal(err)
	}
	if mergeErr != nil {
		b.Fatal(mergeErr)
	}
	if rep.Puts != loaded {
		b.Fatalf("merge applied %d puts, want %d", rep.Puts, loaded)
	}
	var before, during latencies
	for _, s := range samples {
		switch {
		case s.start.Before(m0):
			before = append(before, s.dur)
		case s.start.Before(m1):
			during = append(during, s.dur)
		}
	}
	took := m1.Sub(m0)
	maxDuring := time.Duration(0)
	for _, d := range during {
		maxDuring = max(maxDuring, d)
	}
	rows := []forkRow{
		latencyRow("GET of another bucket, before the merge", before, 0, fmt.Sprintf("%d clients", readers)),
		latencyRow(fmt.Sprintf("GET of another bucket, during a merge of %d changes", loaded), during, 0,
			fmt.Sprintf("%d clients; max %s; goal p99 < 50 ms", readers, ms(maxDuring))),
		{fmt.Sprintf("merge, fork with %d changes", loaded), "1", ms(took), "-", fmt.Sprintf("%.0f changes/s", float64(loaded)/took.Seconds()), "Raft entries of 128 changes, other commands in between"},
	}
	b.ReportMetric(float64(during.pct(99).Microseconds())/1000, "get-p99-during-ms")
	b.ReportMetric(float64(took.Milliseconds()), "merge-ms")
	fmt.Printf("\nforkstore merge stall: %s, %d cores\n\n", runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU())
	fmt.Println("| figure | samples | p50 | p99 | total (rate) | notes |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", r.figure, r.samples, r.p50, r.p99, r.total, r.notes)
	}
}
