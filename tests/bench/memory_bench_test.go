//go:build bench

package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestBenchMemory measures a server's resident memory through a fixed
// amount of work, so that two builds compare on the same data whatever the
// machine's load lets through in a given time: PUTs of 4 KiB on spread-out
// keys, GETs of them, PUTs and GETs of 1 MiB, listings of the 4 KiB keys,
// then idle. It prints each phase's rate, server CPU per operation and
// peak anonymous and file-backed RSS (/proc/PID/status, sampled every 250
// ms), then the RSS while idle.
//
//	go test -tags bench -run '^TestBenchMemory$' -v -count=1 ./tests/bench/
//
// Environment (besides FORKSTORE_BENCH_CONCURRENCY and FORKSTORE_BIN):
//
//	FORKSTORE_BENCH_MEM_SMALL  4 KiB PUTs and GETs (default 30000)
//	FORKSTORE_BENCH_MEM_LARGE  1 MiB PUTs and GETs (default 2000)
//	FORKSTORE_BENCH_MEM_IDLE   idle time measured after the load (default 60s)
func TestBenchMemory(t *testing.T) {
	conc := envInt("FORKSTORE_BENCH_CONCURRENCY", 8)
	small := int64(envInt("FORKSTORE_BENCH_MEM_SMALL", 30000))
	large := int64(envInt("FORKSTORE_BENCH_MEM_LARGE", 2000))
	idle := envDuration("FORKSTORE_BENCH_MEM_IDLE", time.Minute)
	if harness.External(t) != nil {
		t.Skip("measures a server the harness starts")
	}
	bin, err := harness.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := harness.Start(t, bin, harness.WithArgs("--log-level", "warn"))
	pid := s.PID()
	c, err := minio.New(s.S3Addr, &minio.Options{
		Creds:  credentials.NewStaticV4(s.User(), s.Password(), ""),
		Region: s.Region(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bucket := fmt.Sprintf("mem-%d", time.Now().UnixNano()%1e9)
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}

	// The sampler keeps the peaks since the last reset.
	var mu sync.Mutex
	var peakAnon, peakFile int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			anon, file := rssOf(pid)
			mu.Lock()
			peakAnon, peakFile = max(peakAnon, anon), max(peakFile, file)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	peaks := func() (int64, int64) {
		mu.Lock()
		defer mu.Unlock()
		a, f := peakAnon, peakFile
		peakAnon, peakFile = 0, 0
		return a, f
	}

	const ring = 200000 // 4 KiB keys: i*7919 mod ring, all distinct below ring
	smallKey := func(i int64) string { return fmt.Sprintf("s/%08d", i*7919%ring) }
	largeKey := func(i int64) string { return fmt.Sprintf("l/%04d", i%min(large, 2000)) }
	smallBody := bytes.Repeat([]byte("0123456789abcdef"), 256)
	largeBody := bytes.Repeat([]byte("0123456789abcdef"), 65536)
	put := func(key func(int64) string, body []byte) func(ctx context.Context, i int64) error {
		return func(ctx context.Context, i int64) error {
			_, err := c.PutObject(ctx, bucket, key(i), bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{DisableMultipart: true})
			return err
		}
	}
	get := func(key func(int64) string, n, size int64) func(ctx context.Context, i int64) error {
		return func(ctx context.Context, i int64) error {
			obj, err := c.GetObject(ctx, bucket, key(i*31%n), minio.GetObjectOptions{})
			if err != nil {
				return err
			}
			defer obj.Close()
			got, err := io.Copy(io.Discard, obj)
			if err == nil && got != size {
				err = fmt.Errorf("GET: %d bytes, want %d", got, size)
			}
			return err
		}
	}
	list := func(ctx context.Context, i int64) error {
		n := int64(0)
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: "s/", Recursive: true}) {
			if o.Err != nil {
				return o.Err
			}
			n++
		}
		if n != small {
			return fmt.Errorf("listed %d keys, want %d", n, small)
		}
		return nil
	}

	var out strings.Builder
	fmt.Fprintf(&out, "\nforkstore memory benchmark: concurrency %d\n\n", conc)
	fmt.Fprintln(&out, "| phase | count | rate | server CPU per op | peak RssAnon | peak RssFile |")
	fmt.Fprintln(&out, "|---|---|---|---|---|---|")
	mib := func(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
	peaks()
	for _, p := range []struct {
		name    string
		n       int64
		workers int
		op      func(ctx context.Context, i int64) error
	}{
		{"PUT 4 KiB", small, conc, put(smallKey, smallBody)},
		{"GET 4 KiB", small, conc, get(smallKey, small, int64(len(smallBody)))},
		{"PUT 1 MiB", large, conc, put(largeKey, largeBody)},
		{"GET 1 MiB", large, conc, get(largeKey, min(large, 2000), int64(len(largeBody)))},
		{"ListObjectsV2, all 4 KiB keys", 5, 1, list},
	} {
		cpu0 := cpuTime(pid)
		ops, errs, took := runFor(ctx, p.workers, time.Hour, p.n, p.op)
		cpu := cpuTime(pid) - cpu0
		anon, file := peaks()
		fmt.Fprintf(&out, "| %s | %d | %.0f/s | %.3f ms | %s | %s |\n", p.name, ops, float64(ops)/took.Seconds(),
			float64(cpu.Microseconds())/1000/float64(max(ops, 1)), mib(anon), mib(file))
		if errs > 0 {
			t.Errorf("%s: %d failed operations", p.name, errs)
		}
	}
	hwm, _ := s.PeakRSS()
	fmt.Fprintf(&out, "\nserver peak RSS (VmHWM) over the load: %s\n", mib(hwm))
	start := time.Now()
	for _, at := range []time.Duration{5 * time.Second, 20 * time.Second, idle} {
		if at > idle {
			continue
		}
		time.Sleep(time.Until(start.Add(at))) // a measurement at a fixed time, not a wait for a condition
		anon, file := rssOf(pid)
		fmt.Fprintf(&out, "idle %v: RssAnon %s, RssFile %s\n", at, mib(anon), mib(file))
	}
	fmt.Print(out.String())
}

// rssOf returns the RssAnon and RssFile of pid in bytes (0 if unknown).
func rssOf(pid int) (anon, file int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "RssAnon:":
			anon = v << 10
		case "RssFile:":
			file = v << 10
		}
	}
	return anon, file
}
