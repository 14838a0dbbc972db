package meta

import (
	"errors"
	"fmt"
	"slices"
)

// Forks on another shard than their parent.
//
// A fork may live on another metadata shard than its parent: its bucket
// record's Parent names the parent's id (whose shard ShardOfBucketID
// gives) and the fork point. Reads on the fork's shard walk the fork's own
// layer and its same-shard ancestors; when they reach the remote parent
// they answer RemoteRead (continue at that bucket and version) instead of
// "no such key", and the gateway reads the parent's shard at the fork
// point, history that no command changes any more.
//
// The parent's shard keeps the fork's base alive with an ordinary fork
// index entry (keyFork(parent, base, child)); retention, deletion of the
// parent and its purge treat it as any local fork's. Creating one is:
//
//  1. ReserveBucketIDs on the fork's shard (ids from its range);
//  2. PinRemoteForks on the parent's shard: the fork index entries and,
//     for each, an intent (keyPinIntent: name, fork shard, deadline);
//  3. CreateRemoteForks on the fork's shard (refused for an id whose
//     intent was aborted);
//  4. SettleRemotePins on the parent's shard: the intents go, the fork
//     index entries stay.
//
// Recovery (the parent shard's leader): an intent past its deadline is
// settled if AbortRemoteForks on the fork's shard says the fork exists,
// else (AbortRemoteForks recorded the abort, so a late step 3 is refused)
// its pin is released (ReleaseRemotePins). Deleting such a fork: when its
// record is purged on its shard, a release is recorded there
// (keyPinRelease); the gateway proposes ReleaseRemotePins on the parent's
// shard, then ClearPinReleases on the fork's.

// RemoteRead is the answer of a read on a fork's shard that reached the
// fork's parent on another shard without finding the key in the local
// layers (no record, no delete marker): the read goes on at BucketID (on
// shard ShardOfBucketID(BucketID)) as of version At.
type RemoteRead struct {
	BucketID uint64
	At       uint64
	// Annotated: a layer of the chain on this shard holds annotations of
	// versions inherited from there (the reader then asks for the one of
	// the version it read: Reader.InheritedAnnotation).
	Annotated bool
}

// Unwrap makes a RemoteRead an ErrRemoteParent (the outcome of a command
// that reached it).
func (e *RemoteRead) Unwrap() error { return ErrRemoteParent }

func (e *RemoteRead) Error() string {
	return fmt.Sprintf("meta: read continues at bucket %d (shard %d) as of version %d", e.BucketID, ShardOfBucketID(e.BucketID), e.At)
}

// remoteParent reports whether b's parent lives on another shard.
func remoteParent(b *Bucket) bool {
	return b.Parent != nil && ShardOfBucketID(b.Parent.BucketID) != ShardOfBucketID(b.ID)
}

// ReserveBucketIDs takes Count bucket ids from the shard's range (the
// fork ids of a later CreateRemoteForks). Result.Bucket.ID is the first.
type ReserveBucketIDs struct {
	Header
	Count int
}

// RemoteFork names one fork of PinRemoteForks and CreateRemoteForks.
type RemoteFork struct {
	ID   uint64
	Name string
}

// PinRemoteForks pins, on the shard of Source, the fork point of forks
// that will live on shard Target: a fork index entry per fork and an
// intent, resolved by recovery once Deadline (Unix ns, the proposer's
// clock) has passed. The fork point is chosen as CreateBucket's.
// Result.Template is the forks' record template for CreateRemoteForks.
// A Source whose own chain reaches another shard is ErrForkAcrossShards.
type PinRemoteForks struct {
	Header
	Source           string
	ForkVersion      uint64
	ForkSnapshotName string
	MaxForkDepth     int
	Region           string
	Target           uint64
	Deadline         int64
	Forks            []RemoteFork
	// Batch: the forks of one fork create-many, each on the shard of its
	// id (Target is 0), all or none: SettleRemotePins with All commits
	// them, recovery rolls back a batch not committed by its deadline.
	Batch bool
	// Owner (a batch only) is the user the forks are made for: the
	// template's access settings are those of a fork of that owner.
	Owner string
}

// CreateRemoteForks creates, on the forks' shard, forks whose parent and
// fork point are Template's (from PinRemoteForks' result), all or none.
// An id whose intent was aborted is ErrForkAborted.
type CreateRemoteForks struct {
	Header
	Template []byte
	Forks    []RemoteFork
	// Expires, when not 0, is every fork's lease (Unix ns); Keys, when
	// set, one key per fork that may use it (ids of this shard), as
	// CreateForks gives them; Owner, the user the forks and keys are made
	// for (checked in the directory by the proposer).
	Expires int64
	Keys    []AccessKey
	Owner   string
}

