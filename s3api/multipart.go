package s3api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// createMultipartUpload is CreateMultipartUpload (POST ?uploads).
func (s *Server) createMultipartUpload(r *request) (*response, error) {
	if len(r.route.Key) > gateway.MaxKeyLength {
		return nil, errKeyTooLong
	}
	alg, typ, err := checksumAlgorithmHeader(r.header)
	if err != nil {
		return nil, err
	}
	tmpl, err := r.objectFromHeaders()
	if err != nil {
		return nil, err
	}
	tmpl.Checksum = meta.Checksum{Algorithm: alg, Type: typ}
	if tmpl.ACL, err = s.objectACL(r); err != nil {
		return nil, err
	}
	var ck []byte
	if tmpl.SSE, ck, err = s.sseRequest(r); err != nil {
		return nil, err
	}
	id, sse, err := s.svc.CreateMultipartUploadKey(r.ctx, r.route.Bucket, tmpl, ck)
	if err != nil {
		return nil, err
	}
	setSSEHeaders(r, &meta.Object{SSE: sse})
	if alg != "" {
		r.set("X-Amz-Checksum-Algorithm", alg)
		r.set("X-Amz-Checksum-Type", typ)
	}
	return &response{xml: InitiateMultipartUploadResult{Bucket: r.route.Bucket, Key: r.route.Key, UploadID: id}}, nil
}

// uploadTarget reads partNumber and uploadId of UploadPart(Copy).
func (r *request) uploadTarget() (part int, uploadID string, err error) {
	v := r.query.Get("partNumber")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > gateway.MaxParts {
		return 0, "", argError(errInvalidPartNumberArg, "partNumber", v)
	}
	uploadID = r.query.Get("uploadId")
	if uploadID == "" {
		return 0, "", errNoSuchUpload
	}
	return n, uploadID, nil
}

// uploadPart is UploadPart; checksums work as for PutObject.
func (s *Server) uploadPart(r *request) (*response, error) {
	n, id, err := r.uploadTarget()
	if err != nil {
		return nil, err
	}
	size, err := r.bodySize()
	if err != nil {
		return nil, err
	}
	cs, err := r.checksumRequest()
	if err != nil {
		return nil, err
	}
	ck, err := r.customerKey()
	if err != nil {
		return nil, err
	}
	in := &gateway.UploadPartInput{
		Bucket: r.route.Bucket, Key: r.route.Key, UploadID: id, Number: n,
		Body: r.auth.Body, Size: size, Algorithm: cs.alg, Verify: cs.verify(r), CustomerKey: ck,
	}
	p, err := s.svc.UploadPart(r.ctx, in)
	if err != nil {
		return nil, err
	}
	r.set("ETag", p.ETag)
	setSSEHeaders(r, &meta.Object{SSE: in.SSE})
	if cs.alg != "" && cs.verified != "" {
		setChecksumHeaders(r, cs.alg, "", cs.verified)
	}
	return &response{}, nil
}

// uploadPartCopy is UploadPartCopy: a part copied from a range of an
// existing object (x-amz-copy-source-range: bytes=first-last).
func (s *Server) uploadPartCopy(r *request) (*response, error) {
	n, id, err := r.uploadTarget()
	if err != nil {
		return nil, err
	}
	_, src, err := s.copySourceObject(r)
	if err != nil {
		return nil, err
	}
	offset, length := int64(0), src.Size
	if v := r.header.Get("X-Amz-Copy-Source-Range"); v != "" {
		br, ok := parseRange(v)
		if !ok || br.suffix >= 0 || br.last < 0 {
			return nil, invalidArg("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy", "x-amz-copy-source-range", v)
		}
		if br.last >= src.Size {
			// Well-formed but beyond the source: InvalidRange, as AWS.
			return nil, rangeNotSatisfiable(v, src.Size)
		}
		offset, length = br.first, br.last-br.first+1
	}
	if length > maxCopySource {
		return nil, invalidRequest(fmt.Sprintf("The specified copy source is larger than the maximum allowable size for a copy source: %d", int64(maxCopySource)))
	}
	ck, err := r.customerKey()
	if err != nil {
		return nil, err
	}
	srcKey, err := r.copySourceCustomerKey()
	if err != nil {
		return nil, err
	}
	in := &gateway.UploadPartCopyInput{
		Bucket: r.route.Bucket, Key: r.route.Key, UploadID: id, Number: n,
		Source: src, Offset: offset, Length: length, CustomerKey: ck, SourceCustomerKey: srcKey,
	}
	p, err := s.svc.UploadPartCopy(r.ctx, in)
	if err != nil {
		return nil, err
	}
	setSSEHeaders(r, &meta.Object{SSE: in.SSE})
	if !src.Null && src.Version != 0 {
		r.set("X-Amz-Copy-Source-Version-Id", versionID(src))
	}
	return &response{xml: CopyPartResult{ETag: p.ETag, LastModified: xmlTime(p.LastModified)}}, nil
}

