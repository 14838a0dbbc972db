package meta

import (
	"bytes"
	"sync"
	"sync/atomic"
)

// hotKeys keeps the values of a replica's bucket keys in memory: the
// name, the record, the merge hold and the configurations a request reads
// before it can touch an object. Every GET and PUT read three to five of
// them from Badger, each a point read through every level of the LSM
// tree, where they are written only when a bucket is created, changed or
// deleted (docs/benchmarks.md, "The bucket keys of a request, from
// memory").
//
// A transaction may use a remembered value only when it reads the same
// bucket keys as the transaction that read it. seq says which: it counts
// the commits that wrote a hot key, plus one while such a commit is under
// way (odd), as a sequence lock does. A transaction notes seq before and
// after it opens; when the two are equal and even, no such commit became
// visible in between, so its reads of hot keys are those of every other
// transaction that saw that seq, and it uses and stamps remembered values
// with it. A commit that wrote a hot key moves seq on, so a value
// remembered before it never matches again. A transaction that has
// written a hot key itself reads Badger, which holds its own writes.
//
// Every transaction that writes a replica's keys comes from its hotKeys
// (FSM.txn), and a replica's keys written outside transactions (a
// snapshot's recovery) reset it. The replicas of a node share a memory
// budget (Options.HotKeysBytes) in equal parts.
type hotKeys struct {
	seq atomic.Uint64
	mu  sync.RWMutex
	m   map[string]hotValue
	// bytes is what m takes (hotValueSize), at most share() (no bound
	// when share is nil).
	bytes int64
	share func() int64
	// hits counts the reads of hot keys served from m (tests).
	hits atomic.Uint64
}

type hotValue struct {
	seq uint64
	v   []byte
	ok  bool // the key exists
}

// hotValueSize is what remembering value v of key k takes: both, the
// map's entry and the headers of the string and slice.
func hotValueSize(k, v []byte) int64 { return int64(len(k) + len(v) + 96) }

// isHotKey reports whether k, a key of the replica's keyspace, is one
// hotKeys remembers. None of these families is written by an object's
// PUT or DELETE.
func isHotKey(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	switch k[0] {
	case pfxBucketName, pfxBucket, pfxAnnotated, pfxMergeHold,
		pfxLifecycle, pfxBucketCORS, pfxBucketEncryption, pfxView:
		return true
	}
	return false
}

// reset forgets every value, for writes that went around transactions.
func (h *hotKeys) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq.Add(2)
	h.forgetLocked()
}

// forgetLocked forgets every value; h.mu is held.
func (h *hotKeys) forgetLocked() {
	clear(h.m)
	h.bytes = 0
}

// attach makes x use h: x must have been opened between the two loads of
// seq, s0 being the first.
func (h *hotKeys) attach(x *kvTxn, s0 uint64) *kvTxn {
	x.hot = h
	if s0%2 == 0 && h.seq.Load() == s0 {
		x.hotSeq, x.hotUsable = s0, true
	}
	return x
}

// cached returns the remembered value of key k (found true), a copy.
func (x *kvTxn) cached(k []byte) (v []byte, ok, found bool) {
	if x.hot == nil || !isHotKey(k) {
		return nil, false, false
	}
	if !x.hotUsable || x.hotDirty {
		return nil, false, false
	}
	x.hot.mu.RLock()
	e, found := x.hot.m[string(k)]
	x.hot.mu.RUnlock()
	if !found || e.seq != x.hotSeq {
		return nil, false, false
	}
	x.hot.hits.Add(1)
	return bytes.Clone(e.v), e.ok, true
}

// remember keeps what x read of key k from Badger (ok false: no such key).
func (x *kvTxn) remember(k, v []byte, ok bool) {
	if x.hot == nil || !x.hotUsable || x.hotDirty || !isHotKey(k) {
		return
	}
	h := x.hot
	size := hotValueSize(k, v)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = make(map[string]hotValue)
	}
	if old, found := h.m[string(k)]; found {
		h.bytes -= hotValueSize(k, old.v)
		delete(h.m, string(k))
	}
	// Past its share of the budget this replica forgets what it holds:
	// the buckets in use are read again.
	if h.share != nil {
		limit := h.share()
		if h.bytes+size > limit {
			h.forgetLocked()
			if size > limit {
				return
			}
		}
	}
	h.m[string(k)] = hotValue{seq: x.hotSeq, v: bytes.Clone(v), ok: ok}
	h.bytes += size
}

// size returns the bytes h holds.
func (h *hotKeys) size() int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.bytes
}
