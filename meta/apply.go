package meta

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// dedupeWindow is how long (in versions, i.e. nanoseconds) a request id's
// result is kept for retried proposals: a command of format 8 or later
// prunes the ids older than this. A constant, not an option: apply must
// not depend on node-local configuration. It must exceed the time a
// proposer goes on proposing one request id (RequestIDLifetime) plus the
// skew between the proposers' clocks, which stamp the versions.
const dedupeWindow = uint64(2 * 60 * 1e9)

// dedupeWindowBefore8 is the window of the commands of formats 1 to 7,
// whose proposers retried a request id for as long as its S3 request
// lasted: a replica applying an older log prunes as its writers did.
const dedupeWindowBefore8 = uint64(10 * 60 * 1e9)

// RequestIDLifetime is how long after its Stamp a proposer may still
// propose a command under the same request id; dedupe holds for it with
// a margin of 90 s for the skew between clocks. A proposer starts a new
// request (a new id) after that, or fails.
const RequestIDLifetime = 30 * time.Second

// dedupePrunePerCommand bounds how many expired request ids one command
// removes; each command adds at most one, so the table keeps up.
const dedupePrunePerCommand = 16

// GC budgets, in object versions examined: inline passes (DeleteSnapshot,
// DeleteBucket) and GCBucket steps. They keep one command's writes far
// below Badger's transaction limit.
const (
	inlineGCLimit = 256
	maxGCLimit    = 1000
)

func (h *Header) header() *Header { return h }

type command interface{ header() *Header }

// applier executes one command inside the batch transaction.
type applier struct {
	digests *digests
	opts    Options
	txn     *kvTxn
	r       *Reader
	version uint64
	pins    map[uint64]*pinSet
	// bypassGovernance says the command (a delete by version id) may
	// remove versions under GOVERNANCE retention (MayRemove).
	bypassGovernance bool
	// writes and bytes count what this applier wrote, so that a command
	// applied in steps knows when to end a step (steps.go).
	writes, bytes int
	budget        stepBudget
	stats         *applyStats
	firstLive     *firstLive
	// shard is the replica's shard id: bucket ids come from its range
	// (directory.go).
	shard uint64
	// inherited is the view of a fork's parent on another shard that
	// the command carries (PutObjectInherited, DeleteObjectInherited).
	inherited *InheritedView
	// inheritedVersion is the version a fork's parent on another shard
	// shows that a change of an inherited version carries
	// (AnnotateObjectInherited, SetObjectLockInherited).
	inheritedVersion *InheritedVersion
	// mayHaveLifecycle is the FSM's (nil for an applier of no FSM): set
	// before a lifecycle configuration is written.
	mayHaveLifecycle *atomic.Bool
	// format is the command's format (its second byte), which decides
	// the dedupe window it prunes by.
	format byte
	// tombstoneRemote makes deleteKey leave a tombstone for a key a
	// fork's parent on another shard may show, without its view
	// (lifecycle expiry, which cannot ask).
	tombstoneRemote bool
}

// applyEntry applies one encoded command and returns its sm.Result. It
// returns an error only for storage failures (including
// badger.ErrTxnTooBig, which Update handles); business outcomes are codes.
func (f *FSM) applyEntry(txn *kvTxn, cmd []byte) (sm.Result, error) {
	c := decodeEntry(cmd)
	if res, ok, err := dedupe(txn, c); err != nil || ok {
		return res, err
	}
	a, err := f.begin(txn, c)
	if err != nil {
		return sm.Result{}, err
	}
	a.format = cmd[1]
	res, err := a.apply(c)
	return a.finish(c, res, err)
}

// decodeEntry decodes a command of the log. A command this version cannot
// decode is a broken invariant (replicas must not diverge): it panics.
func decodeEntry(cmd []byte) any {
	if len(cmd) == 0 || !knownOp(cmd[0]) {
		op := -1
		if len(cmd) > 0 {
			op = int(cmd[0])
		}
		panic(fmt.Sprintf("meta: unknown command op %d", op))
	}
	c, err := DecodeCommand(cmd)
	if err != nil {
		// We encoded it ourselves: a broken invariant, not input.
		panic(fmt.Sprintf("meta: undecodable command op %d: %v", cmd[0], err))
	}
	return c
}

// dedupe returns the stored result when the command's request id was
// applied before (ok true).
func dedupe(txn *kvTxn, c any) (sm.Result, bool, error) {
	h := c.(command).header()
	if h.RequestID == "" {
		return sm.Result{}, false, nil
	}
	v, ok, err := getValue(txn, keyRequest(h.RequestID))
	if err != nil || !ok {
		return sm.Result{}, false, err
	}
	d := decoder{b: v}
	d.fmtByte()
	d.u64()
	code := d.uvarint()
	data := d.b
	if d.err != nil {
		return sm.Result{}, false, d.err
	}
	return sm.Result{Value: code, Data: append([]byte(nil), data...)}, true, nil
}

