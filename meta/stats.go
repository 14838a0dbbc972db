package meta

import "fmt"

// Stats are counts of a replica's state, for monitoring. They cost a scan
// of the bucket names, the snapshots, the GC queue and the pending passes
// (keys only, except one bucket record per live bucket); callers should
// not compute them more often than every few seconds.
type Stats struct {
	// AppliedIndex is the Raft index the state reflects.
	AppliedIndex uint64
	// Buckets are the live buckets, forks included; Forks the live
	// buckets that have a parent.
	Buckets, Forks int
	// Snapshots are the snapshots of every bucket (of deleted ones too,
	// while forks still need them).
	Snapshots int
	// GCQueued are the chunks in the GC queue after the given version:
	// unreferenced, to be deleted from every node.
	GCQueued int
	// GCQueue are all the entries of the GC queue: an entry stays until
	// every member has processed it (but one that is down) and the
	// shard's leader has trimmed it.
	GCQueue int
	// GCPending are the buckets with a retention pass under way.
	GCPending int
}

// Stats counts the state. gcAfter is a GC queue version (a node's cursor:
// what it has already deleted); GCQueued counts the entries after it.
func (r *Reader) Stats(gcAfter uint64) (Stats, error) {
	var s Stats
	var err error
	if s.AppliedIndex, err = readApplied(r.txn); err != nil {
		return s, err
	}
	it := keyIter(r.txn, []byte{pfxBucketName})
	for it.Rewind(); it.Valid(); it.Next() {
		v, err := it.Item().ValueCopy(nil)
		if err == nil {
			var id uint64
			if id, err = decodeU64Value(v); err == nil {
				var b *Bucket
				if b, err = r.bucketByID(id); err == nil && b == nil {
					err = fmt.Errorf("%w: bucket name without bucket %d", ErrCorrupt, id)
				}
				if err == nil {
					s.Buckets++
					if b.Parent != nil {
						s.Forks++
					}
				}
			}
		}
		if err != nil {
			it.Close()
			return s, err
		}
	}
	it.Close()
	s.Snapshots = r.countKeys([]byte{pfxSnapshot}, nil)
	s.GCQueue = r.countKeys([]byte{pfxGCQueue}, nil)
	if gcAfter != latest {
		s.GCQueued = r.countKeys([]byte{pfxGCQueue}, appendU64([]byte{pfxGCQueue}, gcAfter+1))
	}
	s.GCPending = r.countKeys([]byte{pfxGCPending}, nil)
	return s, nil
}

// countKeys counts the keys with prefix, from seek (nil: the first).
func (r *Reader) countKeys(prefix, seek []byte) int {
	it := txnKeysOnly(r.txn, prefix)
	defer it.Close()
	n := 0
	if seek == nil {
		it.Rewind()
	} else {
		it.Seek(seek)
	}
	for ; it.Valid(); it.Next() {
		n++
	}
	return n
}