// decodeCompleteMultipart parses a CompleteMultipartUpload document: at
// least one part, part numbers in 1..10000, in ascending order
// (InvalidPartOrder otherwise), each with an ETag.
func decodeCompleteMultipart(data []byte) ([]gateway.CompletePartInput, error) {
	var doc completeMultipartUpload
	if err := unmarshalXML(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Parts) == 0 || len(doc.Parts) > gateway.MaxParts {
		return nil, ErrMalformedXML
	}
	parts := make([]gateway.CompletePartInput, len(doc.Parts))
	prev := 0
	for i, p := range doc.Parts {
		n, err := strconv.Atoi(strings.TrimSpace(p.PartNumber))
		if err != nil {
			return nil, ErrMalformedXML
		}
		if n < 1 || n > gateway.MaxParts {
			return nil, argError(errInvalidPartNumberArg, "partNumber", p.PartNumber)
		}
		if strings.Trim(strings.TrimSpace(p.ETag), `"`) == "" {
			return nil, ErrMalformedXML
		}
		if n <= prev {
			return nil, errInvalidPartOrder
		}
		prev = n
		parts[i] = gateway.CompletePartInput{Number: n, ETag: quoteETag(p.ETag), Checksum: firstChecksum(p.checksumXML)}
	}
	return parts, nil
}

