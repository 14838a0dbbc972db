package harness

import (
	"net"
	"strconv"
	"testing"
)

// TestFreePort: the address is on loopback, below the ephemeral range the
// kernel takes outgoing connections' ports from, and can be listened on.
func TestFreePort(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		addr, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := strconv.Atoi(port)
		if host != "127.0.0.1" || p < freePortMin || p >= freePortMax {
			t.Fatalf("FreePort gave %s, want 127.0.0.1 and a port in [%d, %d)", addr, freePortMin, freePortMax)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen on %s: %v", addr, err)
		}
		l.Close()
		seen[addr] = true
	}
	if len(seen) < 10 {
		t.Fatalf("20 calls gave only %d addresses", len(seen))
	}
}
