package s3api

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"strconv"
	"strings"

	"github.com/forkstore/forkstore/meta"
)

// maxListKeys is S3's cap on max-keys, max-uploads and max-parts.
const maxListKeys = 1000

// listParams are the parameters shared by the listings.
type listParams struct {
	prefix    string
	delimiter string
	maxKeys   int
	url       bool // encoding-type=url
}

// enc encodes a listing field for the response (encoding-type=url).
func (p *listParams) enc(s string) string {
	if p.url {
		return s3URLEncode(s)
	}
	return s
}

// encodingType is what the response echoes.
func (p *listParams) encodingType() string {
	if p.url {
		return "url"
	}
	return ""
}

// parseListParams reads prefix, delimiter, encoding-type and the max
// parameter named maxName (default and cap 1000, invalid is
// InvalidArgument).
func (r *request) parseListParams(maxName string) (*listParams, error) {
	p := &listParams{prefix: r.query.Get("prefix"), delimiter: r.query.Get("delimiter"), maxKeys: maxListKeys}
	if v, ok := r.query[maxName]; ok && len(v) > 0 {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 0 {
			return nil, invalidArg("Provided "+maxName+" not an integer or within integer range", maxName, v[0])
		}
		p.maxKeys = min(n, maxListKeys)
	}
	switch et := r.query.Get("encoding-type"); {
	case et == "":
	case strings.EqualFold(et, "url"):
		p.url = true
	default:
		return nil, invalidArg("Invalid Encoding Method specified in Request", "encoding-type", et)
	}
	return p, nil
}

// commonPrefixes renders rolled-up prefixes.
func (p *listParams) commonPrefixes(list []string) []CommonPrefix {
	if len(list) == 0 {
		return nil
	}
	out := make([]CommonPrefix, len(list))
	for i, cp := range list {
		out[i] = CommonPrefix{Prefix: p.enc(cp)}
	}
	return out
}

// objectEntry renders one Contents entry.
func (p *listParams) objectEntry(o *meta.Object, owner *Owner) ObjectXML {
	return ObjectXML{
		Key:               p.enc(o.Key),
		LastModified:      xmlTime(o.LastModified),
		ETag:              o.ETag,
		ChecksumAlgorithm: o.Checksum.Algorithm,
		ChecksumType:      o.Checksum.Type,
		Size:              o.Size,
		Owner:             owner,
		StorageClass:      storageClass,
	}
}

// list runs a ListObjects page. max-keys=0 returns nothing (after checking
// the bucket exists).
func (s *Server) list(r *request, p *listParams, after string) (*meta.ListResult, error) {
	at, err := s.readAt(r, r.route.Bucket)
	if err != nil {
		return nil, err
	}
	if p.maxKeys == 0 {
		if _, err := s.svc.HeadBucket(r.ctx, r.route.Bucket); err != nil {
			return nil, err
		}
		return &meta.ListResult{}, nil
	}
	return s.svc.ListObjects(r.ctx, r.route.Bucket, meta.ListOptions{
		Prefix: p.prefix, Delimiter: p.delimiter, After: after, MaxKeys: p.maxKeys, At: at,
	})
}

// listObjectsV1 is ListObjects (v1): Marker, and NextMarker only when a
// delimiter is set and the listing is truncated (without one, clients
// continue from the last key). Every entry has an Owner.
func (s *Server) listObjectsV1(r *request) (*response, error) {
	p, err := r.parseListParams("max-keys")
	if err != nil {
		return nil, err
	}
	marker := r.query.Get("marker")
	res, err := s.list(r, p, marker)
	if err != nil {
		return nil, err
	}
	owner := r.owner()
	out := ListBucketResult{
		Name: r.route.Bucket, Prefix: p.enc(p.prefix), Marker: p.enc(marker),
		MaxKeys: p.maxKeys, Delimiter: p.enc(p.delimiter), IsTruncated: res.IsTruncated,
		EncodingType: p.encodingType(), CommonPrefixes: p.commonPrefixes(res.CommonPrefixes),
	}
	if res.IsTruncated && p.delimiter != "" {
		out.NextMarker = p.enc(res.Next)
	}
	for i := range res.Objects {
		out.Contents = append(out.Contents, p.objectEntry(&res.Objects[i], &owner))
	}
	return &response{xml: out}, nil
}

