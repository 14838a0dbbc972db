//go:build e2e

package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// Hostile clients against the real binary: requests crafted to change what
// a signed request does, to confuse the framing, to hold connections or to
// exhaust the process. docs/security.md describes what the server promises.

// presignedURL returns a SigV4 presigned URL for method and path (with an
// optional query) valid for ten minutes, signing hdr into it.
func presignedURL(t testing.TB, c raw, method, path string, query url.Values, hdr http.Header) *http.Request {
	t.Helper()
	req := c.unsigned(method, path, query, hdr, nil)
	req.Header.Del("X-Amz-Content-Sha256")
	return signer.PreSignV4(*req, c.s.User(), c.s.Password(), "", c.s.Region(), 600)
}

// A presigned URL or a signed request cannot be turned into another
// operation by adding an unsigned X-Tigris-* header: a presigned GET of the
// current object replayed with X-Tigris-Snapshot-Version (reading an old,
// redacted version), a presigned DeleteBucket replayed as a snapshot
// delete, a signed CreateBucket replayed as a fork of another bucket.
// Signed, in the header or (SigV4) in the query, the headers work.
func TestHostileUnsignedTigrisHeaders(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	r := raw{t, s}
	b := bucketName(t, "redact")
	makeBucket(t, c, b)
	putBytes(t, c, b, "doc", []byte("secret draft"), minio.PutObjectOptions{})
	snap := snapshotBucket(t, s, b, "")
	putBytes(t, c, b, "doc", []byte("redacted"), minio.PutObjectOptions{})

	get := presignedURL(t, r, http.MethodGet, "/"+b+"/doc", nil, nil)
	if got := r.send(get.Clone(get.Context())); got.Status != 200 || string(got.Body) != "redacted" {
		t.Fatalf("presigned GET: %s", got)
	}
	replay := get.Clone(get.Context())
	replay.Header.Set(hSnapshotVersion, snap)
	wantErr(t, "presigned GET replayed with "+hSnapshotVersion, r.send(replay), 403, "AccessDenied")

	// The same read, signed: as a header, and in a presigned URL's query.
	if got := r.do(http.MethodGet, "/"+b+"/doc", nil, forkHeaders(hSnapshotVersion, snap), nil); got.Status != 200 || string(got.Body) != "secret draft" {
		t.Errorf("signed snapshot read: %s", got)
	}
	q := presignedURL(t, r, http.MethodGet, "/"+b+"/doc", url.Values{hSnapshotVersion: {snap}}, nil)
	if got := r.send(q); got.Status != 200 || string(got.Body) != "secret draft" {
		t.Errorf("presigned snapshot read (query): %s", got)
	}

	del := presignedURL(t, r, http.MethodDelete, "/"+b, nil, nil)
	del.Header.Set(hSnapshotVersion, snap)
	wantErr(t, "presigned DeleteBucket replayed as DeleteSnapshot", r.send(del), 403, "AccessDenied")
	if names := listSnapshotNames(t, s, b); len(names) != 1 {
		t.Errorf("snapshots after the replay: %v", names)
	}

	fork := bucketName(t, "notafork")
	create := r.request(http.MethodPut, "/"+fork, nil, nil, nil)
	create.Header.Set(hForkSource, b)
	wantErr(t, "signed CreateBucket replayed as a fork", r.send(create), 403, "AccessDenied")
	if ok, err := c.BucketExists(testCtx(t), fork); ok || err != nil {
		t.Errorf("bucket %s exists after the replay (%v)", fork, err)
	}

	// SigV2 cannot sign them.
	v2 := r.unsigned(http.MethodPut, "/"+fork, nil, forkHeaders(hForkSource, b), nil)
	v2.Header.Del("X-Amz-Content-Sha256")
	wantErr(t, "SigV2 fork", r.send(signer.SignV2(*v2, s.User(), s.Password(), false)), 403, "AccessDenied")
}

// CreateBucket with a fork header but no source is InvalidArgument, not an
// ordinary empty bucket.
func TestHostileForkWithoutSource(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	r := raw{t, s}
	for _, h := range []http.Header{forkHeaders(hForkSourceSnapshot, "17"), forkHeaders(hForkSource, "")} {
		name := bucketName(t, "nosource")
		wantErr(t, "fork without a source", r.do(http.MethodPut, "/"+name, nil, h, nil), 400, "InvalidArgument")
		if ok, err := c.BucketExists(testCtx(t), name); ok || err != nil {
			t.Errorf("bucket %s exists (%v)", name, err)
		}
	}
}

