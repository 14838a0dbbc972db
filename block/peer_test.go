package block

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Reach counts any HTTP answer as a live member, a refusal included (an
// older version without ping answers 404), and only a request that gets
// no answer as a failure.
func TestReach(t *testing.T) {
	p := NewPeer(1, testClusterKey, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, status := range []int{http.StatusNoContent, http.StatusNotFound, http.StatusServiceUnavailable} {
		var path string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			path = r.URL.Path
			w.WriteHeader(status)
		}))
		addr := strings.TrimPrefix(srv.URL, "http://")
		if err := p.Reach(ctx, Member{ID: 2, Addr: addr}); err != nil {
			t.Errorf("a member answering %d: %v", status, err)
		}
		if path != PeerPrefix+"ping" {
			t.Errorf("asked %q, want %q", path, PeerPrefix+"ping")
		}
		srv.Close()
		if err := p.Reach(ctx, Member{ID: 2, Addr: addr}); err == nil {
			t.Errorf("a member no longer listening (it answered %d before): no error", status)
		}
	}
	// A member that accepts the connection and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	if err := p.Reach(short, Member{ID: 2, Addr: ln.Addr().String()}); err == nil {
		t.Error("a member that never answers: no error")
	}
}
