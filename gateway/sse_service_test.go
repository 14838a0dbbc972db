package gateway_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/forkstore/forkstore/block"
	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
	"github.com/forkstore/forkstore/meta"
)

// An SSE-S3 object on a real node whose chunks (64 KiB) do not line up
// with the 64 KiB+16 encrypted blocks: the record keeps the plaintext size
// and the stored one, the chunks hold exactly the stored bytes (their
// CRC32C is the ciphertext's, so scrub verifies them without a key),
// ranges across chunk and block edges read right, an inline object is
// encrypted too, and a damaged chunk fails the read and the scrub instead
// of returning other bytes.
func TestSSEChunksAndScrub(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.ChunkSize = 64 << 10
	cfg.InlineMax = 1 << 10
	withMasterKey(t, &cfg)
	s := gatewaytest.NewNode(t, cfg).Service()
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bk1"}); err != nil {
		t.Fatal(err)
	}
	body := randBytes(7, 300<<10+5)
	o, err := s.PutObject(ctx(t), &gateway.PutObjectInput{Bucket: "bk1", Key: "k", Body: bytes.NewReader(body),
		Size: int64(len(body)), Object: meta.Object{SSE: meta.SSE{Algorithm: meta.SSEAES256}}})
	if err != nil {
		t.Fatal(err)
	}
	var stored int64
	for _, c := range o.Chunks {
		stored += c.Size
	}
	if o.Size != int64(len(body)) || o.SSE.StoredSize != stored || stored != int64(len(body))+5*16 {
		t.Fatalf("size %d, stored %d, chunks hold %d (body %d)", o.Size, o.SSE.StoredSize, stored, len(body))
	}
	for _, r := range [][2]int64{{0, int64(len(body))}, {65530, 20}, {65536 - 1, 3}, {131072 + 30, 70000}, {int64(len(body)) - 1, 1}} {
		rc, err := s.OpenObject(ctx(t), o, r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, body[r[0]:r[0]+r[1]]) {
			t.Fatalf("range [%d,+%d): %v", r[0], r[1], err)
		}
	}
	if _, err := s.PutObject(ctx(t), &gateway.PutObjectInput{Bucket: "bk1", Key: "small", Body: bytes.NewReader(body[:100]),
		Size: 100, Object: meta.Object{SSE: meta.SSE{Algorithm: meta.SSEAES256}}}); err != nil {
		t.Fatal(err)
	}
	small, err := s.HeadObject(ctx(t), gateway.GetObjectInput{Bucket: "bk1", Key: "small"})
	if err != nil {
		t.Fatal(err)
	}
	if len(small.Inline) != 116 || bytes.Contains(small.Inline, body[:32]) {
		t.Fatalf("inline body not encrypted: %d bytes", len(small.Inline))
	}
	if got, err := get(t, s, gateway.GetObjectInput{Bucket: "bk1", Key: "small"}); err != nil || !bytes.Equal(got, body[:100]) {
		t.Fatalf("inline read back: %v", err)
	}

	res, err := s.Scrub(ctx(t))
	if err != nil || res.Checked < len(o.Chunks) || res.Corrupt != 0 {
		t.Fatalf("scrub of encrypted chunks: %+v %v", res, err)
	}
	// Damage one byte of the second chunk's ciphertext.
	c := o.Chunks[1]
	p := block.ChunkPath(filepath.Join(cfg.DataDir, "chunks"), c.ID)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[100] ^= 1
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, s, gateway.GetObjectInput{Bucket: "bk1", Key: "k"}); err == nil {
		t.Fatal("a damaged encrypted chunk was read without an error")
	}
	res, err = s.Scrub(ctx(t))
	if err != nil || res.Corrupt != 1 {
		t.Fatalf("scrub after damage: %+v %v", res, err)
	}
	// Without a master key the node refuses to encrypt.
	cfg2 := gatewaytest.Config(t)
	s2 := gatewaytest.NewNode(t, cfg2).Service()
	if _, err := s2.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bk1"}); err != nil {
		t.Fatal(err)
	}
	_, err = s2.PutObject(ctx(t), &gateway.PutObjectInput{Bucket: "bk1", Key: "k", Body: bytes.NewReader(body[:10]),
		Size: 10, Object: meta.Object{SSE: meta.SSE{Algorithm: meta.SSEAES256}}})
	if !errors.Is(err, gateway.ErrKMSNotConfigured) {
		t.Fatalf("SSE PUT without a master key: %v", err)
	}
}

