package s3api

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// S3 errors used only by the front end's handlers and the table below
// (AWS codes, statuses and messages). The shared ones are in apierror.go.
var (
	errNoSuchBucket            = &APIError{"NoSuchBucket", "The specified bucket does not exist", http.StatusNotFound}
	errBucketAlreadyOwnedByYou = &APIError{"BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.", http.StatusConflict}
	errBucketAlreadyExists     = &APIError{"BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.", http.StatusConflict}
	errBucketNotEmpty          = &APIError{"BucketNotEmpty", "The bucket you tried to delete is not empty", http.StatusConflict}
	errInvalidBucketName       = &APIError{"InvalidBucketName", "The specified bucket is not valid.", http.StatusBadRequest}
	errInvalidTag              = &APIError{"InvalidTag", "The tag provided was not a valid tag.", http.StatusBadRequest}
	errNoSuchKey               = &APIError{"NoSuchKey", "The specified key does not exist.", http.StatusNotFound}
	errNoSuchVersion           = &APIError{"NoSuchVersion", "The specified version does not exist.", http.StatusNotFound}
	errKeyTooLong              = &APIError{"KeyTooLongError", "Your key is too long", http.StatusBadRequest}
	errInvalidObjectKey        = &APIError{"InvalidArgument", "Object key is not valid UTF-8 or is empty.", http.StatusBadRequest}
	errPreconditionFailed      = &APIError{"PreconditionFailed", "At least one of the pre-conditions you specified did not hold", http.StatusPreconditionFailed}
	errNotModified             = &APIError{"NotModified", "Not Modified", http.StatusNotModified}
	errNoSuchUpload            = &APIError{"NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.", http.StatusNotFound}
	errInvalidPart             = &APIError{"InvalidPart", "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.", http.StatusBadRequest}
	errInvalidPartOrder        = &APIError{"InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.", http.StatusBadRequest}
	errEntityTooSmall          = &APIError{"EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.", http.StatusBadRequest}
	errInvalidPartNumberArg    = &APIError{"InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive", http.StatusBadRequest}
	// errPartNotInObject is GetObject/HeadObject with a partNumber the
	// object does not have (AWS: 400 InvalidPart).
	errPartNotInObject          = &APIError{"InvalidPart", "The requested partnumber is not satisfiable", http.StatusBadRequest}
	errInvalidRange             = &APIError{"InvalidRange", "The requested range is not satisfiable", http.StatusRequestedRangeNotSatisfiable}
	errInvalidStorageClass      = &APIError{"InvalidStorageClass", "The storage class you specified is not valid", http.StatusBadRequest}
	errInvalidURI               = &APIError{"InvalidURI", "Couldn't parse the specified URI.", http.StatusBadRequest}
	errInvalidLocation          = &APIError{"InvalidLocationConstraint", "The specified location-constraint is not valid", http.StatusBadRequest}
	errIllegalLocation          = &APIError{"IllegalLocationConstraintException", "The location constraint is incompatible for the region specific endpoint this request was sent to.", http.StatusBadRequest}
	errRequestTimeout           = &APIError{"RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period.", http.StatusBadRequest}
	errInsufficientStorage      = &APIError{"InsufficientStorage", "There is not enough storage space left to complete the request.", http.StatusInsufficientStorage}
	errNoSuchSnapshot           = &APIError{"NoSuchSnapshot", "The specified snapshot does not exist.", http.StatusNotFound}
	errVersionNotRetained       = &APIError{"NoSuchSnapshot", "The requested version is not retained: no snapshot, fork or history window covers it.", http.StatusNotFound}
	errSnapshotAlreadyExists    = &APIError{"SnapshotAlreadyExists", "A snapshot with this name already exists for the bucket.", http.StatusConflict}
	errSnapshotReadOnly         = &APIError{"InvalidRequest", "Snapshots are read-only: writes cannot name a snapshot version.", http.StatusBadRequest}
	errInvalidSnapshotVersion   = &APIError{"InvalidArgument", "The snapshot version is not valid: want a decimal version or a snapshot name.", http.StatusBadRequest}
	errForkDepthExceeded        = &APIError{"InvalidRequest", "The fork chain would exceed the maximum fork depth.", http.StatusBadRequest}
	errInvalidVersionID         = &APIError{"InvalidArgument", "Invalid version id specified", http.StatusBadRequest}
	errMethodNotAllowedResource = &APIError{"MethodNotAllowed", "The specified method is not allowed against this resource.", http.StatusMethodNotAllowed}

	// Cluster administration (admin API) and node-to-node requests.
	errNodeIDRetired      = &APIError{"NodeIDRetired", "This node id was removed from the cluster and can never be used again: add the node under a new id.", http.StatusConflict}
	errNodeExists         = &APIError{"NodeExists", "This node id is already a member of the cluster at another address.", http.StatusConflict}
	errNoSuchNode         = &APIError{"NoSuchNode", "No cluster member has this node id.", http.StatusNotFound}
	errClusterKeyRequired = &APIError{"ClusterKeyRequired", "A cluster of more than one node needs the same --cluster-key (FORKSTORE_CLUSTER_KEY) on every node.", http.StatusBadRequest}
	errInvalidMember      = &APIError{"InvalidArgument", "The cluster member is not valid.", http.StatusBadRequest}
	errPeerAuth           = &APIError{"AccessDenied", "Node-to-node requests must be signed with the cluster key.", http.StatusForbidden}
	errPeerBody           = &APIError{"BadDigest", "The body of a node-to-node request does not match its signed SHA-256.", http.StatusBadRequest}
	errNoSuchAccessKey    = &APIError{"NoSuchAccessKey", "The specified access key does not exist.", http.StatusNotFound}
	errAccessKeyExists    = &APIError{"AccessKeyAlreadyExists", "An access key with this id already exists.", http.StatusConflict}
	errNotAFork           = &APIError{"InvalidRequest", "The bucket is not a fork.", http.StatusBadRequest}
	errMergeConflict      = &APIError{"MergeConflict", "The fork and its parent both changed some keys since the fork point.", http.StatusConflict}
	errMergeInProgress    = &APIError{"ServiceUnavailable", "A merge into or from this bucket is under way; retry when it is done.", http.StatusServiceUnavailable}
	errLeaseExpired       = &APIError{"LeaseExpired", "The lease of the fork has run out; it cannot be renewed.", http.StatusConflict}
	errKeyLimit           = &APIError{"InvalidRequest", "Too many buckets for one access key, or too many access keys for one bucket.", http.StatusBadRequest}
	errInvalidLease       = &APIError{"InvalidArgument", "A lease (TTL) must be a duration from 1s to 10 years, such as 90m, 2h or 7d.", http.StatusBadRequest}
	errInvalidForkCount   = &APIError{"InvalidArgument", "The number of forks is out of range.", http.StatusBadRequest}
	errOperationAborted   = &APIError{"OperationAborted", "A conflicting conditional operation is currently in progress against this resource. Please try again.", http.StatusConflict}
	errShardCount         = &APIError{"InvalidRequest", "The number of metadata shards is fixed when the cluster is created.", http.StatusConflict}
	errCrossShardMerge    = &APIError{"NotImplemented", "The fork lives on another metadata shard than its parent: merging it is not supported yet. Copy its changes into the parent instead.", http.StatusNotImplemented}
	errRemoteParent       = &APIError{"NotImplemented", "The key is inherited from the fork's parent on another metadata shard, and this request cannot read through to it.", http.StatusNotImplemented}
	errKeyShards          = &APIError{"InvalidArgument", "The buckets of an access key that may fork, or of a user's scoped key, must live on one metadata shard.", http.StatusBadRequest}

	// Object Lock.
	errObjectLocked             = &APIError{"AccessDenied", "Access Denied because object protected by object lock.", http.StatusForbidden}
	errInvalidLockRequest       = &APIError{"InvalidRequest", "Bucket is missing Object Lock Configuration, or the request does not fit the object version's lock.", http.StatusBadRequest}
	errInvalidBucketState       = &APIError{"InvalidBucketState", "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed; or versioning must be Enabled to enable Object Lock.", http.StatusConflict}
	errLockNeedsChecksum        = &APIError{"InvalidRequest", "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters", http.StatusBadRequest}
	errObjectLockConfigNotFound = &APIError{"ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket", http.StatusNotFound}

	// A snapshot view (forkstore snapshot mount) refuses every write.
	errReadOnlyView = &APIError{"AccessDenied", "Access Denied: the bucket is a read-only snapshot view (forkstore snapshot mount); write to the bucket it shows, or fork the view, and remove it with forkstore snapshot unmount.", http.StatusForbidden}
	errNotAView     = &APIError{"InvalidRequest", "The bucket is not a snapshot view.", http.StatusBadRequest}
)

