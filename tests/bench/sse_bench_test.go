//go:build bench

package bench

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway/certs/certstest"
	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/sse"
)

// TestBenchSSE is the cost of encryption at rest: PUT and GET of 1 MiB
// objects into a plain bucket and into one with default encryption
// (SSE-S3) on the same server, in alternating rounds, with the server's
// CPU per operation and the ratio SSE/plain (the goal is at most 1.3).
//
// Over plain HTTP a plain GET goes out with sendfile and never touches the
// bytes, which an encrypted GET cannot do; with FORKSTORE_BENCH_SSE_TLS=1
// the server serves HTTPS, where no GET uses sendfile (every body is
// copied and sealed by TLS), so the ratio is the cost of decryption
// against a GET that reads its bytes.
//
// Environment: FORKSTORE_BENCH_DURATION (time per figure, default 10s),
// FORKSTORE_BENCH_CONCURRENCY (default 8), FORKSTORE_BENCH_SSE_ROUNDS
// (default 2), FORKSTORE_BENCH_SSE_TLS (1: HTTPS).
func TestBenchSSE(t *testing.T) {
	if harness.External(t) != nil {
		t.Skip("needs a server started with a master key")
	}
	dur := envDuration("FORKSTORE_BENCH_DURATION", 10*time.Second)
	conc := envInt("FORKSTORE_BENCH_CONCURRENCY", 8)
	rounds := envInt("FORKSTORE_BENCH_SSE_ROUNDS", 2)
	bin, err := harness.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	opts := []harness.Option{harness.WithArgs("--log-level", "warn"),
		harness.WithEnv("FORKSTORE_KMS_KEY=" + base64.StdEncoding.EncodeToString(key))}
	mo := &minio.Options{}
	useTLS := os.Getenv("FORKSTORE_BENCH_SSE_TLS") == "1"
	if useTLS {
		ca := certstest.NewCA(t, "forkstore bench CA")
		leaf := ca.Issue(t, "127.0.0.1", "localhost").WriteFiles(t, t.TempDir(), "node")
		opts = append(opts, harness.WithTLS(leaf.CertFile, leaf.KeyFile, ca.PEM))
		tr, err := minio.DefaultTransport(true)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca.PEM)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		mo.Secure, mo.Transport = true, tr
	}
	s := harness.Start(t, bin, opts...)
	mo.Creds, mo.Region = credentials.NewStaticV4(s.User(), s.Password(), ""), s.Region()
	c, err := minio.New(s.S3Addr, mo)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	base := fmt.Sprintf("bench-sse-%d", time.Now().UnixNano()%1e9)
	plain, enc := base+"-plain", base+"-enc"
	for _, b := range []string{plain, enc} {
		if err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetBucketEncryption(ctx, enc, sse.NewConfigurationSSES3()); err != nil {
		t.Fatal(err)
	}

	const size, keys, limit = 1 << 20, 2000, 20000
	data := make([]byte, size)
	mrand.NewChaCha8([32]byte{2}).Read(data)
	one := func(int64) *minio.Client { return c }
	type pair struct{ plain, enc figure }
	var puts, gets []pair
	measure := func(name string, op func(ctx context.Context, i int64) error) figure {
		cpu0 := cpuTime(s.PID())
		ops, errs, took := runFor(ctx, conc, dur, limit, op)
		f := figure{name: name, ops: ops, bytes: ops * size, dur: took, unit: "objects", errs: errs}
		if cpu0 > 0 {
			f.cpu = cpuTime(s.PID()) - cpu0
		}
		fmt.Fprintf(os.Stderr, "bench: %s\n", f.row())
		if errs > 0 {
			t.Errorf("%s: %d failed operations", name, errs)
		}
		return f
	}
	for r := 1; r <= rounds; r++ {
		var wp, we atomic.Int64
		var p pair
		p.plain = measure(fmt.Sprintf("PUT 1 MiB plain (round %d)", r), putOp(one, plain, "o/", data, keys, &wp))
		p.enc = measure(fmt.Sprintf("PUT 1 MiB SSE-S3 (round %d)", r), putOp(one, enc, "o/", data, keys, &we))
		puts = append(puts, p)
		hp, he := min(wp.Load(), keys), min(we.Load(), keys)
		if hp == 0 || he == 0 {
			t.Fatalf("nothing written (plain %d, SSE %d)", hp, he)
		}
		var g pair
		g.plain = measure(fmt.Sprintf("GET 1 MiB plain (round %d)", r), getOp(one, plain, "o/", size, hp))
		g.enc = measure(fmt.Sprintf("GET 1 MiB SSE-S3 (round %d)", r), getOp(one, enc, "o/", size, he))
		gets = append(gets, g)
		runtime.GC()
	}

	var out strings.Builder
	scheme := "HTTP (plain GETs use sendfile)"
	if useTLS {
		scheme = "HTTPS (no GET uses sendfile)"
	}
	fmt.Fprintf(&out, "\nforkstore SSE benchmark over %s: %s, %d cores, concurrency %d, %v per figure\n\n", scheme, runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), conc, dur)
	fmt.Fprintln(&out, figureHeader)
	for i := range puts {
		for _, f := range []figure{puts[i].plain, puts[i].enc, gets[i].plain, gets[i].enc} {
			fmt.Fprintln(&out, f.row())
		}
	}
	fmt.Fprintln(&out, "\n| round | PUT CPU/op plain | PUT CPU/op SSE | ratio | GET CPU/op plain | GET CPU/op SSE | ratio |")
	fmt.Fprintln(&out, "|---|---|---|---|---|---|---|")
	for i := range puts {
		pp, pe, gp, ge := puts[i].plain.cpuPerOp(), puts[i].enc.cpuPerOp(), gets[i].plain.cpuPerOp(), gets[i].enc.cpuPerOp()
		ratio := func(a, b float64) string {
			if a == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", b/a)
		}
		fmt.Fprintf(&out, "| %d | %.2f ms | %.2f ms | %s | %.2f ms | %.2f ms | %s |\n", i+1, pp, pe, ratio(pp, pe), gp, ge, ratio(gp, ge))
	}
	fmt.Print(out.String())
}
