package meta

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Object Lock (S3's WORM retention). A bucket created with Object Lock
// enabled is versioned for good (its versioning cannot be suspended) and
// may have a default retention rule; each object version carries its own
// lock: a retention mode and date, and a legal hold. A version under an
// active lock cannot be removed by anyone, through any path: DeleteObject
// and DeleteObjects by version id, DeleteBucket, a merge (which only ever
// adds versions to a locked parent), the lease expiry of a fork, a
// snapshot delete and the GC passes that follow, and chunk GC (a version's
// chunks lose their references only when its record is removed). Every
// one of those paths asks MayRemove. GOVERNANCE retention can be bypassed
// by a request that says so (DeleteObject(s), PutObjectRetention with
// BypassGovernance); COMPLIANCE retention cannot be shortened or removed
// at all; a legal hold must be released first.
//
// The lock of a version is a property of the stored version, not of a
// point in time: a change of retention or legal hold rewrites the
// version's record in place, so a snapshot or a fork shows the version's
// current lock. Time is the applying command's version (the proposer's
// stamped clock, Unix nanoseconds), never a clock read in apply.
//
// Forks: a fork starts with its source's Object Lock configuration (like
// its versioning and access settings), so its own writes are locked by the
// fork's rule; its parent's versions stay locked where they live (a fork
// cannot delete its parent's versions anyway, and a retention change on an
// inherited version is refused: it would not protect the parent's copy).
// A fork that holds locked versions of its own outlives its lease: the
// lease expiry takes it out of every key's scope, as at the end of any
// lease, but moves its lease to the end of the longest retention (an hour
// on for a legal hold) instead of deleting it.

// LockMode is an Object Lock retention mode.
type LockMode uint8

const (
	// LockNone is no retention.
	LockNone LockMode = iota
	// LockGovernance may be shortened or removed by a request that
	// bypasses governance retention.
	LockGovernance
	// LockCompliance may only be extended, by anyone.
	LockCompliance
)

// String returns the S3 spelling ("", "GOVERNANCE", "COMPLIANCE").
func (m LockMode) String() string {
	switch m {
	case LockGovernance:
		return "GOVERNANCE"
	case LockCompliance:
		return "COMPLIANCE"
	}
	return ""
}

// ParseLockMode parses "GOVERNANCE" or "COMPLIANCE".
func ParseLockMode(s string) (LockMode, bool) {
	switch s {
	case "GOVERNANCE":
		return LockGovernance, true
	case "COMPLIANCE":
		return LockCompliance, true
	}
	return LockNone, false
}

// ObjectLock is a bucket's Object Lock configuration: whether it is
// enabled and its default retention (Mode LockNone: none; else exactly one
// of Days and Years is positive).
type ObjectLock struct {
	Enabled bool
	Mode    LockMode
	Days    int
	Years   int
}

// Retention returns the retain-until date (Unix ns) the default rule
// gives a version written at version v, rounded up to a whole second (S3
// shows dates to the millisecond: a client that sets the date it read
// must not shorten it); 0 when there is no rule.
func (l ObjectLock) Retention(v uint64) int64 {
	if !l.Enabled || l.Mode == LockNone {
		return 0
	}
	const day, second = int64(24 * 60 * 60 * 1e9), int64(1e9)
	days := int64(l.Days) + 365*int64(l.Years)
	t := int64(v) + days*day
	return (t + second - 1) / second * second
}

// maxRetentionDays bounds a default retention (AWS: 100 years).
const maxRetentionDays = 36500

// Locked reports whether o is under an active lock at now (Unix ns): a
// legal hold, or a retention date after now.
func (o *Object) Locked(now uint64) bool {
	return o.LegalHold || (o.LockMode != LockNone && o.RetainUntil > int64(now))
}

// MayRemove is the one decision of whether object version o may be
// removed (deleted by version id, superseded, dropped by a GC pass, an
// expiration or a bucket's deletion) at now, the applying command's
// version. bypassGovernance is true only for a request that asked to
// bypass governance retention and was allowed to; automatic paths
// (lifecycle, GC, lease expiry, merges) pass false. It returns nil or an
// error wrapping ErrObjectLocked.
func MayRemove(o *Object, now uint64, bypassGovernance bool) error {
	if o.LegalHold {
		return fmt.Errorf("%w: %q version %d is under a legal hold", ErrObjectLocked, o.Key, o.Version)
	}
	if o.LockMode == LockNone || o.RetainUntil <= int64(now) {
		return nil
	}
	if o.LockMode == LockGovernance && bypassGovernance {
		return nil
	}
	return fmt.Errorf("%w: %q version %d is retained in %s mode", ErrObjectLocked, o.Key, o.Version, o.LockMode)
}

// SetObjectLockConfig replaces a bucket's Object Lock configuration.
// Enabling Object Lock on an existing bucket requires its versioning to be
// Enabled (ErrInvalidBucketState); a rule on a bucket without Object Lock
// is ErrInvalidBucketState too; Object Lock, once enabled, stays.
type SetObjectLockConfig struct {
	Header
	Bucket string
	Lock   ObjectLock
}

// SetObjectLock changes the retention and/or the legal hold of one
// version (the latest when VersionID is "") of Bucket's own layer.
// Shortening or removing an active retention, or changing its mode, is
// ErrObjectLocked unless it is GOVERNANCE and BypassGovernance is set;
// COMPLIANCE retention can only be extended.
type SetObjectLock struct {
	Header
	Bucket           string
	Key              string
	VersionID        string
	SetRetention     bool
	Mode             LockMode
	RetainUntil      int64
	SetLegalHold     bool
	LegalHold        bool
	BypassGovernance bool
}

// checkLockRule validates a default retention rule.
func checkLockRule(l ObjectLock) error {
	if l.Mode == LockNone {
		if l.Days != 0 || l.Years != 0 {
			return fmt.Errorf("%w: a default retention needs a mode", ErrInvalidLockRequest)
		}
		return nil
	}
	if l.Mode > LockCompliance || (l.Days > 0) == (l.Years > 0) || l.Days < 0 || l.Years < 0 ||
		l.Days > maxRetentionDays || l.Years > maxRetentionDays/365 {
		return fmt.Errorf("%w: a default retention needs a positive Days or Years, not both", ErrInvalidLockRequest)
	}
	return nil
}

func (a *applier) setObjectLockConfig(c *SetObjectLockConfig) (*Result, error) {
	b, err := a.r.liveBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	if !c.Lock.Enabled {
		return nil, fmt.Errorf("%w: Object Lock cannot be disabled", ErrInvalidLockRequest)
	}
	if err := checkLockRule(c.Lock); err != nil {
		return nil, err
	}
	if !b.Lock.Enabled && b.Versioning != VersioningEnabled {
		return nil, fmt.Errorf("%w: versioning must be Enabled on %q to enable Object Lock", ErrInvalidBucketState, c.Bucket)
	}
	b.Lock = c.Lock
	return nil, a.putBucket(b)
}

func (a *applier) setObjectLock(c *SetObjectLock) (*Result, error) {
	b, err := a.r.liveBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	if !b.Lock.Enabled {
		return nil, fmt.Errorf("%w: bucket %q is missing Object Lock configuration", ErrInvalidLockRequest, c.Bucket)
	}
	o, _, owner, err := a.r.locate(b, c.Key, c.VersionID, latest)
	if err != nil {
		// A version inherited from the parent on another shard (the
		// command carries it, xannotate.go) lives in the parent too.
		if o, err = a.carriedVersion(err, c.Key, c.VersionID); err != nil {
			return nil, err
		}
		owner = -1
	}
	if owner != 0 {
		return nil, fmt.Errorf("%w: %q version %s lives in the fork's parent", ErrInvalidLockRequest, c.Key, VersionID(o))
	}
	next := *o
	if c.SetRetention {
		if c.Mode > LockCompliance || (c.Mode == LockNone) != (c.RetainUntil == 0) {
			return nil, fmt.Errorf("%w: retention needs a mode and a date", ErrInvalidLockRequest)
		}
		next.LockMode, next.RetainUntil = c.Mode, c.RetainUntil
		if o.LockMode != LockNone && o.RetainUntil > int64(a.version) {
			weaker := next.LockMode != o.LockMode || next.RetainUntil < o.RetainUntil
			if weaker && (o.LockMode == LockCompliance || !c.BypassGovernance) {
				return nil, fmt.Errorf("%w: %q version %s is retained in %s mode until %d", ErrObjectLocked,
					c.Key, VersionID(o), o.LockMode, o.RetainUntil)
			}
		}
	}
	if c.SetLegalHold {
		next.LegalHold = c.LegalHold
	}
	out := &Object{Key: o.Key, Version: o.Version, Null: o.Null, LockMode: next.LockMode, RetainUntil: next.RetainUntil, LegalHold: next.LegalHold}
	if next.LockMode == o.LockMode && next.RetainUntil == o.RetainUntil && next.LegalHold == o.LegalHold {
		return &Result{Object: out}, nil
	}
	// The record is rewritten in place (with its inline body): the lock
	// is a property of the stored version.
	rec, err := a.r.findVersion(b.ID, o.Key, o.Null, o.Version, latest)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, fmt.Errorf("%w: %q version %s", ErrNoSuchVersion, c.Key, VersionID(o))
	}
	rec.LockMode, rec.RetainUntil, rec.LegalHold = next.LockMode, next.RetainUntil, next.LegalHold
	return &Result{Object: out}, a.putRecord(b.ID, rec)
}