// firstChecksum returns whichever part checksum the client sent.
func firstChecksum(c checksumXML) string {
	for _, v := range []string{c.ChecksumCRC32, c.ChecksumCRC32C, c.ChecksumCRC64NVME, c.ChecksumSHA1, c.ChecksumSHA256} {
		if v != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// completeMultipartUpload is CompleteMultipartUpload. Errors are answered
// directly (S3 may answer 200 and put the error in the body; clients
// handle both).
func (s *Server) completeMultipartUpload(r *request) (*response, error) {
	id := r.query.Get("uploadId")
	data, err := r.readCompleteBody()
	if err != nil {
		return nil, err
	}
	parts, err := decodeCompleteMultipart(data)
	if err != nil {
		return nil, err
	}
	ifMatch, ifNoneMatch, err := r.writeConditions()
	if err != nil {
		return nil, err
	}
	in := &gateway.CompleteInput{
		Bucket: r.route.Bucket, Key: r.route.Key, UploadID: id, Parts: parts,
		IfMatch: ifMatch, IfNoneMatch: ifNoneMatch,
	}
	if err := r.completeChecks(in); err != nil {
		return nil, err
	}
	o, err := s.svc.CompleteMultipartUpload(r.ctx, in)
	if err != nil {
		return nil, err
	}
	setVersionHeader(r, o)
	setSSEHeaders(r, o)
	s.setExpirationHeader(r, o)
	res := CompleteMultipartUploadResult{
		Location: r.objectURL(), Bucket: r.route.Bucket, Key: r.route.Key, ETag: o.ETag,
	}
	if o.Checksum.Value != "" {
		res.checksumXML = newChecksumXML(o.Checksum.Algorithm, o.Checksum.Value)
		res.ChecksumType = o.Checksum.Type
	}
	return &response{xml: res}, nil
}

// objectURL is the object's URL as the client addressed it.
func (r *request) objectURL() string {
	scheme := "http"
	if p := r.header.Get("X-Forwarded-Proto"); p == "https" {
		scheme = "https"
	}
	esc := (&url.URL{Path: r.route.Key}).EscapedPath()
	if r.route.VirtualHost {
		return scheme + "://" + r.host + "/" + strings.TrimPrefix(esc, "/")
	}
	return scheme + "://" + r.host + "/" + r.route.Bucket + "/" + strings.TrimPrefix(esc, "/")
}

// abortMultipartUpload is AbortMultipartUpload.
func (s *Server) abortMultipartUpload(r *request) (*response, error) {
	id := r.query.Get("uploadId")
	if id == "" {
		return nil, errNoSuchUpload
	}
	if err := s.svc.AbortMultipartUpload(r.ctx, r.route.Bucket, r.route.Key, id); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent, noBody: true}, nil
}

// listParts is ListParts.
func (s *Server) listParts(r *request) (*response, error) {
	id := r.query.Get("uploadId")
	if id == "" {
		return nil, errNoSuchUpload
	}
	p, err := r.parseListParams("max-parts")
	if err != nil {
		return nil, err
	}
	marker := 0
	if v := r.query.Get("part-number-marker"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, invalidArg("Provided part-number-marker not an integer or within integer range", "part-number-marker", v)
		}
		marker = n
	}
	max := p.maxKeys
	if max == 0 {
		max = maxListKeys
	}
	up, res, err := s.svc.ListParts(r.ctx, r.route.Bucket, r.route.Key, id, marker, max)
	if err != nil {
		return nil, err
	}
	owner := r.owner()
	alg := up.Template.Checksum.Algorithm
	out := ListPartsResult{
		Bucket: r.route.Bucket, Key: r.route.Key, UploadID: id,
		PartNumberMarker: marker, NextPartNumberMarker: res.NextPartNumberMarker,
		MaxParts: max, IsTruncated: res.IsTruncated, Initiator: owner, Owner: owner,
		StorageClass: storageClass, ChecksumAlgorithm: alg, ChecksumType: up.Template.Checksum.Type,
	}
	for _, pt := range res.Parts {
		x := PartXML{PartNumber: pt.Number, LastModified: xmlTime(pt.LastModified), ETag: pt.ETag, Size: pt.Size}
		if pt.Checksum != "" {
			x.checksumXML = newChecksumXML(alg, pt.Checksum)
		}
		out.Parts = append(out.Parts, x)
	}
	if !res.IsTruncated && len(res.Parts) > 0 && out.NextPartNumberMarker == 0 {
		out.NextPartNumberMarker = res.Parts[len(res.Parts)-1].Number
	}
	return &response{xml: out}, nil
}

// completeChecks reads the whole-object claims a client may make on
// CompleteMultipartUpload: one x-amz-checksum-<alg> value and
// x-amz-mp-object-size.
func (r *request) completeChecks(in *gateway.CompleteInput) error {
	for k, vs := range r.header {
		suffix, ok := strings.CutPrefix(k, checksumHeaderPrefix)
		if !ok || len(vs) == 0 {
			continue
		}
		switch k {
		case "X-Amz-Checksum-Algorithm", "X-Amz-Checksum-Type", "X-Amz-Checksum-Mode":
			continue
		}
		if in.Checksum != "" {
			return ErrInvalidChecksumRequest
		}
		in.ChecksumAlgorithm, in.Checksum = suffix, strings.TrimSpace(vs[0])
	}
	if v := strings.TrimSpace(r.header.Get("X-Amz-Mp-Object-Size")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return invalidArg("The x-amz-mp-object-size header is invalid.", "x-amz-mp-object-size", v)
		}
		in.ObjectSize = &n
	}
	return nil
}
