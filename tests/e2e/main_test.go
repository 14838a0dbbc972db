//go:build e2e

// Package e2e runs the built forkstore binary on loopback and drives it with
// real S3 clients: minio-go in this process, the aws CLI (v1 and v2) and
// boto3 scripts (tests/clients) through exec.Command. Every test starts its
// own server with its own data directory.
//
// Run with: go test -tags e2e -count=1 ./tests/e2e/...
//
// Environment:
//
//	FORKSTORE_BIN            use this binary instead of building one
//	FORKSTORE_E2E_RACE=1     build the binary with the race detector
//	FORKSTORE_E2E_ENDPOINT   run against an S3 endpoint that is already up
//	                         (with FORKSTORE_E2E_ACCESS_KEY/_SECRET_KEY/_REGION);
//	                         tests that restart or kill the server are skipped
package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// binPath is the forkstore binary built once by TestMain.
var binPath string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("FORKSTORE_E2E_ENDPOINT") == "" {
		dir, err := os.MkdirTemp("", "forkstore-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		start := time.Now()
		binPath, err = harness.Build(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e: building the server failed:", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "e2e: built %s in %v\n", binPath, time.Since(start).Round(time.Millisecond))
	}
	return m.Run()
}

// startServer starts a forkstore server for this test (or returns the
// external endpoint) and registers its cleanup.
func startServer(t testing.TB, opts ...harness.Option) *harness.Server {
	t.Helper()
	return harness.Start(t, binPath, opts...)
}

// testCtx returns a context bounded by the test's deadline (or 5 minutes).
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx := context.Background()
	if tt, ok := t.(*testing.T); ok {
		ctx = tt.Context()
		if d, ok := tt.Deadline(); ok {
			c, cancel := context.WithDeadline(ctx, d.Add(-5*time.Second))
			t.Cleanup(cancel)
			return c
		}
	}
	c, cancel := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

type clientOpt func(*minio.Options)

// withTrailingHeaders makes minio-go send CRC32C trailers on PutObject.
func withTrailingHeaders() clientOpt { return func(o *minio.Options) { o.TrailingHeaders = true } }

// withCreds overrides the client's credentials.
func withCreds(user, secret string) clientOpt {
	return func(o *minio.Options) { o.Creds = credentials.NewStaticV4(user, secret, "") }
}

// withRegion pins the client's region (no GetBucketLocation probe).
func withRegion(r string) clientOpt { return func(o *minio.Options) { o.Region = r } }

// newClient returns a minio-go client for s with the server's root
// credentials and path-style lookups, as minio-go picks for a non-AWS host.
func newClient(t testing.TB, s *harness.Server, opts ...clientOpt) *minio.Client {
	t.Helper()
	o := &minio.Options{
		Creds:      credentials.NewStaticV4(s.User(), s.Password(), ""),
		Secure:     false,
		MaxRetries: 2,
	}
	for _, f := range opts {
		f(o)
	}
	c, err := minio.New(s.S3Addr, o)
	if err != nil {
		t.Fatalf("minio.New: %v", err)
	}
	return c
}

// bucketName returns a valid bucket name unique to this run, so tests can
// share an external endpoint.
func bucketName(t testing.TB, base string) string {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	name := fmt.Sprintf("%s-%s", base, hex.EncodeToString(b[:]))
	if len(name) > 63 {
		t.Fatalf("bucket name %q too long", name)
	}
	return name
}

// makeBucket creates a bucket and fails the test on error.
func makeBucket(t testing.TB, c *minio.Client, name string) {
	t.Helper()
	if err := c.MakeBucket(testCtx(t), name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket(%q): %v", name, describe(err))
	}
}

// randBytes returns n pseudo-random bytes from a seeded generator
// (reproducible, and much cheaper than crypto/rand for 70 MiB).
func randBytes(seed uint64, n int) []byte {
	r := mrand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	b := make([]byte, n)
	r.Read(b)
	return b
}

func md5Hex(b []byte) string {
	h := md5.Sum(b)
	return hex.EncodeToString(h[:])
}

// multipartETag is S3's ETag of an object uploaded in parts of partSize:
// md5 of the concatenated part md5s, "-", part count.
func multipartETag(b []byte, partSize int) string {
	var sums []byte
	n := 0
	for off := 0; off < len(b); off += partSize {
		end := min(off+partSize, len(b))
		h := md5.Sum(b[off:end])
		sums = append(sums, h[:]...)
		n++
	}
	h := md5.Sum(sums)
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h[:]), n)
}

// describe renders an error with its S3 code, status and request id.
func describe(err error) string {
	if err == nil {
		return "<nil>"
	}
	r := minio.ToErrorResponse(err)
	if r.Code == "" {
		return err.Error()
	}
	return fmt.Sprintf("%s (HTTP %d, code %s, request %s)", err.Error(), r.StatusCode, r.Code, r.RequestID)
}

// wantCode asserts that err is an S3 error with the given code.
func wantCode(t testing.TB, what string, err error, code string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want error %s", what, code)
		return
	}
	if got := minio.ToErrorResponse(err).Code; got != code {
		t.Errorf("%s: error %s, want code %s", what, describe(err), code)
	}
}

// putBytes uploads b and fails the test on error.
func putBytes(t testing.TB, c *minio.Client, bucket, key string, b []byte, opts minio.PutObjectOptions) minio.UploadInfo {
	t.Helper()
	info, err := c.PutObject(testCtx(t), bucket, key, bytes.NewReader(b), int64(len(b)), opts)
	if err != nil {
		t.Fatalf("PutObject(%s/%s, %d bytes): %v", bucket, key, len(b), describe(err))
	}
	return info
}

// getBytes downloads an object and fails the test on error.
func getBytes(t testing.TB, c *minio.Client, bucket, key string, opts minio.GetObjectOptions) []byte {
	t.Helper()
	b, err := tryGet(testCtx(t), c, bucket, key, opts)
	if err != nil {
		t.Fatalf("GetObject(%s/%s): %v", bucket, key, describe(err))
	}
	return b
}

func tryGet(ctx context.Context, c *minio.Client, bucket, key string, opts minio.GetObjectOptions) ([]byte, error) {
	obj, err := c.GetObject(ctx, bucket, key, opts)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(obj)
}

// sameBytes reports a mismatch compactly (first differing offset).
func sameBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("%s: got %d bytes, want %d; first difference at offset %d", what, len(got), len(want), i)
}

// trimETag removes the quotes around an ETag header value.
func trimETag(s string) string { return strings.Trim(s, `"`) }
