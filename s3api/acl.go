package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strings"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// S3 Object Ownership and ACLs.
//
// A bucket's ownership setting (PutBucketOwnershipControls) says whether
// ACLs are in force: BucketOwnerEnforced (the default of new buckets, as on
// AWS) disables them, ObjectWriter and BucketOwnerPreferred (or no
// controls at all, after DeleteBucketOwnershipControls) enable them.
//
// Buckets and objects store a canned ACL: "" (private), public-read,
// public-read-write, authenticated-read or log-delivery-write, or a grant
// list naming users (aclgrants.go). An object belongs to its bucket's
// owner (the root account or a user), so bucket-owner-read and
// bucket-owner-full-control amount to private, and a grant list
// (x-amz-grant-* headers or an AccessControlPolicy body) without users
// is accepted when it equals one of these. aws-exec-read (a grant to
// Amazon EC2) and other grant lists answer NotImplemented.

// ACL grantee groups (AWS's URIs) and permissions.
const (
	groupAllUsers           = "http://acs.amazonaws.com/groups/global/AllUsers"
	groupAuthenticatedUsers = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	groupLogDelivery        = "http://acs.amazonaws.com/groups/s3/LogDelivery"

	permRead        = "READ"
	permWrite       = "WRITE"
	permReadACP     = "READ_ACP"
	permWriteACP    = "WRITE_ACP"
	permFullControl = "FULL_CONTROL"
)

// groupGrant is one permission an ACL gives a group.
type groupGrant struct{ group, perm string }

// cannedGroupGrants is what each stored canned ACL grants beyond the
// owner's FULL_CONTROL.
var cannedGroupGrants = map[string][]groupGrant{
	"":                   nil,
	"public-read":        {{groupAllUsers, permRead}},
	"public-read-write":  {{groupAllUsers, permRead}, {groupAllUsers, permWrite}},
	"authenticated-read": {{groupAuthenticatedUsers, permRead}},
	"log-delivery-write": {{groupLogDelivery, permWrite}, {groupLogDelivery, permReadACP}},
}

// aclGrants reports whether a stored canned ACL gives group perm
// (FULL_CONTROL gives every permission).
func aclGrants(acl, group, perm string) bool {
	return grantsTo(acl, "uri", group, perm)
}

// S3 errors of ACLs and ownership controls.
var (
	errACLNotSupported     = &APIError{"AccessControlListNotSupported", "The bucket does not allow ACLs", http.StatusBadRequest}
	errInvalidBucketACL    = &APIError{"InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting", http.StatusBadRequest}
	errNoOwnershipControls = &APIError{"OwnershipControlsNotFoundError", "The bucket ownership controls were not found", http.StatusNotFound}
	errMalformedACL        = &APIError{"MalformedACLError", "The XML you provided was not well-formed or did not validate against our published schema", http.StatusBadRequest}
	errUnresolvableEmail   = &APIError{"UnresolvableGrantByEmailAddress", "The e-mail address you provided does not match any account on record.", http.StatusBadRequest}
	errCannedAndGrants     = &APIError{"InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed", http.StatusBadRequest}
	errACLHeaderAndBody    = &APIError{"UnexpectedContent", "This request does not support content", http.StatusBadRequest}
	errMissingACL          = &APIError{"MissingSecurityHeader", "Your request was missing a required header", http.StatusBadRequest}
	errACLNotImplemented   = ErrNotImplemented.WithMessage("Only ACLs equal to a canned ACL (private, public-read, public-read-write, authenticated-read, log-delivery-write, bucket-owner-read, bucket-owner-full-control) are implemented.")
)

// requestedACL is an ACL a request asks for, reduced to what is stored.
type requestedACL struct {
	given bool   // the request names an ACL
	acl   string // the canned ACL to store ("" private)
	// ownerOnly says the ACL gives the bucket owner FULL_CONTROL and
	// nobody anything: the only ACLs a bucket with ACLs disabled accepts.
	ownerOnly bool
}

