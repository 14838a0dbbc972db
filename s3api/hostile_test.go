package s3api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// send sends req through the Fiber app as it is (signed or not).
func (s *Server) send(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	req.RequestURI = ""
	resp, err := s.App().Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// presigned returns a SigV4 presigned request for target (which may carry
// a query), with hdr signed into it.
func presigned(method, target string, hdr map[string]string) *http.Request {
	req := httptest.NewRequest(method, "http://127.0.0.1:9000"+target, http.NoBody)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return signer.PreSignV4(*req, testAccessKey, testSecretKey, "", testRegion, 600)
}

// TestUnsignedSnapshotAndForkHeaders: the X-Tigris-* headers change what a
// request does, so a presigned URL or a signed request replayed with one
// added is AccessDenied: a presigned GET cannot read an older version, a
// presigned DeleteBucket cannot become a snapshot delete, a signed
// CreateBucket cannot become a fork. SigV2 cannot sign them at all. With
// SigV4 they may also travel in the (always signed) query.
func TestUnsignedSnapshotAndForkHeaders(t *testing.T) {
	s, _ := newTestServer(t)
	t.Run("presigned GET replayed with a snapshot version", func(t *testing.T) {
		req := presigned("GET", "/bkt/doc", nil)
		req.Header.Set("X-Tigris-Snapshot-Version", "17")
		wantError(t, s.send(t, req), 403, "AccessDenied")
	})
	t.Run("presigned DeleteBucket replayed as DeleteSnapshot", func(t *testing.T) {
		req := presigned("DELETE", "/bkt", nil)
		req.Header.Set("X-Tigris-Snapshot-Version", "17")
		wantError(t, s.send(t, req), 403, "AccessDenied")
	})
	t.Run("signed CreateBucket replayed as a fork", func(t *testing.T) {
		req := httptest.NewRequest("PUT", "http://127.0.0.1:9000/newbkt", http.NoBody)
		req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
		req = signer.SignV4(*req, testAccessKey, testSecretKey, "", testRegion)
		req.Header.Set("X-Tigris-Fork-Source-Bucket", "secret-bucket")
		wantError(t, s.send(t, req), 403, "AccessDenied")
	})
	t.Run("SigV2 header auth with a fork header", func(t *testing.T) {
		req := httptest.NewRequest("PUT", "http://127.0.0.1:9000/newbkt", http.NoBody)
		req.Header.Set("X-Tigris-Fork-Source-Bucket", "src")
		req = signer.SignV2(*req, testAccessKey, testSecretKey, false)
		wantError(t, s.send(t, req), 403, "AccessDenied")
	})
	t.Run("SigV2 presigned with a snapshot version in the query", func(t *testing.T) {
		req := httptest.NewRequest("GET", "http://127.0.0.1:9000/bkt/doc?X-Tigris-Snapshot-Version=17", http.NoBody)
		req = signer.PreSignV2(*req, testAccessKey, testSecretKey, 600, false)
		wantError(t, s.send(t, req), 403, "AccessDenied")
	})
	t.Run("signed header is honoured", func(t *testing.T) {
		// A write naming a snapshot is refused before the gateway: proof
		// that the header was read.
		req := presigned("PUT", "/bkt/k", map[string]string{"X-Tigris-Snapshot-Version": "17"})
		wantError(t, s.send(t, req), 400, "InvalidRequest")
	})
	t.Run("SigV4 query parameter is honoured", func(t *testing.T) {
		req := presigned("PUT", "/bkt/k?X-Tigris-Snapshot-Version=17", nil)
		wantError(t, s.send(t, req), 400, "InvalidRequest")
		req = presigned("DELETE", "/bkt/k?x-tigris-snapshot-version=17", nil)
		wantError(t, s.send(t, req), 400, "InvalidRequest")
	})
	t.Run("both header and query", func(t *testing.T) {
		req := presigned("GET", "/bkt/k?X-Tigris-Snapshot-Version=17", map[string]string{"X-Tigris-Snapshot-Version": "18"})
		wantError(t, s.send(t, req), 400, "InvalidArgument")
	})
}

// TestForkHeaderWithoutSource: CreateBucket with a fork header that names
// no source (the snapshot header alone, or an empty source) must not
// create an ordinary empty bucket: InvalidArgument.
func TestForkHeaderWithoutSource(t *testing.T) {
	s, _ := newTestServer(t)
	for name, hdr := range map[string]map[string]string{
		"snapshot header alone": {"X-Tigris-Fork-Source-Bucket-Snapshot": "17"},
		"empty source":          {"X-Tigris-Fork-Source-Bucket": ""},
		"blank source":          {"X-Tigris-Fork-Source-Bucket": "  ", "X-Tigris-Fork-Source-Bucket-Snapshot": "17"},
	} {
		t.Run(name, func(t *testing.T) {
			e := wantError(t, s.do(t, testReq{method: "PUT", target: "/newbkt", hdr: hdr}), 400, "InvalidArgument")
			if e.ArgumentName != "X-Tigris-Fork-Source-Bucket" {
				t.Errorf("ArgumentName %q", e.ArgumentName)
			}
		})
	}
}

// TestContinuationTokenGarbage: ListObjectsV2 continuation tokens are
// opaque and checked: one the server did not issue is InvalidArgument
// ("The continuation token provided is incorrect"), as on AWS, not a
// listing from wherever it happens to decode to.
func TestContinuationTokenGarbage(t *testing.T) {
	s, _ := newTestServer(t)
	for _, tok := range []string{"abc", "Zm9v", encodeToken("k") + "x", "AAAAAAAA"} {
		e := wantError(t, s.do(t, testReq{method: "GET", target: "/bkt?list-type=2&continuation-token=" + tok}), 400, "InvalidArgument")
		if e.ArgumentName != "continuation-token" {
			t.Errorf("%q: ArgumentName %q", tok, e.ArgumentName)
		}
	}
	for _, after := range []string{"", "k", "dir/a b\x00c", strings.Repeat("z", 1024)} {
		if got, ok := decodeToken(encodeToken(after)); !ok || got != after {
			t.Errorf("round trip of %q: %q %v", after, got, ok)
		}
	}
}

// TestXMLControlCharacters: a key holding characters XML 1.0 cannot carry
// (NUL and other C0 controls, U+FFFE, U+FFFF) is listed as AWS lists it
// without encoding-type=url: as a character reference (&#x1;), never as a
// different name (U+FFFD); characters XML can carry are unchanged.
func TestXMLControlCharacters(t *testing.T) {
	res := ListBucketResultV2{Name: "bkt", Prefix: "p\x01", Contents: []ObjectXML{
		{Key: "a\x00b\x01c\x1fd"}, {Key: "tab\tcr\rlf\n"}, {Key: "fffe\uFFFE ffff\uFFFF"},
		{Key: "replacement\uFFFD kept"}, {Key: "max\U0010FFFF"}, {Key: "plain <&>"},
	}}
	out, err := marshalXML(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<Prefix>p&#x1;</Prefix>",
		"<Key>a&#x0;b&#x1;c&#x1F;d</Key>",
		"<Key>tab&#x9;cr&#xD;lf&#xA;</Key>",
		"<Key>fffe&#xFFFE; ffff&#xFFFF;</Key>",
		"<Key>replacement\uFFFD kept</Key>",
		"<Key>max\U0010FFFF</Key>",
		"<Key>plain &lt;&amp;&gt;</Key>",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}
