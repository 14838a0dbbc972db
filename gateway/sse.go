package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/forkstore/forkstore/meta"
)

// Encryption at rest (SSE-S3 and SSE-C). A body is encrypted with
// AES-256-GCM under a data key of its own, in independently authenticated
// blocks of sseBlock plaintext bytes: block i is stored as sealed(i) =
// GCM(dataKey, nonce(i), plaintext, aad(last)) and takes sseBlock+16
// bytes (the last block fewer). The nonce is the block index, which never
// repeats under one data key; the additional data marks the last block,
// so that a body cut at a block boundary does not authenticate. A range
// read decrypts only the blocks it covers.
//
// The stored (encrypted) stream is cut into chunks and stored exactly as
// a plaintext body would be: chunk sizes, CRC32C, repair, scrub and the
// copies between nodes all work on the ciphertext and never need a key.
//
// The data key of an SSE-S3 object is stored in its metadata record,
// sealed by the operator's master key (a Keyring); the data key of an
// SSE-C object is sealed by the customer's key, which is never stored.

// sseBlock is the plaintext size of one encrypted block.
const sseBlock = 64 << 10

// sseTag is GCM's tag size: a block's overhead.
const sseTag = 16

// Errors of encryption at rest.
var (
	// ErrKMSNotConfigured: an encrypted write or read on a node with no
	// master key.
	ErrKMSNotConfigured = errors.New("gateway: server-side encryption requested but no master key is configured (--kms-key-file or FORKSTORE_KMS_KEY)")
	// ErrKMSKeyUnknown: the master key that sealed a data key is not in
	// the keyring (it was removed before every object it sealed was
	// rewritten).
	ErrKMSKeyUnknown = errors.New("gateway: the master key that sealed this object is not configured")
	// ErrDecrypt: a stored block or sealed key does not authenticate.
	ErrDecrypt = errors.New("gateway: encrypted data does not authenticate")
	// ErrSSECustomerKeyMissing: an SSE-C object read without its key.
	ErrSSECustomerKeyMissing = errors.New("gateway: the object was stored using a form of server-side encryption; the correct parameters must be provided to retrieve it")
	// ErrSSECustomerKeyMismatch: an SSE-C object read with another key.
	ErrSSECustomerKeyMismatch = errors.New("gateway: the customer-provided encryption key does not match the object's")
	// ErrSSENotApplicable: an SSE-C key sent for an object not stored
	// with one.
	ErrSSENotApplicable = errors.New("gateway: the encryption parameters are not applicable to this object")
)

// sseStoredSize is the stored size of n plaintext bytes.
func sseStoredSize(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return n + (n+sseBlock-1)/sseBlock*sseTag
}

// sseNonce writes block's nonce into n.
func sseNonce(n *[12]byte, block int64) []byte {
	binary.BigEndian.PutUint64(n[4:], uint64(block))
	return n[:]
}

// The additional data of a block: whether it is the body's last. GCM
// never writes to it, so the two are shared.
var sseAADLast, sseAADMore = []byte{1}, []byte{0}

func sseAAD(last bool) []byte {
	if last {
		return sseAADLast
	}
	return sseAADMore
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// blockSealer encrypts a stream into sealed blocks written to w. The
// total plaintext size need not be known in advance: a full block is held
// back until more bytes come (or Close), so that the last one is known.
type blockSealer struct {
	aead  cipher.AEAD
	w     io.Writer
	buf   []byte // plaintext of the block being filled, sealed in place (cap sseBlock+sseTag)
	block int64
	nonce [12]byte
	err   error
}

func newBlockSealer(key []byte, w io.Writer) (*blockSealer, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return &blockSealer{aead: aead, w: w, buf: make([]byte, 0, sseBlock+sseTag)}, nil
}

func (s *blockSealer) flush(last bool) error {
	sealed := s.aead.Seal(s.buf[:0], sseNonce(&s.nonce, s.block), s.buf, sseAAD(last))
	s.block++
	s.buf = s.buf[:0]
	if _, err := s.w.Write(sealed); err != nil {
		s.err = err
	}
	return s.err
}

// Write never modifies or keeps p.
func (s *blockSealer) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n := len(p)
	for len(p) > 0 {
		if len(s.buf) == sseBlock {
			// More follows: the held block is not the last one.
			if err := s.flush(false); err != nil {
				return 0, err
			}
		}
		k := min(len(p), sseBlock-len(s.buf))
		s.buf = append(s.buf, p[:k]...)
		p = p[k:]
	}
	return n, nil
}

