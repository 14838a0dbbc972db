package meta

import (
	"errors"
	"fmt"
)

// Commands are the replicated mutations. The gateway builds them, stamping
// wall-clock time and ids; apply (fsm.go) executes them deterministically.
// Every command carries a RequestID so a retried proposal applies once.
//
// Encoding: EncodeCommand / DecodeCommand (an op byte, then the body).

// Header is common to every command.
type Header struct {
	RequestID string // unique per logical request (retries reuse it)
	Stamp     uint64 // proposer's wall clock, Unix nanoseconds
}

// CommandHeader returns the header; every command (as a pointer) has it
// through embedding, so proposers can stamp any command the same way.
func (h *Header) CommandHeader() *Header { return h }

// CreateBucket creates a bucket, or a fork when ForkSource is set, or takes
// a snapshot of an existing bucket when Snapshot is set.
type CreateBucket struct {
	Header
	Name   string
	Region string
	// ForkSource makes the new bucket a fork of this live bucket, at
	// ForkVersion (a snapshot version of the source, or any version within
	// the history window) or, when ForkVersion is 0 and ForkSnapshotName is
	// empty, at the version of this command.
	ForkSource       string
	ForkVersion      uint64
	ForkSnapshotName string
	MaxForkDepth     int // 0 means the default (32)
	// Ownership and ACL (a canned ACL, "" is private) are the new
	// bucket's access settings; a fork takes its source's instead. An ACL
	// with OwnershipEnforced is ErrInvalidBucketACL.
	Ownership Ownership
	ACL       string
	// ObjectLock enables Object Lock (and versioning) on the new bucket;
	// a fork takes its source's Object Lock configuration instead.
	ObjectLock bool
}

// DeleteBucket deletes an empty bucket (or a fork, whatever its parent holds;
// only the fork's own live objects make it non-empty).
type DeleteBucket struct {
	Header
	Name string
}

// CreateSnapshot records a snapshot of Bucket at the command's version.
type CreateSnapshot struct {
	Header
	Bucket string
	Name   string // optional; unique among the bucket's snapshots when set
}

// DeleteSnapshot removes a snapshot of Bucket.
type DeleteSnapshot struct {
	Header
	Bucket  string
	Version uint64
}

// SetVersioning sets a bucket's versioning state (Enabled or Suspended).
type SetVersioning struct {
	Header
	Bucket string
	Status Versioning
}

// PutObject writes a new version of Object.Key. Object.Version,
// LastModified are set by apply. Conditions are evaluated in apply against
// the key's current visible version (with fork read-through).
type PutObject struct {
	Header
	Bucket      string
	Object      Object
	IfMatch     string // quoted ETag or "*"; "" for none
	IfNoneMatch string // quoted ETag or "*"; "" for none
	// SharedChunks says Object.Chunks already exist (CopyObject): apply
	// fails with ErrNoSuchKey if any of them has no reference left (it may
	// be being collected), instead of resurrecting it.
	SharedChunks bool
	// Checked says the body's integrity was checked against a digest the
	// client sent (Content-MD5 or an x-amz-checksum), or the data was not
	// uploaded (a copy): a write that Object Lock retains needs it, as
	// on AWS (ErrLockNeedsChecksum).
	Checked bool
	// CheckDefault says the writer chose the version's encryption from
	// the bucket's default encryption as a replica showed it without a
	// leader round (possibly stale): DefaultAssumed is the algorithm of
	// that default ("" for none). Apply refuses the write with
	// ErrDefaultEncryptionChanged when the bucket's default (its own or
	// its nearest ancestor's) is another.
	CheckDefault   bool
	DefaultAssumed string
}

// DeleteObject deletes a key (writing a delete marker when the bucket is
// versioned or is a fork or has dependants) or, with VersionID, one version.
// Its conditions are evaluated in apply against the key's current version
// (with fork read-through), whatever VersionID names.
type DeleteObject struct {
	Header
	Bucket    string
	Key       string
	VersionID string // "" = current; "null" = the null version; else a decimal version
	DeleteCondition
	// BypassGovernance lets the delete of a version remove it while it is
	// under GOVERNANCE retention (lock.go).
	BypassGovernance bool
}

// DeleteCondition is what a conditional delete (S3's If-Match,
// x-amz-if-match-last-modified-time, x-amz-if-match-size) requires of the
// key's current version. A failed condition is ErrPreconditionFailed;
// If-Match on a key with no current version is ErrNoSuchKey, while the
// other conditions let the delete of an absent key go ahead.
type DeleteCondition struct {
	IfMatch string // quoted ETag or "*"; "" for none
	// The current version's LastModified must lie in [ModifiedFrom,
	// ModifiedTo) (Unix nanoseconds); ModifiedTo 0 means no condition.
	ModifiedFrom, ModifiedTo int64
	// Size is the size the current version must have, when HasSize.
	Size    int64
	HasSize bool
}

// any reports whether c requires anything.
func (c *DeleteCondition) any() bool { return c.IfMatch != "" || c.ModifiedTo != 0 || c.HasSize }

// DeleteObjects is a batch of DeleteObject in one command.
type DeleteObjects struct {
	Header
	Bucket string
	Items  []DeleteItem
	// BypassGovernance is DeleteObject's, for every item.
	BypassGovernance bool
}

// DeleteItem is one entry of DeleteObjects, with its own conditions.
type DeleteItem struct {
	Key       string
	VersionID string
	DeleteCondition
}

// CreateUpload starts a multipart upload.
type CreateUpload struct {
	Header
	Bucket   string
	UploadID string // chosen by the gateway, unique
	Template Object // Key, content headers, user metadata, Checksum.Algorithm/Type
}

// PutPart records an uploaded part, replacing an earlier part with the
// same number (whose chunks lose a reference).
type PutPart struct {
	Header
	Bucket   string
	Key      string
	UploadID string
	Part     Part
}

// CompleteUpload turns an upload into an object. The gateway has validated
// the part list and computed Object (ETag, size, checksum, chunks, parts);
// apply checks that the upload still exists and that each listed part still
// has the ETag given, then writes Object like PutObject.
type CompleteUpload struct {
	Header
	Bucket      string
	UploadID    string
	Parts       []CompletedPart
	Object      Object
	IfMatch     string
	IfNoneMatch string
}

// CompletedPart is a part number and the ETag the client named.
type CompletedPart struct {
	Number int
	ETag   string
}

// AbortUpload discards an upload and its parts.
type AbortUpload struct {
	Header
	Bucket   string
	Key      string
	UploadID string
}

// TrimGC removes chunk GC queue entries with version <= UpTo (every node has
// deleted its copies by then).
type TrimGC struct {
	Header
	UpTo uint64
}

