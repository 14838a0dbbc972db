//go:build bench

package bench

// Agent sandbox figures of one server process, over loopback:
//
//   - fork create-many of 100 forks with a key each (the admin API): p50
//     and p99 over FORKSTORE_BENCH_BATCHES batches (default 20);
//   - 1,000 single fork creations (CreateBucket with the fork header) by
//     8, 16 and 32 concurrent clients while 4 writers overwrite the base:
//     p50/p99 per concurrency (goal: p99 under 20 ms);
//   - the merge of a fork with 10,000 changes (7,000 puts, 3,000 deletes)
//     into its parent: the dry run and the merge itself, and the parent's
//     listing afterwards.
//
// Run with: make bench, or
//
//	go test -tags bench -run '^$' -bench Sandboxes -benchtime 1x -timeout 30m -v ./tests/bench/

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// admin sends a signed admin API request with a JSON body and decodes the
// answer into out.
func (c *forkClient) admin(ctx context.Context, method, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.s.S3Addr+"/_forkstore/v1/"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(body))
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	req.Header.Set("Content-Type", "application/json")
	req = signer.SignV4(*req, c.s.User(), c.s.Password(), "", c.s.Region())
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode > 299 {
		return fmt.Errorf("%s %s: HTTP %d: %.300s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func BenchmarkSandboxes(b *testing.B) {
	batches := envInt("FORKSTORE_BENCH_BATCHES", 20)
	ctx := context.Background()
	s := startBenchServer(b)
	c := newForkBenchClient(s)
	run := fmt.Sprintf("%06d", time.Now().UnixNano()%1e6)
	base := "sb-base-" + run
	if _, _, err := c.must(ctx, http.MethodPut, "/"+base, nil); err != nil {
		b.Fatal(err)
	}
	if n, err := loadKeys(ctx, c, base, 1000, time.Minute); err != nil || n != 1000 {
		b.Fatalf("loading the base: %d keys, %v", n, err)
	}
	var rows []forkRow

	b.Run("create-many", func(b *testing.B) {
		var lat latencies
		for i := 0; i < batches; i++ {
			var out struct {
				Forks []struct {
					Bucket string `json:"bucket"`
				}
			}
			t0 := time.Now()
			err := c.admin(ctx, http.MethodPost, "buckets/"+base+"/forks/batch",
				map[string]any{"count": 100, "prefix": fmt.Sprintf("%s-b%02d-", base, i), "with_keys": true, "ttl": "2h"}, &out)
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
			if len(out.Forks) != 100 {
				b.Fatalf("batch of %d forks", len(out.Forks))
			}
		}
		rows = append(rows, latencyRow("fork create-many, 100 forks with keys (one request)", lat, 0,
			fmt.Sprintf("%d batches one after another; %.0f forks/s at p50", batches, 100/lat.pct(50).Seconds())))
		b.ReportMetric(float64(lat.pct(50).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat.pct(99).Microseconds())/1000, "p99-ms")
	})

	b.Run("concurrent", func(b *testing.B) {
		for _, clients := range []int{8, 16, 32} {
			const forks, writers = 1000, 4
			lat, total, writes, err := concurrentForks(ctx, c, base, fmt.Sprintf("%s-c%d-", base, clients), forks, clients, writers)
			if err != nil {
				b.Fatal(err)
			}
			rows = append(rows, latencyRow(fmt.Sprintf("1,000 single fork creations, %d clients, base being written", clients), lat, total,
				fmt.Sprintf("%d overwrites of the base by %d writers meanwhile", writes, writers)))
			b.ReportMetric(float64(lat.pct(99).Microseconds())/1000, fmt.Sprintf("c%d-p99-ms", clients))
		}
	})

	b.Run("merge", func(b *testing.B) {
		// A base of 5,000 keys; its fork overwrites 2,000 of them, deletes
		// the other 3,000 and adds 5,000 new keys: 10,000 changes.
		const baseKeys, overwrites, adds = 5000, 2000, 5000
		mbase, fork := base+"-m", base+"-m-fork"
		if _, _, err := c.must(ctx, http.MethodPut, "/"+mbase, nil); err != nil {
			b.Fatal(err)
		}
		if n, err := loadKeys(ctx, c, mbase, baseKeys, 5*time.Minute); err != nil || n != baseKeys {
			b.Fatalf("loading the merge base: %d, %v", n, err)
		}
		if err := c.fork(ctx, mbase, fork); err != nil {
			b.Fatal(err)
		}
		if n, err := parallel(ctx, overwrites+adds, 32, 5*time.Minute, func(ctx context.Context, i int) error {
			k := i // 0..1999: overwrites
			if i >= overwrites {
				k = baseKeys + i - overwrites // 5000..9999: new keys
			}
			_, _, err := c.must(ctx, http.MethodPut, fmt.Sprintf("/%s/%s", fork, benchKey(k)), nil)
			return err
		}); err != nil || n != overwrites+adds {
			b.Fatalf("fork puts: %d, %v", n, err)
		}
		for i := overwrites; i < baseKeys; i += 1000 {
			idx := make([]int, 0, 1000)
			for j := i; j < min(i+1000, baseKeys); j++ {
				idx = append(idx, j)
			}
			if err := c.deleteObjects(ctx, fork, idx); err != nil {
				b.Fatal(err)
			}
		}
		var dry, rep struct{ Puts, Deletes int }
		t0 := time.Now()
		if err := c.admin(ctx, http.MethodPost, "buckets/"+fork+"/merge", map[string]any{"dry_run": true}, &dry); err != nil {
			b.Fatal(err)
		}
		dryTook := time.Since(t0)
		t0 = time.Now()
		if err := c.admin(ctx, http.MethodPost, "buckets/"+fork+"/merge", map[string]any{}, &rep); err != nil {
			b.Fatal(err)
		}
		took := time.Since(t0)
		n, err := c.listAll(ctx, mbase)
		if err != nil {
			b.Fatal(err)
		}
		if dry != rep || rep.Puts != overwrites+adds || rep.Deletes != baseKeys-overwrites || n != overwrites+adds {
			b.Fatalf("merge: dry %+v, merge %+v, base lists %d keys", dry, rep, n)
		}
		changes := fmt.Sprintf("%d puts and %d deletes", rep.Puts, rep.Deletes)
		rows = append(rows,
			forkRow{"merge dry run, fork with 10,000 changes", "1", ms(dryTook), "-", "-", changes},
			forkRow{"merge, fork with 10,000 changes", "1", ms(took), "-", fmt.Sprintf("%.0f changes/s", 10000/took.Seconds()),
				"one command, applied in steps; the parent then lists exactly the merged keys"})
		b.ReportMetric(float64(took.Milliseconds()), "merge-ms")
	})

	var out strings.Builder
	fmt.Fprintf(&out, "\nforkstore agent sandboxes: %s, %d cores\n\n", runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU())
	fmt.Fprintln(&out, "| figure | samples | p50 | p99 | total (rate) | notes |")
	fmt.Fprintln(&out, "|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(&out, "| %s | %s | %s | %s | %s | %s |\n", r.figure, r.samples, r.p50, r.p99, r.total, r.notes)
	}
	fmt.Print(out.String())
}
