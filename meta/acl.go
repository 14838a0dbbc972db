package meta

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Access settings: S3 Object Ownership and canned ACLs. meta stores them
// and keeps the two rules that tie them together, checked in apply so they
// hold whatever runs concurrently:
//   - under OwnershipEnforced (ACLs disabled) nothing gets a non-private
//     ACL: not the bucket, not a new object, not an object's annotation
//     (ErrACLNotSupported);
//   - a bucket whose ACL is not private cannot become OwnershipEnforced
//     (ErrInvalidBucketACL).
//
// An ACL is a canned ACL name; "" is private (the owner has full control,
// nobody else anything). meta does not interpret the names beyond that:
// what each grants, and to whom, is decided by the S3 front end.
//
// An object's ACL is written with the version (PutObject, CopyObject,
// multipart uploads) and changed by annotations (annotation.go), so a
// snapshot shows the ACL it saw and a fork reads its parent's ACLs as of
// its base. A bucket's ownership and ACL live in its record; a fork starts
// with its source's.
//
// Reads at a version (a snapshot, an instant of the history window) are
// authorized by the settings the bucket had at that version, not today's:
// creating a bucket and every change of its settings also write an
// access record keyed by (bucket id, ^version) holding the settings in
// force from that version on, and BucketAt reads the newest one at or
// below the version read. A bucket created before access records were
// kept has none for its past: BucketAt says so (AccessUnknown) and the
// front end refuses what only an ACL would have allowed. Retention: a
// change drops the record it replaces unless a pin of the bucket (a
// snapshot, a fork base, the history window) lies in [that record's
// version, the change); the records go when the bucket's record is
// purged.

// checkACL refuses a non-private ACL on a bucket whose ownership setting
// disables ACLs.
func checkACL(b *Bucket, acl string) error {
	if acl != "" && !b.Ownership.ACLsEnabled() {
		return fmt.Errorf("%w: bucket %q, ACL %q", ErrACLNotSupported, b.Name, acl)
	}
	return nil
}

// checkAccess validates a bucket's ownership and ACL together.
func checkAccess(name string, o Ownership, acl string) error {
	if acl != "" && !o.ACLsEnabled() {
		return fmt.Errorf("%w: bucket %q, ACL %q", ErrInvalidBucketACL, name, acl)
	}
	return nil
}

func (a *applier) setBucketAccess(c *SetBucketAccess) (*Result, error) {
	b, err := a.writableBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	next := *b
	if c.SetOwnership {
		next.Ownership = c.Ownership
	}
	if c.SetACL {
		if err := checkACL(&next, c.ACL); err != nil {
			return nil, err
		}
		next.ACL = c.ACL
	}
	if err := checkAccess(b.Name, next.Ownership, next.ACL); err != nil {
		return nil, err
	}
	if next.Ownership == b.Ownership && next.ACL == b.ACL {
		return nil, nil
	}
	if err := a.replaceAccessRecord(&next, nil); err != nil {
		return nil, err
	}
	return nil, a.putBucket(&next)
}

// accessRecord is the value of a bucket access record: the settings in
// force from its version on. Format 1 holds ownership and ACL; format 2
// adds the bucket policy, the public access block and the bucket's tags
// (bucketconfig.go) and the owning user (user.go).
type accessRecord struct {
	ownership Ownership
	acl       string
	policy    string
	pab       PublicAccessBlock
	tags      map[string]string
	owner     string // the owning user ("" the root account; user.go)
}

func accessOf(b *Bucket) accessRecord {
	return accessRecord{ownership: b.Ownership, acl: b.ACL, policy: b.Policy, pab: b.PublicAccessBlock, tags: b.Tags, owner: b.Owner}
}

func encodeAccessRecord(x accessRecord) []byte {
	e := encoder{}
	e.u8(fmtV2)
	e.u8(byte(x.ownership))
	e.str(x.acl)
	e.str(x.policy)
	e.u8(byte(x.pab))
	e.stringMap(x.tags)
	e.str(x.owner)
	return e.b
}