// GCBucket runs one bounded step of a retention pass over a bucket's own
// versions: it removes the versions that no snapshot, fork, history window
// or versioning state can still read, dropping their chunk references, and
// purges a deleted bucket once nothing depends on it. The pass resumes where
// the previous step stopped; Reader.PendingGC lists the buckets with a pass
// under way. A bucket with no pass under way starts a new one (the gateway
// does so periodically when a history window is configured).
type GCBucket struct {
	Header
	Bucket uint64 // bucket id (deleted buckets have no name)
	Limit  int    // versions to examine in this step; <= 0 means 1000
}

// CreateKey stores a scoped access key. Key.Buckets name live buckets
// (apply resolves their ids); Key.Created is set by apply.
type CreateKey struct {
	Header
	Key AccessKey
	// Across: the key's buckets live on several shards and this is its
	// home copy (the shard its id names): a bucket of Key whose ID is of
	// another shard is recorded as it is, unchecked (that shard's copy of
	// the key, which names it, answers for it; access.go).
	Across bool
}

// DeleteKey removes an access key.
type DeleteKey struct {
	Header
	ID string
}

// ResealKeys replaces sealed secrets (after the root credentials changed):
// each item's New replaces the stored secret only while it still equals Old.
type ResealKeys struct {
	Header
	Items []Reseal
}

// Reseal is one key of ResealKeys.
type Reseal struct {
	ID       string
	Old, New []byte
}

// CreateForks creates len(Names) forks of Source at one shared base (a
// snapshot or history version of Source, else the command's version),
// all or none. With Keys (one per name, in order) each fork gets a key
// scoped to it alone; with Grant (the scoped key that asks for the forks),
// that existing key's scope gains every new fork, and every fork's lease
// is at most the key's earliest expiry (its own, and the leases of the
// buckets of its scope). Expires, when set, is the lease of every fork.
type CreateForks struct {
	Header
	Source           string
	ForkVersion      uint64
	ForkSnapshotName string
	Region           string
	Names            []string
	Keys             []AccessKey
	Grant            string
	Expires          int64
	MaxForkDepth     int
	// Owner is the user the forks are made for ("" the root account):
	// each fork is the user's, and so are the keys of the batch (they go
	// with the user). Encoded as opCreateOwnedForks.
	Owner string
}

// RenewLease sets the lease of a fork to Expires. Now is the proposer's
// lease clock: a lease that already ran out cannot be renewed.
type RenewLease struct {
	Header
	Bucket  string
	Expires int64
	Now     int64
}

// ExpireLeases deletes, as of the proposer's lease clock Now, the fork
// whose lease ran out first (with its keys) and up to 256 access keys that
// expired. Result.More says more remain.
type ExpireLeases struct {
	Header
	Now int64
}

// MergeFork applies what a fork changed since it was made (or since its
// previous merge) to its parent as one atomic step (see merge.go). A merge
// of more changes than one entry applies goes on in MergeContinue entries:
// its Result's report says UnderWay until the last.
type MergeFork struct {
	Header
	Fork       string
	Strategy   MergeStrategy
	DeleteFork bool
}

// MergeContinue applies the next changes of the merge of Fork under way
// (nothing when none is).
type MergeContinue struct {
	Header
	Fork string
}

// SetBucketAccess changes a bucket's ownership controls and/or its ACL.
// Enforcing bucket-owner ownership on a bucket whose ACL is not private is
// ErrInvalidBucketACL; a non-private ACL on a bucket with ACLs disabled is
// ErrACLNotSupported.
type SetBucketAccess struct {
	Header
	Bucket       string
	SetOwnership bool
	Ownership    Ownership
	SetACL       bool
	ACL          string
}

// Command op codes: the first byte of an encoded command. Stable forever;
// append only.
const (
	opCreateBucket   byte = 1
	opDeleteBucket   byte = 2
	opCreateSnapshot byte = 3
	opDeleteSnapshot byte = 4
	opSetVersioning  byte = 5
	opPutObject      byte = 6
	opDeleteObject   byte = 7
	opDeleteObjects  byte = 8
	opCreateUpload   byte = 9
	opPutPart        byte = 10
	opCompleteUpload byte = 11
	opAbortUpload    byte = 12
	opTrimGC         byte = 13
	opGCBucket       byte = 14
	// 15-31 are reserved; 32-47 belong to the cluster.
	opRegisterNode byte = 32
	opRetireNode   byte = 33
	opDigest       byte = 34

	// 48-63: S3 conformance.
	opAnnotateObject  byte = 48
	opSetBucketAccess byte = 49
	// 56-59: Object Lock (lock.go).
	opSetObjectLockConfig byte = 56
	opSetObjectLock       byte = 57

	// 64-79: access keys, leases, batch forks, merges.
	opCreateKey     byte = 64
	opDeleteKey     byte = 65
	opResealKeys    byte = 66
	opCreateForks   byte = 67
	opRenewLease    byte = 68
	opExpireLeases  byte = 69
	opMergeFork     byte = 70
	opMergeContinue byte = 71

	// 80-87: snapshot views.
	opMountView   byte = 80
	opUnmountView byte = 81
	// 88-95: bucket configuration.
	opSetBucketCORS       byte = 88
	opSetBucketEncryption byte = 89
	// 96-103: lifecycle.
	opSetLifecycle   byte = 96
	opApplyLifecycle byte = 97
	// 104-111: bucket policies, public access block and bucket tags; users.
	opSetBucketConfig   byte = 104
	opCreateUser        byte = 105
	opDeleteUser        byte = 106
	opRotateUserKey     byte = 107
	opCreateUserKey     byte = 108
	opCreateOwnedBucket byte = 109
	// CreateUser with an e-mail address (a build without e-mail
	// addresses refuses it rather than drop the address).
	opCreateUserEmail byte = 110
	// 112-119: users' forks. CreateForks for a user (Owner set).
	opCreateOwnedForks byte = 112
	// 120-127: the directory of metadata shards (directory.go).
	opInitShards  byte = 120
	opClaimNames  byte = 121
	opSettleNames byte = 122
	opReleaseName byte = 123
	// RegisterNode with a zone (a build without zones refuses it).
	opRegisterNodeZone byte = 124
	// 125-139: forks on another shard than their parent (xfork.go).
	opReserveBucketIDs  byte = 125
	opPinRemoteForks    byte = 126
	opCreateRemoteForks byte = 127
	opSettleRemotePins  byte = 128
	opAbortRemoteForks  byte = 129
	opReleaseRemotePins byte = 130
	opClearPinReleases  byte = 131
	// PutObject and DeleteObject with the view a fork's parent on
	// another shard gives of the key (for their conditions).
	opPutObjectInherited    byte = 132
	opDeleteObjectInherited byte = 133
	opCompleteUploadInherit byte = 134 // CompleteUploadInherited
	// 135-149: merges of forks into their parents on other shards
	// (xmerge.go).
	opHoldRemoteMerge   byte = 135
	opBeginRemoteMerge  byte = 136
	opRemoteMergeEntry  byte = 137
	opEndRemoteMerge    byte = 138
	opSettleRemoteMerge byte = 139
	opClearRemoteMerges byte = 140
	opAbortRemoteMerge  byte = 141
	// fork create-many spreading its forks over shards (xfork.go):
	// PinRemoteForks, SettleRemotePins, AbortRemoteForks and ClaimNames
	// of a batch, and the rollback of a batch.
	opPinRemoteBatch    byte = 142
	opSettleRemoteBatch byte = 143
	opRollBackRemote    byte = 144
	opRetireRemoteForks byte = 145
	opClaimNamesOn      byte = 146
	// CreateRemoteForks with leases, keys or an owner.
	opCreateRemoteFor byte = 147
	// 148-151: the placement of data shard replicas (placement.go).
	// InitShards with the replicas of each data shard.
	opInitShardsReplicas byte = 148
	opSetPlacement       byte = 149
	opSetLeaving         byte = 150
	// 160-169: changes of a version a fork inherits from its parent on
	// another shard, with the parent's view of it (xannotate.go).
	opAnnotateInherited byte = 160
	opSetLockInherited  byte = 161
	// CreateKey of the home copy of a key whose buckets live on several
	// shards (gateway/keys.go).
	opCreateKeyAcross byte = 162
)