// begin assigns the command its version and returns its applier.
func (f *FSM) begin(txn *kvTxn, c any) (*applier, error) {
	last, err := getCounter(txn, ctrLastVersion)
	if err != nil {
		return nil, err
	}
	version := max(last+1, c.(command).header().Stamp)
	if err := txn.Set(keyCounter(ctrLastVersion), u64Value(version)); err != nil {
		return nil, err
	}
	return f.newApplier(txn, version), nil
}

func (f *FSM) newApplier(txn *kvTxn, version uint64) *applier {
	return &applier{
		digests:   &f.digests,
		opts:      f.opts,
		txn:       txn,
		r:         &Reader{txn: txn, opts: f.opts, now: version},
		version:   version,
		pins:      map[uint64]*pinSet{},
		stats:     &f.stats,
		firstLive: &f.firstLive,
		shard:     f.shardID,

		mayHaveLifecycle: &f.mayHaveLifecycle,
	}
}

// finish turns a command's outcome into its sm.Result and records it for
// request-id dedupe. A non-business error is returned as is (storage).
func (a *applier) finish(c any, res *Result, err error) (sm.Result, error) {
	code := codeOK
	if err != nil {
		var ok bool
		if code, ok = businessCode(err); !ok {
			return sm.Result{}, err
		}
	}
	if res == nil {
		res = &Result{}
	}
	res.Version = a.version
	data := encodeResult(res)
	if h := c.(command).header(); h.RequestID != "" {
		e := encoder{b: make([]byte, 0, 16+len(data))}
		e.u8(fmtV1)
		e.u64(a.version)
		e.uvarint(code)
		e.b = append(e.b, data...)
		if err := a.txn.Set(keyRequest(h.RequestID), e.b); err != nil {
			return sm.Result{}, err
		}
		if err := a.txn.Set(keyRequestAge(a.version, h.RequestID), []byte{fmtV1}); err != nil {
			return sm.Result{}, err
		}
	}
	if err := a.pruneRequests(); err != nil {
		return sm.Result{}, err
	}
	if err := a.pruneCompleted(); err != nil {
		return sm.Result{}, err
	}
	return sm.Result{Value: code, Data: data}, nil
}

// businessCode returns the result code of a business error.
func businessCode(err error) (uint64, bool) {
	for _, c := range resultCodesByCode {
		if e := resultCodes[c]; e != nil && errors.Is(err, e) {
			return c, true
		}
	}
	return 0, false
}

