package meta

import "fmt"

// CreateForks: N forks of one source at one base, all or none. The first
// step checks everything (source, base, depth, every name and key id);
// each step then creates whole forks (record, name, fork index entry,
// lease, key) until its budget is spent. State: the next fork's index and
// the shared base.

func (c *CreateForks) step(a *applier, state []byte) ([]byte, *Result, bool, error) {
	var next int
	var base uint64
	if state == nil {
		b, err := a.planForks(c)
		if err != nil {
			return nil, nil, false, err
		}
		base = b
	} else {
		d := decoder{b: state}
		next, base = d.int(), d.uvarint()
		if err := d.done(); err != nil {
			return nil, nil, false, err
		}
	}
	src, err := a.r.liveBucket(c.Source)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%w: fork source vanished mid-command", ErrCorrupt)
	}
	for ; next < len(c.Names); next++ {
		if next > 0 && a.spent() {
			e := encoder{}
			e.int(next)
			e.uvarint(base)
			return e.b, nil, false, nil
		}
		if err := a.createFork(c, next, src, base); err != nil {
			return nil, nil, false, err
		}
	}
	res := &Result{}
	for _, name := range c.Names {
		b, err := a.r.Bucket(name)
		if err != nil {
			return nil, nil, false, err
		}
		res.Buckets = append(res.Buckets, *b)
	}
	for i := range c.Keys {
		k, err := a.r.accessKey(c.Keys[i].ID)
		if err != nil {
			return nil, nil, false, err
		}
		k.Sealed = nil
		res.Keys = append(res.Keys, *k)
	}
	return nil, res, true, nil
}

// planForks checks a CreateForks before anything is written and returns
// the forks' base.
func (a *applier) planForks(c *CreateForks) (uint64, error) {
	_, base, err := a.forkPoint(c.Source, c.ForkVersion, c.ForkSnapshotName, c.MaxForkDepth)
	if err != nil {
		return 0, err
	}
	if c.Owner != "" && a.shard <= DirectoryShard {
		// Forks for a user: the user must still exist (users live in the
		// directory shard; on another the proposer checked there).
		if _, err := a.r.User(c.Owner); err != nil {
			return 0, err
		}
	}
	if len(c.Keys) != 0 && len(c.Keys) != len(c.Names) {
		return 0, fmt.Errorf("%w: %d keys for %d forks", ErrCorrupt, len(c.Keys), len(c.Names))
	}
	names := make(map[string]bool, len(c.Names))
	for _, n := range c.Names {
		if names[n] {
			return 0, fmt.Errorf("%w: %q named twice", ErrBucketExists, n)
		}
		names[n] = true
		if ok, err := exists(a.txn, keyBucketName(n)); err != nil || ok {
			if err == nil {
				err = fmt.Errorf("%w: %q", ErrBucketExists, n)
			}
			return 0, err
		}
	}
	ids := make(map[string]bool, len(c.Keys))
	for i := range c.Keys {
		k := &c.Keys[i]
		if ids[k.ID] || k.ID == "" || len(k.Sealed) == 0 {
			return 0, fmt.Errorf("%w: key %q repeated or empty", ErrAccessKeyExists, k.ID)
		}
		ids[k.ID] = true
		if ok, err := exists(a.txn, keyAccessKey(k.ID)); err != nil || ok {
			if err == nil {
				err = fmt.Errorf("%w: %q", ErrAccessKeyExists, k.ID)
			}
			return 0, err
		}
	}
	if c.Grant != "" {
		k, err := a.r.accessKey(c.Grant)
		if err != nil {
			return 0, err
		}
		if k == nil {
			return 0, fmt.Errorf("%w: %q", ErrNoSuchAccessKey, c.Grant)
		}
		if len(k.Buckets)+len(c.Names) > MaxKeyBuckets {
			return 0, fmt.Errorf("%w: key %q would name more than %d buckets", ErrKeyLimit, c.Grant, MaxKeyBuckets)
		}
	}
	return base, nil
}

// grantExpiry is the lease of a fork made with key id (Grant): the
// earliest of expires (the batch's lease, 0 = none), the key's own expiry
// and the leases of the buckets of its scope, so that a fork never
// outlives the key that made it nor the sandbox it was made from; 0 when
// none of them ends.
func (a *applier) grantExpiry(id string, expires int64) (int64, error) {
	k, err := a.r.AccessKey(id)
	if err != nil {
		return 0, err
	}
	earliest := func(x int64) {
		if x != 0 && (expires == 0 || x < expires) {
			expires = x
		}
	}
	earliest(k.Expires)
	for _, b := range k.Buckets {
		earliest(b.Expires)
	}
	return expires, nil
}

// createFork creates fork i of c (checked by planForks).
func (a *applier) createFork(c *CreateForks, i int, src *Bucket, base uint64) error {
	b := &Bucket{
		Name: c.Names[i], Region: c.Region, Created: int64(a.version), State: BucketLive,
		Parent: &Parent{BucketID: src.ID, Version: base}, Versioning: src.Versioning,
		Ownership: src.Ownership, ACL: src.ACL, Lock: src.Lock, Owner: c.Owner,
	}
	if err := a.inheritConfig(b, src, base); err != nil {
		return err
	}
	if err := a.insertBucket(b); err != nil {
		return err
	}
	expires := c.Expires
	if c.Grant != "" {
		var err error
		if expires, err = a.grantExpiry(c.Grant, expires); err != nil {
			return err
		}
	}
	if expires != 0 {
		if err := a.setLease(b.ID, expires); err != nil {
			return err
		}
	}
	if len(c.Keys) > 0 {
		k := c.Keys[i]
		k.Buckets = []KeyBucket{{ID: b.ID, Name: b.Name}}
		if err := a.putKey(&k); err != nil {
			return err
		}
		if c.Owner != "" {
			// The user's key: it goes with the user (user.go).
			if err := a.set(keyUserKey(k.ID), encodeUserKey(UserKey{User: c.Owner})); err != nil {
				return err
			}
		}
	}
	if c.Grant != "" {
		return a.grantKey(c.Grant, b)
	}
	return nil
}
