//go:build e2e

package e2e

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/minio/crc64nvme"
	"github.com/minio/minio-go/v7"
)

// checksumAlgo is one of S3's additional checksum algorithms.
type checksumAlgo struct {
	name   string // as in x-amz-checksum-algorithm: CRC32, CRC32C, ...
	minio  minio.ChecksumType
	hasher func() hash.Hash
	// composite is true when a multipart upload's checksum is, by default,
	// the checksum of the part checksums (all but CRC64NVME).
	composite bool
}

var checksumAlgos = []checksumAlgo{
	{"CRC32", minio.ChecksumCRC32, func() hash.Hash { return crc32.NewIEEE() }, true},
	{"CRC32C", minio.ChecksumCRC32C, func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }, true},
	{"SHA1", minio.ChecksumSHA1, sha1.New, true},
	{"SHA256", minio.ChecksumSHA256, sha256.New, true},
	{"CRC64NVME", minio.ChecksumCRC64NVME, func() hash.Hash { return crc64nvme.New() }, false},
}

func algoByName(t testing.TB, name string) checksumAlgo {
	t.Helper()
	for _, a := range checksumAlgos {
		if a.name == name {
			return a
		}
	}
	t.Fatalf("unknown checksum algorithm %q", name)
	return checksumAlgo{}
}

// header is the response/request header carrying this checksum.
func (a checksumAlgo) header() string { return "x-amz-checksum-" + strings.ToLower(a.name) }

// full is the base64 checksum of the whole of b.
func (a checksumAlgo) full(b []byte) string {
	h := a.hasher()
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// compositeOf is the COMPOSITE checksum of b uploaded in parts of
// partSize: base64(H(concat(raw part checksums))) + "-" + part count.
func (a checksumAlgo) compositeOf(b []byte, partSize int) string {
	if partSize <= 0 {
		panic("compositeOf: part size must be positive")
	}
	var raw []byte
	n := 0
	for off := 0; off < len(b); off += partSize {
		h := a.hasher()
		h.Write(b[off:min(off+partSize, len(b))])
		raw = h.Sum(raw)
		n++
	}
	h := a.hasher()
	h.Write(raw)
	return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), n)
}

// checksumOf returns the checksum value minio-go reports in ObjectInfo
// or UploadInfo for algorithm name.
func checksumOf(name string, crc32, crc32c, sha1, sha256, crc64 string) string {
	switch name {
	case "CRC32":
		return crc32
	case "CRC32C":
		return crc32c
	case "SHA1":
		return sha1
	case "SHA256":
		return sha256
	case "CRC64NVME":
		return crc64
	}
	return ""
}

func infoChecksum(name string, o minio.ObjectInfo) string {
	return checksumOf(name, o.ChecksumCRC32, o.ChecksumCRC32C, o.ChecksumSHA1, o.ChecksumSHA256, o.ChecksumCRC64NVME)
}

func uploadChecksum(name string, u minio.UploadInfo) string {
	return checksumOf(name, u.ChecksumCRC32, u.ChecksumCRC32C, u.ChecksumSHA1, u.ChecksumSHA256, u.ChecksumCRC64NVME)
}
