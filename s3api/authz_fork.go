package s3api

import (
	"context"
	"net/http"
	"strings"

	"github.com/forkstore/forkstore/gateway"
)

// Who may fork a bucket. AWS has no fork; a fork is a new bucket that
// holds everything its source holds at the fork point, so making one is
// reading the whole source, as copying every object would be:
// s3:ListBucket on the source and s3:GetObject on every one of its
// objects (arn:aws:s3:::source/*), as of the snapshot forked when one is
// named. The fork is its maker's (a user's, or the root account's), with
// a policy, CORS rules and ACLs of its own (meta.inheritConfig: a fork of
// another owner's bucket starts with a new bucket's access settings).
//
//   - the root key forks anything;
//   - an explicit Deny in the source's policy of either action (a Deny of
//     s3:GetObject on any part of the source included) refuses the fork
//     to everyone else, its owner included;
//   - a user forks its own buckets, and another's when the source's
//     policy allows it s3:GetObject on every object (a statement whose
//     resources cover every key, without conditions on the object) and
//     s3:ListBucket, the latter allowed by the policy or by the source's
//     bucket ACL granting READ to the user, to AuthenticatedUsers or to
//     AllUsers (minus what IgnorePublicAcls and RestrictPublicBuckets take
//     away). A bucket READ grant alone is not enough: on AWS it lists the
//     bucket, and a fork would read every object, private ones included;
//   - a scoped key forks only as its scope allows (its buckets, with the
//     fork permission and under its fork prefix: scopeAllows); no policy
//     or ACL lets it fork beyond;
//   - an anonymous request never forks.

// forkAllows decides a fork of a.bucket (at a.atRef) into a.target.
func (s *Server) forkAllows(ctx context.Context, p *gateway.Principal, a access) error {
	if p == nil {
		return ErrAccessDenied
	}
	list := a
	list.op, list.kind, list.key, list.hasKey = OpListObjectsV2, accessRead, "", true
	objects := a
	objects.op, objects.kind, objects.key, objects.hasKey, objects.allKeys = OpGetObject, accessRead, "", true, true
	listDec, err := s.policyAllows(ctx, p, list)
	if err != nil {
		return err
	}
	objDec, err := s.policyAllows(ctx, p, objects)
	if err != nil {
		return err
	}
	if listDec == policyDeny || objDec == policyDeny {
		return ErrAccessDenied
	}
	if !userMain(p) {
		return s.scopeAllows(p, a)
	}
	// The user's own bucket (its owner now: the owner may read every
	// snapshot of it).
	now := a
	now.atRef = ""
	b, err := s.policyBucket(ctx, now)
	if err != nil {
		return err
	}
	if b != nil && b.Owner == p.User && !b.AccessUnknown {
		return nil
	}
	if objDec != policyAllow {
		return ErrAccessDenied
	}
	if listDec == policyAllow {
		return nil
	}
	list.userID = p.UserID
	if s.aclAllows(ctx, list, groupAllUsers, groupAuthenticatedUsers) == nil {
		return nil
	}
	return ErrAccessDenied
}

// authorizeAdminFork checks, for an admin API call that forks source
// (at snapshot) into target, the fork as a fork over S3 headers would be
// checked (the call itself was authorized before its body was read).
func (s *Server) authorizeAdminFork(r *request, source, snapshot, target string) error {
	return s.authorize(r.ctx, r.principal, access{op: OpForkBucket, kind: accessFork, bucket: source, target: target,
		atRef: strings.TrimSpace(snapshot), req: r, acl: &r.aclCache})
}

// adminForkOwner is the owner of a fork an admin API call makes: the
// user whose own key calls, else the root account ("").
func adminForkOwner(r *request) string {
	if userMain(r.principal) {
		return r.principal.User
	}
	return ""
}

// userAdminCall reports the admin API calls a user's own key may make
// (besides reading its buckets' lineage and diff): creating scoped keys
// of its buckets, forking (one fork or a batch) what it may read, and
// renewing the leases of its forks. The handlers check the buckets.
func userAdminCall(r *request) bool {
	if r == nil || r.method != http.MethodPost {
		return false
	}
	seg := strings.Split(strings.Trim(r.route.AdminPath, "/"), "/")
	switch {
	case len(seg) == 1 && seg[0] == "keys":
		return true
	case len(seg) == 3 && seg[0] == "buckets" && seg[1] != "" && (seg[2] == "forks" || seg[2] == "renew"):
		return true
	case len(seg) == 4 && seg[0] == "buckets" && seg[1] != "" && seg[2] == "forks" && seg[3] == "batch":
		return true
	}
	return false
}

// checkUserOwns refuses, for a user's own key, a bucket the user does not
// own (AccessDenied, whether or not it exists).
func (s *Server) checkUserOwns(r *request, bucket string) error {
	if !userMain(r.principal) {
		return nil
	}
	if s.bucketOwner == nil {
		return ErrAccessDenied
	}
	u, err := s.bucketOwner(r.ctx, bucket)
	if err != nil || u == nil || u.Name != r.principal.User {
		return ErrAccessDenied
	}
	return nil
}