func decodeAccessRecord(v []byte) (accessRecord, error) {
	d := decoder{b: v}
	d.fmtByte()
	var x accessRecord
	x.ownership, x.acl = Ownership(d.u8()), d.str()
	if d.v2 {
		x.policy, x.pab, x.tags, x.owner = d.str(), PublicAccessBlock(d.u8()), d.stringMap(), d.str()
	}
	return x, d.done()
}

// putAccessRecord records b's settings as in force from this command's
// version on (a new bucket).
func (a *applier) putAccessRecord(b *Bucket) error {
	return a.set(keyBucketAccess(b.ID, a.version), encodeAccessRecord(accessOf(b)))
}

// replaceAccessRecord records b's new ownership and ACL, keeping the rest
// of its newest record (its policy, public access block and tags) with
// change applied to it, and drops the record they replace when no read
// can be at a version it decides.
func (a *applier) replaceAccessRecord(b *Bucket, change func(*accessRecord)) error {
	it := txnKeysOnly(a.txn, keyBucketAccessPrefix(b.ID))
	it.Rewind()
	var prev []byte
	if it.Valid() {
		prev = it.Item().KeyCopy(nil)
	}
	it.Close()
	next := accessOf(b)
	if prev != nil {
		v, ok, err := getValue(a.txn, prev)
		if err != nil {
			return err
		}
		if ok {
			old, err := decodeAccessRecord(v)
			if err != nil {
				return err
			}
			next.policy, next.pab, next.tags, next.owner = old.policy, old.pab, old.tags, old.owner
		}
	}
	if change != nil {
		change(&next)
	}
	if err := a.set(keyBucketAccess(b.ID, a.version), encodeAccessRecord(next)); err != nil {
		return err
	}
	if prev == nil || len(prev) != 17 {
		return nil
	}
	prevVersion := ^beTail(prev)
	if prevVersion == a.version {
		return nil
	}
	pins, err := a.pinsFor(b)
	if err != nil {
		return err
	}
	if pins.covers(prevVersion, a.version) {
		return nil
	}
	return a.del(prev)
}

// dropAccessRecords removes every access record of a purged bucket.
func (a *applier) dropAccessRecords(bucket uint64) error {
	_, err := a.delPrefix(keyBucketAccessPrefix(bucket))
	return err
}

// accessAt returns b's access record as of t (t may be latest); ok is
// false when no record says (b is older than its access records).
func (r *Reader) accessAt(b *Bucket, t uint64) (x accessRecord, ok bool, err error) {
	prefix := keyBucketAccessPrefix(b.ID)
	it := r.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	if t == latest {
		it.Rewind()
	} else {
		it.Seek(appendU64(append([]byte(nil), prefix...), ^t))
	}
	if !it.Valid() {
		return x, false, nil
	}
	err = it.Item().Value(func(v []byte) (err error) {
		x, err = decodeAccessRecord(v)
		return err
	})
	return x, err == nil, err
}

// BucketAt returns a live bucket as Bucket does, with its access settings
// (ownership, ACL, policy, public access block, tags) as of at: 0 is now;
// any other version must be readable (a snapshot of the bucket or a
// version in the history window, see checkAt), else the error of a read
// at it. Where the settings at that version are not recorded,
// AccessUnknown is set and they are today's ownership and ACL, with no
// policy, public access block or tags.
func (r *Reader) BucketAt(name string, at uint64) (*Bucket, error) {
	b, err := r.Bucket(name)
	if err != nil {
		return b, err
	}
	t := uint64(latest)
	if at != 0 {
		if t, err = r.checkAt(b, at); err != nil {
			return nil, err
		}
	}
	x, ok, err := r.accessAt(b, t)
	if err != nil {
		return nil, err
	}
	if !ok {
		b.AccessUnknown = at != 0
		return b, nil
	}
	if at != 0 {
		b.Ownership, b.ACL = x.ownership, x.acl
	}
	b.Policy, b.PublicAccessBlock, b.Tags, b.Owner = x.policy, x.pab, x.tags, x.owner
	return b, nil
}
