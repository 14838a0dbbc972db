package meta

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// The replicas of a node keep their keys in one Badger DB, the node's
// store (dir/store), each under a prefix of its own: the uvarints of its
// shard and replica ids. What a Badger DB costs whatever it holds (two
// compactors waking 20 times a second, a pool of up to 8 table-building
// arenas, memtables, caches) is then paid once per node rather than once
// per replica: a node of 16 shards ran 17 DBs, whose compactors were most
// of its wake-ups at rest and whose arenas kept its live heap above the
// memory budget's soft limit under writes (docs/benchmarks.md, "On a KVM
// guest that hands its free pages back to the host").
//
// The rest of the package reads and writes through kvTxn, kvIter and
// kvItem, which add the prefix to every key going in and strip it from
// every key coming out, so the keyspace of keys.go is each replica's as
// before. A replica of a data dir made before the store keeps its own DB
// in dir/shard-<shard>-replica-<replica> (no prefix) until it is removed.

// replicaPrefix is the prefix of the keys of replica (shard, replica) in
// the node's store. Uvarints are a prefix code, so no replica's prefix
// begins another's: each replica's keys are one contiguous range.
func replicaPrefix(shardID, replicaID uint64) []byte {
	p := binary.AppendUvarint(nil, shardID)
	return binary.AppendUvarint(p, replicaID)
}

// parseReplicaPrefix reads the replica a key of the store belongs to and
// the length of its prefix.
func parseReplicaPrefix(k []byte) (shardID, replicaID uint64, n int, ok bool) {
	s, a := binary.Uvarint(k)
	if a <= 0 {
		return 0, 0, 0, false
	}
	r, b := binary.Uvarint(k[a:])
	if b <= 0 {
		return 0, 0, 0, false
	}
	return s, r, a + b, true
}

// prefixEnd is the first key after every key beginning with p (nil: none).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// kvTxn is a Badger transaction seen through a replica's prefix.
type kvTxn struct {
	t *badger.Txn
	p []byte // nil: the replica's own DB
	k []byte // scratch for the prefixed key of a read
	// hot remembers the replica's bucket keys (hotkeys.go): nil for a
	// transaction that does not use it. hotUsable says whether this
	// transaction may use it, with the values stamped hotSeq; hotDirty
	// that it wrote a hot key.
	hot       *hotKeys
	hotSeq    uint64
	hotUsable bool
	hotDirty  bool
}

func newKVTxn(db *badger.DB, p []byte, update bool) *kvTxn {
	return &kvTxn{t: db.NewTransaction(update), p: p}
}

// key returns k with the prefix, in the scratch buffer: for reads only
// (Badger keeps the key of a write).
func (x *kvTxn) key(k []byte) []byte {
	if x.p == nil {
		return k
	}
	x.k = append(append(x.k[:0], x.p...), k...)
	return x.k
}

// owned returns k with the prefix in a slice of its own, for a write.
func (x *kvTxn) owned(k []byte) []byte {
	if x.p == nil {
		return k
	}
	out := make([]byte, 0, len(x.p)+len(k))
	return append(append(out, x.p...), k...)
}

func (x *kvTxn) Get(k []byte) (*kvItem, error) {
	it, err := x.t.Get(x.key(k))
	if err != nil {
		return nil, err
	}
	return &kvItem{i: it, n: len(x.p)}, nil
}

func (x *kvTxn) Set(k, v []byte) error {
	x.wrote(k)
	return x.t.Set(x.owned(k), v)
}

func (x *kvTxn) Delete(k []byte) error {
	x.wrote(k)
	return x.t.Delete(x.owned(k))
}

func (x *kvTxn) wrote(k []byte) {
	if !x.hotDirty && isHotKey(k) {
		x.hotDirty = true
	}
}

// Commit commits x; when x wrote a hot key, seq is odd while it does and
// moves on (hotkeys.go).
func (x *kvTxn) Commit() error {
	if x.hot == nil || !x.hotDirty {
		return x.t.Commit()
	}
	x.hot.seq.Add(1)
	defer x.hot.seq.Add(1)
	return x.t.Commit()
}

func (x *kvTxn) Discard() { x.t.Discard() }

// NewIterator iterates over the replica's keys (under o.Prefix, when
// set). Reverse iteration is not supported.
func (x *kvTxn) NewIterator(o badger.IteratorOptions) *kvIter {
	if o.Reverse {
		panic("meta: reverse iteration over a replica's keys")
	}
	if x.p != nil {
		o.Prefix = append(append(make([]byte, 0, len(x.p)+len(o.Prefix)), x.p...), o.Prefix...)
	}
	it := &kvIter{it: x.t.NewIterator(o), p: x.p}
	it.item.n = len(x.p)
	return it
}