// encodeToken and decodeToken make continuation tokens opaque and checked:
// base64url of a format byte, the key to continue after and a CRC-32C of
// both, so that a token the server did not issue is refused
// (InvalidArgument, as AWS answers) instead of listing from wherever it
// happens to decode to.
const tokenFormat = 1

var tokenCRC = crc32.MakeTable(crc32.Castagnoli)

func encodeToken(after string) string {
	b := make([]byte, 0, 1+len(after)+4)
	b = append(b, tokenFormat)
	b = append(b, after...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, tokenCRC))
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(tok string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 5 || b[0] != tokenFormat {
		return "", false
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, tokenCRC) != sum {
		return "", false
	}
	return string(body[1:]), true
}

// listObjectsV2 is ListObjectsV2: continuation-token takes precedence over
// start-after; KeyCount counts keys and common prefixes; fetch-owner adds
// Owner.
func (s *Server) listObjectsV2(r *request) (*response, error) {
	p, err := r.parseListParams("max-keys")
	if err != nil {
		return nil, err
	}
	startAfter := r.query.Get("start-after")
	after := startAfter
	token, hasToken := r.query.Get("continuation-token"), r.query.Has("continuation-token")
	if hasToken {
		a, ok := decodeToken(token)
		if !ok {
			return nil, invalidArg("The continuation token provided is incorrect", "continuation-token", token)
		}
		if a > after {
			after = a
		}
	}
	res, err := s.list(r, p, after)
	if err != nil {
		return nil, err
	}
	var owner *Owner
	if fo := r.query.Get("fetch-owner"); strings.EqualFold(fo, "true") {
		o := r.owner()
		owner = &o
	}
	out := ListBucketResultV2{
		Name: r.route.Bucket, Prefix: p.enc(p.prefix), MaxKeys: p.maxKeys,
		KeyCount:  len(res.Objects) + len(res.CommonPrefixes),
		Delimiter: p.enc(p.delimiter), IsTruncated: res.IsTruncated,
		ContinuationToken: token, StartAfter: p.enc(startAfter),
		EncodingType: p.encodingType(), CommonPrefixes: p.commonPrefixes(res.CommonPrefixes),
	}
	if res.IsTruncated {
		out.NextContinuationToken = encodeToken(res.Next)
	}
	for i := range res.Objects {
		out.Contents = append(out.Contents, p.objectEntry(&res.Objects[i], owner))
	}
	return &response{xml: out}, nil
}

