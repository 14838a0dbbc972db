package gateway

import (
	"errors"
	"fmt"

	"github.com/forkstore/forkstore/block"
)

// Errors of the gateway's use cases. s3api maps each to an S3 error code in
// one table; meta's sentinels pass through unchanged. The chunk layer's
// (package block) are re-exported here under the same names, so that s3api
// and console know only gateway's.
var (
	ErrUnavailable = errors.New("gateway: service unavailable, retry")
	// ErrNoQuorum: the metadata shard has no leader this node knows of
	// (a majority of the members is down or cut off). It wraps
	// ErrUnavailable.
	ErrNoQuorum = fmt.Errorf("%w: the metadata shard has no quorum (leader unknown)", ErrUnavailable)
	// ErrReplicasMoving: a node being removed still holds metadata shard
	// replicas that placement is moving off it (the removal goes on; ask
	// again). It wraps ErrUnavailable.
	ErrReplicasMoving    = fmt.Errorf("%w: the node's metadata shard replicas are being moved off it", ErrUnavailable)
	ErrInvalidBucketName = errors.New("gateway: invalid bucket name")
	ErrKeyTooLong        = errors.New("gateway: key too long")
	ErrInvalidKey        = errors.New("gateway: invalid key")
	ErrBadDigest         = errors.New("gateway: content-md5 does not match")
	ErrChecksumMismatch  = errors.New("gateway: checksum does not match")
	ErrIncompleteBody    = errors.New("gateway: body shorter than declared")
	ErrEntityTooLarge    = errors.New("gateway: entity too large")
	ErrEntityTooSmall    = errors.New("gateway: part too small")
	ErrInvalidPartOrder  = errors.New("gateway: parts not in ascending order")
	ErrInvalidPartNumber = errors.New("gateway: invalid part number")
	ErrInvalidRange      = block.ErrInvalidRange
	ErrSnapshotReadOnly  = errors.New("gateway: snapshots are read-only")
	ErrInvalidSnapshot   = errors.New("gateway: malformed snapshot version")
	ErrMalformedRequest  = errors.New("gateway: malformed request")
	ErrChunkMissing      = block.ErrChunkMissing
	ErrStorageFull       = block.ErrStorageFull
	ErrInvalidLease      = errors.New("gateway: invalid lease duration")
	ErrInvalidForkCount  = errors.New("gateway: fork count out of range")
	// ErrConflictingOperation: a bucket name is being created or deleted
	// on another metadata shard (shards.go); S3's OperationAborted.
	ErrConflictingOperation = errors.New("gateway: a conflicting operation is under way")
	// ErrKeyShards: a scoped key that may fork, or a user's scoped key,
	// naming buckets on several metadata shards.
	ErrKeyShards = errors.New("gateway: the buckets of a key that may fork, or of a user's key, live on several metadata shards")
	// ErrNotImplemented: a feature forkstore does not have (yet).
	ErrNotImplemented = errors.New("gateway: not implemented")
	// ErrNoObjectLockConfiguration is GetObjectLockConfiguration of a
	// bucket without Object Lock.
	ErrNoObjectLockConfiguration = errors.New("gateway: bucket has no Object Lock configuration")
)

// Errors of the cluster's use cases and of node-to-node traffic.
var (
	ErrPeerAuth           = errors.New("gateway: node-to-node request not authenticated by the cluster key")
	ErrPeerBody           = errors.New("gateway: node-to-node request body does not match its signed digest")
	ErrNodeExists         = errors.New("gateway: node id is already a member at another address")
	ErrNoSuchNode         = errors.New("gateway: no such cluster member")
	ErrClusterKeyRequired = errors.New("gateway: a cluster of more than one node needs a cluster key on every node")
	ErrInvalidMember      = errors.New("gateway: invalid cluster member")
)