// cannedACL reduces an x-amz-acl value.
func cannedACL(v string) (requestedACL, error) {
	switch v {
	case "private", "bucket-owner-full-control":
		return requestedACL{given: true, ownerOnly: true}, nil
	case "bucket-owner-read":
		// The object's owner is the bucket's owner: it keeps FULL_CONTROL.
		return requestedACL{given: true}, nil
	case "public-read", "public-read-write", "authenticated-read", "log-delivery-write":
		return requestedACL{given: true, acl: v}, nil
	case "aws-exec-read":
		return requestedACL{}, ErrNotImplemented.WithMessage("The aws-exec-read canned ACL (a grant to Amazon EC2) is not implemented.")
	}
	return requestedACL{}, invalidArg("Invalid canned ACL", "x-amz-acl", v)
}

// grant is one entry of a grant list, as sent.
type grant struct {
	kind  string // "id", "uri" or "emailAddress"
	value string
	perm  string
}

// aclOfGrants reduces a grant list to a stored ACL: the owner may have
// FULL_CONTROL, groups what a canned ACL gives them.
func (s *Server) aclOfGrants(grants []grant) (requestedACL, error) {
	return s.aclOfGrantsFor(grants, s.owner, nil)
}

// aclOfGrantsFor is aclOfGrants for a bucket of owner; isUser says
// whether a canonical id is a user's: a list that grants users is stored
// as it is (aclgrants.go).
func (s *Server) aclOfGrantsFor(grants []grant, owner Owner, isUser func(id string) bool) (requestedACL, error) {
	out := requestedACL{given: true}
	ownerFull := false
	groups := map[groupGrant]bool{}
	users := false
	for _, g := range grants {
		if g.kind == "id" && g.value != owner.ID && isUser != nil && isUser(g.value) {
			users = true
		}
	}
	if users {
		return s.userGrants(grants, owner, isUser)
	}
	for _, g := range grants {
		switch g.kind {
		case "id":
			if g.value != owner.ID {
				return out, invalidArg("Invalid id", "CanonicalUser/ID", g.value)
			}
			if g.perm != permFullControl {
				return out, errACLNotImplemented
			}
			ownerFull = true
		case "uri":
			switch g.value {
			case groupAllUsers, groupAuthenticatedUsers, groupLogDelivery:
			default:
				return out, invalidArg("Invalid group uri", "Group/URI", g.value)
			}
			groups[groupGrant{g.value, g.perm}] = true
		case "emailAddress":
			return out, errUnresolvableEmail
		default:
			return out, errMalformedACL
		}
	}
	out.ownerOnly = ownerFull && len(groups) == 0
	if !ownerFull {
		return out, errACLNotImplemented
	}
	for name, gs := range cannedGroupGrants {
		if len(gs) != len(groups) {
			continue
		}
		match := true
		for _, g := range gs {
			match = match && groups[g]
		}
		if match {
			out.acl = name
			return out, nil
		}
	}
	return out, errACLNotImplemented
}

// userGrants checks a grant list that names users and stores it as it
// is: every id must be the owner's or a user's, every group a known one.
func (s *Server) userGrants(grants []grant, owner Owner, isUser func(id string) bool) (requestedACL, error) {
	out := requestedACL{given: true}
	for _, g := range grants {
		switch g.kind {
		case "id":
			if g.value != owner.ID && !isUser(g.value) {
				return out, invalidArg("Invalid id", "CanonicalUser/ID", g.value)
			}
		case "uri":
			switch g.value {
			case groupAllUsers, groupAuthenticatedUsers, groupLogDelivery:
			default:
				return out, invalidArg("Invalid group uri", "Group/URI", g.value)
			}
		case "emailAddress":
			return out, errUnresolvableEmail
		default:
			return out, errMalformedACL
		}
	}
	out.acl = encodeGrants(grants)
	return out, nil
}

