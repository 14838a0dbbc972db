package s3api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AWS Signature Version 4 for S3, as specified in "Authenticating Requests
// (AWS Signature Version 4)" of the Amazon S3 API reference.

const (
	signV4Algorithm = "AWS4-HMAC-SHA256"
	iso8601Basic    = "20060102T150405Z"
	scopeDate       = "20060102"
	scopeService    = "s3"
	scopeTerminal   = "aws4_request"
	// maxSignedHeaders bounds SignedHeaders; real clients sign a dozen.
	maxSignedHeaders = 128
)

// v4Credential is the Credential component: access key and scope.
type v4Credential struct {
	accessKey, date, region, service, terminal string
}

// scope is date/region/service/aws4_request.
func (c *v4Credential) scope() string {
	return c.date + "/" + c.region + "/" + c.service + "/" + c.terminal
}

// v4Authorization is a parsed SigV4 Authorization header.
type v4Authorization struct {
	cred          v4Credential
	signedHeaders []string // lower case, in the order given
	signedRaw     string   // SignedHeaders as given, for the canonical request
	signature     string
}

func malformedHeader(detail string) *APIError {
	return ErrAuthorizationHeaderMalformed.WithMessage("The authorization header is malformed; " + detail)
}

// parseAuthorization parses
//
//	AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex
//
// tolerating, as AWS does, any spacing around the separators and any order
// of the three components.
func parseAuthorization(h string) (*v4Authorization, *APIError) {
	h = strings.TrimSpace(h)
	rest, ok := strings.CutPrefix(h, signV4Algorithm)
	if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
		return nil, malformedHeader("the authorization header requires the AWS4-HMAC-SHA256 algorithm followed by Credential, SignedHeaders and Signature.")
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, malformedHeader("the authorization component \"" + part + "\" is malformed.")
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		var dup bool
		switch k {
		case "Credential":
			dup, haveCred, cred = haveCred, true, v
		case "SignedHeaders":
			dup, haveSigned, signed = haveSigned, true, v
		case "Signature":
			dup, haveSig, sig = haveSig, true, v
		default:
			return nil, malformedHeader("the authorization component \"" + part + "\" is malformed.")
		}
		if dup {
			return nil, malformedHeader("the authorization component \"" + k + "\" is repeated.")
		}
	}
	if !haveCred || !haveSigned || !haveSig {
		return nil, malformedHeader("the authorization header requires three components: Credential, SignedHeaders, and Signature.")
	}
	c, err := parseCredential(cred)
	if err != "" {
		return nil, malformedHeader(err)
	}
	names, ok := parseSignedHeaders(signed)
	if !ok {
		return nil, malformedHeader("the SignedHeaders component \"" + signed + "\" is malformed.")
	}
	if sig == "" {
		return nil, malformedHeader("the Signature component is empty.")
	}
	return &v4Authorization{cred: c, signedHeaders: names, signedRaw: signed, signature: sig}, nil
}

// parseCredential splits AKID/YYYYMMDD/REGION/SERVICE/aws4_request. The
// access key is everything before the last four slashes. It returns the
// detail of what is wrong, or "".
func parseCredential(s string) (v4Credential, string) {
	var c v4Credential
	parts := strings.Split(s, "/")
	if len(parts) < 5 {
		return c, "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."
	}
	n := len(parts)
	c.accessKey = strings.Join(parts[:n-4], "/")
	c.date, c.region, c.service, c.terminal = parts[n-4], parts[n-3], parts[n-2], parts[n-1]
	switch {
	case c.accessKey == "":
		return c, "a non-empty Access Key (AKID) must be provided in the credential."
	case !validScopeDate(c.date):
		return c, "Invalid credential date \"" + c.date + "\". This date is not the expected format; expecting YYYYMMDD."
	case c.region == "":
		return c, "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."
	case c.service != scopeService:
		return c, "incorrect service \"" + c.service + "\". This endpoint belongs to \"s3\"."
	case c.terminal != scopeTerminal:
		return c, "incorrect terminal \"" + c.terminal + "\". This endpoint uses \"aws4_request\"."
	}
	return c, ""
}

func validScopeDate(s string) bool {
	if len(s) != len(scopeDate) {
		return false
	}
	_, err := time.Parse(scopeDate, s)
	return err == nil
}

// parseSignedHeaders splits "host;range;x-amz-date" into lower-case names.
func parseSignedHeaders(s string) ([]string, bool) {
	if s == "" {
		return nil, false
	}
	n := strings.Count(s, ";") + 1
	if n > maxSignedHeaders {
		return nil, false
	}
	names := make([]string, 0, n)
	for name := range strings.SplitSeq(s, ";") {
		if !validHeaderName(name) {
			return nil, false
		}
		names = append(names, strings.ToLower(name))
	}
	return names, true
}

