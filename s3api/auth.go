package s3api

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Request authentication, independent of the HTTP framework.
//
// Authenticate accepts the four ways S3 clients sign requests:
//   - SigV4 in the Authorization header (auth_sigv4.go), with any of the
//     x-amz-content-sha256 payload modes, including aws-chunked streaming
//     uploads with or without trailers (chunked.go);
//   - SigV4 presigned query parameters (auth_presign.go);
//   - SigV2 presigned query parameters, which boto3 produces by default for
//     us-east-1, and the SigV2 Authorization header (auth_v2.go).
//
// A request with none of them is anonymous: Authenticate admits it with an
// empty AccessKey, and authorize (authz.go) decides what it may do, which
// is only what ACLs grant to everyone. An anonymous request may not carry
// X-Tigris-* or X-Forkstore-* headers: snapshots and forks need a
// signature.

// AuthRequest is what authentication needs from an HTTP request.
type AuthRequest struct {
	Method        string
	Host          string      // Host header as received
	RawPath       string      // the request path exactly as sent on the wire (still percent-encoded)
	RawQuery      string      // the query string exactly as sent
	Header        http.Header // canonical header names
	Body          io.Reader   // raw body stream
	ContentLength int64       // -1 if unknown
}

// AuthResult is an authenticated request.
type AuthResult struct {
	// AccessKey is the key that signed the request, "" for an anonymous
	// one.
	AccessKey string
	// Body is the payload for the handler: aws-chunked decoded with every
	// chunk signature verified; for a literal x-amz-content-sha256, a reader
	// that hashes while reading and returns ErrXAmzContentSHA256Mismatch
	// instead of io.EOF at the end on mismatch; otherwise the raw body.
	// Every variant returns ErrIncompleteBody instead of io.EOF when the body
	// is shorter than declared. Only a Body read to io.EOF was verified: the
	// handler commits data only after that.
	Body io.Reader
	// PayloadSigned reports whether the signature covers the payload: a
	// literal x-amz-content-sha256 or signed aws-chunked (not
	// UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER or SigV2).
	PayloadSigned bool
	// Size is the decoded payload length if known
	// (x-amz-decoded-content-length for aws-chunked; Content-Length
	// otherwise), else -1.
	Size int64
	// Trailer returns the trailing headers (e.g. x-amz-checksum-crc32), with
	// canonical names, once Body has returned io.EOF; nil when the request has
	// none or Body has not reached io.EOF yet. Trailer itself is never nil.
	Trailer func() http.Header
}

// Authenticator verifies request signatures against a set of access keys.
// It holds no per-request state and is safe for concurrent use.
type Authenticator struct {
	// Region is the region the credential scope must name. Empty accepts
	// any region. GetBucketLocation (GET ?location) and ListBuckets (GET /)
	// may also be signed for us-east-1, as AWS allows and minio-go relies on.
	Region string
	// Secret returns the secret key of an access key.
	Secret func(accessKey string) (secret string, ok bool)
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxSkew bounds the difference between the request time and Now;
	// 0 means 15 minutes.
	MaxSkew time.Duration
	// VirtualHostBucket names the bucket that a virtual-hosted-style request
	// addresses through its Host header (port included in host). SigV2
	// signs that bucket into its canonical resource; when nil, SigV2
	// requests verify only in path style, the only style boto3 uses with a
	// custom endpoint URL.
	VirtualHostBucket func(host string) (bucket string, ok bool)
}

