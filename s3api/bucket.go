package s3api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// usEast1 is the region whose location constraint is empty.
const usEast1 = "us-east-1"

// createBucket is CreateBucket.
func (s *Server) createBucket(r *request) (*response, error) {
	b := r.route.Bucket
	if !gateway.ValidBucketName(b) {
		return nil, errInvalidBucketName
	}
	lock := false
	switch v := strings.TrimSpace(r.header.Get(hdrBucketLock)); {
	case strings.EqualFold(v, "true"):
		lock = true
	case v != "" && !strings.EqualFold(v, "false"):
		return nil, invalidArg("x-amz-bucket-object-lock-enabled must be true or false", hdrBucketLock, v)
	}
	if v := r.header.Get(hdrForkTTL); v != "" {
		return nil, invalidArg("X-Forkstore-Fork-TTL applies only to a CreateBucket that forks (with X-Tigris-Fork-Source-Bucket).", hdrForkTTL, v)
	}
	ownership, explicit, err := bucketOwnership(r.header)
	if err != nil {
		return nil, err
	}
	acl, err := s.requestACL(r)
	if (err == nil && acl.given && !acl.ownerOnly || err == errACLNotImplemented) && !ownership.ACLsEnabled() {
		if explicit || s.cfg.StrictOwnership {
			// ACLs disabled by the request (or by AWS's default, under
			// --strict-ownership): the ACL cannot be set.
			return nil, errInvalidBucketACL
		}
		// Older tools send an ACL with no ownership setting, as before
		// AWS disabled ACLs by default: the bucket gets ACLs
		// (ObjectWriter), as on Ceph RGW and MinIO.
		ownership = meta.OwnershipObjectWriter
	}
	if err != nil {
		return nil, err
	}
	region, err := s.locationConstraint(r)
	if err != nil {
		return nil, err
	}
	if p := r.principal; p != nil && !p.Root && !userMain(p) {
		// A scoped key creates no bucket: authorize let it through only
		// for a bucket of its scope it may write, which it "owns".
		if _, err := s.svc.HeadBucket(r.ctx, b); err != nil {
			if errors.Is(err, meta.ErrNoSuchBucket) {
				return nil, ErrAccessDenied
			}
			return nil, err
		}
		if s.region != usEast1 {
			return nil, errBucketAlreadyOwnedByYou
		}
		r.set("Location", "/"+b)
		return &response{}, nil
	}
	in := gateway.CreateBucketInput{Name: b, Region: region, Ownership: ownership, ACL: acl.acl, ObjectLock: lock}
	if userMain(r.principal) {
		in.Owner = r.principal.User
	}
	if _, err := s.svc.CreateBucket(r.ctx, in); err != nil {
		// In us-east-1, creating a bucket you already own succeeds again
		// (S3's legacy behaviour there); other regions answer
		// BucketAlreadyOwnedByYou. Somebody else's is
		// BucketAlreadyExists.
		if !errors.Is(err, meta.ErrBucketExists) {
			return nil, err
		}
		if cur, _, e := s.bucketAccess(r.ctx, gateway.GetObjectInput{Bucket: b}); e == nil && cur.Owner != in.Owner {
			return nil, errBucketAlreadyExists
		}
		if s.region != usEast1 {
			return nil, err
		}
	}
	r.set("Location", "/"+b)
	return &response{}, nil
}

// locationConstraint reads the optional CreateBucketConfiguration and
// checks its LocationConstraint against the region, as AWS does: none is
// this region; a different one is IllegalLocationConstraintException;
// "us-east-1" spelled out is InvalidLocationConstraint.
func (s *Server) locationConstraint(r *request) (string, error) {
	data, err := r.readSmallBody()
	if err != nil {
		return "", err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return s.region, nil
	}
	var cfg createBucketConfiguration
	if err := unmarshalXML(data, &cfg); err != nil {
		return "", err
	}
	lc := strings.TrimSpace(cfg.LocationConstraint)
	switch {
	case lc == "":
		return s.region, nil
	case lc == s.region && lc != usEast1:
		return lc, nil
	case lc == usEast1 && s.region == usEast1:
		return "", errInvalidLocation
	}
	return "", errIllegalLocation.WithMessage(fmt.Sprintf(
		"The %s location constraint is incompatible for the region specific endpoint this request was sent to.", lc))
}