// regionOK reports whether a credential scope may name region.
func (a *Authenticator) regionOK(region string, r *AuthRequest, q authQuery) bool {
	if a.Region == "" || region == a.Region {
		return true
	}
	// As on AWS, GetBucketLocation and ListBuckets may be signed for
	// us-east-1 whatever the region: clients (minio-go) send them before
	// they know the region.
	if region != "us-east-1" || r.Method != http.MethodGet {
		return false
	}
	return q.has("location") || a.isListBuckets(r)
}

// isListBuckets reports whether r addresses the service, not a bucket.
func (a *Authenticator) isListBuckets(r *AuthRequest) bool {
	if r.RawPath != "/" && r.RawPath != "" {
		return false
	}
	if a.VirtualHostBucket != nil {
		if b, ok := a.VirtualHostBucket(r.Host); ok && b != "" {
			return false
		}
	}
	return true
}

func wrongRegion(got, want string) string {
	return "the region '" + got + "' is wrong; expecting '" + want + "'"
}

// requestTime returns the request time from x-amz-date, or else Date, and
// the timestamp in the ISO 8601 basic form that the string to sign uses.
func requestTime(h http.Header) (time.Time, string, *APIError) {
	if v := h.Get("X-Amz-Date"); v != "" {
		t, err := time.Parse(iso8601Basic, v)
		if err != nil {
			return time.Time{}, "", ErrMissingDateHeader
		}
		return t, v, nil
	}
	if v := h.Get("Date"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return time.Time{}, "", ErrMissingDateHeader
		}
		t = t.UTC()
		return t, t.Format(iso8601Basic), nil
	}
	return time.Time{}, "", ErrMissingDateHeader
}

// verifyHeaderV4 authenticates a request signed in the Authorization header.
func (a *Authenticator) verifyHeaderV4(r *AuthRequest, q authQuery, authz string) (*AuthResult, *APIError) {
	p, aerr := parseAuthorization(authz)
	if aerr != nil {
		return nil, aerr
	}
	if !a.regionOK(p.cred.region, r, q) {
		return nil, malformedHeader(wrongRegion(p.cred.region, a.Region))
	}
	t, amzDate, aerr := requestTime(r.Header)
	if aerr != nil {
		return nil, aerr
	}
	if amzDate[:len(scopeDate)] != p.cred.date {
		return nil, malformedHeader("Invalid credential date. Date is not the same as X-Amz-Date.")
	}
	if aerr := a.checkSkew(t); aerr != nil {
		return nil, aerr
	}
	if aerr := checkSignedHeaders(r.Header, p.signedHeaders, false); aerr != nil {
		return nil, aerr
	}
	hashed := r.Header.Get(headerContentSHA256)
	if hashed == "" {
		return nil, ErrMissingSecurityHeader
	}
	mode, sum, aerr := parsePayloadMode(hashed)
	if aerr != nil {
		return nil, aerr
	}
	secret, aerr := a.secret(p.cred.accessKey)
	if aerr != nil {
		return nil, aerr
	}
	key := cachedSigningKey(secret, p.cred.date, p.cred.region)
	scope := p.cred.scope()
	creq := canonicalRequest(r, p.signedHeaders, p.signedRaw, canonicalQuery(r.RawQuery, false), hashed)
	sig := signV4(key, amzDate, scope, creq)
	if !hmac.Equal([]byte(sig), []byte(p.signature)) {
		return nil, ErrSignatureDoesNotMatch
	}
	var stream *chunkSigner
	if mode == payloadStreamingSigned || mode == payloadStreamingSignedTrailer {
		stream = newChunkSigner(key, amzDate, scope, sig)
	}
	return payload(r, p.cred.accessKey, mode, sum, stream)
}

// checkSignedHeaders requires host among the signed headers and every
// header that must be signed (mustSign) to be signed, as S3 does for
// x-amz-*: an unsigned one could otherwise be added to a captured request
// or a presigned URL. A presigned request may carry an unsigned
// x-amz-content-sha256, which its signature does not cover (the body is
// checked against it instead).
func checkSignedHeaders(h http.Header, signed []string, presign bool) *APIError {
	if !slices.Contains(signed, "host") {
		return ErrHeadersNotSigned.WithMessage(ErrHeadersNotSigned.Message + ": host")
	}
	for k := range h {
		if !mustSign(k) {
			continue
		}
		lk := strings.ToLower(k)
		if presign && lk == "x-amz-content-sha256" {
			continue
		}
		if !slices.Contains(signed, lk) {
			return ErrHeadersNotSigned.WithMessage(ErrHeadersNotSigned.Message + ": " + lk)
		}
	}
	return nil
}

