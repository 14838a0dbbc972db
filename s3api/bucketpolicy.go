package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// Bucket policies (Put/Get/DeleteBucketPolicy, GetBucketPolicyStatus), the
// public access block (Put/Get/DeletePublicAccessBlock) and bucket tags
// (Put/Get/DeleteBucketTagging). All three are kept by meta with the
// bucket's access settings, so reads at a snapshot see them as they were.

// Operations of bucket configuration.
const (
	OpGetBucketPolicy         Operation = "GetBucketPolicy"
	OpPutBucketPolicy         Operation = "PutBucketPolicy"
	OpDeleteBucketPolicy      Operation = "DeleteBucketPolicy"
	OpGetBucketPolicyStatus   Operation = "GetBucketPolicyStatus"
	OpGetPublicAccessBlock    Operation = "GetPublicAccessBlock"
	OpPutPublicAccessBlock    Operation = "PutPublicAccessBlock"
	OpDeletePublicAccessBlock Operation = "DeletePublicAccessBlock"
	OpGetBucketTagging        Operation = "GetBucketTagging"
	OpPutBucketTagging        Operation = "PutBucketTagging"
	OpDeleteBucketTagging     Operation = "DeleteBucketTagging"
)

// bucketConfigSubs are the sub-resources of these operations, with their
// GET, PUT and DELETE operations ("" where there is none).
var bucketConfigSubs = map[string][3]Operation{
	"policy":            {OpGetBucketPolicy, OpPutBucketPolicy, OpDeleteBucketPolicy},
	"policyStatus":      {OpGetBucketPolicyStatus, "", ""},
	"publicAccessBlock": {OpGetPublicAccessBlock, OpPutPublicAccessBlock, OpDeletePublicAccessBlock},
	"tagging":           {OpGetBucketTagging, OpPutBucketTagging, OpDeleteBucketTagging},
}

// bucketConfigOp routes a bucket request naming one of bucketConfigSubs;
// ok is false for other requests.
func bucketConfigOp(method string, query url.Values) (Operation, string, bool) {
	var sub string
	for k := range bucketConfigSubs {
		if query.Has(k) && (sub == "" || k < sub) {
			sub = k
		}
	}
	if sub == "" {
		return "", "", false
	}
	if firstUnknown(query, sub) != "" && (method != http.MethodGet || otherSubresource(query, sub) != "") {
		// Another sub-resource with it, or an unknown parameter on a
		// write: not an operation. A read ignores parameters that select
		// nothing (clients add some, like minio-go's withUpdatedAt).
		return OpNotImplemented, sub, true
	}
	ops := bucketConfigSubs[sub]
	var op Operation
	switch method {
	case http.MethodGet:
		op = ops[0]
	case http.MethodPut:
		op = ops[1]
	case http.MethodDelete:
		op = ops[2]
	}
	if op == "" {
		return OpNotImplemented, sub, true
	}
	return op, "", true
}

// S3 errors of bucket policies and public access blocks.
var (
	errNoSuchBucketPolicy = &APIError{"NoSuchBucketPolicy", "The bucket policy does not exist", http.StatusNotFound}
	errNoSuchPAB          = &APIError{"NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found", http.StatusNotFound}
	errNoSuchTagSet       = &APIError{"NoSuchTagSet", "The TagSet does not exist", http.StatusNotFound}
)

// bucketNow reads a bucket with its configuration now.
func (s *Server) bucketNow(r *request) (*meta.Bucket, error) {
	b, _, err := s.svc.ObjectAccess(r.ctx, gateway.GetObjectInput{Bucket: r.route.Bucket})
	return b, err
}

// getBucketPolicy is GetBucketPolicy: the document as it was put.
func (s *Server) getBucketPolicy(r *request) (*response, error) {
	b, err := s.bucketNow(r)
	if err != nil {
		return nil, err
	}
	if b.Policy == "" {
		return nil, errNoSuchBucketPolicy
	}
	r.set("Content-Type", "application/json")
	return &response{body: strings.NewReader(b.Policy), size: int64(len(b.Policy))}, nil
}