// SettleRemotePins drops the intents of forks of Parent that exist: their
// fork index entries stay as ordinary fork-base pins.
type SettleRemotePins struct {
	Header
	Parent uint64
	IDs    []uint64
	// All: every intent of IDs must be there and not rolling back (the
	// commit of a batch), else ErrForkAborted and nothing changes.
	All bool
}

// AbortRemoteForks answers, on the forks' shard, which of IDs exist (live
// or retained: Result.Buckets, ids only) and records the others as aborted,
// so that a CreateRemoteForks naming them is refused from then on.
type AbortRemoteForks struct {
	Header
	IDs []uint64
	// Retire: the forks of IDs that exist are retired (deleted with what
	// they hold, as when a lease runs out): the rollback of a batch.
	Retire bool
}

// RollBackRemoteForks marks, on the parent's shard, the intents of a batch
// of Parent's forks as rolling back: a SettleRemotePins with All is
// refused from then on, and recovery retires the forks made and releases
// the pins. Result.Buckets: the ids marked.
type RollBackRemoteForks struct {
	Header
	Parent uint64
	IDs    []uint64
}

// PinRef names one fork-base pin of a remote fork.
type PinRef struct {
	Parent, Base, Child uint64
}

// ReleaseRemotePins removes, on the parents' shard, the fork index entries
// (and any intents) of remote forks that are gone or were never made.
type ReleaseRemotePins struct {
	Header
	Pins []PinRef
}

// ClearPinReleases drops, on the forks' shard, recorded releases that the
// parents' shards applied.
type ClearPinReleases struct {
	Header
	IDs []uint64
}

// PinIntent is a remote fork's pin not yet settled.
type PinIntent struct {
	Parent, Child, Base uint64
	Target              uint64
	Deadline            int64
	Name                string
	// Batch: a fork of a batch spread over shards; RollingBack: that
	// batch is rolled back.
	Batch, RollingBack bool
}

func keyPinIntentPrefix(parent uint64) []byte { return appendU64([]byte{pfxPinIntent}, parent) }

func keyPinIntent(parent, child uint64) []byte {
	return appendU64(keyPinIntentPrefix(parent), child)
}

// Sub-families of pfxRemoteFork on a fork's shard.
const (
	remoteAborted byte = 1 // an aborted intent's fork id
	remoteRelease byte = 2 // a purged fork whose parent's pin must go
)

func keyForkAborted(child uint64) []byte {
	return appendU64([]byte{pfxRemoteFork, remoteAborted}, child)
}

func keyPinRelease(child uint64) []byte {
	return appendU64([]byte{pfxRemoteFork, remoteRelease}, child)
}

func encodePinIntent(p PinIntent) []byte {
	e := encoder{b: []byte{fmtV1}}
	e.u64(p.Base)
	e.u64(p.Target)
	e.varint(p.Deadline)
	e.str(p.Name)
	if p.Batch || p.RollingBack { // written by batches only (ops a build without them refuses)
		e.boolean(p.Batch)
		e.boolean(p.RollingBack)
	}
	return e.b
}

func decodePinIntent(parent, child uint64, v []byte) (PinIntent, error) {
	d := decoder{b: v}
	d.fmtByte()
	p := PinIntent{Parent: parent, Child: child, Base: d.u64(), Target: d.u64(), Deadline: d.varint(), Name: d.str()}
	if d.err == nil && len(d.b) > 0 {
		p.Batch, p.RollingBack = d.boolean(), d.boolean()
	}
	return p, d.done()
}

// encodeTemplate encodes the record template of remote forks: the
// parent reference and the settings a fork takes from its source,
// including the default encryption it would inherit (enc, nil for none:
// a fork on the parent's shard reads its ancestors' at each write, one on
// another shard keeps a copy of the one in force when it was made).
func encodeTemplate(b *Bucket, enc *BucketEncryption) []byte {
	e := encoder{b: []byte{fmtV1}}
	encodeBucketFields(&e, b)
	e.u8(byte(b.PublicAccessBlock))
	e.stringMap(b.Tags)
	e.boolean(enc != nil)
	if enc != nil {
		e.str(enc.Algorithm)
		e.boolean(enc.BucketKey)
	}
	return e.b
}

func decodeTemplate(v []byte) (*Bucket, *BucketEncryption, error) {
	d := decoder{b: v}
	d.fmtByte()
	d.v3, d.v5 = true, true
	b := &Bucket{}
	decodeBucketFields(&d, b)
	b.PublicAccessBlock = PublicAccessBlock(d.u8())
	b.Tags = d.stringMap()
	var enc *BucketEncryption
	if d.boolean() {
		enc = &BucketEncryption{Algorithm: d.str(), BucketKey: d.boolean()}
	}
	if err := d.done(); err != nil {
		return nil, nil, err
	}
	if b.Parent == nil {
		return nil, nil, fmt.Errorf("%w: remote fork template without a parent", ErrCorrupt)
	}
	return b, enc, nil
}

