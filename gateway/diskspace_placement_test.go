package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forkstore/forkstore/meta"
	"github.com/forkstore/forkstore/raft"
)

// peerNode is a member's chunk store behind the peer chunk PUT, as a node
// serves it (s3api answers ErrStorageFull with 507).
type peerNode struct {
	svc  *Service
	srv  *httptest.Server
	puts atomic.Int64
}

func newPeerNode(t *testing.T, key string) *peerNode {
	t.Helper()
	p := &peerNode{svc: &Service{node: &Node{
		cfg:    Config{ClusterKey: key},
		chunks: openTestChunkStore(t),
		disk:   newDiskGuard(t.TempDir(), MinFreeSpace{}, slog.New(slog.NewTextHandler(io.Discard, nil))),
	}}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.puts.Add(1)
		// Placement is under test here, not the peer signature (cluster_test.go).
		size, crc, ok := ParseChunkDigest(r.URL.Query().Get("digest"))
		if !ok {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		err := p.svc.ReceiveChunk(r.Context(), strings.TrimPrefix(r.URL.Path, PeerPrefix+"chunks/"), size, crc, r.Header.Get(hdrPeerBody), r.Body)
		switch {
		case errors.Is(err, ErrStorageFull):
			w.WriteHeader(http.StatusInsufficientStorage)
		case err != nil:
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// TestPlacementSkipsFullMember: in a cluster of 4 with 3 copies per chunk,
// a holder whose disk is low refuses its copy with 507; the writer places
// it on the next member in placement order instead, the upload still gets
// its copies, and the next chunks are placed without the full member (no
// request reaches it) until it has had time to free space.
func TestPlacementSkipsFullMember(t *testing.T) {
	const key = "0123456789abcdef-key"
	n := &Node{
		cfg:    Config{ClusterKey: key, Replicas: 3, Raft: raft.Config{NodeID: 1}},
		log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		chunks: openTestChunkStore(t),
	}
	c := newCluster(n)
	peers := map[uint64]*peerNode{}
	ms := []member{{ID: 1}}
	for id := uint64(2); id <= 4; id++ {
		peers[id] = newPeerNode(t, key)
		ms = append(ms, member{ID: id, S3Addr: strings.TrimPrefix(peers[id].srv.URL, "http://")})
	}
	// A chunk of which this node (1) is one of the 3 holders: the other
	// two holders and one spare member.
	var ch meta.Chunk
	var holders []member
	var spare member
	for {
		w, err := n.chunks.Create()
		if err != nil {
			t.Fatal(err)
		}
		w.Write(randBytes(uint64(time.Now().UnixNano()), 1000))
		if ch, err = w.Commit(); err != nil {
			t.Fatal(err)
		}
		order := placement(ms, ch.ID)
		if order[3].ID != 1 {
			holders, spare = order[:3], order[3]
			break
		}
	}
	var full, other uint64
	for _, m := range holders {
		if m.ID != 1 {
			if full == 0 {
				full = m.ID
			} else {
				other = m.ID
			}
		}
	}
	peers[full].svc.node.disk.low.Store(true)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep := &replication{c: c, ms: ms}
	rep.add(ch)
	if err := rep.wait(ctx); err != nil {
		t.Fatalf("upload with a full holder: %v", err)
	}
	rep.wg.Wait() // the copies beyond the majority too
	if peers[full].svc.node.chunks.Has(ch.ID) {
		t.Errorf("the full member %d stored a copy", full)
	}
	for _, id := range []uint64{other, spare.ID} {
		if !peers[id].svc.node.chunks.Has(ch.ID) {
			t.Errorf("member %d has no copy (full member %d, spare %d)", id, full, spare.ID)
		}
	}
	if !c.isFull(full) {
		t.Fatalf("member %d answered 507 but is not marked full", full)
	}

	// The next chunks leave the full member out without asking it.
	asked := peers[full].puts.Load()
	for range 8 {
		w, err := n.chunks.Create()
		if err != nil {
			t.Fatal(err)
		}
		w.Write(randBytes(uint64(time.Now().UnixNano()), 1000))
		ch, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		rep := &replication{c: c, ms: ms}
		rep.add(ch)
		if err := rep.wait(ctx); err != nil {
			t.Fatalf("upload while member %d is full: %v", full, err)
		}
		rep.wg.Wait()
	}
	if got := peers[full].puts.Load(); got != asked {
		t.Errorf("the full member was sent %d more copies", got-asked)
	}
}
