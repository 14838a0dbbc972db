//go:build bench

// Package bench measures a forkstore server process on loopback with
// minio-go: PUT and GET throughput at three object sizes, ListObjectsV2
// over a large bucket, and the server's peak resident memory. It prints a
// markdown table; docs/benchmarks.md records the figures.
//
// Run with: make bench, or
//
//	go test -tags bench -run '^TestBench$' -v -count=1 ./tests/bench/
//
// Environment:
//
//	FORKSTORE_BENCH_DURATION     time per PUT/GET figure (default 10s)
//	FORKSTORE_BENCH_CONCURRENCY  client workers (default 8)
//	FORKSTORE_BENCH_KEYS         keys for the listing figure (default 100000)
//	FORKSTORE_BIN                use this binary instead of building one
//	FORKSTORE_E2E_ENDPOINT       measure an S3 endpoint that is already up
package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"golang.org/x/sys/unix"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// figure is one row of the result table.
type figure struct {
	name    string
	ops     int64
	bytes   int64
	dur     time.Duration
	cpu     time.Duration // server CPU time (user+system) during the run
	unit    string        // "objects" or "keys"
	errs    int64
	comment string
	// disk is what the block device of the server's data dir wrote during
	// the run, in bytes; -1 or 0 when not measured.
	disk int64
}

// figureHeader heads a table of figure rows.
const figureHeader = "| figure | rate | MiB/s | count | server CPU (cores) | server CPU per op | disk written per op | notes |\n|---|---|---|---|---|---|---|---|"

func (f figure) row() string {
	secs := f.dur.Seconds()
	rate := float64(f.ops) / secs
	mib := "-"
	if f.bytes > 0 {
		mib = fmt.Sprintf("%.1f", float64(f.bytes)/secs/(1<<20))
	}
	cpu, perOp := "-", "-"
	if f.cpu > 0 {
		cpu = fmt.Sprintf("%.2f", f.cpu.Seconds()/secs)
	}
	if ms := f.cpuPerOp(); ms > 0 {
		perOp = fmt.Sprintf("%.3f ms", ms)
	}
	disk := "-"
	if f.disk > 0 && f.ops > 0 {
		disk = fmt.Sprintf("%.1f KiB", float64(f.disk)/float64(f.ops)/1024)
	}
	comment := f.comment
	if f.errs > 0 {
		comment = strings.TrimSpace(comment + fmt.Sprintf(" %d errors", f.errs))
	}
	return fmt.Sprintf("| %s | %.0f %s/s | %s | %d in %.1fs | %s | %s | %s | %s |", f.name, rate, f.unit, mib, f.ops, secs, cpu, perOp, disk, comment)
}

// diskWritten returns the bytes the block device holding dir has written
// since it came up (its sectors written, /sys/dev/block/MAJ:MIN/stat), -1
// when it cannot tell. Everything on that device counts, not only the
// server's files: on a quiet machine that is the server's writes, with the
// file system's journal and metadata.
func diskWritten(dir string) int64 {
	if dir == "" {
		return -1
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return -1
	}
	b, err := os.ReadFile(fmt.Sprintf("/sys/dev/block/%d:%d/stat", unix.Major(st.Dev), unix.Minor(st.Dev)))
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 7 {
		return -1
	}
	sectors, err := strconv.ParseInt(f[6], 10, 64)
	if err != nil {
		return -1
	}
	return sectors * 512
}

// cpuPerOp is the server's CPU time per operation in milliseconds (0:
// not measured).
func (f figure) cpuPerOp() float64 {
	if f.ops == 0 || f.cpu == 0 {
		return 0
	}
	return float64(f.cpu.Microseconds()) / 1000 / float64(f.ops)
}

// cpuTime returns the process's user+system CPU time (from /proc).
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// runFor runs op with n workers until d has passed or limit operations
// have started, and returns the operations completed.
func runFor(ctx context.Context, n int, d time.Duration, limit int64, op func(ctx context.Context, i int64) error) (ops, errs int64, took time.Duration) {
	return runWorkers(ctx, n, d, limit, func(ctx context.Context, _ int, _, i int64) error { return op(ctx, i) })
}

