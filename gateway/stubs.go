package gateway

import (
	"context"
	"errors"

	"github.com/forkstore/forkstore/meta"
)

// The use cases s3api calls. Bodies are filled in as the node is built.

var errTODO = errors.New("gateway: not implemented yet")

// CreateBucket creates a bucket or, with ForkSource, a fork.
func (s *Service) CreateBucket(ctx context.Context, in CreateBucketInput) (*meta.Bucket, error) {
	return nil, errTODO
}

// CreateSnapshot snapshots a bucket.
func (s *Service) CreateSnapshot(ctx context.Context, bucket, name string) (*meta.Snapshot, error) {
	return nil, errTODO
}

// ListSnapshots lists a bucket's snapshots, oldest first.
func (s *Service) ListSnapshots(ctx context.Context, bucket string) ([]meta.Snapshot, error) {
	return nil, errTODO
}

// ResolveSnapshot parses a snapshot reference (decimal version or name) of
// a bucket into a version. It fails with ErrInvalidSnapshot or
// meta.ErrNoSuchSnapshot.
func (s *Service) ResolveSnapshot(ctx context.Context, bucket, ref string) (uint64, error) {
	return 0, errTODO
}

// DeleteSnapshot deletes a snapshot.
func (s *Service) DeleteSnapshot(ctx context.Context, bucket string, version uint64) error {
	return errTODO
}

// HeadBucket returns a live bucket (with ParentName and IsForkParent).
func (s *Service) HeadBucket(ctx context.Context, name string) (*meta.Bucket, error) {
	return nil, errTODO
}

// ListBuckets lists live buckets by name.
func (s *Service) ListBuckets(ctx context.Context) ([]meta.Bucket, error) {
	return nil, errTODO
}

// DeleteBucket deletes an empty bucket.
func (s *Service) DeleteBucket(ctx context.Context, name string) error {
	return errTODO
}

// SetVersioning sets a bucket's versioning state.
func (s *Service) SetVersioning(ctx context.Context, bucket string, v meta.Versioning) error {
	return errTODO
}

// Lineage returns a bucket's parent, snapshots and forks.
func (s *Service) Lineage(ctx context.Context, bucket string) (*meta.Lineage, error) {
	return nil, errTODO
}

// Diff pages through the keys a fork changed against its base.
func (s *Service) Diff(ctx context.Context, bucket, after string, max int) (*meta.DiffResult, error) {
	return nil, errTODO
}

// PutObject streams a body to the chunk store and commits its manifest.
func (s *Service) PutObject(ctx context.Context, in *PutObjectInput) (*meta.Object, error) {
	return nil, errTODO
}

// HeadObject returns an object version's record (read-through for forks).
// A delete marker as the latest version yields meta.ErrNoSuchKey; asking
// for a delete marker by VersionID yields the record with DeleteMarker set
// together with meta.ErrMethodNotAllowed.
func (s *Service) HeadObject(ctx context.Context, in GetObjectInput) (*meta.Object, error) {
	return nil, errTODO
}

// OpenObject returns a reader of obj's bytes [offset, offset+length).
func (s *Service) OpenObject(ctx context.Context, obj *meta.Object, offset, length int64) (ReadCloser, error) {
	return nil, errTODO
}

// DeleteObject deletes a key or one version of it.
func (s *Service) DeleteObject(ctx context.Context, bucket, key, versionID string) (DeleteResult, error) {
	return DeleteResult{}, errTODO
}

// DeleteObjects deletes a batch of keys in one command; per-key errors are
// in the results.
func (s *Service) DeleteObjects(ctx context.Context, bucket string, items []meta.DeleteItem) ([]DeleteResult, error) {
	return nil, errTODO
}

// CopyObject writes Source under the destination, sharing its data.
func (s *Service) CopyObject(ctx context.Context, in *CopyObjectInput) (*meta.Object, error) {
	return nil, errTODO
}

// ListObjects pages through a bucket's keys (v1 and v2).
func (s *Service) ListObjects(ctx context.Context, bucket string, opts meta.ListOptions) (*meta.ListResult, error) {
	return nil, errTODO
}

// ListObjectVersions pages through a bucket's versions.
func (s *Service) ListObjectVersions(ctx context.Context, bucket string, opts meta.VersionListOptions) (*meta.VersionListResult, error) {
	return nil, errTODO
}

// CreateMultipartUpload starts an upload and returns its id.
func (s *Service) CreateMultipartUpload(ctx context.Context, bucket string, template meta.Object) (string, error) {
	return "", errTODO
}

// UploadPart stores a part.
func (s *Service) UploadPart(ctx context.Context, in *UploadPartInput) (*meta.Part, error) {
	return nil, errTODO
}

// UploadPartCopy stores a part copied from an existing object's range.
func (s *Service) UploadPartCopy(ctx context.Context, in *UploadPartCopyInput) (*meta.Part, error) {
	return nil, errTODO
}

// CompleteMultipartUpload validates the part list and commits the object.
func (s *Service) CompleteMultipartUpload(ctx context.Context, in *CompleteInput) (*meta.Object, error) {
	return nil, errTODO
}

// AbortMultipartUpload discards an upload.
func (s *Service) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	return errTODO
}

// ListParts pages through an upload's parts (after marker, at most max).
func (s *Service) ListParts(ctx context.Context, bucket, key, uploadID string, marker, max int) (*meta.Upload, *meta.PartListResult, error) {
	return nil, nil, errTODO
}

// ListMultipartUploads pages through a bucket's uploads.
func (s *Service) ListMultipartUploads(ctx context.Context, bucket string, opts meta.UploadListOptions) (*meta.UploadListResult, error) {
	return nil, errTODO
}
