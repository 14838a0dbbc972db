package s3api

import (
	"bytes"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/forkstore/forkstore/gateway/gatewaytest"
)

// countingListener counts the Write calls on the connections it accepts:
// each is a write system call of the server.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, writes: l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestSmallGETOneWrite: the answer to a GET of a 4 KiB object (kept
// inline, the default --inline-max) leaves in one write, head and body
// together; with fasthttp's default 4 KiB write buffer it took two.
func TestSmallGETOneWrite(t *testing.T) {
	var writes atomic.Int64
	ls := startLiveServerOn(t, gatewaytest.NewNode(t, gatewaytest.Config(t)), nil, func(ln net.Listener) net.Listener {
		return countingListener{Listener: ln, writes: &writes}
	})
	ctx := t.Context()
	if err := ls.mc.MakeBucket(ctx, "small", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := randBytes(4<<10, 7)
	if _, err := ls.mc.PutObject(ctx, "small", "k", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		before := writes.Load()
		resp, got := ls.raw(t, http.MethodGet, "/small/k", nil, nil)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
			t.Fatalf("GET %d: %s, %d bytes", i, resp.Status, len(got))
		}
		if n := writes.Load() - before; n != 1 {
			t.Errorf("GET %d of 4 KiB: %d writes, want 1", i, n)
		}
	}
}