// runWorkers is runFor calling op(ctx, w, j, i) for the j-th operation of
// worker w, the i-th started in all.
func runWorkers(ctx context.Context, n int, d time.Duration, limit int64, op func(ctx context.Context, w int, j, i int64) error) (ops, errs int64, took time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d+2*time.Minute) // a slow last op may finish
	defer cancel()
	var next, done, failed atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := int64(0); time.Now().Before(deadline); j++ {
				i := next.Add(1) - 1
				if i >= limit {
					return
				}
				if err := op(ctx, w, j, i); err != nil {
					if failed.Add(1) == 1 {
						fmt.Fprintf(os.Stderr, "bench: first error: %v\n", err)
					}
					continue
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return done.Load(), failed.Load(), time.Since(start)
}

// putOp is the PUT of the object figures: operation i writes data under
// prefix plus the key i%keys through client(i), as one PUT (minio-go would
// split large bodies into parts), and raises written to i+1.
func putOp(client func(i int64) *minio.Client, bucket, prefix string, data []byte, keys int64, written *atomic.Int64) func(ctx context.Context, i int64) error {
	return func(ctx context.Context, i int64) error {
		key := fmt.Sprintf("%s%08d", prefix, i%keys)
		_, err := client(i).PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{DisableMultipart: true})
		if err == nil {
			for {
				w := written.Load()
				if i+1 <= w || written.CompareAndSwap(w, i+1) {
					break
				}
			}
		}
		return err
	}
}