func (a *applier) reserveBucketIDs(c *ReserveBucketIDs) (*Result, error) {
	if c.Count < 1 || c.Count > MaxRemoteForks {
		return nil, fmt.Errorf("%w: %d bucket ids", ErrInvalidRemoteFork, c.Count)
	}
	id, err := getCounter(a.txn, ctrNextBucketID)
	if err != nil {
		return nil, err
	}
	id = max(id, firstBucketCounter(a.shard))
	if err := a.set(keyCounter(ctrNextBucketID), u64Value(id+uint64(c.Count))); err != nil {
		return nil, err
	}
	return &Result{Bucket: &Bucket{ID: id + 1}}, nil
}

func (a *applier) pinRemoteForks(c *PinRemoteForks) (*Result, error) {
	src, base, err := a.pinPrepare(c)
	if err != nil {
		return nil, err
	}
	for _, f := range c.Forks {
		if err := a.pinWrite(c, src, base, f); err != nil {
			return nil, err
		}
	}
	return a.pinResult(c, src, base)
}

// pinPrepare checks a PinRemoteForks before anything is written and
// returns its source and fork point.
func (a *applier) pinPrepare(c *PinRemoteForks) (*Bucket, uint64, error) {
	if len(c.Forks) == 0 || len(c.Forks) > MaxRemoteForks || c.Target == a.shard || (c.Batch && c.Target != 0) || (!c.Batch && c.Target == 0) {
		return nil, 0, fmt.Errorf("%w: %d forks for shard %d", ErrInvalidRemoteFork, len(c.Forks), c.Target)
	}
	src, base, err := a.forkPoint(c.Source, c.ForkVersion, c.ForkSnapshotName, c.MaxForkDepth)
	if err != nil {
		return nil, 0, err
	}
	// One shard hop at most: a source whose chain reaches another shard
	// keeps its forks on its own shard.
	if _, remote, err := a.r.chainRemote(src, latest); err != nil {
		return nil, 0, err
	} else if remote != nil {
		return nil, 0, fmt.Errorf("%w: %q", ErrForkAcrossShards, c.Source)
	}
	if view, err := a.r.isView(src.ID); err != nil {
		return nil, 0, err
	} else if view {
		return nil, 0, fmt.Errorf("%w: %q is a snapshot view", ErrForkAcrossShards, c.Source)
	}
	seen := make(map[uint64]bool, len(c.Forks))
	for _, f := range c.Forks {
		if target := ShardOfBucketID(f.ID); (target != c.Target && !c.Batch) || target == a.shard || seen[f.ID] {
			return nil, 0, fmt.Errorf("%w: fork id %d for shard %d", ErrInvalidRemoteFork, f.ID, c.Target)
		}
		seen[f.ID] = true
	}
	return src, base, nil
}

// pinWrite writes the pin and the intent of fork f.
func (a *applier) pinWrite(c *PinRemoteForks, src *Bucket, base uint64, f RemoteFork) error {
	if err := a.set(keyFork(src.ID, base, f.ID), []byte{fmtV1}); err != nil {
		return err
	}
	in := PinIntent{Base: base, Target: ShardOfBucketID(f.ID), Deadline: c.Deadline, Name: f.Name, Batch: c.Batch}
	return a.set(keyPinIntent(src.ID, f.ID), encodePinIntent(in))
}

// pinResult is the result of a PinRemoteForks: the forks' template.
func (a *applier) pinResult(c *PinRemoteForks, src *Bucket, base uint64) (*Result, error) {
	tb := &Bucket{Region: c.Region, State: BucketLive, Parent: &Parent{BucketID: src.ID, Version: base},
		Versioning: src.Versioning, Ownership: src.Ownership, ACL: src.ACL, Lock: src.Lock, Owner: c.Owner}
	if err := a.inheritConfig(tb, src, base); err != nil {
		return nil, err
	}
	enc, err := a.r.BucketEncryption(c.Source)
	if err != nil {
		return nil, err
	}
	delete(a.pins, src.ID)
	return &Result{Template: encodeTemplate(tb, enc)}, nil
}

func (a *applier) createRemoteForks(c *CreateRemoteForks) (*Result, error) {
	tb, enc, err := a.createRemotePrepare(c)
	if err != nil {
		return nil, err
	}
	for i := range c.Forks {
		if _, err := a.createRemoteFork(c, i, tb, enc); err != nil {
			return nil, err
		}
	}
	return a.createRemoteResult(c)
}