// isUserFunc returns a lookup of users' canonical ids (read once, when
// first asked).
func (s *Server) isUserFunc(r *request) func(id string) bool {
	var ids map[string]bool
	return func(id string) bool {
		if ids == nil {
			ids = map[string]bool{}
			if us, err := s.svc.Users(r.ctx); err == nil {
				for _, u := range us {
					ids[u.ID] = true
				}
			}
		}
		return ids[id]
	}
}

// resolveEmails turns each grant by e-mail address into a grant to the
// canonical id of the user with that address (its case aside); one that
// is no user's stays, to be refused (UnresolvableGrantByEmailAddress).
func (s *Server) resolveEmails(r *request, grants []grant) ([]grant, error) {
	var us []meta.User
	read := false
	out := make([]grant, 0, len(grants))
	for _, g := range grants {
		if g.kind == "emailAddress" {
			if !read {
				read = true
				var err error
				if us, err = s.svc.Users(r.ctx); err != nil {
					return nil, err
				}
			}
			for _, u := range us {
				if u.Email != "" && strings.EqualFold(u.Email, g.value) {
					g = grant{kind: "id", value: u.ID, perm: g.perm}
					break
				}
			}
		}
		out = append(out, g)
	}
	return out, nil
}

// grantHeaders maps the x-amz-grant-* headers to their permission.
var grantHeaders = []struct{ header, perm string }{
	{"X-Amz-Grant-Read", permRead},
	{"X-Amz-Grant-Write", permWrite},
	{"X-Amz-Grant-Read-Acp", permReadACP},
	{"X-Amz-Grant-Write-Acp", permWriteACP},
	{"X-Amz-Grant-Full-Control", permFullControl},
}

// parseGrantHeader reads one x-amz-grant-* value: comma-separated
// grantees of the form id="...", uri="..." or emailAddress="...".
func parseGrantHeader(header, value, perm string) ([]grant, error) {
	var out []grant
	for part := range strings.SplitSeq(value, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		v = strings.Trim(strings.TrimSpace(v), `"`)
		if !ok || v == "" {
			return nil, invalidArg("Invalid grant header value", strings.ToLower(header), value)
		}
		switch strings.ToLower(k) {
		case "id":
			k = "id"
		case "uri":
			k = "uri"
		case "emailaddress":
			k = "emailAddress"
		default:
			return nil, invalidArg("Invalid grant header value", strings.ToLower(header), value)
		}
		out = append(out, grant{kind: k, value: v, perm: perm})
	}
	return out, nil
}

// requestACL reads the ACL a request asks for: x-amz-acl, or the
// x-amz-grant-* headers (not both).
func (s *Server) requestACL(r *request) (requestedACL, error) {
	canned, hasCanned := r.header.Get("X-Amz-Acl"), has(r.header, "X-Amz-Acl")
	var grants []grant
	hasGrants := false
	for _, gh := range grantHeaders {
		if !has(r.header, gh.header) {
			continue
		}
		hasGrants = true
		g, err := parseGrantHeader(gh.header, strings.Join(r.header.Values(gh.header), ","), gh.perm)
		if err != nil {
			return requestedACL{}, err
		}
		grants = append(grants, g...)
	}
	switch {
	case hasCanned && hasGrants:
		return requestedACL{}, errCannedAndGrants
	case hasCanned:
		return cannedACL(strings.TrimSpace(canned))
	case hasGrants:
		grants, err := s.resolveEmails(r, grants)
		if err != nil {
			return requestedACL{}, err
		}
		return s.aclOfGrantsFor(grants, r.owner(), s.isUserFunc(r))
	}
	return requestedACL{}, nil
}

// objectACL reads the ACL of a write that creates an object (PutObject,
// CopyObject, CreateMultipartUpload), checked before the body is read.
func (s *Server) objectACL(r *request) (string, error) {
	req, err := s.requestACL(r)
	return s.settleACL(r, req, err)
}

