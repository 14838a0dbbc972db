package console_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forkstore/forkstore/console"
	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
	"github.com/forkstore/forkstore/meta"
)

// BenchmarkConsolePages measures the server time of the console's pages
// on a bucket of 100,000 small objects with 50 forks that changed some keys.
// Run with
//
//	go test -count=1 -run '^$' -bench ConsolePages -benchtime 20x ./console/
//
// ns/op is one page: the request from a signed-in browser on loopback to
// the last byte of the answer.
func BenchmarkConsolePages(b *testing.B) {
	const (
		objects  = 100_000
		dirs     = 100 // d000/ .. d099/, 1,000 objects each
		forks    = 50  // big-f1 .. big-f50
		changes  = 200 // puts and deletes per fork
		workers  = 32
		setupMax = 5 * time.Minute
	)
	e := newEnv(b)
	ctx, cancel := context.WithTimeout(context.Background(), setupMax)
	defer cancel()
	mustBucket(b, e.svc, gateway.CreateBucketInput{Name: "big"})
	key := func(i int) string { return fmt.Sprintf("d%03d/obj%06d", i%dirs, i) }
	start := time.Now()
	put := func(bucket string, keys []string) {
		var next atomic.Int64
		var wg sync.WaitGroup
		var once sync.Once
		var failed error
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= len(keys) || ctx.Err() != nil {
						return
					}
					body := bucket + ":" + keys[i]
					_, err := e.svc.PutObject(ctx, &gateway.PutObjectInput{Bucket: bucket, Key: keys[i], Body: strings.NewReader(body), Size: int64(len(body))})
					if err != nil {
						once.Do(func() { failed = err })
						return
					}
				}
			}()
		}
		wg.Wait()
		if failed != nil {
			b.Fatalf("put in %s: %v", bucket, failed)
		}
		if ctx.Err() != nil {
			b.Fatalf("set-up took longer than %s", setupMax)
		}
	}
	keys := make([]string, objects)
	for i := range keys {
		keys[i] = key(i)
	}
	put("big", keys)
	b.Logf("set-up: %d objects in %s", objects, time.Since(start).Round(time.Millisecond))
	for f := 1; f <= forks; f++ {
		name := fmt.Sprintf("big-f%d", f)
		mustBucket(b, e.svc, gateway.CreateBucketInput{Name: name, ForkSource: "big"})
		var changed []string
		for i := 0; i < changes/2; i++ {
			changed = append(changed, key(f*1000+i*7), fmt.Sprintf("new/f%d/%04d", f, i))
		}
		put(name, changed)
		for i := 0; i < changes/4; i++ {
			if _, err := e.svc.DeleteObject(ctx, name, key(f*2000+i*11), "", meta.DeleteCondition{}, false); err != nil {
				b.Fatalf("delete in %s: %v", name, err)
			}
		}
	}
	b.Logf("set-up with forks: %s", time.Since(start).Round(time.Millisecond))

	br := e.browser(b)
	br.signIn(gatewaytest.AccessKey, gatewaytest.SecretKey)
	pages := []struct{ name, path, want string }{
		{"Buckets", "buckets", "big-f50"},
		{"ObjectsFirst", "objects?bucket=big", "d099/"},
		{"ObjectsDeep", "objects?bucket=big&prefix=d050/&after=d050/obj050050", "d050/obj050150"},
		{"Object", "object?bucket=big&key=d050/obj050050", "d050/obj050050"},
		{"Lineage", "lineage?bucket=big", "big-f50"},
		{"Diff", "diff?bucket=big-f3", "d000/obj003000"},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			br.t = b
			for i := 0; i < b.N; i++ {
				st, body := br.get(p.path)
				if st != http.StatusOK || !strings.Contains(body, p.want) {
					b.Fatalf("%s: status %d, %q not in the page:\n%s", p.path, st, p.want, body)
				}
			}
		})
	}
}

// BenchmarkClusterPage measures the server time of the cluster page and
// of its live fragment, with a full ring of samples to chart (the page
// does not depend on the buckets).
func BenchmarkClusterPage(b *testing.B) {
	e := newEnv(b)
	at := time.Now()
	for i := range console.DefaultSamples {
		e.hist.Add(console.Sample{At: at.Add(time.Duration(i) * console.DefaultSampleEvery), Requests: float64(i), P99: 0.01, BytesIn: float64(i) * 1e6, BytesOut: 2e6})
	}
	br := e.browser(b)
	br.signIn(gatewaytest.AccessKey, gatewaytest.SecretKey)
	for _, p := range []string{"cluster", "cluster/live"} {
		b.Run(p, func(b *testing.B) {
			br.t = b
			for b.Loop() {
				if st, body := br.get(p); st != http.StatusOK || !strings.Contains(body, "chart-bytes") {
					b.Fatalf("%s: status %d", p, st)
				}
			}
		})
	}
}
