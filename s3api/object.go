package s3api

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// maxUserMetadata is S3's limit on user metadata (names and values).
const maxUserMetadata = 2 << 10

// maxCopySource is the largest object CopyObject copies (AWS: 5 GiB).
const maxCopySource = 5 << 30

// defaultContentType is what S3 stores when PutObject names none.
const defaultContentType = "binary/octet-stream"

// putObject is PutObject.
func (s *Server) putObject(r *request) (*response, error) {
	k := r.route.Key
	if len(k) > gateway.MaxKeyLength {
		return nil, errKeyTooLong
	}
	size, err := r.bodySize()
	if err != nil {
		return nil, err
	}
	obj, err := r.objectFromHeaders()
	if err != nil {
		return nil, err
	}
	cs, err := r.checksumRequest()
	if err != nil {
		return nil, err
	}
	ifMatch, ifNoneMatch, err := r.writeConditions()
	if err != nil {
		return nil, err
	}
	if obj.ACL, err = s.objectACL(r); err != nil {
		return nil, err
	}
	obj.Checksum.Algorithm = cs.alg
	var ck []byte
	if obj.SSE, ck, err = s.sseRequest(r); err != nil {
		return nil, err
	}
	o, err := s.svc.PutObject(r.ctx, &gateway.PutObjectInput{
		Bucket: r.route.Bucket, Key: k, Body: r.auth.Body, Size: size, Object: obj,
		IfMatch: ifMatch, IfNoneMatch: ifNoneMatch, Verify: cs.verify(r), Checked: cs.sent(),
		CustomerKey: ck, Read: r.aclCache.b,
	})
	if err != nil {
		return nil, err
	}
	r.set("ETag", o.ETag)
	setSSEHeaders(r, o)
	setChecksumHeaders(r, o.Checksum.Algorithm, o.Checksum.Type, o.Checksum.Value)
	setVersionHeader(r, o)
	s.setExpirationHeader(r, o)
	return &response{}, nil
}

// bodySize is the decoded payload length of an upload, -1 when it comes
// with Transfer-Encoding: chunked and no x-amz-decoded-content-length.
// Without either framing, S3 wants a Content-Length.
func (r *request) bodySize() (int64, error) {
	if !r.chunked && r.rawLength < 0 {
		return 0, ErrMissingContentLength
	}
	if r.auth != nil && r.auth.Size >= 0 {
		return r.auth.Size, nil
	}
	if r.chunked || isAWSChunked(r.header) {
		return -1, nil
	}
	return r.rawLength, nil
}

// isAWSChunked reports a body in the aws-chunked content encoding.
func isAWSChunked(h http.Header) bool {
	if strings.HasPrefix(h.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		return true
	}
	for _, e := range strings.Split(h.Get("Content-Encoding"), ",") {
		if strings.EqualFold(strings.TrimSpace(e), "aws-chunked") {
			return true
		}
	}
	return false
}

// stripAWSChunked removes the aws-chunked coding from Content-Encoding:
// it describes the transfer, not the stored object. The other codings are
// kept exactly as the client wrote them ("aws-chunked, deflate, gzip"
// stores "deflate, gzip").
func stripAWSChunked(v string) string {
	if v == "" {
		return ""
	}
	parts := strings.Split(v, ",")
	keep := parts[:0]
	for _, e := range parts {
		if t := strings.TrimSpace(e); t == "" || strings.EqualFold(t, "aws-chunked") {
			continue
		}
		keep = append(keep, e)
	}
	if len(keep) == len(parts) {
		return v
	}
	if len(keep) == 0 {
		return ""
	}
	keep[0] = strings.TrimLeft(keep[0], " \t")
	return strings.Join(keep, ",")
}

