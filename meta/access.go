package meta

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
)

// Scoped access keys. A key names the buckets it may use; it is indexed
// by each of them (key by bucket) so that deleting a bucket removes it
// from every scope in the same command, and by its expiry so that the
// leader's collector finds expired keys without a scan. Every command
// that changes a key, or the lease of a bucket a key may use, moves the
// keys generation counter, which nodes watch to drop their cached keys.

// Limits that keep one command's writes bounded.
const (
	// MaxKeyBuckets bounds the buckets of one key's scope.
	MaxKeyBuckets = 100
	// MaxBucketKeys bounds the keys that may use one bucket.
	MaxBucketKeys = 1000
	// expireKeysPerCommand bounds the expired keys one ExpireLeases removes.
	expireKeysPerCommand = 256
)

func encodeAccessKey(e *encoder, k *AccessKey) {
	e.str(k.ID)
	e.bytes(k.Sealed)
	e.uvarint(uint64(len(k.Buckets)))
	for _, b := range k.Buckets {
		e.uvarint(b.ID)
		e.str(b.Name)
	}
	e.str(k.Prefix)
	e.boolean(k.ReadOnly)
	e.varint(k.Created)
	e.varint(k.Expires)
	e.boolean(k.AllowForks)
	e.str(k.ForkPrefix)
}

func decodeAccessKey(d *decoder) AccessKey {
	k := AccessKey{ID: d.str(), Sealed: d.bytes()}
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		k.Buckets = append(k.Buckets, KeyBucket{ID: d.uvarint(), Name: d.str()})
	}
	k.Prefix = d.str()
	k.ReadOnly = d.boolean()
	k.Created = d.varint()
	k.Expires = d.varint()
	if d.v4 {
		k.AllowForks = d.boolean()
		k.ForkPrefix = d.str()
	}
	return k
}

func encodeAccessKeyRecord(k *AccessKey) []byte {
	e := encoder{b: make([]byte, 0, 96+len(k.Sealed)+24*len(k.Buckets)+len(k.ForkPrefix))}
	e.u8(fmtV4)
	encodeAccessKey(&e, k)
	return e.b
}

func decodeAccessKeyRecord(v []byte) (*AccessKey, error) {
	d := decoder{b: v}
	d.fmtByte()
	k := decodeAccessKey(&d)
	return &k, d.done()
}

// --- reads ---

// accessKey returns a stored key, nil if none.
func (r *Reader) accessKey(id string) (*AccessKey, error) {
	v, ok, err := getValue(r.txn, keyAccessKey(id))
	if err != nil || !ok {
		return nil, err
	}
	return decodeAccessKeyRecord(v)
}

