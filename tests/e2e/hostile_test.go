//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/forkstore/forkstore/tests/harness"
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

// openIdle opens n connections to addr that send nothing, closed at the
// end of the test.
func openIdle(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	return conns
}

// serves asserts that a real client can still write and read.
func serves(t *testing.T, s *harness.Server, what string) {
	t.Helper()
	c := newClient(t, s, withRegion(s.Region()))
	b := bucketName(t, "alive")
	if err := c.MakeBucket(testCtx(t), b, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("%s: CreateBucket: %s", what, describe(err))
	}
	putBytes(t, c, b, "k", []byte("still serving"), minio.PutObjectOptions{})
	o, err := c.GetObject(testCtx(t), b, "k", minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("%s: GetObject: %s", what, describe(err))
	}
	defer o.Close()
	if got, err := io.ReadAll(o); err != nil || string(got) != "still serving" {
		t.Fatalf("%s: read %q, %v", what, got, err)
	}
}

// More idle connections than the process may open files: under
// prlimit --nofile=512:512, 700 connections that send nothing. The server
// caps its connections from the limit (128 here), closes the idle ones
// that have waited longest to make room, and keeps serving real clients
// meanwhile; it never runs out of descriptors, and it never exits.
func TestHostileConnectionFlood(t *testing.T) {
	t.Parallel()
	prlimit, err := exec.LookPath("prlimit")
	requireClient(t, err == nil, "prlimit (util-linux)")
	s := startServer(t, harness.WithPrefix(prlimit, "--nofile=512:512", "--"))
	if s.PID() == 0 {
		t.Skip("needs a server started by the harness")
	}
	idle := openIdle(t, s.S3Addr, 700)
	serves(t, s, "with 700 idle connections")
	if !s.Running() {
		t.Fatalf("the server exited\n%s", s.LogTail(8<<10))
	}
	// The server closed most of the idle ones (it holds at most 128).
	closed := 0
	buf := make([]byte, 1)
	for _, c := range idle {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.Read(buf); errors.Is(err, io.EOF) {
			closed++
		}
	}
	if closed < 700-128 {
		t.Errorf("%d of 700 idle connections closed, want at least %d", closed, 700-128)
	}
	log, _ := os.ReadFile(s.LogPath)
	if !bytes.Contains(log, []byte("max_connections=128")) || !bytes.Contains(log, []byte(`msg="open-file limit" limit=512`)) {
		t.Errorf("the log does not show the limits:\n%s", s.LogTail(8<<10))
	}
}

// Accept failing with EMFILE (the open-file limit lowered under a running
// server, below what its connection cap allows) never ends the process:
// it backs off and warns, and serves again once descriptors are free.
func TestHostileAcceptEMFILE(t *testing.T) {
	t.Parallel()
	prlimit, err := exec.LookPath("prlimit")
	requireClient(t, err == nil, "prlimit (util-linux)")
	s := startServer(t)
	if s.PID() == 0 {
		t.Skip("needs a server started by the harness")
	}
	out, err := exec.Command(prlimit, "--pid", fmt.Sprint(s.PID()), "--nofile=300:300").CombinedOutput()
	if err != nil {
		t.Fatalf("prlimit: %v %s", err, out)
	}
	idle := openIdle(t, s.S3Addr, 400)
	waitFor(t, 60*time.Second, "accept failures logged", func() bool {
		log, _ := os.ReadFile(s.LogPath)
		return bytes.Contains(log, []byte("too many open files"))
	})
	if !s.Running() {
		t.Fatalf("the server exited\n%s", s.LogTail(8<<10))
	}
	for _, c := range idle {
		c.Close()
	}
	serves(t, s, "after accept failed with EMFILE")
}

