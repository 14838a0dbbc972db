package s3api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// Authorization: after a request is authenticated, authorize decides, in
// one place, whether its principal may do what it asks. The root key may
// do anything. A scoped key (gateway.Principal) may use only its buckets
// (while their leases last) and, with a prefix, only the object keys
// under it; a read-only key may only read; no scoped key creates buckets
// (a fork of one of its buckets excepted, for a key given the permission
// to fork and under its fork prefix: the key may use the new fork, which
// expires with the key's earliest expiry),
// and of the admin API a scoped key may only read its buckets' lineage
// and diff. A fork reads its whole source: who may make one, a user
// forking another's bucket included, is decided in authz_fork.go. An
// anonymous (unsigned) request has no principal. What the
// ACLs grant the AllUsers group (public-read, public-read-write) anybody
// may do, and what they grant AuthenticatedUsers (authenticated-read) any
// signed request, scoped keys outside their scope included, as ACL grants
// add to an identity's policy on AWS. Everything else answers
// AccessDenied and changes nothing. Checks that need the body or a header
// (the source of a copy, the keys of DeleteObjects) call authorize again
// from the handler.
//
// A read at a snapshot or an instant (X-Tigris-Snapshot-Version) is
// decided by the bucket's and the object's ACLs and ownership as of the
// version read, not today's: what a bucket or an object was then is what
// its settings then allowed to be seen. Where the settings at that
// version are not known (a bucket older than its access records), or the
// version is not readable, only the scope decides.

// access is what a request does, as authorization sees it.
type access struct {
	op     Operation
	kind   accessKind
	bucket string
	// key is the object key, or for listings the prefix asked for.
	key    string
	hasKey bool
	// versionID is the object version an object operation names.
	versionID string
	// target is the new bucket a fork creates.
	target string
	// atRef is the snapshot or version a read is at
	// (X-Tigris-Snapshot-Version; "" reads now).
	atRef string
	// acl caches the bucket the ACL decision read, for the checks of one
	// request (DeleteObjects checks each key).
	acl *aclCache
	// req is the request, for the conditions of a bucket policy (nil in
	// checks that have none).
	req *request
	// userID is the canonical id of the requesting user, for ACL grants
	// to it ("" for others).
	userID string
	// allKeys: an object read of every key of the bucket at once (what a
	// fork of it reads; authz_fork.go).
	allKeys bool
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
	OpGetBucketRequestPayment: true, OpGetBucketOwnershipControls: true,
	OpListObjects: true, OpListObjectsV2: true, OpListObjectVersions: true, OpListMultipartUploads: true,
	OpNotImplemented: true, OpMethodNotAllowed: true,
	OpGetBucketCors:              true,
	OpGetBucketEncryption:        true,
	OpGetObjectLockConfiguration: true, OpGetObjectRetention: true, OpGetObjectLegalHold: true,
	OpGetBucketLifecycle: true,
	OpGetBucketPolicy:    true, OpGetBucketPolicyStatus: true, OpGetPublicAccessBlock: true, OpGetBucketTagging: true,
}

// listingOps take a prefix instead of a key.
var listingOps = map[Operation]bool{
	OpListObjects: true, OpListObjectsV2: true, OpListObjectVersions: true, OpListMultipartUploads: true,
}

// atOps are the reads that X-Tigris-Snapshot-Version puts at a version
// (CopyObject's source: mayRead).
var atOps = map[Operation]bool{
	OpGetObject: true, OpHeadObject: true, OpGetObjectAcl: true, OpGetObjectAttributes: true,
	OpListObjects: true, OpListObjectsV2: true, OpListObjectVersions: true,
}

// bucketAdminOps change a bucket rather than its objects.
var bucketAdminOps = map[Operation]bool{
	OpPutBucketVersioning: true, OpCreateSnapshot: true, OpDeleteSnapshot: true, OpDeleteBucket: true,
	OpPutBucketAcl: true, OpPutBucketOwnershipControls: true, OpDeleteBucketOwnershipControls: true,
	OpPutBucketLifecycle: true, OpDeleteBucketLifecycle: true,
	OpPutBucketEncryption: true, OpDeleteBucketEncryption: true,
}

