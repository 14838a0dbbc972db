//go:build bench

package bench

// The soak: minutes of steady mixed traffic, to catch a server that slows
// down as it goes (a cost per write that grows with what was written or
// deleted before). Eight minio-go workers PUT 4 KiB objects, DELETE some of
// what they wrote, and now and then create and delete a fork; the traffic
// goes to one bucket per round, and at the end of each round the bucket
// is emptied and removed while the next one takes the writes. Throughput
// and p99 are printed per minute, on a single node and on a 3-node
// cluster; the figure that matters is the last three minutes against the
// first three (the test fails below 0.85).
//
// Run with: make bench, or
//
//	go test -tags bench -run '^TestBenchSoak$' -v -count=1 -timeout 45m ./tests/bench/
//
// Environment (besides FORKSTORE_BENCH_CONCURRENCY and FORKSTORE_BIN):
//
//	FORKSTORE_BENCH_SOAK         how long each target runs (default 15m)
//	FORKSTORE_BENCH_SOAK_ROUND   how long one bucket takes the writes (default 50s)
//	FORKSTORE_BENCH_SOAK_TARGETS "single,cluster" (default both)
//	FORKSTORE_BENCH_SERVER_ARGS  more server flags, space-separated, given to
//	                             every node (e.g. "--meta-shards 16")
//	FORKSTORE_BENCH_PROFILE      a directory: profiles of the single node and
//	                             of the cluster's nodes over the first and
//	                             the last minute

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// soakMinute is what one minute of the soak did.
type soakMinute struct {
	ops, errs int64
	lat       latencies
}

// soakStats collects completed operations by the minute they ended in.
type soakStats struct {
	start time.Time
	mu    sync.Mutex
	mins  []soakMinute
}

func (s *soakStats) add(end time.Time, took time.Duration, err error) {
	m := int(end.Sub(s.start) / time.Minute)
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.mins) <= m {
		s.mins = append(s.mins, soakMinute{})
	}
	if err != nil {
		s.mins[m].errs++
		return
	}
	s.mins[m].ops++
	s.mins[m].lat = append(s.mins[m].lat, took)
}

// rate is the operations per second over minutes [from, to).
func (s *soakStats) rate(from, to int) float64 {
	var ops int64
	for _, m := range s.mins[from:to] {
		ops += m.ops
	}
	return float64(ops) / (float64(to-from) * 60)
}

// soakTarget is a server (or cluster) under soak.
type soakTarget struct {
	name    string
	addrs   []string
	clients []*minio.Client
}

func newSoakTarget(t testing.TB, name string, addrs []string) *soakTarget {
	st := &soakTarget{name: name, addrs: addrs}
	for _, a := range addrs {
		c, err := minio.New(a, &minio.Options{
			Creds:  credentials.NewStaticV4(harness.DefaultUser, harness.DefaultPassword, ""),
			Region: harness.DefaultRegion,
		})
		if err != nil {
			t.Fatal(err)
		}
		st.clients = append(st.clients, c)
	}
	return st
}

// soak drives the mixed traffic for d and returns the per-minute figures.
func soak(t *testing.T, tg *soakTarget, conc int, d, round time.Duration) *soakStats {
	ctx, cancel := context.WithTimeout(context.Background(), d+5*time.Minute)
	defer cancel()
	admin := newSignedClient()
	stats := &soakStats{start: time.Now()}
	body := make([]byte, 4<<10)
	rand.NewChaCha8([32]byte{4}).Read(body)

	// The bucket taking the writes; workers hold mu.RLock during an
	// operation so that a round ends with no operation in flight on its
	// bucket.
	var mu sync.RWMutex
	var roundNo int
	bucketOf := func(r int) string { return fmt.Sprintf("soak-%s-%d", tg.name, r) }
	if err := tg.clients[0].MakeBucket(ctx, bucketOf(0), minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := stats.start.Add(d)
	var forks atomic.Int64
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var mine []string // keys this worker wrote in the current round
			myRound := -1
			for i := 0; time.Now().Before(deadline); i++ {
				c := tg.clients[(w+i)%len(tg.clients)]
				addr := tg.addrs[(w+i)%len(tg.addrs)]
				mu.RLock()
				if roundNo != myRound {
					myRound, mine = roundNo, mine[:0]
				}
				bucket := bucketOf(myRound)
				began := time.Now()
				var err error
				switch p := rng.IntN(100); {
				case p < 2: // a fork of the round's bucket, made and removed
					name := fmt.Sprintf("soakf-%s-%d", tg.name, forks.Add(1))
					_, err = admin.must(ctx, http.MethodPut, addr, "/"+name, nil, "X-Tigris-Fork-Source-Bucket", bucket)
					if err == nil {
						_, err = admin.must(ctx, http.MethodDelete, addr, "/"+name, nil)
					}
				case p < 22 && len(mine) > 0: // delete one of ours
					j := rng.IntN(len(mine))
					err = c.RemoveObject(ctx, bucket, mine[j], minio.RemoveObjectOptions{})
					mine[j] = mine[len(mine)-1]
					mine = mine[:len(mine)-1]
				default:
					key := fmt.Sprintf("w%d/%08d", w, i)
					_, err = c.PutObject(ctx, bucket, key, strings.NewReader(string(body)), int64(len(body)), minio.PutObjectOptions{DisableMultipart: true})
					if err == nil {
						mine = append(mine, key)
					}
				}
				mu.RUnlock()
				now := time.Now()
				stats.add(now, now.Sub(began), err)
				if err != nil && stats.firstErr() {
					fmt.Fprintf(os.Stderr, "soak %s: first error: %v\n", tg.name, err)
				}
			}
		}()
	}
	// Rounds: the next bucket takes the writes, the last one is emptied and
	// removed (its removal is load too, not counted as operations).
	for r := 1; ; r++ {
		next := time.Now().Add(round)
		if next.After(deadline) {
			break
		}
		time.Sleep(time.Until(next)) // the round's length is the workload, not synchronisation
		if err := tg.clients[0].MakeBucket(ctx, bucketOf(r), minio.MakeBucketOptions{}); err != nil {
			t.Errorf("round %d: %v", r, err)
			break
		}
		mu.Lock()
		roundNo = r
		mu.Unlock()
		if err := emptyAndRemove(ctx, tg.clients[0], bucketOf(r-1)); err != nil {
			t.Errorf("round %d: removing the last bucket: %v", r, err)
		}
	}
	wg.Wait()
	return stats
}

