package block

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// Rendezvous placement: every node computes the same holders for a chunk,
// chunks spread evenly, and adding a member moves only the chunks that the
// new member takes (about R/N of them), never between old members.
func TestPlacementStableAndBalanced(t *testing.T) {
	three := []Member{{ID: 1}, {ID: 2}, {ID: 3}}
	four := append(three[:3:3], Member{ID: 4})
	const n = 4000
	load := map[uint64]int{}
	moved := 0
	for i := range n {
		id := fmt.Sprintf("%032x", i*7919)
		before := placement(three, id)[:3]
		after := placement(four, id)[:3]
		for _, m := range after {
			load[m.ID]++
		}
		inAfter := map[uint64]bool{}
		for _, m := range after {
			inAfter[m.ID] = true
		}
		lost := 0
		for _, m := range before {
			if !inAfter[m.ID] {
				lost++
			}
		}
		if lost > 1 || (lost == 1 && !inAfter[4]) {
			t.Fatalf("chunk %s: holders %v -> %v: a move not caused by the new member", id, before, after)
		}
		moved += lost
		again := placement([]Member{{ID: 4}, {ID: 2}, {ID: 3}, {ID: 1}}, id)[:3]
		for j := range after {
			if after[j].ID != again[j].ID {
				t.Fatalf("placement depends on member order: %v vs %v", after, again)
			}
		}
	}
	for id, l := range load {
		if want := n * 3 / 4; l < want*9/10 || l > want*11/10 {
			t.Errorf("node %d holds %d chunks, want about %d", id, l, want)
		}
	}
	if want := n * 3 / 4; moved < want*8/10 || moved > want*12/10 {
		t.Errorf("%d chunk copies moved to the new node, want about %d", moved, want)
	}
}

// peerNode is a member's chunk store behind the peer chunk PUT, as a node
// serves it (s3api answers ErrStorageFull with 507).
type peerNode struct {
	m    *Manager
	low  atomic.Bool // the disk watch says the disk is low
	srv  *httptest.Server
	puts atomic.Int64
	got  atomic.Int64 // bytes of chunk copies read so far
}