// headBucket is HeadBucket: existence, region, and the fork lineage
// headers Tigris tooling reads.
func (s *Server) headBucket(r *request) (*response, error) {
	b, err := s.svc.HeadBucket(r.ctx, r.route.Bucket)
	if err != nil {
		return nil, err
	}
	r.set("X-Amz-Bucket-Region", s.bucketRegion(b))
	r.set("X-Amz-Access-Point-Alias", "false")
	r.set(hdrEnableSnapshot, "true")
	setForkHeaders(r, b)
	if b.View {
		r.set(hdrSnapshotView, "true")
	}
	if b.Expires != 0 {
		r.set(hdrExpires, httpTime(b.Expires))
	}
	r.c.Response().Header.SetContentLength(0)
	return &response{noBody: true}, nil
}

// bucketRegion is the region a bucket reports.
func (s *Server) bucketRegion(b *meta.Bucket) string {
	if b.Region != "" {
		return b.Region
	}
	return s.region
}

// listBuckets is ListBuckets, with the optional prefix, max-buckets and
// continuation-token of the current API.
func (s *Server) listBuckets(r *request) (*response, error) {
	max := 10000
	if v := r.query.Get("max-buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return nil, invalidArg("Argument max-buckets must be an integer between 1 and 10000", "max-buckets", v)
		}
		max = n
	}
	after := ""
	if t := r.query.Get("continuation-token"); t != "" || r.query.Has("continuation-token") {
		raw, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil || t == "" {
			return nil, invalidArg("The continuation token provided is incorrect", "continuation-token", t)
		}
		after = string(raw)
	}
	prefix := r.query.Get("prefix")
	var buckets []meta.Bucket
	var err error
	if userMain(r.principal) {
		// A user lists the buckets it owns.
		buckets, err = s.svc.BucketsOwnedBy(r.ctx, r.principal.User)
	} else {
		buckets, err = s.svc.ListBuckets(r.ctx)
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(buckets, func(i, j int) bool { return buckets[i].Name < buckets[j].Name })
	// A scoped key sees only the buckets it may use.
	now := s.leaseNow()
	out := ListAllMyBucketsResult{Owner: r.owner(), Buckets: []BucketXML{}, Prefix: prefix}
	user := userMain(r.principal)
	if user {
		out.Owner = Owner{ID: r.principal.UserID, DisplayName: r.principal.User}
	}
	for i := range buckets {
		b := &buckets[i]
		if !strings.HasPrefix(b.Name, prefix) || b.Name <= after && after != "" || !user && !r.principal.CanUse(b.Name, now) {
			continue
		}
		if len(out.Buckets) == max {
			out.ContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(out.Buckets[max-1].Name))
			break
		}
		out.Buckets = append(out.Buckets, BucketXML{Name: b.Name, CreationDate: xmlTime(b.Created), BucketRegion: s.bucketRegion(b)})
	}
	return &response{xml: out}, nil
}

// deleteBucket is DeleteBucket.
func (s *Server) deleteBucket(r *request) (*response, error) {
	if err := s.svc.DeleteBucket(r.ctx, r.route.Bucket); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent, noBody: true}, nil
}

// getBucketLocation is GetBucketLocation (empty for us-east-1).
func (s *Server) getBucketLocation(r *request) (*response, error) {
	b, err := s.svc.HeadBucket(r.ctx, r.route.Bucket)
	if err != nil {
		return nil, err
	}
	loc := s.bucketRegion(b)
	if loc == usEast1 {
		loc = ""
	}
	return &response{xml: LocationConstraint{Location: loc}}, nil
}

// getBucketVersioning is GetBucketVersioning: no Status for a bucket that
// was never versioned.
func (s *Server) getBucketVersioning(r *request) (*response, error) {
	b, err := s.svc.HeadBucket(r.ctx, r.route.Bucket)
	if err != nil {
		return nil, err
	}
	return &response{xml: VersioningConfiguration{Status: b.Versioning.String()}}, nil
}