// resultCodesByCode lists the codes in increasing order, so that matching
// an error against the table never depends on map iteration order.
var resultCodesByCode = func() []uint64 {
	out := make([]uint64, 0, len(resultCodes))
	for c := range resultCodes {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}()

// pruneRequests drops request ids older than the command's dedupe window.
func (a *applier) pruneRequests() error {
	window := dedupeWindow
	if a.format < 8 {
		window = dedupeWindowBefore8
	}
	return a.pruneByAge(pfxRequestAge, window, func(id string) error { return a.del(keyRequest(id)) })
}

// pruneByAge drops entries older than window from an age index (keys
// prefix | be64 version | name(id)), calling drop for each id; at most
// dedupePrunePerCommand per command (each command adds at most one).
func (a *applier) pruneByAge(prefix byte, window uint64, drop func(id string) error) error {
	if a.version <= window {
		return nil
	}
	end := appendU64([]byte{prefix}, a.version-window)
	_, err := a.consumeIndex(prefix, end, dedupePrunePerCommand, func(k []byte) error {
		if len(k) < 9 {
			return fmt.Errorf("%w: age index key", ErrCorrupt)
		}
		id, _, ok := readName(k[9:])
		if !ok {
			return fmt.Errorf("%w: age index key", ErrCorrupt)
		}
		if err := drop(id); err != nil {
			return err
		}
		return a.del(k)
	})
	return err
}

func (a *applier) apply(c any) (*Result, error) {
	switch c := c.(type) {
	case *CreateBucket:
		return a.createBucket(c)
	case *DeleteBucket:
		return a.deleteBucket(c)
	case *CreateSnapshot:
		return a.createSnapshot(c)
	case *DeleteSnapshot:
		return a.deleteSnapshot(c)
	case *SetVersioning:
		return a.setVersioning(c)
	case *PutObject:
		return a.putObject(c)
	case *DeleteObject:
		return a.deleteObject(c)
	case *DeleteObjects:
		return a.deleteObjects(c)
	case *CreateUpload:
		return a.createUpload(c)
	case *PutPart:
		return a.putPart(c)
	case *CompleteUpload:
		return a.completeUpload(c)
	case *AbortUpload:
		return a.abortUpload(c)
	case *TrimGC:
		return a.trimGC(c)
	case *GCBucket:
		return a.gcBucket(c)
	case *RegisterNode:
		return a.registerNode(c)
	case *RetireNode:
		return a.retireNode(c)
	case *Digest:
		return a.digest()
	case *AnnotateObject:
		return a.annotateObject(c)
	case *CreateKey:
		return a.createAccessKey(c)
	case *DeleteKey:
		return a.deleteAccessKey(c)
	case *ResealKeys:
		return a.resealKeys(c)
	case *RenewLease:
		return a.renewLease(c)
	case *ExpireLeases:
		return a.expireLeases(c)
	case *CreateForks, *MergeFork, *MergeContinue:
		// Applied in steps (steps.go), never here.
	case *SetBucketAccess:
		return a.setBucketAccess(c)
	case *SetBucketCORS:
		return a.setBucketCORS(c)
	case *SetBucketEncryption:
		return a.setBucketEncryption(c)
	case *SetObjectLockConfig:
		return a.setObjectLockConfig(c)
	case *SetObjectLock:
		return a.setObjectLock(c)
	case *MountView:
		return a.mountView(c)
	case *UnmountView:
		return a.unmountView(c)
	case *SetLifecycle:
		return a.setLifecycle(c)
	case *ApplyLifecycle:
		return a.applyLifecycle(c)
	case *SetBucketConfig:
		return a.setBucketConfig(c)
	case *CreateUser:
		return a.createUser(c)
	case *DeleteUser:
		return a.deleteUser(c)
	case *RotateUserKey:
		return a.rotateUserKey(c)
	case *CreateUserKey:
		return a.createUserKey(c)
	case *CreateOwnedBucket:
		return a.createOwnedBucket(c)
	case *InitShards:
		return a.initShards(c)
	case *SetPlacement:
		return a.setPlacement(c)
	case *SetLeaving:
		return a.setLeaving(c)
	case *ClaimNames:
		return a.claimNames(c)
	case *SettleNames:
		return a.settleNames(c)
	case *ReleaseName:
		return a.releaseName(c)
	case *PutObjectInherited:
		a.inherited = &c.Inherited
		return a.putObject(&c.PutObject)
	case *DeleteObjectInherited:
		a.inherited = &c.Inherited
		return a.deleteObject(&c.DeleteObject)
	case *AnnotateObjectInherited:
		a.inheritedVersion = &c.Inherited
		return a.annotateObject(&c.AnnotateObject)
	case *SetObjectLockInherited:
		a.inheritedVersion = &c.Inherited
		return a.setObjectLock(&c.SetObjectLock)
	case *CompleteUploadInherited:
		a.inherited = &c.Inherited
		return a.completeUpload(&c.CompleteUpload)
	case *ReserveBucketIDs:
		return a.reserveBucketIDs(c)
	case *PinRemoteForks:
		return a.pinRemoteForks(c)
	case *CreateRemoteForks:
		return a.createRemoteForks(c)
	case *SettleRemotePins:
		return a.settleRemotePins(c)
	case *AbortRemoteForks:
		return a.abortRemoteForks(c)
	case *ReleaseRemotePins:
		return a.releaseRemotePins(c)
	case *ClearPinReleases:
		return a.clearPinReleases(c)
	case *HoldRemoteMerge:
		return a.holdRemoteMerge(c)
	case *BeginRemoteMerge:
		return a.beginRemoteMerge(c)
	case *RemoteMergeEntry:
		return a.remoteMergeEntry(c)
	case *EndRemoteMerge:
		return a.endRemoteMerge(c)
	case *SettleRemoteMerge:
		return a.settleRemoteMerge(c)
	case *ClearRemoteMerges:
		return a.clearRemoteMerges(c)
	case *AbortRemoteMerge:
		return a.abortRemoteMerge(c)
	case *RollBackRemoteForks:
		return a.rollBackRemoteForks(c)
	}
	panic(fmt.Sprintf("meta: no apply for %T", c))
}

// --- small write helpers ---

func (a *applier) set(k, v []byte) error {
	a.writes++
	a.stats.txnWrites++
	a.bytes += len(k) + len(v)
	return a.txn.Set(k, v)
}

func (a *applier) del(k []byte) error {
	a.writes++
	a.stats.txnWrites++
	a.bytes += len(k)
	return a.txn.Delete(k)
}

func (a *applier) putBucket(b *Bucket) error {
	c := *b
	c.ParentName, c.IsForkParent = "", false
	return a.set(keyBucket(b.ID), encodeBucketRecord(&c))
}

func (a *applier) putRecord(bucket uint64, o *Object) error {
	if err := a.lowerLifecycleFloor(bucket, o.Key); err != nil {
		return err
	}
	return a.set(keyObject(bucket, o.Key, o.Version), encodeObjectRecord(o))
}

// ref adds a reference to each chunk, recording its size and CRC32C.
func (a *applier) ref(chunks []Chunk) error {
	for _, c := range chunks {
		r, err := a.chunkRef(c.ID)
		if err != nil {
			return err
		}
		r.n++
		r.size, r.crc, r.known = c.Size, c.CRC32C, true
		if err := a.set(keyChunkRef(c.ID), encodeChunkRef(r)); err != nil {
			return err
		}
	}
	return nil
}

// unref drops a reference from each chunk; a chunk left with none goes to
// the GC queue at this version.
func (a *applier) unref(chunks []Chunk) error {
	for _, c := range chunks {
		r, err := a.chunkRef(c.ID)
		if err != nil {
			return err
		}
		if r.n > 1 {
			r.n--
			if err := a.set(keyChunkRef(c.ID), encodeChunkRef(r)); err != nil {
				return err
			}
			continue
		}
		if r.n == 1 {
			if err := a.del(keyChunkRef(c.ID)); err != nil {
				return err
			}
		}
		if err := a.set(keyGCQueue(a.version, c.ID), []byte{fmtV1}); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) chunkRef(id string) (chunkRef, error) {
	v, ok, err := getValue(a.txn, keyChunkRef(id))
	if err != nil || !ok {
		return chunkRef{}, err
	}
	return decodeChunkRef(v)
}

// --- buckets, snapshots ---

func (a *applier) createBucket(c *CreateBucket) (*Result, error) {
	return a.createBucketOwned(c, "")
}

// createBucketOwned creates a bucket (or fork) owned by a user ("" the
// root account).
func (a *applier) createBucketOwned(c *CreateBucket, owner string) (*Result, error) {
	if ok, err := exists(a.txn, keyBucketName(c.Name)); err != nil || ok {
		if err == nil {
			err = fmt.Errorf("%w: %q", ErrBucketExists, c.Name)
		}
		return nil, err
	}
	b := &Bucket{Name: c.Name, Region: c.Region, Created: int64(a.version), State: BucketLive,
		Ownership: c.Ownership, ACL: c.ACL, Owner: owner}
	if c.ForkSource == "" {
		if err := checkAccess(c.Name, c.Ownership, c.ACL); err != nil {
			return nil, err
		}
		if c.ObjectLock {
			b.Lock.Enabled = true
			b.Versioning = VersioningEnabled
		}
	} else {
		src, base, err := a.forkPoint(c.ForkSource, c.ForkVersion, c.ForkSnapshotName, c.MaxForkDepth)
		if err != nil {
			return nil, err
		}
		b.Parent = &Parent{BucketID: src.ID, Version: base}
		// A fork starts as a copy of its source, versioning state and
		// access settings included (its inherited objects keep their
		// ACLs, and those take effect as they do in the source).
		b.Versioning = src.Versioning
		b.Ownership, b.ACL = src.Ownership, src.ACL
		b.Lock = src.Lock
		if err := a.inheritConfig(b, src, base); err != nil {
			return nil, err
		}
	}
	if err := a.insertBucket(b); err != nil {
		return nil, err
	}
	filled, err := a.r.fill(b)
	if err != nil {
		return nil, err
	}
	return &Result{Bucket: filled}, nil
}

// forkPoint resolves the source and base version of a new fork: a named
// snapshot, a snapshot or history version, or (neither) this command's
// version; and checks the depth the fork would have.
func (a *applier) forkPoint(source string, version uint64, snapName string, maxDepth int) (*Bucket, uint64, error) {
	src, err := a.r.liveBucket(source)
	if err != nil {
		return nil, 0, err
	}
	base := a.version
	switch {
	case snapName != "":
		v, ok, err := getValue(a.txn, keySnapshotName(src.ID, snapName))
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			return nil, 0, fmt.Errorf("%w: %q of bucket %q", ErrNoSuchSnapshot, snapName, src.Name)
		}
		if base, err = decodeU64Value(v); err != nil {
			return nil, 0, err
		}
	case version != 0:
		ok, err := exists(a.txn, keySnapshot(src.ID, version))
		if err != nil {
			return nil, 0, err
		}
		inHistory := a.opts.History > 0 && version <= a.version && version >= a.r.historyFloor()
		// Not before the source existed (checkAt: a fork's past before
		// its fork point is its parent's, not the fork's).
		if (!ok && !inHistory) || version < uint64(src.Created) {
			return nil, 0, fmt.Errorf("%w: version %d of bucket %q", ErrNoSuchSnapshot, version, src.Name)
		}
		base = version
	}
	d, err := a.r.depth(src)
	if err != nil {
		return nil, 0, err
	}
	limit := maxDepth
	if limit <= 0 {
		limit = a.opts.MaxForkDepth
	}
	if d+1 > limit {
		return nil, 0, fmt.Errorf("%w: %d ancestors, limit %d", ErrForkDepthExceeded, d+1, limit)
	}
	return src, base, nil
}

// insertBucket gives b the next bucket id and writes its record, its name
// and, for a fork, its fork index entry.
func (a *applier) insertBucket(b *Bucket) error {
	id, err := getCounter(a.txn, ctrNextBucketID)
	if err != nil {
		return err
	}
	// Each shard allocates from its own range (directory.go).
	id = max(id, firstBucketCounter(a.shard))
	id++
	b.ID = id
	// A new bucket id's layer has no annotations.
	b.annotations = annNone
	if err := a.set(keyCounter(ctrNextBucketID), u64Value(id)); err != nil {
		return err
	}
	if err := a.putBucket(b); err != nil {
		return err
	}
	if err := a.putAccessRecord(b); err != nil {
		return err
	}
	if err := a.set(keyBucketName(b.Name), u64Value(id)); err != nil {
		return err
	}
	if b.Parent != nil {
		return a.set(keyFork(b.Parent.BucketID, b.Parent.Version, id), []byte{fmtV1})
	}
	return nil
}

func (a *applier) setVersioning(c *SetVersioning) (*Result, error) {
	b, err := a.writableBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	if b.Lock.Enabled && c.Status != VersioningEnabled {
		return nil, fmt.Errorf("%w: versioning cannot be suspended on %q: Object Lock is enabled", ErrInvalidBucketState, c.Bucket)
	}
	b.Versioning = c.Status
	return nil, a.putBucket(b)
}

func (a *applier) createSnapshot(c *CreateSnapshot) (*Result, error) {
	b, err := a.writableBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	if c.Name != "" {
		ok, err := exists(a.txn, keySnapshotName(b.ID, c.Name))
		if err != nil {
			return nil, err
		}
		if ok {
			return nil, fmt.Errorf("%w: %q of bucket %q", ErrSnapshotExists, c.Name, c.Bucket)
		}
		if err := a.set(keySnapshotName(b.ID, c.Name), u64Value(a.version)); err != nil {
			return nil, err
		}
	}
	s := &Snapshot{BucketID: b.ID, Version: a.version, Name: c.Name, Created: int64(a.version)}
	if err := a.set(keySnapshot(b.ID, a.version), encodeSnapshotRecord(s)); err != nil {
		return nil, err
	}
	delete(a.pins, b.ID)
	return &Result{Snapshot: s}, nil
}

func (a *applier) deleteSnapshot(c *DeleteSnapshot) (*Result, error) {
	b, err := a.r.liveBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	v, ok, err := getValue(a.txn, keySnapshot(b.ID, c.Version))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: version %d of bucket %q", ErrNoSuchSnapshot, c.Version, c.Bucket)
	}
	s, err := decodeSnapshotRecord(b.ID, c.Version, v)
	if err != nil {
		return nil, err
	}
	if err := a.deleteSnapshotKeys(s); err != nil {
		return nil, err
	}
	// Versions only this snapshot pinned become unreachable: collect them.
	if err := a.markPending(b.ID); err != nil {
		return nil, err
	}
	budget := inlineGCLimit
	_, err = a.gcStep(b, &budget)
	return &Result{Snapshot: s}, err
}