// knownOp reports the op codes this build applies.
func knownOp(op byte) bool {
	return (op >= opCreateBucket && op <= opGCBucket) || (op >= opRegisterNode && op <= opDigest) || op == opAnnotateObject || op == opSetBucketAccess ||
		op == opSetObjectLockConfig || op == opSetObjectLock ||
		(op >= opCreateKey && op <= opMergeContinue) || op == opSetBucketCORS || op == opSetBucketEncryption ||
		op == opMountView || op == opUnmountView ||
		op == opSetLifecycle || op == opApplyLifecycle ||
		(op >= opSetBucketConfig && op <= opCreateUserEmail) || op == opCreateOwnedForks ||
		(op >= opInitShards && op <= opRegisterNodeZone) || (op >= opReserveBucketIDs && op <= opCompleteUploadInherit) ||
		(op >= opHoldRemoteMerge && op <= opCreateRemoteFor) || (op >= opInitShardsReplicas && op <= opSetLeaving) ||
		op == opAnnotateInherited || op == opSetLockInherited || op == opCreateKeyAcross
}

// cmdFormat is the body format version written after the op byte.
// Format 2 added DeleteCondition to DeleteObject and DeleteItem, format 3
// the ACL of objects, format 4 the ownership and ACL of CreateBucket,
// format 5 the fork permission and fork prefix of access keys, format 6
// Object Lock (the lock of objects, CreateBucket's ObjectLock, the
// governance bypass of deletes), format 7 the server-side encryption of
// objects, format 8 (the same bodies) a dedupe window of two minutes
// instead of ten (apply.go), format 9 the default encryption a PutObject
// assumed (PutObject.CheckDefault); commands of older formats (an older
// log) still decode.
const cmdFormat byte = 9

func (e *encoder) deleteCondition(c *DeleteCondition) {
	e.str(c.IfMatch)
	e.varint(c.ModifiedFrom)
	e.varint(c.ModifiedTo)
	e.varint(c.Size)
	e.boolean(c.HasSize)
}

func (d *decoder) deleteCondition() DeleteCondition {
	return DeleteCondition{IfMatch: d.str(), ModifiedFrom: d.varint(), ModifiedTo: d.varint(), Size: d.varint(), HasSize: d.boolean()}
}