var soakErrOnce atomic.Bool

func (s *soakStats) firstErr() bool { return soakErrOnce.CompareAndSwap(false, true) }

// emptyAndRemove deletes every object of bucket, then the bucket.
func emptyAndRemove(ctx context.Context, c *minio.Client, bucket string) error {
	objs := make(chan minio.ObjectInfo)
	go func() {
		defer close(objs)
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				return
			}
			objs <- o
		}
	}()
	for e := range c.RemoveObjects(ctx, bucket, objs, minio.RemoveObjectsOptions{}) {
		if e.Err != nil {
			return e.Err
		}
	}
	return c.RemoveBucket(ctx, bucket)
}

// TestBenchSoak prints the soak figures; docs/benchmarks.md records them.
func TestBenchSoak(t *testing.T) {
	d := envDuration("FORKSTORE_BENCH_SOAK", 15*time.Minute)
	round := envDuration("FORKSTORE_BENCH_SOAK_ROUND", 50*time.Second)
	conc := envInt("FORKSTORE_BENCH_CONCURRENCY", 8)
	targets := os.Getenv("FORKSTORE_BENCH_SOAK_TARGETS")
	if targets == "" {
		targets = "single,cluster"
	}
	bin := os.Getenv("FORKSTORE_BIN")
	if bin == "" {
		var err error
		if bin, err = harness.Build(t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	profDir := os.Getenv("FORKSTORE_BENCH_PROFILE")
	if profDir != "" {
		if err := os.MkdirAll(profDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range strings.Split(targets, ",") {
		var tg *soakTarget
		pprofs := map[string]string{}
		switch name {
		case "single":
			args := []string{"--log-level", "warn"}
			if profDir != "" {
				addr, err := harness.FreePort()
				if err != nil {
					t.Fatal(err)
				}
				args = append(args, "--pprof-addr", addr)
				pprofs["single"] = addr
			}
			s := harness.Start(t, bin, harness.WithArgs(serverArgs(args...)...))
			tg = newSoakTarget(t, "single", []string{s.S3Addr})
		case "cluster":
			cl := newBenchCluster(t, bin, "soak", 3, profDir != "", serverArgs()...)
			var addrs []string
			for _, n := range cl.running() {
				addrs = append(addrs, n.S3Addr)
				pprofs[fmt.Sprintf("n%d", n.ID)] = n.PprofAddr
			}
			tg = newSoakTarget(t, "cluster", addrs)
		default:
			t.Fatalf("FORKSTORE_BENCH_SOAK_TARGETS: unknown target %q", name)
		}
		wait := profileSoak(profDir, pprofs, d)
		st := soak(t, tg, conc, d, round)
		wait()
		report(t, tg.name, d, st)
	}
}

// profileSoak profiles every node (by name, its pprof address) over the
// first minute of a soak of d and over its last minute, into
// dir/soak-first-* and dir/soak-last-*. It returns at once; wait waits for
// the profiles.
func profileSoak(dir string, addrs map[string]string, d time.Duration) (wait func()) {
	secs := int(min(time.Minute, d/3) / time.Second)
	if dir == "" || len(addrs) == 0 || secs < 1 {
		return func() {}
	}
	first := profileNodes(dir, "soak-first", addrs, secs)
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(d - time.Duration(secs)*time.Second)
		profileNodes(dir, "soak-last", addrs, secs)()
	}()
	return func() { first(); <-done }
}

// report prints the per-minute table and checks the last three minutes
// against the first three (thirds of the run when it is shorter than six
// minutes).
func report(t *testing.T, name string, d time.Duration, st *soakStats) {
	full := min(len(st.mins), int(d/time.Minute)) // the last minute may be partial
	var b strings.Builder
	fmt.Fprintf(&b, "\nsoak %s (%s, PUT 4 KiB / DELETE / fork, 8 workers%s):\n\n| minute | ops/s | p99 | errors |\n|---|---|---|---|\n", name, d, argsNote())
	for i, m := range st.mins[:full] {
		fmt.Fprintf(&b, "| %d | %.0f | %s | %d |\n", i+1, float64(m.ops)/60, ms(m.lat.pct(99)), m.errs)
	}
	w := 3
	if full < 6 {
		w = full / 3
	}
	if w == 0 {
		fmt.Fprint(os.Stderr, b.String())
		t.Logf("soak %s: too short to compare (%d full minutes)", name, full)
		return
	}
	first, last := st.rate(0, w), st.rate(full-w, full)
	fmt.Fprintf(&b, "\nfirst %d min: %.0f ops/s, last %d min: %.0f ops/s, ratio %.2f\n", w, first, w, last, last/first)
	fmt.Fprint(os.Stderr, b.String())
	if last < 0.85*first {
		t.Errorf("soak %s: the last %d minutes ran at %.0f ops/s, %.2fx the first %d (%.0f ops/s): the server slows down as it goes", name, w, last, last/first, w, first)
	}
}