// putBucketPolicy is PutBucketPolicy: the document is checked
// (MalformedPolicy) and stored; a public one is refused while the public
// access block has BlockPublicPolicy (AccessDenied).
func (s *Server) putBucketPolicy(r *request) (*response, error) {
	data, err := r.readPolicyBody()
	if err != nil {
		return nil, err
	}
	if _, err := s.bucketNow(r); err != nil {
		// NoSuchBucket before anything about the document.
		return nil, err
	}
	p, err := parsePolicy(data, r.route.Bucket)
	if err != nil {
		return nil, err
	}
	if err := s.svc.SetBucketConfig(r.ctx, r.route.Bucket, gateway.BucketConfigInput{SetPolicy: true,
		Policy: strings.TrimSpace(string(data)), PolicyPublic: p.isPublic()}); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent, noBody: true}, nil
}

// readPolicyBody reads a policy document (JSON, at most maxPolicySize;
// a larger one is MalformedPolicy).
func (r *request) readPolicyBody() ([]byte, error) {
	data, err := r.readSmallBody()
	if errors.Is(err, errMaxMessageLength) {
		return nil, errMalformedPolicy("Policies must be no larger than 20 KB")
	}
	return data, err
}

// deleteBucketPolicy is DeleteBucketPolicy (204 whether or not there was
// one).
func (s *Server) deleteBucketPolicy(r *request) (*response, error) {
	if err := s.svc.SetBucketConfig(r.ctx, r.route.Bucket, gateway.BucketConfigInput{SetPolicy: true}); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent, noBody: true}, nil
}

// PolicyStatus is the GetBucketPolicyStatus response.
type PolicyStatus struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ PolicyStatus"`
	IsPublic bool     `xml:"IsPublic"`
}

// getBucketPolicyStatus is GetBucketPolicyStatus: whether the policy is
// public (NoSuchBucketPolicy without one, as on AWS).
func (s *Server) getBucketPolicyStatus(r *request) (*response, error) {
	b, err := s.bucketNow(r)
	if err != nil {
		return nil, err
	}
	if b.Policy == "" {
		return nil, errNoSuchBucketPolicy
	}
	p, err := s.policies.get(b)
	if err != nil {
		return nil, err
	}
	return &response{xml: PolicyStatus{IsPublic: p.isPublic()}}, nil
}

// PublicAccessBlockConfiguration is the Get/PutPublicAccessBlock document.
type PublicAccessBlockConfiguration struct {
	XMLName               xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ PublicAccessBlockConfiguration"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets"`
}

// pabRequest decodes PublicAccessBlockConfiguration in any namespace.
type pabRequest struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets"`
}

func (s *Server) getPublicAccessBlock(r *request) (*response, error) {
	b, err := s.bucketNow(r)
	if err != nil {
		return nil, err
	}
	p := b.PublicAccessBlock
	if !p.Has(meta.PABConfigured) {
		return nil, errNoSuchPAB
	}
	return &response{xml: PublicAccessBlockConfiguration{
		BlockPublicAcls: p.Has(meta.PABBlockPublicAcls), IgnorePublicAcls: p.Has(meta.PABIgnorePublicAcls),
		BlockPublicPolicy: p.Has(meta.PABBlockPublicPolicy), RestrictPublicBuckets: p.Has(meta.PABRestrictPublicBuckets),
	}}, nil
}

func (s *Server) putPublicAccessBlock(r *request) (*response, error) {
	data, err := r.readSmallBody()
	if err != nil {
		return nil, err
	}
	var cfg pabRequest
	if err := unmarshalXML(data, &cfg); err != nil {
		return nil, err
	}
	p := meta.PABConfigured
	for _, f := range []struct {
		on  bool
		bit meta.PublicAccessBlock
	}{{cfg.BlockPublicAcls, meta.PABBlockPublicAcls}, {cfg.IgnorePublicAcls, meta.PABIgnorePublicAcls},
		{cfg.BlockPublicPolicy, meta.PABBlockPublicPolicy}, {cfg.RestrictPublicBuckets, meta.PABRestrictPublicBuckets}} {
		if f.on {
			p |= f.bit
		}
	}
	if err := s.svc.SetBucketConfig(r.ctx, r.route.Bucket, gateway.BucketConfigInput{SetPAB: true, PAB: p}); err != nil {
		return nil, err
	}
	return &response{}, nil
}

