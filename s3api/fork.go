package s3api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// Snapshots and forks over S3, with Tigris's header conventions:
//
//	PUT /b  X-Tigris-Fork-Source-Bucket: src [+ -Snapshot: v|name]  fork
//	        [+ X-Forkstore-Fork-TTL: 2h]                               with a lease
//	PUT /b  X-Tigris-Snapshot: true[; name=N]  snapshot (X-Tigris-Snapshot-Version in the answer)
//	GET /   X-Tigris-Snapshot: b               list b's snapshots as buckets
//	GET/HEAD/List*  X-Tigris-Snapshot-Version: v  read at v (CopyObject: the source)
//	DELETE /b  X-Tigris-Snapshot-Version: v    delete that snapshot
//
// Snapshots are read-only: any other write naming a version fails before
// anything is read or written.

// readOnlyOps are the writes that may not carry X-Tigris-Snapshot-Version.
// (CopyObject and UploadPartCopy read their source at it;
// DeleteBucket with it is DeleteSnapshot.)
var readOnlyOps = map[Operation]bool{
	OpPutObject: true, OpDeleteObject: true, OpDeleteObjects: true,
	OpCreateMultipartUpload: true, OpUploadPart: true, OpCompleteMultipartUpload: true,
	OpAbortMultipartUpload: true, OpPutBucketVersioning: true, OpCreateBucket: true,
	OpForkBucket: true, OpCreateSnapshot: true,
	OpPutObjectTagging: true, OpDeleteObjectTagging: true,
	OpPutObjectAcl: true, OpPutBucketAcl: true,
	OpPutBucketOwnershipControls: true, OpDeleteBucketOwnershipControls: true,
	OpPutBucketLifecycle: true, OpDeleteBucketLifecycle: true,
	OpPutBucketPolicy: true, OpDeleteBucketPolicy: true, OpPutPublicAccessBlock: true, OpDeletePublicAccessBlock: true,
	OpPutBucketTagging: true, OpDeleteBucketTagging: true,
	OpPutBucketEncryption: true, OpDeleteBucketEncryption: true,
}

// readAt resolves X-Tigris-Snapshot-Version for reads of bucket: a decimal
// version (or a snapshot name); 0 when absent.
func (s *Server) readAt(r *request, bucket string) (uint64, error) {
	v := strings.TrimSpace(r.header.Get(hdrSnapshotVersion))
	if v == "" {
		return 0, nil
	}
	at, err := s.svc.ResolveSnapshot(r.ctx, bucket, v)
	if err != nil {
		return 0, snapshotRefError(err, v)
	}
	return at, nil
}

// snapshotRefError names the header in errors about a snapshot reference.
func snapshotRefError(err error, ref string) error {
	switch {
	case errors.Is(err, gateway.ErrInvalidSnapshot):
		return argError(errInvalidSnapshotVersion, hdrSnapshotVersion, ref)
	case errors.Is(err, meta.ErrNoSuchSnapshot):
		return argError(errNoSuchSnapshot.WithMessage("The snapshot "+strconv.Quote(ref)+" does not exist."), hdrSnapshotVersion, ref)
	}
	return err
}

// setForkHeaders describes a bucket's place in the fork tree on HeadBucket.
func setForkHeaders(r *request, b *meta.Bucket) {
	if b.Parent != nil {
		if b.ParentName != "" {
			r.set(hdrForkSource, b.ParentName)
		}
		r.set(hdrForkSourceSnapshot, strconv.FormatUint(b.Parent.Version, 10))
	}
	if b.IsForkParent {
		r.set(hdrIsForkParent, "true")
	}
}

