package s3api

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

const (
	testAccessKey = "AKIAFORKSTORETEST"
	testSecretKey = "forkstore-test-secret-key"
	testRegion    = "us-east-1"
)

// logSink collects log output for assertions and mirrors it to t.Log.
type logSink struct {
	t  *testing.T
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Log(strings.TrimSpace(string(p)))
	return l.b.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newTestServer returns a Server whose handlers can run up to the point
// where they would call the gateway (its Service is empty): for tests of
// routing, authentication, validation and rendering.
func newTestServer(t *testing.T, domains ...string) (*Server, *logSink) {
	t.Helper()
	sink := &logSink{t: t}
	cfg := DefaultConfig()
	cfg.Region = testRegion
	cfg.Domains = domains
	s := New(cfg, &gateway.Service{}, slog.New(slog.NewTextHandler(sink, nil)))
	s.auth.Secret = func(k string) (string, bool) { return testSecretKey, k == testAccessKey }
	s.principal = func(_ context.Context, k string) (*gateway.Principal, bool) {
		return &gateway.Principal{AccessKey: k, Root: true}, k == testAccessKey
	}
	s.ready = func(context.Context) error { return nil }
	s.disk = func() string { return "ok: 41 GiB free, min 1.0 GiB" }
	s.bucketAccess = func(context.Context, gateway.GetObjectInput) (*meta.Bucket, *meta.Object, error) {
		return nil, nil, meta.ErrNoSuchBucket
	}
	s.bucketOwner = nil
	return s, sink
}

// testReq is one request of a handler test.
type testReq struct {
	method, target string
	host           string
	body           []byte
	hdr            map[string]string
	unsigned       bool
}

// do signs (SigV4, payload hash in x-amz-content-sha256) and sends r
// through the Fiber app.
func (s *Server) do(t *testing.T, r testReq) *http.Response {
	t.Helper()
	host := r.host
	if host == "" {
		host = "127.0.0.1:9000"
	}
	req := httptest.NewRequest(r.method, "http://"+host+r.target, bytes.NewReader(r.body))
	req.RequestURI = "" // origin-form request line with a Host header, as clients send
	if r.body == nil {
		req.Body = http.NoBody
	}
	req.ContentLength = int64(len(r.body))
	for k, v := range r.hdr {
		req.Header.Set(k, v)
	}
	if !r.unsigned {
		sum := sha256.Sum256(r.body)
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		req = signer.SignV4(*req, testAccessKey, testSecretKey, "", testRegion)
	}
	resp, err := s.App().Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.target, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// s3Error decodes an S3 error body.
func s3Error(t *testing.T, resp *http.Response) ErrorXML {
	t.Helper()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var e ErrorXML
	if err := xml.Unmarshal(data, &e); err != nil {
		t.Fatalf("status %d, body %q: %v", resp.StatusCode, data, err)
	}
	return e
}

// wantError checks status and S3 error code.
func wantError(t *testing.T, resp *http.Response, status int, code string) ErrorXML {
	t.Helper()
	e := s3Error(t, resp)
	if resp.StatusCode != status || e.Code != code {
		t.Fatalf("got %d %s (%s), want %d %s", resp.StatusCode, e.Code, e.Message, status, code)
	}
	if e.RequestID == "" || e.RequestID != resp.Header.Get("X-Amz-Request-Id") {
		t.Errorf("RequestId %q, header %q", e.RequestID, resp.Header.Get("X-Amz-Request-Id"))
	}
	return e
}

// TestCommonHeaders: every answer carries a request id, x-amz-id-2 and
// Server: forkstore, and unsigned S3 requests are AccessDenied.
func TestCommonHeaders(t *testing.T) {
	s, sink := newTestServer(t)
	s.cfg.AccessLog = true
	resp := s.do(t, testReq{method: "GET", target: "/", unsigned: true})
	e := wantError(t, resp, 403, "AccessDenied")
	if resp.Header.Get("Server") != "forkstore" || resp.Header.Get("X-Amz-Id-2") == "" {
		t.Errorf("headers %v", resp.Header)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/xml" {
		t.Errorf("Content-Type %q", ct)
	}
	if !strings.Contains(sink.String(), "request_id="+e.RequestID) || !strings.Contains(sink.String(), "op=ListBuckets") {
		t.Errorf("no access line for %s in %s", e.RequestID, sink.String())
	}
	if strings.Contains(sink.String(), testSecretKey) {
		t.Error("secret in the log")
	}
	second := s.do(t, testReq{method: "GET", target: "/", unsigned: true})
	if second.Header.Get("X-Amz-Request-Id") == e.RequestID {
		t.Error("request ids repeat")
	}
}

// TestNotImplementedSubresources: unsupported sub-resources answer 501
// NotImplemented after authentication and never reach the object or
// bucket operation (pitfall 6).
func TestNotImplementedSubresources(t *testing.T) {
	s, sink := newTestServer(t)
	// A 501 is not a server problem: its access line is written with the
	// access log (or at debug), not at WARN.
	s.cfg.AccessLog = true
	defer func() {
		// The access line of a 501 names the sub-resource asked for.
		for _, sub := range []string{"unsupported=policy", "unsupported=restore", "unsupported=POST"} {
			if !strings.Contains(sink.String(), sub) {
				t.Errorf("access log lacks %s:\n%s", sub, sink.String())
			}
		}
	}()
	for _, r := range []testReq{
		{method: "PUT", target: "/bkt/k?torrent"},
		{method: "DELETE", target: "/bkt/k?legal-hold"},
		{method: "PUT", target: "/bkt/k?policy", body: []byte("{}")},
		{method: "POST", target: "/bkt/k?restore"},
		{method: "POST", target: "/bkt"},
	} {
		t.Run(r.method+" "+r.target, func(t *testing.T) {
			wantError(t, s.do(t, r), 501, "NotImplemented")
		})
	}
	t.Run("HEAD has no body", func(t *testing.T) {
		resp := s.do(t, testReq{method: "HEAD", target: "/"})
		if resp.StatusCode != 405 {
			t.Errorf("status %d", resp.StatusCode)
		}
		if b, _ := io.ReadAll(resp.Body); len(b) != 0 {
			t.Errorf("HEAD body %q", b)
		}
	})
	t.Run("unsigned is AccessDenied first", func(t *testing.T) {
		wantError(t, s.do(t, testReq{method: "PUT", target: "/bkt/k?tagging", unsigned: true}), 403, "AccessDenied")
	})
}

// TestHealth: /health/live and /health/ready are unauthenticated.
func TestHealth(t *testing.T) {
	s, _ := newTestServer(t)
	resp := s.do(t, testReq{method: "GET", target: "/health/live", unsigned: true})
	if resp.StatusCode != 200 {
		t.Fatalf("live: %d", resp.StatusCode)
	}
	resp = s.do(t, testReq{method: "GET", target: "/health/ready", unsigned: true})
	if resp.StatusCode != 200 {
		t.Fatalf("ready: %d", resp.StatusCode)
	}
	// A node whose disk is low still serves reads: ready, saying why it
	// refuses writes.
	s.disk = func() string { return "low: 12 MiB free < 1.0 GiB" }
	resp = s.do(t, testReq{method: "GET", target: "/health/ready", unsigned: true})
	var low healthStatus
	if err := json.NewDecoder(resp.Body).Decode(&low); err != nil || resp.StatusCode != 200 || low.Disk != "low: 12 MiB free < 1.0 GiB" {
		t.Fatalf("ready with a low disk: %d %+v %v", resp.StatusCode, low, err)
	}
	s.ready = func(context.Context) error { return gateway.ErrUnavailable }
	resp = s.do(t, testReq{method: "GET", target: "/health/ready", unsigned: true})
	var st healthStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != 503 || st.Status != "unavailable" {
		t.Fatalf("not ready: %d %+v %v", resp.StatusCode, st, err)
	}
}

// TestInternalErrors: a panic or an unmapped error is InternalError, with
// exactly one error log line carrying the request id.
func TestInternalErrors(t *testing.T) {
	s, sink := newTestServer(t)
	s.handlers[OpListBuckets] = func(r *request) (*response, error) { panic("broken invariant") }
	e := wantError(t, s.do(t, testReq{method: "GET", target: "/"}), 500, "InternalError")
	if !strings.Contains(sink.String(), "panic") || !strings.Contains(sink.String(), e.RequestID) {
		t.Errorf("panic not logged: %s", sink.String())
	}

	s, sink = newTestServer(t)
	s.handlers[OpListBuckets] = func(r *request) (*response, error) { return nil, errors.New("disk on fire") }
	e = wantError(t, s.do(t, testReq{method: "GET", target: "/"}), 500, "InternalError")
	var errLines int
	for _, l := range strings.Split(sink.String(), "\n") {
		if strings.Contains(l, "level=ERROR") {
			errLines++
			if !strings.Contains(l, "request_id="+e.RequestID) || !strings.Contains(l, "disk on fire") {
				t.Errorf("error line %q", l)
			}
		}
	}
	if errLines != 1 {
		t.Errorf("%d error lines, want 1", errLines)
	}
}

// TestHeaderTooLarge: an oversized header section is answered with S3 XML
// (RequestHeaderSectionTooLarge) by the framework error handler.
func TestHeaderTooLarge(t *testing.T) {
	s, _ := newTestServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
	req.Header.Set("X-Amz-Meta-Big", strings.Repeat("a", s.cfg.MaxHeaderBytes+1))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	e := s3Error(t, resp)
	if e.Code != "RequestHeaderSectionTooLarge" || resp.Header.Get("X-Amz-Request-Id") == "" || e.RequestID == "" {
		t.Errorf("got %d %+v", resp.StatusCode, e)
	}
}

func md5b64(b []byte) string {
	s := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// TestValidationBeforeGateway covers the S3 errors a request gets before
// anything is read from or written to the gateway.
func TestValidationBeforeGateway(t *testing.T) {
	s, _ := newTestServer(t)
	del := []byte("<Delete><Object><Key>a</Key></Object></Delete>")
	longKey := "/bkt/" + strings.Repeat("k", 1025)
	tests := []struct {
		name   string
		req    testReq
		status int
		code   string
	}{
		// PutObject integrity headers (pitfalls 1 and 9).
		{"PutObject two checksums", testReq{method: "PUT", target: "/bkt/k", body: []byte("x"), hdr: map[string]string{"x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-sha1": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}}, 400, "InvalidRequest"},
		{"PutObject trailer and checksum header", testReq{method: "PUT", target: "/bkt/k", body: []byte("x"), hdr: map[string]string{"x-amz-checksum-crc32": "AAAAAA==", "x-amz-trailer": "x-amz-checksum-crc32"}}, 400, "InvalidRequest"},
		{"PutObject sdk algorithm mismatch", testReq{method: "PUT", target: "/bkt/k", body: []byte("x"), hdr: map[string]string{"x-amz-checksum-crc32": "AAAAAA==", "x-amz-sdk-checksum-algorithm": "CRC32C"}}, 400, "InvalidRequest"},
		{"PutObject sdk algorithm alone", testReq{method: "PUT", target: "/bkt/k", body: []byte("x"), hdr: map[string]string{"x-amz-sdk-checksum-algorithm": "CRC32"}}, 400, "InvalidRequest"},
		{"PutObject malformed checksum", testReq{method: "PUT", target: "/bkt/k", body: []byte("x"), hdr: map[string]string{"x-amz-checksum-crc32": "not base64"}}, 400, "InvalidRequest"},
		{"PutObject malformed Content-MD5", testReq{method: "PUT", target: "/bkt/k", body: []byte("x"), hdr: map[string]string{"Content-MD5": "abc"}}, 400, "InvalidDigest"},
		{"PutObject key too long", testReq{method: "PUT", target: longKey, body: []byte("x")}, 400, "KeyTooLongError"},
		{"PutObject metadata too large", testReq{method: "PUT", target: "/bkt/k", body: []byte("x"), hdr: map[string]string{"x-amz-meta-a": strings.Repeat("v", 2048)}}, 400, "MetadataTooLarge"},
		{"PutObject into a snapshot", testReq{method: "PUT", target: "/bkt/k", body: []byte("x"), hdr: map[string]string{"X-Tigris-Snapshot-Version": "17"}}, 400, "InvalidRequest"},
		{"DeleteObject in a snapshot", testReq{method: "DELETE", target: "/bkt/k", hdr: map[string]string{"X-Tigris-Snapshot-Version": "17"}}, 400, "InvalidRequest"},

		// DeleteObjects body (MalformedXML, Content-MD5, checksums).
		{"DeleteObjects malformed", testReq{method: "POST", target: "/bkt?delete", body: []byte("<Delete><Object>")}, 400, "MalformedXML"},
		{"DeleteObjects empty", testReq{method: "POST", target: "/bkt?delete", body: []byte("<Delete></Delete>")}, 400, "MalformedXML"},
		{"DeleteObjects bad Content-MD5", testReq{method: "POST", target: "/bkt?delete", body: del, hdr: map[string]string{"Content-MD5": md5b64([]byte("other"))}}, 400, "BadDigest"},
		{"DeleteObjects bad crc32", testReq{method: "POST", target: "/bkt?delete", body: del, hdr: map[string]string{"x-amz-checksum-crc32": "AAAAAA=="}}, 400, "BadDigest"},
		{"DeleteObjects good Content-MD5 bad xml", testReq{method: "POST", target: "/bkt?delete", body: []byte("<x"), hdr: map[string]string{"Content-MD5": md5b64([]byte("<x"))}}, 400, "MalformedXML"},

		// Buckets.
		{"CreateBucket invalid name", testReq{method: "PUT", target: "/Bad_Name"}, 400, "InvalidBucketName"},
		{"CreateBucket IP name", testReq{method: "PUT", target: "/192.168.5.4"}, 400, "InvalidBucketName"},
		{"CreateBucket other region", testReq{method: "PUT", target: "/bkt", body: []byte("<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>")}, 400, "IllegalLocationConstraintException"},
		{"CreateBucket us-east-1 spelled out", testReq{method: "PUT", target: "/bkt", body: []byte("<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>")}, 400, "InvalidLocationConstraint"},
		{"CreateBucket malformed configuration", testReq{method: "PUT", target: "/bkt", body: []byte("<CreateBucketConfiguration>")}, 400, "MalformedXML"},
		{"CreateBucket object lock not a boolean", testReq{method: "PUT", target: "/bkt", hdr: map[string]string{"x-amz-bucket-object-lock-enabled": "yes"}}, 400, "InvalidArgument"},
		{"PutBucketVersioning bad status", testReq{method: "PUT", target: "/bkt?versioning", body: []byte("<VersioningConfiguration><Status>On</Status></VersioningConfiguration>")}, 400, "MalformedXML"},
		{"ListBuckets bad max-buckets", testReq{method: "GET", target: "/?max-buckets=0"}, 400, "InvalidArgument"},

		// Listings.
		{"ListObjectsV2 bad max-keys", testReq{method: "GET", target: "/bkt?list-type=2&max-keys=abc"}, 400, "InvalidArgument"},
		{"ListObjectsV2 negative max-keys", testReq{method: "GET", target: "/bkt?list-type=2&max-keys=-1"}, 400, "InvalidArgument"},
		{"ListObjectsV2 bad encoding-type", testReq{method: "GET", target: "/bkt?list-type=2&encoding-type=base64"}, 400, "InvalidArgument"},
		{"ListObjectsV2 bad token", testReq{method: "GET", target: "/bkt?list-type=2&continuation-token=%21%21"}, 400, "InvalidArgument"},
		{"ListObjects bad max-keys", testReq{method: "GET", target: "/bkt?max-keys=1x"}, 400, "InvalidArgument"},
		{"ListObjectVersions version marker alone", testReq{method: "GET", target: "/bkt?versions&version-id-marker=17"}, 400, "InvalidArgument"},
		{"ListMultipartUploads bad max-uploads", testReq{method: "GET", target: "/bkt?uploads&max-uploads=x"}, 400, "InvalidArgument"},

		// Objects.
		{"GetObject empty versionId", testReq{method: "GET", target: "/bkt/k?versionId="}, 400, "InvalidArgument"},
		{"GetObject bad versionId", testReq{method: "GET", target: "/bkt/k?versionId=abc"}, 400, "InvalidArgument"},
		{"GetObject partNumber 0", testReq{method: "GET", target: "/bkt/k?partNumber=0"}, 400, "InvalidArgument"},
		{"GetObject partNumber and Range", testReq{method: "GET", target: "/bkt/k?partNumber=1", hdr: map[string]string{"Range": "bytes=0-1"}}, 400, "InvalidRequest"},
		{"CopyObject bad directive", testReq{method: "PUT", target: "/bkt/k", hdr: map[string]string{"x-amz-copy-source": "/bkt/src", "x-amz-metadata-directive": "MERGE"}}, 400, "InvalidArgument"},
		{"CopyObject bad source", testReq{method: "PUT", target: "/bkt/k", hdr: map[string]string{"x-amz-copy-source": "/bkt"}}, 400, "InvalidArgument"},

		// Multipart.
		{"UploadPart number too large", testReq{method: "PUT", target: "/bkt/k?partNumber=10001&uploadId=u", body: []byte("x")}, 400, "InvalidArgument"},
		{"UploadPart number not a number", testReq{method: "PUT", target: "/bkt/k?partNumber=one&uploadId=u", body: []byte("x")}, 400, "InvalidArgument"},
		{"CreateMultipartUpload composite crc64nvme", testReq{method: "POST", target: "/bkt/k?uploads", hdr: map[string]string{"x-amz-checksum-algorithm": "CRC64NVME", "x-amz-checksum-type": "COMPOSITE"}}, 400, "InvalidRequest"},
		{"CreateMultipartUpload full-object sha256", testReq{method: "POST", target: "/bkt/k?uploads", hdr: map[string]string{"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-type": "FULL_OBJECT"}}, 400, "InvalidRequest"},
		{"CreateMultipartUpload type alone", testReq{method: "POST", target: "/bkt/k?uploads", hdr: map[string]string{"x-amz-checksum-type": "COMPOSITE"}}, 400, "InvalidRequest"},
		{"CompleteMultipartUpload malformed", testReq{method: "POST", target: "/bkt/k?uploadId=u", body: []byte("<CompleteMultipartUpload/>")}, 400, "MalformedXML"},
		{"CompleteMultipartUpload order", testReq{method: "POST", target: "/bkt/k?uploadId=u", body: []byte("<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>a</ETag></Part><Part><PartNumber>1</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>")}, 400, "InvalidPartOrder"},

		// Snapshots and forks.
		{"CreateSnapshot bad header", testReq{method: "PUT", target: "/bkt", hdr: map[string]string{"X-Tigris-Snapshot": "yes"}}, 400, "InvalidArgument"},
		{"Fork invalid name", testReq{method: "PUT", target: "/No", hdr: map[string]string{"X-Tigris-Fork-Source-Bucket": "bkt"}}, 400, "InvalidBucketName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, s.do(t, tt.req), tt.status, tt.code)
		})
	}
}

// TestErrorDocumentFields: NoSuchBucket-like codes name the bucket and
// InvalidArgument names the argument.
func TestErrorDocumentFields(t *testing.T) {
	s, _ := newTestServer(t)
	e := wantError(t, s.do(t, testReq{method: "PUT", target: "/Bad_Name"}), 400, "InvalidBucketName")
	if e.BucketName != "Bad_Name" || e.Resource != "/Bad_Name" {
		t.Errorf("got %+v", e)
	}
	e = wantError(t, s.do(t, testReq{method: "GET", target: "/bkt?list-type=2&max-keys=abc"}), 400, "InvalidArgument")
	if e.ArgumentName != "max-keys" || e.ArgumentValue != "abc" {
		t.Errorf("got %+v", e)
	}
}

// TestUnreadBodyClosesConnection: an early error on a large upload must
// not leave its body in the connection; small leftovers are drained.
func TestUnreadBodyClosesConnection(t *testing.T) {
	s, _ := newTestServer(t)
	hdr := map[string]string{"x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-sha1": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}
	big := s.do(t, testReq{method: "PUT", target: "/bkt/k", body: bytes.Repeat([]byte("x"), 3<<20), hdr: hdr})
	if big.StatusCode != 400 || !big.Close {
		t.Errorf("large unread body: status %d, close %v", big.StatusCode, big.Close)
	}
	small := s.do(t, testReq{method: "PUT", target: "/bkt/k", body: bytes.Repeat([]byte("x"), 100<<10), hdr: hdr})
	if small.StatusCode != 400 || small.Close {
		t.Errorf("small unread body: status %d, close %v", small.StatusCode, small.Close)
	}
}

// TestAdminErrors: the admin API answers JSON errors.
func TestAdminErrors(t *testing.T) {
	s, _ := newTestServer(t)
	resp := s.do(t, testReq{method: "GET", target: "/_forkstore/v1/nothing"})
	var e adminError
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != 404 || e.Code != "NotFound" {
		t.Errorf("got %d %+v %v", resp.StatusCode, e, err)
	}
	resp = s.do(t, testReq{method: "POST", target: "/_forkstore/v1/buckets/bkt/forks", body: []byte("{")})
	e = adminError{}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != 400 || e.Code != "InvalidRequest" {
		t.Errorf("got %d %+v %v", resp.StatusCode, e, err)
	}
	resp = s.do(t, testReq{method: "PUT", target: "/_forkstore/v1/buckets/bkt/lineage"})
	if resp.StatusCode != 405 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("got %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp = s.do(t, testReq{method: "GET", target: "/_forkstore/v1/buckets/bkt/lineage", unsigned: true})
	if resp.StatusCode != 403 {
		t.Errorf("unsigned admin: %d", resp.StatusCode)
	}
}

// TestVirtualHostAuth: a virtual-host request is routed by its Host and
// its signature (which covers Host) verifies.
func TestVirtualHostAuth(t *testing.T) {
	s, _ := newTestServer(t, "s3.local")
	wantError(t, s.do(t, testReq{method: "PUT", target: "/k?torrent", host: "bkt.s3.local:9000"}), 501, "NotImplemented")
	wantError(t, s.do(t, testReq{method: "GET", target: "/?list-type=2&max-keys=x", host: "bkt.s3.local"}), 400, "InvalidArgument")
}