// Close seals the last block (none for an empty body).
func (s *blockSealer) Close() error {
	if s.err != nil {
		return s.err
	}
	if len(s.buf) > 0 {
		return s.flush(true)
	}
	return nil
}

// sseSealAll encrypts a whole (small) body.
func sseSealAll(key, p []byte) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(int(sseStoredSize(int64(len(p)))))
	s, err := newBlockSealer(key, &out)
	if err != nil {
		return nil, err
	}
	s.Write(p)
	if err := s.Close(); err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, nil
	}
	return out.Bytes(), nil
}

// sseRange maps the plaintext range [off, off+n) of a body of size bytes
// to the stored range [soff, soff+sn) of the blocks that hold it, and the
// index of the first of them.
func sseRange(size, off, n int64) (first, soff, sn int64) {
	if n <= 0 {
		return 0, 0, 0
	}
	first = off / sseBlock
	last := (off + n - 1) / sseBlock
	soff = first * (sseBlock + sseTag)
	end := min((last+1)*(sseBlock+sseTag), sseStoredSize(size))
	return first, soff, end - soff
}

// sseReadBlocks is how many blocks an opener holds: its buffer takes that
// many stored blocks, read in one go.
const sseReadBlocks = 4

// sseBufSize is the size of an opener's buffer.
const sseBufSize = sseReadBlocks * (sseBlock + sseTag)

// sseBufs holds openers' buffers between requests: a 1 MiB GET would
// otherwise allocate (and the runtime zero) a quarter of a MiB.
var sseBufs = sync.Pool{New: func() any {
	b := make([]byte, sseBufSize)
	return &b
}}

// blockOpener decrypts the stored blocks [first, ...) read from r and
// serves the plaintext range [skip, skip+n) of them. Every block is
// opened in place in one pooled buffer, and only a block that
// authenticates is served.
//
// Read pulls the stored bytes through r.Read. WriteTo, what the HTTP
// server uses, lets r push them instead when r has a WriteTo (the chunk
// store's): the chunk store then checks each whole chunk against its
// CRC32C before sending it, as it does for a plaintext GET (once per
// verifiedTTL; in a cluster a corrupt local copy is then replaced by a
// peer's before any byte of it is sent), and hands the file to the opener's ReadFrom, which
// reads it straight into the buffer in large reads. The CRC32C check
// could be dropped for an encrypted chunk without losing integrity (a
// block that was changed, cut, moved or taken from another object fails
// its GCM tag under this object's key and nonce), but keeping the chunk
// store's path keeps its fallback to a peer's copy, and it costs the
// same as for a plaintext GET.
type blockOpener struct {
	aead   cipher.AEAD
	r      io.ReadCloser
	size   int64 // plaintext size of the whole body
	block  int64 // next block to open
	skip   int64 // plaintext bytes still to drop from the front
	remain int64 // plaintext bytes still to serve (decrypted or not)
	buf    *[]byte
	in     []byte   // *buf: stored bytes not yet opened, from in[0]
	have   int      // bytes in in[:have] (WriteTo)
	segs   [][]byte // decrypted, not yet served, in order (Read)
	segArr [sseReadBlocks][]byte
	nonce  [12]byte
	err    error
}

// sseOpen returns a reader of the plaintext [off, off+n) of a body of size
// plaintext bytes, given open(soff, sn) that reads its stored bytes.
func sseOpen(key []byte, size, off, n int64, open func(soff, sn int64) (io.ReadCloser, error)) (io.ReadCloser, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	first, soff, sn := sseRange(size, off, n)
	r, err := open(soff, sn)
	if err != nil {
		return nil, err
	}
	buf := sseBufs.Get().(*[]byte)
	return &blockOpener{aead: aead, r: r, size: size, block: first, skip: off - first*sseBlock, remain: n,
		buf: buf, in: *buf}, nil
}