// EncodeCommand encodes a command (a value or pointer of one of the command
// types above) as an op byte followed by its body. It panics on any other
// type: that is a programming error, not input.
func EncodeCommand(c any) []byte {
	e := encoder{b: make([]byte, 0, 128)}
	hdr := func(op byte, h *Header) {
		e.u8(op)
		e.u8(cmdFormat)
		e.str(h.RequestID)
		e.uvarint(h.Stamp)
	}
	switch c := c.(type) {
	case CreateBucket:
		return EncodeCommand(&c)
	case *CreateBucket:
		hdr(opCreateBucket, &c.Header)
		e.str(c.Name)
		e.str(c.Region)
		e.str(c.ForkSource)
		e.uvarint(c.ForkVersion)
		e.str(c.ForkSnapshotName)
		e.int(c.MaxForkDepth)
		e.u8(byte(c.Ownership))
		e.str(c.ACL)
		e.boolean(c.ObjectLock)
	case DeleteBucket:
		return EncodeCommand(&c)
	case *DeleteBucket:
		hdr(opDeleteBucket, &c.Header)
		e.str(c.Name)
	case CreateSnapshot:
		return EncodeCommand(&c)
	case *CreateSnapshot:
		hdr(opCreateSnapshot, &c.Header)
		e.str(c.Bucket)
		e.str(c.Name)
	case DeleteSnapshot:
		return EncodeCommand(&c)
	case *DeleteSnapshot:
		hdr(opDeleteSnapshot, &c.Header)
		e.str(c.Bucket)
		e.uvarint(c.Version)
	case SetVersioning:
		return EncodeCommand(&c)
	case *SetVersioning:
		hdr(opSetVersioning, &c.Header)
		e.str(c.Bucket)
		e.u8(byte(c.Status))
	case PutObject:
		return EncodeCommand(&c)
	case *PutObject:
		e.b = make([]byte, 0, 160+len(c.Object.Inline))
		hdr(opPutObject, &c.Header)
		e.str(c.Bucket)
		encodeObjectFull(&e, &c.Object)
		e.str(c.IfMatch)
		e.str(c.IfNoneMatch)
		e.boolean(c.SharedChunks)
		e.boolean(c.Checked)
		e.boolean(c.CheckDefault)
		e.str(c.DefaultAssumed)
	case DeleteObject:
		return EncodeCommand(&c)
	case *DeleteObject:
		hdr(opDeleteObject, &c.Header)
		e.str(c.Bucket)
		e.str(c.Key)
		e.str(c.VersionID)
		e.deleteCondition(&c.DeleteCondition)
		e.boolean(c.BypassGovernance)
	case DeleteObjects:
		return EncodeCommand(&c)
	case *DeleteObjects:
		hdr(opDeleteObjects, &c.Header)
		e.str(c.Bucket)
		e.uvarint(uint64(len(c.Items)))
		for _, it := range c.Items {
			e.str(it.Key)
			e.str(it.VersionID)
			e.deleteCondition(&it.DeleteCondition)
		}
		e.boolean(c.BypassGovernance)
	case CreateUpload:
		return EncodeCommand(&c)
	case *CreateUpload:
		hdr(opCreateUpload, &c.Header)
		e.str(c.Bucket)
		e.str(c.UploadID)
		encodeObjectFull(&e, &c.Template)
	case PutPart:
		return EncodeCommand(&c)
	case *PutPart:
		hdr(opPutPart, &c.Header)
		e.str(c.Bucket)
		e.str(c.Key)
		e.str(c.UploadID)
		encodePart(&e, &c.Part)
	case CompleteUpload:
		return EncodeCommand(&c)
	case *CompleteUpload:
		hdr(opCompleteUpload, &c.Header)
		e.str(c.Bucket)
		e.str(c.UploadID)
		e.uvarint(uint64(len(c.Parts)))
		for _, p := range c.Parts {
			e.int(p.Number)
			e.str(p.ETag)
		}
		encodeObjectFull(&e, &c.Object)
		e.str(c.IfMatch)
		e.str(c.IfNoneMatch)
	case AbortUpload:
		return EncodeCommand(&c)
	case *AbortUpload:
		hdr(opAbortUpload, &c.Header)
		e.str(c.Bucket)
		e.str(c.Key)
		e.str(c.UploadID)
	case TrimGC:
		return EncodeCommand(&c)
	case *TrimGC:
		hdr(opTrimGC, &c.Header)
		e.uvarint(c.UpTo)
	case GCBucket:
		return EncodeCommand(&c)
	case *GCBucket:
		hdr(opGCBucket, &c.Header)
		e.uvarint(c.Bucket)
		e.int(c.Limit)
	case RegisterNode:
		return EncodeCommand(&c)
	case *RegisterNode:
		// With a zone, its own op: a build without zones refuses it
		// rather than drop the zone.
		op := opRegisterNode
		if c.Node.Zone != "" {
			op = opRegisterNodeZone
		}
		hdr(op, &c.Header)
		e.uvarint(c.Node.ID)
		e.str(c.Node.RaftAddr)
		e.str(c.Node.S3Addr)
		if c.Node.Zone != "" {
			e.str(c.Node.Zone)
		}
	case RetireNode:
		return EncodeCommand(&c)
	case *RetireNode:
		hdr(opRetireNode, &c.Header)
		e.uvarint(c.ID)
	case Digest:
		return EncodeCommand(&c)
	case *Digest:
		hdr(opDigest, &c.Header)
	case AnnotateObject:
		return EncodeCommand(&c)
	case *AnnotateObject:
		hdr(opAnnotateObject, &c.Header)
		e.str(c.Bucket)
		e.str(c.Key)
		e.str(c.VersionID)
		e.boolean(c.SetTags)
		e.stringMap(c.Tags)
		e.boolean(c.SetACL)
		e.str(c.ACL)
	case CreateKey:
		return EncodeCommand(&c)
	case *CreateKey:
		op := opCreateKey
		if c.Across {
			op = opCreateKeyAcross
		}
		hdr(op, &c.Header)
		encodeAccessKey(&e, &c.Key)
	case DeleteKey:
		return EncodeCommand(&c)
	case *DeleteKey:
		hdr(opDeleteKey, &c.Header)
		e.str(c.ID)
	case ResealKeys:
		return EncodeCommand(&c)
	case *ResealKeys:
		hdr(opResealKeys, &c.Header)
		e.uvarint(uint64(len(c.Items)))
		for _, it := range c.Items {
			e.str(it.ID)
			e.bytes(it.Old)
			e.bytes(it.New)
		}
	case CreateForks:
		return EncodeCommand(&c)
	case *CreateForks:
		op := opCreateForks
		if c.Owner != "" {
			op = opCreateOwnedForks
		}
		hdr(op, &c.Header)
		e.str(c.Source)
		e.uvarint(c.ForkVersion)
		e.str(c.ForkSnapshotName)
		e.str(c.Region)
		e.uvarint(uint64(len(c.Names)))
		for _, n := range c.Names {
			e.str(n)
		}
		e.uvarint(uint64(len(c.Keys)))
		for i := range c.Keys {
			encodeAccessKey(&e, &c.Keys[i])
		}
		e.str(c.Grant)
		e.varint(c.Expires)
		e.int(c.MaxForkDepth)
		if c.Owner != "" {
			e.str(c.Owner)
		}
	case RenewLease:
		return EncodeCommand(&c)
	case *RenewLease:
		hdr(opRenewLease, &c.Header)
		e.str(c.Bucket)
		e.varint(c.Expires)
		e.varint(c.Now)
	case ExpireLeases:
		return EncodeCommand(&c)
	case *ExpireLeases:
		hdr(opExpireLeases, &c.Header)
		e.varint(c.Now)
	case MergeFork:
		return EncodeCommand(&c)
	case *MergeFork:
		hdr(opMergeFork, &c.Header)
		e.str(c.Fork)
		e.u8(byte(c.Strategy))
		e.boolean(c.DeleteFork)
	case MergeContinue:
		return EncodeCommand(&c)
	case *MergeContinue:
		hdr(opMergeContinue, &c.Header)
		e.str(c.Fork)
	case SetBucketAccess:
		return EncodeCommand(&c)
	case *SetBucketAccess:
		hdr(opSetBucketAccess, &c.Header)
		e.str(c.Bucket)
		e.boolean(c.SetOwnership)
		e.u8(byte(c.Ownership))
		e.boolean(c.SetACL)
		e.str(c.ACL)
	case SetBucketCORS:
		return EncodeCommand(&c)
	case *SetBucketCORS:
		hdr(opSetBucketCORS, &c.Header)
		e.str(c.Bucket)
		e.corsRules(c.Rules)
	case SetBucketEncryption:
		return EncodeCommand(&c)
	case *SetBucketEncryption:
		hdr(opSetBucketEncryption, &c.Header)
		e.str(c.Bucket)
		e.str(c.Algorithm)
		e.boolean(c.BucketKey)
	case SetObjectLockConfig:
		return EncodeCommand(&c)
	case *SetObjectLockConfig:
		hdr(opSetObjectLockConfig, &c.Header)
		e.str(c.Bucket)
		e.boolean(c.Lock.Enabled)
		e.u8(byte(c.Lock.Mode))
		e.int(c.Lock.Days)
		e.int(c.Lock.Years)
	case SetObjectLock:
		return EncodeCommand(&c)
	case *SetObjectLock:
		hdr(opSetObjectLock, &c.Header)
		e.str(c.Bucket)
		e.str(c.Key)
		e.str(c.VersionID)
		e.boolean(c.SetRetention)
		e.u8(byte(c.Mode))
		e.varint(c.RetainUntil)
		e.boolean(c.SetLegalHold)
		e.boolean(c.LegalHold)
		e.boolean(c.BypassGovernance)
	case MountView:
		return EncodeCommand(&c)
	case *MountView:
		hdr(opMountView, &c.Header)
		e.str(c.Name)
		e.str(c.Region)
		e.str(c.Bucket)
		e.uvarint(c.Version)
		e.str(c.SnapshotName)
		e.int(c.MaxForkDepth)
	case InitShards:
		return EncodeCommand(&c)
	case *InitShards:
		// With replicas, its own op: a build without placement refuses
		// it rather than drop them.
		hdr(cond(c.Replicas != 0, opInitShardsReplicas, opInitShards), &c.Header)
		e.int(c.Count)
		if c.Replicas != 0 {
			e.int(c.Replicas)
		}
	case SetPlacement:
		return EncodeCommand(&c)
	case *SetPlacement:
		hdr(opSetPlacement, &c.Header)
		e.uvarint(c.Shard)
		encodeShardReplicas(&e, c.Replicas)
	case SetLeaving:
		return EncodeCommand(&c)
	case *SetLeaving:
		hdr(opSetLeaving, &c.Header)
		e.uvarint(c.Node)
		e.boolean(c.Leaving)
	case ClaimNames:
		return EncodeCommand(&c)
	case *ClaimNames:
		hdr(cond(c.Shards != nil, opClaimNamesOn, opClaimNames), &c.Header)
		e.u64(c.Shard)
		e.uvarint(uint64(len(c.Names)))
		for _, n := range c.Names {
			e.str(n)
		}
		if c.Shards != nil {
			encodeIDs(&e, c.Shards)
		}
	case SettleNames:
		return EncodeCommand(&c)
	case *SettleNames:
		hdr(opSettleNames, &c.Header)
		e.u64(c.Shard)
		e.uvarint(uint64(len(c.Items)))
		for _, it := range c.Items {
			e.str(it.Name)
			e.u64(it.ID)
		}
	case PutObjectInherited:
		return EncodeCommand(&c)
	case *PutObjectInherited:
		return encodeCarrying(opPutObjectInherited, &c.PutObject, &c.Inherited, encodeInheritedView)
	case DeleteObjectInherited:
		return EncodeCommand(&c)
	case *DeleteObjectInherited:
		return encodeCarrying(opDeleteObjectInherited, &c.DeleteObject, &c.Inherited, encodeInheritedView)
	case AnnotateObjectInherited:
		return EncodeCommand(&c)
	case *AnnotateObjectInherited:
		return encodeCarrying(opAnnotateInherited, &c.AnnotateObject, &c.Inherited, encodeInheritedVersion)
	case SetObjectLockInherited:
		return EncodeCommand(&c)
	case *SetObjectLockInherited:
		return encodeCarrying(opSetLockInherited, &c.SetObjectLock, &c.Inherited, encodeInheritedVersion)
	case CompleteUploadInherited:
		return EncodeCommand(&c)
	case *CompleteUploadInherited:
		return encodeCarrying(opCompleteUploadInherit, &c.CompleteUpload, &c.Inherited, encodeInheritedView)
	case ReserveBucketIDs:
		return EncodeCommand(&c)
	case *ReserveBucketIDs:
		hdr(opReserveBucketIDs, &c.Header)
		e.int(c.Count)
	case PinRemoteForks:
		return EncodeCommand(&c)
	case *PinRemoteForks:
		hdr(cond(c.Batch, opPinRemoteBatch, opPinRemoteForks), &c.Header)
		e.str(c.Source)
		e.uvarint(c.ForkVersion)
		e.str(c.ForkSnapshotName)
		e.int(c.MaxForkDepth)
		e.str(c.Region)
		e.u64(c.Target)
		e.varint(c.Deadline)
		encodeRemoteForks(&e, c.Forks)
		if c.Batch {
			e.str(c.Owner)
		}
	case CreateRemoteForks:
		return EncodeCommand(&c)
	case *CreateRemoteForks:
		extended := c.Expires != 0 || len(c.Keys) > 0 || c.Owner != ""
		hdr(cond(extended, opCreateRemoteFor, opCreateRemoteForks), &c.Header)
		e.bytes(c.Template)
		encodeRemoteForks(&e, c.Forks)
		if extended {
			e.varint(c.Expires)
			e.uvarint(uint64(len(c.Keys)))
			for i := range c.Keys {
				encodeAccessKey(&e, &c.Keys[i])
			}
			e.str(c.Owner)
		}
	case SettleRemotePins:
		return EncodeCommand(&c)
	case *SettleRemotePins:
		hdr(cond(c.All, opSettleRemoteBatch, opSettleRemotePins), &c.Header)
		e.u64(c.Parent)
		encodeIDs(&e, c.IDs)
	case AbortRemoteForks:
		return EncodeCommand(&c)
	case *AbortRemoteForks:
		hdr(cond(c.Retire, opRetireRemoteForks, opAbortRemoteForks), &c.Header)
		encodeIDs(&e, c.IDs)
	case ReleaseRemotePins:
		return EncodeCommand(&c)
	case *ReleaseRemotePins:
		hdr(opReleaseRemotePins, &c.Header)
		e.uvarint(uint64(len(c.Pins)))
		for _, p := range c.Pins {
			e.u64(p.Parent)
			e.u64(p.Base)
			e.u64(p.Child)
		}
	case ClearPinReleases:
		return EncodeCommand(&c)
	case *ClearPinReleases:
		hdr(opClearPinReleases, &c.Header)
		encodeIDs(&e, c.IDs)
	case HoldRemoteMerge:
		return EncodeCommand(&c)
	case *HoldRemoteMerge:
		hdr(opHoldRemoteMerge, &c.Header)
		e.str(c.Fork)
		e.boolean(c.DeleteFork)
		e.varint(c.Deadline)
	case BeginRemoteMerge:
		return EncodeCommand(&c)
	case *BeginRemoteMerge:
		hdr(opBeginRemoteMerge, &c.Header)
		e.u64(c.Parent)
		e.u64(c.Fork)
		e.u64(c.Base)
		e.u64(c.Hold)
		e.str(c.ForkName)
		e.u8(byte(c.Strategy))
		e.boolean(c.DeleteFork)
	case RemoteMergeEntry:
		return EncodeCommand(&c)
	case *RemoteMergeEntry:
		hdr(opRemoteMergeEntry, &c.Header)
		e.u64(c.Fork)
		e.u64(c.Hold)
		e.u8(c.Phase)
		e.str(c.After)
		e.str(c.Next)
		e.boolean(c.More)
		encodeRemoteChanges(&e, c.Changes)
	case EndRemoteMerge:
		return EncodeCommand(&c)
	case *EndRemoteMerge:
		hdr(opEndRemoteMerge, &c.Header)
		e.u64(c.Fork)
		e.u64(c.Hold)
		e.boolean(c.Abandon)
	case SettleRemoteMerge:
		return EncodeCommand(&c)
	case *SettleRemoteMerge:
		hdr(opSettleRemoteMerge, &c.Header)
		e.u64(c.Fork)
		e.u64(c.Hold)
		e.boolean(c.Merged)
		e.boolean(c.DeleteFork)
	case ClearRemoteMerges:
		return EncodeCommand(&c)
	case *ClearRemoteMerges:
		hdr(opClearRemoteMerges, &c.Header)
		encodeIDs(&e, c.Forks)
	case RollBackRemoteForks:
		return EncodeCommand(&c)
	case *RollBackRemoteForks:
		hdr(opRollBackRemote, &c.Header)
		e.u64(c.Parent)
		encodeIDs(&e, c.IDs)
	case AbortRemoteMerge:
		return EncodeCommand(&c)
	case *AbortRemoteMerge:
		hdr(opAbortRemoteMerge, &c.Header)
		e.u64(c.Fork)
		e.u64(c.Hold)
	case ReleaseName:
		return EncodeCommand(&c)
	case *ReleaseName:
		hdr(opReleaseName, &c.Header)
		e.u64(c.Shard)
		e.str(c.Name)
		e.u64(c.ID)
	case UnmountView:
		return EncodeCommand(&c)
	case *UnmountView:
		hdr(opUnmountView, &c.Header)
		e.str(c.Name)
	case SetLifecycle:
		return EncodeCommand(&c)
	case *SetLifecycle:
		hdr(opSetLifecycle, &c.Header)
		e.str(c.Bucket)
		e.boolean(c.Config != nil)
		if c.Config != nil {
			e.b = append(e.b, encodeLifecycle(c.Config)...)
		}
	case ApplyLifecycle:
		return EncodeCommand(&c)
	case *ApplyLifecycle:
		hdr(opApplyLifecycle, &c.Header)
		e.varint(c.Now)
		e.int(c.Limit)
	case SetBucketConfig:
		return EncodeCommand(&c)
	case *SetBucketConfig:
		hdr(opSetBucketConfig, &c.Header)
		e.str(c.Bucket)
		e.boolean(c.SetPolicy)
		e.str(c.Policy)
		e.boolean(c.PolicyPublic)
		e.boolean(c.SetPAB)
		e.u8(byte(c.PAB))
		e.boolean(c.SetTags)
		e.stringMap(c.Tags)
	case CreateUser:
		return EncodeCommand(&c)
	case *CreateUser:
		if c.Email == "" {
			hdr(opCreateUser, &c.Header)
		} else {
			hdr(opCreateUserEmail, &c.Header)
		}
		e.str(c.Name)
		e.str(c.ID)
		e.str(c.DisplayName)
		encodeAccessKey(&e, &c.Key)
		if c.Email != "" {
			e.str(c.Email)
		}
	case DeleteUser:
		return EncodeCommand(&c)
	case *DeleteUser:
		hdr(opDeleteUser, &c.Header)
		e.str(c.Name)
		e.boolean(c.Force)
	case RotateUserKey:
		return EncodeCommand(&c)
	case *RotateUserKey:
		hdr(opRotateUserKey, &c.Header)
		e.str(c.Name)
		encodeAccessKey(&e, &c.Key)
	case CreateUserKey:
		return EncodeCommand(&c)
	case *CreateUserKey:
		hdr(opCreateUserKey, &c.Header)
		e.str(c.User)
		encodeAccessKey(&e, &c.Key)
	case CreateOwnedBucket:
		return EncodeCommand(&c)
	case *CreateOwnedBucket:
		hdr(opCreateOwnedBucket, &c.Header)
		e.str(c.Owner)
		b := &c.Bucket
		e.str(b.Name)
		e.str(b.Region)
		e.str(b.ForkSource)
		e.uvarint(b.ForkVersion)
		e.str(b.ForkSnapshotName)
		e.int(b.MaxForkDepth)
		e.u8(byte(b.Ownership))
		e.str(b.ACL)
	default:
		panic(fmt.Sprintf("meta: EncodeCommand of unknown type %T", c))
	}
	return e.b
}