func (a *applier) deleteSnapshotKeys(s *Snapshot) error {
	if err := a.del(keySnapshot(s.BucketID, s.Version)); err != nil {
		return err
	}
	if s.Name != "" {
		if err := a.del(keySnapshotName(s.BucketID, s.Name)); err != nil {
			return err
		}
	}
	delete(a.pins, s.BucketID)
	return nil
}

func (a *applier) deleteBucket(c *DeleteBucket) (*Result, error) {
	// A view goes with UnmountView only.
	b, err := a.writableBucket(c.Name)
	if err != nil {
		return nil, err
	}
	empty, err := a.ownLayerEmpty(b.ID)
	if err != nil {
		return nil, err
	}
	if !empty {
		return nil, fmt.Errorf("%w: %q", ErrBucketNotEmpty, c.Name)
	}
	// Versions under a lock keep the bucket (AWS: a versioned bucket
	// with any version is not empty).
	if locked, err := a.lockedVersions(b); err != nil {
		return nil, err
	} else if locked.any {
		return nil, fmt.Errorf("%w: %q holds locked object versions", ErrBucketNotEmpty, c.Name)
	}
	// In-progress multipart uploads do not keep a bucket alive: they are
	// aborted with it (here within the inline budget, the rest by the
	// bucket's retention pass).
	return nil, a.retireBucket(b)
}

