package meta

import (
	"bytes"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Age indexes are queues consumed from their front: request ids and
// completed uploads by age, the chunk GC queue, leases and key expiries by
// time. Consuming an entry deletes it, and Badger keeps the deletion marker
// until a compaction into the last level drops it, which on a small store
// may be never. A walk that started at the prefix would step over every
// marker left by everything consumed before, on every command: the cost of
// a write grew with the writes before it (70-80% of CPU after ten minutes of
// PUTs). So each index keeps a floor, a key at or below every live entry,
// stored in the index floor family: a walk seeks to it, consuming raises
// it, and an insert below it (leases and key expiries are not inserted in
// order) lowers it. Every step of this is replicated state, decided from
// live keys and command fields only, so replicas stay identical.

// indexFloor returns the floor of the age index under prefix.
func indexFloor(txn *kvTxn, prefix byte) ([]byte, error) {
	v, ok, err := getValue(txn, keyIndexFloor(prefix))
	if err != nil {
		return nil, err
	}
	if !ok {
		return []byte{prefix}, nil
	}
	if len(v) < 2 || v[0] != fmtV1 || v[1] != prefix {
		return nil, fmt.Errorf("%w: index floor of %#x", ErrCorrupt, prefix)
	}
	return v[1:], nil
}

// scanIndex calls visit with each live key of the index under prefix, in
// order, from from, until visit returns false; see scanLive.
func scanIndex(txn *kvTxn, prefix byte, from []byte, visit func(k []byte) (bool, error)) (int, error) {
	return scanLive(txn, []byte{prefix}, from, func(item *kvItem) (bool, error) { return visit(item.Key()) })
}

// scanLive calls visit with each live item under prefix, in order, from
// from, until visit returns false. It walks all versions so that it can
// count what Badger steps over (live keys, deletion markers and superseded
// versions): the returned step count is how tests check that a walk costs
// the same however much was deleted before.
func scanLive(txn *kvTxn, prefix, from []byte, visit func(item *kvItem) (bool, error)) (int, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, AllVersions: true})
	defer it.Close()
	steps := 0
	var last []byte
	for it.Seek(from); it.Valid(); it.Next() {
		steps++
		item := it.Item()
		k := item.Key()
		// The first version of a key is the one this transaction sees
		// (its own pending writes come first); older ones are history.
		if last != nil && bytes.Equal(k, last) {
			continue
		}
		last = append(last[:0], k...)
		if item.IsDeletedOrExpired() {
			continue
		}
		more, err := visit(item)
		if err != nil || !more {
			return steps, err
		}
	}
	return steps, nil
}

// consumeIndex hands consume the live keys of the index under prefix that
// sort before end, oldest first, at most limit of them, and raises the
// floor past them. consume must delete the index key it is given. more
// reports that due keys were left for a later command.
func (a *applier) consumeIndex(prefix byte, end []byte, limit int, consume func(k []byte) error) (more bool, err error) {
	floor, err := indexFloor(a.txn, prefix)
	if err != nil {
		return false, err
	}
	var due [][]byte
	var next []byte // the first due key left over
	if low := a.firstLive.get(a.txn, prefix); low == nil || bytes.Compare(low, end) < 0 {
		a.stats.indexWalks++
		var first []byte // the first live key at or after end
		steps, err := scanIndex(a.txn, prefix, floor, func(k []byte) (bool, error) {
			if bytes.Compare(k, end) >= 0 {
				first = bytes.Clone(k)
				return false, nil
			}
			if len(due) == limit {
				next = bytes.Clone(k)
				return false, nil
			}
			due = append(due, bytes.Clone(k))
			return true, nil
		})
		a.stats.indexSteps += uint64(steps)
		if err != nil {
			return false, err
		}
		switch {
		case next != nil:
			first = next
		case first == nil:
			// Nothing live from the floor on: keys inserted from now on
			// have this command's version or a later one.
			first = appendU64([]byte{prefix}, a.version)
		}
		a.firstLive.set(a.txn, prefix, first, prefix == pfxRequestAge || prefix == pfxCompletedAge)
	}
	// else: no live key sorts before end, so the walk would find nothing
	// due; what follows writes the same floor it would have.
	for _, k := range due {
		if err := consume(k); err != nil {
			return false, err
		}
	}
	// Every live key is now at or above next, or at or above end.
	raised := end
	if next != nil {
		raised = next
	}
	// Indexes keyed by version get later keys above this command's
	// version without setIndexed: the floor must stay below them.
	if limit := indexEnd(prefix, a.version); versionKeyed(prefix) && bytes.Compare(raised, limit) > 0 {
		raised = limit
	}
	if bytes.Compare(raised, floor) > 0 {
		if err := a.set(keyIndexFloor(prefix), append([]byte{fmtV1}, raised...)); err != nil {
			return false, err
		}
	}
	return next != nil, nil
}

