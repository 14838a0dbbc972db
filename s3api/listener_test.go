package s3api

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
	"github.com/valyala/fasthttp"

	"github.com/forkstore/forkstore/gateway"
)

// TestHeadScanner: the end of a request head is found across reads,
// with CRLF or bare LF line ends, after leading empty lines.
func TestHeadScanner(t *testing.T) {
	for _, tc := range []struct {
		in    string
		ended bool
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"GET / HTTP/1.1\nHost: x\n\n", true},
		{"GET / HTTP/1.1\r\n\r\n", true},
		{"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n", false},
		{"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"GET / HTTP/1.1\r\nHost: x\r\n", false},
		{"GET / HTTP/1.1\r\nHost: x\r\nBad\r\n\r\n", true},
		{"GET / HTTP/1.1\r\nA: \r\r\n", false},
	} {
		for split := 1; split <= len(tc.in); split++ {
			var h headScanner
			for p := []byte(tc.in); len(p) > 0; {
				n := min(split, len(p))
				h.scan(p[:n])
				p = p[n:]
			}
			if h.ended != tc.ended {
				t.Errorf("%q in pieces of %d: ended %v, want %v", tc.in, split, h.ended, tc.ended)
			}
		}
	}
}

// pipeConn returns a listener connection over one end of a synchronous
// pipe, with the given limits, and the other end.
func pipeConn(t *testing.T, lim connLimits) (*conn, net.Conn) {
	t.Helper()
	a, b := net.Pipe()
	l := &listener{lim: lim, conns: map[*conn]struct{}{}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c := newConn(a, l)
	l.conns[c] = struct{}{}
	t.Cleanup(func() { c.Close(); b.Close() })
	return c, b
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// TestConnDeadlines: a connection waits IdleTimeout for a request's first
// byte, then HeaderTimeout for the rest of the head.
func TestConnDeadlines(t *testing.T) {
	c, _ := pipeConn(t, connLimits{idle: 200 * time.Millisecond, header: time.Hour, window: time.Hour, windowBytes: 1})
	start := time.Now()
	if _, err := c.Read(make([]byte, 10)); !isTimeout(err) || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("idle: %v after %v", err, time.Since(start))
	}
	if !c.waiting() {
		t.Error("a connection that got nothing is not waiting")
	}

	c, peer := pipeConn(t, connLimits{idle: time.Hour, header: 200 * time.Millisecond, window: time.Hour, windowBytes: 1})
	go peer.Write([]byte("G"))
	buf := make([]byte, 10)
	if n, err := c.Read(buf); n != 1 || err != nil {
		t.Fatalf("first byte: %d %v", n, err)
	}
	if c.waiting() {
		t.Error("a connection reading a head is waiting")
	}
	start = time.Now()
	if _, err := c.Read(buf); !isTimeout(err) || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("header: %v after %v", err, time.Since(start))
	}
}

// TestConnBodyRate: a body may be slow, but must move windowBytes in every
// window, in either direction; faster ones are never cut.
func TestConnBodyRate(t *testing.T) {
	lim := connLimits{idle: time.Hour, header: time.Hour, window: 500 * time.Millisecond, windowBytes: 1000}

	t.Run("stalled upload", func(t *testing.T) {
		c, peer := pipeConn(t, lim)
		c.startBody()
		go peer.Write(make([]byte, 10))
		n, err := io.ReadFull(c, make([]byte, 100))
		if !isTimeout(err) || n != 10 {
			t.Fatalf("read %d, %v; want a timeout after 10 bytes", n, err)
		}
	})
	t.Run("steady upload", func(t *testing.T) {
		c, peer := pipeConn(t, lim)
		c.startBody()
		const total = 200 << 10 // 40 windows' worth, sent in 2 KiB pieces
		go func() {
			for sent := 0; sent < total; sent += 2048 {
				if _, err := peer.Write(make([]byte, 2048)); err != nil {
					return
				}
			}
		}()
		if n, err := io.ReadFull(c, make([]byte, total)); err != nil {
			t.Fatalf("read %d: %v", n, err)
		}
	})
	t.Run("reader that stops", func(t *testing.T) {
		c, _ := pipeConn(t, lim)
		c.startBody()
		n, err := c.Write(make([]byte, 1<<20))
		if !isTimeout(err) || n != 0 {
			t.Fatalf("wrote %d, %v; want a timeout", n, err)
		}
	})
	t.Run("steady reader", func(t *testing.T) {
		c, peer := pipeConn(t, lim)
		c.startBody()
		go io.Copy(io.Discard, peer)
		if _, err := c.Write(make([]byte, 1<<20)); err != nil {
			t.Fatal(err)
		}
	})
}

