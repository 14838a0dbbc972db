package s3api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/certs/certstest"
	"github.com/forkstore/forkstore/meta"
)

// Hostile clients on the wire: what reaches the server's port before any
// S3 semantics (docs/security.md, "Limits").

// servedTestServer is newTestServer with cfg changed by mutate, serving on
// a loopback port: for tests of the connection itself.
func servedTestServer(t *testing.T, mutate func(*Config), ln net.Listener) (*Server, string, *logSink) {
	t.Helper()
	sink := &logSink{t: t}
	cfg := DefaultConfig()
	cfg.Region = testRegion
	cfg.AccessLog = true
	if mutate != nil {
		mutate(&cfg)
	}
	s := New(cfg, &gateway.Service{}, slog.New(slog.NewTextHandler(sink, nil)))
	s.auth.Secret = func(k string) (string, bool) { return testSecretKey, k == testAccessKey }
	s.principal = func(_ context.Context, k string) (*gateway.Principal, bool) {
		return &gateway.Principal{AccessKey: k, Root: true}, k == testAccessKey
	}
	s.ready = func(context.Context) error { return nil }
	s.bucketAccess = func(context.Context, gateway.GetObjectInput) (*meta.Bucket, *meta.Object, error) {
		return nil, nil, meta.ErrNoSuchBucket
	}
	s.bucketOwner = nil
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after Shutdown")
		}
	})
	return s, ln.Addr().String(), sink
}

// dial opens a connection with a generous overall deadline.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// readResponse reads one response (body included) from br.
func readResponse(t *testing.T, br *bufio.Reader) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, body
}

// wantClosed asserts that the server closes c (EOF, not a reset) within
// the deadline, sending nothing more.
func wantClosed(t *testing.T, br *bufio.Reader, within time.Duration) {
	t.Helper()
	start := time.Now()
	b, err := br.ReadByte()
	switch {
	case err == nil:
		rest, _ := br.Peek(br.Buffered())
		t.Fatalf("got %q after the answer, want the connection closed", append([]byte{b}, rest...))
	case !errors.Is(err, io.EOF):
		t.Fatalf("connection ended with %v, want a clean close (EOF)", err)
	case time.Since(start) > within:
		t.Fatalf("closed after %v, want within %v", time.Since(start), within)
	}
}

// wantS3Error asserts the status and S3 code of a response body.
func wantS3Error(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || !bytes.Contains(body, []byte("<Code>"+code+"</Code>")) {
		t.Fatalf("got %d %q, want %d %s", resp.StatusCode, body, status, code)
	}
}

