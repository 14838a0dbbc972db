package checksum

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/minio/crc64nvme"
)

// Full-object CRCs of multipart objects are combined from the parts' CRCs
// without reading the data again. For a CRC with all-ones initial value and
// final xor (all three S3 CRCs),
//
//	crc(A || B) = crc(A) * x^(8*len(B)) mod P  xor  crc(B)
//
// which is zlib's crc32_combine (the multmodp/x2nmodp form of zlib 1.2.12),
// written here for any bit-reflected polynomial of width 32 or 64.

// crcPoly is a reflected CRC polynomial with precomputed powers of x.
type crcPoly struct {
	width uint     // 32 or 64
	poly  uint64   // reflected polynomial
	x2n   []uint64 // x2n[k] = x^(2^k) mod P, k = 0..66
}

var (
	polyCRC32     = newCRCPoly(32, crc32.IEEE)
	polyCRC32C    = newCRCPoly(32, crc32.Castagnoli)
	polyCRC64NVME = newCRCPoly(64, crc64nvme.NVME)
)

func newCRCPoly(width uint, poly uint64) *crcPoly {
	p := &crcPoly{width: width, poly: poly}
	// Lengths up to 2^63 bytes are 2^66 bits: 67 powers cover them.
	p.x2n = make([]uint64, 67)
	x := uint64(1) << (width - 2) // x^1
	p.x2n[0] = x
	for k := 1; k < len(p.x2n); k++ {
		x = p.mul(x, x)
		p.x2n[k] = x
	}
	return p
}

// mul returns a*b mod P in the reflected representation (bit width-1 is
// x^0).
func (p *crcPoly) mul(a, b uint64) uint64 {
	if a == 0 {
		return 0
	}
	m := uint64(1) << (p.width - 1)
	var r uint64
	for {
		if a&m != 0 {
			r ^= b
			if a&(m-1) == 0 {
				break
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ p.poly
		} else {
			b >>= 1
		}
	}
	return r
}

// x8n returns x^(8*n) mod P.
func (p *crcPoly) x8n(n uint64) uint64 {
	r := uint64(1) << (p.width - 1) // x^0
	for k := 3; n != 0; k++ {
		if n&1 != 0 {
			r = p.mul(p.x2n[k], r)
		}
		n >>= 1
	}
	return r
}

// combine returns the CRC of A||B from crc(A), crc(B) and len(B).
func (p *crcPoly) combine(crcA, crcB uint64, lenB uint64) uint64 {
	return p.mul(p.x8n(lenB), crcA) ^ crcB
}

func crcPolyOf(alg string) (*crcPoly, int) {
	switch Canonical(alg) {
	case CRC32:
		return polyCRC32, 4
	case CRC32C:
		return polyCRC32C, 4
	case CRC64NVME:
		return polyCRC64NVME, 8
	}
	return nil, 0
}

// Combine returns the raw FULL_OBJECT CRC (CRC32, CRC32C or CRC64NVME) of
// the concatenation of parts whose raw CRCs and sizes are given, in order.
// It is what hashing the whole object would give, computed in
// O(parts * log(size)) without the data.
func Combine(alg string, sums [][]byte, sizes []int64) ([]byte, error) {
	p, n := crcPolyOf(alg)
	if p == nil {
		return nil, fmt.Errorf("%w: no full-object combination for %q", ErrUnknownAlgorithm, alg)
	}
	if len(sums) != len(sizes) {
		return nil, fmt.Errorf("checksum: %d part checksums for %d part sizes", len(sums), len(sizes))
	}
	var crc uint64
	for i, s := range sums {
		if len(s) != n {
			return nil, fmt.Errorf("checksum: part %d: %s digest has %d bytes, want %d", i+1, Canonical(alg), len(s), n)
		}
		if sizes[i] < 0 {
			return nil, fmt.Errorf("checksum: part %d: negative size %d", i+1, sizes[i])
		}
		var v uint64
		if n == 4 {
			v = uint64(binary.BigEndian.Uint32(s))
		} else {
			v = binary.BigEndian.Uint64(s)
		}
		if i == 0 {
			crc = v
			continue
		}
		crc = p.combine(crc, v, uint64(sizes[i]))
	}
	out := make([]byte, n)
	if n == 4 {
		binary.BigEndian.PutUint32(out, uint32(crc))
	} else {
		binary.BigEndian.PutUint64(out, crc)
	}
	return out, nil
}