// countingBody counts what a chunk copy's receiver has read.
type countingBody struct {
	r io.Reader
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func newPeerNode(t *testing.T) *peerNode {
	t.Helper()
	p := &peerNode{}
	p.m = New(Config{Store: openTestStore(t), Peer: NewPeer(0, testClusterKey, nil), Refuse: func() error {
		if p.low.Load() {
			return fmt.Errorf("%w: low", ErrStorageFull)
		}
		return nil
	}}, Member{})
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			// A chunk read (a GET on another node that lacks it).
			size, crc, ok := ParseChunkDigest(r.URL.Query().Get("digest"))
			ch := meta.Chunk{ID: strings.TrimPrefix(r.URL.Path, PeerPrefix+"chunks/"), Size: size, CRC32C: crc}
			f, err := p.m.Store().Open(ch, 0, size)
			if !ok || err != nil {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			defer f.Close()
			io.Copy(w, f)
			return
		}
		p.puts.Add(1)
		// Placement is under test here, not the peer signature (gateway's
		// TestVerifyPeer).
		size, salt, ok := ParseChunkBodyDigest(r.Header.Get(hdrPeerBody))
		if !ok || r.URL.Query().Get("size") != strconv.FormatInt(size, 10) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		err := p.m.Receive(strings.TrimPrefix(r.URL.Path, PeerPrefix+"chunks/"), size, salt, countingBody{r.Body, &p.got})
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
	const key = testClusterKey
	store := openTestStore(t)
	c := New(Config{Self: 1, Replicas: 3, Store: store, Peer: NewPeer(1, key, nil)}, Member{ID: 1})
	peers := map[uint64]*peerNode{}
	ms := []Member{{ID: 1}}
	for id := uint64(2); id <= 4; id++ {
		peers[id] = newPeerNode(t)
		ms = append(ms, Member{ID: id, Addr: strings.TrimPrefix(peers[id].srv.URL, "http://")})
	}
	// A chunk of which this node (1) is one of the 3 holders: the other
	// two holders and one spare member.
	var ch meta.Chunk
	var holders []Member
	var spare Member
	for {
		w, err := store.Create()
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
	peers[full].low.Store(true)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep := &Replication{c: c, ms: ms}
	rep.Add(ch)
	if err := rep.Wait(ctx); err != nil {
		t.Fatalf("upload with a full holder: %v", err)
	}
	rep.wg.Wait() // the copies beyond the majority too
	if peers[full].m.Store().Has(ch.ID) {
		t.Errorf("the full member %d stored a copy", full)
	}
	for _, id := range []uint64{other, spare.ID} {
		if !peers[id].m.Store().Has(ch.ID) {
			t.Errorf("member %d has no copy (full member %d, spare %d)", id, full, spare.ID)
		}
	}
	if !c.isFull(full) {
		t.Fatalf("member %d answered 507 but is not marked full", full)
	}

	// The next chunks leave the full member out without asking it.
	asked := peers[full].puts.Load()
	for range 8 {
		w, err := store.Create()
		if err != nil {
			t.Fatal(err)
		}
		w.Write(randBytes(uint64(time.Now().UnixNano()), 1000))
		ch, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		rep := &Replication{c: c, ms: ms}
		rep.Add(ch)
		if err := rep.Wait(ctx); err != nil {
			t.Fatalf("upload while member %d is full: %v", full, err)
		}
		rep.wg.Wait()
	}
	if got := peers[full].puts.Load(); got != asked {
		t.Errorf("the full member was sent %d more copies", got-asked)
	}
}

// With zones, a chunk's holders span as many zones as there are (up to
// R): a whole zone down leaves a copy of every chunk; the holders still
// spread evenly over the members, and every node computes the same ones.
func TestPlacementZonesFirst(t *testing.T) {
	ms := []Member{{ID: 1, Zone: "a"}, {ID: 2, Zone: "a"}, {ID: 3, Zone: "b"}, {ID: 4, Zone: "b"}, {ID: 5, Zone: "c"}}
	load := map[uint64]int{}
	const n = 5000
	for i := range n {
		id := fmt.Sprintf("%032x", i*104729)
		for _, r := range []int{2, 3} {
			holders := placement(ms, id)[:r]
			zones := map[string]bool{}
			for _, m := range holders {
				zones[m.Zone] = true
			}
			if len(zones) != r {
				t.Fatalf("chunk %s, R=%d: holders %v span %d zones", id, r, holders, len(zones))
			}
		}
		for _, m := range placement(ms, id)[:2] {
			load[m.ID]++
		}
		rev := []Member{ms[4], ms[3], ms[2], ms[1], ms[0]}
		if a, b := placement(ms, id), placement(rev, id); fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("placement depends on member order: %v vs %v", a, b)
		}
	}
	// Zone c's one node holds a copy of about 2/3 of the chunks (it is
	// one of three zones, two copies each); the others share the rest.
	for id, l := range load {
		if l < n/4 {
			t.Errorf("node %d holds %d of %d chunks", id, l, n)
		}
	}
	// Without zones the order is the plain rendezvous order.
	plain := []Member{{ID: 1}, {ID: 2}, {ID: 3}}
	same := []Member{{ID: 1, Zone: "x"}, {ID: 2, Zone: "x"}, {ID: 3, Zone: "x"}}
	for i := range 100 {
		id := fmt.Sprintf("%032x", i)
		a, b := placement(plain, id), placement(same, id)
		for j := range a {
			if a[j].ID != b[j].ID {
				t.Fatalf("one zone changed the order: %v vs %v", a, b)
			}
		}
	}
}

// TestFetchRefreshesUnknownAddresses: a node that was cut off while the
// others published their addresses holds a member list without them. A
// GET of a chunk it lacks reads the membership again before it gives up
// (it answered a truncated body, "no other node holds it", while its
// list was a second stale).
func TestFetchRefreshesUnknownAddresses(t *testing.T) {
	peer := newPeerNode(t)
	c, refreshes := lateAddressManager(t, peer, 0)

	data := randBytes(7, 3000)
	ch := putChunk(t, peer.m.Store(), data)
	r := c.NewObjectReader(nil, []meta.Chunk{ch}, 0, -1)
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read of a chunk held by a member whose address was not yet known: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, want the chunk's %d", len(got), len(data))
	}
	if *refreshes != 1 {
		t.Errorf("membership read %d times, want once", *refreshes)
	}

	// An object whose first chunk is elsewhere and second here: Prime
	// reads the first before anything is sent, the second is sent from
	// the local file.
	local := randBytes(8, 5000)
	lch := putChunk(t, c.Store(), local)
	r2 := c.NewObjectReader(nil, []meta.Chunk{ch, lch}, 100, -1)
	defer r2.Close()
	if err := r2.(interface{ Prime() error }).Prime(); err != nil {
		t.Fatalf("prime: %v", err)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r2); err != nil {
		t.Fatalf("read after prime: %v", err)
	}
	if want := append(append([]byte{}, data[100:]...), local...); !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("read %d bytes after prime, want %d", buf.Len(), len(want))
	}

	// A chunk no member holds fails Prime, before any byte.
	peer.srv.Close()
	gone := c.NewObjectReader(nil, []meta.Chunk{ch}, 0, -1)
	defer gone.Close()
	if err := gone.(interface{ Prime() error }).Prime(); !errors.Is(err, ErrChunkMissing) {
		t.Fatalf("prime of a chunk no member can serve: %v, want ErrChunkMissing", err)
	}
}