// settleACL returns the ACL to store for the bucket addressed. A bucket
// with ACLs disabled refuses anything but an owner-only ACL
// (AccessControlListNotSupported, also for grant lists forkstore cannot
// store); apply checks again, whatever changes meanwhile.
func (s *Server) settleACL(r *request, req requestedACL, err error) (string, error) {
	if err != nil && err != errACLNotImplemented {
		return "", err
	}
	if err == nil && (!req.given || req.ownerOnly) {
		return req.acl, nil
	}
	if e := s.checkACLsEnabled(r, r.route.Bucket); e != nil {
		return "", e
	}
	if err == nil {
		// BlockPublicAcls of the bucket's public access block.
		if e := s.blockPublicACL(r, req.acl); e != nil {
			return "", e
		}
	}
	return req.acl, err
}

// checkACLsEnabled answers AccessControlListNotSupported for a bucket whose
// ownership setting disables ACLs.
func (s *Server) checkACLsEnabled(r *request, bucket string) error {
	b, err := s.svc.HeadBucket(r.ctx, bucket)
	if err != nil {
		return err
	}
	if !b.Ownership.ACLsEnabled() {
		return errACLNotSupported
	}
	return nil
}

// accessControlPolicyRequest decodes an AccessControlPolicy body (in any
// namespace; the grantee type may come as xsi:type or be implied by the
// element present).
type accessControlPolicyRequest struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Owner   *struct {
		ID string `xml:"ID"`
	} `xml:"Owner"`
	Grants []struct {
		Grantee *struct {
			Attrs        []xml.Attr `xml:",any,attr"`
			ID           string     `xml:"ID"`
			URI          string     `xml:"URI"`
			EmailAddress string     `xml:"EmailAddress"`
		} `xml:"Grantee"`
		Permission string `xml:"Permission"`
	} `xml:"AccessControlList>Grant"`
}

// decodeACLBody reads a PutBucketAcl/PutObjectAcl body into grants.
func decodeACLBody(data []byte) ([]grant, error) {
	var doc accessControlPolicyRequest
	if err := unmarshalXML(data, &doc); err != nil {
		return nil, errMalformedACL
	}
	var out []grant
	for _, g := range doc.Grants {
		if g.Grantee == nil {
			return nil, errMalformedACL
		}
		switch p := strings.TrimSpace(g.Permission); p {
		case permRead, permWrite, permReadACP, permWriteACP, permFullControl:
		default:
			return nil, errMalformedACL
		}
		typ := ""
		for _, a := range g.Grantee.Attrs {
			if a.Name.Local == "type" {
				typ = a.Value
			}
		}
		ge := g.Grantee
		var gr grant
		switch {
		case typ == "CanonicalUser" || (typ == "" && ge.ID != ""):
			gr = grant{kind: "id", value: strings.TrimSpace(ge.ID)}
		case typ == "Group" || (typ == "" && ge.URI != ""):
			gr = grant{kind: "uri", value: strings.TrimSpace(ge.URI)}
		case typ == "AmazonCustomerByEmail" || (typ == "" && ge.EmailAddress != ""):
			gr = grant{kind: "emailAddress", value: strings.TrimSpace(ge.EmailAddress)}
		default:
			return nil, errMalformedACL
		}
		if gr.value == "" {
			return nil, errMalformedACL
		}
		gr.perm = strings.TrimSpace(g.Permission)
		out = append(out, gr)
	}
	return out, nil
}

