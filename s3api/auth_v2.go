package s3api

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AWS Signature Version 2: "Signing and authenticating REST requests" of
// the Amazon S3 developer guide.
//
//	StringToSign = HTTP-Verb "\n" Content-MD5 "\n" Content-Type "\n" Date-or-Expires "\n"
//	               CanonicalizedAmzHeaders CanonicalizedResource
//
// Clients disagree on a few details (which sub-resources to sign, whether
// x-amz-date replaces Date, whether headers of a presigned URL travel as
// query parameters), so the verifier computes each plausible string to
// sign, at most a few dozen HMAC-SHA1s and only when the first fails. All
// of them sign the same request, so accepting any of them accepts nothing
// the client did not sign.

// Sub-resource sets: which query parameters go into CanonicalizedResource.
const (
	subAWS   = 1 << iota // the S3 documentation and S3 itself: every set below
	subBoto              // botocore HmacV1Auth.QSAOfInterest
	subMinio             // minio-go resourceList
)

var v2SubResources = map[string]int{
	"accelerate":                   subAWS | subBoto,
	"acl":                          subAWS | subBoto | subMinio,
	"analytics":                    subAWS | subBoto,
	"cors":                         subAWS | subBoto | subMinio,
	"defaultObjectAcl":             subAWS | subBoto,
	"delete":                       subAWS | subBoto | subMinio,
	"encryption":                   subAWS | subMinio,
	"inventory":                    subAWS | subBoto,
	"legal-hold":                   subAWS | subMinio,
	"lifecycle":                    subAWS | subBoto | subMinio,
	"location":                     subAWS | subBoto | subMinio,
	"logging":                      subAWS | subBoto | subMinio,
	"metrics":                      subAWS | subBoto,
	"notification":                 subAWS | subBoto | subMinio,
	"object-lock":                  subAWS | subBoto,
	"partNumber":                   subAWS | subBoto | subMinio,
	"policy":                       subAWS | subBoto | subMinio,
	"replication":                  subAWS | subBoto | subMinio,
	"requestPayment":               subAWS | subBoto | subMinio,
	"response-cache-control":       subAWS | subBoto | subMinio,
	"response-content-disposition": subAWS | subBoto | subMinio,
	"response-content-encoding":    subAWS | subBoto | subMinio,
	"response-content-language":    subAWS | subBoto | subMinio,
	"response-content-type":        subAWS | subBoto | subMinio,
	"response-expires":             subAWS | subBoto | subMinio,
	"restore":                      subAWS | subBoto,
	"retention":                    subAWS | subMinio,
	"select":                       subAWS | subBoto | subMinio,
	"select-type":                  subAWS | subBoto | subMinio,
	"storageClass":                 subAWS | subBoto,
	"tagging":                      subAWS | subBoto | subMinio,
	"torrent":                      subAWS | subBoto | subMinio,
	"uploadId":                     subAWS | subBoto | subMinio,
	"uploads":                      subAWS | subBoto | subMinio,
	"versionId":                    subAWS | subBoto | subMinio,
	"versioning":                   subAWS | subBoto | subMinio,
	"versions":                     subAWS | subBoto | subMinio,
	"website":                      subAWS | subBoto | subMinio,
}

// maxV2Candidates bounds the strings to sign tried for one request.
const maxV2Candidates = 64

// unsignableV2 refuses a SigV2 request carrying a header that must be
// signed but that SigV2 cannot sign: its string to sign covers only the
// x-amz-* headers, so X-Tigris-* and X-Forkstore-* headers (which change
// what the request does) need Signature Version 4.
func unsignableV2(h http.Header) *APIError {
	for k := range h {
		if mustSign(k) && !hasPrefixFold(k, "x-amz-") {
			return ErrHeadersNotSigned.WithMessage(ErrHeadersNotSigned.Message + ": " + strings.ToLower(k) +
				" (Signature Version 2 cannot sign it: use Signature Version 4)")
		}
	}
	return nil
}