// createRemotePrepare checks a CreateRemoteForks before anything is
// written and returns its decoded template.
func (a *applier) createRemotePrepare(c *CreateRemoteForks) (*Bucket, *BucketEncryption, error) {
	tb, enc, err := decodeTemplate(c.Template)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidRemoteFork, err)
	}
	if ShardOfBucketID(tb.Parent.BucketID) == a.shard || len(c.Forks) == 0 {
		return nil, nil, fmt.Errorf("%w: parent %d is on this shard", ErrInvalidRemoteFork, tb.Parent.BucketID)
	}
	next, err := getCounter(a.txn, ctrNextBucketID)
	if err != nil {
		return nil, nil, err
	}
	for i, f := range c.Forks {
		if ShardOfBucketID(f.ID) != a.shard || f.ID > next || slices.ContainsFunc(c.Forks[:i], func(g RemoteFork) bool { return g.ID == f.ID || g.Name == f.Name }) {
			return nil, nil, fmt.Errorf("%w: fork id %d", ErrInvalidRemoteFork, f.ID)
		}
		if ok, err := exists(a.txn, keyForkAborted(f.ID)); err != nil || ok {
			if err == nil {
				err = fmt.Errorf("%w: fork %q (id %d)", ErrForkAborted, f.Name, f.ID)
			}
			return nil, nil, err
		}
		if ok, err := exists(a.txn, keyBucket(f.ID)); err != nil || ok {
			if err == nil {
				err = fmt.Errorf("%w: fork id %d is taken", ErrInvalidRemoteFork, f.ID)
			}
			return nil, nil, err
		}
		if ok, err := exists(a.txn, keyBucketName(f.Name)); err != nil || ok {
			if err == nil {
				err = fmt.Errorf("%w: %q", ErrBucketExists, f.Name)
			}
			return nil, nil, err
		}
	}
	if len(c.Keys) != 0 && len(c.Keys) != len(c.Forks) {
		return nil, nil, fmt.Errorf("%w: %d keys for %d forks", ErrInvalidRemoteFork, len(c.Keys), len(c.Forks))
	}
	if c.Owner != "" && a.shard <= DirectoryShard {
		if _, err := a.r.User(c.Owner); err != nil {
			return nil, nil, err
		}
	}
	for i := range c.Keys {
		k := &c.Keys[i]
		if k.ID == "" || len(k.Sealed) == 0 || slices.ContainsFunc(c.Keys[:i], func(o AccessKey) bool { return o.ID == k.ID }) {
			return nil, nil, fmt.Errorf("%w: key %q repeated or empty", ErrAccessKeyExists, k.ID)
		}
		if ok, err := exists(a.txn, keyAccessKey(k.ID)); err != nil || ok {
			if err == nil {
				err = fmt.Errorf("%w: %q", ErrAccessKeyExists, k.ID)
			}
			return nil, nil, err
		}
	}
	return tb, enc, nil
}

// createRemoteFork creates fork i of c (checked by createRemotePrepare).
func (a *applier) createRemoteFork(c *CreateRemoteForks, i int, tb *Bucket, enc *BucketEncryption) (*Bucket, error) {
	f := c.Forks[i]
	b := *tb
	b.ID, b.Name, b.Created, b.State, b.Owner = f.ID, f.Name, int64(a.version), BucketLive, c.Owner
	b.annotations = annNone
	if err := a.putBucket(&b); err != nil {
		return nil, err
	}
	if err := a.putAccessRecord(&b); err != nil {
		return nil, err
	}
	if err := a.set(keyBucketName(b.Name), u64Value(b.ID)); err != nil {
		return nil, err
	}
	if enc != nil {
		if _, err := a.setBucketEncryption(&SetBucketEncryption{Bucket: b.Name, Algorithm: enc.Algorithm, BucketKey: enc.BucketKey}); err != nil {
			return nil, err
		}
	}
	if c.Expires != 0 {
		if err := a.setLease(b.ID, c.Expires); err != nil {
			return nil, err
		}
	}
	if len(c.Keys) > 0 {
		k := c.Keys[i]
		k.Buckets = []KeyBucket{{ID: b.ID, Name: b.Name}}
		if err := a.putKey(&k); err != nil {
			return nil, err
		}
		if c.Owner != "" {
			if err := a.set(keyUserKey(k.ID), encodeUserKey(UserKey{User: c.Owner})); err != nil {
				return nil, err
			}
		}
	}
	return &b, nil
}

