package s3api

import (
	"crypto/hmac"
	"slices"
	"strconv"
	"time"
)

// SigV4 presigned URLs: "Authenticating Requests: Using Query Parameters
// (AWS Signature Version 4)" of the Amazon S3 API reference.

// maxPresignExpires is the longest X-Amz-Expires: one week.
const maxPresignExpires = 7 * 24 * 60 * 60

// Out-of-range X-Amz-Expires values (403, as S3 answers them).
var (
	errPresignExpiresNegative = ErrAccessDenied.WithMessage("X-Amz-Expires must be non-negative")
	errPresignExpiresTooLong  = ErrAccessDenied.WithMessage("X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds")
)

func malformedQuery(msg string) *APIError {
	return ErrAuthorizationQueryMalformed.WithMessage(msg)
}

// verifyPresignV4 authenticates a request carrying X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and
// X-Amz-Signature. The payload is UNSIGNED-PAYLOAD unless the query (or a
// signed x-amz-content-sha256 header) gives its SHA-256.
func (a *Authenticator) verifyPresignV4(r *AuthRequest, q authQuery) (*AuthResult, *APIError) {
	var v [6]string
	for i, name := range [...]string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"} {
		s, ok := q.get(name)
		if !ok || s == "" {
			return nil, malformedQuery("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
		}
		v[i] = s
	}
	alg, credStr, signature, amzDate, signedRaw, expiresStr := v[0], v[1], v[2], v[3], v[4], v[5]
	if alg != signV4Algorithm {
		return nil, malformedQuery("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
	}
	cred, detail := parseCredential(credStr)
	if detail != "" {
		return nil, malformedQuery("Error parsing the X-Amz-Credential parameter; " + detail)
	}
	if !a.regionOK(cred.region, r, q) {
		return nil, malformedQuery("Error parsing the X-Amz-Credential parameter; " + wrongRegion(cred.region, a.Region))
	}
	t, err := time.Parse(iso8601Basic, amzDate)
	if err != nil {
		return nil, malformedQuery("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	expires, err := strconv.ParseInt(expiresStr, 10, 64)
	switch {
	// An expiry out of range is refused with 403, as S3 does (and as the
	// conformance suites check); a value that is not a number is malformed.
	case err != nil && len(expiresStr) > 0 && expiresStr[0] == '-':
		return nil, errPresignExpiresNegative
	case err != nil:
		return nil, malformedQuery("X-Amz-Expires should be a number")
	case expires < 0:
		return nil, errPresignExpiresNegative
	case expires > maxPresignExpires:
		return nil, errPresignExpiresTooLong
	}
	if amzDate[:len(scopeDate)] != cred.date {
		return nil, malformedQuery("Invalid credential date. Date is not the same as X-Amz-Date.")
	}
	signed, ok := parseSignedHeaders(signedRaw)
	if !ok {
		return nil, malformedQuery("X-Amz-SignedHeaders is malformed")
	}
	now := a.now()
	if t.Sub(now) > a.maxSkew() {
		return nil, ErrPresignNotYetValid
	}
	if now.After(t.Add(time.Duration(expires) * time.Second)) {
		return nil, ErrExpiredPresign
	}
	if aerr := checkSignedHeaders(r.Header, signed, true); aerr != nil {
		return nil, aerr
	}

	// hashed is the payload hash the signature covers; claimed is the
	// one the body must match, which may come from an unsigned header: a
	// claim nobody checks must not be stored as if it had been.
	hashed, ok := q.get("X-Amz-Content-Sha256")
	if !ok {
		hashed = unsignedPayload
		if slices.Contains(signed, "x-amz-content-sha256") {
			hashed = r.Header.Get(headerContentSHA256)
		}
	}
	claimed := hashed
	if hashed == unsignedPayload {
		if v := r.Header.Get(headerContentSHA256); v != "" {
			claimed = v
		}
	}
	mode, sum, aerr := parsePayloadMode(claimed)
	if aerr != nil {
		return nil, aerr
	}
	if mode != payloadUnsigned && mode != payloadSHA256 {
		return nil, ErrInvalidContentSHA256.WithMessage("A presigned request cannot stream an aws-chunked payload.")
	}

	secret, aerr := a.secret(cred.accessKey)
	if aerr != nil {
		return nil, aerr
	}
	key := cachedSigningKey(secret, cred.date, cred.region)
	creq := canonicalRequest(r, signed, signedRaw, canonicalQuery(r.RawQuery, true), hashed)
	sig := signV4(key, amzDate, cred.scope(), creq)
	if !hmac.Equal([]byte(sig), []byte(signature)) {
		return nil, ErrSignatureDoesNotMatch
	}
	return payload(r, cred.accessKey, mode, sum, nil)
}
