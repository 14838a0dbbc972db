package s3api

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/forkstore/forkstore/gateway/checksum"
)

// checksumReq is what a request says about its payload's integrity:
// Content-MD5, and at most one additional checksum given as a header or
// announced as a trailer (x-amz-trailer).
type checksumReq struct {
	md5 []byte // decoded Content-MD5, nil if absent
	// alg is the canonical additional algorithm ("" if none).
	alg string
	// value is the decoded header value; nil when it comes in the trailer.
	value []byte
	// trailer is the trailing header carrying the value ("" if none).
	trailer string
	// verified is the base64 value checked against the payload, for the
	// response header.
	verified string
}

// checksumHeaderPrefix starts the x-amz-checksum-<algorithm> headers.
const checksumHeaderPrefix = "X-Amz-Checksum-"

// checksumRequest parses and validates the integrity headers (AWS rules,
// versitygw's history and the 2025 SDK defaults):
//   - Content-MD5 must be base64 of 16 bytes (else InvalidDigest);
//   - at most one x-amz-checksum-<alg> header, with a well-formed value;
//   - x-amz-trailer together with a checksum header is InvalidRequest;
//   - x-amz-sdk-checksum-algorithm must name the header's or trailer's
//     algorithm.
func (r *request) checksumRequest() (*checksumReq, error) {
	sum, err := contentMD5(r.header)
	if err != nil {
		return nil, err
	}
	cs := &checksumReq{md5: sum}
	var names []string
	for k := range r.header {
		if !strings.HasPrefix(k, checksumHeaderPrefix) {
			continue
		}
		switch k {
		case "X-Amz-Checksum-Algorithm", "X-Amz-Checksum-Type", "X-Amz-Checksum-Mode":
			continue
		}
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) > 1 {
		return nil, ErrInvalidChecksumRequest
	}
	if len(names) == 1 {
		suffix := strings.TrimPrefix(names[0], checksumHeaderPrefix)
		cs.alg = checksum.Canonical(suffix)
		if cs.alg == "" {
			return nil, invalidRequest("The algorithm type you specified in x-amz-checksum- header is invalid.")
		}
		raw := strings.TrimSpace(r.header.Get(names[0]))
		v, err := checksum.Decode(cs.alg, raw)
		if err != nil {
			if !base64Alphabet(raw) {
				return nil, invalidRequest(fmt.Sprintf("Value for x-amz-checksum-%s header is invalid.", strings.ToLower(cs.alg)))
			}
			// A value in base64's alphabet that is not a digest of this
			// algorithm can never match: AWS answers BadDigest, as for
			// any other wrong value.
			return nil, ErrBadChecksum.WithMessage(fmt.Sprintf("The %s you specified did not match the calculated checksum.", cs.alg))
		}
		cs.value = v
	}
	if tr := strings.TrimSpace(r.header.Get("X-Amz-Trailer")); tr != "" {
		if cs.alg != "" {
			return nil, ErrInvalidChecksumRequest
		}
		if strings.Contains(tr, ",") {
			return nil, ErrInvalidChecksumRequest
		}
		name := http.CanonicalHeaderKey(tr)
		if !strings.HasPrefix(name, checksumHeaderPrefix) {
			return nil, invalidRequest("The value specified in the x-amz-trailer header is not supported")
		}
		cs.alg = checksum.Canonical(strings.TrimPrefix(name, checksumHeaderPrefix))
		if cs.alg == "" {
			return nil, invalidRequest("The value specified in the x-amz-trailer header is not supported")
		}
		cs.trailer = name
	}
	if sdk := strings.TrimSpace(r.header.Get("X-Amz-Sdk-Checksum-Algorithm")); sdk != "" {
		alg := checksum.Canonical(sdk)
		switch {
		case alg == "":
			return nil, invalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.")
		case cs.alg == "":
			return nil, invalidRequest("x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.")
		case alg != cs.alg:
			return nil, invalidRequest(fmt.Sprintf("Value for x-amz-sdk-checksum-algorithm header is invalid: it names %s but the checksum is %s.", alg, cs.alg))
		}
	}
	return cs, nil
}

// sent reports whether the client sent a digest of the payload to check
// (Content-MD5, an x-amz-checksum header or trailer).
func (cs *checksumReq) sent() bool {
	return cs.md5 != nil || cs.value != nil || cs.trailer != ""
}

// base64Alphabet reports whether s is non-empty and uses only the
// characters of standard base64 (padding included).
func base64Alphabet(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=':
		default:
			return false
		}
	}
	return true
}