// objectFromHeaders collects the content headers and user metadata a new
// object (or a REPLACE copy, or an upload) stores.
func (r *request) objectFromHeaders() (meta.Object, error) {
	h := r.header
	obj := meta.Object{
		Key:                r.route.Key,
		ContentType:        h.Get("Content-Type"),
		CacheControl:       h.Get("Cache-Control"),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentEncoding:    stripAWSChunked(h.Get("Content-Encoding")),
		ContentLanguage:    h.Get("Content-Language"),
		Expires:            h.Get("Expires"),
	}
	if obj.ContentType == "" {
		obj.ContentType = defaultContentType
	}
	total := 0
	for k, vs := range h {
		name, ok := strings.CutPrefix(k, "X-Amz-Meta-")
		if !ok || name == "" {
			continue
		}
		if obj.UserMeta == nil {
			obj.UserMeta = make(map[string]string)
		}
		name = strings.ToLower(name)
		v := decodeMetaValue(strings.Join(vs, ","))
		obj.UserMeta[name] = v
		total += len(name) + len(v)
	}
	if total > maxUserMetadata {
		return obj, ErrMetadataTooLarge
	}
	tags, err := parseTagging(h.Get("X-Amz-Tagging"))
	if err != nil {
		return obj, err
	}
	obj.Tags = tags
	return obj, r.lockHeaders(&obj)
}

// decodeMetaValue is a user metadata value as S3 stores it: RFC 2047
// encoded words are decoded, and bytes that are not UTF-8 are taken as
// ISO-8859-1 (what HTTP header bytes are), so the stored value is UTF-8.
func decodeMetaValue(v string) string {
	if strings.Contains(v, "=?") {
		if d, err := metaWordDecoder.DecodeHeader(v); err == nil {
			v = d
		}
	}
	if utf8.ValidString(v) {
		return v
	}
	b := make([]rune, 0, len(v))
	for i := 0; i < len(v); i++ {
		b = append(b, rune(v[i]))
	}
	return string(b)
}

var metaWordDecoder = &mime.WordDecoder{}

// encodeMetaValue is a stored user metadata value as S3 returns it:
// printable US-ASCII as is, anything else as one RFC 2047 encoded word
// ("=?UTF-8?B?...?="), which keeps the header mail-safe and the bytes
// recoverable.
func encodeMetaValue(v string) string {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c > 0x7e {
			return "=?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte(v)) + "?="
		}
	}
	return v
}