// putBucketVersioning is PutBucketVersioning.
func (s *Server) putBucketVersioning(r *request) (*response, error) {
	data, err := r.readSmallBody()
	if err != nil {
		return nil, err
	}
	var cfg versioningRequest
	if err := unmarshalXML(data, &cfg); err != nil {
		return nil, err
	}
	var v meta.Versioning
	switch cfg.Status {
	case "Enabled":
		v = meta.VersioningEnabled
	case "Suspended":
		v = meta.VersioningSuspended
	default:
		return nil, ErrMalformedXML
	}
	switch cfg.MfaDelete {
	case "", "Disabled":
	case "Enabled":
		return nil, ErrNotImplemented.WithMessage("MFA Delete is not implemented.")
	default:
		return nil, ErrMalformedXML
	}
	if err := s.svc.SetVersioning(r.ctx, r.route.Bucket, v); err != nil {
		return nil, err
	}
	return &response{}, nil
}

// readSmallBody reads a request document (at most maxXMLBody bytes),
// checking Content-MD5 and x-amz-checksum-* when sent.
func (r *request) readSmallBody() ([]byte, error) {
	cs, err := r.checksumRequest()
	if err != nil {
		return nil, err
	}
	return r.readXMLBody(cs)
}

// readCompleteBody reads CompleteMultipartUpload's body. Its
// x-amz-checksum-<alg> header is the whole object's checksum, not the
// body's (completeChecks reads it), so only Content-MD5 applies here.
func (r *request) readCompleteBody() ([]byte, error) {
	sum, err := contentMD5(r.header)
	if err != nil {
		return nil, err
	}
	return r.readXMLBody(&checksumReq{md5: sum})
}

// readXMLBody reads a small request body and checks it against cs.
func (r *request) readXMLBody(cs *checksumReq) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r.auth.Body, maxXMLBody+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxXMLBody {
		return nil, errMaxMessageLength
	}
	if err := cs.verifyBytes(r, data); err != nil {
		return nil, err
	}
	return data, nil
}

// isNotFound reports the errors that mean "no such key or version".
func isNotFound(err error) bool {
	return errors.Is(err, meta.ErrNoSuchKey) || errors.Is(err, meta.ErrNoSuchVersion)
}

// unconfigured maps the bucket configurations that can never be set (their
// PUT is NotImplemented) to the error AWS gives a bucket without one.
var unconfigured = map[string]*APIError{
	"cors":              {"NoSuchCORSConfiguration", "The CORS configuration does not exist", http.StatusNotFound},
	"encryption":        {"ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found", http.StatusNotFound},
	"lifecycle":         {"NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist", http.StatusNotFound},
	"policy":            {"NoSuchBucketPolicy", "The bucket policy does not exist", http.StatusNotFound},
	"publicAccessBlock": {"NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found", http.StatusNotFound},
	"replication":       {"ReplicationConfigurationNotFoundError", "The replication configuration was not found", http.StatusNotFound},
	"tagging":           {"NoSuchTagSet", "The TagSet does not exist", http.StatusNotFound},
	"website":           {"NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration", http.StatusNotFound},
}

// getBucketConfig answers a read of a configuration the bucket cannot
// have: NoSuchBucket if it does not exist, else the "not configured" error.
func (s *Server) getBucketConfig(r *request) (*response, error) {
	if _, err := s.svc.HeadBucket(r.ctx, r.route.Bucket); err != nil {
		return nil, err
	}
	return nil, unconfigured[r.route.Unsupported]
}

// getBucketRequestPayment is GetBucketRequestPayment: the bucket owner
// pays for every request (s3cmd info asks).
func (s *Server) getBucketRequestPayment(r *request) (*response, error) {
	if _, err := s.svc.HeadBucket(r.ctx, r.route.Bucket); err != nil {
		return nil, err
	}
	return &response{xml: RequestPaymentConfiguration{Payer: "BucketOwner"}}, nil
}

// putBucketRequestPayment is PutBucketRequestPayment: "BucketOwner" is
// what every bucket has; "Requester" (requester pays) is not implemented.
func (s *Server) putBucketRequestPayment(r *request) (*response, error) {
	data, err := r.readSmallBody()
	if err != nil {
		return nil, err
	}
	var cfg requestPaymentRequest
	if err := unmarshalXML(data, &cfg); err != nil {
		return nil, err
	}
	if _, err := s.svc.HeadBucket(r.ctx, r.route.Bucket); err != nil {
		return nil, err
	}
	switch strings.TrimSpace(cfg.Payer) {
	case "BucketOwner":
		return &response{}, nil
	case "Requester":
		return nil, ErrNotImplemented.WithMessage("Requester Pays is not implemented.")
	}
	return nil, ErrMalformedXML
}