// Authentication errors beyond the common ones of apierror.go (AWS codes
// and messages).
var (
	ErrMissingSecurityHeader    = &APIError{"InvalidRequest", "Missing required header for this request: x-amz-content-sha256", http.StatusBadRequest}
	ErrInvalidContentSHA256     = &APIError{"InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.", http.StatusBadRequest}
	ErrHeadersNotSigned         = &APIError{"AccessDenied", "There were headers present in the request which were not signed", http.StatusForbidden}
	ErrMissingDateHeader        = &APIError{"AccessDenied", "AWS authentication requires a valid Date or x-amz-date header", http.StatusForbidden}
	ErrPresignNotYetValid       = &APIError{"AccessDenied", "Request is not valid yet", http.StatusForbidden}
	ErrUnsupportedAuthorization = &APIError{"InvalidArgument", "Unsupported Authorization Type", http.StatusBadRequest}
	ErrMultipleAuthMechanisms   = &APIError{"InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified", http.StatusBadRequest}
	ErrMalformedTrailer         = &APIError{"MalformedTrailerError", "The request contained trailing data that was not well-formed or did not conform to our published schema.", http.StatusBadRequest}
	ErrMalformedChunkedEncoding = &APIError{"InvalidRequest", "The aws-chunked encoded request body is malformed.", http.StatusBadRequest}
	ErrDecodedLengthExceeded    = &APIError{"InvalidRequest", "The decoded request body is longer than x-amz-decoded-content-length.", http.StatusBadRequest}
	ErrBodyLongerThanDeclared   = &APIError{"InvalidRequest", "The request body is longer than the Content-Length HTTP header.", http.StatusBadRequest}
	ErrSigV4aNotImplemented     = &APIError{"NotImplemented", "AWS4-ECDSA-P256-SHA256 (SigV4a) signatures are not implemented.", http.StatusNotImplemented}
)

// x-amz-content-sha256 values that are not a hash.
const (
	unsignedPayload            = "UNSIGNED-PAYLOAD"
	streamingPayload           = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingPayloadTrailer    = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrailer   = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	streamingECDSAPrefix       = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
	emptySHA256                = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	defaultMaxSkew             = 15 * time.Minute
	headerAuthorization        = "Authorization"
	headerContentSHA256        = "X-Amz-Content-Sha256"
	headerDecodedContentLength = "X-Amz-Decoded-Content-Length"
	headerTrailer              = "X-Amz-Trailer"
)

// payloadMode is how the payload is protected.
type payloadMode int

const (
	payloadUnsigned                 payloadMode = iota // UNSIGNED-PAYLOAD, SigV2
	payloadSHA256                                      // literal hex SHA-256
	payloadStreamingSigned                             // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
	payloadStreamingSignedTrailer                      // ...-PAYLOAD-TRAILER
	payloadStreamingUnsignedTrailer                    // STREAMING-UNSIGNED-PAYLOAD-TRAILER
)