// S3's limits on object tags.
const (
	maxTags        = 10
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

// parseTagging decodes an x-amz-tagging header: URL query encoding,
// "k1=v1&k2=v2" (nil when empty). Bad or too many tags are InvalidTag.
func parseTagging(v string) (map[string]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	q, err := url.ParseQuery(v)
	if err != nil {
		return nil, errInvalidTag.WithMessage("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")
	}
	if len(q) > maxTags {
		return nil, errInvalidTag.WithMessage("Object tags cannot be greater than 10")
	}
	tags := make(map[string]string, len(q))
	for k, vs := range q {
		if len(vs) != 1 {
			return nil, errInvalidTag.WithMessage("Cannot provide multiple Tags with the same key")
		}
		if k == "" || len(k) > maxTagKeyLen || !utf8.ValidString(k) {
			return nil, errInvalidTag.WithMessage("The TagKey you have provided is invalid")
		}
		if len(vs[0]) > maxTagValueLen || !utf8.ValidString(vs[0]) {
			return nil, errInvalidTag.WithMessage("The TagValue you have provided is invalid")
		}
		tags[k] = vs[0]
	}
	return tags, nil
}

// getObjectTagging is GetObjectTagging: the tags the version was written
// with.
func (s *Server) getObjectTagging(r *request) (*response, error) {
	vid, err := r.versionIDParam()
	if err != nil {
		return nil, err
	}
	at, err := s.readAt(r, r.route.Bucket)
	if err != nil {
		return nil, err
	}
	o, err := s.svc.HeadObject(r.ctx, gateway.GetObjectInput{Bucket: r.route.Bucket, Key: r.route.Key, VersionID: vid, At: at})
	if err != nil {
		return nil, err
	}
	res := Tagging{TagSet: []Tag{}}
	names := make([]string, 0, len(o.Tags))
	for k := range o.Tags {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		res.TagSet = append(res.TagSet, Tag{Key: k, Value: o.Tags[k]})
	}
	setVersionHeader(r, o)
	return &response{xml: res}, nil
}

// taggingRequest decodes a Tagging document in any namespace.
type taggingRequest struct {
	XMLName xml.Name `xml:"Tagging"`
	Tags    []Tag    `xml:"TagSet>Tag"`
}

// decodeTagging reads a PutObjectTagging body: at most 10 tags, unique
// keys, S3's key and value lengths (InvalidTag otherwise).
func decodeTagging(data []byte) (map[string]string, error) {
	var doc taggingRequest
	if err := unmarshalXML(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Tags) > maxTags {
		return nil, errInvalidTag.WithMessage("Object tags cannot be greater than 10")
	}
	tags := make(map[string]string, len(doc.Tags))
	for _, t := range doc.Tags {
		if _, dup := tags[t.Key]; dup {
			return nil, errInvalidTag.WithMessage("Cannot provide multiple Tags with the same key")
		}
		if t.Key == "" || len(t.Key) > maxTagKeyLen || !utf8.ValidString(t.Key) {
			return nil, errInvalidTag.WithMessage("The TagKey you have provided is invalid")
		}
		if len(t.Value) > maxTagValueLen || !utf8.ValidString(t.Value) {
			return nil, errInvalidTag.WithMessage("The TagValue you have provided is invalid")
		}
		tags[t.Key] = t.Value
	}
	if len(tags) == 0 {
		return nil, nil
	}
	return tags, nil
}

// putObjectTagging is PutObjectTagging: it replaces the tag set of a
// version (the latest without versionId).
func (s *Server) putObjectTagging(r *request) (*response, error) {
	vid, err := r.versionIDParam()
	if err != nil {
		return nil, err
	}
	data, err := r.readSmallBody()
	if err != nil {
		return nil, err
	}
	tags, err := decodeTagging(data)
	if err != nil {
		return nil, err
	}
	return s.annotate(r, gateway.AnnotateObjectInput{VersionID: vid, SetTags: true, Tags: tags}, &response{})
}

// annotate changes the tags and/or the ACL of the version in names (of
// the request's object) and answers resp with the version's id.
func (s *Server) annotate(r *request, in gateway.AnnotateObjectInput, resp *response) (*response, error) {
	in.Bucket, in.Key = r.route.Bucket, r.route.Key
	o, err := s.svc.AnnotateObject(r.ctx, in)
	if err != nil {
		return nil, err
	}
	setVersionHeader(r, o)
	return resp, nil
}

// deleteObjectTagging is DeleteObjectTagging: the version's tag set
// becomes empty (204).
func (s *Server) deleteObjectTagging(r *request) (*response, error) {
	vid, err := r.versionIDParam()
	if err != nil {
		return nil, err
	}
	return s.annotate(r, gateway.AnnotateObjectInput{VersionID: vid, SetTags: true}, &response{status: http.StatusNoContent, noBody: true})
}

// writeConditions parses the conditional-write headers of PutObject,
// CopyObject (destination) and CompleteMultipartUpload: If-Match and
// If-None-Match, each "*" or an ETag. They are evaluated in apply against
// the key's current version (a fork's inherited objects included).
func (r *request) writeConditions() (ifMatch, ifNoneMatch string, err error) {
	return condETag(r.header.Get("If-Match")), condETag(r.header.Get("If-None-Match")), nil
}

// condETag normalises an If-Match/If-None-Match value: "*", or the
// quoted ETag ("" when absent).
func condETag(v string) string {
	v = strings.TrimSpace(v)
	switch v {
	case "", "*":
		return v
	}
	return quoteETag(v)
}

// deleteConditions parses DeleteObject's conditions: If-Match,
// x-amz-if-match-last-modified-time (an HTTP date, so to the second) and
// x-amz-if-match-size.
func (r *request) deleteConditions() (meta.DeleteCondition, error) {
	c := meta.DeleteCondition{IfMatch: condETag(r.header.Get("If-Match"))}
	if v := strings.TrimSpace(r.header.Get("X-Amz-If-Match-Last-Modified-Time")); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			if t, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return c, invalidArg("Invalid x-amz-if-match-last-modified-time.", "x-amz-if-match-last-modified-time", v)
			}
		}
		c.ModifiedFrom, c.ModifiedTo = timeWindow(t)
	}
	if v := strings.TrimSpace(r.header.Get("X-Amz-If-Match-Size")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return c, invalidArg("Invalid x-amz-if-match-size.", "x-amz-if-match-size", v)
		}
		c.Size, c.HasSize = n, true
	}
	return c, nil
}

