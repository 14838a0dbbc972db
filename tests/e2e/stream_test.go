//go:build e2e

package e2e

import (
	"crypto/md5"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// patternReader yields n pseudo-random bytes without holding them.
type patternReader struct {
	r *rand.ChaCha8
	n int64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	p.r.Read(b)
	p.n -= int64(len(b))
	return len(b), nil
}

// Bodies stream end to end (PutObject / GetObject): a single 768 MiB PUT
// (one request, presigned, no multipart) and its GET leave the server's
// peak RSS far below the object's size, and the bytes and ETag round-trip.
func TestLargeSinglePutStreams(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	bucket := bucketName(t, "stream")
	makeBucket(t, c, bucket)
	const size = 768 << 20
	u, err := c.PresignedPutObject(ctx, bucket, "big", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	h := md5.New()
	body := io.TeeReader(&patternReader{r: rand.NewChaCha8([32]byte{7}), n: size}, h)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := `"` + hex.EncodeToString(h.Sum(nil)) + `"`
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") != want {
		t.Fatalf("PUT: %d, ETag %s, want %s", resp.StatusCode, resp.Header.Get("ETag"), want)
	}

	g, err := c.PresignedGetObject(ctx, bucket, "big", 10*time.Minute, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(g.String())
	if err != nil {
		t.Fatal(err)
	}
	h.Reset()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || n != size || `"`+hex.EncodeToString(h.Sum(nil))+`"` != want {
		t.Fatalf("GET: %d bytes, %v", n, err)
	}
	peak, err := s.PeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("server peak RSS after a %d MiB PUT and GET: %d MiB", size>>20, peak>>20)
	// Far below the body (and race-detector builds use more memory).
	if peak > 400<<20 {
		t.Fatalf("server peak RSS %d MiB after a %d MiB PUT and GET: bodies are being buffered", peak>>20, size>>20)
	}
	st, err := c.StatObject(ctx, bucket, "big", minio.StatObjectOptions{})
	if err != nil || st.Size != size {
		t.Fatalf("stat: %+v %v", st.Size, err)
	}
}