// errUnknownOp marks a command whose op byte this version does not know.
var errUnknownOp = errors.New("unknown op")

// DecodeCommand decodes what EncodeCommand wrote and returns a pointer to
// the command (*PutObject, ...). It returns an error, never panics, on any
// malformed input.
func DecodeCommand(b []byte) (any, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: command too short", ErrCorrupt)
	}
	op := b[0]
	format := b[1]
	if format < 1 || format > cmdFormat {
		return nil, fmt.Errorf("%w: command format %d", ErrCorrupt, b[1])
	}
	d := decoder{b: b[2:], v2: format >= 3, v3: format >= 4, v4: format >= 5, v5: format >= 6, v6: format >= 7}
	h := Header{RequestID: d.str(), Stamp: d.uvarint()}
	var c any
	switch op {
	case opCreateBucket:
		p := &CreateBucket{Header: h, Name: d.str(), Region: d.str(), ForkSource: d.str(),
			ForkVersion: d.uvarint(), ForkSnapshotName: d.str(), MaxForkDepth: d.int()}
		if d.v3 {
			p.Ownership = Ownership(d.u8())
			p.ACL = d.str()
		}
		if d.v5 {
			p.ObjectLock = d.boolean()
		}
		c = p
	case opDeleteBucket:
		c = &DeleteBucket{Header: h, Name: d.str()}
	case opCreateSnapshot:
		c = &CreateSnapshot{Header: h, Bucket: d.str(), Name: d.str()}
	case opDeleteSnapshot:
		c = &DeleteSnapshot{Header: h, Bucket: d.str(), Version: d.uvarint()}
	case opSetVersioning:
		c = &SetVersioning{Header: h, Bucket: d.str(), Status: Versioning(d.u8())}
	case opPutObject, opPutObjectInherited:
		p := &PutObject{Header: h, Bucket: d.str()}
		p.Object = decodeObjectFull(&d)
		p.IfMatch = d.str()
		p.IfNoneMatch = d.str()
		p.SharedChunks = d.boolean()
		if d.v5 {
			p.Checked = d.boolean()
		} else {
			p.Checked = true
		}
		if format >= 9 {
			p.CheckDefault = d.boolean()
			p.DefaultAssumed = d.str()
		}
		c = p
		if op == opPutObjectInherited {
			c = &PutObjectInherited{PutObject: *p, Inherited: decodeInheritedView(&d)}
		}
	case opDeleteObject, opDeleteObjectInherited:
		p := &DeleteObject{Header: h, Bucket: d.str(), Key: d.str(), VersionID: d.str()}
		if format == 1 {
			p.IfMatch = d.str()
		} else {
			p.DeleteCondition = d.deleteCondition()
		}
		if d.v5 {
			p.BypassGovernance = d.boolean()
		}
		c = p
		if op == opDeleteObjectInherited {
			c = &DeleteObjectInherited{DeleteObject: *p, Inherited: decodeInheritedView(&d)}
		}
	case opDeleteObjects:
		p := &DeleteObjects{Header: h, Bucket: d.str()}
		n := d.count()
		for i := 0; i < n && d.err == nil; i++ {
			it := DeleteItem{Key: d.str(), VersionID: d.str()}
			if format >= 2 {
				it.DeleteCondition = d.deleteCondition()
			}
			p.Items = append(p.Items, it)
		}
		if d.v5 {
			p.BypassGovernance = d.boolean()
		}
		c = p
	case opCreateUpload:
		p := &CreateUpload{Header: h, Bucket: d.str(), UploadID: d.str()}
		p.Template = decodeObjectFull(&d)
		c = p
	case opPutPart:
		p := &PutPart{Header: h, Bucket: d.str(), Key: d.str(), UploadID: d.str()}
		p.Part = decodePart(&d)
		c = p
	case opCompleteUpload, opCompleteUploadInherit:
		p := &CompleteUpload{Header: h, Bucket: d.str(), UploadID: d.str()}
		n := d.count()
		for i := 0; i < n && d.err == nil; i++ {
			p.Parts = append(p.Parts, CompletedPart{Number: d.int(), ETag: d.str()})
		}
		p.Object = decodeObjectFull(&d)
		p.IfMatch = d.str()
		p.IfNoneMatch = d.str()
		c = p
		if op == opCompleteUploadInherit {
			c = &CompleteUploadInherited{CompleteUpload: *p, Inherited: decodeInheritedView(&d)}
		}
	case opAbortUpload:
		c = &AbortUpload{Header: h, Bucket: d.str(), Key: d.str(), UploadID: d.str()}
	case opTrimGC:
		c = &TrimGC{Header: h, UpTo: d.uvarint()}
	case opGCBucket:
		c = &GCBucket{Header: h, Bucket: d.uvarint(), Limit: d.int()}
	case opRegisterNode:
		c = &RegisterNode{Header: h, Node: Node{ID: d.uvarint(), RaftAddr: d.str(), S3Addr: d.str()}}
	case opRegisterNodeZone:
		c = &RegisterNode{Header: h, Node: Node{ID: d.uvarint(), RaftAddr: d.str(), S3Addr: d.str(), Zone: d.str()}}
	case opRetireNode:
		c = &RetireNode{Header: h, ID: d.uvarint()}
	case opDigest:
		c = &Digest{Header: h}
	case opAnnotateObject, opAnnotateInherited:
		p := &AnnotateObject{Header: h, Bucket: d.str(), Key: d.str(), VersionID: d.str(),
			SetTags: d.boolean(), Tags: d.stringMap(), SetACL: d.boolean(), ACL: d.str()}
		c = p
		if op == opAnnotateInherited {
			c = &AnnotateObjectInherited{AnnotateObject: *p, Inherited: decodeInheritedVersion(&d)}
		}
	case opCreateKey, opCreateKeyAcross:
		c = &CreateKey{Header: h, Key: decodeAccessKey(&d), Across: op == opCreateKeyAcross}
	case opDeleteKey:
		c = &DeleteKey{Header: h, ID: d.str()}
	case opResealKeys:
		p := &ResealKeys{Header: h}
		n := d.count()
		for i := 0; i < n && d.err == nil; i++ {
			p.Items = append(p.Items, Reseal{ID: d.str(), Old: d.bytes(), New: d.bytes()})
		}
		c = p
	case opCreateForks, opCreateOwnedForks:
		p := &CreateForks{Header: h, Source: d.str(), ForkVersion: d.uvarint(), ForkSnapshotName: d.str(), Region: d.str()}
		n := d.count()
		for i := 0; i < n && d.err == nil; i++ {
			p.Names = append(p.Names, d.str())
		}
		n = d.count()
		for i := 0; i < n && d.err == nil; i++ {
			p.Keys = append(p.Keys, decodeAccessKey(&d))
		}
		p.Grant = d.str()
		p.Expires = d.varint()
		p.MaxForkDepth = d.int()
		if op == opCreateOwnedForks {
			p.Owner = d.str()
		}
		c = p
	case opRenewLease:
		c = &RenewLease{Header: h, Bucket: d.str(), Expires: d.varint(), Now: d.varint()}
	case opExpireLeases:
		c = &ExpireLeases{Header: h, Now: d.varint()}
	case opMergeFork:
		p := &MergeFork{Header: h, Fork: d.str(), Strategy: MergeStrategy(d.u8()), DeleteFork: d.boolean()}
		if p.Strategy > MergeParentWins {
			d.fail(fmt.Errorf("merge strategy %d", p.Strategy))
		}
		c = p
	case opMergeContinue:
		c = &MergeContinue{Header: h, Fork: d.str()}
	case opSetBucketAccess:
		c = &SetBucketAccess{Header: h, Bucket: d.str(), SetOwnership: d.boolean(), Ownership: Ownership(d.u8()),
			SetACL: d.boolean(), ACL: d.str()}
	case opSetBucketCORS:
		c = &SetBucketCORS{Header: h, Bucket: d.str(), Rules: d.corsRules()}
	case opSetBucketEncryption:
		c = &SetBucketEncryption{Header: h, Bucket: d.str(), Algorithm: d.str(), BucketKey: d.boolean()}
	case opSetObjectLockConfig:
		p := &SetObjectLockConfig{Header: h, Bucket: d.str()}
		p.Lock = ObjectLock{Enabled: d.boolean(), Mode: LockMode(d.u8()), Days: d.int(), Years: d.int()}
		c = p
	case opSetObjectLock, opSetLockInherited:
		p := &SetObjectLock{Header: h, Bucket: d.str(), Key: d.str(), VersionID: d.str(), SetRetention: d.boolean(),
			Mode: LockMode(d.u8()), RetainUntil: d.varint(), SetLegalHold: d.boolean(), LegalHold: d.boolean(),
			BypassGovernance: d.boolean()}
		c = p
		if op == opSetLockInherited {
			c = &SetObjectLockInherited{SetObjectLock: *p, Inherited: decodeInheritedVersion(&d)}
		}
	case opMountView:
		c = &MountView{Header: h, Name: d.str(), Region: d.str(), Bucket: d.str(), Version: d.uvarint(),
			SnapshotName: d.str(), MaxForkDepth: d.int()}
	case opUnmountView:
		c = &UnmountView{Header: h, Name: d.str()}
	case opInitShards:
		c = &InitShards{Header: h, Count: d.int()}
	case opInitShardsReplicas:
		c = &InitShards{Header: h, Count: d.int(), Replicas: d.int()}
	case opSetPlacement:
		c = &SetPlacement{Header: h, Shard: d.uvarint(), Replicas: decodeShardReplicas(&d)}
	case opSetLeaving:
		c = &SetLeaving{Header: h, Node: d.uvarint(), Leaving: d.boolean()}
	case opClaimNames, opClaimNamesOn:
		cn := &ClaimNames{Header: h, Shard: d.u64()}
		for i, n := 0, d.count(); i < n && d.err == nil; i++ {
			cn.Names = append(cn.Names, d.str())
		}
		if op == opClaimNamesOn {
			cn.Shards = decodeIDs(&d)
		}
		c = cn
	case opSettleNames:
		sn := &SettleNames{Header: h, Shard: d.u64()}
		for i, n := 0, d.count(); i < n && d.err == nil; i++ {
			sn.Items = append(sn.Items, SettledName{Name: d.str(), ID: d.u64()})
		}
		c = sn
	case opReserveBucketIDs:
		c = &ReserveBucketIDs{Header: h, Count: d.int()}
	case opPinRemoteForks, opPinRemoteBatch:
		c = &PinRemoteForks{Header: h, Source: d.str(), ForkVersion: d.uvarint(), ForkSnapshotName: d.str(),
			MaxForkDepth: d.int(), Region: d.str(), Target: d.u64(), Deadline: d.varint(), Forks: decodeRemoteForks(&d),
			Batch: op == opPinRemoteBatch}
		if op == opPinRemoteBatch {
			c.(*PinRemoteForks).Owner = d.str()
		}
	case opCreateRemoteForks, opCreateRemoteFor:
		cr := &CreateRemoteForks{Header: h, Template: d.bytes(), Forks: decodeRemoteForks(&d)}
		if op == opCreateRemoteFor {
			cr.Expires = d.varint()
			for i, n := 0, d.count(); i < n && d.err == nil; i++ {
				cr.Keys = append(cr.Keys, decodeAccessKey(&d))
			}
			cr.Owner = d.str()
		}
		c = cr
	case opSettleRemotePins, opSettleRemoteBatch:
		c = &SettleRemotePins{Header: h, Parent: d.u64(), IDs: decodeIDs(&d), All: op == opSettleRemoteBatch}
	case opAbortRemoteForks, opRetireRemoteForks:
		c = &AbortRemoteForks{Header: h, IDs: decodeIDs(&d), Retire: op == opRetireRemoteForks}
	case opRollBackRemote:
		c = &RollBackRemoteForks{Header: h, Parent: d.u64(), IDs: decodeIDs(&d)}
	case opReleaseRemotePins:
		rp := &ReleaseRemotePins{Header: h}
		for i, n := 0, d.count(); i < n && d.err == nil; i++ {
			rp.Pins = append(rp.Pins, PinRef{Parent: d.u64(), Base: d.u64(), Child: d.u64()})
		}
		c = rp
	case opClearPinReleases:
		c = &ClearPinReleases{Header: h, IDs: decodeIDs(&d)}
	case opHoldRemoteMerge:
		c = &HoldRemoteMerge{Header: h, Fork: d.str(), DeleteFork: d.boolean(), Deadline: d.varint()}
	case opBeginRemoteMerge:
		c = &BeginRemoteMerge{Header: h, Parent: d.u64(), Fork: d.u64(), Base: d.u64(), Hold: d.u64(), ForkName: d.str(),
			Strategy: MergeStrategy(d.u8()), DeleteFork: d.boolean()}
	case opRemoteMergeEntry:
		c = &RemoteMergeEntry{Header: h, Fork: d.u64(), Hold: d.u64(), Phase: d.u8(), After: d.str(), Next: d.str(),
			More: d.boolean(), Changes: decodeRemoteChanges(&d)}
	case opEndRemoteMerge:
		c = &EndRemoteMerge{Header: h, Fork: d.u64(), Hold: d.u64(), Abandon: d.boolean()}
	case opSettleRemoteMerge:
		c = &SettleRemoteMerge{Header: h, Fork: d.u64(), Hold: d.u64(), Merged: d.boolean(), DeleteFork: d.boolean()}
	case opClearRemoteMerges:
		c = &ClearRemoteMerges{Header: h, Forks: decodeIDs(&d)}
	case opAbortRemoteMerge:
		c = &AbortRemoteMerge{Header: h, Fork: d.u64(), Hold: d.u64()}
	case opReleaseName:
		c = &ReleaseName{Header: h, Shard: d.u64(), Name: d.str(), ID: d.u64()}
	case opSetLifecycle:
		p := &SetLifecycle{Header: h, Bucket: d.str()}
		if d.boolean() {
			p.Config = decodeLifecycleBody(&d)
		}
		c = p
	case opApplyLifecycle:
		c = &ApplyLifecycle{Header: h, Now: d.varint(), Limit: d.int()}
	case opCreateUser, opCreateUserEmail:
		cu := &CreateUser{Header: h, Name: d.str(), ID: d.str(), DisplayName: d.str(), Key: decodeAccessKey(&d)}
		if op == opCreateUserEmail {
			cu.Email = d.str()
		}
		c = cu
	case opDeleteUser:
		c = &DeleteUser{Header: h, Name: d.str(), Force: d.boolean()}
	case opRotateUserKey:
		c = &RotateUserKey{Header: h, Name: d.str(), Key: decodeAccessKey(&d)}
	case opCreateUserKey:
		c = &CreateUserKey{Header: h, User: d.str(), Key: decodeAccessKey(&d)}
	case opCreateOwnedBucket:
		c = &CreateOwnedBucket{Header: h, Owner: d.str(), Bucket: CreateBucket{Header: h, Name: d.str(), Region: d.str(),
			ForkSource: d.str(), ForkVersion: d.uvarint(), ForkSnapshotName: d.str(), MaxForkDepth: d.int(),
			Ownership: Ownership(d.u8()), ACL: d.str()}}
	case opSetBucketConfig:
		c = &SetBucketConfig{Header: h, Bucket: d.str(), SetPolicy: d.boolean(), Policy: d.str(), PolicyPublic: d.boolean(),
			SetPAB: d.boolean(), PAB: PublicAccessBlock(d.u8()), SetTags: d.boolean(), Tags: d.stringMap()}
	default:
		return nil, fmt.Errorf("%w: %w %d", ErrCorrupt, errUnknownOp, op)
	}
	if err := d.done(); err != nil {
		return nil, err
	}
	return c, nil
}

// encodeCarrying encodes a command that wraps base and carries v, what a
// fork's parent on another shard shows (the *Inherited commands): base's
// encoding under the command's own op, then v.
func encodeCarrying[T any](op byte, base any, v *T, encode func(*encoder, *T)) []byte {
	e := encoder{b: EncodeCommand(base)}
	e.b[0] = op
	encode(&e, v)
	return e.b
}

// cond is a if c, else b.
func cond[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}
