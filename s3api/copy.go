package s3api

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// copySource is a parsed x-amz-copy-source.
type copySource struct {
	bucket, key, versionID string
}

// parseCopySource parses "[/]bucket/key[?versionId=v]" with the bucket
// and key URL-encoded, as SDKs send it.
func parseCopySource(v string) (copySource, error) {
	var cs copySource
	v = strings.TrimPrefix(strings.TrimSpace(v), "/")
	p, q, _ := strings.Cut(v, "?")
	path, err := url.PathUnescape(p)
	if err != nil {
		return cs, invalidArg("Invalid copy source encoding.", "x-amz-copy-source", v)
	}
	b, k, ok := strings.Cut(path, "/")
	if !ok || b == "" || k == "" {
		return cs, invalidArg("Copy Source must mention the source bucket and key: sourcebucket/sourcekey", "x-amz-copy-source", v)
	}
	cs.bucket, cs.key = b, k
	if q != "" {
		vals, err := parseQuery(q)
		if err != nil {
			return cs, invalidArg("Invalid copy source encoding.", "x-amz-copy-source", v)
		}
		if vals.Has("versionId") {
			vid, err := checkVersionID(vals.Get("versionId"), "x-amz-copy-source")
			if err != nil {
				return cs, err
			}
			cs.versionID = vid
		}
	}
	return cs, nil
}

// copySourceObject resolves x-amz-copy-source to an object record (read
// at X-Tigris-Snapshot-Version, which names the source's snapshot) and
// checks the x-amz-copy-source-if-* conditions.
func (s *Server) copySourceObject(r *request) (copySource, *meta.Object, error) {
	cs, err := parseCopySource(r.header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return cs, nil, err
	}
	if err := s.mayRead(r, cs.bucket, cs.key, cs.versionID); err != nil {
		return cs, nil, err
	}
	if err := s.checkExpectedOwner(r.ctx, cs.bucket, r.header.Get("X-Amz-Source-Expected-Bucket-Owner")); err != nil {
		return cs, nil, err
	}
	at, err := s.readAt(r, cs.bucket)
	if err != nil {
		return cs, nil, err
	}
	src, err := s.svc.HeadObject(r.ctx, gateway.GetObjectInput{Bucket: cs.bucket, Key: cs.key, VersionID: cs.versionID, At: at})
	if err != nil {
		if errors.Is(err, meta.ErrMethodNotAllowed) || (src != nil && src.DeleteMarker && cs.versionID != "") {
			return cs, nil, invalidRequest("The source of a copy request may not specifically refer to a delete marker by version id.")
		}
		return cs, nil, err
	}
	if err := copySourceConditions(r.header, src); err != nil {
		return cs, nil, err
	}
	return cs, src, nil
}

// copyObject is CopyObject.
func (s *Server) copyObject(r *request) (*response, error) {
	if len(r.route.Key) > gateway.MaxKeyLength {
		return nil, errKeyTooLong
	}
	directive := strings.ToUpper(strings.TrimSpace(r.header.Get("X-Amz-Metadata-Directive")))
	switch directive {
	case "", "COPY", "REPLACE":
	default:
		return nil, invalidArg("Unknown metadata directive.", "x-amz-metadata-directive", directive)
	}
	replace := directive == "REPLACE"
	tagDirective := strings.ToUpper(strings.TrimSpace(r.header.Get("X-Amz-Tagging-Directive")))
	switch tagDirective {
	case "", "COPY", "REPLACE":
	default:
		return nil, invalidArg("Unknown tagging directive.", "x-amz-tagging-directive", tagDirective)
	}
	tags, err := parseTagging(r.header.Get("X-Amz-Tagging"))
	if err != nil {
		return nil, err
	}
	ifMatch, ifNoneMatch, err := r.writeConditions()
	if err != nil {
		return nil, err
	}
	acl, err := s.objectACL(r)
	if err != nil {
		return nil, err
	}
	var lock meta.Object
	if err := r.lockHeaders(&lock); err != nil {
		return nil, err
	}
	var obj meta.Object
	if replace {
		if obj, err = r.objectFromHeaders(); err != nil {
			return nil, err
		}
	}
	cs, src, err := s.copySourceObject(r)
	if err != nil {
		return nil, err
	}
	if src.Size > maxCopySource {
		return nil, invalidRequest(fmt.Sprintf("The specified copy source is larger than the maximum allowable size for a copy source: %d", int64(maxCopySource)))
	}
	class := strings.TrimSpace(r.header.Get("X-Amz-Storage-Class"))
	if class != "" && !validStorageClass(class) {
		return nil, errInvalidStorageClass
	}
	// Naming a storage class is a change (rclone's settier copies an
	// object onto itself with only that); forkstore keeps one class.
	if cs.bucket == r.route.Bucket && cs.key == r.route.Key && cs.versionID == "" && !replace && class == "" &&
		r.header.Get(hdrSSE) == "" && r.header.Get(hdrSSECAlgorithm) == "" {
		return nil, invalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	sse, ck, err := s.sseRequest(r)
	if err != nil {
		return nil, err
	}
	srcKey, err := r.copySourceCustomerKey()
	if err != nil {
		return nil, err
	}
	if err := gateway.CheckCustomerKey(src, srcKey); err != nil {
		return nil, err
	}
	o, err := s.svc.CopyObject(r.ctx, &gateway.CopyObjectInput{
		SSE: sse, CustomerKey: ck, SourceCustomerKey: srcKey,
		Source: src, SourceBucket: cs.bucket, DstBucket: r.route.Bucket, DstKey: r.route.Key,
		Replace: replace, Object: obj, IfMatch: ifMatch, IfNoneMatch: ifNoneMatch,
		ReplaceTags: tagDirective == "REPLACE", Tags: tags, ACL: acl,
		ChecksumAlgorithm: strings.TrimSpace(r.header.Get("X-Amz-Checksum-Algorithm")),
		Lock:              lock,
	})
	if err != nil {
		return nil, err
	}
	setVersionHeader(r, o)
	setSSEHeaders(r, o)
	s.setExpirationHeader(r, o)
	if !src.Null && src.Version != 0 {
		r.set("X-Amz-Copy-Source-Version-Id", versionID(src))
	}
	res := CopyObjectResult{ETag: o.ETag, LastModified: xmlTime(o.LastModified)}
	if o.Checksum.Value != "" {
		res.checksumXML = newChecksumXML(o.Checksum.Algorithm, o.Checksum.Value)
		res.ChecksumType = o.Checksum.Type
	}
	return &response{xml: res}, nil
}

// validStorageClass reports the storage classes S3 knows. forkstore
// accepts each and stores every object the same way (reported as
// STANDARD).
func validStorageClass(c string) bool {
	switch c {
	case "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
		"GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE", "FSX_OPENZFS":
		return true
	}
	return false
}