// timeWindow is the [from, to) range of LastModified values (Unix ns)
// that match a time given to the second (or, with a fraction, to the
// millisecond, the precision of S3's XML timestamps).
func timeWindow(t time.Time) (from, to int64) {
	step := time.Second
	if t.Nanosecond() != 0 {
		step = time.Millisecond
	}
	t = t.Truncate(step)
	return t.UnixNano(), t.Add(step).UnixNano()
}

// quoteETag returns an entity tag in its stored, quoted form.
func quoteETag(v string) string {
	v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
	return `"` + strings.Trim(v, `"`) + `"`
}

// setVersionHeader sets x-amz-version-id for objects of versioned buckets
// (null versions of never-versioned buckets have none).
func setVersionHeader(r *request, o *meta.Object) {
	if !o.Null && o.Version != 0 {
		r.set("X-Amz-Version-Id", versionID(o))
	}
}

// versionIDParam validates the versionId query parameter: absent, "null"
// or a decimal version.
func (r *request) versionIDParam() (string, error) {
	if !r.query.Has("versionId") {
		return "", nil
	}
	return checkVersionID(r.query.Get("versionId"), "versionId")
}

func checkVersionID(v, arg string) (string, error) {
	if v == "null" {
		return v, nil
	}
	if v == "" {
		return "", invalidArg("Version id cannot be the empty string", arg, v)
	}
	if n, err := strconv.ParseUint(v, 10, 64); err != nil || n == 0 {
		return "", invalidArg("Invalid version id specified", arg, v)
	}
	return v, nil
}

// getObject is GetObject and HeadObject.
func (s *Server) getObject(r *request) (*response, error) {
	head := r.method == http.MethodHead
	vid, err := r.versionIDParam()
	if err != nil {
		return nil, err
	}
	at, err := s.readAt(r, r.route.Bucket)
	if err != nil {
		return nil, err
	}
	part, err := partNumberParam(r)
	if err != nil {
		return nil, err
	}
	rangeHdr := r.header.Get("Range")
	if part > 0 && rangeHdr != "" {
		return nil, invalidRequest("Cannot specify both Range header and partNumber query parameter")
	}
	obj, err := s.svc.HeadObject(r.ctx, gateway.GetObjectInput{Bucket: r.route.Bucket, Key: r.route.Key, VersionID: vid, At: at})
	if err != nil {
		if obj != nil && obj.DeleteMarker {
			setDeleteMarkerHeaders(r, obj)
			if errors.Is(err, meta.ErrMethodNotAllowed) {
				r.set("Allow", "DELETE")
				r.set("Last-Modified", httpTime(obj.LastModified))
			}
		}
		return nil, err
	}
	ck, err := r.customerKey()
	if err != nil {
		return nil, err
	}
	if err := gateway.CheckCustomerKey(obj, ck); err != nil {
		return nil, err
	}
	if err := readConditions(r.header, obj); err != nil {
		if errors.Is(err, errNotModified) {
			r.set("ETag", obj.ETag)
			r.set("Last-Modified", httpTime(obj.LastModified))
			setVersionHeader(r, obj)
		}
		return nil, err
	}

	offset, length, status := int64(0), obj.Size, http.StatusOK
	ranged, partial := false, false
	switch {
	case part > 0:
		offset, length, err = partRange(obj, part)
		if err != nil {
			return nil, err
		}
		status, partial = http.StatusPartialContent, true
		if len(obj.Parts) > 0 {
			r.set("X-Amz-Mp-Parts-Count", strconv.Itoa(len(obj.Parts)))
		}
	case rangeHdr != "":
		br, ok := parseRange(rangeHdr)
		if ok {
			offset, length, ok = br.resolve(obj.Size)
			if !ok {
				r.set("Content-Range", "bytes */"+itoa(obj.Size))
				return nil, rangeNotSatisfiable(rangeHdr, obj.Size)
			}
			status, ranged, partial = http.StatusPartialContent, true, true
		}
	}
	if partial {
		r.set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", offset, offset+length-1, obj.Size))
		if length == 0 {
			r.set("Content-Range", "bytes */"+itoa(obj.Size))
		}
	}
	setObjectHeaders(r, obj)
	if vid == "" && at == 0 {
		s.setExpirationHeader(r, obj)
	}
	if strings.EqualFold(r.header.Get("X-Amz-Checksum-Mode"), "ENABLED") && !ranged {
		setReadChecksum(r, obj, part)
	}
	if err := applyResponseOverrides(r); err != nil {
		return nil, err
	}
	r.c.Response().Header.SetContentLength(int(length))
	if head || length == 0 {
		return &response{status: status, noBody: true}, nil
	}
	sctx, cancel := context.WithCancel(s.base)
	rc, err := s.svc.OpenObjectKey(sctx, obj, ck, offset, length)
	if err != nil {
		cancel()
		return nil, err
	}
	return &response{status: status, body: &streamBody{rc: rc, cancel: cancel}, size: length}, nil
}