// flakyListener fails its first accepts as a process out of file
// descriptors does.
type flakyListener struct {
	net.Listener
	fail atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fail.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestAcceptErrorsKeepServing: accept failing with EMFILE ("too many open
// files") must not end Serve: the server backs off and serves the
// connection once accept works again.
func TestAcceptErrorsKeepServing(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &flakyListener{Listener: inner}
	ln.fail.Store(8)
	_, addr, sink := servedTestServer(t, nil, ln)
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get("http://" + addr + "/health/live")
	if err != nil {
		t.Fatalf("after failed accepts: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !strings.Contains(sink.String(), "too many open files") {
		t.Errorf("no warning about the failed accepts in the log:\n%s", sink)
	}
}

// TestIdleConnectionClosed: a connection that sends nothing is closed
// after IdleTimeout, silently (no answer, no access line); so is a
// keep-alive connection idle after a request.
func TestIdleConnectionClosed(t *testing.T) {
	_, addr, sink := servedTestServer(t, func(c *Config) { c.IdleTimeout = 300 * time.Millisecond }, nil)
	c := dial(t, addr)
	wantClosed(t, bufio.NewReader(c), 10*time.Second)
	if strings.Contains(sink.String(), "msg=request") {
		t.Errorf("an idle connection was logged as a request:\n%s", sink)
	}

	c = dial(t, addr)
	fmt.Fprintf(c, "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	if resp, _ := readResponse(t, br); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	wantClosed(t, br, 10*time.Second)
}

// TestSlowHeaderClosed: a client that dribbles its head (a header line
// every 50 ms, forever) gets 408 RequestTimeout after HeaderTimeout and
// the connection is closed.
func TestSlowHeaderClosed(t *testing.T) {
	_, addr, _ := servedTestServer(t, func(c *Config) { c.HeaderTimeout = 500 * time.Millisecond }, nil)
	c := dial(t, addr)
	go func() {
		fmt.Fprintf(c, "GET /health/live HTTP/1.1\r\nHost: x\r\n")
		for i := 0; i < 400; i++ { // 20 s at most
			if _, err := fmt.Fprintf(c, "X-Slow-%d: a\r\n", i); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	start := time.Now()
	br := bufio.NewReader(c)
	resp, body := readResponse(t, br)
	wantS3Error(t, resp, body, 400, "RequestTimeout")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("answered after %v", d)
	}
	wantClosed(t, br, 10*time.Second)
}

// TestHeaderLineWithoutColon: a head with a line that is not a header
// field is answered 400 at once, and the connection is closed.
func TestHeaderLineWithoutColon(t *testing.T) {
	_, addr, _ := servedTestServer(t, nil, nil)
	for _, head := range []string{
		"GET /health/live HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
		"GET /health/live HTTP/1.1\r\nNoColonHere\r\n\r\n",
		"GET /health/live HTTP/1.1\nHost: x\nNoColonHere\n\n",
	} {
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, _ := readResponse(t, br)
		if resp.StatusCode != 400 {
			t.Errorf("%q: status %d, want 400", head, resp.StatusCode)
		}
		wantClosed(t, br, 5*time.Second)
	}
}

// TestConflictingFraming: RFC 9112 section 6: a request with differing
// Content-Length values, or with Content-Length and Transfer-Encoding, or
// a transfer coding other than chunked, cannot be framed safely (behind a
// proxy that frames it otherwise, the rest would be read as another
// request): 400 (501 for an unknown coding), and the connection closed.
func TestConflictingFraming(t *testing.T) {
	_, addr, _ := servedTestServer(t, nil, nil)
	cases := []struct {
		name   string
		head   string
		status int
	}{
		{"differing Content-Length", "Content-Length: 5\r\nContent-Length: 6\r\n", 400},
		{"differing Content-Length, other order", "Content-Length: 6\r\nContent-Length: 5\r\n", 400},
		{"differing Content-Length, the last 0", "Content-Length: 5\r\nContent-Length: 0\r\n", 400},
		{"Content-Length and chunked", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", 400},
		{"chunked and Content-Length", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", 400},
		{"two Transfer-Encoding lines", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", 400},
		{"unknown coding", "Transfer-Encoding: gzip\r\n", 501},
		{"coding list", "Transfer-Encoding: gzip, chunked\r\n", 501},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			fmt.Fprintf(c, "GET /health/live HTTP/1.1\r\nHost: x\r\n%s\r\nhello\r\n0\r\n\r\nGET /health/live HTTP/1.1\r\nHost: x\r\n\r\n", tc.head)
			br := bufio.NewReader(c)
			resp, _ := readResponse(t, br)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			wantClosed(t, br, 5*time.Second)
		})
	}
	t.Run("repeated identical Content-Length", func(t *testing.T) {
		c := dial(t, addr)
		fmt.Fprintf(c, "GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello")
		if resp, _ := readResponse(t, bufio.NewReader(c)); resp.StatusCode != 200 {
			t.Fatalf("status %d, want 200", resp.StatusCode)
		}
	})
}

// rawHead renders the request line and headers of req (signed), with
// extra header lines, without its body.
func rawHead(req *http.Request, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", req.Method, req.URL.RequestURI(), req.Host)
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

// signedPut returns a PUT of target signed with secret (UNSIGNED-PAYLOAD)
// declaring size bytes.
func signedPut(target, secret string, size int64) *http.Request {
	req := httptest.NewRequest("PUT", "http://127.0.0.1:9000"+target, http.NoBody)
	req.ContentLength = size
	req.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
	req.Header.Set("Content-Length", fmt.Sprint(size))
	return signer.SignV4(*req, testAccessKey, secret, "", testRegion)
}

// TestExpectContinueRefusedEarly: with Expect: 100-continue, a request
// whose signature or declared size already fails is answered with its
// error and no 100 Continue (the client never sends the body), and the
// connection is closed.
func TestExpectContinueRefusedEarly(t *testing.T) {
	_, addr, _ := servedTestServer(t, nil, nil)
	cases := []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"bad signature", signedPut("/bkt/k", "wrong-secret", 10), 403, "SignatureDoesNotMatch"},
		{"6 GiB PutObject", signedPut("/bkt/k", testSecretKey, 6<<30), 400, "EntityTooLarge"},
		{"6 GiB UploadPart", signedPut("/bkt/k?partNumber=1&uploadId=u", testSecretKey, 6<<30), 400, "EntityTooLarge"},
		// Unsigned, an operation no ACL grants, on a bucket that has no
		// policy (this server has no node).
		{"unsigned", func() *http.Request {
			r := httptest.NewRequest("PUT", "http://127.0.0.1:9000/bkt/k?tagging", http.NoBody)
			r.Header.Set("Content-Length", "10")
			return r
		}(), 403, "AccessDenied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			io.WriteString(c, rawHead(tc.req, "Expect: 100-continue"))
			br := bufio.NewReader(c)
			line, err := br.Peek(12)
			if err != nil {
				t.Fatal(err)
			}
			if string(line) != fmt.Sprintf("HTTP/1.1 %d", tc.status) {
				t.Fatalf("first answer %q, want %d without 100 Continue", line, tc.status)
			}
			resp, body := readResponse(t, br)
			wantS3Error(t, resp, body, tc.status, tc.code)
			wantClosed(t, br, 5*time.Second)
		})
	}
}

// TestEarlyRefusalReachesClient: a request refused from its head while its
// body is on the way (a PutObject declaring 6 GiB, an admin request of 10
// MB, a DeleteObjects beyond the document limit) gets its error, and the
// connection is then closed cleanly (EOF, not a reset) although the client
// is still sending.
func TestEarlyRefusalReachesClient(t *testing.T) {
	_, addr, _ := servedTestServer(t, nil, nil)
	post := func(target string, size int64) *http.Request {
		req := signedPut(target, testSecretKey, size)
		req.Method = "POST"
		return signer.SignV4(*req, testAccessKey, testSecretKey, "", testRegion)
	}
	cases := []struct {
		name    string
		req     *http.Request
		status  int
		code    string
		sending int64 // bytes the client sends before it reads
	}{
		{"6 GiB PutObject", signedPut("/bkt/k", testSecretKey, 6<<30), 400, "EntityTooLarge", 8 << 20},
		{"10 MB admin request", post("/_forkstore/v1/buckets/bkt/snapshots", 10<<20), 400, "InvalidRequest", 8 << 20},
		{"DeleteObjects beyond the limit", post("/bkt?delete", 3<<20), 400, "MaxMessageLengthExceeded", 3 << 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			go func() {
				io.WriteString(c, rawHead(tc.req))
				chunk := bytes.Repeat([]byte("x"), 64<<10)
				for sent := int64(0); sent < tc.sending; sent += int64(len(chunk)) {
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
			}()
			br := bufio.NewReader(c)
			resp, body := readResponse(t, br)
			if resp.StatusCode != tc.status || !bytes.Contains(body, []byte(tc.code)) {
				t.Fatalf("got %d %q, want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
			if !resp.Close {
				t.Errorf("no Connection: close")
			}
			wantClosed(t, br, 10*time.Second)
		})
	}
}

// TestConnectionCap: at MaxConnections, a new connection takes the place
// of the one that has waited longest for a request; when every connection
// is busy, it is answered 503 SlowDown and closed.
func TestConnectionCap(t *testing.T) {
	_, addr, _ := servedTestServer(t, func(c *Config) { c.MaxConnections = 4 }, nil)
	var idle []*bufio.Reader
	for i := 0; i < 4; i++ {
		idle = append(idle, bufio.NewReader(dial(t, addr)))
	}
	c := dial(t, addr)
	fmt.Fprintf(c, "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := readResponse(t, bufio.NewReader(c)); resp.StatusCode != 200 {
		t.Fatalf("at the cap with idle connections: status %d", resp.StatusCode)
	}
	wantClosed(t, idle[0], 10*time.Second)

	// Two connections busy reading a head (not evictable), then one more.
	s, addr, _ := servedTestServer(t, func(c *Config) { c.MaxConnections = 2 }, nil)
	for i := 0; i < 2; i++ {
		fmt.Fprintf(dial(t, addr), "GET /health/live HTTP/1.1\r\n")
	}
	waitFor(t, 20*time.Second, "two busy connections", func() bool {
		l := s.ln.Load()
		if l == nil {
			return false // Serve has not started yet
		}
		open, waiting := l.counts()
		return open == 2 && waiting == 0
	})
	n := dial(t, addr)
	fmt.Fprintf(n, "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(n)
	resp, body := readResponse(t, br)
	wantS3Error(t, resp, body, 503, "SlowDown")
	wantClosed(t, br, 10*time.Second)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTLSConnectionLimits: over TLS the limits hold the same way (the
// listener wraps the TLS connections): a client that never sends its
// ClientHello is closed after IdleTimeout, one stuck in its handshake
// makes room at the cap, and requests are served as TLS requests.
func TestTLSConnectionLimits(t *testing.T) {
	ca := certstest.NewCA(t, "limits CA")
	issued := ca.Issue(t, "127.0.0.1")
	cert, err := tls.X509KeyPair(issued.CertPEM, issued.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	s, addr, _ := servedTestServer(t, func(c *Config) {
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		c.IdleTimeout = 500 * time.Millisecond
		c.MaxConnections = 2
	}, nil)
	sawTLS := make(chan bool, 1)
	s.handlers[OpHealthLive] = func(r *request) (*response, error) {
		sawTLS <- r.c.Context().IsTLS()
		return &response{}, nil
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	// Two connections that never start their handshake fill the cap; a
	// real client still gets in, and is seen as TLS.
	silent := []*bufio.Reader{bufio.NewReader(dial(t, addr)), bufio.NewReader(dial(t, addr))}
	resp, err := client.Get("https://" + addr + "/health/live")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !<-sawTLS {
		t.Fatalf("status %d over TLS", resp.StatusCode)
	}
	for _, br := range silent {
		wantClosed(t, br, 10*time.Second)
	}
}
