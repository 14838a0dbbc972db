package meta

import (
	"fmt"

	sm "github.com/lni/dragonboat/v4/statemachine"
)

// Result codes: the business outcome of a command travels in
// sm.Result.Value as one of these codes (0 = OK), never as a Go error from
// Update (that would crash the node). The table is APPEND-ONLY: a code,
// once used, keeps its meaning forever because results are stored for
// request-id dedupe and replicas of different builds apply the same log.
const (
	codeOK                   uint64 = 0
	codeNoSuchBucket         uint64 = 1
	codeBucketExists         uint64 = 2
	codeBucketNotEmpty       uint64 = 3
	codeNoSuchKey            uint64 = 4
	codeNoSuchVersion        uint64 = 5
	codePreconditionFailed   uint64 = 6
	codeNoSuchUpload         uint64 = 7
	codeInvalidPart          uint64 = 8
	codeNoSuchSnapshot       uint64 = 9
	codeSnapshotExists       uint64 = 10
	codeForkDepthExceeded    uint64 = 11
	codeVersionOutOfRetained uint64 = 12
	codeMethodNotAllowed     uint64 = 13
	codeInvalidVersion       uint64 = 14
	// 20-29: S3 conformance.
	codeACLNotSupported  uint64 = 20
	codeInvalidBucketACL uint64 = 21
	// 28: bucket policies.
	codePublicPolicyBlocked uint64 = 28
	// 70-79: users.
	codeNoSuchUser      uint64 = 70
	codeUserExists      uint64 = 71
	codeUserOwnsBuckets uint64 = 72
	codeNotBucketOwner  uint64 = 73
	codeEmailInUse      uint64 = 74
	// 30-39: access keys, leases, merges.
	codeNoSuchAccessKey uint64 = 30
	codeAccessKeyExists uint64 = 31
	codeNotAFork        uint64 = 32
	codeMergeConflict   uint64 = 33
	codeLeaseExpired    uint64 = 34
	codeKeyLimit        uint64 = 35
	codeMergeInProgress uint64 = 36
	// 40-49: the cluster.
	codeNodeRetired uint64 = 40
	// 60-69: Object Lock.
	codeObjectLocked       uint64 = 60
	codeInvalidLockRequest uint64 = 61
	codeInvalidBucketState uint64 = 62
	codeLockNeedsChecksum  uint64 = 63
	// 50-59: snapshot views.
	codeReadOnlyView uint64 = 50
	codeNotAView     uint64 = 51
	// 80-83: the directory of metadata shards.
	codeShardCount    uint64 = 80
	codeNameElsewhere uint64 = 81
	// 82-89: forks on another shard than their parent.
	codeForkAcrossShards  uint64 = 82
	codeForkAborted       uint64 = 83
	codeInvalidRemoteFork uint64 = 84
	codeRemoteParent      uint64 = 85
	codeCrossShardMerge   uint64 = 86

	// 90: encryption at rest.
	codeDefaultEncryptionChanged uint64 = 90
)

// resultCodes maps codes to sentinels. A map, not a slice indexed by code:
// codes are assigned in ranges, and a gap must never decode as OK.
var resultCodes = map[uint64]error{
	codeOK:                   nil,
	codeNoSuchBucket:         ErrNoSuchBucket,
	codeBucketExists:         ErrBucketExists,
	codeBucketNotEmpty:       ErrBucketNotEmpty,
	codeNoSuchKey:            ErrNoSuchKey,
	codeNoSuchVersion:        ErrNoSuchVersion,
	codePreconditionFailed:   ErrPreconditionFailed,
	codeNoSuchUpload:         ErrNoSuchUpload,
	codeInvalidPart:          ErrInvalidPart,
	codeNoSuchSnapshot:       ErrNoSuchSnapshot,
	codeSnapshotExists:       ErrSnapshotExists,
	codeForkDepthExceeded:    ErrForkDepthExceeded,
	codeVersionOutOfRetained: ErrVersionOutOfRetention,
	codeMethodNotAllowed:     ErrMethodNotAllowed,
	codeInvalidVersion:       ErrInvalidVersion,
	codeACLNotSupported:      ErrACLNotSupported,
	codeInvalidBucketACL:     ErrInvalidBucketACL,
	codeNoSuchAccessKey:      ErrNoSuchAccessKey,
	codeAccessKeyExists:      ErrAccessKeyExists,
	codeNotAFork:             ErrNotAFork,
	codeMergeConflict:        ErrMergeConflict,
	codeLeaseExpired:         ErrLeaseExpired,
	codeKeyLimit:             ErrKeyLimit,
	codeMergeInProgress:      ErrMergeInProgress,
	codeNodeRetired:          ErrNodeRetired,
	codeObjectLocked:         ErrObjectLocked,
	codeInvalidLockRequest:   ErrInvalidLockRequest,
	codeInvalidBucketState:   ErrInvalidBucketState,
	codeLockNeedsChecksum:    ErrLockNeedsChecksum,
	codeReadOnlyView:         ErrReadOnlyView,
	codeNotAView:             ErrNotAView,
	codePublicPolicyBlocked:  ErrPublicPolicyBlocked,
	codeNoSuchUser:           ErrNoSuchUser,
	codeUserExists:           ErrUserExists,
	codeUserOwnsBuckets:      ErrUserOwnsBuckets,
	codeEmailInUse:           ErrEmailInUse,
	codeNotBucketOwner:       ErrNotBucketOwner,
	codeShardCount:           ErrShardCount,
	codeNameElsewhere:        ErrNameElsewhere,
	codeForkAcrossShards:     ErrForkAcrossShards,
	codeForkAborted:          ErrForkAborted,
	codeInvalidRemoteFork:    ErrInvalidRemoteFork,
	codeRemoteParent:         ErrRemoteParent,
	codeCrossShardMerge:      ErrCrossShardMerge,

	codeDefaultEncryptionChanged: ErrDefaultEncryptionChanged,
}