// retireBucket deletes a live bucket whatever its own layer holds: its
// name is freed, its snapshots go, it leaves every key's scope, and a
// retention pass (started inline) removes its versions and uploads,
// keeping what forks of it still read.
func (a *applier) retireBucket(b *Bucket) error {
	if err := a.del(keyBucketName(b.Name)); err != nil {
		return err
	}
	// A merge under way from or into it (its lease ran out) ends here.
	if err := a.endMergeHolding(b.ID); err != nil {
		return err
	}
	// The bucket's snapshots die with it; forks made from them keep what
	// they need through their fork index entries.
	snaps, err := a.r.snapshots(b.ID)
	if err != nil {
		return err
	}
	for i := range snaps {
		if err := a.deleteSnapshotKeys(&snaps[i]); err != nil {
			return err
		}
	}
	if err := a.forgetBucket(b); err != nil {
		return err
	}
	if err := a.dropLifecycle(b.ID); err != nil {
		return err
	}
	// Nodes drop their cached keys (a key may name this bucket's name).
	if err := a.bumpKeys(); err != nil {
		return err
	}
	c := *b
	c.State = BucketRetained
	if err := a.putBucket(&c); err != nil {
		return err
	}
	delete(a.pins, b.ID)
	if err := a.markPending(b.ID); err != nil {
		return err
	}
	budget := inlineGCLimit
	_, err = a.gcStep(&c, &budget)
	return err
}