// storedLen is the stored size of block b.
func (o *blockOpener) storedLen(b int64) int {
	return int(min(int64(sseBlock), o.size-b*sseBlock)) + sseTag
}

// open authenticates and decrypts stored block o.block, ct, in place and
// returns the part of its plaintext still to serve (possibly none).
func (o *blockOpener) open(ct []byte) ([]byte, error) {
	last := o.block*sseBlock+int64(len(ct)-sseTag) == o.size
	plain, err := o.aead.Open(ct[:0], sseNonce(&o.nonce, o.block), ct, sseAAD(last))
	if err != nil {
		return nil, fmt.Errorf("%w: block %d", ErrDecrypt, o.block)
	}
	o.block++
	if o.skip > 0 {
		d := min(o.skip, int64(len(plain)))
		plain, o.skip = plain[d:], o.skip-d
	}
	if int64(len(plain)) > o.remain {
		plain = plain[:o.remain]
	}
	o.remain -= int64(len(plain))
	return plain, nil
}

// needBlocks is how many more stored blocks the range needs.
func (o *blockOpener) needBlocks() int64 {
	if o.remain == 0 {
		return 0
	}
	end := (o.block*sseBlock + o.skip + o.remain + sseBlock - 1) / sseBlock
	return end - o.block
}

// fill reads and decrypts the next blocks (at most sseReadBlocks).
func (o *blockOpener) fill() error {
	if o.err != nil {
		return o.err
	}
	if o.remain == 0 {
		return io.EOF
	}
	if o.in == nil {
		o.err = errOpenerClosed
		return o.err
	}
	// How many stored bytes the next blocks take (each block's stored
	// size follows from the plaintext size).
	k := int(min(o.needBlocks(), sseReadBlocks))
	total := 0
	for i := 0; i < k; i++ {
		if o.block+int64(i) >= (o.size+sseBlock-1)/sseBlock {
			o.err = fmt.Errorf("%w: block %d beyond the body", ErrDecrypt, o.block+int64(i))
			return o.err
		}
		total += o.storedLen(o.block + int64(i))
	}
	in := o.in[:total]
	if _, err := io.ReadFull(o.r, in); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		o.err = err
		return err
	}
	o.segs = o.segArr[:0]
	for i := 0; i < k; i++ {
		ct := in[:o.storedLen(o.block)]
		in = in[len(ct):]
		plain, err := o.open(ct)
		if err != nil {
			o.err = err
			return err
		}
		if len(plain) > 0 {
			o.segs = append(o.segs, plain)
		}
	}
	return nil
}

func (o *blockOpener) Read(p []byte) (int, error) {
	for len(o.segs) == 0 {
		if err := o.fill(); err != nil {
			return 0, err
		}
	}
	k := copy(p, o.segs[0])
	if o.segs[0] = o.segs[0][k:]; len(o.segs[0]) == 0 {
		o.segs = o.segs[1:]
	}
	return k, nil
}

// writeSegs writes the opened plaintext segments still held to w.
func (o *blockOpener) writeSegs(w io.Writer) (int64, error) {
	var n int64
	for len(o.segs) > 0 {
		k, err := w.Write(o.segs[0])
		n += int64(k)
		if err != nil {
			return n, err
		}
		o.segs = o.segs[1:]
	}
	return n, nil
}