// codeOf returns the code of a sentinel (wrapped or not). An error that is
// not in the table is a programming error in apply.
func codeOf(err error) uint64 {
	if err == nil {
		return codeOK
	}
	if c, ok := businessCode(err); ok {
		return c
	}
	panic(fmt.Sprintf("meta: no result code for %v", err))
}

// errOfCode returns the sentinel of a code.
func errOfCode(code uint64) error {
	if e, ok := resultCodes[code]; ok {
		return e
	}
	return fmt.Errorf("%w: unknown result code %d", ErrCorrupt, code)
}

// Result is what a command returns to its proposer, decoded from
// sm.Result by DecodeResult. Only the fields relevant to the command are
// set.
type Result struct {
	// Version is the version the command was applied at.
	Version uint64
	// Bucket is the created bucket or fork (CreateBucket).
	Bucket *Bucket
	// Object is the written record without its Inline bytes (PutObject,
	// CompleteUpload).
	Object *Object
	// Snapshot is the snapshot taken (CreateSnapshot).
	Snapshot *Snapshot
	// Part is the recorded part (PutPart).
	Part *Part
	// Deleted has one outcome per deleted key (DeleteObject: one entry;
	// DeleteObjects: one per item, in order).
	Deleted []DeleteOutcome
	// More is set by GCBucket and TrimGC when the step stopped at its
	// limit and more work remains (ExpireLeases: more is due).
	More bool
	// Buckets are the forks created (CreateForks, in the order named) or
	// deleted (ExpireLeases).
	Buckets []Bucket
	// Keys are the keys created (CreateKey, CreateForks) or expired
	// (ExpireLeases), without their sealed secrets.
	Keys []AccessKey
	// Merge reports a merge (MergeFork; also set with ErrMergeConflict).
	Merge *MergeReport
	// Template is the record template of remote forks (PinRemoteForks).
	Template []byte
}

// DeleteOutcome is the outcome of deleting one key or version.
type DeleteOutcome struct {
	Key string
	// VersionID is the version removed (as given), or the delete marker
	// created ("null" for a null marker); "" when nothing was versioned.
	VersionID     string
	DeleteMarker  bool   // a delete marker was created or removed
	MarkerVersion uint64 // the created marker's version (0 if none)
	Err           error  // a sentinel for this item (DeleteObjects)
}