// ownLayerEmpty reports whether no key of the bucket's own layer has a
// latest version that is an object (delete markers and records deleted by
// version do not count; a parent's objects do not count either).
func (a *applier) ownLayerEmpty(bucket uint64) (bool, error) {
	prefix := keyObjectBucket(bucket)
	it := a.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	it.Seek(prefix)
	for it.Valid() {
		item := it.Item()
		_, key, _, ok := parseObjectKey(item.Key())
		if !ok {
			return false, fmt.Errorf("%w: object key", ErrCorrupt)
		}
		var h recordHeader
		err := item.Value(func(v []byte) (err error) {
			h, err = decodeRecordHeader(v)
			return err
		})
		if err != nil {
			return false, err
		}
		if h.deletedAt != 0 {
			it.Next()
			continue
		}
		if !h.deleteMarker {
			return false, nil
		}
		// The newest existing version is a marker: skip the key.
		it.Seek(append(appendEscaped(append([]byte(nil), prefix...), key), 0, 2))
	}
	return true, nil
}

// --- objects ---

// etagMatches compares a condition (a comma-separated list of quoted
// ETags, possibly weak) with a record's ETag.
func etagMatches(cond, etag string) bool {
	want := strings.Trim(etag, `"`)
	for _, c := range strings.Split(cond, ",") {
		c = strings.TrimSpace(c)
		c = strings.TrimPrefix(c, "W/")
		if c == "*" || strings.Trim(c, `"`) == want {
			return true
		}
	}
	return false
}

// checkConditions evaluates If-Match / If-None-Match against the key's
// current visible version, read through the fork chain.
func (a *applier) checkConditions(b *Bucket, key, ifMatch, ifNoneMatch string) error {
	if ifMatch == "" && ifNoneMatch == "" {
		return nil
	}
	cur, err := a.conditionView(b, key)
	if err != nil {
		return err
	}
	present := cur != nil && !cur.DeleteMarker
	if ifMatch != "" {
		if !present {
			return fmt.Errorf("%w: %q (If-Match)", ErrNoSuchKey, key)
		}
		if !etagMatches(ifMatch, cur.ETag) {
			return fmt.Errorf("%w: If-Match %s", ErrPreconditionFailed, ifMatch)
		}
	}
	if ifNoneMatch != "" && present && etagMatches(ifNoneMatch, cur.ETag) {
		return fmt.Errorf("%w: If-None-Match %s", ErrPreconditionFailed, ifNoneMatch)
	}
	return nil
}