func (s *Server) deletePublicAccessBlock(r *request) (*response, error) {
	if err := s.svc.SetBucketConfig(r.ctx, r.route.Bucket, gateway.BucketConfigInput{SetPAB: true}); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent, noBody: true}, nil
}

// publicACL reports the stored canned ACLs that AWS counts as public:
// grants to AllUsers or AuthenticatedUsers.
func publicACL(acl string) bool {
	for _, g := range storedGrants(acl) {
		if g.kind == "uri" && (g.value == groupAllUsers || g.value == groupAuthenticatedUsers) {
			return true
		}
	}
	return false
}

// blockPublicACL refuses a public ACL on a bucket whose public access
// block has BlockPublicAcls (AccessDenied, as on AWS).
func (s *Server) blockPublicACL(r *request, acl string) error {
	if !publicACL(acl) {
		return nil
	}
	b, err := s.bucketNow(r)
	if err != nil {
		return err
	}
	if b.PublicAccessBlock.Has(meta.PABBlockPublicAcls) {
		return ErrAccessDenied
	}
	return nil
}

// policyCache keeps parsed policies by bucket name and document, so a
// policy is parsed once, not on every request it decides.
type policyCache struct {
	mu sync.Mutex
	m  map[string]*Policy
}

// maxCachedPolicies bounds the cache; past it, it starts over.
const maxCachedPolicies = 1024

// get returns b's parsed policy (nil without one). A stored policy that no
// longer parses (it never should) is an error, not an empty policy.
func (c *policyCache) get(b *meta.Bucket) (*Policy, error) {
	if b.Policy == "" {
		return nil, nil
	}
	k := b.Name + "\x00" + b.Policy
	c.mu.Lock()
	p, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := parsePolicy([]byte(b.Policy), b.Name)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedPolicies {
		c.m = map[string]*Policy{}
	}
	c.m[k] = p
	c.mu.Unlock()
	return p, nil
}

// maxBucketTags is S3's limit on a bucket's tags.
const maxBucketTags = 50

// getBucketTagging is GetBucketTagging (NoSuchTagSet without tags).
func (s *Server) getBucketTagging(r *request) (*response, error) {
	b, err := s.bucketNow(r)
	if err != nil {
		return nil, err
	}
	if len(b.Tags) == 0 {
		return nil, errNoSuchTagSet
	}
	res := Tagging{TagSet: []Tag{}}
	for _, k := range sortedKeys(b.Tags) {
		res.TagSet = append(res.TagSet, Tag{Key: k, Value: b.Tags[k]})
	}
	return &response{xml: res}, nil
}

// putBucketTagging is PutBucketTagging: it replaces the bucket's tags (at
// most 50, unique keys, none starting with "aws:").
func (s *Server) putBucketTagging(r *request) (*response, error) {
	data, err := r.readSmallBody()
	if err != nil {
		return nil, err
	}
	var doc taggingRequest
	if err := unmarshalXML(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Tags) > maxBucketTags {
		return nil, errInvalidTag.WithMessage("Bucket tag count cannot be greater than 50")
	}
	tags := make(map[string]string, len(doc.Tags))
	for _, t := range doc.Tags {
		if _, dup := tags[t.Key]; dup {
			return nil, errInvalidTag.WithMessage("Cannot provide multiple Tags with the same key")
		}
		if t.Key == "" || len(t.Key) > maxTagKeyLen || !utf8.ValidString(t.Key) || strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return nil, errInvalidTag.WithMessage("The TagKey you have provided is invalid")
		}
		if len(t.Value) > maxTagValueLen || !utf8.ValidString(t.Value) {
			return nil, errInvalidTag.WithMessage("The TagValue you have provided is invalid")
		}
		tags[t.Key] = t.Value
	}
	if len(tags) == 0 {
		tags = nil
	}
	if err := s.svc.SetBucketConfig(r.ctx, r.route.Bucket, gateway.BucketConfigInput{SetTags: true, Tags: tags}); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent, noBody: true}, nil
}

// deleteBucketTagging is DeleteBucketTagging.
func (s *Server) deleteBucketTagging(r *request) (*response, error) {
	if err := s.svc.SetBucketConfig(r.ctx, r.route.Bucket, gateway.BucketConfigInput{SetTags: true}); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent, noBody: true}, nil
}
