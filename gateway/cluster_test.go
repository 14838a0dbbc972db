package gateway

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// Rendezvous placement: every node computes the same holders for a chunk,
// chunks spread evenly, and adding a member moves only the chunks that the
// new member takes (about R/N of them), never between old members.
func TestPlacementStableAndBalanced(t *testing.T) {
	three := []member{{ID: 1}, {ID: 2}, {ID: 3}}
	four := append(three[:3:3], member{ID: 4})
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
		again := placement([]member{{ID: 4}, {ID: 2}, {ID: 3}, {ID: 1}}, id)[:3]
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

// Node-to-node requests are accepted only with a valid signature under the
// cluster key, a date near the receiver's clock, this node as their
// destination, a current member as their sender, and a nonce never seen
// before (a captured request replayed to this node or another is refused).
func TestVerifyPeer(t *testing.T) {
	const key = "0123456789abcdef-key"
	newSvc := func(self uint64, cfg Config) *Service {
		cfg.Raft.NodeID = self
		n := &Node{cfg: cfg}
		n.cluster = newCluster(n)
		n.cluster.members = []member{{ID: 1}, {ID: 2}, {ID: 3}}
		// No Raft host here: the members above are all there is.
		n.cluster.lastLookup.Store(math.MaxInt64)
		return &Service{node: n}
	}
	s := newSvc(2, Config{ClusterKey: key})
	sign := func(key, method, uri, from, to, body string, at time.Time) map[string]string {
		date, nonce := strconv.FormatInt(at.UnixNano(), 10), newNonce()
		return map[string]string{
			hdrPeerNode: from, hdrPeerTo: to, hdrPeerDate: date, hdrPeerNonce: nonce, hdrPeerBody: body,
			hdrPeerSig: peerSignature([]byte(key), method, uri, from, to, date, nonce, body),
		}
	}
	get := func(h map[string]string) func(string) string { return func(k string) string { return h[k] } }
	const uri = "/_forkstore/peer/chunks/x"
	digest := PeerBodyDigest(5, sha256.Sum256([]byte("hello")))
	good := sign(key, "PUT", uri, "1", "2", digest, time.Now())
	if body, err := s.VerifyPeer("PUT", uri, get(good)); err != nil || body != digest {
		t.Fatalf("valid request: %q, %v", body, err)
	}
	with := func(h map[string]string, k, v string) map[string]string {
		h = maps.Clone(h)
		h[k] = v
		return h
	}
	cases := []struct {
		name        string
		method, uri string
		h           map[string]string
	}{
		{"replayed", "PUT", uri, good},
		{"other key", "PUT", uri, sign("another-cluster-key!", "PUT", uri, "1", "2", "-", time.Now())},
		{"other path", "PUT", "/_forkstore/peer/chunks/y", sign(key, "PUT", uri, "1", "2", digest, time.Now())},
		{"other method", "GET", uri, sign(key, "PUT", uri, "1", "2", digest, time.Now())},
		{"body digest changed", "PUT", uri, with(sign(key, "PUT", uri, "1", "2", digest, time.Now()), hdrPeerBody, PeerBodyDigest(5, sha256.Sum256([]byte("HELLO"))))},
		{"destination changed", "PUT", uri, with(sign(key, "PUT", uri, "1", "3", digest, time.Now()), hdrPeerTo, "2")},
		{"nonce changed", "PUT", uri, with(sign(key, "PUT", uri, "1", "2", digest, time.Now()), hdrPeerNonce, newNonce())},
		{"sender changed", "PUT", uri, with(sign(key, "PUT", uri, "1", "2", digest, time.Now()), hdrPeerNode, "3")},
		{"signed for another node", "PUT", uri, sign(key, "PUT", uri, "1", "3", digest, time.Now())},
		{"sender not a member", "PUT", uri, sign(key, "PUT", uri, "7", "2", digest, time.Now())},
		{"sender not a node id", "PUT", uri, sign(key, "PUT", uri, "node-1", "2", digest, time.Now())},
		{"malformed nonce", "PUT", uri, func() map[string]string {
			date := strconv.FormatInt(time.Now().UnixNano(), 10)
			return map[string]string{
				hdrPeerNode: "1", hdrPeerTo: "2", hdrPeerDate: date, hdrPeerNonce: "1", hdrPeerBody: "-",
				hdrPeerSig: peerSignature([]byte(key), "PUT", uri, "1", "2", date, "1", "-"),
			}
		}()},
		{"stale", "PUT", uri, sign(key, "PUT", uri, "1", "2", "-", time.Now().Add(-2*PeerSkew))},
		{"unsigned", "PUT", uri, map[string]string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.VerifyPeer(c.method, c.uri, get(c.h)); !errors.Is(err, ErrPeerAuth) {
				t.Fatalf("got %v, want ErrPeerAuth", err)
			}
		})
	}
	// The same request signed for node 3 is good there, once.
	for3 := sign(key, "PUT", uri, "1", "3", digest, time.Now())
	s3 := newSvc(3, Config{ClusterKey: key})
	if _, err := s3.VerifyPeer("PUT", uri, get(for3)); err != nil {
		t.Fatalf("request for node 3 on node 3: %v", err)
	}
	if _, err := s3.VerifyPeer("PUT", uri, get(for3)); !errors.Is(err, ErrPeerAuth) {
		t.Fatalf("replay on node 3: got %v, want ErrPeerAuth", err)
	}
	noKey := newSvc(2, Config{})
	if _, err := noKey.VerifyPeer("PUT", uri, get(sign(key, "PUT", uri, "1", "2", digest, time.Now()))); !errors.Is(err, ErrPeerAuth) {
		t.Fatalf("node without a key: got %v, want ErrPeerAuth", err)
	}
}