// WriteTo writes the rest of the range to w, each block as soon as it is
// opened, straight from the buffer it was opened in.
func (o *blockOpener) WriteTo(w io.Writer) (int64, error) {
	n, err := o.writeSegs(w)
	if err != nil {
		return n, err
	}
	if o.err != nil || o.remain == 0 {
		return n, o.err
	}
	wt, ok := o.r.(io.WriterTo)
	if !ok {
		for {
			if err := o.fill(); err != nil {
				if err == io.EOF {
					return n, nil
				}
				return n, err
			}
			k, err := o.writeSegs(w)
			n += k
			if err != nil {
				return n, err
			}
		}
	}
	if o.in == nil {
		o.err = errOpenerClosed
		return n, o.err
	}
	sink := openerSink{o: o, w: w}
	_, err = wt.WriteTo(&sink)
	n += sink.n
	if err == nil && o.remain > 0 {
		err = fmt.Errorf("%w: stored body ends before block %d", ErrDecrypt, o.block)
	}
	if err != nil && o.err == nil {
		o.err = err
	}
	return n, err
}

// openerSink is the writer a blockOpener's source pushes stored bytes
// into (WriteTo): it opens every whole block it holds and writes its
// plaintext to w.
type openerSink struct {
	o *blockOpener
	w io.Writer
	n int64 // plaintext bytes written to w
}

func (s *openerSink) Write(p []byte) (int, error) {
	o, done := s.o, 0
	for len(p) > 0 {
		k := copy(o.in[o.have:], p)
		o.have += k
		done += k
		p = p[k:]
		if err := s.drain(); err != nil {
			return done, err
		}
	}
	return done, nil
}

// ReadFrom reads a stored stream (a chunk file) straight into the buffer.
func (s *openerSink) ReadFrom(r io.Reader) (int64, error) {
	o := s.o
	var n int64
	for {
		k, err := r.Read(o.in[o.have:])
		o.have += k
		n += int64(k)
		if o.have == len(o.in) || err != nil {
			if derr := s.drain(); derr != nil {
				return n, derr
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// drain opens the whole blocks in the buffer, writes their plaintext and
// moves what is left (the start of the next block) to the front. The
// buffer always begins at a block boundary and holds whole blocks, so
// what is left is only ever a block cut by the end of a chunk.
func (s *openerSink) drain() error {
	o := s.o
	pos := 0
	for o.remain > 0 {
		if o.block >= (o.size+sseBlock-1)/sseBlock {
			return fmt.Errorf("%w: block %d beyond the body", ErrDecrypt, o.block)
		}
		l := o.storedLen(o.block)
		if o.have-pos < l {
			break
		}
		plain, err := o.open(o.in[pos : pos+l])
		if err != nil {
			return err
		}
		pos += l
		if len(plain) > 0 {
			k, err := s.w.Write(plain)
			s.n += int64(k)
			if err != nil {
				return err
			}
		}
	}
	if o.remain == 0 && o.have > pos {
		return fmt.Errorf("%w: %d stored bytes after the range", ErrDecrypt, o.have-pos)
	}
	o.have = copy(o.in, o.in[pos:o.have])
	if o.have == len(o.in) {
		// Cannot happen (a block is smaller than the buffer); never
		// loop on a full buffer.
		return fmt.Errorf("%w: block %d does not fit the buffer", ErrDecrypt, o.block)
	}
	return nil
}

var errOpenerClosed = errors.New("gateway: read of a closed encrypted body")

// Close closes the stored reader and gives the buffer back.
func (o *blockOpener) Close() error {
	if o.buf != nil {
		o.segs, o.in = nil, nil
		sseBufs.Put(o.buf)
		o.buf = nil
	}
	return o.r.Close()
}

// Keyring holds the operator's master keys: the first seals new data keys,
// every one opens the data keys it sealed (so a rotated-out key stays
// readable while it is listed). A sealed data key names its master key
// by an id derived from the key.
type Keyring struct {
	keys []masterKey
}

type masterKey struct {
	id   [8]byte
	aead cipher.AEAD
}

// sealedKeyFormat is the first byte of a sealed data key.
const sealedKeyFormat = 1

// NewKeyring builds a keyring from raw 32-byte keys, the first one current.
func NewKeyring(keys [][]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("no master key")
	}
	kr := &Keyring{}
	seen := map[[8]byte]bool{}
	for i, k := range keys {
		if len(k) != 32 {
			return nil, fmt.Errorf("master key %d: %d bytes, want 32", i+1, len(k))
		}
		aead, err := newGCM(k)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(append([]byte("forkstore-kms-key-id\x00"), k...))
		var id [8]byte
		copy(id[:], sum[:8])
		if seen[id] {
			return nil, fmt.Errorf("master key %d is listed twice", i+1)
		}
		seen[id] = true
		kr.keys = append(kr.keys, masterKey{id: id, aead: aead})
	}
	return kr, nil
}

// ParseKeyring reads master keys as base64 text: one a line or separated
// by commas or spaces; blank lines and lines starting with # are skipped.
func ParseKeyring(text string) (*Keyring, error) {
	var keys [][]byte
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, f := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			k, err := base64.StdEncoding.DecodeString(f)
			if err != nil {
				return nil, fmt.Errorf("master key %d: not base64: %v", len(keys)+1, err)
			}
			keys = append(keys, k)
		}
	}
	return NewKeyring(keys)
}

// LoadKeyring reads a key file (ParseKeyring's format).
func LoadKeyring(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	kr, err := ParseKeyring(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return kr, nil
}

// KeyID returns the id of the current master key (hex), for logs.
func (kr *Keyring) KeyID() string { return fmt.Sprintf("%x", kr.keys[0].id) }

func sealedKeyAAD(id [8]byte) []byte {
	return append([]byte("forkstore-sse-s3\x00"), id[:]...)
}

// newDataKey returns a fresh data key and its sealed form:
// format | key id (8) | nonce (12) | GCM(master, data key).
func (kr *Keyring) newDataKey() (key, sealed []byte, err error) {
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, err
	}
	mk := kr.keys[0]
	sealed = make([]byte, 0, 1+8+12+32+sseTag)
	sealed = append(sealed, sealedKeyFormat)
	sealed = append(sealed, mk.id[:]...)
	nonce := make([]byte, 12)
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, err
	}
	sealed = append(sealed, nonce...)
	sealed = mk.aead.Seal(sealed, nonce, key, sealedKeyAAD(mk.id))
	return key, sealed, nil
}