// getOp is the GET of the object figures: operation i reads the key i%have
// of prefix through client(i), whole, and checks its size.
func getOp(client func(i int64) *minio.Client, bucket, prefix string, size, have int64) func(ctx context.Context, i int64) error {
	return func(ctx context.Context, i int64) error {
		key := fmt.Sprintf("%s%08d", prefix, i%have)
		obj, err := client(i).GetObject(ctx, bucket, key, minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		defer obj.Close()
		n, err := io.Copy(io.Discard, obj)
		if err == nil && n != size {
			err = fmt.Errorf("GET %s: %d bytes, want %d", key, n, size)
		}
		return err
	}
}

func TestBench(t *testing.T) {
	dur := envDuration("FORKSTORE_BENCH_DURATION", 10*time.Second)
	conc := envInt("FORKSTORE_BENCH_CONCURRENCY", 8)
	nkeys := envInt("FORKSTORE_BENCH_KEYS", 100000)

	var bin string
	if harness.External(t) == nil {
		var err error
		bin, err = harness.Build(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
	}
	s := harness.Start(t, bin, harness.WithArgs("--log-level", "warn"))
	c, err := minio.New(s.S3Addr, &minio.Options{
		Creds:  credentials.NewStaticV4(s.User(), s.Password(), ""),
		Region: s.Region(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bucket := fmt.Sprintf("bench-%d", time.Now().UnixNano()%1e9)
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}

	load0 := loadAvg()
	var figures []figure
	dataDir := ""
	if !s.IsExternal() {
		dataDir = s.DataDir
	}
	measure := func(name, unit string, bytesPerOp int64, n int, d time.Duration, limit int64, comment string, op func(ctx context.Context, i int64) error) {
		cpu0, disk0 := cpuTime(s.PID()), diskWritten(dataDir)
		ops, errs, took := runFor(ctx, n, d, limit, op)
		f := figure{name: name, ops: ops, bytes: ops * bytesPerOp, dur: took, unit: unit, errs: errs, comment: comment}
		if cpu0 > 0 {
			f.cpu = cpuTime(s.PID()) - cpu0
		}
		if disk0 >= 0 {
			f.disk = diskWritten(dataDir) - disk0
		}
		figures = append(figures, f)
		fmt.Fprintf(os.Stderr, "bench: %s\n", f.row())
	}

	sizes := []struct {
		name  string
		size  int
		limit int64 // operations per figure
		keys  int64 // distinct keys written (ring), bounding disk use
	}{
		{"4 KiB", 4 << 10, 200000, 200000},
		{"16 KiB", 16 << 10, 200000, 20000}, // over --inline-max: a chunk file
		{"1 MiB", 1 << 20, 20000, 2000},
		{"64 MiB", 64 << 20, 400, 16},
	}
	for _, sz := range sizes {
		data := make([]byte, sz.size)
		rand.NewChaCha8([32]byte{1}).Read(data)
		prefix := "obj-" + strings.ReplaceAll(sz.name, " ", "") + "/"
		var written atomic.Int64
		one := func(int64) *minio.Client { return c }
		// Single PUTs (minio-go would split 64 MiB into parts), signed
		// aws-chunked bodies as minio-go sends over plain HTTP.
		measure("PUT "+sz.name, "objects", int64(sz.size), conc, dur, sz.limit, "", putOp(one, bucket, prefix, data, sz.keys, &written))
		have := min(written.Load(), sz.keys)
		if have == 0 {
			t.Errorf("PUT %s: nothing written", sz.name)
			continue
		}
		measure("GET "+sz.name, "objects", int64(sz.size), conc, dur, sz.limit, "", getOp(one, bucket, prefix, int64(sz.size), have))
		runtime.GC()
	}

	// Listing: load nkeys empty objects with 4x the workers, then list.
	listBucket := bucket + "-list"
	if err := c.MakeBucket(ctx, listBucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	measure(fmt.Sprintf("PUT 0 B (loading %d keys)", nkeys), "objects", 0, 4*conc, time.Hour, int64(nkeys), fmt.Sprintf("%d workers", 4*conc), func(ctx context.Context, i int64) error {
		key := fmt.Sprintf("dir%03d/key%08d", i%100, i)
		_, err := c.PutObject(ctx, listBucket, key, bytes.NewReader(nil), 0, minio.PutObjectOptions{})
		return err
	})
	for _, mode := range []struct {
		name string
		opts minio.ListObjectsOptions
	}{
		{"ListObjectsV2 (recursive, 1000 per page)", minio.ListObjectsOptions{Recursive: true}},
		{"ListObjectsV2 (delimiter /, one prefix)", minio.ListObjectsOptions{Prefix: "dir042/"}},
	} {
		cpu0 := cpuTime(s.PID())
		start := time.Now()
		var n int64
		for o := range c.ListObjects(ctx, listBucket, mode.opts) {
			if o.Err != nil {
				t.Fatalf("%s: %v", mode.name, o.Err)
			}
			n++
		}
		f := figure{name: mode.name, ops: n, dur: time.Since(start), unit: "keys", comment: "one client"}
		if cpu0 > 0 {
			f.cpu = cpuTime(s.PID()) - cpu0
		}
		figures = append(figures, f)
		fmt.Fprintf(os.Stderr, "bench: %s\n", f.row())
	}

	rss := "n/a (external endpoint)"
	if hwm, err := s.PeakRSS(); err == nil {
		rss = fmt.Sprintf("%.0f MiB", float64(hwm)/(1<<20))
	}

	var out strings.Builder
	fmt.Fprintf(&out, "\nforkstore system benchmark: %s, %d cores, concurrency %d, %v per figure; load average %s at the start, %s at the end\n\n",
		runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), conc, dur, load0, loadAvg())
	fmt.Fprintln(&out, figureHeader)
	for _, f := range figures {
		fmt.Fprintln(&out, f.row())
	}
	fmt.Fprintf(&out, "\nserver peak RSS (VmHWM): %s\n", rss)
	fmt.Print(out.String())
	for _, f := range figures {
		if f.errs > 0 {
			t.Errorf("%s: %d failed operations", f.name, f.errs)
		}
	}
}