// Authenticate verifies the signature of r and returns the access key and
// the payload reader. Errors are *APIError.
func (a *Authenticator) Authenticate(r *AuthRequest) (*AuthResult, error) {
	res, err := a.authenticate(r)
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (a *Authenticator) authenticate(r *AuthRequest) (*AuthResult, *APIError) {
	authz := ""
	if v := r.Header[headerAuthorization]; len(v) > 0 {
		authz = v[0]
	}
	q := parseAuthQuery(r.RawQuery)
	presignV4 := q.has("X-Amz-Algorithm") || q.has("X-Amz-Credential") || q.has("X-Amz-Signature")
	presignV2 := q.has("AWSAccessKeyId") || (q.has("Signature") && q.has("Expires"))
	n := 0
	for _, b := range []bool{authz != "", presignV4, presignV2} {
		if b {
			n++
		}
	}
	switch {
	case n == 0:
		return anonymous(r)
	case n > 1:
		return nil, ErrMultipleAuthMechanisms
	case presignV4:
		return a.verifyPresignV4(r, q)
	case presignV2:
		return a.verifyPresignV2(r, q)
	}
	scheme := strings.TrimLeft(authz, " \t")
	switch {
	case strings.HasPrefix(scheme, signV4Algorithm):
		return a.verifyHeaderV4(r, q, authz)
	case strings.HasPrefix(scheme, "AWS4-ECDSA-P256-SHA256"):
		return nil, ErrSigV4aNotImplemented
	case strings.HasPrefix(scheme, "AWS ") || strings.HasPrefix(scheme, "AWS\t"):
		return a.verifyHeaderV2(r, q, scheme)
	}
	return nil, ErrUnsupportedAuthorization
}

// errAnonymousForkHeaders refuses an unsigned request that names a
// snapshot or fork.
var errAnonymousForkHeaders = ErrAccessDenied.WithMessage("X-Tigris-* and X-Forkstore-* headers need a signed request")

// anonymous admits an unsigned request. Its body is checked against a
// literal x-amz-content-sha256 when one is sent, and decoded when it is
// aws-chunked without signatures (STREAMING-UNSIGNED-PAYLOAD-TRAILER);
// signed streaming needs a signature to chain from.
func anonymous(r *AuthRequest) (*AuthResult, *APIError) {
	for k := range r.Header {
		if hasPrefixFold(k, "x-tigris-") || hasPrefixFold(k, "x-forkstore-") {
			return nil, errAnonymousForkHeaders
		}
	}
	mode := payloadUnsigned
	var sum [sha256.Size]byte
	if v := r.Header.Get(headerContentSHA256); v != "" {
		var aerr *APIError
		if mode, sum, aerr = parsePayloadMode(v); aerr != nil {
			return nil, aerr
		}
		if mode == payloadStreamingSigned || mode == payloadStreamingSignedTrailer {
			return nil, ErrAccessDenied
		}
	}
	return payload(r, "", mode, sum, nil)
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Authenticator) maxSkew() time.Duration {
	if a.MaxSkew > 0 {
		return a.MaxSkew
	}
	return defaultMaxSkew
}

// secret looks up the secret key of accessKey.
func (a *Authenticator) secret(accessKey string) (string, *APIError) {
	if a.Secret == nil || accessKey == "" {
		return "", ErrInvalidAccessKeyID
	}
	s, ok := a.Secret(accessKey)
	if !ok {
		return "", ErrInvalidAccessKeyID
	}
	return s, nil
}

// checkSkew reports RequestTimeTooSkewed when t is too far from now.
func (a *Authenticator) checkSkew(t time.Time) *APIError {
	d := a.now().Sub(t)
	if d < 0 {
		d = -d
	}
	if d > a.maxSkew() {
		return ErrRequestTimeTooSkewed
	}
	return nil
}

// parsePayloadMode interprets x-amz-content-sha256. For a literal hash it
// also returns the decoded digest.
func parsePayloadMode(v string) (payloadMode, [sha256.Size]byte, *APIError) {
	var sum [sha256.Size]byte
	switch v {
	case unsignedPayload:
		return payloadUnsigned, sum, nil
	case streamingPayload:
		return payloadStreamingSigned, sum, nil
	case streamingPayloadTrailer:
		return payloadStreamingSignedTrailer, sum, nil
	case streamingUnsignedTrailer:
		return payloadStreamingUnsignedTrailer, sum, nil
	}
	if strings.HasPrefix(v, streamingECDSAPrefix) {
		return 0, sum, ErrSigV4aNotImplemented
	}
	if len(v) != 2*sha256.Size {
		return 0, sum, ErrInvalidContentSHA256
	}
	if _, err := hex.Decode(sum[:], []byte(v)); err != nil {
		return 0, sum, ErrInvalidContentSHA256
	}
	return payloadSHA256, sum, nil
}

// payload builds the AuthResult for a verified request. stream is the
// signing context of the seed signature, needed by signed aws-chunked
// payloads.
func payload(r *AuthRequest, accessKey string, mode payloadMode, sum [sha256.Size]byte, stream *chunkSigner) (*AuthResult, *APIError) {
	body := r.Body
	if body == nil {
		body = bytes.NewReader(nil)
	}
	// The request's strings may live in buffers the HTTP server reuses.
	res := &AuthResult{AccessKey: strings.Clone(accessKey), Size: r.ContentLength, Trailer: noTrailer,
		PayloadSigned: mode == payloadSHA256 || mode == payloadStreamingSigned || mode == payloadStreamingSignedTrailer}
	if res.Size < -1 {
		res.Size = -1
	}
	switch mode {
	case payloadUnsigned:
		res.Body = newVerifyingReader(body, res.Size, nil, sum)
		return res, nil
	case payloadSHA256:
		res.Body = newVerifyingReader(body, res.Size, sha256.New(), sum)
		return res, nil
	}

	decoded := int64(-1)
	if v := r.Header.Get(headerDecodedContentLength); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, ErrInvalidArgument.WithMessage("x-amz-decoded-content-length must be a non-negative integer")
		}
		decoded = n
	}
	cfg := chunkedConfig{decodedLength: decoded}
	if mode != payloadStreamingUnsignedTrailer {
		cfg.signer = stream
	}
	if mode != payloadStreamingSigned {
		cfg.trailer = true
		names, err := parseTrailerNames(r.Header.Values(headerTrailer))
		if err != nil {
			return nil, err
		}
		cfg.declared = names
	}
	cr := newChunkedReader(body, cfg)
	res.Body = cr
	res.Size = decoded
	res.Trailer = cr.Trailer
	return res, nil
}