// requestAccess classifies a routed request.
func requestAccess(r *request) access {
	rt := r.route
	a := access{op: rt.Op, bucket: rt.Bucket, acl: &r.aclCache, req: r}
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
		a.target = rt.Bucket
		// A fork of a snapshot reads the source as of it.
		a.atRef = strings.TrimSpace(r.header.Get(hdrForkSourceSnapshot))
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
		a.versionID = r.query.Get("versionId")
	}
	if atOps[rt.Op] {
		a.atRef = strings.TrimSpace(r.header.Get(hdrSnapshotVersion))
	}
	return a
}

// authorize decides whether p (nil for an anonymous request) may do a. It
// is the one authorization decision of the server. It reads metadata
// only when the ACLs decide: for anonymous requests, and for scoped keys
// outside their scope.
func (s *Server) authorize(ctx context.Context, p *gateway.Principal, a access) error {
	if p != nil && p.Root {
		return nil
	}
	if p != nil && p.Expired(s.leaseNow()) {
		return ErrAccessDenied
	}
	if a.kind == accessFork {
		// Reading the whole source (authz_fork.go).
		return s.forkAllows(ctx, p, a)
	}
	// The bucket's policy: an explicit Deny wins over every grant, an
	// Allow grants what it names (bucketpolicy.go, policy.go).
	switch dec, err := s.policyAllows(ctx, p, a); {
	case err != nil:
		return err
	case dec == policyDeny:
		return ErrAccessDenied
	case dec == policyAllow:
		return nil
	}
	if userMain(p) {
		return s.userAllows(ctx, p, a)
	}
	if p == nil {
		return s.aclAllows(ctx, a, groupAllUsers)
	}
	err := s.scopeAllows(p, a)
	if err != nil && s.aclAllows(ctx, a, groupAllUsers, groupAuthenticatedUsers) == nil {
		return nil
	}
	return err
}

