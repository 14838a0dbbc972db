package meta

import "fmt"

// Server-side encryption. meta stores what the gateway needs to decrypt
// an object version and never a key in the clear: the version's data key
// sealed under the operator's master key (SSE-S3), or, for a
// customer-provided key (SSE-C), only the key's MD5 (what S3 echoes) and a
// keyed hash that checks it. Encryption itself happens in the gateway.
//
// A bucket's default encryption (PutBucketEncryption) belongs to the
// bucket id and is current-state only, like CORS. A fork inherits the
// nearest configuration of its ancestors until it sets or deletes its own
// (a fork of an encrypted bucket keeps encrypting what it writes).

// SSE algorithms of an object version.
const (
	SSEAES256   = "AES256" // SSE-S3: a data key sealed by the master key
	SSECustomer = "SSE-C"  // a key the client sends with every request
)

// SSE is an object version's server-side encryption.
type SSE struct {
	// Algorithm is "" (plaintext), SSEAES256 or SSECustomer.
	Algorithm string
	// SealedKey is the data key (SSE-S3), sealed by the master key named
	// inside it; nil for SSE-C.
	SealedKey []byte
	// CustomerKeyMD5 is the base64 MD5 of an SSE-C key (echoed in
	// responses); the key itself is never stored.
	CustomerKeyMD5 string
	// StoredSize is the size of the stored (encrypted) body: chunks and
	// Inline hold that many bytes, Size is the plaintext's.
	StoredSize int64
}

// Encrypted reports whether the version's body is stored encrypted.
func (s SSE) Encrypted() bool { return s.Algorithm != "" }

// SetBucketEncryption sets a bucket's default encryption; an empty
// Algorithm deletes it.
type SetBucketEncryption struct {
	Header
	Bucket    string
	Algorithm string
	BucketKey bool
}

// BucketEncryption is a bucket's default encryption configuration.
type BucketEncryption struct {
	Algorithm string
	BucketKey bool
}

// Alg is the algorithm of a default encryption, "" for none (nil).
func (b *BucketEncryption) Alg() string {
	if b == nil {
		return ""
	}
	return b.Algorithm
}

// encryptionDeleted marks a fork that deleted its configuration (so that
// it stops inheriting its ancestors').
const encryptionDeleted = "-"

func (a *applier) setBucketEncryption(c *SetBucketEncryption) (*Result, error) {
	b, err := a.r.liveBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	alg := c.Algorithm
	if alg == "" {
		if b.Parent == nil {
			return nil, a.del(keyBucketEncryption(b.ID))
		}
		alg = encryptionDeleted
	}
	e := encoder{}
	e.u8(fmtV1)
	e.str(alg)
	e.boolean(c.BucketKey)
	return nil, a.set(keyBucketEncryption(b.ID), e.b)
}

// BucketEncryption returns a live bucket's default encryption, its own or
// (for a fork without one) its nearest ancestor's; nil when none.
func (r *Reader) BucketEncryption(name string) (*BucketEncryption, error) {
	b, err := r.liveBucket(name)
	if err != nil {
		return nil, err
	}
	for depth := 0; b != nil && depth <= 64; depth++ {
		v, ok, err := getValue(r.txn, keyBucketEncryption(b.ID))
		if err != nil {
			return nil, err
		}
		if ok {
			d := decoder{b: v}
			d.fmtByte()
			cfg := BucketEncryption{Algorithm: d.str(), BucketKey: d.boolean()}
			if err := d.done(); err != nil {
				return nil, fmt.Errorf("encryption of bucket %q: %w", name, err)
			}
			if cfg.Algorithm == encryptionDeleted {
				return nil, nil
			}
			return &cfg, nil
		}
		if b.Parent == nil {
			return nil, nil
		}
		if b, err = r.bucketByID(b.Parent.BucketID); err != nil {
			return nil, err
		}
	}
	return nil, nil
}