// putACLRequest reads the ACL of PutBucketAcl/PutObjectAcl: x-amz-acl,
// x-amz-grant-* or an AccessControlPolicy body, exactly one of them.
func (s *Server) putACLRequest(r *request) (requestedACL, error) {
	fromHeaders, err := s.requestACL(r)
	if err != nil {
		return fromHeaders, err
	}
	data, err := r.readSmallBody()
	if err != nil && !errors.Is(err, ErrMalformedXML) {
		return fromHeaders, err
	}
	hasBody := len(strings.TrimSpace(string(data))) > 0
	switch {
	case err != nil:
		// Larger than any ACL document.
		return fromHeaders, errMalformedACL
	case fromHeaders.given && hasBody:
		return fromHeaders, errACLHeaderAndBody
	case fromHeaders.given:
		return fromHeaders, nil
	case !hasBody:
		return fromHeaders, errMissingACL
	}
	grants, err := decodeACLBody(data)
	if err != nil {
		return requestedACL{}, err
	}
	if grants, err = s.resolveEmails(r, grants); err != nil {
		return requestedACL{}, err
	}
	return s.aclOfGrantsFor(grants, r.owner(), s.isUserFunc(r))
}

// policyOf is the AccessControlPolicy of a stored ACL. With ACLs disabled
// it is always the owner's FULL_CONTROL, as S3 shows it.
func (s *Server) policyOf(acl string, enabled bool) AccessControlPolicy {
	return policyOfOwner(s.owner, acl, enabled)
}

// policyOfOwner is policyOf for a bucket of owner.
func policyOfOwner(owner Owner, acl string, enabled bool) AccessControlPolicy {
	p := AccessControlPolicy{Owner: owner, Grants: []Grant{{
		Grantee: Grantee{
			XMLNSXSI: xsiNamespace, Type: "CanonicalUser",
			ID: owner.ID, DisplayName: owner.DisplayName,
		},
		Permission: permFullControl,
	}}}
	if !enabled {
		return p
	}
	if strings.HasPrefix(acl, grantsPrefix) {
		// A stored grant list is shown as it was put.
		p.Grants = p.Grants[:0]
	}
	for _, g := range storedGrants(acl) {
		if g.kind == "id" {
			gr := Grant{Grantee: Grantee{XMLNSXSI: xsiNamespace, Type: "CanonicalUser", ID: g.value}, Permission: g.perm}
			if g.value == owner.ID {
				gr.Grantee.DisplayName = owner.DisplayName
			}
			p.Grants = append(p.Grants, gr)
			continue
		}
		p.Grants = append(p.Grants, Grant{
			Grantee:    Grantee{XMLNSXSI: xsiNamespace, Type: "Group", URI: g.value},
			Permission: g.perm,
		})
	}
	return p
}

const xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"

// getBucketACL is GetBucketAcl (Java SDK v1's doesBucketExistV2 probes
// it).
func (s *Server) getBucketACL(r *request) (*response, error) {
	b, err := s.svc.HeadBucket(r.ctx, r.route.Bucket)
	if err != nil {
		return nil, err
	}
	return &response{xml: policyOfOwner(r.owner(), b.ACL, b.Ownership.ACLsEnabled())}, nil
}

// putBucketACL is PutBucketAcl.
func (s *Server) putBucketACL(r *request) (*response, error) {
	req, err := s.putACLRequest(r)
	acl, err := s.settleACL(r, req, err)
	if err != nil {
		return nil, err
	}
	if err := s.svc.SetBucketAccess(r.ctx, r.route.Bucket, gateway.BucketAccessInput{SetACL: true, ACL: acl}); err != nil {
		return nil, err
	}
	return &response{}, nil
}

// getObjectACL is GetObjectAcl, of a version and at a snapshot too.
func (s *Server) getObjectACL(r *request) (*response, error) {
	vid, err := r.versionIDParam()
	if err != nil {
		return nil, err
	}
	at, err := s.readAt(r, r.route.Bucket)
	if err != nil {
		return nil, err
	}
	b, o, err := s.svc.ObjectAccess(r.ctx, gateway.GetObjectInput{Bucket: r.route.Bucket, Key: r.route.Key, VersionID: vid, At: at})
	if err != nil {
		return nil, err
	}
	setVersionHeader(r, o)
	return &response{xml: policyOfOwner(r.owner(), o.ACL, b.Ownership.ACLsEnabled())}, nil
}

