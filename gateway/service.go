package gateway

import (
	"context"
	"io"
	"time"

	"github.com/forkstore/forkstore/gateway/checksum"
	"github.com/forkstore/forkstore/meta"
)

// CreateBucketInput is CreateBucket, optionally making a fork.
type CreateBucketInput struct {
	Name   string
	Region string
	// ForkSource, when set, makes the new bucket a fork of that bucket.
	ForkSource string
	// ForkSnapshot is the source's snapshot to fork from: a version in
	// decimal or a snapshot name; "" forks the source's current state.
	ForkSnapshot string
	// TTL, when positive, is the fork's lease.
	TTL time.Duration
	// Grant is a scoped key that may use the new fork ("" none).
	Grant string
	// Ownership and ACL (a canned ACL, "" is private) are a new bucket's
	// access settings; a fork takes its source's (those of a new bucket
	// when its owner is not the source's: meta.inheritConfig).
	Ownership meta.Ownership
	ACL       string
	// ObjectLock enables Object Lock (and versioning) on a new bucket
	// (x-amz-bucket-object-lock-enabled); a fork takes its source's.
	ObjectLock bool
	// Owner is the user the new bucket (or fork) belongs to ("" the root
	// account). With a lease (TTL) a user's fork is a batch of one
	// (CreateForks with Owner).
	Owner string
}

// PutObjectInput is a PutObject (or the data of an UploadPart).
type PutObjectInput struct {
	Bucket string
	Key    string
	Body   io.Reader
	// Size is the decoded body length, or -1 when unknown
	// (Transfer-Encoding: chunked). A body shorter than Size fails with
	// ErrIncompleteBody; longer fails too. Nothing is stored on failure.
	Size int64
	// Object carries the content headers and user metadata to store.
	// Object.Checksum.Algorithm names the additional checksum to compute
	// and store ("" stores CRC64NVME, as AWS does by default).
	Object      meta.Object
	IfMatch     string
	IfNoneMatch string
	// Verify, if set, runs after the whole body has been read and before
	// anything is committed; an error aborts the write.
	Verify func(d *checksum.Digests) error
	// Checked says Verify checks a digest the client sent (Content-MD5 or
	// an x-amz-checksum): Object Lock retains only such writes.
	Checked bool
	// CustomerKey is the SSE-C key (Object.SSE.Algorithm SSECustomer).
	// Object.SSE.Algorithm "" takes the bucket's default encryption.
	CustomerKey []byte
	// Read, when set, is the live bucket as a linearizable read made
	// after the request arrived returned it with its default encryption
	// (ObjectAccess with GetObjectInput.Encryption, as the request's
	// authorization reads it): the write takes the default from it
	// rather than reading the bucket again. Ignored unless it is
	// Bucket's and Read.EncryptionRead is set.
	Read *meta.Bucket
}

// GetObjectInput selects one object version to read.
type GetObjectInput struct {
	Bucket    string
	Key       string
	VersionID string // "" latest; "null"; or a decimal version
	At        uint64 // read at this snapshot/history version (0 = latest)
	// Encryption asks ObjectAccess to read the live bucket's default
	// encryption too (meta.Bucket.Encryption), for a write that follows.
	Encryption bool
}

// DeleteResult is the outcome of deleting one key.
type DeleteResult struct {
	Key                   string
	VersionID             string // the version removed or the marker created ("" if none)
	DeleteMarker          bool
	DeleteMarkerVersionID string
	Err                   error // for DeleteObjects entries
}

// CopyObjectInput is CopyObject: the source record (from HeadObject, with
// the copy-source conditions already checked) is written under the
// destination sharing its data.
type CopyObjectInput struct {
	Source *meta.Object
	// SourceBucket names the source's bucket: a copy between buckets on
	// different metadata shards writes the bytes anew (shards.go).
	SourceBucket string
	DstBucket    string
	DstKey       string
	// Replace, when true, takes content headers and user metadata from
	// Object (x-amz-metadata-directive: REPLACE); otherwise they are copied.
	Replace     bool
	Object      meta.Object
	IfMatch     string
	IfNoneMatch string
	// ReplaceTags takes the tags from Tags (x-amz-tagging-directive:
	// REPLACE); otherwise the source's tags are copied.
	ReplaceTags bool
	Tags        map[string]string
	// ACL is the copy's canned ACL ("" is private); as on S3, the
	// source's ACL is never copied.
	ACL string
	// ChecksumAlgorithm, when set and different from the source's, makes
	// the copy store a fresh full-object checksum of that algorithm
	// (x-amz-checksum-algorithm), computed by reading the source once.
	ChecksumAlgorithm string
	// Lock is the copy's Object Lock state from the request's headers
	// (LockMode, RetainUntil, LegalHold; the source's is never copied).
	Lock meta.Object
	// SSE is the encryption the copy asks for (Algorithm "": the
	// destination bucket's default), CustomerKey its SSE-C key and
	// SourceCustomerKey the source's.
	SSE               meta.SSE
	CustomerKey       []byte
	SourceCustomerKey []byte
}

// UploadPartInput is UploadPart.
type UploadPartInput struct {
	Bucket   string
	Key      string
	UploadID string
	Number   int
	Body     io.Reader
	Size     int64
	// Algorithm is the checksum the client sent for this part, if any.
	Algorithm string
	Verify    func(d *checksum.Digests) error
	// CustomerKey is the SSE-C key of an upload that uses one.
	CustomerKey []byte
	// SSE is set by UploadPart to the upload's encryption (for the
	// answer's headers).
	SSE meta.SSE
}

// UploadPartCopyInput is UploadPartCopy of Source's bytes
// [Offset, Offset+Length).
type UploadPartCopyInput struct {
	Bucket   string
	Key      string
	UploadID string
	Number   int
	Source   *meta.Object
	Offset   int64
	Length   int64
	// CustomerKey is the upload's SSE-C key, SourceCustomerKey the
	// source's (nil: none).
	CustomerKey, SourceCustomerKey []byte
	// SSE is set by UploadPartCopy to the upload's encryption.
	SSE meta.SSE
}

// CompletePartInput is one entry of CompleteMultipartUpload's body.
type CompletePartInput struct {
	Number   int
	ETag     string
	Checksum string // base64 the client sent for the part, if any
}

// CompleteInput is CompleteMultipartUpload.
type CompleteInput struct {
	Bucket      string
	Key         string
	UploadID    string
	Parts       []CompletePartInput
	IfMatch     string
	IfNoneMatch string
	// ChecksumAlgorithm and Checksum are the whole-object checksum the
	// client claims (x-amz-checksum-<alg>), if any; a composite value may
	// carry its "-N" suffix. A mismatch fails with ErrChecksumMismatch.
	ChecksumAlgorithm string
	Checksum          string
	// ObjectSize is x-amz-mp-object-size, nil when absent.
	ObjectSize *int64
}

// Service is the node's S3 use cases. Methods are safe for concurrent use.
type Service struct {
	node *Node
}

// Region is the region the node reports.
func (s *Service) Region() string { return s.node.cfg.Region }

// Owner returns the access key of the account that owns every bucket:
// the root user ("" for a Service without a node).
func (s *Service) Owner() string {
	if s.node == nil {
		return ""
	}
	return s.node.cfg.RootUser
}

// Ready reports whether the node can serve requests now.
func (s *Service) Ready(ctx context.Context) error { return s.node.Ready(ctx) }