// applyDefaultLock gives o, about to be written into b, the lock it
// carries or b's default retention; a lock on a version of a bucket
// without Object Lock is ErrInvalidLockRequest when strict (a client's
// write), else dropped (a merge into such a bucket).
func (a *applier) applyDefaultLock(b *Bucket, o *Object, strict bool) error {
	if !b.Lock.Enabled {
		if o.LockMode != LockNone || o.LegalHold || o.RetainUntil != 0 {
			if strict {
				return fmt.Errorf("%w: bucket %q is missing Object Lock configuration", ErrInvalidLockRequest, b.Name)
			}
			o.LockMode, o.RetainUntil, o.LegalHold = LockNone, 0, false
		}
		return nil
	}
	if o.DeleteMarker {
		o.LockMode, o.RetainUntil, o.LegalHold = LockNone, 0, false
		return nil
	}
	if o.LockMode == LockNone && o.RetainUntil == 0 && b.Lock.Mode != LockNone {
		o.LockMode, o.RetainUntil = b.Lock.Mode, b.Lock.Retention(a.version)
	}
	if (o.LockMode == LockNone) != (o.RetainUntil == 0) || o.LockMode > LockCompliance {
		return fmt.Errorf("%w: retention needs a mode and a date", ErrInvalidLockRequest)
	}
	return nil
}