// openDataKey unseals a data key with whichever master key sealed it.
func (kr *Keyring) openDataKey(sealed []byte) ([]byte, error) {
	if len(sealed) != 1+8+12+32+sseTag || sealed[0] != sealedKeyFormat {
		return nil, fmt.Errorf("%w: malformed sealed key", ErrDecrypt)
	}
	var id [8]byte
	copy(id[:], sealed[1:9])
	for _, mk := range kr.keys {
		if mk.id == id {
			key, err := mk.aead.Open(nil, sealed[9:21], sealed[21:], sealedKeyAAD(id))
			if err != nil {
				return nil, fmt.Errorf("%w: sealed data key", ErrDecrypt)
			}
			return key, nil
		}
	}
	return nil, fmt.Errorf("%w (key id %x)", ErrKMSKeyUnknown, id)
}

// BucketEncryption returns a bucket's default encryption (its own or,
// for a fork, its nearest ancestor's), nil when it has none.
func (s *Service) BucketEncryption(ctx context.Context, bucket string) (*meta.BucketEncryption, error) {
	if !ValidBucketName(bucket) {
		return nil, fmt.Errorf("%w: %q", meta.ErrNoSuchBucket, bucket)
	}
	return readAsB[*meta.BucketEncryption](ctx, s, bucket, meta.BucketEncryptionQuery{Bucket: bucket})
}

// SetBucketEncryption sets a bucket's default encryption (only
// meta.SSEAES256 is supported); "" deletes it.
func (s *Service) SetBucketEncryption(ctx context.Context, bucket, algorithm string, bucketKey bool) error {
	if algorithm != "" && algorithm != meta.SSEAES256 {
		return fmt.Errorf("%w: encryption algorithm %q", ErrMalformedRequest, algorithm)
	}
	if algorithm != "" && s.node.cfg.KMS == nil {
		return ErrKMSNotConfigured
	}
	_, err := s.proposeB(ctx, bucket, &meta.SetBucketEncryption{Bucket: bucket, Algorithm: algorithm, BucketKey: bucketKey})
	return err
}