// waitFor polls cond until it holds, failing the test after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// head renders req's request line and headers (no body), with extra
// header lines.
func head(req *http.Request, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", req.Method, req.URL.RequestURI(), req.URL.Host)
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	for _, e := range extra {
		b.WriteString(e + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// exchange writes b (in the background: the server may answer first) on
// a fresh connection and reads one answer; closed reports whether the
// server then closed the connection cleanly.
func exchange(t *testing.T, addr string, b []byte, then io.Reader) (resp rawResp, first string, closed bool) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	go func() {
		if _, err := conn.Write(b); err == nil && then != nil {
			io.Copy(conn, then)
		}
	}()
	br := bufio.NewReader(conn)
	line, _ := br.Peek(12)
	first = string(line)
	r, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, _ := io.ReadAll(r.Body)
	resp = rawResp{Status: r.StatusCode, Header: r.Header, Body: body}
	xml.Unmarshal(body, &resp.Err)
	_, err = br.ReadByte()
	return resp, first, errors.Is(err, io.EOF)
}

// Request framing and early refusals on the wire: conflicting lengths
// (RFC 9112 section 6), a header line without a colon, refusals from the
// head with Expect: 100-continue (no 100 Continue is sent) and without it
// (the error reaches the client while it is still sending, then a clean
// close), and connections that send nothing or dribble their head.
func TestHostileWire(t *testing.T) {
	t.Parallel()
	s := startServer(t, harness.WithArgs("--idle-timeout", "1s", "--header-timeout", "2s"))
	c := newClient(t, s)
	r := raw{t, s}
	b := bucketName(t, "wire")
	makeBucket(t, c, b)
	live := "GET /health/live HTTP/1.1\r\nHost: x\r\n"

	for _, tc := range []struct {
		name   string
		wire   string
		status int
	}{
		{"differing Content-Length", live + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
		{"Content-Length and chunked", live + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400},
		{"unknown transfer coding", live + "Transfer-Encoding: gzip\r\n\r\n", 501},
		{"header line without a colon", live + "NoColon\r\n\r\n", 400},
	} {
		got, _, closed := exchange(t, s.S3Addr, []byte(tc.wire), nil)
		if got.Status != tc.status || !closed {
			t.Errorf("%s: %s (closed %v), want %d and a close", tc.name, got, closed, tc.status)
		}
	}

	put := func(path string, size int64, secret string) *http.Request {
		req := r.unsigned(http.MethodPut, path, nil, http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}, nil)
		req.ContentLength = size
		req.Header.Set("Content-Length", fmt.Sprint(size))
		return signer.SignV4(*req, s.User(), secret, "", s.Region())
	}
	for _, tc := range []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"bad signature", put("/"+b+"/k", 100, "wrong-secret"), 403, "SignatureDoesNotMatch"},
		{"6 GiB", put("/"+b+"/k", 6<<30, s.Password()), 400, "EntityTooLarge"},
	} {
		got, first, closed := exchange(t, s.S3Addr, []byte(head(tc.req, "Expect: 100-continue")), nil)
		if first != fmt.Sprintf("HTTP/1.1 %d", tc.status) || got.Err.Code != tc.code || !closed {
			t.Errorf("Expect: 100-continue, %s: first %q, %s (closed %v)", tc.name, first, got, closed)
		}
	}
	// The same 6 GiB PUT without Expect, its body on the way.
	body := io.LimitReader(zeros{}, 32<<20)
	got, _, closed := exchange(t, s.S3Addr, []byte(head(put("/"+b+"/k", 6<<30, s.Password()))), body)
	if got.Err.Code != "EntityTooLarge" || !closed {
		t.Errorf("6 GiB PUT, body on the way: %s (closed %v)", got, closed)
	}
	absent(t, c, b, "k", "after refused uploads")

	// Idle and dribbling connections are closed.
	idle := openIdle(t, s.S3Addr, 1)[0]
	idle.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("idle connection: read %d, %v; want a silent close", n, err)
	}
	slow := openIdle(t, s.S3Addr, 1)[0]
	go func() {
		io.WriteString(slow, live)
		for i := 0; i < 600; i++ { // a minute at most
			if _, err := fmt.Fprintf(slow, "X-Slow-%d: a\r\n", i); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	slow.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil || resp.StatusCode != 400 {
		t.Errorf("dribbled head: %v %v, want 400 RequestTimeout", resp, err)
	}
}

// zeros is an endless body.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