// createRemoteResult is the result of a CreateRemoteForks: the forks and
// their keys (without their sealed secrets).
func (a *applier) createRemoteResult(c *CreateRemoteForks) (*Result, error) {
	res := &Result{}
	for _, f := range c.Forks {
		b, err := a.r.bucketByID(f.ID)
		if err != nil {
			return nil, err
		}
		if b == nil {
			return nil, fmt.Errorf("%w: fork %d vanished mid-command", ErrCorrupt, f.ID)
		}
		filled, err := a.r.fill(b)
		if err != nil {
			return nil, err
		}
		res.Buckets = append(res.Buckets, *filled)
	}
	for i := range c.Keys {
		k, err := a.r.accessKey(c.Keys[i].ID)
		if err != nil {
			return nil, err
		}
		if k == nil {
			return nil, fmt.Errorf("%w: key %q vanished mid-command", ErrCorrupt, c.Keys[i].ID)
		}
		k.Sealed = nil
		res.Keys = append(res.Keys, *k)
	}
	return res, nil
}

func (a *applier) settleRemotePins(c *SettleRemotePins) (*Result, error) {
	for _, id := range c.IDs {
		if !c.All {
			break
		}
		v, ok, err := getValue(a.txn, keyPinIntent(c.Parent, id))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: fork id %d (rolled back)", ErrForkAborted, id)
		}
		in, err := decodePinIntent(c.Parent, id, v)
		if err != nil {
			return nil, err
		}
		if in.RollingBack {
			return nil, fmt.Errorf("%w: fork %q (rolling back)", ErrForkAborted, in.Name)
		}
	}
	for _, id := range c.IDs {
		if err := a.del(keyPinIntent(c.Parent, id)); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (a *applier) abortRemoteForks(c *AbortRemoteForks) (*Result, error) {
	res := &Result{}
	for _, id := range c.IDs {
		b, err := a.r.bucketByID(id)
		if err != nil {
			return nil, err
		}
		if b != nil {
			res.Buckets = append(res.Buckets, Bucket{ID: id, Name: b.Name})
			if c.Retire && b.State == BucketLive {
				if err := a.retireBucket(b); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := a.set(keyForkAborted(id), []byte{fmtV1}); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (a *applier) rollBackRemoteForks(c *RollBackRemoteForks) (*Result, error) {
	res := &Result{}
	for _, id := range c.IDs {
		v, ok, err := getValue(a.txn, keyPinIntent(c.Parent, id))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // settled (the batch committed) or released
		}
		in, err := decodePinIntent(c.Parent, id, v)
		if err != nil {
			return nil, err
		}
		in.RollingBack = true
		if err := a.set(keyPinIntent(c.Parent, id), encodePinIntent(in)); err != nil {
			return nil, err
		}
		res.Buckets = append(res.Buckets, Bucket{ID: id, Name: in.Name})
	}
	return res, nil
}

func (a *applier) releaseRemotePins(c *ReleaseRemotePins) (*Result, error) {
	for _, p := range c.Pins {
		if err := a.del(keyFork(p.Parent, p.Base, p.Child)); err != nil {
			return nil, err
		}
		if err := a.del(keyPinIntent(p.Parent, p.Child)); err != nil {
			return nil, err
		}
		// The fork's merges into the parent (xmerge.go) leave nothing.
		if _, err := a.delPrefix(keyMergePointsOf(p.Parent, p.Child)); err != nil {
			return nil, err
		}
		if _, err := a.delPrefix(keyMergedKeys(p.Child)); err != nil {
			return nil, err
		}
		parent, err := a.r.bucketByID(p.Parent)
		if err != nil {
			return nil, err
		}
		if parent == nil {
			continue
		}
		// Versions only this fork's base kept become unreachable (and a
		// deleted parent with no forks left goes).
		if err := a.markPending(p.Parent); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (a *applier) clearPinReleases(c *ClearPinReleases) (*Result, error) {
	for _, id := range c.IDs {
		if err := a.del(keyPinRelease(id)); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// recordPinRelease records, when a fork whose parent is on another shard
// is purged, that the parent's pin must go.
func (a *applier) recordPinRelease(b *Bucket) error {
	e := encoder{b: []byte{fmtV1}}
	e.u64(b.Parent.BucketID)
	e.u64(b.Parent.Version)
	return a.set(keyPinRelease(b.ID), e.b)
}

// PinIntents returns the intents of remote forks pinned on this shard and
// not settled yet (at most max).
func (r *Reader) PinIntents(max int) ([]PinIntent, error) {
	var out []PinIntent
	it := keyIter(r.txn, []byte{pfxPinIntent})
	defer it.Close()
	for it.Rewind(); it.Valid() && len(out) < max; it.Next() {
		k := it.Item().Key()
		if len(k) != 17 {
			return nil, fmt.Errorf("%w: pin intent key", ErrCorrupt)
		}
		parent, _ := beU64(k[1:9])
		child, _ := beU64(k[9:17])
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		p, err := decodePinIntent(parent, child, v)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// PinRelease returns the release recorded for the purged fork child, nil
// when there is none.
func (r *Reader) PinRelease(child uint64) (*PinRef, error) {
	v, ok, err := getValue(r.txn, keyPinRelease(child))
	if err != nil || !ok {
		return nil, err
	}
	d := decoder{b: v}
	d.fmtByte()
	ref := &PinRef{Child: child, Parent: d.u64(), Base: d.u64()}
	return ref, d.done()
}

// PinReleases returns the releases recorded on this shard for purged
// forks whose parents live on other shards (at most max).
func (r *Reader) PinReleases(max int) ([]PinRef, error) {
	var out []PinRef
	p := []byte{pfxRemoteFork, remoteRelease}
	it := keyIter(r.txn, p)
	defer it.Close()
	for it.Rewind(); it.Valid() && len(out) < max; it.Next() {
		k := it.Item().Key()
		if len(k) != 10 {
			return nil, fmt.Errorf("%w: pin release key", ErrCorrupt)
		}
		child, _ := beU64(k[2:])
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		d := decoder{b: v}
		d.fmtByte()
		ref := PinRef{Child: child, Parent: d.u64(), Base: d.u64()}
		if err := d.done(); err != nil {
			return nil, err
		}
		out = append(out, ref)
	}
	return out, nil
}

// ForkAborted reports whether the intent of fork id was aborted here.
func (r *Reader) ForkAborted(id uint64) (bool, error) { return exists(r.txn, keyForkAborted(id)) }

// HasForkPin reports whether parent's fork index holds the pin of child.
func (r *Reader) HasForkPin(parent, base, child uint64) (bool, error) {
	return exists(r.txn, keyFork(parent, base, child))
}

// chainRemote is chain, stopping at a parent on another shard: remote is
// then where the read continues (nil when the whole chain is local).
func (r *Reader) chainRemote(b *Bucket, at uint64) ([]layer, *RemoteRead, error) {
	ls := []layer{{b, at}}
	for b.Parent != nil {
		if len(ls) > maxChain {
			return nil, nil, fmt.Errorf("%w: fork chain of bucket %d too long", ErrCorrupt, b.ID)
		}
		at = min(at, b.Parent.Version)
		if remoteParent(b) {
			annotated, err := r.remoteAnnotated(ls)
			if err != nil {
				return nil, nil, err
			}
			return ls, &RemoteRead{BucketID: b.Parent.BucketID, At: at, Annotated: annotated}, nil
		}
		p, err := r.bucketByID(b.Parent.BucketID)
		if err != nil {
			return nil, nil, err
		}
		if p == nil {
			return nil, nil, fmt.Errorf("%w: bucket %d has missing parent %d", ErrCorrupt, b.ID, b.Parent.BucketID)
		}
		b = p
		ls = append(ls, layer{b, at})
	}
	return ls, nil, nil
}

// GetInherited reads key in bucket id (live or retained: a remote fork's
// parent, kept by the fork's pin) as of at, through its chain, as a fork
// on another shard inherits it: versionID "" is the visible version (a
// delete marker is ErrNoSuchKey); a version id must name that very
// version (ErrNoSuchVersion otherwise: a fork inherits no other).
func (r *Reader) GetInherited(id uint64, key, versionID string, at uint64) (*Object, error) {
	b, err := r.bucketByID(id)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("%w: id %d", ErrNoSuchBucket, id)
	}
	ls, err := r.chain(b, at)
	if err != nil {
		return nil, err
	}
	var null bool
	var version uint64
	if versionID != "" {
		if null, version, err = ParseVersionID(versionID); err != nil {
			return nil, err
		}
	}
	for i, l := range ls {
		o, err := r.ownView(l.bucket.ID, key, l.at, true)
		if err != nil {
			return nil, err
		}
		if o == nil {
			continue
		}
		switch {
		case versionID == "" && o.DeleteMarker:
			return o, fmt.Errorf("%w: %q", ErrNoSuchKey, key)
		case versionID == "":
		case o.DeleteMarker || o.Null != null || (!null && o.Version != version):
			return nil, fmt.Errorf("%w: %q version %s", ErrNoSuchVersion, key, versionID)
		}
		if err := r.annotate(o, ls, i); err != nil {
			return nil, err
		}
		return o, nil
	}
	if versionID != "" {
		return nil, fmt.Errorf("%w: %q version %s", ErrNoSuchVersion, key, versionID)
	}
	return nil, fmt.Errorf("%w: %q", ErrNoSuchKey, key)
}

// MaxRemoteForks bounds the forks of one PinRemoteForks (and the ids of
// one ReserveBucketIDs).
const MaxRemoteForks = 10000

func encodeRemoteForks(e *encoder, fs []RemoteFork) {
	e.uvarint(uint64(len(fs)))
	for _, f := range fs {
		e.u64(f.ID)
		e.str(f.Name)
	}
}

func decodeRemoteForks(d *decoder) []RemoteFork {
	var out []RemoteFork
	for i, n := 0, d.count(); i < n && d.err == nil; i++ {
		out = append(out, RemoteFork{ID: d.u64(), Name: d.str()})
	}
	return out
}

func encodeIDs(e *encoder, ids []uint64) {
	e.uvarint(uint64(len(ids)))
	for _, id := range ids {
		e.u64(id)
	}
}

func decodeIDs(d *decoder) []uint64 {
	var out []uint64
	for i, n := 0, d.count(); i < n && d.err == nil; i++ {
		out = append(out, d.u64())
	}
	return out
}

// EntryPage is a page of a raw listing: for each key, in key order, the
// record the nearest layer shows (LocalEntries: delete markers included,
// as they hide the parent's keys).
type EntryPage struct {
	Entries []Object
	More    bool // keys remain after the last entry
	// Remote is where the chain of a LocalEntries listing goes on (nil
	// when the whole chain is local).
	Remote *RemoteRead
}

// LocalEntries lists up to limit keys >= from with prefix of a live
// bucket's local layers as of at (0: now), delete markers included.
func (r *Reader) LocalEntries(bucket string, at uint64, prefix, from string, limit int) (*EntryPage, error) {
	b, t, err := r.liveBucketAt(bucket, at)
	if err != nil {
		return nil, err
	}
	ls, remote, err := r.chainRemote(b, t)
	if err != nil {
		return nil, err
	}
	p, err := r.entries(ls, prefix, from, limit, true)
	if err != nil {
		return nil, err
	}
	p.Remote = remote
	return p, nil
}

// InheritedEntries lists up to limit objects (no delete markers) with keys
// >= from and prefix of bucket id (live or retained: a remote fork's
// parent) as of at, through its chain.
func (r *Reader) InheritedEntries(id, at uint64, prefix, from string, limit int) (*EntryPage, error) {
	b, err := r.bucketByID(id)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("%w: id %d", ErrNoSuchBucket, id)
	}
	ls, err := r.chain(b, at)
	if err != nil {
		return nil, err
	}
	return r.entries(ls, prefix, from, limit, false)
}

func (r *Reader) entries(ls []layer, prefix, from string, limit int, markers bool) (*EntryPage, error) {
	m := r.layerMerger(ls, prefix)
	defer m.close()
	if from < prefix {
		from = prefix
	}
	if err := m.seekRel(appendEscaped([]byte{}, from)); err != nil {
		return nil, err
	}
	p := &EntryPage{}
	for {
		key, ok := m.minKey()
		if !ok {
			break
		}
		if len(p.Entries) >= limit {
			p.More = true
			break
		}
		o, _, err := m.resolve(key, false)
		if err != nil {
			return nil, err
		}
		if o == nil || (o.DeleteMarker && !markers) {
			continue
		}
		p.Entries = append(p.Entries, *o)
	}
	return p, nil
}

// InheritedView is what a fork's parent on another shard shows of Key at
// the fork point (Parent and At as a RemoteRead says): history that no
// command changes, so a command on the fork's shard may carry it.
type InheritedView struct {
	Parent, At   uint64
	Key          string
	Present      bool // an object (not a delete marker, not nothing)
	ETag         string
	LastModified int64
	Size         int64
}

// PutObjectInherited is PutObject whose conditions see Inherited where
// the fork's local layers have nothing for the key.
type PutObjectInherited struct {
	PutObject
	Inherited InheritedView
}

// DeleteObjectInherited is DeleteObject whose conditions see Inherited
// where the fork's local layers have nothing for the key.
type DeleteObjectInherited struct {
	DeleteObject
	Inherited InheritedView
}

// CompleteUploadInherited is CompleteUpload whose conditions see
// Inherited where the fork's local layers have nothing for the key.
type CompleteUploadInherited struct {
	CompleteUpload
	Inherited InheritedView
}

func encodeInheritedView(e *encoder, v *InheritedView) {
	e.u64(v.Parent)
	e.u64(v.At)
	e.str(v.Key)
	e.boolean(v.Present)
	e.str(v.ETag)
	e.varint(v.LastModified)
	e.varint(v.Size)
}

func decodeInheritedView(d *decoder) InheritedView {
	return InheritedView{Parent: d.u64(), At: d.u64(), Key: d.str(), Present: d.boolean(), ETag: d.str(),
		LastModified: d.varint(), Size: d.varint()}
}

// conditionView is the view of key that a command's conditions are
// checked against: through the fork chain, then, when the chain goes on
// on another shard, the view the command carries for it (a command
// without one is refused with ErrRemoteParent).
func (a *applier) conditionView(b *Bucket, key string) (*Object, error) {
	cur, err := a.r.view(b, key, latest, false)
	var rr *RemoteRead
	if !errors.As(err, &rr) {
		return cur, err
	}
	in := a.inherited
	if in == nil || in.Parent != rr.BucketID || in.At != rr.At || in.Key != key {
		return nil, err
	}
	if !in.Present {
		return nil, nil
	}
	return &Object{Key: key, ETag: in.ETag, LastModified: in.LastModified, Size: in.Size}, nil
}

// InheritedViewOf returns the InheritedView of key for a read that went
// on at rr: o and err are GetInherited's answer.
func InheritedViewOf(rr *RemoteRead, key string, o *Object, err error) (InheritedView, error) {
	v := InheritedView{Parent: rr.BucketID, At: rr.At, Key: key}
	switch {
	case err == nil:
		v.Present, v.ETag, v.LastModified, v.Size = true, o.ETag, o.LastModified, o.Size
	case errors.Is(err, ErrNoSuchKey):
	default:
		return v, err
	}
	return v, nil
}

// VersionEntry is one key of LocalVersionEntries: the fork's own versions
// (newest first) and, when a local ancestor has a record of the key
// (Local), the version it inherits from it (nil for a delete marker).
type VersionEntry struct {
	Key       string
	Own       []Object
	Inherited *Object
	Local     bool
}

// VersionEntryPage is a page of LocalVersionEntries.
type VersionEntryPage struct {
	Entries []VersionEntry
	More    bool
	Remote  *RemoteRead
}

// LocalVersionEntries lists, for ListObjectVersions of a fork whose chain
// goes on on another shard, up to limit keys >= from with prefix of its
// local layers as of at (0: now).
func (r *Reader) LocalVersionEntries(bucket string, at uint64, prefix, from string, limit int) (*VersionEntryPage, error) {
	b, t, err := r.liveBucketAt(bucket, at)
	if err != nil {
		return nil, err
	}
	ls, remote, err := r.chainRemote(b, t)
	if err != nil {
		return nil, err
	}
	m := r.layerMerger(ls, prefix)
	defer m.close()
	if from < prefix {
		from = prefix
	}
	if err := m.seekRel(appendEscaped([]byte{}, from)); err != nil {
		return nil, err
	}
	p := &VersionEntryPage{Remote: remote}
	for {
		key, ok := m.minKey()
		if !ok {
			break
		}
		if len(p.Entries) >= limit {
			p.More = true
			break
		}
		e := VersionEntry{Key: key}
		if own := m.iters[0]; own.valid && own.key == key {
			err := own.versions(false, func(o *Object) bool {
				e.Own = append(e.Own, *o)
				return true
			})
			if err != nil {
				return nil, err
			}
		}
		inh, wl, err := m.resolve(key, true)
		if err != nil {
			return nil, err
		}
		if inh != nil && wl >= 1 {
			e.Local = true
			if !inh.DeleteMarker {
				e.Inherited = inh
			}
		}
		p.Entries = append(p.Entries, e)
	}
	return p, nil
}

// VersionsAfter drops the versions of one key (newest first) up to and
// including the version id marker, as ListObjectVersions does.
func VersionsAfter(vs []ObjectVersion, marker string) []ObjectVersion {
	return versionsAfter(vs, marker)
}

// InheritedObjects reads keys in bucket id as of at (GetInherited, no
// version id): the object each shows, absent for none or a delete marker.
func (r *Reader) InheritedObjects(id, at uint64, keys []string) (map[string]*Object, error) {
	out := map[string]*Object{}
	for _, k := range keys {
		o, err := r.GetInherited(id, k, "", at)
		if errors.Is(err, ErrNoSuchKey) {
			continue
		}
		if err != nil {
			return nil, err
		}
		o.Inline = nil
		out[k] = o
	}
	return out, nil
}

// RemoteOf returns where the chain of a live bucket, read now, goes on
// on another shard (nil when it stays on this one).
func (r *Reader) RemoteOf(bucket string) (*RemoteRead, error) {
	b, err := r.liveBucket(bucket)
	if err != nil {
		return nil, err
	}
	_, remote, err := r.chainRemote(b, latest)
	return remote, err
}
