package s3api

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// The bucket policy's part of authorize. The root key is the operator's
// and no policy binds it (as the owner account's root user on AWS can
// always manage its bucket's policy). For everyone else (scoped keys,
// anonymous requests) the policy is read with the bucket, as of the
// version a read is at, and an explicit Deny in it refuses whatever a
// scope or an ACL grants.

// policyActions maps operations to the S3 action a policy names. An
// operation not listed (snapshots, forks, the admin API) is outside
// bucket policies.
var policyActions = map[Operation]string{
	OpGetObject: "s3:GetObject", OpHeadObject: "s3:GetObject", OpGetObjectAttributes: "s3:GetObjectAttributes",
	OpPutObject: "s3:PutObject", OpCopyObject: "s3:PutObject", OpCreateMultipartUpload: "s3:PutObject",
	OpUploadPart: "s3:PutObject", OpUploadPartCopy: "s3:PutObject", OpCompleteMultipartUpload: "s3:PutObject",
	OpDeleteObject: "s3:DeleteObject", OpDeleteObjects: "s3:DeleteObject",
	OpAbortMultipartUpload: "s3:AbortMultipartUpload", OpListParts: "s3:ListMultipartUploadParts",
	OpGetObjectAcl: "s3:GetObjectAcl", OpPutObjectAcl: "s3:PutObjectAcl",
	OpGetObjectTagging: "s3:GetObjectTagging", OpPutObjectTagging: "s3:PutObjectTagging", OpDeleteObjectTagging: "s3:DeleteObjectTagging",

	OpHeadBucket: "s3:ListBucket", OpListObjects: "s3:ListBucket", OpListObjectsV2: "s3:ListBucket",
	OpListObjectVersions: "s3:ListBucketVersions", OpListMultipartUploads: "s3:ListBucketMultipartUploads",
	OpGetBucketLocation: "s3:GetBucketLocation", OpGetBucketVersioning: "s3:GetBucketVersioning",
	OpPutBucketVersioning: "s3:PutBucketVersioning", OpGetBucketAcl: "s3:GetBucketAcl", OpPutBucketAcl: "s3:PutBucketAcl",
	OpGetBucketOwnershipControls: "s3:GetBucketOwnershipControls", OpPutBucketOwnershipControls: "s3:PutBucketOwnershipControls",
	OpDeleteBucketOwnershipControls: "s3:PutBucketOwnershipControls",
	OpGetBucketRequestPayment:       "s3:GetBucketRequestPayment", OpPutBucketRequestPayment: "s3:PutBucketRequestPayment",
	OpDeleteBucket:    "s3:DeleteBucket",
	OpGetBucketPolicy: "s3:GetBucketPolicy", OpPutBucketPolicy: "s3:PutBucketPolicy", OpDeleteBucketPolicy: "s3:DeleteBucketPolicy",
	OpGetBucketPolicyStatus: "s3:GetBucketPolicyStatus",
	OpGetPublicAccessBlock:  "s3:GetBucketPublicAccessBlock", OpPutPublicAccessBlock: "s3:PutBucketPublicAccessBlock",
	OpDeletePublicAccessBlock: "s3:PutBucketPublicAccessBlock",
	OpGetBucketTagging:        "s3:GetBucketTagging", OpPutBucketTagging: "s3:PutBucketTagging", OpDeleteBucketTagging: "s3:PutBucketTagging",
}

// versionActions are the actions of operations that name a version
// (?versionId=).
var versionActions = map[string]string{
	"s3:GetObject": "s3:GetObjectVersion", "s3:DeleteObject": "s3:DeleteObjectVersion",
	"s3:GetObjectAcl": "s3:GetObjectVersionAcl", "s3:PutObjectAcl": "s3:PutObjectVersionAcl",
	"s3:GetObjectTagging": "s3:GetObjectVersionTagging", "s3:PutObjectTagging": "s3:PutObjectVersionTagging",
	"s3:DeleteObjectTagging": "s3:DeleteObjectVersionTagging", "s3:GetObjectAttributes": "s3:GetObjectVersionAttributes",
}