// errorRow maps a sentinel of a lower package to its S3 error.
type errorRow struct {
	target error
	api    *APIError
}

// errorTable is THE mapping from gateway and meta errors to S3 errors,
// matched in order with errors.Is. Every exported Err* of meta and
// gateway has a row (TestErrorTableCoversSentinels). *APIError values pass
// through unchanged and are matched before the table.
var errorTable = []errorRow{
	// meta: business outcomes.
	{meta.ErrNoSuchBucket, errNoSuchBucket},
	{meta.ErrBucketExists, errBucketAlreadyOwnedByYou},
	{meta.ErrBucketNotEmpty, errBucketNotEmpty},
	{meta.ErrNoSuchKey, errNoSuchKey},
	{meta.ErrNoSuchVersion, errNoSuchVersion},
	{meta.ErrPreconditionFailed, errPreconditionFailed},
	{meta.ErrNoSuchUpload, errNoSuchUpload},
	{meta.ErrInvalidPart, errInvalidPart},
	{meta.ErrNoSuchSnapshot, errNoSuchSnapshot},
	{meta.ErrSnapshotExists, errSnapshotAlreadyExists},
	{meta.ErrForkDepthExceeded, errForkDepthExceeded},
	{meta.ErrVersionOutOfRetention, errVersionNotRetained},
	{meta.ErrMethodNotAllowed, errMethodNotAllowedResource},
	{meta.ErrInvalidVersion, errInvalidVersionID},
	{meta.ErrNodeRetired, errNodeIDRetired},
	{meta.ErrNameElsewhere, errOperationAborted},
	{meta.ErrShardCount, errShardCount},
	{meta.ErrForkAborted, errOperationAborted},
	{meta.ErrForkAcrossShards, ErrInternalError},
	{meta.ErrInvalidRemoteFork, ErrInternalError},
	{meta.ErrRemoteParent, errRemoteParent},
	{meta.ErrCrossShardMerge, errCrossShardMerge},
	// A PutObject refused for the default encryption it assumed is
	// written again by the gateway; a refusal would be a change racing it.
	{meta.ErrDefaultEncryptionChanged, errOperationAborted},
	{meta.ErrNoSuchAccessKey, errNoSuchAccessKey},
	{meta.ErrAccessKeyExists, errAccessKeyExists},
	{meta.ErrNotAFork, errNotAFork},
	{meta.ErrMergeConflict, errMergeConflict},
	{meta.ErrMergeInProgress, errMergeInProgress},
	{meta.ErrLeaseExpired, errLeaseExpired},
	{meta.ErrKeyLimit, errKeyLimit},
	{meta.ErrReadOnlyView, errReadOnlyView},
	{meta.ErrNotAView, errNotAView},
	{meta.ErrACLNotSupported, errACLNotSupported},
	{meta.ErrInvalidBucketACL, errInvalidBucketACL},
	{meta.ErrPublicPolicyBlocked, ErrAccessDenied},
	{meta.ErrNoSuchUser, errNoSuchUser},
	{meta.ErrUserExists, errUserExists},
	{meta.ErrEmailInUse, errEmailInUse},
	{meta.ErrUserOwnsBuckets, errUserOwnsBuckets},
	{meta.ErrNotBucketOwner, ErrAccessDenied},
	{meta.ErrCorrupt, ErrInternalError},
	// A read that could not cross nodes (a closure: a bug), and one that
	// failed on the node holding the shard with no business outcome.
	{meta.ErrLocalQuery, ErrInternalError},
	{meta.ErrQueryFailed, ErrInternalError},
	// The replica's state machine is not open (starting or stopping).
	{meta.ErrNotOpen, ErrServiceUnavailable},
	{meta.ErrObjectLocked, errObjectLocked},
	{meta.ErrInvalidLockRequest, errInvalidLockRequest},
	{meta.ErrInvalidBucketState, errInvalidBucketState},
	{meta.ErrLockNeedsChecksum, errLockNeedsChecksum},

	// gateway: use-case validation and the data path.
	{gateway.ErrNoQuorum, errNoQuorum},
	{gateway.ErrReplicasMoving, errReplicasMoving},
	{gateway.ErrUnavailable, ErrServiceUnavailable},
	{gateway.ErrInvalidBucketName, errInvalidBucketName},
	{gateway.ErrKeyTooLong, errKeyTooLong},
	{gateway.ErrInvalidKey, errInvalidObjectKey},
	{gateway.ErrBadDigest, ErrBadDigest},
	{gateway.ErrChecksumMismatch, ErrBadChecksum},
	{gateway.ErrIncompleteBody, ErrIncompleteBody},
	{gateway.ErrEntityTooLarge, ErrEntityTooLarge},
	{gateway.ErrEntityTooSmall, errEntityTooSmall},
	{gateway.ErrInvalidPartOrder, errInvalidPartOrder},
	{gateway.ErrInvalidPartNumber, errInvalidPartNumberArg},
	{gateway.ErrInvalidRange, errInvalidRange},
	{gateway.ErrSnapshotReadOnly, errSnapshotReadOnly},
	{gateway.ErrInvalidSnapshot, errInvalidSnapshotVersion},
	{gateway.ErrMalformedRequest, ErrInvalidRequest},
	{gateway.ErrChunkMissing, ErrInternalError},
	{gateway.ErrStorageFull, errInsufficientStorage},
	{gateway.ErrPeerAuth, errPeerAuth},
	{gateway.ErrPeerBody, errPeerBody},
	{gateway.ErrNodeExists, errNodeExists},
	{gateway.ErrNoSuchNode, errNoSuchNode},
	{gateway.ErrClusterKeyRequired, errClusterKeyRequired},
	{gateway.ErrInvalidMember, errInvalidMember},
	{gateway.ErrInvalidLease, errInvalidLease},
	{gateway.ErrInvalidForkCount, errInvalidForkCount},
	{gateway.ErrConflictingOperation, errOperationAborted},
	{gateway.ErrKeyShards, errKeyShards},
	{gateway.ErrNoObjectLockConfiguration, errObjectLockConfigNotFound},
	{gateway.ErrNotImplemented, ErrNotImplemented},
	{gateway.ErrKMSNotConfigured, errSSENotConfigured},
	{gateway.ErrKMSKeyUnknown, ErrInternalError},
	{gateway.ErrDecrypt, errSSEDecrypt},
	{gateway.ErrSSECustomerKeyMissing, errSSECRequired},
	{gateway.ErrSSECustomerKeyMismatch, errSSECMismatch},
	{gateway.ErrSSENotApplicable, errSSECNotApplicable},

	// A body slower than MinBodyRate: the connection's read deadline
	// passed (listener.go).
	{os.ErrDeadlineExceeded, errRequestTimeout},

	// The request's deadline passed, or the server is shutting down:
	// clients retry a 503.
	{context.DeadlineExceeded, ErrServiceUnavailable},
	{context.Canceled, ErrServiceUnavailable},
}

