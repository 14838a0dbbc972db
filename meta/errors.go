package meta

import "errors"

// Business outcomes of commands and reads. Apply never returns these as Go
// errors (that would crash the node): they travel as result codes
// (result.go) and are turned back into these sentinels by DecodeResult.
var (
	ErrNoSuchBucket          = errors.New("meta: no such bucket")
	ErrBucketExists          = errors.New("meta: bucket already exists")
	ErrBucketNotEmpty        = errors.New("meta: bucket not empty")
	ErrNoSuchKey             = errors.New("meta: no such key")
	ErrNoSuchVersion         = errors.New("meta: no such version")
	ErrPreconditionFailed    = errors.New("meta: precondition failed")
	ErrNoSuchUpload          = errors.New("meta: no such upload")
	ErrInvalidPart           = errors.New("meta: invalid part")
	ErrNoSuchSnapshot        = errors.New("meta: no such snapshot")
	ErrSnapshotExists        = errors.New("meta: snapshot name already exists")
	ErrForkDepthExceeded     = errors.New("meta: fork depth limit exceeded")
	ErrVersionOutOfRetention = errors.New("meta: version is not retained")
	ErrMethodNotAllowed      = errors.New("meta: method not allowed on a delete marker")
	ErrInvalidVersion        = errors.New("meta: invalid version id")
	ErrNodeRetired           = errors.New("meta: node id was removed and cannot be reused")
	// ErrACLNotSupported is a non-private ACL on a bucket whose ownership
	// setting disables ACLs (BucketOwnerEnforced).
	ErrACLNotSupported = errors.New("meta: the bucket does not allow ACLs")
	// ErrInvalidBucketACL is enforcing bucket-owner ownership on a bucket
	// whose ACL grants more than its owner full control.
	ErrInvalidBucketACL = errors.New("meta: bucket ACL conflicts with BucketOwnerEnforced")
	ErrCorrupt          = errors.New("meta: corrupt record")
	// ErrPublicPolicyBlocked is a public bucket policy on a bucket whose
	// public access block has BlockPublicPolicy.
	ErrPublicPolicyBlocked = errors.New("meta: public policies are blocked by the bucket's public access block")

	// Users (user.go).
	ErrNoSuchUser      = errors.New("meta: no such user")
	ErrUserExists      = errors.New("meta: user already exists")
	ErrUserOwnsBuckets = errors.New("meta: user owns buckets")
	ErrNotBucketOwner  = errors.New("meta: the bucket is not the user's")
	ErrEmailInUse      = errors.New("meta: the e-mail address is another user's")

	// The directory of metadata shards (directory.go).
	ErrShardCount    = errors.New("meta: wrong number of metadata shards")
	ErrNameElsewhere = errors.New("meta: bucket name claimed on another shard")

	// Forks on another shard than their parent (xfork.go).
	// ErrForkAcrossShards: the source's own chain reaches another shard
	// (its forks stay on its shard).
	ErrForkAcrossShards = errors.New("meta: the fork source's parent is on another shard")
	// ErrForkAborted: recovery gave up the fork's creation.
	ErrForkAborted = errors.New("meta: the creation of the fork was aborted")
	// ErrInvalidRemoteFork: a malformed step of a remote fork's creation.
	ErrInvalidRemoteFork = errors.New("meta: invalid remote fork")
	// ErrRemoteParent: the key is not in the local layers of a fork whose
	// parent is on another shard (a *RemoteRead says where to go on), and
	// the command or read cannot go there itself.
	ErrRemoteParent = errors.New("meta: the key is inherited from a parent on another shard")
	// ErrCrossShardMerge: a merge of a fork into a parent on another shard.
	ErrCrossShardMerge = errors.New("meta: merging a fork into a parent on another shard is not supported")

	// Access keys, leases and merges.
	ErrNoSuchAccessKey = errors.New("meta: no such access key")
	ErrAccessKeyExists = errors.New("meta: access key already exists")
	ErrNotAFork        = errors.New("meta: bucket is not a fork")
	ErrMergeConflict   = errors.New("meta: merge conflict")
	ErrLeaseExpired    = errors.New("meta: lease expired")
	ErrKeyLimit        = errors.New("meta: access key limit exceeded")
	// ErrMergeInProgress is a command or read of a bucket that a merge
	// under way holds (its parent, or the fork itself): retry when the
	// merge is done (merge.go).
	ErrMergeInProgress = errors.New("meta: a merge into or from this bucket is under way")

	// Object Lock (lock.go).
	// ErrObjectLocked is a removal or a weaker retention of a version
	// under an active lock (S3: AccessDenied).
	ErrObjectLocked = errors.New("meta: object version is locked")
	// ErrInvalidLockRequest is an Object Lock request that does not fit
	// the bucket or the version (S3: InvalidRequest).
	ErrInvalidLockRequest = errors.New("meta: invalid Object Lock request")
	// ErrInvalidBucketState is a change the bucket's Object Lock or
	// versioning state forbids (S3: InvalidBucketState).
	ErrInvalidBucketState = errors.New("meta: invalid bucket state")
	// ErrLockNeedsChecksum is a write that Object Lock retains without
	// Content-MD5 or an x-amz-checksum (S3: InvalidRequest).
	ErrLockNeedsChecksum = errors.New("meta: a write to an Object Lock bucket needs Content-MD5 or a checksum")

	// Snapshot views (view.go): a write to a view, and UnmountView of a
	// bucket that is not one.
	ErrReadOnlyView = errors.New("meta: the bucket is a read-only snapshot view")
	ErrNotAView     = errors.New("meta: the bucket is not a snapshot view")

	// ErrDefaultEncryptionChanged is a PutObject whose writer assumed
	// another default encryption of the bucket than the one in force
	// (PutObject.CheckDefault): nothing was written, the writer reads the
	// default linearizably and writes again.
	ErrDefaultEncryptionChanged = errors.New("meta: the bucket's default encryption is not the one the write assumed")
)
