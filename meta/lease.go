package meta

import "fmt"

// Leases. A fork may carry a lease: an expiry on the lease clock (Unix
// nanoseconds of the proposer's clock, which tests may shift). Apply
// never reads a clock: RenewLease and ExpireLeases carry the proposer's
// "now". Keys that may use a fork stop working when its lease runs out
// (the gateway checks leases when it authorizes a request); the leader's
// collector then proposes ExpireLeases, which deletes the fork whatever it
// holds, as DeleteBucket would delete an empty one.

// setLease replaces a bucket's lease (0 removes it).
func (a *applier) setLease(bucket uint64, expires int64) error {
	old, err := a.r.lease(bucket)
	if err != nil {
		return err
	}
	if old == expires {
		return nil
	}
	if old != 0 {
		if err := a.del(keyLease(bucket)); err != nil {
			return err
		}
		if err := a.del(keyLeaseByTime(old, bucket)); err != nil {
			return err
		}
	}
	if expires != 0 {
		if err := a.set(keyLease(bucket), u64Value(uint64(expires))); err != nil {
			return err
		}
		if err := a.set(keyLeaseByTime(expires, bucket), []byte{fmtV1}); err != nil {
			return err
		}
	}
	return a.bumpKeys()
}

func (a *applier) renewLease(c *RenewLease) (*Result, error) {
	b, err := a.r.liveBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	if b.Parent == nil {
		return nil, fmt.Errorf("%w: %q", ErrNotAFork, c.Bucket)
	}
	old, err := a.r.lease(b.ID)
	if err != nil {
		return nil, err
	}
	if old != 0 && old <= c.Now {
		return nil, fmt.Errorf("%w: fork %q", ErrLeaseExpired, c.Bucket)
	}
	if c.Expires <= c.Now {
		return nil, fmt.Errorf("%w: fork %q: new expiry is not in the future", ErrLeaseExpired, c.Bucket)
	}
	if err := a.setLease(b.ID, c.Expires); err != nil {
		return nil, err
	}
	filled, err := a.r.fill(b)
	if err != nil {
		return nil, err
	}
	return &Result{Bucket: filled}, nil
}

func (a *applier) expireLeases(c *ExpireLeases) (*Result, error) {
	res := &Result{}
	// The fork whose lease ran out first, if any.
	it := txnKeysOnly(a.txn, []byte{pfxLeaseByTime})
	it.Rewind()
	var due []uint64
	for ; it.Valid() && len(due) < 2; it.Next() {
		k := it.Item().Key()
		if len(k) != 17 {
			it.Close()
			return nil, fmt.Errorf("%w: lease index key", ErrCorrupt)
		}
		if int64(beTail(k[:9])) > c.Now {
			break
		}
		due = append(due, beTail(k))
	}
	it.Close()
	if len(due) > 0 {
		b, err := a.r.bucketByID(due[0])
		if err != nil {
			return nil, err
		}
		if b == nil || b.State != BucketLive {
			return nil, fmt.Errorf("%w: lease of missing bucket %d", ErrCorrupt, due[0])
		}
		if err := a.retireBucket(b); err != nil {
			return nil, err
		}
		res.Buckets = append(res.Buckets, *b)
		res.More = len(due) > 1
	}
	// Expired keys.
	var keys [][]byte
	it = txnKeysOnly(a.txn, []byte{pfxKeyByExpiry})
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) < 9 || int64(beTail(k[:9])) > c.Now {
			break
		}
		if len(keys) == expireKeysPerCommand {
			res.More = true
			break
		}
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	it.Close()
	for _, ik := range keys {
		id, _, ok := readName(ik[9:])
		if !ok {
			return nil, fmt.Errorf("%w: key expiry index key", ErrCorrupt)
		}
		k, err := a.r.accessKey(id)
		if err != nil {
			return nil, err
		}
		if k == nil {
			return nil, fmt.Errorf("%w: expiry index names missing key %q", ErrCorrupt, id)
		}
		if err := a.removeKey(k); err != nil {
			return nil, err
		}
		res.Keys = append(res.Keys, AccessKey{ID: id})
	}
	return res, nil
}