// forkBucket is CreateBucket with X-Tigris-Fork-Source-Bucket: a new
// bucket whose initial content is the source (at a snapshot, if named).
// An existing name is BucketAlreadyExists.
func (s *Server) forkBucket(r *request) (*response, error) {
	b := r.route.Bucket
	if !gateway.ValidBucketName(b) {
		return nil, errInvalidBucketName
	}
	src := strings.TrimSpace(r.header.Get(hdrForkSource))
	snap := strings.TrimSpace(r.header.Get(hdrForkSourceSnapshot))
	if src == "" {
		return nil, invalidArg(hdrForkSource+" must name the bucket to fork.", hdrForkSource, src)
	}
	ttl, err := parseTTLHeader(r)
	if err != nil {
		return nil, err
	}
	region, err := s.locationConstraint(r)
	if err != nil {
		return nil, err
	}
	in := gateway.CreateBucketInput{Name: b, Region: region, ForkSource: src, ForkSnapshot: snap, TTL: ttl}
	switch {
	case userMain(r.principal):
		// A user's fork is the user's.
		in.Owner = r.principal.User
	case !r.principal.Root:
		// A scoped key may use the fork it makes.
		in.Grant = r.principal.AccessKey
	}
	nb, err := s.svc.CreateBucket(r.ctx, in)
	if err != nil {
		if errors.Is(err, meta.ErrBucketExists) {
			return nil, errBucketAlreadyExists
		}
		if errors.Is(err, gateway.ErrInvalidSnapshot) || errors.Is(err, meta.ErrNoSuchSnapshot) {
			return nil, snapshotRefError(err, snap)
		}
		return nil, err
	}
	r.set("Location", "/"+b)
	if nb != nil && nb.Parent != nil {
		r.set(hdrForkSource, src)
		r.set(hdrForkSourceSnapshot, strconv.FormatUint(nb.Parent.Version, 10))
	}
	if nb != nil && nb.Expires != 0 {
		r.set(hdrExpires, httpTime(nb.Expires))
	}
	return &response{}, nil
}

// parseTTLHeader reads X-Forkstore-Fork-TTL: a lease such as "2h" (0 when
// absent).
func parseTTLHeader(r *request) (time.Duration, error) {
	v := strings.TrimSpace(r.header.Get(hdrForkTTL))
	if v == "" {
		return 0, nil
	}
	d, err := gateway.ParseTTL(v)
	if err != nil || d == 0 {
		return 0, invalidArg("X-Forkstore-Fork-TTL must be a duration such as 90m, 2h or 7d, from 1s to 10 years.", hdrForkTTL, v)
	}
	return d, nil
}

// parseSnapshotHeader parses X-Tigris-Snapshot of CreateBucket: "true"
// or "true; name=N".
func parseSnapshotHeader(v string) (name string, err error) {
	parts := strings.Split(v, ";")
	if !strings.EqualFold(strings.TrimSpace(parts[0]), "true") {
		return "", invalidArg("X-Tigris-Snapshot must be \"true\" or \"true; name=NAME\".", hdrSnapshot, v)
	}
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "name") {
			return "", invalidArg("X-Tigris-Snapshot must be \"true\" or \"true; name=NAME\".", hdrSnapshot, v)
		}
		name = strings.Trim(strings.TrimSpace(val), `"`)
	}
	return name, nil
}

// createSnapshot is CreateBucket on an existing bucket with
// X-Tigris-Snapshot: it records a snapshot and answers its version.
func (s *Server) createSnapshot(r *request) (*response, error) {
	name, err := parseSnapshotHeader(r.header.Get(hdrSnapshot))
	if err != nil {
		return nil, err
	}
	snap, err := s.svc.CreateSnapshot(r.ctx, r.route.Bucket, name)
	if err != nil {
		return nil, err
	}
	r.set(hdrSnapshotVersion, strconv.FormatUint(snap.Version, 10))
	return &response{}, nil
}

// listSnapshots is ListBuckets with X-Tigris-Snapshot: bucket. Each
// snapshot is a Bucket entry named "{version}" or "{version}; name={name}",
// created at the snapshot's time.
func (s *Server) listSnapshots(r *request) (*response, error) {
	bucket := strings.TrimSpace(r.header.Get(hdrSnapshot))
	snaps, err := s.svc.ListSnapshots(r.ctx, bucket)
	if err != nil {
		return nil, err
	}
	out := ListAllMyBucketsResult{Owner: r.owner(), Buckets: []BucketXML{}}
	for _, sn := range snaps {
		n := strconv.FormatUint(sn.Version, 10)
		if sn.Name != "" {
			n += "; name=" + sn.Name
		}
		out.Buckets = append(out.Buckets, BucketXML{Name: n, CreationDate: xmlTime(sn.Created)})
	}
	return &response{xml: out}, nil
}

// deleteSnapshot is DeleteBucket with X-Tigris-Snapshot-Version.
func (s *Server) deleteSnapshot(r *request) (*response, error) {
	ref := strings.TrimSpace(r.header.Get(hdrSnapshotVersion))
	v, err := s.svc.ResolveSnapshot(r.ctx, r.route.Bucket, ref)
	if err != nil {
		return nil, snapshotRefError(err, ref)
	}
	if err := s.svc.DeleteSnapshot(r.ctx, r.route.Bucket, v); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent, noBody: true}, nil
}