func noTrailer() http.Header { return nil }

// parseTrailerNames reads x-amz-trailer: a comma-separated list of header
// names, returned in lower case.
func parseTrailerNames(values []string) ([]string, *APIError) {
	var names []string
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			if !validHeaderName(name) || len(names) >= maxTrailers {
				return nil, ErrInvalidArgument.WithMessage("x-amz-trailer is malformed")
			}
			names = append(names, name)
		}
	}
	return names, nil
}

// validHeaderName reports whether s is an HTTP token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// verifyingReader passes a body through, checking its length against
// Content-Length and, when h is set, its SHA-256 against the declared one.
// The digest is computed once, while the handler reads.
type verifyingReader struct {
	r    io.Reader
	size int64 // -1 if unknown
	n    int64
	h    hash.Hash
	want [sha256.Size]byte
	err  error
}

func newVerifyingReader(r io.Reader, size int64, h hash.Hash, want [sha256.Size]byte) *verifyingReader {
	return &verifyingReader{r: r, size: size, h: h, want: want}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	if n > 0 {
		v.n += int64(n)
		if v.size >= 0 && v.n > v.size {
			v.err = ErrBodyLongerThanDeclared
			return 0, v.err
		}
		if v.h != nil {
			v.h.Write(p[:n])
		}
	}
	switch err {
	case nil:
		return n, nil
	case io.EOF:
		v.err = v.finish()
	case io.ErrUnexpectedEOF:
		v.err = ErrIncompleteBody
	default:
		v.err = err
	}
	return n, v.err
}

// finish runs at the end of the body.
func (v *verifyingReader) finish() error {
	if v.size >= 0 && v.n < v.size {
		return ErrIncompleteBody
	}
	if v.h != nil {
		var sum [sha256.Size]byte
		if !hmac.Equal(v.h.Sum(sum[:0]), v.want[:]) {
			return ErrXAmzContentSHA256Mismatch
		}
	}
	return io.EOF
}

// authQueryParam is one name=value pair of a query string, percent-decoded
// ('+' decodes to a space, as in forms and as minio-go signs).
type authQueryParam struct {
	key, value string
	hasValue   bool // the pair had an '='
}

type authQuery []authQueryParam

// parseAuthQuery splits a raw query string. It never fails: a malformed
// percent escape is kept literally.
func parseAuthQuery(raw string) authQuery {
	if raw == "" {
		return nil
	}
	q := make(authQuery, 0, strings.Count(raw, "&")+1)
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, eq := strings.Cut(pair, "=")
		q = append(q, authQueryParam{key: queryUnescape(k), value: queryUnescape(v), hasValue: eq})
	}
	return q
}

func (q authQuery) has(key string) bool {
	_, ok := q.get(key)
	return ok
}

// get returns the value of the first pair named key.
func (q authQuery) get(key string) (string, bool) {
	for _, p := range q {
		if p.key == key {
			return p.value, true
		}
	}
	return "", false
}

// queryUnescape percent-decodes s and turns '+' into a space. Invalid
// escapes stay as they are.
func queryUnescape(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	return unescape(s, true)
}

// pathUnescape percent-decodes s; '+' stays a plus. Invalid escapes stay as
// they are.
func pathUnescape(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	return unescape(s, false)
}

func unescape(s string, plusIsSpace bool) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case c == '+' && plusIsSpace:
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