// checkDelete evaluates a conditional delete against the key's current
// visible version, read through the fork chain.
func (a *applier) checkDelete(b *Bucket, key string, c *DeleteCondition) error {
	if !c.any() {
		return nil
	}
	cur, err := a.conditionView(b, key)
	if err != nil {
		return err
	}
	if cur == nil || cur.DeleteMarker {
		if c.IfMatch != "" {
			return fmt.Errorf("%w: %q (If-Match)", ErrNoSuchKey, key)
		}
		return nil
	}
	if c.IfMatch != "" && !etagMatches(c.IfMatch, cur.ETag) {
		return fmt.Errorf("%w: If-Match %s", ErrPreconditionFailed, c.IfMatch)
	}
	if c.ModifiedTo != 0 && (cur.LastModified < c.ModifiedFrom || cur.LastModified >= c.ModifiedTo) {
		return fmt.Errorf("%w: last modified %d", ErrPreconditionFailed, cur.LastModified)
	}
	if c.HasSize && cur.Size != c.Size {
		return fmt.Errorf("%w: size %d, not %d", ErrPreconditionFailed, cur.Size, c.Size)
	}
	return nil
}

// writeObject writes o as the new version of its key in b: a real version
// when b is versioned, else the null version replacing the previous one.
func (a *applier) writeObject(b *Bucket, o Object) (*Object, error) {
	o.Version = a.version
	o.LastModified = int64(a.version)
	o.DeletedAt = 0
	o.Null = b.Versioning != VersioningEnabled
	if o.Null {
		if err := a.supersedeNull(b, o.Key); err != nil {
			return nil, err
		}
	}
	if err := a.ref(o.Chunks); err != nil {
		return nil, err
	}
	if err := a.putRecord(b.ID, &o); err != nil {
		return nil, err
	}
	o.Inline = nil
	return &o, nil
}

func (a *applier) putObject(c *PutObject) (*Result, error) {
	b, err := a.writableBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	if err := checkACL(b, c.Object.ACL); err != nil {
		return nil, err
	}
	if !c.Checked && b.Lock.Enabled && (b.Lock.Mode != LockNone || c.Object.LockMode != LockNone || c.Object.LegalHold) {
		return nil, fmt.Errorf("%w: %q", ErrLockNeedsChecksum, c.Object.Key)
	}
	if err := a.applyDefaultLock(b, &c.Object, true); err != nil {
		return nil, err
	}
	if c.CheckDefault {
		cfg, err := a.r.BucketEncryption(c.Bucket)
		if err != nil {
			return nil, err
		}
		if cfg.Alg() != c.DefaultAssumed {
			return nil, fmt.Errorf("%w: %q", ErrDefaultEncryptionChanged, c.Bucket)
		}
	}
	if err := a.checkConditions(b, c.Object.Key, c.IfMatch, c.IfNoneMatch); err != nil {
		return nil, err
	}
	if c.SharedChunks {
		for _, ch := range c.Object.Chunks {
			r, err := a.chunkRef(ch.ID)
			if err != nil {
				return nil, err
			}
			if r.n == 0 {
				return nil, fmt.Errorf("%w: data of the source is gone (chunk %s)", ErrNoSuchKey, ch.ID)
			}
		}
	}
	o, err := a.writeObject(b, c.Object)
	if err != nil {
		return nil, err
	}
	return &Result{Object: o}, nil
}

func (a *applier) deleteObject(c *DeleteObject) (*Result, error) {
	b, err := a.writableBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	if err := a.checkDelete(b, c.Key, &c.DeleteCondition); err != nil {
		return nil, err
	}
	a.bypassGovernance = c.BypassGovernance
	out, err := a.deleteKey(b, c.Key, c.VersionID)
	if err != nil {
		return nil, err
	}
	return &Result{Deleted: []DeleteOutcome{out}}, nil
}

func (a *applier) deleteObjects(c *DeleteObjects) (*Result, error) {
	b, err := a.writableBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	res := &Result{Deleted: make([]DeleteOutcome, 0, len(c.Items))}
	a.bypassGovernance = c.BypassGovernance
	for _, it := range c.Items {
		err := a.checkDelete(b, it.Key, &it.DeleteCondition)
		var out DeleteOutcome
		if err == nil {
			out, err = a.deleteKey(b, it.Key, it.VersionID)
		}
		if err != nil {
			if _, ok := businessCode(err); !ok {
				return nil, err
			}
			out = DeleteOutcome{Key: it.Key, VersionID: it.VersionID, Err: err}
		}
		res.Deleted = append(res.Deleted, out)
	}
	return res, nil
}