// firstLive remembers a key at or below the first live key of the
// request and completed upload age indexes, learned by the last walk of
// each. Every command prunes both, and most find nothing due: with this
// bound, those walks (an iterator each, which in a read-write transaction
// copies and sorts all its pending writes) are skipped while the bound is
// not below the end of what is due.
//
// It holds because keys of these indexes are inserted only at the
// inserting command's version, above every key a walk saw before, and
// deletions only raise the first live key. What a walk learns holds for
// its own transaction at once, and for later ones once that transaction
// has committed (commit); a discarded transaction's bounds are dropped
// with it, and replacing the state (Open, RecoverFromSnapshot) drops them
// all (reset). It is a cache of reads: the writes are the same with or
// without it.
type firstLive struct {
	txn       *kvTxn
	pending   map[byte][]byte // learned in txn, not committed yet
	committed map[byte][]byte
}

func (f *firstLive) get(txn *kvTxn, prefix byte) []byte {
	if f == nil {
		return nil
	}
	if k, ok := f.pending[prefix]; ok && f.txn == txn {
		return k
	}
	return f.committed[prefix]
}

func (f *firstLive) set(txn *kvTxn, prefix byte, k []byte, ok bool) {
	if f == nil || !ok {
		return
	}
	if f.txn != txn {
		f.txn, f.pending = txn, map[byte][]byte{}
	}
	f.pending[prefix] = k
}

// commit makes what txn learned hold for later transactions; call it
// once txn has committed.
func (f *firstLive) commit(txn *kvTxn) {
	if f.txn != txn {
		return
	}
	if f.committed == nil {
		f.committed = map[byte][]byte{}
	}
	for p, k := range f.pending {
		f.committed[p] = k
	}
	f.txn, f.pending = nil, nil
}

// reset forgets every bound.
func (f *firstLive) reset() { *f = firstLive{} }

// versionKeyed reports whether an age index is keyed by the version of the
// command that inserts (so inserted in order, with a plain set); the
// others are keyed by times that commands carry and insert with setIndexed.
func versionKeyed(prefix byte) bool {
	return prefix == pfxRequestAge || prefix == pfxCompletedAge || prefix == pfxGCQueue
}

// setIndexed adds k to an age index whose keys are not inserted in order,
// lowering the floor when k sorts below it.
func (a *applier) setIndexed(k []byte) error {
	floor, err := indexFloor(a.txn, k[0])
	if err != nil {
		return err
	}
	if bytes.Compare(k, floor) < 0 {
		if err := a.set(keyIndexFloor(k[0]), append([]byte{fmtV1}, k...)); err != nil {
			return err
		}
	}
	return a.set(k, []byte{fmtV1})
}

// indexEnd returns the key before which an index's entries with times
// (versions) up to and including t sort.
func indexEnd(prefix byte, t uint64) []byte {
	if t == latest {
		return []byte{prefix + 1}
	}
	return appendU64([]byte{prefix}, t+1)
}
