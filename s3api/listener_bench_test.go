package s3api

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// Benchmarks of what the connection limits add to every request: the
// deadlines a request's phases set (listener.go) and the framing check of
// its head (head.go).

// benchHead is a typical signed PutObject head.
const benchHead = "PUT /bucket/some/key.bin HTTP/1.1\r\n" +
	"Host: 127.0.0.1:9000\r\n" +
	"User-Agent: MinIO (linux; amd64) minio-go/v7.4.1\r\n" +
	"Content-Length: 4096\r\n" +
	"Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240203/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"X-Amz-Content-Sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n" +
	"X-Amz-Date: 20240203T040506Z\r\n" +
	"Accept-Encoding: gzip\r\n\r\n"

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(b *testing.B) (client, server net.Conn) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	if server, err = ln.Accept(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// benchConn is a listener connection over server with the default limits.
func benchConn(server net.Conn) *conn {
	l := &listener{conns: map[*conn]struct{}{}, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		lim: connLimits{idle: time.Minute, header: 20 * time.Second, window: time.Minute, windowBytes: 60 << 10}}
	return &conn{Conn: server, l: l}
}

// BenchmarkConnRequest: one keep-alive request's exchange over loopback
// (read a head, write an answer), through a plain TCP connection and
// through the listener's connection with its phase changes, deadlines and
// head scan. The difference is the per-request cost of the limits.
func BenchmarkConnRequest(b *testing.B) {
	answer := []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nServer: forkstore\r\n\r\n")
	for _, wrapped := range []bool{false, true} {
		name := "plain"
		if wrapped {
			name = "limits"
		}
		b.Run(name, func(b *testing.B) {
			client, server := tcpPair(b)
			var c *conn
			var nc net.Conn = server
			if wrapped {
				c = benchConn(server)
				c.startHead()
				nc = c
			}
			head := []byte(benchHead)
			buf := make([]byte, 4096)
			reply := make([]byte, len(answer))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.Write(head); err != nil {
					b.Fatal(err)
				}
				for got := 0; got < len(head); {
					n, err := nc.Read(buf)
					if err != nil {
						b.Fatal(err)
					}
					got += n
				}
				if c != nil {
					c.startBody()
					c.responding()
				}
				if _, err := nc.Write(answer); err != nil {
					b.Fatal(err)
				}
				if c != nil {
					c.startHead()
				}
				if _, err := io.ReadFull(client, reply); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkConnPhases: the connection's own work for one keep-alive
// request, without the I/O: waiting for a request, its first byte, the
// head scan, the body, the answer's write deadline. The baseline is what
// fasthttp did for a keep-alive request before (an idle deadline, then
// none once the first byte arrived).
func BenchmarkConnPhases(b *testing.B) {
	_, server := tcpPair(b)
	head := []byte(benchHead)
	b.Run("fasthttp-idle-deadline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			server.SetReadDeadline(time.Now().Add(time.Minute))
			server.SetReadDeadline(time.Time{})
		}
	})
	b.Run("limits", func(b *testing.B) {
		c := benchConn(server)
		b.ReportAllocs()
		for b.Loop() {
			c.startHead()
			c.gotByte.Store(true)
			c.head.scan(head) // whole: no header deadline
			c.startBody()     // no body read: no body deadline
			c.responding()
			c.armWrite()
		}
	})
}

// BenchmarkCheckFraming: the RFC 9112 framing check of a typical head.
func BenchmarkCheckFraming(b *testing.B) {
	raw := []byte(benchHead[strings.Index(benchHead, "\r\n")+2:])
	b.ReportAllocs()
	for b.Loop() {
		if err := checkFraming(raw); err != nil {
			b.Fatal(err)
		}
	}
}
