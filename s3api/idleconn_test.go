package s3api

import (
	"bufio"
	"net"
	"net/http"
	"runtime"
	"testing"
)

// TestIdleConnectionsHoldNoBuffers: keep-alive connections waiting for
// their next request do not each keep a request-head buffer (64 KiB) and a
// response buffer: 400 of them take well under 32 KiB of heap and stack
// each (about 7 KiB measured, 82 KiB when fasthttp kept the buffers).
func TestIdleConnectionsHoldNoBuffers(t *testing.T) {
	ls := newLiveServer(t)
	const n = 400
	mem := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse + m.StackInuse
	}
	before := mem()
	for range n {
		c, err := net.Dial("tcp", ls.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write([]byte("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("health: %s", resp.Status)
		}
	}
	after := mem()
	per := (int64(after) - int64(before)) / n
	t.Logf("%d bytes per idle keep-alive connection", per)
	if per > 32<<10 {
		t.Fatalf("%d bytes per idle keep-alive connection, want under 32 KiB", per)
	}
}