// encodeResult encodes r for sm.Result.Data (and for the dedupe table).
func encodeResult(r *Result) []byte {
	e := encoder{b: make([]byte, 0, 64)}
	e.u8(fmtV6)
	e.uvarint(r.Version)
	e.boolean(r.Bucket != nil)
	if r.Bucket != nil {
		b := r.Bucket
		encodeBucketFields(&e, b)
		e.str(b.ParentName)
		e.boolean(b.IsForkParent)
	}
	e.boolean(r.Object != nil)
	if r.Object != nil {
		encodeObjectFull(&e, r.Object)
	}
	e.boolean(r.Snapshot != nil)
	if r.Snapshot != nil {
		e.uvarint(r.Snapshot.BucketID)
		e.uvarint(r.Snapshot.Version)
		e.str(r.Snapshot.Name)
		e.varint(r.Snapshot.Created)
	}
	e.boolean(r.Part != nil)
	if r.Part != nil {
		encodePart(&e, r.Part)
	}
	e.uvarint(uint64(len(r.Deleted)))
	for _, d := range r.Deleted {
		e.str(d.Key)
		e.str(d.VersionID)
		e.boolean(d.DeleteMarker)
		e.uvarint(d.MarkerVersion)
		e.uvarint(codeOf(d.Err))
	}
	e.boolean(r.More)
	// Fields added after the first format: decoders accept results
	// stored without them.
	if r.Bucket != nil {
		e.varint(r.Bucket.Expires)
	} else {
		e.varint(0)
	}
	e.uvarint(uint64(len(r.Buckets)))
	for i := range r.Buckets {
		b := &r.Buckets[i]
		encodeBucketFields(&e, b)
		e.str(b.ParentName)
		e.boolean(b.IsForkParent)
		e.varint(b.Expires)
	}
	e.uvarint(uint64(len(r.Keys)))
	for i := range r.Keys {
		k := r.Keys[i]
		k.Sealed = nil
		encodeAccessKey(&e, &k)
	}
	e.boolean(r.Merge != nil)
	if m := r.Merge; m != nil {
		e.str(m.Fork)
		e.str(m.Parent)
		e.uvarint(m.ParentID)
		e.uvarint(m.Base)
		e.uvarint(m.Since)
		e.int(m.Puts)
		e.int(m.Deletes)
		e.int(m.Kept)
		e.int(m.ConflictCount)
		e.uvarint(uint64(len(m.Conflicts)))
		for _, k := range m.Conflicts {
			e.str(k)
		}
		e.boolean(m.ForkDeleted)
		e.boolean(m.DryRun)
		e.boolean(m.UnderWay)
	}
	if r.Template != nil {
		e.bytes(r.Template)
	}
	return e.b
}

func decodeResultData(b []byte) (*Result, error) {
	r := &Result{}
	if len(b) == 0 {
		return r, nil
	}
	d := decoder{b: b}
	d.fmtByte()
	r.Version = d.uvarint()
	if d.boolean() {
		bk := &Bucket{}
		decodeBucketFields(&d, bk)
		bk.ParentName = d.str()
		bk.IsForkParent = d.boolean()
		r.Bucket = bk
	}
	if d.boolean() {
		o := decodeObjectFull(&d)
		r.Object = &o
	}
	if d.boolean() {
		r.Snapshot = &Snapshot{BucketID: d.uvarint(), Version: d.uvarint(), Name: d.str(), Created: d.varint()}
	}
	if d.boolean() {
		p := decodePart(&d)
		r.Part = &p
	}
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		o := DeleteOutcome{Key: d.str(), VersionID: d.str(), DeleteMarker: d.boolean(), MarkerVersion: d.uvarint()}
		o.Err = errOfCode(d.uvarint())
		r.Deleted = append(r.Deleted, o)
	}
	r.More = d.boolean()
	if len(d.b) > 0 && d.err == nil {
		if exp := d.varint(); r.Bucket != nil {
			r.Bucket.Expires = exp
		}
		n := d.count()
		for i := 0; i < n && d.err == nil; i++ {
			var b Bucket
			decodeBucketFields(&d, &b)
			b.ParentName = d.str()
			b.IsForkParent = d.boolean()
			b.Expires = d.varint()
			r.Buckets = append(r.Buckets, b)
		}
		n = d.count()
		for i := 0; i < n && d.err == nil; i++ {
			r.Keys = append(r.Keys, decodeAccessKey(&d))
		}
		if d.boolean() {
			m := &MergeReport{Fork: d.str(), Parent: d.str(), ParentID: d.uvarint(), Base: d.uvarint(), Since: d.uvarint(),
				Puts: d.int(), Deletes: d.int(), Kept: d.int(), ConflictCount: d.int()}
			n = d.count()
			for i := 0; i < n && d.err == nil; i++ {
				m.Conflicts = append(m.Conflicts, d.str())
			}
			m.ForkDeleted = d.boolean()
			m.DryRun = d.boolean()
			if len(d.b) > 0 { // results recorded before UnderWay existed end here
				m.UnderWay = d.boolean()
			}
			r.Merge = m
		}
		if len(d.b) > 0 { // results before remote forks end here
			r.Template = d.bytes()
		}
	}
	if err := d.done(); err != nil {
		return nil, err
	}
	return r, nil
}

// DecodeResult turns a command's sm.Result back into a Result and, for a
// non-OK code, the sentinel error (the Result may still carry data, e.g.
// the version the command was applied at).
func DecodeResult(res sm.Result) (*Result, error) {
	r, err := decodeResultData(res.Data)
	if err != nil {
		return nil, err
	}
	return r, errOfCode(res.Value)
}