// PutObjectInput.Read: a write takes the bucket's default encryption from
// the bucket its request's authorization read (ObjectAccess with
// Encryption) rather than reading it again, and ignores a Read of another
// bucket or one without the encryption read.
func TestPutObjectTakesEncryptionFromRead(t *testing.T) {
	cfg := gatewaytest.Config(t)
	withMasterKey(t, &cfg)
	s := gatewaytest.NewNode(t, cfg).Service()
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bk1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBucketEncryption(ctx(t), "bk1", meta.SSEAES256, false); err != nil {
		t.Fatal(err)
	}
	b, _, err := s.ObjectAccess(ctx(t), gateway.GetObjectInput{Bucket: "bk1", Encryption: true})
	if err != nil || !b.EncryptionRead || b.Encryption == nil || b.Encryption.Algorithm != meta.SSEAES256 {
		t.Fatalf("ObjectAccess with Encryption: %+v, %v", b, err)
	}
	if b, _, err := s.ObjectAccess(ctx(t), gateway.GetObjectInput{Bucket: "bk1"}); err != nil || b.EncryptionRead || b.Encryption != nil {
		t.Fatalf("ObjectAccess without Encryption read it: %+v, %v", b, err)
	}
	// Taken from Read: the default as that read saw it (here told
	// otherwise than the bucket's, to see which one decides).
	put := func(name string, read *meta.Bucket) *meta.Object {
		t.Helper()
		o, err := s.PutObject(ctx(t), &gateway.PutObjectInput{Bucket: "bk1", Key: name, Body: bytes.NewReader([]byte("x")), Size: 1, Read: read})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	if o := put("a", b); o.SSE.Algorithm != meta.SSEAES256 {
		t.Fatalf("with the read bucket: SSE %q", o.SSE.Algorithm)
	}
	if o := put("b", &meta.Bucket{Name: "bk1", EncryptionRead: true}); o.SSE.Algorithm != "" {
		t.Fatalf("Read saying no default: SSE %q", o.SSE.Algorithm)
	}
	for _, read := range []*meta.Bucket{nil, {Name: "other", EncryptionRead: true}, {Name: "bk1"}} {
		if o := put("c", read); o.SSE.Algorithm != meta.SSEAES256 {
			t.Fatalf("Read %+v not to be used: SSE %q", read, o.SSE.Algorithm)
		}
	}
}

// On a node that may have peers (a cluster key), a PutObject reads the
// bucket's default encryption from a replica without a leader round; a
// replica behind (the hook) may show another default than the one in
// force. Apply refuses such a write, and the gateway writes it again
// under the default in force: an inline body and a chunked one, whichever
// way the replica was wrong, end stored as the default says, read back
// whole, and leave no chunk file of the refused write behind. A write
// that names its own encryption does not depend on the default.
func TestPutStaleDefaultEncryption(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.ClusterKey = "a cluster key of 32 bytes or so."
	cfg.ChunkSize = 64 << 10
	cfg.InlineMax = 1 << 10
	withMasterKey(t, &cfg)
	var stale *string // what the replica shows instead (nil: what it holds)
	calls := 0
	gateway.SetStaleDefaultHook(&cfg, func(bucket, alg string) string {
		calls++
		if stale != nil {
			return *stale
		}
		return alg
	})
	s := gatewaytest.NewNode(t, cfg).Service()
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "enc"}); err != nil {
		t.Fatal(err)
	}
	bodies := map[string][]byte{"inline": randBytes(3, 700), "chunked": randBytes(4, 200<<10+9)}
	check := func(key string, sse meta.SSE, want string) {
		t.Helper()
		body := bodies[key]
		o, err := s.PutObject(ctx(t), &gateway.PutObjectInput{Bucket: "enc", Key: key, Body: bytes.NewReader(body),
			Size: int64(len(body)), Object: meta.Object{SSE: sse}})
		if err != nil {
			t.Fatalf("PUT %s: %v", key, err)
		}
		if o.SSE.Algorithm != want {
			t.Fatalf("PUT %s answered encryption %q, want %q", key, o.SSE.Algorithm, want)
		}
		h, err := s.HeadObject(ctx(t), gateway.GetObjectInput{Bucket: "enc", Key: key})
		if err != nil || h.SSE.Algorithm != want || h.ETag != o.ETag {
			t.Fatalf("HEAD %s: %+v %v, want encryption %q", key, h, err, want)
		}
		got, err := get(t, s, gateway.GetObjectInput{Bucket: "enc", Key: key})
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("GET %s: %d bytes, %v", key, len(got), err)
		}
	}
	none, aes := "", meta.SSEAES256

	// The default set, a replica that has not applied it yet.
	if err := s.SetBucketEncryption(ctx(t), "enc", meta.SSEAES256, false); err != nil {
		t.Fatal(err)
	}
	stale = &none
	check("inline", meta.SSE{}, meta.SSEAES256)
	check("chunked", meta.SSE{}, meta.SSEAES256)
	if calls == 0 {
		t.Fatal("a PutObject on a node with a cluster key read the default linearizably")
	}
	// The default deleted, a replica that still shows it.
	if err := s.SetBucketEncryption(ctx(t), "enc", "", false); err != nil {
		t.Fatal(err)
	}
	stale = &aes
	check("inline", meta.SSE{}, "")
	check("chunked", meta.SSE{}, "")
	// A write that names its encryption takes it whatever the default.
	stale = &none
	check("chunked", meta.SSE{Algorithm: meta.SSEAES256}, meta.SSEAES256)
	// A replica up to date.
	stale = nil
	check("inline", meta.SSE{}, "")
	check("chunked", meta.SSE{}, "")

	// One chunk file per 64 KiB of the one chunked version left (the
	// unversioned bucket keeps the last), none of the refused writes'.
	waitFor(t, "the chunks of replaced and refused writes to go", func() bool { return chunkFiles(t, cfg) == 4 })
}

// withMasterKey gives cfg a fresh random master key (SSE-S3).
func withMasterKey(t testing.TB, cfg *gateway.Config) {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	kr, err := gateway.NewKeyring([][]byte{key})
	if err != nil {
		t.Fatal(err)
	}
	cfg.KMS = kr
}
