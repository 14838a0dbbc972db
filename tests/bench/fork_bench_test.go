//go:build bench

package bench

// Snapshot and fork figures of one server process, measured from outside
// over loopback with SigV4-signed HTTP requests (the Tigris headers):
//
//   - fork and snapshot creation latency, p50/p99, of a 1,000-object base
//     and of a large base (FORKSTORE_BENCH_FORK_KEYS objects, default
//     300,000, loaded with 0-byte PUTs by 32 clients for at most
//     FORKSTORE_BENCH_FORK_LOAD, default 60s: the count reached is
//     printed; 1M objects through PUT do not fit a 2-core run). The samples alternate between the two bases so machine
//     noise hits both alike; creation is O(1) when the two p50s are within
//     20% (the benchmark fails otherwise);
//   - 1,000 forks of one base created by 32 clients while 4 writers
//     overwrite the base: p50/p99 and the total;
//   - GET and HEAD latency of a key of the base read through 0, 1, 8 and
//     32 forks;
//   - ListObjectsV2 of a fork of the large base in which 10% of the keys
//     were overwritten and 10% deleted, against the same walk of the base.
//
// Run with: make bench, or
//
//	go test -tags bench -run '^$' -bench Forks -benchtime 1x -timeout 60m -v ./tests/bench/
//
// Each sub-benchmark measures a fixed workload once (hence -benchtime 1x)
// and reports its percentiles as metrics; the parent prints a markdown
// table at the end.

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// forkClient sends signed requests to one server.
type forkClient struct {
	s    *harness.Server
	http *http.Client
}