// scopeAllows decides by a scoped key's scope.
func (s *Server) scopeAllows(p *gateway.Principal, a access) error {
	now := s.leaseNow()
	switch a.kind {
	case accessService:
		return nil
	case accessCreate:
		// CreateBucket of a bucket the key may write (tools check a
		// bucket that way before writing) answers as for its owner and
		// creates nothing (createBucket); any other name is refused.
		if p.ReadOnly || !p.CanUse(a.bucket, now) {
			return ErrAccessDenied
		}
		return nil
	case accessAdmin:
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
		// A fork is a new bucket: only for a key given the permission,
		// and only named under its fork prefix (no squatting of other
		// names).
		if a.kind == accessFork && !p.CanFork(a.target) {
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

// aclNeed is the permission an operation needs where ACLs decide.
type aclNeed uint8

const (
	needNothing        aclNeed = iota // never granted by an ACL
	needBucketRead                    // READ on the bucket (s3:ListBucket...)
	needBucketWrite                   // WRITE on the bucket (s3:PutObject, s3:DeleteObject)
	needObjectRead                    // READ on the object (s3:GetObject)
	needBucketReadACP                 // READ_ACP on the bucket (s3:GetBucketAcl)
	needBucketWriteACP                // WRITE_ACP on the bucket (s3:PutBucketAcl)
	needObjectReadACP                 // READ_ACP on the object (s3:GetObjectAcl)
	needObjectWriteACP                // WRITE_ACP on the object (s3:PutObjectAcl)
)

// aclNeeds maps the operations an ACL can grant to the permission they
// need (AWS's mapping of ACL permissions to actions). The others are the
// bucket owner's.
var aclNeeds = map[Operation]aclNeed{
	OpHeadBucket:           needBucketRead,
	OpListObjects:          needBucketRead,
	OpListObjectsV2:        needBucketRead,
	OpListObjectVersions:   needBucketRead,
	OpListMultipartUploads: needBucketRead,

	OpPutObject:               needBucketWrite,
	OpCopyObject:              needBucketWrite,
	OpDeleteObject:            needBucketWrite,
	OpDeleteObjects:           needBucketWrite,
	OpCreateMultipartUpload:   needBucketWrite,
	OpUploadPart:              needBucketWrite,
	OpUploadPartCopy:          needBucketWrite,
	OpCompleteMultipartUpload: needBucketWrite,
	OpAbortMultipartUpload:    needBucketWrite,

	OpGetObject:  needObjectRead,
	OpHeadObject: needObjectRead,

	OpGetBucketAcl: needBucketReadACP,
	OpPutBucketAcl: needBucketWriteACP,
	OpGetObjectAcl: needObjectReadACP,
	OpPutObjectAcl: needObjectWriteACP,
}

// aclCache holds the bucket an ACL decision read during one request.
type aclCache struct {
	b *meta.Bucket
}

// readsEncryption says whether op writes a new object version whose
// encryption the bucket's default decides: the read of the bucket that
// authorizes it reads that default too, and the write takes it from the
// request's aclCache (gateway.PutObjectInput.Read) instead of reading
// the bucket a second time.
func readsEncryption(op Operation) bool { return op == OpPutObject }

// aclAllows decides by the ACLs: nil when the bucket's (or, for object
// reads and object ACL operations, the object's) ACL gives one of groups
// (or the requesting user) the permission a needs: READ_ACP opens
// GetBucketAcl/GetObjectAcl, WRITE_ACP PutBucketAcl/PutObjectAcl.
// An object's ACL counts only where the bucket's ownership setting
// enables ACLs. A bucket that does not exist is AccessDenied, like one
// whose ACL grants nothing (AWS answers NoSuchBucket; unsigned requests
// cannot probe for bucket names here).
func (s *Server) aclAllows(ctx context.Context, a access, groups ...string) error {
	need := aclNeeds[a.op]
	if need == needNothing || a.bucket == "" {
		return ErrAccessDenied
	}
	if a.op == OpDeleteObject && a.versionID != "" {
		// Deleting a version (s3:DeleteObjectVersion) is the owner's.
		return ErrAccessDenied
	}
	var (
		b   *meta.Bucket
		o   *meta.Object
		at  uint64
		err error
	)
	if a.atRef != "" {
		// The settings as of the version read decide.
		if at, err = s.svc.ResolveSnapshot(ctx, a.bucket, a.atRef); err != nil {
			if notReadableAt(err) || errors.Is(err, meta.ErrNoSuchBucket) {
				return ErrAccessDenied
			}
			return err
		}
	}
	switch {
	case need == needObjectRead || need == needObjectReadACP || need == needObjectWriteACP:
		b, o, err = s.svc.ObjectAccess(ctx, gateway.GetObjectInput{Bucket: a.bucket, Key: a.key, VersionID: a.versionID, At: at})
	case at == 0 && a.acl != nil && a.acl.b != nil && a.acl.b.Name == a.bucket:
		b = a.acl.b
	default:
		b, _, err = s.svc.ObjectAccess(ctx, gateway.GetObjectInput{Bucket: a.bucket, At: at, Encryption: at == 0 && readsEncryption(a.op)})
		if b != nil && at == 0 && a.acl != nil {
			a.acl.b = b
		}
	}
	if b == nil {
		if errors.Is(err, meta.ErrNoSuchBucket) || notReadableAt(err) {
			// Nobody learns from an ACL decision which buckets (or
			// snapshots) exist.
			return ErrAccessDenied
		}
		return err
	}
	if b.AccessUnknown {
		// Not known what the ACLs allowed then: refuse rather than guess.
		return ErrAccessDenied
	}
	if b.PublicAccessBlock.Has(meta.PABIgnorePublicAcls) {
		// Grants to groups are public; grants to users remain.
		groups = nil
	}
	if err != nil && !isNotFound(err) && !errors.Is(err, meta.ErrMethodNotAllowed) {
		return err
	}
	grants := func(acl, perm string) bool {
		for _, g := range groups {
			if aclGrants(acl, g, perm) {
				return true
			}
		}
		// A grant to the requesting user (aclgrants.go).
		return grantsTo(acl, "id", a.userID, perm)
	}
	listable := grants(b.ACL, permRead)
	switch need {
	case needBucketRead:
		if listable {
			return nil
		}
	case needBucketWrite:
		if grants(b.ACL, permWrite) {
			return nil
		}
	case needObjectRead:
		if o != nil && !o.DeleteMarker && b.Ownership.ACLsEnabled() && grants(o.ACL, permRead) {
			return nil
		}
		// What is not there: NoSuchKey for whom may list the bucket.
		if (o == nil || o.DeleteMarker) && listable {
			return nil
		}
	case needBucketReadACP, needBucketWriteACP:
		perm := permReadACP
		if need == needBucketWriteACP {
			perm = permWriteACP
		}
		if grants(b.ACL, perm) {
			return nil
		}
	case needObjectReadACP, needObjectWriteACP:
		perm := permReadACP
		if need == needObjectWriteACP {
			perm = permWriteACP
		}
		if o != nil && !o.DeleteMarker && b.Ownership.ACLsEnabled() && grants(o.ACL, perm) {
			return nil
		}
	}
	return ErrAccessDenied
}

// notReadableAt reports the errors of a version that cannot be read: not
// a snapshot, out of the history window, malformed.
func notReadableAt(err error) bool {
	return errors.Is(err, meta.ErrNoSuchSnapshot) || errors.Is(err, meta.ErrVersionOutOfRetention) ||
		errors.Is(err, gateway.ErrInvalidSnapshot)
}

// ownAccess reports the operations outside S3 authentication: health
// checks, the metrics endpoint (its handler checks a bearer token) and
// node-to-node requests (signed with the cluster key, checked in prepare).
func ownAccess(op Operation) bool {
	switch op {
	case OpHealthLive, OpHealthReady, OpMetrics, OpPeer, OpConsole:
		return true
	}
	return false
}

// authorizeRequest checks the routed request as a whole.
func (s *Server) authorizeRequest(ctx context.Context, r *request) error {
	if err := s.authorize(ctx, r.principal, requestAccess(r)); err != nil {
		return err
	}
	// x-amz-expected-bucket-owner: the bucket's owner (its canonical id:
	// a user's, or the root account's) must be the one named.
	if r.route.Op == OpCreateBucket || r.route.Op == OpAdmin {
		return nil
	}
	return s.checkExpectedOwner(ctx, r.route.Bucket, r.header.Get("X-Amz-Expected-Bucket-Owner"))
}

// checkExpectedOwner checks an x-amz-expected-bucket-owner (or, for the
// source of a copy, x-amz-source-expected-bucket-owner) value: when one
// is given, bucket's owner must be the one named, else AccessDenied.
func (s *Server) checkExpectedOwner(ctx context.Context, bucket, expected string) error {
	v := strings.TrimSpace(expected)
	if v == "" || bucket == "" || s.bucketOwner == nil {
		return nil
	}
	owner := s.owner.ID
	u, err := s.bucketOwner(ctx, bucket)
	switch {
	case err != nil && !errors.Is(err, meta.ErrNoSuchBucket):
		return err
	case u != nil:
		owner = u.ID
	}
	if owner != v {
		return ErrAccessDenied
	}
	return nil
}

// mayRead reports whether the request's principal may read a version of
// key in bucket (sources of copies, at X-Tigris-Snapshot-Version when
// the request names one).
func (s *Server) mayRead(r *request, bucket, key, versionID string) error {
	return s.authorize(r.ctx, r.principal, access{op: OpGetObject, kind: accessRead, bucket: bucket, key: key, hasKey: true,
		versionID: versionID, atRef: strings.TrimSpace(r.header.Get(hdrSnapshotVersion)), req: r})
}

// mayWrite reports whether the request's principal may delete a version
// of key in bucket (each key of DeleteObjects).
func (s *Server) mayWrite(r *request, bucket, key, versionID string) error {
	return s.authorize(r.ctx, r.principal, access{op: OpDeleteObject, kind: accessWrite, bucket: bucket, key: key, hasKey: true,
		versionID: versionID, acl: &r.aclCache, req: r})
}