// SSEAvailable reports whether SSE-S3 can be used (a master key is
// configured).
func (s *Service) SSEAvailable() bool { return s.node.cfg.KMS != nil }

// objectSSE decides the encryption of a new version: the one the request
// asks for, else the bucket's default. It also checks that the bucket
// exists.
func (s *Service) objectSSE(ctx context.Context, bucket string, requested meta.SSE) (meta.SSE, error) {
	return s.objectSSEKnown(ctx, bucket, requested, nil)
}

// objectSSEKnown is objectSSE that takes the bucket's default encryption
// (and its existence) from read when that is a linearizable read of the
// live bucket with its encryption (PutObjectInput.Read), else reads it.
func (s *Service) objectSSEKnown(ctx context.Context, bucket string, requested meta.SSE, read *meta.Bucket) (meta.SSE, error) {
	var cfg *meta.BucketEncryption
	if readsDefault(read, bucket) {
		cfg = read.Encryption
	} else {
		var err error
		if cfg, err = s.BucketEncryption(ctx, bucket); err != nil {
			return meta.SSE{}, err
		}
	}
	if requested.Algorithm == "" {
		requested.Algorithm = cfg.Alg()
	}
	return requested, nil
}

// readsDefault reports whether read, a linearizable read of the live
// bucket (PutObjectInput.Read), holds bucket's default encryption.
func readsDefault(read *meta.Bucket, bucket string) bool {
	return read != nil && read.EncryptionRead && read.Name == bucket
}

// putSSE is objectSSEKnown for PutObject. On a node that may have peers
// (a cluster key), without a linearizable read of the bucket at hand
// (in.Read), the bucket's default encryption comes from a replica as it
// stands (this node's, else a holder's), without a leader round: assumed
// is then what it showed, for the write to carry
// (meta.PutObject.CheckDefault), and apply refuses the write if the
// default in force is another (putUnderDefault writes it again). A
// bucket that replica does not show (it may not have applied its
// creation yet), and any failure of that read, fall back to the
// linearizable read. A node alone reads its replica linearizably anyway
// (soloReads).
func (s *Service) putSSE(ctx context.Context, in *PutObjectInput) (sse meta.SSE, assumed *string, err error) {
	if s.node.solo.alone || readsDefault(in.Read, in.Bucket) || !ValidBucketName(in.Bucket) {
		sse, err = s.objectSSEKnown(ctx, in.Bucket, in.Object.SSE, in.Read)
		return sse, nil, err
	}
	cfg, err := typed[*meta.BucketEncryption](s.readStale(ctx, in.Bucket, meta.BucketEncryptionQuery{Bucket: in.Bucket}))
	if err != nil {
		sse, err = s.objectSSE(ctx, in.Bucket, in.Object.SSE)
		return sse, nil, err
	}
	sse = in.Object.SSE
	if sse.Algorithm != "" {
		return sse, nil, nil
	}
	alg := cfg.Alg()
	sse.Algorithm = alg
	return sse, &alg, nil
}

// sseWriter is how one new version is encrypted: its data key and the
// SSE fields of its record.
type sseWriter struct {
	key []byte
	sse meta.SSE
}

// newSSEWriter makes a data key for a new version of encryption sse
// (customerKey: the SSE-C key, nil otherwise); nil when sse is plaintext.
func (s *Service) newSSEWriter(sse meta.SSE, customerKey []byte) (*sseWriter, error) {
	switch sse.Algorithm {
	case "":
		return nil, nil
	case meta.SSEAES256:
		kr := s.node.cfg.KMS
		if kr == nil {
			return nil, ErrKMSNotConfigured
		}
		key, sealed, err := kr.newDataKey()
		if err != nil {
			return nil, err
		}
		return &sseWriter{key: key, sse: meta.SSE{Algorithm: meta.SSEAES256, SealedKey: sealed}}, nil
	case meta.SSECustomer:
		key, sealed, err := newCustomerDataKey(customerKey)
		if err != nil {
			return nil, err
		}
		return &sseWriter{key: key, sse: meta.SSE{Algorithm: meta.SSECustomer, SealedKey: sealed,
			CustomerKeyMD5: customerKeyMD5(customerKey)}}, nil
	}
	return nil, fmt.Errorf("%w: encryption algorithm %q", ErrMalformedRequest, sse.Algorithm)
}