// deleteKey deletes a key (versionID "") or one version of it in b's own
// layer. Business errors come back before anything is written.
func (a *applier) deleteKey(b *Bucket, key, versionID string) (DeleteOutcome, error) {
	out := DeleteOutcome{Key: key}
	if versionID != "" {
		null, v, err := ParseVersionID(versionID)
		if err != nil {
			return out, err
		}
		rec, err := a.r.findVersion(b.ID, key, null, v, latest)
		if err != nil {
			return out, err
		}
		if rec == nil {
			return out, fmt.Errorf("%w: %q version %s", ErrNoSuchVersion, key, versionID)
		}
		if err := MayRemove(rec, a.version, a.bypassGovernance); err != nil {
			return out, err
		}
		out.VersionID = versionID
		out.DeleteMarker = rec.DeleteMarker
		return out, a.supersede(b, key, rec.Version)
	}
	switch b.Versioning {
	case VersioningEnabled:
		out.VersionID = strconv.FormatUint(a.version, 10)
		out.DeleteMarker, out.MarkerVersion = true, a.version
		return out, a.writeMarker(b, key, false)
	case VersioningSuspended:
		if err := a.supersedeNull(b, key); err != nil {
			return out, err
		}
		out.VersionID = "null"
		out.DeleteMarker, out.MarkerVersion = true, a.version
		return out, a.writeMarker(b, key, true)
	}
	// Unversioned: remove the null version. A fork still needs a tombstone
	// when an ancestor shows the key; it stays internal (no marker reported).
	own, err := a.r.ownView(b.ID, key, latest, false)
	if err != nil {
		return out, err
	}
	if own != nil && own.DeleteMarker {
		return out, nil
	}
	// Whether a tombstone is needed is known before anything is written:
	// for a parent on another shard the command must carry its view
	// (ErrRemoteParent otherwise, nothing changed).
	inherited, err := a.inheritedView(b, key)
	var rr *RemoteRead
	if errors.As(err, &rr) {
		in := a.inherited
		switch {
		case a.tombstoneRemote:
			inherited, err = &Object{Key: key}, nil
		case in == nil || in.Parent != rr.BucketID || in.At != rr.At || in.Key != key:
			return out, err
		default:
			inherited, err = nil, nil
			if in.Present {
				inherited = &Object{Key: key, ETag: in.ETag}
			}
		}
	}
	if err != nil {
		return out, err
	}
	if own != nil {
		if err := a.supersede(b, key, own.Version); err != nil {
			return out, err
		}
	}
	if inherited != nil && !inherited.DeleteMarker {
		return out, a.writeMarker(b, key, true)
	}
	return out, nil
}

// inheritedView is what b would show for key without its own layer.
func (a *applier) inheritedView(b *Bucket, key string) (*Object, error) {
	if b.Parent == nil {
		return nil, nil
	}
	ls, remote, err := a.r.chainRemote(b, latest)
	if err != nil {
		return nil, err
	}
	for _, l := range ls[1:] {
		o, err := a.r.ownView(l.bucket.ID, key, l.at, false)
		if err != nil || o != nil {
			return o, err
		}
	}
	if remote != nil {
		return nil, remote
	}
	return nil, nil
}

func (a *applier) writeMarker(b *Bucket, key string, null bool) error {
	o := &Object{Key: key, Version: a.version, Null: null, DeleteMarker: true, LastModified: int64(a.version)}
	return a.putRecord(b.ID, o)
}

// supersedeNull retires the current null version of key, if any.
func (a *applier) supersedeNull(b *Bucket, key string) error {
	// Every null record is written after the previous one was retired, so
	// only the newest null record can be current: the walk stops there.
	recs, err := a.keyRecords(b.ID, key, func(r verRec) bool { return r.null })
	if err != nil {
		return err
	}
	if n := len(recs); n > 0 && recs[n-1].null && recs[n-1].deletedAt == 0 {
		return a.supersedeIn(b, key, recs[n-1].version, recs)
	}
	return nil
}

// --- chunk GC queue ---

// maxTrimPerCommand bounds the queue entries one TrimGC removes, so that
// the command fits one Badger transaction on every replica: Badger allows
// 15% of a memtable per transaction, in entries of up to 96 bytes each,
// which is 1,638 entries with the smallest memtable a replica gets (1 MiB)
// and 6,553 with the 4 MiB of the default budget. It was 10,000: a queue
// that long (one bucket of 10,000 chunked objects emptied between two
// trims) made the trim's apply fail, which stops a node, and again at
// every restart. TrimGC says More while entries are left.
const maxTrimPerCommand = 1000

func (a *applier) trimGC(c *TrimGC) (*Result, error) {
	more, err := a.consumeIndex(pfxGCQueue, indexEnd(pfxGCQueue, c.UpTo), maxTrimPerCommand, func(k []byte) error {
		if _, _, ok := parseGCQueueKey(k); !ok {
			return fmt.Errorf("%w: gc queue key", ErrCorrupt)
		}
		return a.del(k)
	})
	if err != nil {
		return nil, err
	}
	return &Result{More: more}, nil
}