// kvIter is a Badger iterator seen through a replica's prefix.
type kvIter struct {
	it   *badger.Iterator
	p    []byte
	k    []byte // scratch for the prefixed key of a seek
	item kvItem
}

// Seek moves to the first key at or after k; an empty k is the first key
// (under the iterator's prefix), as with Badger.
func (it *kvIter) Seek(k []byte) {
	if it.p == nil || len(k) == 0 {
		it.it.Seek(k)
		return
	}
	it.k = append(append(it.k[:0], it.p...), k...)
	it.it.Seek(it.k)
}

func (it *kvIter) Rewind() { it.it.Rewind() }

func (it *kvIter) Valid() bool { return it.it.Valid() }

func (it *kvIter) Next() { it.it.Next() }

func (it *kvIter) Close() { it.it.Close() }

// Item is the current item; like Badger's, it is valid until Next.
func (it *kvIter) Item() *kvItem {
	it.item.i = it.it.Item()
	return &it.item
}

// kvItem is a Badger item seen through a replica's prefix.
type kvItem struct {
	i *badger.Item
	n int // length of the prefix
}

// Key is the item's key without the prefix, valid until the iterator
// moves.
func (i *kvItem) Key() []byte { return i.i.Key()[i.n:] }

// KeyCopy returns a copy of the key in dst (reused when large enough).
func (i *kvItem) KeyCopy(dst []byte) []byte { return append(dst[:0], i.Key()...) }

func (i *kvItem) Value(fn func([]byte) error) error { return i.i.Value(fn) }

func (i *kvItem) ValueCopy(dst []byte) ([]byte, error) { return i.i.ValueCopy(dst) }

func (i *kvItem) IsDeletedOrExpired() bool { return i.i.IsDeletedOrExpired() }

// nodeStore is the node's one Badger DB, open while a replica uses it.
type nodeStore struct {
	dir  string
	opts func(dir string) badger.Options

	mu   sync.Mutex
	db   *badger.DB
	refs int
	// mappedDir is dir as /proc/self/maps names it (trim.go).
	mappedDir string
}

// acquire opens the store if no replica holds it and returns it.
func (s *nodeStore) acquire() (*badger.DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return nil, fmt.Errorf("meta: store: %w", err)
		}
		db, err := badger.Open(s.opts(s.dir))
		if err != nil {
			return nil, fmt.Errorf("meta: open %s: %w", s.dir, err)
		}
		shrinkArenaPool(db)
		s.db, s.mappedDir = db, resolvedDir(s.dir)
	}
	s.refs++
	return s.db, nil
}

// release closes the store once no replica holds it.
func (s *nodeStore) release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs == 0 {
		return errors.New("meta: store released more often than acquired")
	}
	s.refs--
	if s.refs > 0 {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}

// hold returns the store if it is open, holding it open until done is
// called (nil, and no done to call, when it is closed).
func (s *nodeStore) hold() (db *badger.DB, mappedDir string, done func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil, "", nil
	}
	s.refs++
	return s.db, s.mappedDir, func() { s.release() }
}

// ifCreated runs fn on the store, opened for it if need be, unless the
// store was never created (a data dir whose replicas all have DBs of their
// own): then there is nothing in it to look at.
func (s *nodeStore) ifCreated(fn func(db *badger.DB) error) error {
	if _, err := os.Stat(s.dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	db, err := s.acquire()
	if err != nil {
		return err
	}
	defer s.release()
	return fn(db)
}

// deleteRange deletes every key beginning with p, in batches of writes
// (Badger's DropPrefix would block every other replica's writes while it
// runs).
func deleteRange(db *badger.DB, p []byte) error {
	for {
		var keys [][]byte
		txn := db.NewTransaction(false)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		for it.Rewind(); it.Valid() && len(keys) < 4096; it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		it.Close()
		txn.Discard()
		if len(keys) == 0 {
			return nil
		}
		wb := db.NewWriteBatch()
		for _, k := range keys {
			if err := wb.Delete(k); err != nil {
				wb.Cancel()
				return err
			}
		}
		if err := wb.Flush(); err != nil {
			return err
		}
	}
}

// storeReplicas lists the replicas that have keys in the store.
func storeReplicas(db *badger.DB) ([][2]uint64, error) {
	var out [][2]uint64
	txn := db.NewTransaction(false)
	defer txn.Discard()
	it := txn.NewIterator(badger.IteratorOptions{})
	defer it.Close()
	for it.Rewind(); it.Valid(); {
		k := it.Item().Key()
		s, r, n, ok := parseReplicaPrefix(k)
		if !ok {
			return out, fmt.Errorf("%w: store key %x without a replica prefix", ErrCorrupt, k)
		}
		out = append(out, [2]uint64{s, r})
		end := prefixEnd(k[:n])
		if end == nil {
			break
		}
		it.Seek(end)
	}
	return out, nil
}
