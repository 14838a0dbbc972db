//go:build e2e

package e2e

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/forkstore/forkstore/tests/harness"
)

// PutObject with Content-Encoding "aws-chunked, deflate, gzip": the
// aws-chunked coding describes the transfer and is dropped; the client's
// other codings are stored and returned exactly as sent.
func TestContentEncodingKept(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	b := bucketName(t, "cenc")
	makeBucket(t, c, b)
	rc := raw{t, s}
	for _, tc := range []struct{ sent, want string }{
		{"aws-chunked, deflate, gzip", "deflate, gzip"},
		{"gzip,aws-chunked", "gzip"},
		{"aws-chunked", ""},
	} {
		data := []byte("compressed bytes")
		req := rc.unsigned(http.MethodPut, "/"+b+"/k", nil, http.Header{"Content-Encoding": {tc.sent}}, nil)
		req.Body = io.NopCloser(bytes.NewReader(data))
		req = signer.StreamingSignV4(req, s.User(), s.Password(), "", s.Region(), int64(len(data)), time.Now().UTC(), sha256Hasher{sha256.New()})
		if r := rc.send(req); r.Status != http.StatusOK {
			t.Fatalf("PUT with Content-Encoding %q: %s", tc.sent, r)
		}
		// Accept-Encoding set: Go's client would otherwise try to gunzip.
		r := rc.do(http.MethodGet, "/"+b+"/k", nil, http.Header{"Accept-Encoding": {"identity"}}, nil)
		if r.Status != http.StatusOK || !bytes.Equal(r.Body, data) {
			t.Fatalf("GET after %q: %s %q %v", tc.sent, r, r.Body, r.Header)
		}
		if got := r.Header.Get("Content-Encoding"); got != tc.want {
			t.Errorf("sent %q: stored Content-Encoding %q, want %q", tc.sent, got, tc.want)
		}
	}
}

// CreateBucket of a bucket you already own answers 200 in us-east-1 (see
// TestMinioBuckets and tests/clients/bucket.py) and BucketAlreadyOwnedByYou
// in every other region, as on AWS.
func TestCreateOwnedBucketOtherRegion(t *testing.T) {
	t.Parallel()
	s := startServer(t, harness.WithRegion("eu-west-1"))
	c := newClient(t, s, withRegion("eu-west-1"))
	b := bucketName(t, "owned")
	if err := c.MakeBucket(testCtx(t), b, minio.MakeBucketOptions{Region: "eu-west-1"}); err != nil {
		t.Fatal(describe(err))
	}
	err := c.MakeBucket(testCtx(t), b, minio.MakeBucketOptions{Region: "eu-west-1"})
	wantCode(t, "CreateBucket of an owned bucket in eu-west-1", err, "BucketAlreadyOwnedByYou")
}
