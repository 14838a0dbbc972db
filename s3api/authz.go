package s3api

import (
	"net/http"
	"strings"

	"github.com/forkstore/forkstore/gateway"
)

// Authorization: after a request is authenticated, authorize decides, in
// one place, whether its principal may do what it asks. The root key may
// do anything. A scoped key (gateway.Principal) may use only its buckets
// (while their leases last) and, with a prefix, only the object keys
// under it; a read-only key may only read; no scoped key creates buckets
// (a fork of one of its buckets excepted: the key may use the new fork),
// and of the admin API a scoped key may only read its buckets' lineage
// and diff. Everything else answers AccessDenied and changes nothing.
// Checks that need the body or a header (the source of a copy, the keys
// of DeleteObjects) call authorize again from the handler.

// access is what a request does, as authorization sees it.
type access struct {
	kind   accessKind
	bucket string
	// key is the object key, or for listings the prefix asked for.
	key    string
	hasKey bool
}

type accessKind int

const (
	accessRead        accessKind = iota // read objects or bucket state
	accessWrite                         // write or delete objects
	accessBucketAdmin                   // change the bucket itself (versioning, snapshots, delete)
	accessFork                          // fork the bucket (a new bucket the key may then use)
	accessCreate                        // create a new bucket
	accessService                       // ListBuckets (filtered)
	accessAdmin                         // the admin API beyond reads of a bucket's lineage and diff
)

// readOps are the operations that only read. Any operation not listed is
// treated as a write (deny by default for read-only keys).
var readOps = map[Operation]bool{
	OpGetObject: true, OpHeadObject: true, OpGetObjectAcl: true, OpGetObjectTagging: true,
	OpListParts: true, OpHeadBucket: true, OpGetBucketLocation: true, OpGetBucketVersioning: true,
	OpGetBucketAcl: true, OpGetBucketConfig: true, OpListSnapshots: true, OpGetObjectAttributes: true,
	OpGetBucketRequestPayment: true,
	OpListObjects:             true, OpListObjectsV2: true, OpListObjectVersions: true, OpListMultipartUploads: true,
	OpNotImplemented: true, OpMethodNotAllowed: true,
}

// listingOps take a prefix instead of a key.
var listingOps = map[Operation]bool{
	OpListObjects: true, OpListObjectsV2: true, OpListObjectVersions: true, OpListMultipartUploads: true,
}

// bucketAdminOps change a bucket rather than its objects.
var bucketAdminOps = map[Operation]bool{
	OpPutBucketVersioning: true, OpCreateSnapshot: true, OpDeleteSnapshot: true, OpDeleteBucket: true,
}

// requestAccess classifies a routed request.
func requestAccess(r *request) access {
	rt := r.route
	a := access{bucket: rt.Bucket}
	switch {
	case rt.Op == OpAdmin:
		a.kind = accessAdmin
		if r.method == http.MethodGet {
			seg := strings.Split(strings.Trim(rt.AdminPath, "/"), "/")
			if len(seg) == 3 && seg[0] == "buckets" && (seg[2] == "lineage" || seg[2] == "diff") {
				a.kind, a.bucket = accessRead, seg[1]
			}
		}
		return a
	case rt.Op == OpListBuckets:
		a.kind = accessService
		return a
	case rt.Op == OpListSnapshots:
		a.kind, a.bucket = accessRead, strings.TrimSpace(r.header.Get(hdrSnapshot))
		return a
	case rt.Op == OpCreateBucket:
		a.kind = accessCreate
		return a
	case rt.Op == OpForkBucket:
		a.kind, a.bucket = accessFork, strings.TrimSpace(r.header.Get(hdrForkSource))
		return a
	case bucketAdminOps[rt.Op]:
		a.kind = accessBucketAdmin
		return a
	case readOps[rt.Op]:
		a.kind = accessRead
	case rt.Key == "" && rt.Op != OpDeleteObjects:
		// Any other write to a bucket itself changes the bucket.
		a.kind = accessBucketAdmin
		return a
	default:
		a.kind = accessWrite
	}
	switch {
	case listingOps[rt.Op]:
		a.key, a.hasKey = r.query.Get("prefix"), true
	case rt.Key != "":
		a.key, a.hasKey = rt.Key, true
	}
	return a
}

// authorize decides whether p may do a. It is the one authorization
// decision of the server.
func (s *Server) authorize(p *gateway.Principal, a access) error {
	if p == nil {
		return ErrAccessDenied
	}
	if p.Root {
		return nil
	}
	now := s.leaseNow()
	if p.Expired(now) {
		return ErrAccessDenied
	}
	switch a.kind {
	case accessService:
		return nil
	case accessCreate, accessAdmin:
		return ErrAccessDenied
	}
	if a.bucket == "" || !p.CanUse(a.bucket, now) {
		return ErrAccessDenied
	}
	if a.kind == accessRead {
		if a.hasKey && !p.Covers(a.key) {
			return ErrAccessDenied
		}
		return nil
	}
	if p.ReadOnly {
		return ErrAccessDenied
	}
	switch a.kind {
	case accessBucketAdmin, accessFork:
		// A snapshot, a fork or a versioning change covers the whole
		// bucket: not for a key limited to a prefix.
		if p.Prefix != "" {
			return ErrAccessDenied
		}
		return nil
	}
	// An object write; DeleteObjects (no key in the route) checks each
	// key in its handler.
	if a.hasKey && !p.Covers(a.key) {
		return ErrAccessDenied
	}
	return nil
}

// authorizeRequest checks the routed request as a whole.
func (s *Server) authorizeRequest(r *request) error {
	return s.authorize(r.principal, requestAccess(r))
}

// mayRead reports whether the request's principal may read key in bucket
// (sources of copies).
func (s *Server) mayRead(r *request, bucket, key string) error {
	return s.authorize(r.principal, access{kind: accessRead, bucket: bucket, key: key, hasKey: true})
}

// mayWrite reports whether the request's principal may write key in
// bucket (each key of DeleteObjects).
func (s *Server) mayWrite(r *request, bucket, key string) error {
	return s.authorize(r.principal, access{kind: accessWrite, bucket: bucket, key: key, hasKey: true})
}