// AccessKey returns a key with the leases of its buckets filled in. It
// fails with ErrNoSuchAccessKey.
func (r *Reader) AccessKey(id string) (*AccessKey, error) {
	k, err := r.accessKey(id)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchAccessKey, id)
	}
	for i := range k.Buckets {
		if k.Buckets[i].Expires, err = r.lease(k.Buckets[i].ID); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// AccessKeys lists the keys (ordered by id), or only those that may use
// bucket when it is not "". Secrets stay sealed.
func (r *Reader) AccessKeys(bucket string) ([]AccessKey, error) {
	var ids []string
	if bucket != "" {
		b, err := r.liveBucket(bucket)
		if err != nil {
			return nil, err
		}
		p := keyKeyByBucketPrefix(b.ID)
		it := txnKeysOnly(r.txn, p)
		for it.Rewind(); it.Valid(); it.Next() {
			id, _, ok := readName(it.Item().Key()[len(p):])
			if !ok {
				it.Close()
				return nil, fmt.Errorf("%w: key-by-bucket key", ErrCorrupt)
			}
			ids = append(ids, id)
		}
		it.Close()
	} else {
		it := txnKeysOnly(r.txn, []byte{pfxAccessKey})
		for it.Rewind(); it.Valid(); it.Next() {
			id, _, ok := readName(it.Item().Key()[1:])
			if !ok {
				it.Close()
				return nil, fmt.Errorf("%w: access key key", ErrCorrupt)
			}
			ids = append(ids, id)
		}
		it.Close()
	}
	out := make([]AccessKey, 0, len(ids))
	for _, id := range ids {
		k, err := r.AccessKey(id)
		if err != nil {
			return nil, err
		}
		out = append(out, *k)
	}
	return out, nil
}

// KeysGeneration is the version of the last change to any access key or
// to the lease of a bucket some key may use (0 before the first).
func (r *Reader) KeysGeneration() (uint64, error) {
	return getCounter(r.txn, ctrKeysGeneration)
}

// lease returns a bucket's lease (0 = none).
func (r *Reader) lease(bucket uint64) (int64, error) {
	v, ok, err := getValue(r.txn, keyLease(bucket))
	if err != nil || !ok {
		return 0, err
	}
	e, err := decodeU64Value(v)
	return int64(e), err
}

// NextExpiry returns the earliest lease of a fork and the earliest expiry
// of an access key (0 when there is none), so that the collector proposes
// ExpireLeases only when something is due.
func (r *Reader) NextExpiry() (fork, key int64, err error) {
	first := func(p byte) int64 {
		it := txnKeysOnly(r.txn, []byte{p})
		defer it.Close()
		it.Rewind()
		if !it.Valid() {
			return 0
		}
		k := it.Item().Key()
		if len(k) < 9 {
			err = fmt.Errorf("%w: expiry index key", ErrCorrupt)
			return 0
		}
		return int64(beTail(k[:9]))
	}
	fork = first(pfxLeaseByTime)
	key = first(pfxKeyByExpiry)
	return fork, key, err
}

// --- apply ---

// bumpKeys moves the keys generation to this command's version.
func (a *applier) bumpKeys() error {
	return a.set(keyCounter(ctrKeysGeneration), u64Value(a.version))
}

// checkNewKey validates a key a command is about to store: a fresh id, a
// scope of live buckets that is not too large and of buckets that do not
// have too many keys. It resolves the bucket ids in k. extra are buckets
// created by the same command (they resolve without a name lookup).
func (a *applier) checkNewKey(k *AccessKey, extra ...*Bucket) error {
	return a.checkKey(k, false, extra...)
}

// checkKey is checkNewKey; across accepts buckets of other shards (by an
// ID of theirs) unchecked: the home copy of a key across shards.
func (a *applier) checkKey(k *AccessKey, across bool, extra ...*Bucket) error {
	if k.ID == "" || len(k.Sealed) == 0 {
		return fmt.Errorf("%w: empty id or secret", ErrCorrupt)
	}
	if ok, err := exists(a.txn, keyAccessKey(k.ID)); err != nil || ok {
		if err == nil {
			err = fmt.Errorf("%w: %q", ErrAccessKeyExists, k.ID)
		}
		return err
	}
	if len(k.Buckets) == 0 || len(k.Buckets) > MaxKeyBuckets {
		return fmt.Errorf("%w: a key names 1 to %d buckets, not %d", ErrKeyLimit, MaxKeyBuckets, len(k.Buckets))
	}
	seen := map[string]bool{}
	for i := range k.Buckets {
		kb := &k.Buckets[i]
		if seen[kb.Name] {
			return fmt.Errorf("%w: bucket %q named twice", ErrKeyLimit, kb.Name)
		}
		seen[kb.Name] = true
		if j := slices.IndexFunc(extra, func(b *Bucket) bool { return b.Name == kb.Name }); j >= 0 {
			kb.ID = extra[j].ID
			continue
		}
		if across && kb.ID != 0 && ShardOfBucketID(kb.ID) != max(a.shard, DirectoryShard) {
			continue
		}
		b, err := a.r.liveBucket(kb.Name)
		if err != nil {
			return err
		}
		kb.ID = b.ID
		n, err := a.countKeys(b.ID)
		if err != nil {
			return err
		}
		if n >= MaxBucketKeys {
			return fmt.Errorf("%w: bucket %q already has %d keys", ErrKeyLimit, kb.Name, n)
		}
	}
	return nil
}

// countKeys counts the keys that may use a bucket, up to MaxBucketKeys.
func (a *applier) countKeys(bucket uint64) (int, error) {
	it := txnKeysOnly(a.txn, keyKeyByBucketPrefix(bucket))
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid() && n < MaxBucketKeys; it.Next() {
		n++
	}
	return n, nil
}

// putKey writes a checked key and its index entries.
func (a *applier) putKey(k *AccessKey) error {
	k.Created = int64(a.version)
	if err := a.set(keyAccessKey(k.ID), encodeAccessKeyRecord(k)); err != nil {
		return err
	}
	for _, b := range k.Buckets {
		if err := a.set(keyKeyByBucket(b.ID, k.ID), []byte{fmtV1}); err != nil {
			return err
		}
	}
	if k.Expires != 0 {
		if err := a.setIndexed(keyKeyByExpiry(k.Expires, k.ID)); err != nil {
			return err
		}
	}
	return a.bumpKeys()
}

// removeKey deletes a key and its index entries.
func (a *applier) removeKey(k *AccessKey) error {
	if err := a.del(keyAccessKey(k.ID)); err != nil {
		return err
	}
	// A user's key (user.go): its index entry goes with it.
	if err := a.del(keyUserKey(k.ID)); err != nil {
		return err
	}
	for _, b := range k.Buckets {
		if err := a.del(keyKeyByBucket(b.ID, k.ID)); err != nil {
			return err
		}
	}
	if k.Expires != 0 {
		if err := a.del(keyKeyByExpiry(k.Expires, k.ID)); err != nil {
			return err
		}
	}
	return a.bumpKeys()
}

func (a *applier) createAccessKey(c *CreateKey) (*Result, error) {
	k := c.Key
	k.Buckets = slices.Clone(k.Buckets)
	if err := a.checkKey(&k, c.Across); err != nil {
		return nil, err
	}
	if err := a.putKey(&k); err != nil {
		return nil, err
	}
	k.Sealed = nil
	return &Result{Keys: []AccessKey{k}}, nil
}

func (a *applier) deleteAccessKey(c *DeleteKey) (*Result, error) {
	k, err := a.r.accessKey(c.ID)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchAccessKey, c.ID)
	}
	return nil, a.removeKey(k)
}