// listObjectVersions is ListObjectVersions.
func (s *Server) listObjectVersions(r *request) (*response, error) {
	p, err := r.parseListParams("max-keys")
	if err != nil {
		return nil, err
	}
	keyMarker := r.query.Get("key-marker")
	vidMarker := r.query.Get("version-id-marker")
	if vidMarker != "" {
		if keyMarker == "" {
			return nil, invalidArg("A version-id marker cannot be specified without a key marker.", "version-id-marker", vidMarker)
		}
		if _, err := checkVersionID(vidMarker, "version-id-marker"); err != nil {
			return nil, err
		}
	}
	at, err := s.readAt(r, r.route.Bucket)
	if err != nil {
		return nil, err
	}
	var res *meta.VersionListResult
	if p.maxKeys == 0 {
		if _, err := s.svc.HeadBucket(r.ctx, r.route.Bucket); err != nil {
			return nil, err
		}
		res = &meta.VersionListResult{}
	} else {
		res, err = s.svc.ListObjectVersions(r.ctx, r.route.Bucket, meta.VersionListOptions{
			Prefix: p.prefix, Delimiter: p.delimiter, KeyMarker: keyMarker,
			VersionIDMarker: vidMarker, MaxKeys: p.maxKeys, At: at,
		})
		if err != nil {
			return nil, err
		}
	}
	owner := r.owner()
	out := ListVersionsResult{
		Name: r.route.Bucket, Prefix: p.enc(p.prefix), KeyMarker: p.enc(keyMarker),
		VersionIDMarker: vidMarker, MaxKeys: p.maxKeys, Delimiter: p.enc(p.delimiter),
		IsTruncated: res.IsTruncated, EncodingType: p.encodingType(),
		CommonPrefixes: p.commonPrefixes(res.CommonPrefixes),
	}
	if res.IsTruncated {
		out.NextKeyMarker = p.enc(res.NextKeyMarker)
		out.NextVersionIDMarker = res.NextVersionIDMarker
	}
	for i := range res.Versions {
		v := &res.Versions[i]
		if v.DeleteMarker {
			out.Entries = append(out.Entries, &DeleteMarkerXML{
				Key: p.enc(v.Key), VersionID: versionID(&v.Object), IsLatest: v.IsLatest,
				LastModified: xmlTime(v.LastModified), Owner: owner,
			})
			continue
		}
		out.Entries = append(out.Entries, &VersionXML{
			Key: p.enc(v.Key), VersionID: versionID(&v.Object), IsLatest: v.IsLatest,
			LastModified: xmlTime(v.LastModified), ETag: v.ETag,
			ChecksumAlgorithm: v.Checksum.Algorithm, ChecksumType: v.Checksum.Type,
			Size: v.Size, StorageClass: storageClass, Owner: owner,
		})
	}
	return &response{xml: out}, nil
}

// listMultipartUploads is ListMultipartUploads.
func (s *Server) listMultipartUploads(r *request) (*response, error) {
	p, err := r.parseListParams("max-uploads")
	if err != nil {
		return nil, err
	}
	keyMarker, idMarker := r.query.Get("key-marker"), r.query.Get("upload-id-marker")
	if keyMarker == "" {
		// S3 ignores upload-id-marker without key-marker.
		idMarker = ""
	}
	var res *meta.UploadListResult
	if p.maxKeys == 0 {
		if _, err := s.svc.HeadBucket(r.ctx, r.route.Bucket); err != nil {
			return nil, err
		}
		res = &meta.UploadListResult{}
	} else {
		res, err = s.svc.ListMultipartUploads(r.ctx, r.route.Bucket, meta.UploadListOptions{
			Prefix: p.prefix, Delimiter: p.delimiter, KeyMarker: keyMarker,
			UploadIDMarker: idMarker, MaxUploads: p.maxKeys,
		})
		if err != nil {
			return nil, err
		}
	}
	owner := r.owner()
	out := ListMultipartUploadsResult{
		Bucket: r.route.Bucket, KeyMarker: p.enc(keyMarker), UploadIDMarker: idMarker,
		Delimiter: p.enc(p.delimiter), Prefix: p.enc(p.prefix), MaxUploads: p.maxKeys,
		IsTruncated: res.IsTruncated, EncodingType: p.encodingType(),
		CommonPrefixes: p.commonPrefixes(res.CommonPrefixes),
	}
	if res.IsTruncated {
		out.NextKeyMarker = p.enc(res.NextKeyMarker)
		out.NextUploadIDMarker = res.NextUploadIDMarker
	}
	for _, u := range res.Uploads {
		out.Uploads = append(out.Uploads, UploadXML{
			Key: p.enc(u.Key), UploadID: u.UploadID, Initiator: owner, Owner: owner,
			StorageClass: storageClass, Initiated: xmlTime(u.Initiated),
			ChecksumAlgorithm: u.Template.Checksum.Algorithm, ChecksumType: u.Template.Checksum.Type,
		})
	}
	return &response{xml: out}, nil
}