// The replay cache refuses a nonce for at least two PeerSkew windows after
// it was first seen, forgets it after at most four, and refuses (busy)
// rather than forgets when full.
func TestNonceCache(t *testing.T) {
	c := newNonceCache(3)
	t0 := time.Unix(1_000_000, 0)
	a, _ := parseNonce(newNonce())
	if err := c.add(a, t0); err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{0, time.Second, PeerSkew, 2*PeerSkew - 1, 2 * PeerSkew, 3 * PeerSkew} {
		if err := c.add(a, t0.Add(d)); !errors.Is(err, ErrPeerAuth) {
			t.Fatalf("replay %v later: got %v, want ErrPeerAuth", d, err)
		}
	}
	if err := c.add(a, t0.Add(4*PeerSkew)); err != nil {
		t.Fatalf("4 windows later: %v", err)
	}
	full := newNonceCache(2)
	for i := range 2 {
		n, _ := parseNonce(newNonce())
		if err := full.add(n, t0); err != nil {
			t.Fatalf("nonce %d: %v", i, err)
		}
	}
	n, _ := parseNonce(newNonce())
	if err := full.add(n, t0); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("full cache: got %v, want ErrUnavailable", err)
	}
}

// A received copy is stored only when it has exactly the signed size and
// CRC32C; a second copy of a present chunk is a no-op; interrupted copies
// are swept.
func TestPutCopy(t *testing.T) {
	s, err := OpenChunkStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("chunk bytes "), 1000)
	c := meta.Chunk{ID: newChunkID(), Size: int64(len(data)), CRC32C: crc32.Checksum(data, castagnoli)}
	bad := append(bytes.Clone(data[:len(data)-1]), 'X')
	if err := s.PutCopy(c, bytes.NewReader(bad)); !errors.Is(err, ErrChunkMissing) {
		t.Fatalf("corrupt copy: got %v, want ErrChunkMissing", err)
	}
	if err := s.PutCopy(c, bytes.NewReader(data[:100])); !errors.Is(err, ErrChunkMissing) {
		t.Fatalf("short copy: got %v, want ErrChunkMissing", err)
	}
	if s.Has(c.ID) {
		t.Fatal("a refused copy was stored")
	}
	if err := s.PutCopy(c, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(c); err != nil {
		t.Fatalf("stored copy: %v", err)
	}
	if err := s.PutCopy(c, bytes.NewReader(nil)); err != nil {
		t.Fatalf("copy of a present chunk: %v", err)
	}
	// A received copy counts in Usage (cluster status's chunk_files)
	// once, like a chunk written here.
	if files, n := s.Usage(); files != 1 || n != c.Size {
		t.Fatalf("after one received copy Usage is %d files, %d bytes; want 1, %d", files, n, c.Size)
	}
	tmp := filepath.Join(filepath.Dir(s.path(c.ID)), "."+c.ID+".123"+tmpSuffix)
	if err := os.WriteFile(tmp, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(tmp, old, old)
	s.sweepTemp(time.Minute)
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("interrupted copy not swept: %v", err)
	}
	// Corruption at rest is found by Verify.
	if err := os.WriteFile(s.path(c.ID), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(c); !errors.Is(err, ErrChunkMissing) {
		t.Fatalf("corrupt file: got %v, want ErrChunkMissing", err)
	}
}
