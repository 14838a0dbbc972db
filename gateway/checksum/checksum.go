// Package checksum computes the S3 object checksums (CRC32, CRC32C,
// CRC64NVME, SHA1, SHA256), the MD5 ETag, and the multipart combinations
// (composite "-N" values and full-object CRC combination), all while
// streaming, each hash computed once.
//
// Algorithm names are matched case-insensitively and returned in their
// canonical S3 spelling. Raw digests are big-endian byte strings (for the
// CRCs, the value as S3 transmits it before base64). The package has no
// dependencies inside the module.
package checksum

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"strconv"
	"strings"

	"github.com/minio/crc64nvme"
)

// The algorithm names, in the spelling S3 uses in headers and XML.
const (
	CRC32     = "CRC32"
	CRC32C    = "CRC32C"
	CRC64NVME = "CRC64NVME"
	SHA1      = "SHA1"
	SHA256    = "SHA256"
	// MD5 is accepted by New for the ETag; it is not an S3 additional
	// checksum, so Valid reports false for it.
	MD5 = "MD5"
)

// ErrUnknownAlgorithm is returned for an algorithm name this package does
// not implement (or one that does not support the requested operation).
var ErrUnknownAlgorithm = errors.New("checksum: unknown algorithm")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Canonical returns the canonical spelling of an S3 checksum algorithm name
// ("crc32c" -> "CRC32C"), or "" if alg is not one of CRC32, CRC32C,
// CRC64NVME, SHA1, SHA256.
func Canonical(alg string) string {
	switch {
	case strings.EqualFold(alg, CRC32):
		return CRC32
	case strings.EqualFold(alg, CRC32C):
		return CRC32C
	case strings.EqualFold(alg, CRC64NVME):
		return CRC64NVME
	case strings.EqualFold(alg, SHA1):
		return SHA1
	case strings.EqualFold(alg, SHA256):
		return SHA256
	}
	return ""
}

// Valid reports whether alg names an S3 additional checksum algorithm.
func Valid(alg string) bool { return Canonical(alg) != "" }

// IsCRC reports whether alg is one of the CRCs, whose whole-object value can
// be combined from part values (Combine).
func IsCRC(alg string) bool {
	switch Canonical(alg) {
	case CRC32, CRC32C, CRC64NVME:
		return true
	}
	return false
}

// Size returns the raw digest length of alg in bytes, or 0 if unknown.
func Size(alg string) int {
	switch Canonical(alg) {
	case CRC32, CRC32C:
		return 4
	case CRC64NVME:
		return 8
	case SHA1:
		return sha1.Size
	case SHA256:
		return sha256.Size
	}
	if strings.EqualFold(alg, MD5) {
		return md5.Size
	}
	return 0
}

// New returns a fresh hash for alg (case-insensitive: CRC32, CRC32C,
// CRC64NVME, SHA1, SHA256, or MD5). Sum of the returned hash yields the raw
// big-endian digest S3 base64-encodes.
func New(alg string) (hash.Hash, error) {
	switch Canonical(alg) {
	case CRC32:
		return crc32.NewIEEE(), nil
	case CRC32C:
		return crc32.New(castagnoli), nil
	case CRC64NVME:
		return crc64nvme.New(), nil
	case SHA1:
		return sha1.New(), nil
	case SHA256:
		return sha256.New(), nil
	}
	if strings.EqualFold(alg, MD5) {
		return md5.New(), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownAlgorithm, alg)
}

// Encode returns the base64 (standard, padded) form of a raw digest, as S3
// sends it in x-amz-checksum-* headers.
func Encode(sum []byte) string { return base64.StdEncoding.EncodeToString(sum) }

// Decode parses a base64 digest of alg, checking its length. It rejects
// composite values (with a "-N" suffix).
func Decode(alg, value string) ([]byte, error) {
	n := Size(alg)
	if n == 0 {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAlgorithm, alg)
	}
	b, err := base64.StdEncoding.DecodeString(value)
	if err != nil || len(b) != n {
		return nil, fmt.Errorf("checksum: malformed %s value %q", Canonical(alg), value)
	}
	return b, nil
}