// contentMD5 decodes the Content-MD5 header (nil when absent); it must be
// base64 of 16 bytes, else InvalidDigest.
func contentMD5(h http.Header) ([]byte, error) {
	v, ok := headerValue(h, "Content-Md5")
	if !ok {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil || len(b) != md5.Size {
		return nil, ErrInvalidDigest
	}
	return b, nil
}

// headerValue returns a header's first value and whether it was sent.
func headerValue(h http.Header, name string) (string, bool) {
	v, ok := h[http.CanonicalHeaderKey(name)]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// expected returns the additional checksum the client claims, reading the
// trailer when it is one (only valid once the body reached EOF).
func (cs *checksumReq) expected(r *request) ([]byte, error) {
	if cs.trailer == "" {
		return cs.value, nil
	}
	if r.auth == nil || r.auth.Trailer == nil {
		return nil, ErrMalformedTrailer
	}
	h := r.auth.Trailer()
	v := ""
	if h != nil {
		v = strings.TrimSpace(h.Get(cs.trailer))
	}
	if v == "" {
		return nil, ErrMalformedTrailer
	}
	b, err := checksum.Decode(cs.alg, v)
	if err != nil {
		return nil, invalidRequest(fmt.Sprintf("Value for %s trailing header is invalid.", strings.ToLower(cs.trailer)))
	}
	return b, nil
}

// verify checks the digests of a streamed body against the request's
// claims; it is the gateway's Verify hook, run before anything commits.
func (cs *checksumReq) verify(r *request) func(d *checksum.Digests) error {
	return func(d *checksum.Digests) error {
		if cs.md5 != nil && !bytes.Equal(cs.md5, d.MD5) {
			return ErrBadDigest
		}
		if cs.alg == "" {
			return nil
		}
		want, err := cs.expected(r)
		if err != nil {
			return err
		}
		if !strings.EqualFold(d.Algorithm, cs.alg) {
			return fmt.Errorf("s3api: gateway computed %q, request checksum is %s", d.Algorithm, cs.alg)
		}
		if !bytes.Equal(want, d.Sum) {
			return ErrBadChecksum.WithMessage(fmt.Sprintf("The %s you specified did not match the calculated checksum.", cs.alg))
		}
		cs.verified = checksum.Encode(want)
		return nil
	}
}

// verifyBytes checks a small body read whole (request documents).
func (cs *checksumReq) verifyBytes(r *request, data []byte) error {
	sum := md5.Sum(data)
	d := checksum.Digests{MD5: sum[:]}
	if cs.alg != "" {
		h, err := checksum.New(cs.alg)
		if err != nil {
			return err
		}
		h.Write(data)
		d.Algorithm, d.Sum = cs.alg, h.Sum(nil)
	}
	return cs.verify(r)(&d)
}

// checksumAlgorithmHeader parses x-amz-checksum-algorithm and
// x-amz-checksum-type of CreateMultipartUpload: CRC64NVME is full-object
// only, SHA1/SHA256 composite only; a type needs an algorithm.
func checksumAlgorithmHeader(h http.Header) (alg, typ string, err error) {
	a := strings.TrimSpace(h.Get("X-Amz-Checksum-Algorithm"))
	t := strings.ToUpper(strings.TrimSpace(h.Get("X-Amz-Checksum-Type")))
	if a == "" {
		if t != "" {
			return "", "", invalidRequest("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
		}
		return "", "", nil
	}
	alg = checksum.Canonical(a)
	if alg == "" {
		return "", "", invalidRequest("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
	}
	switch t {
	case "":
		t = "COMPOSITE"
		if alg == checksum.CRC64NVME {
			t = "FULL_OBJECT"
		}
	case "FULL_OBJECT":
		if !checksum.IsCRC(alg) {
			return "", "", invalidRequest(fmt.Sprintf("The FULL_OBJECT checksum type cannot be used with the %s checksum algorithm.", strings.ToLower(alg)))
		}
	case "COMPOSITE":
		if alg == checksum.CRC64NVME {
			return "", "", invalidRequest("The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.")
		}
	default:
		return "", "", invalidRequest("Value for x-amz-checksum-type header is invalid.")
	}
	return alg, t, nil
}

// setChecksumHeaders sets x-amz-checksum-<alg> and x-amz-checksum-type.
func setChecksumHeaders(r *request, alg, typ, value string) {
	if alg == "" || value == "" {
		return
	}
	r.set(checksumHeaderPrefix+strings.ToLower(alg), value)
	if typ != "" {
		r.set("X-Amz-Checksum-Type", typ)
	}
}
