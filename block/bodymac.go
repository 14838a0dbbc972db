package block

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// A chunk copy (PUT chunks/<id>) is authenticated after its body rather
// than by a digest in its signed headers, so that it can be sent while the
// chunk is still being written here, and with a MAC that costs a tenth of
// a SHA-256 per byte (AES-GMAC, on AES-NI and carry-less multiplication):
//
//	X-Forkstore-Peer-Body  "<size>:gmac:<salt>", signed with the headers;
//	                       salt is 32 hex digits, new for every chunk
//	body                   the chunk's size bytes, then a trailer of 20
//	                       bytes: the chunk's CRC32C (4 bytes, big endian)
//	                       and a 16-byte tag
//
// The tag is computed under K = HMAC-SHA256(cluster key,
// "forkstore-peer-v3 chunk body\n" salt), an AES-256 key of this chunk's
// copies only: every frame of macFrame bytes of the body (the last may be
// shorter) gets its AES-GMAC with the frame's index as the nonce, and the
// tag is the AES-GMAC, under a nonce no frame has, of the size, the
// CRC32C and the frames' tags in order. Changing, dropping, reordering or
// adding bytes, or changing the CRC32C, changes the tag, and without the
// cluster key no one can compute K. The salt is bound to the request by
// the header signature (with its nonce, date and destination), so a body
// and trailer of another chunk's copy never verify. One salt serves all
// the copies of one chunk (the same bytes to every holder), which is what
// lets the sender compute the tag once.

// macFrame is the span of body covered by one frame tag.
const macFrame = 64 << 10

// macTrailerSize is the length of what follows a chunk copy's body.
const macTrailerSize = 4 + 16

// chunkBodyLabel starts the derivation of a chunk copy's MAC key.
const chunkBodyLabel = "forkstore-peer-v3 chunk body\n"

// bodyMAC computes (or checks) the tag of one chunk copy's body as it
// streams. Frames are tagged straight from the caller's buffer; only a
// frame split between two writes is copied.
type bodyMAC struct {
	aead  cipher.AEAD
	index uint64 // frames tagged
	part  []byte // a frame begun and not finished
	tags  []byte // size, CRC32C (filled at the end), frame tags
	size  int64
}

// newBodyMAC returns the MAC of a chunk copy with salt under the cluster
// key.
func newBodyMAC(key []byte, salt string) *bodyMAC {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(chunkBodyLabel + salt))
	block, err := aes.NewCipher(h.Sum(nil))
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &bodyMAC{aead: aead, tags: make([]byte, 12, 12+16*8)}
}

// nonce returns the GMAC nonce of frame i (the final tag has high set).
func macNonce(i uint64, final bool) []byte {
	var n [12]byte
	if final {
		binary.BigEndian.PutUint32(n[:4], 0xffffffff)
	}
	binary.BigEndian.PutUint64(n[4:], i)
	return n[:]
}

func (m *bodyMAC) frame(p []byte) {
	m.tags = m.aead.Seal(m.tags, macNonce(m.index, false), nil, p)
	m.index++
}

// Write adds p to the body. It never fails.
func (m *bodyMAC) Write(p []byte) (int, error) {
	n := len(p)
	m.size += int64(n)
	if len(m.part) > 0 {
		k := min(len(p), macFrame-len(m.part))
		m.part = append(m.part, p[:k]...)
		p = p[k:]
		if len(m.part) < macFrame {
			return n, nil
		}
		m.frame(m.part)
		m.part = m.part[:0]
	}
	for len(p) >= macFrame {
		m.frame(p[:macFrame])
		p = p[macFrame:]
	}
	if len(p) > 0 {
		if m.part == nil {
			m.part = make([]byte, 0, macFrame)
		}
		m.part = append(m.part, p...)
	}
	return n, nil
}

// trailer ends the body with the chunk's CRC32C and returns what follows
// the body on the wire.
func (m *bodyMAC) trailer(crc uint32) [macTrailerSize]byte {
	if len(m.part) > 0 {
		m.frame(m.part)
		m.part = m.part[:0]
	}
	binary.BigEndian.PutUint64(m.tags[:8], uint64(m.size))
	binary.BigEndian.PutUint32(m.tags[8:12], crc)
	var out [macTrailerSize]byte
	binary.BigEndian.PutUint32(out[:4], crc)
	m.aead.Seal(out[4:4], macNonce(m.index, true), nil, m.tags)
	return out
}

// check reports whether tr is the trailer of the body written, returning
// the CRC32C it carries.
func (m *bodyMAC) check(tr []byte) (uint32, bool) {
	if len(tr) != macTrailerSize {
		return 0, false
	}
	crc := binary.BigEndian.Uint32(tr[:4])
	want := m.trailer(crc)
	return crc, subtle.ConstantTimeCompare(want[:], tr) == 1
}

// ChunkBodyDigest is the signed body digest of a chunk copy of size bytes
// whose trailer is computed with salt.
func ChunkBodyDigest(size int64, salt string) string {
	return strconv.FormatInt(size, 10) + ":gmac:" + salt
}

// ParseChunkBodyDigest reads a chunk copy's body digest
// ("<size>:gmac:<salt>").
func ParseChunkBodyDigest(d string) (size int64, salt string, ok bool) {
	a, salt, found := strings.Cut(d, ":gmac:")
	if !found || len(salt) != 32 {
		return 0, "", false
	}
	if _, err := hex.DecodeString(salt); err != nil {
		return 0, "", false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	if err != nil || n < 0 {
		return 0, "", false
	}
	return n, salt, true
}

// PeerBodyLength is the length on the wire of a body with signed digest d
// ("-": none, 0), false when d is malformed.
func PeerBodyLength(d string) (int64, bool) {
	if d == "-" {
		return 0, true
	}
	if n, _, ok := ParseChunkBodyDigest(d); ok {
		return n + macTrailerSize, true
	}
	n, _, ok := ParsePeerBodyDigest(d)
	return n, ok
}

// errBadTrailer is a chunk copy whose trailer does not authenticate it.
func errBadTrailer(id string) error {
	return fmt.Errorf("%w: copy of %s does not have its signed tag", ErrChunkMissing, id)
}