// A presigned PUT carrying an x-amz-content-sha256 header that its
// signature does not cover is checked against the body like a signed one:
// a mismatch stores nothing.
func TestHostilePresignedPutContentSHA256(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	r := raw{t, s}
	b := bucketName(t, "presignsha")
	makeBucket(t, c, b)
	body := []byte("the real body")
	for _, tc := range []struct {
		claim  []byte
		status int
		code   string
	}{
		{[]byte("another body"), 400, "XAmzContentSHA256Mismatch"},
		{body, 200, ""},
	} {
		req := presignedURL(t, r, http.MethodPut, "/"+b+"/k", nil, nil)
		sum := sha256.Sum256(tc.claim)
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		got := r.send(req)
		if got.Status != tc.status || got.Err.Code != tc.code {
			t.Errorf("claim %q: %s, want %d %s", tc.claim, got, tc.status, tc.code)
		}
		if tc.code != "" {
			absent(t, c, b, "k", "after a mismatching claim")
		}
	}
}

// Names an XML 1.0 document cannot carry: a key with control characters is
// listed as AWS lists it without encoding-type=url (character references,
// never another name) and percent-encoded with it; snapshot names with
// control characters, or of digits only (which would shadow a version), are
// refused.
func TestHostileNames(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	r := raw{t, s}
	b := bucketName(t, "ctlnames")
	makeBucket(t, c, b)
	key := "a\x01b\x00c"
	putBytes(t, c, b, key, []byte("x"), minio.PutObjectOptions{})
	plain := r.do(http.MethodGet, "/"+b, url.Values{"list-type": {"2"}}, nil, nil)
	if !bytes.Contains(plain.Body, []byte("<Key>a&#x1;b&#x0;c</Key>")) {
		t.Errorf("listing without encoding-type: %s", plain)
	}
	enc := r.do(http.MethodGet, "/"+b, url.Values{"list-type": {"2"}, "encoding-type": {"url"}}, nil, nil)
	if !bytes.Contains(enc.Body, []byte("<Key>a%01b%00c</Key>")) {
		t.Errorf("listing with encoding-type=url: %s", enc)
	}
	objs := listKeys(t, c, b, minio.ListObjectsOptions{Recursive: true})
	if len(objs) != 1 || objs[0] != key {
		t.Errorf("minio-go lists %q, want %q", objs, key)
	}

	for _, name := range []string{"17", "0042", "tab\there"} {
		got := r.do(http.MethodPut, "/"+b, nil, forkHeaders(hSnapshot, "true; name="+name), nil)
		if got.Status != 400 {
			t.Errorf("snapshot named %q: %s, want 400", name, got)
		}
	}
	got := r.do(http.MethodPost, "/_forkstore/v1/buckets/"+b+"/snapshots", nil, http.Header{"Content-Type": {"application/json"}}, []byte(`{"name":"nul\u0000name"}`))
	if got.Status != 400 {
		t.Errorf("admin snapshot with NUL in the name: HTTP %d %s", got.Status, got.Body)
	}
	if names := listSnapshotNames(t, s, b); len(names) != 0 {
		t.Errorf("snapshots: %q", names)
	}
}

// Smaller ones: a continuation token the server did not issue is
// InvalidArgument; an aws-chunked body without its final 0-size chunk is
// IncompleteBody and stores nothing.
func TestHostileTokensAndChunks(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	r := raw{t, s}
	b := bucketName(t, "tokens")
	makeBucket(t, c, b)
	for _, tok := range []string{"garbage", "Zm9v", strings.Repeat("A", 12)} {
		got := r.do(http.MethodGet, "/"+b, url.Values{"list-type": {"2"}, "continuation-token": {tok}}, nil, nil)
		wantErr(t, "continuation-token "+tok, got, 400, "InvalidArgument")
	}

	data := bytes.Repeat([]byte("d"), 100<<10)
	req := r.streaming("/"+b+"/chunked", data)
	enc, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(enc, []byte("0;chunk-signature="))
	if i < 0 {
		t.Fatalf("no final chunk in %q", enc[len(enc)-200:])
	}
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(enc[:i])), int64(i)
	wantErr(t, "aws-chunked without its final chunk", r.send(req), 400, "IncompleteBody")
	absent(t, c, b, "chunked", "after an incomplete aws-chunked body")
}