func (a *applier) resealKeys(c *ResealKeys) (*Result, error) {
	changed := false
	for _, it := range c.Items {
		k, err := a.r.accessKey(it.ID)
		if err != nil {
			return nil, err
		}
		if k == nil || !bytes.Equal(k.Sealed, it.Old) || len(it.New) == 0 {
			continue
		}
		k.Sealed = it.New
		if err := a.set(keyAccessKey(k.ID), encodeAccessKeyRecord(k)); err != nil {
			return nil, err
		}
		changed = true
	}
	if changed {
		return nil, a.bumpKeys()
	}
	return nil, nil
}

// grantKey adds buckets to an existing key's scope.
func (a *applier) grantKey(id string, bs ...*Bucket) error {
	k, err := a.r.accessKey(id)
	if err != nil {
		return err
	}
	if k == nil {
		return fmt.Errorf("%w: %q", ErrNoSuchAccessKey, id)
	}
	if len(k.Buckets)+len(bs) > MaxKeyBuckets {
		return fmt.Errorf("%w: key %q would name more than %d buckets", ErrKeyLimit, id, MaxKeyBuckets)
	}
	for _, b := range bs {
		k.Buckets = append(k.Buckets, KeyBucket{ID: b.ID, Name: b.Name})
		if err := a.set(keyKeyByBucket(b.ID, k.ID), []byte{fmtV1}); err != nil {
			return err
		}
	}
	if err := a.set(keyAccessKey(k.ID), encodeAccessKeyRecord(k)); err != nil {
		return err
	}
	return a.bumpKeys()
}