// TestHeaderReceivedCtx: ctxOfHeader finds the RequestCtx fasthttp hands
// the handler: HeaderReceived and the handler see the same request.
func TestHeaderReceivedCtx(t *testing.T) {
	s, addr, _ := servedTestServer(t, nil, nil)
	seen := make(chan *fasthttp.RequestCtx, 4)
	inner := s.app.Server().HeaderReceived
	s.app.Server().HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		fc := ctxOfHeader(h)
		if unsafe.Pointer(&fc.Request.Header) != unsafe.Pointer(h) {
			t.Error("ctxOfHeader does not invert &ctx.Request.Header")
		}
		seen <- fc
		return inner(h)
	}
	s.handlers[OpHealthLive] = func(r *request) (*response, error) {
		if got := <-seen; got != r.c.Context() {
			t.Errorf("HeaderReceived saw ctx %p, the handler %p", got, r.c.Context())
		}
		return &response{}, nil
	}
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		fmt.Fprintf(c, "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, _ := readResponse(t, br); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// liveTransportServer is a served Server on a real single-node gateway,
// with cfg changed by mutate and a bucket "bkt".
func liveTransportServer(t *testing.T, mutate func(*Config)) (*Server, string) {
	t.Helper()
	ls := newLiveServerConfig(t, mutate)
	if err := ls.mc.MakeBucket(t.Context(), "bkt", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return ls.s, ls.addr
}

// TestExpectContinueUpload: a PutObject with Expect: 100-continue that
// passes its head's checks gets 100 Continue, then its answer.
func TestExpectContinueUpload(t *testing.T) {
	_, addr := liveTransportServer(t, nil)
	body := bytes.Repeat([]byte("e"), 100<<10)
	c := dial(t, addr)
	io.WriteString(c, rawHead(signedPut("/bkt/expect", testSecretKey, int64(len(body))), "Expect: 100-continue"))
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	if blank, _ := br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("after 100 Continue: %q", blank)
	}
	c.Write(body)
	if resp, b := readResponse(t, br); resp.StatusCode != 200 {
		t.Fatalf("status %d %s", resp.StatusCode, b)
	}
	req := signer.SignV4(*mustRequest(t, "GET", "http://"+addr+"/bkt/expect"), testAccessKey, testSecretKey, "", testRegion)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got, _ := io.ReadAll(resp.Body); !bytes.Equal(got, body) {
		t.Fatalf("read back %d bytes", len(got))
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
	return req
}

// TestSlowBodyRequestTimeout: an upload that stops sending is answered
// 400 RequestTimeout once a window passes without MinBodyRate, nothing is
// stored, and the connection is closed.
func TestSlowBodyRequestTimeout(t *testing.T) {
	s, addr := liveTransportServer(t, func(c *Config) {
		c.MinBodyRate, c.BodyRateWindow = 1000, 500*time.Millisecond
	})
	c := dial(t, addr)
	io.WriteString(c, rawHead(signedPut("/bkt/slow", testSecretKey, 1<<20)))
	c.Write(make([]byte, 10<<10)) // then nothing
	br := bufio.NewReader(c)
	resp, body := readResponse(t, br)
	wantS3Error(t, resp, body, 400, "RequestTimeout")
	wantClosed(t, br, 10*time.Second)
	if _, err := s.svc.HeadObject(t.Context(), gateway.GetObjectInput{Bucket: "bkt", Key: "slow"}); err == nil {
		t.Error("the object was stored")
	}
}

// TestStalledReaderClosed: a GET whose client stops reading is closed
// once a window passes without MinBodyRate: the connection does not stay
// open, holding the object, forever.
func TestStalledReaderClosed(t *testing.T) {
	s, addr := liveTransportServer(t, func(c *Config) {
		c.MinBodyRate, c.BodyRateWindow = 1000, 500*time.Millisecond
	})
	big := make([]byte, 64<<20)
	req, err := http.NewRequest("PUT", "http://"+addr+"/bkt/big", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
	req = signer.SignV4(*req, testAccessKey, testSecretKey, "", testRegion)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	c := dial(t, addr)
	c.(*net.TCPConn).SetReadBuffer(4 << 10)
	get := signer.SignV4(*mustRequest(t, "GET", "http://"+addr+"/bkt/big"), testAccessKey, testSecretKey, "", testRegion)
	io.WriteString(c, rawHead(get))
	// Read nothing until the server has given up on the connection (the
	// only one not waiting for a request).
	busy := func() bool {
		l := s.ln.Load()
		if l == nil {
			return false // Serve has not started yet
		}
		open, waiting := l.counts()
		return open > waiting
	}
	waitFor(t, 20*time.Second, "the GET being answered", busy)
	waitFor(t, 20*time.Second, "the stalled connection closed", func() bool { return !busy() })
	// The rest of the answer was dropped (a reset), not left queued for
	// a reader that may never come back.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, c)
	if !errors.Is(err, syscall.ECONNRESET) || n >= int64(len(big)) {
		t.Fatalf("read %d bytes, %v; want part of the object, then a reset", n, err)
	}
}