// seal is IngestOptions.Seal for this writer's data key.
func (w *sseWriter) seal(out io.Writer) (io.WriteCloser, error) { return newBlockSealer(w.key, out) }

// finish encrypts an inline body and records the stored size.
func (w *sseWriter) finish(ing *IngestResult) (meta.SSE, error) {
	if ing.Inline != nil {
		ct, err := sseSealAll(w.key, ing.Inline)
		if err != nil {
			return meta.SSE{}, err
		}
		ing.Inline = ct
	}
	sse := w.sse
	sse.StoredSize = sseStoredSize(ing.Size)
	return sse, nil
}

// dataKey returns the data key of an encrypted version (customerKey: the
// SSE-C key the request sent).
func (s *Service) dataKey(obj *meta.Object, customerKey []byte) ([]byte, error) {
	switch obj.SSE.Algorithm {
	case meta.SSEAES256:
		if s.node.cfg.KMS == nil {
			// Stored encrypted, but this node has no key at all: a
			// misconfigured node, not a bad request.
			return nil, fmt.Errorf("%w: no master key is configured on this node", ErrKMSKeyUnknown)
		}
		return s.node.cfg.KMS.openDataKey(obj.SSE.SealedKey)
	case meta.SSECustomer:
		return openCustomerDataKey(obj, customerKey)
	}
	return nil, fmt.Errorf("%w: unknown encryption %q", ErrDecrypt, obj.SSE.Algorithm)
}

// customerKeyMD5 is the base64 MD5 of an SSE-C key, as S3 echoes it.
func customerKeyMD5(key []byte) string {
	sum := md5.Sum(key)
	return base64.StdEncoding.EncodeToString(sum[:])
}

var customerAAD = []byte("forkstore-sse-c")

// newCustomerDataKey returns a fresh data key sealed by an SSE-C key:
// nonce (12) | GCM(customer key, data key). Each version has its own data
// key, so block nonces never repeat under one key however many objects a
// client writes with the same customer key.
func newCustomerDataKey(customerKey []byte) (key, sealed []byte, err error) {
	aead, err := newGCM(customerKey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: customer key: %v", ErrMalformedRequest, err)
	}
	key = make([]byte, 32)
	nonce := make([]byte, 12)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, err
	}
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, err
	}
	return key, aead.Seal(nonce, nonce, key, customerAAD), nil
}

// openCustomerDataKey checks an SSE-C key against a version and unseals
// its data key.
func openCustomerDataKey(obj *meta.Object, customerKey []byte) ([]byte, error) {
	if customerKey == nil {
		return nil, ErrSSECustomerKeyMissing
	}
	if subtle.ConstantTimeCompare([]byte(customerKeyMD5(customerKey)), []byte(obj.SSE.CustomerKeyMD5)) != 1 {
		return nil, ErrSSECustomerKeyMismatch
	}
	aead, err := newGCM(customerKey)
	if err != nil || len(obj.SSE.SealedKey) < 12 {
		return nil, ErrSSECustomerKeyMismatch
	}
	key, err := aead.Open(nil, obj.SSE.SealedKey[:12], obj.SSE.SealedKey[12:], customerAAD)
	if err != nil {
		return nil, ErrSSECustomerKeyMismatch
	}
	return key, nil
}

// CheckCustomerKey checks the SSE-C key a read sends (nil: none) against
// a version, before anything is streamed: a version stored with SSE-C
// needs its key, any other refuses one.
func CheckCustomerKey(obj *meta.Object, customerKey []byte) error {
	if obj.SSE.Algorithm != meta.SSECustomer {
		if customerKey != nil {
			return ErrSSENotApplicable
		}
		return nil
	}
	_, err := openCustomerDataKey(obj, customerKey)
	return err
}