func newForkBenchClient(s *harness.Server) *forkClient {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	return &forkClient{s: s, http: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

// emptySHA256 is the SHA-256 of an empty payload.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// do sends a signed request with an empty body and returns the status,
// the headers and the body (read whole).
func (c *forkClient) do(ctx context.Context, method, path string, query url.Values, hdr ...string) (int, http.Header, []byte, error) {
	u := &url.URL{Scheme: "http", Host: c.s.S3Addr, Path: path}
	if query != nil {
		u.RawQuery = query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), http.NoBody)
	if err != nil {
		return 0, nil, nil, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	req = signer.SignV4(*req, c.s.User(), c.s.Password(), "", c.s.Region())
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body, err
}

// must is do that wants a 2xx answer.
func (c *forkClient) must(ctx context.Context, method, path string, query url.Values, hdr ...string) (http.Header, []byte, error) {
	st, h, body, err := c.do(ctx, method, path, query, hdr...)
	if err == nil && (st < 200 || st > 299) {
		err = fmt.Errorf("%s %s: HTTP %d: %.300s", method, path, st, body)
	}
	return h, body, err
}

func (c *forkClient) fork(ctx context.Context, src, name string) error {
	_, _, err := c.must(ctx, http.MethodPut, "/"+name, nil, "X-Tigris-Fork-Source-Bucket", src)
	return err
}

func (c *forkClient) snapshot(ctx context.Context, bucket string) error {
	h, _, err := c.must(ctx, http.MethodPut, "/"+bucket, nil, "X-Tigris-Snapshot", "true")
	if err == nil && h.Get("X-Tigris-Snapshot-Version") == "" {
		err = fmt.Errorf("snapshot of %s: no X-Tigris-Snapshot-Version", bucket)
	}
	return err
}

// parallel runs op(i) for i in [0, n) with workers goroutines, stopping
// early after d. It returns the number done and the first error.
func parallel(ctx context.Context, n, workers int, d time.Duration, op func(ctx context.Context, i int) error) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d+time.Minute)
	defer cancel()
	deadline := time.Now().Add(d)
	var next, done atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := op(ctx, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(done.Load()), first
}

// latencies collects durations and summarises them.
type latencies []time.Duration

func (l latencies) pct(p int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := len(s) * p / 100
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// forkRow is one row of the printed table.
type forkRow struct {
	figure, samples, p50, p99, total, notes string
}

func latencyRow(name string, l latencies, total time.Duration, notes string) forkRow {
	tot := "-"
	if total > 0 {
		tot = fmt.Sprintf("%.2f s (%.0f/s)", total.Seconds(), float64(len(l))/total.Seconds())
	}
	return forkRow{name, fmt.Sprint(len(l)), ms(l.pct(50)), ms(l.pct(99)), tot, notes}
}

// loadKeys PUTs n empty objects key%08d into bucket with 32 workers, for
// at most d; it returns how many were written.
func loadKeys(ctx context.Context, c *forkClient, bucket string, n int, d time.Duration) (int, error) {
	return parallel(ctx, n, 32, d, func(ctx context.Context, i int) error {
		_, _, err := c.must(ctx, http.MethodPut, fmt.Sprintf("/%s/%s", bucket, benchKey(i)), nil)
		return err
	})
}

// benchKey is the i-th key of a base: 100 prefixes, sorted like i within
// a prefix.
func benchKey(i int) string { return fmt.Sprintf("p%02d/key%08d", i%100, i) }

func BenchmarkForks(b *testing.B) {
	largeKeys := envInt("FORKSTORE_BENCH_FORK_KEYS", 300000)
	loadFor := envDuration("FORKSTORE_BENCH_FORK_LOAD", 60*time.Second)
	samples := envInt("FORKSTORE_BENCH_FORK_SAMPLES", 200)
	ctx := context.Background()

	s := startBenchServer(b)
	c := newForkBenchClient(s)
	run := fmt.Sprintf("%06d", time.Now().UnixNano()%1e6)
	small, large := "fb-small-"+run, "fb-large-"+run
	var rows []forkRow
	var loaded int

	b.Run("load", func(b *testing.B) {
		for _, bk := range []string{small, large} {
			if _, _, err := c.must(ctx, http.MethodPut, "/"+bk, nil); err != nil {
				b.Fatal(err)
			}
		}
		if n, err := loadKeys(ctx, c, small, 1000, 10*time.Minute); err != nil || n != 1000 {
			b.Fatalf("loading the 1,000-object base: %d, %v", n, err)
		}
		start := time.Now()
		n, err := loadKeys(ctx, c, large, largeKeys, loadFor)
		if err != nil {
			b.Fatalf("loading the large base: %v", err)
		}
		loaded = n
		took := time.Since(start)
		b.ReportMetric(float64(n), "objects")
		b.ReportMetric(float64(n)/took.Seconds(), "PUT/s")
		rows = append(rows, forkRow{"load the large base (0-byte PUTs, 32 clients)", fmt.Sprint(n), "-", "-",
			fmt.Sprintf("%.1f s (%.0f/s)", took.Seconds(), float64(n)/took.Seconds()), fmt.Sprintf("target %d, cap %v", largeKeys, loadFor)})
	})
	if loaded == 0 {
		b.Fatal("no large base")
	}

	b.Run("create", func(b *testing.B) {
		var forkSmall, forkLarge, snapSmall, snapLarge latencies
		timeIt := func(l *latencies, f func() error) {
			start := time.Now()
			if err := f(); err != nil {
				b.Fatal(err)
			}
			*l = append(*l, time.Since(start))
		}
		deadline := time.Now().Add(5 * time.Minute)
		for i := 0; i < samples && time.Now().Before(deadline); i++ {
			// Alternate the order too, so neither base is always first.
			pairs := []struct {
				l   *latencies
				src string
			}{{&forkSmall, small}, {&forkLarge, large}}
			if i%2 == 1 {
				pairs[0], pairs[1] = pairs[1], pairs[0]
			}
			for _, p := range pairs {
				timeIt(p.l, func() error { return c.fork(ctx, p.src, fmt.Sprintf("%s-f%04d", p.src, i)) })
			}
			snaps := []struct {
				l   *latencies
				src string
			}{{&snapSmall, small}, {&snapLarge, large}}
			if i%2 == 1 {
				snaps[0], snaps[1] = snaps[1], snaps[0]
			}
			for _, p := range snaps {
				timeIt(p.l, func() error { return c.snapshot(ctx, p.src) })
			}
		}
		note := fmt.Sprintf("base of %d objects", loaded)
		rows = append(rows,
			latencyRow("fork creation, base of 1,000 objects", forkSmall, 0, "one client, alternating with the next row"),
			latencyRow("fork creation, large base", forkLarge, 0, note),
			latencyRow("snapshot creation, base of 1,000 objects", snapSmall, 0, "one client, alternating with the next row"),
			latencyRow("snapshot creation, large base", snapLarge, 0, note),
		)
		b.ReportMetric(float64(forkSmall.pct(50).Microseconds())/1000, "fork-small-p50-ms")
		b.ReportMetric(float64(forkLarge.pct(50).Microseconds())/1000, "fork-large-p50-ms")
		b.ReportMetric(float64(snapSmall.pct(50).Microseconds())/1000, "snap-small-p50-ms")
		b.ReportMetric(float64(snapLarge.pct(50).Microseconds())/1000, "snap-large-p50-ms")
		for _, p := range []struct {
			what         string
			small, large latencies
		}{{"fork", forkSmall, forkLarge}, {"snapshot", snapSmall, snapLarge}} {
			ratio := float64(p.large.pct(50)) / float64(p.small.pct(50))
			rows = append(rows, forkRow{p.what + " creation p50, large / 1,000-object base", "-", fmt.Sprintf("%.2fx", ratio), "-", "-", "O(1): within 1.20x"})
			if ratio > 1.2 {
				b.Errorf("%s creation is not O(1): p50 %v with %d objects, %v with 1,000 (%.2fx)", p.what, p.large.pct(50), loaded, p.small.pct(50), ratio)
			}
		}
	})

	b.Run("depth", func(b *testing.B) {
		chain := []string{small}
		for d := 1; d <= 32; d++ {
			name := fmt.Sprintf("%s-d%02d", small, d)
			if err := c.fork(ctx, chain[len(chain)-1], name); err != nil {
				b.Fatal(err)
			}
			chain = append(chain, name)
		}
		depths := []int{0, 1, 8, 32}
		gets := make([]latencies, len(depths))
		heads := make([]latencies, len(depths))
		n := 10 * samples
		deadline := time.Now().Add(5 * time.Minute)
		for i := 0; i < n && time.Now().Before(deadline); i++ {
			for j, d := range depths {
				path := fmt.Sprintf("/%s/%s", chain[d], benchKey((i*7919)%1000))
				for _, m := range []struct {
					method string
					l      *latencies
				}{{http.MethodGet, &gets[j]}, {http.MethodHead, &heads[j]}} {
					start := time.Now()
					if _, _, err := c.must(ctx, m.method, path, nil); err != nil {
						b.Fatal(err)
					}
					*m.l = append(*m.l, time.Since(start))
				}
			}
		}
		for j, d := range depths {
			rows = append(rows,
				latencyRow(fmt.Sprintf("GET 0 B at fork depth %d", d), gets[j], 0, "one client, depths interleaved"),
				latencyRow(fmt.Sprintf("HEAD at fork depth %d", d), heads[j], 0, ""))
			b.ReportMetric(float64(gets[j].pct(50).Microseconds())/1000, fmt.Sprintf("get-d%d-p50-ms", d))
		}
	})

	b.Run("list", func(b *testing.B) {
		fork := large + "-list"
		if err := c.fork(ctx, large, fork); err != nil {
			b.Fatal(err)
		}
		// Overwrite every tenth key (i%10 == 3) with a 1-byte body and
		// delete another tenth (i%10 == 7) with DeleteObjects.
		var over, del []int
		for i := 0; i < loaded; i++ {
			switch i % 10 {
			case 3:
				over = append(over, i)
			case 7:
				del = append(del, i)
			}
		}
		start := time.Now()
		if _, err := parallel(ctx, len(over), 32, 10*time.Minute, func(ctx context.Context, j int) error {
			_, _, err := c.must(ctx, http.MethodPut, fmt.Sprintf("/%s/%s", fork, benchKey(over[j])), nil)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		for off := 0; off < len(del); off += 1000 {
			if err := c.deleteObjects(ctx, fork, del[off:min(off+1000, len(del))]); err != nil {
				b.Fatal(err)
			}
		}
		prep := time.Since(start)
		want := loaded - len(del)
		var forkTimes, baseTimes []time.Duration
		for round := 0; round < 3; round++ {
			for _, w := range []struct {
				bucket string
				want   int
				out    *[]time.Duration
			}{{fork, want, &forkTimes}, {large, loaded, &baseTimes}} {
				start := time.Now()
				n, err := c.listAll(ctx, w.bucket)
				if err != nil {
					b.Fatal(err)
				}
				if n != w.want {
					b.Fatalf("ListObjectsV2 of %s: %d keys, want %d", w.bucket, n, w.want)
				}
				*w.out = append(*w.out, time.Since(start))
			}
		}
		slices.Sort(forkTimes)
		slices.Sort(baseTimes)
		f, p := forkTimes[1], baseTimes[1] // median of 3
		rows = append(rows,
			forkRow{"ListObjectsV2 of the plain base (1,000 per page)", fmt.Sprint(loaded), "-", "-",
				fmt.Sprintf("%.2f s (%.0f keys/s)", p.Seconds(), float64(loaded)/p.Seconds()), "median of 3 walks, one client"},
			forkRow{"ListObjectsV2 of its fork, 10% overwritten, 10% deleted", fmt.Sprint(want), "-", "-",
				fmt.Sprintf("%.2f s (%.0f keys/s)", f.Seconds(), float64(want)/f.Seconds()),
				fmt.Sprintf("%.2fx the base's time; %d PUTs + %d deletes took %.1f s", f.Seconds()/p.Seconds(), len(over), len(del), prep.Seconds())})
		b.ReportMetric(float64(want)/f.Seconds(), "fork-keys/s")
		b.ReportMetric(float64(loaded)/p.Seconds(), "base-keys/s")
	})

	b.Run("concurrent", func(b *testing.B) {
		const forks, clients, writers = 1000, 32, 4
		lat, total, writes, err := concurrentForks(ctx, c, small, small+"-c", forks, clients, writers)
		if err != nil {
			b.Fatal(err)
		}
		// Every fork is whole: a sample lists all 1,000 keys.
		for i := 0; i < forks; i += 97 {
			if got, err := c.listAll(ctx, fmt.Sprintf("%s-c%04d", small, i)); err != nil || got != 1000 {
				b.Fatalf("fork %d lists %d keys (%v), want 1000", i, got, err)
			}
		}
		rows = append(rows, latencyRow("1,000 forks of one base, 32 clients, base being written", lat, total,
			fmt.Sprintf("%d overwrites of the base by %d writers meanwhile", writes, writers)))
		b.ReportMetric(float64(lat.pct(50).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat.pct(99).Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(forks)/total.Seconds(), "forks/s")
	})

	rss := "n/a (external endpoint)"
	if hwm, err := s.PeakRSS(); err == nil {
		rss = fmt.Sprintf("%.0f MiB", float64(hwm)/(1<<20))
	}
	var out strings.Builder
	fmt.Fprintf(&out, "\nforkstore snapshots and forks: %s, %d cores, large base %d objects\n\n", runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), loaded)
	fmt.Fprintln(&out, "| figure | samples | p50 | p99 | total (rate) | notes |")
	fmt.Fprintln(&out, "|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(&out, "| %s | %s | %s | %s | %s | %s |\n", r.figure, r.samples, r.p50, r.p99, r.total, r.notes)
	}
	fmt.Fprintf(&out, "\nserver peak RSS (VmHWM): %s\n", rss)
	fmt.Print(out.String())
}

// concurrentForks creates forks forks of base, named prefix%04d, with
// clients concurrent clients while writers overwrite the base's first
// 1,000 keys, and returns each creation's latency, the total time and the
// overwrites made meanwhile.
func concurrentForks(ctx context.Context, c *forkClient, base, prefix string, forks, clients, writers int) (latencies, time.Duration, int64, error) {
	stop := make(chan struct{})
	var writes atomic.Int64
	var wg sync.WaitGroup
	var werr atomic.Value
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Bounded: until the forks are done, at most 1M writes or
			// 10 minutes.
			deadline := time.Now().Add(10 * time.Minute)
			for i := w; i < 1_000_000 && time.Now().Before(deadline); i += writers {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := c.must(ctx, http.MethodPut, fmt.Sprintf("/%s/%s", base, benchKey(i%1000)), nil); err != nil {
					werr.Store(err)
					return
				}
				writes.Add(1)
			}
		}()
	}
	var mu sync.Mutex
	var lat latencies
	start := time.Now()
	n, err := parallel(ctx, forks, clients, 10*time.Minute, func(ctx context.Context, i int) error {
		t0 := time.Now()
		if err := c.fork(ctx, base, fmt.Sprintf("%s%04d", prefix, i)); err != nil {
			return err
		}
		d := time.Since(t0)
		mu.Lock()
		lat = append(lat, d)
		mu.Unlock()
		return nil
	})
	total := time.Since(start)
	close(stop)
	wg.Wait()
	if err == nil && n != forks {
		err = fmt.Errorf("%d of %d forks created", n, forks)
	}
	if e, ok := werr.Load().(error); ok && err == nil {
		err = e
	}
	return lat, total, writes.Load(), err
}

// deleteObjects deletes keys benchKey(i) with one DeleteObjects request.
func (c *forkClient) deleteObjects(ctx context.Context, bucket string, idx []int) error {
	var body bytes.Buffer
	body.WriteString("<Delete><Quiet>true</Quiet>")
	for _, i := range idx {
		fmt.Fprintf(&body, "<Object><Key>%s</Key></Object>", benchKey(i))
	}
	body.WriteString("</Delete>")
	u := &url.URL{Scheme: "http", Host: c.s.S3Addr, Path: "/" + bucket, RawQuery: "delete="}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body.Bytes()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-MD5", forkMD5(body.Bytes()))
	req.Header.Set("X-Amz-Content-Sha256", forkSHA256(body.Bytes()))
	req = signer.SignV4(*req, c.s.User(), c.s.Password(), "", c.s.Region())
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || bytes.Contains(b, []byte("<Error>")) {
		return fmt.Errorf("DeleteObjects: HTTP %d: %.300s", resp.StatusCode, b)
	}
	return nil
}

// listAll walks a bucket with ListObjectsV2 (1,000 per page) and returns
// the number of keys.
func (c *forkClient) listAll(ctx context.Context, bucket string) (int, error) {
	n := 0
	token := ""
	for page := 0; page < 10_000; page++ {
		q := url.Values{"list-type": {"2"}, "max-keys": {"1000"}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		_, body, err := c.must(ctx, http.MethodGet, "/"+bucket, q)
		if err != nil {
			return n, err
		}
		var res struct {
			KeyCount              int
			IsTruncated           bool
			NextContinuationToken string
		}
		if err := xml.Unmarshal(body, &res); err != nil {
			return n, err
		}
		n += res.KeyCount
		if !res.IsTruncated {
			return n, nil
		}
		token = res.NextContinuationToken
	}
	return n, fmt.Errorf("ListObjectsV2 of %s: more than 10,000 pages", bucket)
}

func forkMD5(b []byte) string {
	h := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(h[:])
}

func forkSHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// startBenchServer starts a freshly built server (or uses the external one,
// FORKSTORE_E2E_ENDPOINT) for a benchmark, logging warnings only.
func startBenchServer(b *testing.B) *harness.Server {
	b.Helper()
	var bin string
	if harness.External(b) == nil {
		var err error
		if bin, err = harness.Build(b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
	return harness.Start(b, bin, harness.WithArgs("--log-level", "warn"))
}