// raftViaGateway lists raft's sentinels. s3api may not import raft:
// gateway wraps every one of them in gateway.ErrUnavailable, so each
// answers 503 ServiceUnavailable (which SDKs retry) through that row. The
// table test requires every exported raft Err* to be listed here.
var raftViaGateway = []string{
	"ErrUnavailable", "ErrNoQuorum", "ErrShardNotReady", "ErrSystemBusy", "ErrTimeout", "ErrClosed", "ErrCanceled",
}

// detailError is an S3 error with the extra XML fields some codes carry.
type detailError struct {
	api    *APIError
	fields errorFields
}

// errorFields are the optional elements of an S3 Error body.
type errorFields struct {
	ArgumentName     string
	ArgumentValue    string
	Condition        string
	RangeRequested   string
	ActualObjectSize string
}

func (e *detailError) Error() string { return e.api.Error() }
func (e *detailError) Unwrap() error { return e.api }

// argError is an InvalidArgument-style error naming the argument.
func argError(api *APIError, name, value string) error {
	return &detailError{api: api, fields: errorFields{ArgumentName: name, ArgumentValue: value}}
}

// invalidArg returns InvalidArgument with a message and the argument.
func invalidArg(msg, name, value string) error {
	return argError(ErrInvalidArgument.WithMessage(msg), name, value)
}

// invalidRequest returns InvalidRequest with a message.
func invalidRequest(msg string) error { return ErrInvalidRequest.WithMessage(msg) }

// preconditionFailed names the failed condition header.
func preconditionFailed(cond string) error {
	return &detailError{api: errPreconditionFailed, fields: errorFields{Condition: cond}}
}

// rangeNotSatisfiable is InvalidRange with the object size.
func rangeNotSatisfiable(requested string, size int64) error {
	return &detailError{api: errInvalidRange, fields: errorFields{
		RangeRequested: requested, ActualObjectSize: strconv.FormatInt(size, 10),
	}}
}

// toAPIError maps any error to the S3 error to send. known is false when
// nothing matched: the caller logs it once, as an InternalError.
func toAPIError(err error) (api *APIError, fields errorFields, known bool) {
	var de *detailError
	if errors.As(err, &de) {
		return de.api, de.fields, true
	}
	if errors.As(err, &api) {
		return api, fields, true
	}
	for _, row := range errorTable {
		if errors.Is(err, row.target) {
			return row.api, fields, true
		}
	}
	return ErrInternalError, fields, false
}