// identities names a principal as policies may: a scoped key by its
// access key id and as a user of the account
// (arn:aws:iam::<owner canonical id>:user/<access key id>); anonymous
// requests by nothing (only "*" matches them).
func (s *Server) identities(p *gateway.Principal) []string {
	if p == nil {
		return nil
	}
	if userMain(p) {
		// A user is an account of its own.
		return []string{"arn:aws:iam::" + p.UserID + ":user/" + p.User, "arn:aws:iam::" + p.UserID + ":root", p.UserID, p.User}
	}
	account := s.owner.ID
	if p.User != "" {
		account = p.UserID
	}
	return []string{"arn:aws:iam::" + account + ":user/" + p.AccessKey, p.AccessKey}
}

// policyBucket reads the bucket whose policy decides a, as of the version
// a read is at; nil when there is none to read (no such bucket, a
// version that cannot be read: the request fails elsewhere).
func (s *Server) policyBucket(ctx context.Context, a access) (*meta.Bucket, error) {
	var at uint64
	if a.atRef != "" {
		var err error
		if at, err = s.svc.ResolveSnapshot(ctx, a.bucket, a.atRef); err != nil {
			if notReadableAt(err) || errors.Is(err, meta.ErrNoSuchBucket) {
				return nil, nil
			}
			return nil, err
		}
	}
	if at == 0 && a.acl != nil && a.acl.b != nil && a.acl.b.Name == a.bucket {
		return a.acl.b, nil
	}
	b, _, err := s.bucketAccess(ctx, gateway.GetObjectInput{Bucket: a.bucket, At: at, Encryption: at == 0 && readsEncryption(a.op)})
	if err != nil {
		if errors.Is(err, meta.ErrNoSuchBucket) || notReadableAt(err) {
			return nil, nil
		}
		return nil, err
	}
	if at == 0 && a.acl != nil {
		a.acl.b = b
	}
	return b, nil
}

// policyAllows evaluates the bucket policy for p (nil: anonymous) doing a.
func (s *Server) policyAllows(ctx context.Context, p *gateway.Principal, a access) (policyDecision, error) {
	action := policyActions[a.op]
	if a.bucket == "" || action == "" {
		return policyNone, nil
	}
	b, err := s.policyBucket(ctx, a)
	if err != nil || b == nil || b.Policy == "" || b.AccessUnknown {
		return policyNone, err
	}
	pol, err := s.policies.get(b)
	if err != nil || pol == nil {
		return policyNone, err
	}
	if a.versionID != "" && versionActions[action] != "" {
		action = versionActions[action]
	}
	resource := "arn:aws:s3:::" + a.bucket
	objectOp := a.hasKey && !listingOps[a.op]
	if objectOp || a.allKeys {
		resource += "/" + a.key
	}
	req := &policyRequest{identities: s.identities(p), action: action, resource: resource, allKeys: a.allKeys}
	req.context = s.conditionContext(ctx, p, a, req)
	// RestrictPublicBuckets: the public statements of a public policy
	// grant nobody but the owner (the root key, which no policy binds).
	restrict := b.PublicAccessBlock.Has(meta.PABRestrictPublicBuckets)
	if a.op == OpDeleteObjects && !a.hasKey {
		// The request as a whole: its keys are decided one by one
		// (mayWrite). Let it through when some statement could allow
		// deleting objects of the bucket; denies apply per key.
		for _, st := range pol.Statements {
			if st.Allow && !(restrict && st.public()) && st.Principals.matches(req.identities) != st.NotPrincipal &&
				anyMatch(st.Actions, action, true) != st.NotAction {
				return policyAllow, nil
			}
		}
		return policyNone, nil
	}
	return pol.evaluate(req, restrict), nil
}

