package gateway

import (
	"crypto/sha256"
	"fmt"
	"strconv"
	"time"

	"github.com/forkstore/forkstore/block"
)

// Node-to-node traffic is signed with the cluster key (block/peer.go has
// the format and the sending side). This is the receiving side, which s3api
// serves under PeerPrefix.

// PeerPrefix is the path under which nodes serve each other.
const PeerPrefix = block.PeerPrefix

// PeerSkew is how far a peer request's date may be from the receiver's
// clock.
const PeerSkew = block.PeerSkew

// PeerBodyDigest is the signed digest of a peer request body.
func PeerBodyDigest(size int64, sum [sha256.Size]byte) string { return block.PeerBodyDigest(size, sum) }

// ParsePeerBodyDigest reads a body digest ("<size>:<sha256 hex>").
func ParsePeerBodyDigest(d string) (size int64, sum [sha256.Size]byte, ok bool) {
	return block.ParsePeerBodyDigest(d)
}

// PeerBodyLength is the length on the wire of a body with signed digest d
// ("-": none), false when d is malformed.
func PeerBodyLength(d string) (int64, bool) { return block.PeerBodyLength(d) }

// ParseChunkBodyDigest reads a chunk copy's signed body digest
// ("<size>:gmac:<salt>").
func ParseChunkBodyDigest(d string) (size int64, salt string, ok bool) {
	return block.ParseChunkBodyDigest(d)
}

// ParseChunkDigest reads a chunk's size and CRC32C ("<size>:<crc32c hex>").
func ParseChunkDigest(d string) (size int64, crc uint32, ok bool) { return block.ParseChunkDigest(d) }

// VerifyPeer authenticates a node-to-node request: method, request URI
// (path and query as sent) and a header getter. It returns the body digest
// the sender signed ("-" for none), or ErrPeerAuth. A request that passes
// is remembered (by its nonce) until its date leaves the window, and
// refused if it comes again.
func (s *Service) VerifyPeer(method, uri string, header func(string) string) (string, error) {
	key := s.node.cfg.ClusterKey
	if key == "" {
		return "", fmt.Errorf("%w: this node has no cluster key", ErrPeerAuth)
	}
	h := block.ReadPeerHeaders(header)
	if !h.Complete() {
		return "", fmt.Errorf("%w: missing peer headers", ErrPeerAuth)
	}
	ns, err := strconv.ParseInt(h.Date, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: malformed date", ErrPeerAuth)
	}
	now := time.Now()
	if d := now.Sub(time.Unix(0, ns)); d > PeerSkew || d < -PeerSkew {
		return "", fmt.Errorf("%w: date %s is too far from this node's clock", ErrPeerAuth, time.Unix(0, ns).UTC())
	}
	if !h.ValidSignature([]byte(key), method, uri) {
		return "", fmt.Errorf("%w: signature does not match", ErrPeerAuth)
	}
	c := s.node.cluster
	if h.To != strconv.FormatUint(c.self, 10) {
		return "", fmt.Errorf("%w: request for node %s sent to node %d", ErrPeerAuth, h.To, c.self)
	}
	id, err := strconv.ParseUint(h.Node, 10, 64)
	if err != nil || !c.isMember(id) {
		return "", fmt.Errorf("%w: node %q is not a member of this cluster", ErrPeerAuth, h.Node)
	}
	n, ok := parseNonce(h.Nonce)
	if !ok {
		return "", fmt.Errorf("%w: malformed nonce", ErrPeerAuth)
	}
	if err := c.nonces.add(n, now); err != nil {
		return "", err
	}
	return h.Body, nil
}