// verifyPresignV2 authenticates the query form
// ?AWSAccessKeyId=AKID&Expires=unix-seconds&Signature=base64.
func (a *Authenticator) verifyPresignV2(r *AuthRequest, q authQuery) (*AuthResult, *APIError) {
	accessKey, ok1 := q.get("AWSAccessKeyId")
	expires, ok2 := q.get("Expires")
	rawSig, ok3 := rawQueryValue(r.RawQuery, "Signature")
	if !ok1 || !ok2 || !ok3 || accessKey == "" || rawSig == "" {
		return nil, ErrAccessDenied.WithMessage("Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
	}
	if aerr := unsignableV2(r.Header); aerr != nil {
		return nil, aerr
	}
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil {
		return nil, ErrAccessDenied.WithMessage("Invalid date (should be seconds since epoch): " + expires)
	}
	if a.now().Unix() > exp {
		return nil, ErrExpiredPresign
	}
	secret, aerr := a.secret(accessKey)
	if aerr != nil {
		return nil, aerr
	}
	// botocore moves Content-Type, Content-MD5 and x-amz-* headers of a
	// presigned request into the query; the URL's user may not send them.
	headerOr := func(header, param string) string {
		if v := strings.TrimSpace(r.Header.Get(header)); v != "" {
			return v
		}
		v, _ := q.get(param)
		return strings.TrimSpace(v)
	}
	amz := []string{canonicalAmzHeaders(r.Header, nil, "")}
	if withQuery := canonicalAmzHeaders(r.Header, q, ""); withQuery != amz[0] {
		amz = append(amz, withQuery)
	}
	c := v2Candidates{method: r.Method, md5: headerOr("Content-Md5", "content-md5"), ctype: headerOr("Content-Type", "content-type")}
	for _, h := range amz {
		c.add(expires, h, a.v2Resources(r, q))
	}
	if !c.verify(secret, pathUnescape(rawSig)) {
		return nil, ErrSignatureDoesNotMatch
	}
	return payload(r, accessKey, payloadUnsigned, [32]byte{}, nil)
}

// verifyHeaderV2 authenticates "Authorization: AWS AKID:base64-signature".
func (a *Authenticator) verifyHeaderV2(r *AuthRequest, q authQuery, authz string) (*AuthResult, *APIError) {
	cred := strings.TrimSpace(authz[len("AWS"):])
	i := strings.LastIndexByte(cred, ':')
	if i <= 0 || i == len(cred)-1 {
		return nil, ErrInvalidArgument.WithMessage("AWS authorization header is invalid.  Expected AwsAccessKeyId:signature")
	}
	accessKey, sig := cred[:i], cred[i+1:]
	if aerr := unsignableV2(r.Header); aerr != nil {
		return nil, aerr
	}

	date, amzDate := r.Header.Get("Date"), r.Header.Get("X-Amz-Date")
	ts := amzDate
	if ts == "" {
		ts = date
	}
	t, err := parseV2Time(ts)
	if err != nil {
		return nil, ErrMissingDateHeader
	}
	if aerr := a.checkSkew(t); aerr != nil {
		return nil, aerr
	}
	secret, aerr := a.secret(accessKey)
	if aerr != nil {
		return nil, aerr
	}
	c := v2Candidates{method: r.Method, md5: strings.TrimSpace(r.Header.Get("Content-Md5")), ctype: strings.TrimSpace(r.Header.Get("Content-Type"))}
	res := a.v2Resources(r, q)
	all := canonicalAmzHeaders(r.Header, nil, "")
	if amzDate == "" {
		c.add(date, all, res)
	} else {
		// The documented rule: x-amz-date is signed as an x-amz- header and
		// the Date line is empty. SDKs (botocore, minio-go) sign the Date
		// header as well; the documentation's example signs x-amz-date on
		// the Date line instead of among the x-amz- headers.
		c.add("", all, res)
		c.add(date, all, res)
		c.add(amzDate, canonicalAmzHeaders(r.Header, nil, "x-amz-date"), res)
	}
	if !c.verify(secret, sig) {
		return nil, ErrSignatureDoesNotMatch
	}
	return payload(r, accessKey, payloadUnsigned, [32]byte{}, nil)
}

// parseV2Time parses an HTTP date (RFC 2616 formats, as SigV2 requires)
// or, as some clients send in x-amz-date, ISO 8601 basic.
func parseV2Time(s string) (time.Time, error) {
	if t, err := http.ParseTime(s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC1123Z, s); err == nil {
		return t, nil
	}
	return time.Parse(iso8601Basic, s)
}

// v2Candidates collects distinct strings to sign.
type v2Candidates struct {
	method, md5, ctype string
	sts                []string
}

func (c *v2Candidates) add(date, amzHeaders string, resources []string) {
	for _, res := range resources {
		s := c.method + "\n" + c.md5 + "\n" + c.ctype + "\n" + date + "\n" + amzHeaders + res
		if len(c.sts) < maxV2Candidates && !slices.Contains(c.sts, s) {
			c.sts = append(c.sts, s)
		}
	}
}

// verify reports whether sig signs one of the candidates.
func (c *v2Candidates) verify(secret, sig string) bool {
	m := hmac.New(sha1.New, []byte(secret))
	var sum [sha1.Size]byte
	var enc [28]byte // base64 of 20 bytes
	for _, s := range c.sts {
		m.Reset()
		m.Write([]byte(s))
		base64.StdEncoding.Encode(enc[:], m.Sum(sum[:0]))
		if hmac.Equal(enc[:], []byte(sig)) {
			return true
		}
	}
	return false
}

// canonicalAmzHeaders builds CanonicalizedAmzHeaders: every x-amz-* header,
// lower case, sorted, values trimmed (inner spaces kept, unlike SigV4) and
// joined by commas, one per line.
// With q, x-amz-* query parameters stand in for absent headers. skip names
// a header to leave out.
func canonicalAmzHeaders(h http.Header, q authQuery, skip string) string {
	vals := map[string][]string{}
	for k, vv := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-") && lk != skip {
			vals[lk] = append(vals[lk], vv...)
		}
	}
	for _, p := range q {
		lk := strings.ToLower(p.key)
		if !strings.HasPrefix(lk, "x-amz-") || lk == skip {
			continue
		}
		if _, inHeader := h[http.CanonicalHeaderKey(lk)]; !inHeader {
			vals[lk] = append(vals[lk], p.value)
		}
	}
	if len(vals) == 0 {
		return ""
	}
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k)
		b.WriteByte(':')
		for i, v := range vals[k] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.TrimSpace(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// v2Resources returns the distinct CanonicalizedResource candidates: the
// path as sent (as S3 signs it), in AWS encoding (as minio-go signs it)
// and, for a bucket, with a final slash (as botocore signs it), each with
// the sub-resources of each client's list.
func (a *Authenticator) v2Resources(r *AuthRequest, q authQuery) []string {
	path := r.RawPath
	if path == "" {
		path = "/"
	}
	prefix := ""
	if a.VirtualHostBucket != nil {
		if b, ok := a.VirtualHostBucket(r.Host); ok && b != "" {
			prefix = "/" + b
		}
	}
	paths := []string{prefix + path}
	if enc := prefix + canonicalURI(path); enc != paths[0] {
		paths = append(paths, enc)
	}
	if prefix == "" && len(path) > 1 && strings.IndexByte(path[1:], '/') < 0 {
		// A path-style request for a bucket itself: botocore signs
		// "/bucket/" for "/bucket".
		paths = append(paths, path+"/")
	}
	var out []string
	for _, set := range [...]int{subAWS, subBoto, subMinio} {
		sub := v2SubResourceString(q, set)
		for _, p := range paths {
			if s := p + sub; !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// v2SubResourceString returns "?name=value&name" for the sub-resources of
// set present in q, sorted by name, values decoded; a name without a value
// stands alone.
func v2SubResourceString(q authQuery, set int) string {
	var subs []authQueryParam
	for _, p := range q {
		if v2SubResources[p.key]&set != 0 {
			subs = append(subs, p)
		}
	}
	if len(subs) == 0 {
		return ""
	}
	slices.SortStableFunc(subs, func(a, b authQueryParam) int { return strings.Compare(a.key, b.key) })
	var b strings.Builder
	for i, p := range subs {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(p.key)
		if p.value != "" {
			b.WriteByte('=')
			b.WriteString(p.value)
		}
	}
	return b.String()
}

// rawQueryValue returns the still-encoded value of the first parameter
// named key.
func rawQueryValue(raw, key string) (string, bool) {
	for pair := range strings.SplitSeq(raw, "&") {
		k, v, _ := strings.Cut(pair, "=")
		if queryUnescape(k) == key {
			return v, true
		}
	}
	return "", false
}