// streamBody is an object body being sent; Close (called by fasthttp once
// sent or abandoned) releases the reader and its context.
type streamBody struct {
	rc     io.ReadCloser
	cancel context.CancelFunc
}

func (b *streamBody) Read(p []byte) (int, error) { return b.rc.Read(p) }

// copyBufSize is the unit in which object bodies are copied to the client:
// fasthttp would otherwise copy through 4 KiB (or 32 KiB) buffers, one read
// and one write system call each.
const copyBufSize = 256 << 10

var copyBufs = sync.Pool{New: func() any {
	b := make([]byte, copyBufSize)
	return &b
}}

// writerOnly hides a writer's ReadFrom, so copies use our buffer.
type writerOnly struct{ io.Writer }

// WriteTo streams the body to w: through the body's own WriteTo when it
// has one (the chunk store sends files with sendfile), else in large
// blocks. fasthttp's copy prefers it to its own small buffer.
func (b *streamBody) WriteTo(w io.Writer) (int64, error) {
	if wt, ok := b.rc.(io.WriterTo); ok {
		return wt.WriteTo(w)
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(writerOnly{w}, b.rc, *bp)
}

func (b *streamBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}

// setDeleteMarkerHeaders marks a 404/405 caused by a delete marker.
func setDeleteMarkerHeaders(r *request, o *meta.Object) {
	r.set("X-Amz-Delete-Marker", "true")
	if o.Version != 0 || o.Null {
		r.set("X-Amz-Version-Id", versionID(o))
	}
}

// setObjectHeaders sets the headers describing an object on GET/HEAD.
func setObjectHeaders(r *request, o *meta.Object) {
	r.set("ETag", o.ETag)
	r.set("Last-Modified", httpTime(o.LastModified))
	r.set("Accept-Ranges", "bytes")
	ct := o.ContentType
	if ct == "" {
		ct = defaultContentType
	}
	r.set("Content-Type", ct)
	for _, h := range []struct{ name, v string }{
		{"Cache-Control", o.CacheControl},
		{"Content-Disposition", o.ContentDisposition},
		{"Content-Encoding", o.ContentEncoding},
		{"Content-Language", o.ContentLanguage},
		{"Expires", o.Expires},
	} {
		if h.v != "" {
			r.set(h.name, h.v)
		}
	}
	names := make([]string, 0, len(o.UserMeta))
	for k := range o.UserMeta {
		names = append(names, k)
	}
	sort.Strings(names)
	// User metadata names go out in lower case, as S3 sends them (SDKs
	// hand the names to users as received); fasthttp would capitalise them.
	h := &r.c.Response().Header
	h.DisableNormalizing()
	for _, k := range names {
		h.Set("x-amz-meta-"+k, encodeMetaValue(o.UserMeta[k]))
	}
	h.EnableNormalizing()
	if len(o.Tags) > 0 {
		r.set("X-Amz-Tagging-Count", strconv.Itoa(len(o.Tags)))
	}
	setLockHeaders(r, o)
	setVersionHeader(r, o)
	setSSEHeaders(r, o)
}

// setReadChecksum sets the checksum a GET/HEAD returns with
// x-amz-checksum-mode: ENABLED: the object's own for a whole read; with
// partNumber on a multipart object, that part's (what the client then
// validates the part's bytes against). Ranged reads get none.
func setReadChecksum(r *request, o *meta.Object, part int) {
	c := o.Checksum
	if part > 0 && len(o.Parts) > 0 {
		p := o.Parts[part-1]
		typ := c.Type
		if typ == "" {
			typ = "COMPOSITE"
		}
		setChecksumHeaders(r, c.Algorithm, typ, p.Checksum)
		return
	}
	setChecksumHeaders(r, c.Algorithm, c.Type, c.Value)
}

// responseOverrides are the GetObject query parameters that set response
// headers (allowed on signed requests, which all of ours are).
var responseOverrides = []struct{ param, header string }{
	{"response-content-type", "Content-Type"},
	{"response-content-language", "Content-Language"},
	{"response-expires", "Expires"},
	{"response-cache-control", "Cache-Control"},
	{"response-content-disposition", "Content-Disposition"},
	{"response-content-encoding", "Content-Encoding"},
}

func applyResponseOverrides(r *request) error {
	for _, o := range responseOverrides {
		if v, ok := r.query[o.param]; ok && len(v) > 0 {
			r.set(o.header, v[0])
		}
	}
	return nil
}

// partNumberParam parses ?partNumber (0 when absent).
func partNumberParam(r *request) (int, error) {
	if !r.query.Has("partNumber") {
		return 0, nil
	}
	v := r.query.Get("partNumber")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > gateway.MaxParts {
		return 0, argError(errInvalidPartNumberArg, "partNumber", v)
	}
	return n, nil
}

// partRange is the byte range of part n of obj; a single-part object has
// exactly one part, the whole object.
func partRange(o *meta.Object, n int) (offset, length int64, err error) {
	if len(o.Parts) == 0 {
		if n != 1 {
			return 0, 0, errPartNotInObject
		}
		return 0, o.Size, nil
	}
	if n > len(o.Parts) {
		return 0, 0, errPartNotInObject
	}
	for i := 0; i < n-1; i++ {
		offset += o.Parts[i].Size
	}
	return offset, o.Parts[n-1].Size, nil
}

// deleteObject is DeleteObject. Deleting a key or version that does not
// exist succeeds, as on S3.
func (s *Server) deleteObject(r *request) (*response, error) {
	vid, err := r.versionIDParam()
	if err != nil {
		return nil, err
	}
	if len(r.route.Key) > gateway.MaxKeyLength {
		return nil, errKeyTooLong
	}
	cond, err := r.deleteConditions()
	if err != nil {
		return nil, err
	}
	bypass, err := r.bypassGovernance()
	if err != nil {
		return nil, err
	}
	res, err := s.svc.DeleteObject(r.ctx, r.route.Bucket, r.route.Key, vid, cond, bypass)
	if err != nil && (!isNotFound(err) || cond.IfMatch != "") {
		// If-Match on a key without a current version is 404 NoSuchKey.
		return nil, err
	}
	if err == nil {
		if res.DeleteMarker {
			r.set("X-Amz-Delete-Marker", "true")
		}
		switch {
		case res.DeleteMarkerVersionID != "":
			r.set("X-Amz-Version-Id", res.DeleteMarkerVersionID)
		case res.VersionID != "":
			r.set("X-Amz-Version-Id", res.VersionID)
		}
	}
	return &response{status: http.StatusNoContent, noBody: true}, nil
}

// deleteObjects is DeleteObjects (POST ?delete). Content-MD5, any
// x-amz-checksum-* or neither may protect the body.
func (s *Server) deleteObjects(r *request) (*response, error) {
	bypass, err := r.bypassGovernance()
	if err != nil {
		return nil, err
	}
	data, err := r.readSmallBody()
	if err != nil {
		return nil, err
	}
	req, err := decodeDelete(data)
	if err != nil {
		return nil, err
	}
	// Version ids and conditions are checked here so a bad one fails
	// only its entry.
	var bad []DeleteErrorXML
	valid := make([]meta.DeleteItem, 0, len(req.Objects))
	for _, o := range req.Objects {
		it := meta.DeleteItem{Key: o.Key, VersionID: o.VersionID}
		var err error
		if err := s.mayWrite(r, r.route.Bucket, it.Key, it.VersionID); err != nil {
			api, _, _ := toAPIError(err)
			bad = append(bad, DeleteErrorXML{Key: it.Key, VersionID: it.VersionID, Code: api.Code, Message: api.Message})
			continue
		}
		if it.VersionID != "" {
			_, err = checkVersionID(it.VersionID, "versionId")
		}
		if err == nil {
			it.DeleteCondition, err = o.condition()
		}
		if err != nil {
			api, _, _ := toAPIError(err)
			bad = append(bad, DeleteErrorXML{Key: it.Key, VersionID: it.VersionID, Code: api.Code, Message: api.Message})
			continue
		}
		valid = append(valid, it)
	}
	out := DeleteResult{}
	if len(valid) > 0 {
		results, err := s.svc.DeleteObjects(r.ctx, r.route.Bucket, valid, bypass)
		if err != nil {
			return nil, err
		}
		for i, res := range results {
			key, vid := res.Key, res.VersionID
			if key == "" && i < len(valid) {
				key = valid[i].Key
			}
			if res.Err != nil && (!isNotFound(res.Err) || (i < len(valid) && valid[i].IfMatch != "")) {
				api, _, known := toAPIError(res.Err)
				if !known || api.Status >= 500 {
					s.log.Error("delete entry failed", "request_id", r.id, "bucket", r.route.Bucket, "key", key, "err", res.Err.Error())
				}
				if i < len(valid) {
					vid = valid[i].VersionID
				}
				out.Errors = append(out.Errors, DeleteErrorXML{Key: key, VersionID: vid, Code: api.Code, Message: api.Message})
				continue
			}
			if req.quiet {
				continue
			}
			d := DeletedXML{Key: key, DeleteMarker: res.DeleteMarker, DeleteMarkerVersionID: res.DeleteMarkerVersionID}
			if i < len(valid) && valid[i].VersionID != "" {
				d.VersionID = valid[i].VersionID
			}
			out.Deleted = append(out.Deleted, d)
		}
	}
	out.Errors = append(out.Errors, bad...)
	return &response{xml: out}, nil
}

// deleteDoc is a decoded and validated DeleteObjects request.
type deleteDoc struct {
	quiet   bool
	Objects []deleteRequObj
}

// decodeDelete parses a Delete document: 1 to 1000 objects, each with a
// key, and an optional boolean Quiet.
func decodeDelete(data []byte) (*deleteDoc, error) {
	var req deleteRequest
	if err := unmarshalXML(data, &req); err != nil {
		return nil, err
	}
	if len(req.Objects) == 0 || len(req.Objects) > maxDeleteObjects {
		return nil, ErrMalformedXML
	}
	for _, o := range req.Objects {
		if o.Key == "" {
			return nil, ErrMalformedXML
		}
	}
	doc := &deleteDoc{Objects: req.Objects}
	switch strings.ToLower(strings.TrimSpace(req.Quiet)) {
	case "", "false":
	case "true":
		doc.quiet = true
	default:
		return nil, ErrMalformedXML
	}
	return doc, nil
}