// LockScan is what lockedVersions found in a bucket's own layer.
type lockScan struct {
	any bool
	// until is the latest retention date among the locked versions (Unix
	// ns, 0 if none is retained); hold says one is under a legal hold.
	until int64
	hold  bool
}

// lockedVersions scans b's own layer for versions MayRemove refuses at
// the current version (bypassing nothing). Buckets that never had Object
// Lock hold none and are not scanned.
func (a *applier) lockedVersions(b *Bucket) (lockScan, error) {
	var s lockScan
	if !b.Lock.Enabled {
		return s, nil
	}
	prefix := keyObjectBucket(b.ID)
	it := a.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		_, key, version, ok := parseObjectKey(item.Key())
		if !ok {
			return s, fmt.Errorf("%w: object key", ErrCorrupt)
		}
		err := item.Value(func(v []byte) error {
			o, err := decodeObjectRecord(key, version, v, false)
			if err != nil {
				return err
			}
			if MayRemove(o, a.version, false) == nil {
				return nil
			}
			s.any = true
			s.hold = s.hold || o.LegalHold
			if o.LockMode != LockNone && o.RetainUntil > s.until {
				s.until = o.RetainUntil
			}
			return nil
		})
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

// leaseLockRecheck is how far a lease expiry moves the lease of a fork
// whose locked versions have no later retention date (a legal hold).
const leaseLockRecheck = int64(60 * 60 * 1e9)
