package s3api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/forkstore/forkstore/gateway"
)

// fuzzHeadTime is the clock of FuzzRequestHead: its signed seeds verify
// at it.
var fuzzHeadTime = time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)

// fuzzHeadServer is a Server whose head handling (framing, parsing,
// routing, authentication, early refusals) runs without a gateway.
func fuzzHeadServer() *Server {
	cfg := DefaultConfig()
	cfg.Region = "us-east-1"
	cfg.Domains = []string{"s3.example.com"}
	s := New(cfg, &gateway.Service{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	a := testAuthenticator("us-east-1", fuzzHeadTime)
	a.VirtualHostBucket = s.router.virtualBucket
	s.auth = a
	s.principal = func(_ context.Context, k string) (*gateway.Principal, bool) {
		return &gateway.Principal{AccessKey: k, Root: true}, k == exampleAccessKey
	}
	return s
}

// headSeed renders r as the arguments of FuzzRequestHead: method, request
// target and the header lines (Host first).
func headSeed(r *AuthRequest, extra ...string) []any {
	target := r.RawPath
	if r.RawQuery != "" {
		target += "?" + r.RawQuery
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Host: %s\r\n", r.Host)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	for _, e := range extra {
		b.WriteString(e + "\r\n")
	}
	return []any{r.Method, target, []byte(b.String())}
}

// requestHeadSeeds are the heads of docs/security.md's cases: signed and
// presigned requests with and without snapshot and fork headers, SigV2
// ones, ambiguous framing, a line without a colon, early refusals, names
// with control characters, health checks and the admin API.
func requestHeadSeeds() [][]any {
	t := fuzzHeadTime
	req := func(method, host, path, query string, kv ...string) *AuthRequest {
		return &AuthRequest{Method: method, Host: host, RawPath: path, RawQuery: query, Header: header(kv...)}
	}
	signed := func(r *AuthRequest, names ...string) *AuthRequest {
		signHeaderV4(r, t, "us-east-1", names...)
		return r
	}
	presigned := func(r *AuthRequest, names string, q url.Values) *AuthRequest {
		presignV4(r, t, 600, names, q)
		return r
	}
	v2 := func(r *AuthRequest, sts string) *AuthRequest {
		r.Header.Set("Date", t.Format(http.TimeFormat))
		r.Header.Set("Authorization", "AWS "+exampleAccessKey+":"+signV2(exampleSecret, sts))
		return r
	}
	const host = "127.0.0.1:9000"
	return [][]any{
		headSeed(signed(req("GET", host, "/bkt/doc", ""))),
		headSeed(signed(req("GET", host, "/bkt/doc", "", "X-Tigris-Snapshot-Version", "17"),
			"host", "x-amz-content-sha256", "x-amz-date", "x-tigris-snapshot-version")),
		headSeed(signed(req("DELETE", host, "/bkt", "", "X-Tigris-Snapshot-Version", "17"),
			"host", "x-amz-content-sha256", "x-amz-date", "x-tigris-snapshot-version")),
		headSeed(signed(req("PUT", host, "/newbkt", "", "X-Tigris-Fork-Source-Bucket", "src"),
			"host", "x-amz-content-sha256", "x-amz-date", "x-tigris-fork-source-bucket")),
		headSeed(signed(req("PUT", host, "/newbkt", "", "X-Tigris-Fork-Source-Bucket-Snapshot", "17"),
			"host", "x-amz-content-sha256", "x-amz-date", "x-tigris-fork-source-bucket-snapshot")),
		headSeed(signed(req("PUT", host, "/bkt", "", "X-Tigris-Snapshot", "true; name=before"),
			"host", "x-amz-content-sha256", "x-amz-date", "x-tigris-snapshot")),
		headSeed(presigned(req("GET", host, "/bkt/doc", ""), "host", nil)),
		headSeed(presigned(req("GET", host, "/bkt/doc", ""), "host", url.Values{"X-Tigris-Snapshot-Version": {"17"}})),
		headSeed(presigned(req("GET", host, "/bkt/doc", ""), "host", nil), "X-Tigris-Snapshot-Version: 17"),
		headSeed(presigned(req("PUT", host, "/bkt/k", ""), "host", nil), "Content-Length: 6442450944", "Expect: 100-continue"),
		headSeed(presigned(req("PUT", host, "/bkt/k", ""), "host", nil), "Content-Length: 5", "X-Amz-Content-Sha256: "+emptySHA256),
		headSeed(v2(req("PUT", host, "/newbkt", "", "X-Tigris-Fork-Source-Bucket", "src"), "PUT\n\n\n"+t.Format(http.TimeFormat)+"\n/newbkt")),
		headSeed(v2(req("GET", host, "/bkt/doc", ""), "GET\n\n\n"+t.Format(http.TimeFormat)+"\n/bkt/doc")),
		headSeed(req("GET", host, "/bkt/doc", "AWSAccessKeyId="+exampleAccessKey+"&Expires=1800000000&Signature=x&X-Tigris-Snapshot-Version=17")),
		headSeed(signed(req("PUT", host, "/bkt/k", "", "Content-Length", "6442450944")), "Expect: 100-continue"),
		headSeed(signed(req("POST", host, "/_forkstore/v1/buckets/bkt/snapshots", "", "Content-Length", "10485760"))),
		headSeed(signed(req("POST", host, "/bkt", "delete", "Content-Length", "3145728"))),
		headSeed(signed(req("GET", host, "/bkt", "list-type=2&continuation-token=garbage"))),
		headSeed(signed(req("PUT", host, "/bkt/a%00b%01c", ""))),
		headSeed(signed(req("GET", "bkt.s3.example.com", "/key", ""))),
		headSeed(req("GET", host, "/health/live", ""), "Content-Length: 5", "Content-Length: 6"),
		headSeed(req("PUT", host, "/bkt/k", ""), "Content-Length: 5", "Transfer-Encoding: chunked"),
		headSeed(req("PUT", host, "/bkt/k", ""), "Transfer-Encoding: gzip"),
		headSeed(req("GET", host, "/health/live", ""), "NoColonHere"),
		headSeed(req("GET", host, "/health/ready", "")),
		headSeed(req("GET", host, "/", ""), "X-Tigris-Snapshot: bkt"),
	}
}

// FuzzRequestHead: any request head, as fasthttp parses it, goes through
// the server's head handling (framing checks, parsing, routing,
// authentication, early refusals) without a panic, and either is refused
// with a known S3 error or yields a route that routing the head again
// reproduces. An accepted signed request is refused once an unsigned
// X-Tigris-* header is added to it.
func FuzzRequestHead(f *testing.F) {
	addSeeds(f, requestHeadSeeds())
	s := fuzzHeadServer()
	head := func(method, target string, headers []byte, extra string) (*request, bool) {
		wire := method + " " + target + " HTTP/1.1\r\n" + string(headers) + extra + "\r\n"
		var fc fasthttp.RequestCtx
		if err := fc.Request.Header.Read(bufio.NewReader(strings.NewReader(wire))); err != nil {
			return nil, false // fasthttp answers it (400 or 431)
		}
		s.headerReceived(&fc.Request.Header)
		r, _ := fc.UserValue(localsKey{}).(*request)
		return r, true
	}
	f.Fuzz(func(t *testing.T, method, target string, headers []byte) {
		r, ok := head(method, target, headers, "")
		if !ok {
			return
		}
		if r == nil {
			t.Fatal("no request state after headerReceived")
		}
		if r.route.Op == OpPeer {
			return // node-to-node requests need a node (its cluster key)
		}
		if r.early != nil {
			if api, _, known := toAPIError(r.early); !known || api == ErrInternalError {
				t.Fatalf("refused with %v", r.early)
			}
			return
		}
		if again := s.router.Route(r.method, r.host, r.path, r.query, r.header); again != r.route {
			t.Fatalf("routed %+v, then %+v", r.route, again)
		}
		switch r.route.Op {
		case OpHealthLive, OpHealthReady:
			return
		}
		if r.auth == nil {
			t.Fatalf("%s accepted without authentication", r.route.Op)
		}
		if r2, ok := head(method, target, headers, "X-Tigris-Snapshot-Version: 1\r\n"); ok && r2 != nil && r2.early == nil {
			t.Fatalf("accepted with an unsigned X-Tigris-Snapshot-Version added (%s)", r2.route.Op)
		}
	})
}
