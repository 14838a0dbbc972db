package gateway

import (
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// maxPeerNonces bounds the replay cache: at most this many peer requests
// may be accepted within two PeerSkew windows (about 2,000 a second for a
// minute's skew); beyond it requests are refused as busy (503, and the
// sender retries) rather than remembered partly.
const maxPeerNonces = 1 << 18

// parseNonce reads a nonce as block.NewNonce writes it.
func parseNonce(s string) (n [16]byte, ok bool) {
	if len(s) != 2*len(n) {
		return n, false
	}
	_, err := hex.Decode(n[:], []byte(s))
	return n, err == nil
}

// nonceCache remembers the nonces of accepted peer requests for as long as
// their dates are inside the window, so that a request is accepted once.
//
// A request is accepted only while its date is within PeerSkew of the
// receiver's clock, so a nonce first seen at t must be kept until t +
// 2*PeerSkew. The cache keeps two generations that each span 2*PeerSkew
// and drops the older when the newer ends: a nonce lives between 2 and 4
// times PeerSkew, and no sweep walks the entries.
type nonceCache struct {
	max int

	mu       sync.Mutex
	cur, old map[[16]byte]struct{}
	started  time.Time // when cur began
}

func newNonceCache(max int) *nonceCache {
	return &nonceCache{max: max, cur: map[[16]byte]struct{}{}, old: map[[16]byte]struct{}{}}
}

// add records n, seen at now; it fails with ErrPeerAuth when n was seen
// within the window (a replay) and with ErrUnavailable when the cache is
// full.
func (c *nonceCache) add(n [16]byte, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if span := 2 * PeerSkew; now.Sub(c.started) >= span {
		if now.Sub(c.started) >= 2*span {
			c.old = map[[16]byte]struct{}{} // idle for a whole generation
		} else {
			c.old = c.cur
		}
		c.cur = map[[16]byte]struct{}{}
		c.started = now
	}
	_, inCur := c.cur[n]
	_, inOld := c.old[n]
	if inCur || inOld {
		return fmt.Errorf("%w: nonce already used (a replayed request)", ErrPeerAuth)
	}
	if len(c.cur)+len(c.old) >= c.max {
		return fmt.Errorf("%w: too many node-to-node requests in the replay window", ErrUnavailable)
	}
	c.cur[n] = struct{}{}
	return nil
}