// ETag returns the quoted hex ETag of a single-part object from its MD5.
func ETag(md5sum []byte) string {
	var buf [2 + 2*md5.Size]byte
	b := append(buf[:0], '"')
	b = hex.AppendEncode(b, md5sum)
	b = append(b, '"')
	return string(b)
}

// MultipartETag returns the quoted ETag of a multipart object:
// hex(md5(concatenation of the parts' raw MD5s)) followed by "-N".
func MultipartETag(partMD5s [][]byte) string {
	h := md5.New()
	for _, p := range partMD5s {
		h.Write(p)
	}
	var sum [md5.Size]byte
	return `"` + hex.EncodeToString(h.Sum(sum[:0])) + "-" + strconv.Itoa(len(partMD5s)) + `"`
}

// Composite returns the COMPOSITE checksum of a multipart object:
// base64(H(concatenation of the parts' raw digests)) followed by "-N",
// where H is alg itself. AWS defines composite checksums for CRC32, CRC32C,
// SHA1 and SHA256; CRC64NVME is full-object only and is rejected.
func Composite(alg string, partSums [][]byte) (string, error) {
	c := Canonical(alg)
	if c == "" || c == CRC64NVME {
		return "", fmt.Errorf("%w: no composite checksum for %q", ErrUnknownAlgorithm, alg)
	}
	h, _ := New(c)
	n := Size(c)
	for i, s := range partSums {
		if len(s) != n {
			return "", fmt.Errorf("checksum: part %d: %s digest has %d bytes, want %d", i+1, c, len(s), n)
		}
		h.Write(s)
	}
	return Encode(h.Sum(nil)) + "-" + strconv.Itoa(len(partSums)), nil
}

// Digests are the hashes of a body computed while it streamed through.
type Digests struct {
	MD5       []byte // always computed (the ETag)
	Algorithm string // the additional checksum computed ("" if none)
	Sum       []byte // raw digest of Algorithm
}

// ETag returns the quoted hex ETag of the body (ETag(d.MD5)).
func (d Digests) ETag() string { return ETag(d.MD5) }

// Value returns the base64 form of Sum ("" when no algorithm was computed).
func (d Digests) Value() string {
	if d.Algorithm == "" {
		return ""
	}
	return Encode(d.Sum)
}

// Multi feeds every byte written to it to MD5 and, optionally, one
// additional algorithm, in one pass. It is not safe for concurrent use.
// Close it when done: a large body's MD5 may be hashed by the shared
// md5-simd server (md5.go), whose hasher Close hands back.
type Multi struct {
	md5 md5Stream
	alg string
	h   hash.Hash // nil when alg is ""
	n   int64
}

// NewMulti returns a Multi computing MD5 and alg ("" for MD5 only).
func NewMulti(alg string) (*Multi, error) {
	m := &Multi{}
	if alg != "" {
		c := Canonical(alg)
		if c == "" {
			return nil, fmt.Errorf("%w: %q", ErrUnknownAlgorithm, alg)
		}
		m.alg = c
		m.h, _ = New(c)
	}
	return m, nil
}

// Write hashes p. It never fails. Large writes (md5-simd hashes 32 KiB
// per lane and round) cost the least per byte.
func (m *Multi) Write(p []byte) (int, error) {
	m.md5.Write(p)
	if m.h != nil {
		m.h.Write(p)
	}
	m.n += int64(len(p))
	return len(p), nil
}

// Len returns the number of bytes written since the last Reset.
func (m *Multi) Len() int64 { return m.n }

// Algorithm returns the canonical additional algorithm ("" if none).
func (m *Multi) Algorithm() string { return m.alg }

// Digests returns the digests of everything written so far. It does not
// change the state, so writing may continue.
func (m *Multi) Digests() Digests {
	d := Digests{MD5: m.md5.Sum(), Algorithm: m.alg}
	if m.h != nil {
		d.Sum = m.h.Sum(nil)
	}
	return d
}

// Reset restarts all hashes.
func (m *Multi) Reset() {
	m.md5.Reset()
	if m.h != nil {
		m.h.Reset()
	}
	m.n = 0
}

// Close releases the MD5 hasher. The Multi may be written again after
// Close, as after Reset. It is idempotent.
func (m *Multi) Close() { m.Reset() }