// putObjectACL is PutObjectAcl: it replaces the ACL of a version (the
// latest without versionId), in the bucket addressed only (a fork's
// change stays in the fork; a snapshot keeps the ACL it saw).
func (s *Server) putObjectACL(r *request) (*response, error) {
	vid, err := r.versionIDParam()
	if err != nil {
		return nil, err
	}
	req, err := s.putACLRequest(r)
	acl, err := s.settleACL(r, req, err)
	if err != nil {
		return nil, err
	}
	return s.annotate(r, gateway.AnnotateObjectInput{VersionID: vid, SetACL: true, ACL: acl}, &response{})
}

// OwnershipControls is the GetBucketOwnershipControls response and the
// PutBucketOwnershipControls request.
type OwnershipControls struct {
	XMLName xml.Name               `xml:"http://s3.amazonaws.com/doc/2006-03-01/ OwnershipControls"`
	Rules   []OwnershipControlRule `xml:"Rule"`
}

// OwnershipControlRule is the one rule of OwnershipControls.
type OwnershipControlRule struct {
	ObjectOwnership string `xml:"ObjectOwnership"`
}

// ownershipRequest decodes OwnershipControls in any namespace.
type ownershipRequest struct {
	XMLName xml.Name               `xml:"OwnershipControls"`
	Rules   []OwnershipControlRule `xml:"Rule"`
}

// getBucketOwnershipControls is GetBucketOwnershipControls.
func (s *Server) getBucketOwnershipControls(r *request) (*response, error) {
	b, err := s.svc.HeadBucket(r.ctx, r.route.Bucket)
	if err != nil {
		return nil, err
	}
	if b.Ownership == meta.OwnershipNone {
		return nil, errNoOwnershipControls
	}
	return &response{xml: OwnershipControls{Rules: []OwnershipControlRule{{ObjectOwnership: b.Ownership.String()}}}}, nil
}

// putBucketOwnershipControls is PutBucketOwnershipControls: one rule.
func (s *Server) putBucketOwnershipControls(r *request) (*response, error) {
	data, err := r.readSmallBody()
	if err != nil {
		return nil, err
	}
	var doc ownershipRequest
	if err := unmarshalXML(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Rules) != 1 {
		return nil, ErrMalformedXML
	}
	o, ok := meta.ParseOwnership(strings.TrimSpace(doc.Rules[0].ObjectOwnership))
	if !ok {
		return nil, ErrMalformedXML
	}
	if err := s.svc.SetBucketAccess(r.ctx, r.route.Bucket, gateway.BucketAccessInput{SetOwnership: true, Ownership: o}); err != nil {
		return nil, err
	}
	return &response{}, nil
}

// deleteBucketOwnershipControls is DeleteBucketOwnershipControls: ACLs
// stay in force, and reading the controls finds none.
func (s *Server) deleteBucketOwnershipControls(r *request) (*response, error) {
	err := s.svc.SetBucketAccess(r.ctx, r.route.Bucket, gateway.BucketAccessInput{SetOwnership: true, Ownership: meta.OwnershipNone})
	if err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent, noBody: true}, nil
}

// bucketOwnership reads x-amz-object-ownership of CreateBucket;
// explicit says the request names it.
func bucketOwnership(h http.Header) (o meta.Ownership, explicit bool, err error) {
	v := strings.TrimSpace(h.Get("X-Amz-Object-Ownership"))
	if v == "" {
		return meta.OwnershipEnforced, false, nil
	}
	o, ok := meta.ParseOwnership(v)
	if !ok {
		return 0, true, invalidArg("Invalid x-amz-object-ownership header", "x-amz-object-ownership", v)
	}
	return o, true, nil
}