// Multipart uploads: every part is encrypted under the upload's data key
// (sealed in the upload record, then in the object's), through a key of
// its own: HMAC-SHA256(data key, salt) with a fresh random salt that
// begins the part's stored stream. A part number uploaded twice therefore
// never reuses a (key, nonce) pair. A part of n > 0 plaintext bytes takes
// ssePartSalt + sseStoredSize(n) stored bytes.

const ssePartSalt = 16

// An empty part stores nothing (it is never ingested into a chunk).
func ssePartStoredSize(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return ssePartSalt + sseStoredSize(n)
}

func ssePartKey(dataKey, salt []byte) []byte {
	m := hmac.New(sha256.New, dataKey)
	m.Write([]byte("forkstore-sse-part\x00"))
	m.Write(salt)
	return m.Sum(nil)
}

// sealPart is IngestOptions.Seal for a part under dataKey.
func sealPart(dataKey []byte) func(w io.Writer) (io.WriteCloser, error) {
	return func(w io.Writer) (io.WriteCloser, error) {
		salt := make([]byte, ssePartSalt)
		if _, err := rand.Read(salt); err != nil {
			return nil, err
		}
		if _, err := w.Write(salt); err != nil {
			return nil, err
		}
		return newBlockSealer(ssePartKey(dataKey, salt), w)
	}
}

// sseOpenParts reads the plaintext [off, off+n) of an encrypted multipart
// object, part by part; open reads its stored bytes.
func sseOpenParts(dataKey []byte, parts []meta.PartInfo, off, n int64, open func(soff, sn int64) io.ReadCloser) io.ReadCloser {
	r := &partsReader{}
	var pstart, sstart int64
	for _, p := range parts {
		pend := pstart + p.Size
		if lo, hi := max(off, pstart), min(off+n, pend); lo < hi {
			size, s0, from, length := p.Size, sstart, lo-pstart, hi-lo
			r.pending = append(r.pending, func() (io.ReadCloser, error) {
				salt := make([]byte, ssePartSalt)
				sr := open(s0, ssePartSalt)
				_, err := io.ReadFull(sr, salt)
				sr.Close()
				if err != nil {
					return nil, err
				}
				return sseOpen(ssePartKey(dataKey, salt), size, from, length, func(soff, sn int64) (io.ReadCloser, error) {
					return open(s0+ssePartSalt+soff, sn), nil
				})
			})
		}
		pstart, sstart = pend, sstart+ssePartStoredSize(p.Size)
	}
	return r
}

// partsReader reads the parts' readers one after the other, opening each
// when the previous one is done.
type partsReader struct {
	pending []func() (io.ReadCloser, error)
	cur     io.ReadCloser
	err     error
}

func (r *partsReader) Read(p []byte) (int, error) {
	for {
		if r.err != nil {
			return 0, r.err
		}
		if r.cur == nil {
			if len(r.pending) == 0 {
				return 0, io.EOF
			}
			next := r.pending[0]
			r.pending = r.pending[1:]
			if r.cur, r.err = next(); r.err != nil {
				return 0, r.err
			}
		}
		n, err := r.cur.Read(p)
		if err == io.EOF {
			r.cur.Close()
			r.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// WriteTo lets each part's reader write its blocks directly.
func (r *partsReader) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for {
		if r.err != nil {
			return n, r.err
		}
		if r.cur == nil {
			if len(r.pending) == 0 {
				return n, nil
			}
			next := r.pending[0]
			r.pending = r.pending[1:]
			if r.cur, r.err = next(); r.err != nil {
				return n, r.err
			}
		}
		k, err := io.Copy(w, r.cur)
		n += k
		r.cur.Close()
		r.cur = nil
		if err != nil {
			r.err = err
			return n, err
		}
	}
}

func (r *partsReader) Close() error {
	if r.cur != nil {
		return r.cur.Close()
	}
	return nil
}
