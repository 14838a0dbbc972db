// Package checksum computes the S3 object checksums (CRC32, CRC32C,
// CRC64NVME, SHA1, SHA256), the MD5 ETag, and the multipart combinations
// (composite "-N" values and full-object CRC combination), all while
// streaming, each hash computed once.
package checksum

// Digests are the hashes of a body computed while it streamed through.
type Digests struct {
	MD5       []byte // always computed (the ETag)
	Algorithm string // the additional checksum computed ("" if none)
	Sum       []byte // raw digest of Algorithm
}