// forgetBucket runs when a bucket is deleted: the bucket leaves the scope
// of every key that names it (a key left with no bucket is deleted), and
// its lease and merge points (its own and those of its forks) go away.
func (a *applier) forgetBucket(b *Bucket) error {
	if err := a.unscopeBucket(b); err != nil {
		return err
	}
	if err := a.setLease(b.ID, 0); err != nil {
		return err
	}
	return a.forgetMergePoints(b)
}

// unscopeBucket removes b from the scope of every key (a key left with no
// bucket is removed).
func (a *applier) unscopeBucket(b *Bucket) error {
	p := keyKeyByBucketPrefix(b.ID)
	var ids []string
	it := txnKeysOnly(a.txn, p)
	for it.Rewind(); it.Valid(); it.Next() {
		id, _, ok := readName(it.Item().Key()[len(p):])
		if !ok {
			it.Close()
			return fmt.Errorf("%w: key-by-bucket key", ErrCorrupt)
		}
		ids = append(ids, id)
	}
	it.Close()
	for _, id := range ids {
		k, err := a.r.accessKey(id)
		if err != nil {
			return err
		}
		if k == nil {
			return fmt.Errorf("%w: index names missing key %q", ErrCorrupt, id)
		}
		k.Buckets = slices.DeleteFunc(k.Buckets, func(kb KeyBucket) bool { return kb.ID == b.ID })
		if err := a.del(keyKeyByBucket(b.ID, id)); err != nil {
			return err
		}
		if len(k.Buckets) == 0 {
			if err := a.removeKey(k); err != nil {
				return err
			}
			continue
		}
		if err := a.set(keyAccessKey(id), encodeAccessKeyRecord(k)); err != nil {
			return err
		}
		if err := a.bumpKeys(); err != nil {
			return err
		}
	}
	return nil
}

// forgetMergePoints removes the merge points of forks into b.
func (a *applier) forgetMergePoints(b *Bucket) error {
	// Merge points of forks into this bucket: the forks' own versions
	// those points kept may go too.
	var forks []uint64
	it := txnKeysOnly(a.txn, keyMergePointsOf(b.ID))
	for it.Rewind(); it.Valid(); it.Next() {
		if k := it.Item().Key(); len(k) == 25 {
			forks = append(forks, binary.BigEndian.Uint64(k[9:17]))
		}
	}
	it.Close()
	if _, err := a.delPrefix(keyMergePointsOf(b.ID)); err != nil {
		return err
	}
	for i, f := range forks {
		if (i > 0 && f == forks[i-1]) || ShardOfBucketID(f) != a.shard {
			continue // a fork on another shard keeps its own merge points
		}
		if err := a.markPending(f); err != nil {
			return err
		}
	}
	if b.Parent == nil {
		return nil
	}
	n, err := a.delPrefix(keyMergePointsOf(b.Parent.BucketID, b.ID))
	if err != nil || n == 0 || remoteParent(b) {
		return err // a parent on another shard: its merge points go with the pin
	}
	// The parent's versions those merge points kept may go now.
	return a.markPending(b.Parent.BucketID)
}

// delPrefix deletes every key under p and returns how many there were.
func (a *applier) delPrefix(p []byte) (int, error) {
	n, _, err := a.delPrefixUpTo(p, -1)
	return n, err
}

// delPrefixUpTo deletes up to limit keys under p (all when limit < 0) and
// reports whether more remain.
func (a *applier) delPrefixUpTo(p []byte, limit int) (int, bool, error) {
	var ks [][]byte
	more := false
	it := txnKeysOnly(a.txn, p)
	for it.Rewind(); it.Valid(); it.Next() {
		if len(ks) == limit {
			more = true
			break
		}
		ks = append(ks, it.Item().KeyCopy(nil))
	}
	it.Close()
	for _, k := range ks {
		if err := a.del(k); err != nil {
			return 0, false, err
		}
	}
	return len(ks), more, nil
}

// mergePointsOf lists the versions of the merge points under prefix p.
func (r *Reader) mergePointsOf(p []byte) ([]uint64, error) {
	var out []uint64
	it := txnKeysOnly(r.txn, p)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		out = append(out, beTail(it.Item().Key()))
	}
	return out, nil
}