// lateAddressManager returns node 1's Manager of a cluster with peer as
// node 2, whose member list lacks node 2's address until the membership
// has been read more than after times; refreshes counts the reads.
func lateAddressManager(t *testing.T, peer *peerNode, after int) (c *Manager, refreshes *int) {
	known := []Member{{ID: 1}, {ID: 2, Addr: strings.TrimPrefix(peer.srv.URL, "http://")}}
	refreshes = new(int)
	c = New(Config{Self: 1, Replicas: 2, Store: openTestStore(t), Peer: NewPeer(1, testClusterKey, nil),
		Refresh: func(context.Context) error {
			*refreshes++
			if *refreshes > after {
				c.SetMembers(known)
			}
			return nil
		}}, Member{ID: 1})
	c.SetMembers([]Member{{ID: 1}, {ID: 2}})
	return c, refreshes
}

// testClusterKey is the cluster key of the nodes in these tests.
const testClusterKey = "0123456789abcdef-key"

// TestCopyRefreshesUnknownAddresses: a chunk copy to a member whose
// address was not known when the upload took the member list (it
// published it moments later, as the members of a cluster that just
// formed do) reads the membership again and reaches it, instead of
// failing the upload with "no known address".
func TestCopyRefreshesUnknownAddresses(t *testing.T) {
	peer := newPeerNode(t)
	// The first look, at the upload's start, is too early.
	c, _ := lateAddressManager(t, peer, 1)

	r := c.StartReplication()
	data := randBytes(9, 4000)
	ch := putChunk(t, c.Store(), data)
	r.Add(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Wait(ctx); err != nil {
		t.Fatalf("copy to a member whose address came after the upload started: %v", err)
	}
	if !peer.m.Store().HasCopy(ch.ID, ch.Size) {
		t.Fatal("the member has no copy of the chunk")
	}
}

// Members set down are left out of chunk placement while R members
// remain (never this node), which repair's figures follow; an empty set
// restores the whole membership.
func TestPlacementWithoutDownMembers(t *testing.T) {
	c := New(Config{Self: 1, Replicas: 3, Store: openTestStore(t), Peer: NewPeer(1, testClusterKey, nil)}, Member{ID: 1})
	ms := []Member{{ID: 1, Addr: "a"}, {ID: 2, Addr: "b"}, {ID: 3, Addr: "c"}, {ID: 4, Addr: "d"}, {ID: 5, Addr: "e"}}
	c.SetMembers(ms)
	ids := func(ms []Member) []uint64 {
		var out []uint64
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	for _, tc := range []struct {
		down, want []uint64
	}{
		{nil, []uint64{1, 2, 3, 4, 5}},
		{[]uint64{4}, []uint64{1, 2, 3, 5}},
		{[]uint64{2, 4}, []uint64{1, 3, 5}},
		{[]uint64{2, 3, 4}, []uint64{1, 2, 3, 4, 5}}, // fewer than R would remain
		{[]uint64{1, 4}, []uint64{1, 2, 3, 5}},       // never this node
		{nil, []uint64{1, 2, 3, 4, 5}},
	} {
		c.SetDown(tc.down)
		if got := ids(c.placed()); !slices.Equal(got, tc.want) {
			t.Errorf("down %v: placed on %v, want %v", tc.down, got, tc.want)
		}
	}
	// Repair's figures are those of the placement in force: a pass over
	// the whole membership is not one over the members less node 4.
	c.scanned.Store(memberKey(ms))
	if c.RepairPending() {
		t.Fatal("repair pending after a pass over the current placement")
	}
	c.SetDown([]uint64{4})
	if !c.RepairPending() {
		t.Fatal("repair not pending after node 4 was set down")
	}
	if slices.ContainsFunc(c.placed(), func(m Member) bool { return m.ID == 4 }) || len(c.Members()) != 5 {
		t.Fatalf("node 4 placed on (%v) or no longer a member (%v)", ids(c.placed()), ids(c.Members()))
	}
}