// conditionContext returns the condition keys of a request.
func (s *Server) conditionContext(ctx context.Context, p *gateway.Principal, a access, pr *policyRequest) func(string) ([]string, bool) {
	r := a.req
	one := func(v string) ([]string, bool) { return []string{v}, true }
	return func(key string) ([]string, bool) {
		switch key {
		case "aws:currenttime":
			return one(time.Now().UTC().Format(time.RFC3339))
		case "aws:epochtime":
			return one(strconv.FormatInt(time.Now().Unix(), 10))
		case "aws:principaltype":
			if p == nil {
				return one("Anonymous")
			}
			return one("User")
		case "aws:username", "aws:userid":
			// A user (its own key): its name and its canonical id, as
			// AWS gives an IAM user's name and unique id. A scoped key
			// is the user named by its access key id
			// (arn:...:user/<access key id>) for both.
			switch {
			case p == nil:
				return nil, false
			case userMain(p) && key == "aws:username":
				return one(p.User)
			case userMain(p):
				return one(p.UserID)
			}
			return one(p.AccessKey)
		case "aws:principalarn":
			if len(pr.identities) == 0 {
				return nil, false
			}
			return one(pr.identities[0])
		case "aws:principalaccount":
			if p == nil {
				return nil, false
			}
			return one(s.owner.ID)
		}
		if r == nil {
			return nil, false
		}
		switch key {
		case "aws:securetransport":
			return one(strconv.FormatBool(r.secure))
		case "aws:sourceip":
			if r.remoteIP == "" {
				return nil, false
			}
			return one(r.remoteIP)
		case "aws:referer":
			return reqHeader(r, "Referer")
		case "aws:useragent":
			return reqHeader(r, "User-Agent")
		case "s3:versionid":
			if a.versionID == "" {
				return nil, false
			}
			return one(a.versionID)
		case "s3:prefix", "s3:delimiter", "s3:max-keys":
			if !listingOps[a.op] || !r.query.Has(strings.TrimPrefix(key, "s3:")) {
				return nil, false
			}
			return one(r.query.Get(strings.TrimPrefix(key, "s3:")))
		case "s3:requestobjecttagkeys":
			tags := requestTags(r)
			if len(tags) == 0 {
				return nil, false
			}
			var keys []string
			for k := range tags {
				keys = append(keys, k)
			}
			return keys, true
		}
		if h, ok := strings.CutPrefix(key, "s3:x-amz-"); ok {
			return reqHeader(r, "X-Amz-"+h)
		}
		if k, ok := strings.CutPrefix(key, "s3:requestobjecttag/"); ok {
			vs, has := requestTags(r)[k]
			if !has {
				return nil, false
			}
			return vs, true
		}
		if k, ok := strings.CutPrefix(key, "s3:existingobjecttag/"); ok && a.hasKey && !listingOps[a.op] {
			return s.existingTag(ctx, a, k)
		}
		return nil, false
	}
}

func reqHeader(r *request, name string) ([]string, bool) {
	vs := r.header.Values(name)
	if len(vs) == 0 {
		return nil, false
	}
	return vs, true
}

// requestTags are the tags a write asks for (x-amz-tagging).
func requestTags(r *request) url.Values {
	v := r.header.Get("X-Amz-Tagging")
	if v == "" {
		return nil
	}
	q, err := url.ParseQuery(v)
	if err != nil {
		return nil
	}
	return q
}

// existingTag reads a tag of the object a addresses (as of the version
// read): s3:ExistingObjectTag/<key>.
func (s *Server) existingTag(ctx context.Context, a access, key string) ([]string, bool) {
	var at uint64
	if a.atRef != "" {
		var err error
		if at, err = s.svc.ResolveSnapshot(ctx, a.bucket, a.atRef); err != nil {
			return nil, false
		}
	}
	_, o, err := s.svc.ObjectAccess(ctx, gateway.GetObjectInput{Bucket: a.bucket, Key: a.key, VersionID: a.versionID, At: at})
	if err != nil || o == nil || o.DeleteMarker {
		return nil, false
	}
	v, ok := o.Tags[key]
	if !ok {
		return nil, false
	}
	return []string{v}, true
}
