package gateway

import (
	"crypto/sha256"
	"errors"
	"maps"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/forkstore/forkstore/block"
)

// The peer headers as they go on the wire (block/peer.go).
const (
	hdrPeerNode  = "X-Forkstore-Peer-Node"
	hdrPeerTo    = "X-Forkstore-Peer-To"
	hdrPeerNonce = "X-Forkstore-Peer-Nonce"
	hdrPeerBody  = "X-Forkstore-Peer-Body"
)

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
		h := block.PeerHeaders{Node: from, To: to, Date: strconv.FormatInt(at.UnixNano(), 10), Nonce: block.NewNonce(), Body: body}
		h.Sign([]byte(key), method, uri)
		return h.Header()
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
		{"nonce changed", "PUT", uri, with(sign(key, "PUT", uri, "1", "2", digest, time.Now()), hdrPeerNonce, block.NewNonce())},
		{"sender changed", "PUT", uri, with(sign(key, "PUT", uri, "1", "2", digest, time.Now()), hdrPeerNode, "3")},
		{"signed for another node", "PUT", uri, sign(key, "PUT", uri, "1", "3", digest, time.Now())},
		{"sender not a member", "PUT", uri, sign(key, "PUT", uri, "7", "2", digest, time.Now())},
		{"sender not a node id", "PUT", uri, sign(key, "PUT", uri, "node-1", "2", digest, time.Now())},
		{"malformed nonce", "PUT", uri, func() map[string]string {
			h := block.PeerHeaders{Node: "1", To: "2", Date: strconv.FormatInt(time.Now().UnixNano(), 10), Nonce: "1", Body: "-"}
			h.Sign([]byte(key), "PUT", uri)
			return h.Header()
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
	a, _ := parseNonce(block.NewNonce())
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
		n, _ := parseNonce(block.NewNonce())
		if err := full.add(n, t0); err != nil {
			t.Fatalf("nonce %d: %v", i, err)
		}
	}
	n, _ := parseNonce(block.NewNonce())
	if err := full.add(n, t0); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("full cache: got %v, want ErrUnavailable", err)
	}
}