// mustSign reports a header that a signature must cover: x-amz-*, and the
// headers that change what a request does beyond S3 (X-Tigris-* for
// snapshots and forks, X-Forkstore-*). Any letter case.
func mustSign(name string) bool {
	return hasPrefixFold(name, "x-amz-") || hasPrefixFold(name, "x-tigris-") || hasPrefixFold(name, "x-forkstore-")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// signingKey derives kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), "s3"), "aws4_request").
func signingKey(secret, date, region string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, scopeService)
	return hmacSHA256(k, scopeTerminal)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// signV4 returns the hex signature of the canonical request.
func signV4(key []byte, amzDate, scope, canonicalRequest string) string {
	return hex.EncodeToString(hmacSHA256(key, stringToSignV4(amzDate, scope, canonicalRequest)))
}

func stringToSignV4(amzDate, scope, canonicalRequest string) string {
	h := sha256.Sum256([]byte(canonicalRequest))
	return signV4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(h[:])
}

// canonicalRequest builds
//
//	HTTPMethod \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n HashedPayload
//
// for S3: the URI is encoded once (not twice, as other services do) and not
// normalised beyond that.
func canonicalRequest(r *AuthRequest, signed []string, signedRaw, query, hashedPayload string) string {
	b := make([]byte, 0, 256+len(r.RawPath)+len(query))
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = appendCanonicalURI(b, r.RawPath)
	b = append(b, '\n')
	b = append(b, query...)
	b = append(b, '\n')
	for _, name := range signed {
		b = append(b, name...)
		b = append(b, ':')
		b = appendHeaderValue(b, r, name)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, signedRaw...)
	b = append(b, '\n')
	b = append(b, hashedPayload...)
	return string(b)
}

// appendHeaderValue appends the canonical value of the header name (lower
// case): its values trimmed, inner runs of spaces collapsed, joined by
// commas.
func appendHeaderValue(b []byte, r *AuthRequest, name string) []byte {
	switch name {
	case "host":
		if r.Host != "" {
			return appendTrimAll(b, r.Host)
		}
	case "content-length":
		if _, ok := r.Header["Content-Length"]; !ok && r.ContentLength >= 0 {
			return strconv.AppendInt(b, r.ContentLength, 10)
		}
	}
	values, ok := r.Header[textproto.CanonicalMIMEHeaderKey(name)]
	if !ok {
		// Header maps built by hand may hold non-canonical keys.
		for k, v := range r.Header {
			if strings.EqualFold(k, name) {
				values = v
				break
			}
		}
	}
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTrimAll(b, v)
	}
	return b
}

// appendTrimAll appends s without leading and trailing white space and with
// every inner run of white space replaced by one space (AWS "Trimall",
// implemented as the SDKs do, with Unicode white space).
func appendTrimAll(b []byte, s string) []byte {
	first := true
	for i := 0; i < len(s); {
		// Skip white space.
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if !unicode.IsSpace(r) {
				break
			}
			i += n
		}
		if i >= len(s) {
			break
		}
		j := i
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if unicode.IsSpace(r) {
				break
			}
			j += n
		}
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = append(b, s[i:j]...)
		i = j
	}
	return b
}

// appendCanonicalURI appends the canonical URI of a raw request path: the
// path percent-decoded, then encoded with AWS UriEncode, leaving '/' as is.
// Clients encode paths on the wire in different ways ('$' raw or as %24,
// '~' raw or as %7E, lower- or upper-case hex); S3 signs the decoded key,
// so every spelling of the same key yields the same canonical URI.
func appendCanonicalURI(b []byte, raw string) []byte {
	if raw == "" || raw[0] != '/' {
		b = append(b, '/')
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]) {
			c = unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
		}
		if c == '/' {
			b = append(b, '/')
			continue
		}
		b = appendURIEncodedByte(b, c)
	}
	return b
}

// canonicalURI is appendCanonicalURI as a string.
func canonicalURI(raw string) string {
	return string(appendCanonicalURI(nil, raw))
}

const upperHex = "0123456789ABCDEF"

func isUnreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

func appendURIEncodedByte(b []byte, c byte) []byte {
	if isUnreserved(c) {
		return append(b, c)
	}
	return append(b, '%', upperHex[c>>4], upperHex[c&15])
}

// appendURIEncode appends AWS UriEncode(s) with '/' encoded too.
func appendURIEncode(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		b = appendURIEncodedByte(b, s[i])
	}
	return b
}

// canonicalQuery builds the canonical query string: every parameter
// decoded, then encoded with AWS UriEncode, sorted by name and then value,
// a parameter without a value given an empty one. presign drops
// X-Amz-Signature.
func canonicalQuery(raw string, presign bool) string {
	q := parseAuthQuery(raw)
	if len(q) == 0 {
		return ""
	}
	type kv struct{ k, v string }
	pairs := make([]kv, 0, len(q))
	size := 0
	for _, p := range q {
		if presign && p.key == "X-Amz-Signature" {
			continue
		}
		k := string(appendURIEncode(nil, p.key))
		v := string(appendURIEncode(nil, p.value))
		size += len(k) + len(v) + 2
		pairs = append(pairs, kv{k, v})
	}
	slices.SortFunc(pairs, func(a, b kv) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	out := make([]byte, 0, size)
	for i, p := range pairs {
		if i > 0 {
			out = append(out, '&')
		}
		out = append(out, p.k...)
		out = append(out, '=')
		out = append(out, p.v...)
	}
	return string(out)
}
