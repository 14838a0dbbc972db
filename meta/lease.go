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
		if err := a.setIndexed(keyLeaseByTime(expires, bucket)); err != nil {
			return err
		}
	}
	return a.bumpKeys()
}

func (a *applier) renewLease(c *RenewLease) (*Result, error) {
	b, err := a.writableBucket(c.Bucket)
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
	if c.Now < 0 {
		return res, nil
	}
	now := uint64(c.Now)
	// The fork whose lease ran out first, if any: one fork a command, as
	// retiring one may delete a whole bucket.
	more, err := a.consumeIndex(pfxLeaseByTime, indexEnd(pfxLeaseByTime, now), 1, func(k []byte) error {
		if len(k) != 17 {
			return fmt.Errorf("%w: lease index key", ErrCorrupt)
		}
		id := beTail(k)
		b, err := a.r.bucketByID(id)
		if err != nil {
			return err
		}
		if b == nil || b.State != BucketLive {
			return fmt.Errorf("%w: lease of missing bucket %d", ErrCorrupt, id)
		}
		// A fork holding locked versions of its own outlives its lease:
		// the lease moves to the end of its longest retention (or an
		// hour on, for a legal hold) and is looked at again then.
		locked, err := a.lockedVersions(b)
		if err != nil {
			return err
		}
		if locked.any {
			if err := a.del(k); err != nil {
				return err
			}
			// Its keys lose it now, as at the end of any lease; the fork
			// stays, for the root key only.
			if err := a.unscopeBucket(b); err != nil {
				return err
			}
			return a.setLease(b.ID, max(locked.until, c.Now+leaseLockRecheck))
		}
		// retireBucket removes the lease and its index key.
		if err := a.retireBucket(b); err != nil {
			return err
		}
		res.Buckets = append(res.Buckets, *b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.More = more
	// Expired keys.
	more, err = a.consumeIndex(pfxKeyByExpiry, indexEnd(pfxKeyByExpiry, now), expireKeysPerCommand, func(ik []byte) error {
		if len(ik) < 9 {
			return fmt.Errorf("%w: key expiry index key", ErrCorrupt)
		}
		id, _, ok := readName(ik[9:])
		if !ok {
			return fmt.Errorf("%w: key expiry index key", ErrCorrupt)
		}
		k, err := a.r.accessKey(id)
		if err != nil {
			return err
		}
		if k == nil {
			return fmt.Errorf("%w: expiry index names missing key %q", ErrCorrupt, id)
		}
		// removeKey removes the key and its index entries.
		if err := a.removeKey(k); err != nil {
			return err
		}
		res.Keys = append(res.Keys, AccessKey{ID: id})
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.More = res.More || more
	return res, nil
}
