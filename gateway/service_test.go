package gateway_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/block"
	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/checksum"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
	"github.com/forkstore/forkstore/meta"
)

func newService(t *testing.T) (*gateway.Service, gateway.Config) {
	t.Helper()
	cfg := gatewaytest.Config(t)
	cfg.ChunkSize = 64 << 10
	cfg.InlineMax = 1 << 10
	return gatewaytest.NewNode(t, cfg).Service(), cfg
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func put(t *testing.T, s *gateway.Service, bucket, key string, body []byte) *meta.Object {
	t.Helper()
	o, err := s.PutObject(ctx(t), &gateway.PutObjectInput{Bucket: bucket, Key: key, Body: bytes.NewReader(body), Size: int64(len(body))})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return o
}

func get(t *testing.T, s *gateway.Service, in gateway.GetObjectInput) ([]byte, error) {
	t.Helper()
	o, err := s.HeadObject(ctx(t), in)
	if err != nil {
		return nil, err
	}
	rc, err := s.OpenObject(ctx(t), o, 0, o.Size)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func chunkFiles(t *testing.T, cfg gateway.Config) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(cfg.DataDir, "chunks"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(d.Name(), ".tmp") {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PutObject/GetObject round trips for inline and chunked bodies; the ETag
// is the MD5 and the default checksum is CRC64NVME (AWS behaviour).
func TestPutGetRoundTrip(t *testing.T) {
	s, _ := newService(t)
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bk1"}); err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{0, 1, 1024, 1025, 64 << 10, 200<<10 + 7} {
		body := randBytes(uint64(i), n)
		key := fmt.Sprintf("k%d", n)
		o := put(t, s, "bk1", key, body)
		sum := md5.Sum(body)
		if want := `"` + hex.EncodeToString(sum[:]) + `"`; o.ETag != want {
			t.Errorf("%s: etag %s, want %s", key, o.ETag, want)
		}
		if o.Checksum.Algorithm != "CRC64NVME" {
			t.Errorf("%s: checksum %+v", key, o.Checksum)
		}
		got, err := get(t, s, gateway.GetObjectInput{Bucket: "bk1", Key: key})
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%s: got %d bytes, err %v", key, len(got), err)
		}
	}
}

// A body whose verification fails (bad Content-MD5 or checksum) stores
// nothing: no object and no chunk file.
func TestPutVerifyFailureStoresNothing(t *testing.T) {
	s, cfg := newService(t)
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bk1"}); err != nil {
		t.Fatal(err)
	}
	body := randBytes(7, 300<<10)
	_, err := s.PutObject(ctx(t), &gateway.PutObjectInput{
		Bucket: "bk1", Key: "k", Body: bytes.NewReader(body), Size: int64(len(body)),
		Verify: func(d *checksum.Digests) error { return gateway.ErrBadDigest },
	})
	if !errors.Is(err, gateway.ErrBadDigest) {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.HeadObject(ctx(t), gateway.GetObjectInput{Bucket: "bk1", Key: "k"}); !errors.Is(err, meta.ErrNoSuchKey) {
		t.Fatalf("head after failed put: %v", err)
	}
	if n := chunkFiles(t, cfg); n != 0 {
		t.Fatalf("%d chunk files left", n)
	}
	// A truncated body is refused the same way.
	_, err = s.PutObject(ctx(t), &gateway.PutObjectInput{Bucket: "bk1", Key: "k", Body: bytes.NewReader(body[:1000]), Size: int64(len(body))})
	if !errors.Is(err, gateway.ErrIncompleteBody) {
		t.Fatalf("truncated: %v", err)
	}
	if n := chunkFiles(t, cfg); n != 0 {
		t.Fatalf("%d chunk files left after truncated body", n)
	}
}

// Overwriting and deleting release chunk files once nothing references
// them; a copy shares chunks and keeps them alive.
func TestChunksCollectedWhenUnreferenced(t *testing.T) {
	s, cfg := newService(t)
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bk1"}); err != nil {
		t.Fatal(err)
	}
	body := randBytes(1, 200<<10) // 4 chunks of 64 KiB
	put(t, s, "bk1", "a", body)
	if n := chunkFiles(t, cfg); n != 4 {
		t.Fatalf("chunk files = %d, want 4", n)
	}
	src, err := s.HeadObject(ctx(t), gateway.GetObjectInput{Bucket: "bk1", Key: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CopyObject(ctx(t), &gateway.CopyObjectInput{Source: src, SourceBucket: "bk1", DstBucket: "bk1", DstKey: "copy"}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "bk1", "a", []byte("small"))
	if _, err := s.DeleteObject(ctx(t), "bk1", "a", "", meta.DeleteCondition{}, false); err != nil {
		t.Fatal(err)
	}
	got, err := get(t, s, gateway.GetObjectInput{Bucket: "bk1", Key: "copy"})
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("copy after source overwritten: %d bytes, %v", len(got), err)
	}
	if n := chunkFiles(t, cfg); n != 4 {
		t.Fatalf("chunk files = %d while the copy references them", n)
	}
	if _, err := s.DeleteObject(ctx(t), "bk1", "copy", "", meta.DeleteCondition{}, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "chunk files to be collected", func() bool { return chunkFiles(t, cfg) == 0 })
}

// Multipart: ETag is md5(concat part md5s)-N, the default full-object
// CRC64NVME equals the CRC of the whole body, and the parts rules hold.
func TestMultipartUpload(t *testing.T) {
	s, _ := newService(t)
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bk1"}); err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateMultipartUpload(ctx(t), "bk1", meta.Object{Key: "mp", ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	p1 := randBytes(1, gateway.MinPartSize)
	p2 := randBytes(2, 1000)
	var parts []gateway.CompletePartInput
	var md5s []byte
	for i, b := range [][]byte{p1, p2} {
		p, err := s.UploadPart(ctx(t), &gateway.UploadPartInput{Bucket: "bk1", Key: "mp", UploadID: id, Number: i + 1, Body: bytes.NewReader(b), Size: int64(len(b))})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, gateway.CompletePartInput{Number: i + 1, ETag: p.ETag})
		sum := md5.Sum(b)
		md5s = append(md5s, sum[:]...)
	}
	// Out of order and unknown parts are refused.
	if _, err := s.CompleteMultipartUpload(ctx(t), &gateway.CompleteInput{Bucket: "bk1", Key: "mp", UploadID: id, Parts: []gateway.CompletePartInput{parts[1], parts[0]}}); !errors.Is(err, gateway.ErrInvalidPartOrder) {
		t.Fatalf("order: %v", err)
	}
	if _, err := s.CompleteMultipartUpload(ctx(t), &gateway.CompleteInput{Bucket: "bk1", Key: "mp", UploadID: id, Parts: []gateway.CompletePartInput{parts[0], {Number: 2, ETag: `"00"`}}}); !errors.Is(err, meta.ErrInvalidPart) {
		t.Fatalf("bad etag: %v", err)
	}
	o, err := s.CompleteMultipartUpload(ctx(t), &gateway.CompleteInput{Bucket: "bk1", Key: "mp", UploadID: id, Parts: parts})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(md5s)
	if want := `"` + hex.EncodeToString(sum[:]) + `-2"`; o.ETag != want {
		t.Errorf("etag %s, want %s", o.ETag, want)
	}
	whole := append(append([]byte{}, p1...), p2...)
	got, err := get(t, s, gateway.GetObjectInput{Bucket: "bk1", Key: "mp"})
	if err != nil || !bytes.Equal(got, whole) {
		t.Fatalf("get: %d bytes, %v", len(got), err)
	}
	want, err := putChecksum(t, s, whole)
	if err != nil {
		t.Fatal(err)
	}
	if o.Checksum.Value != want || o.Checksum.Type != "FULL_OBJECT" {
		t.Errorf("checksum %+v, want full-object %s", o.Checksum, want)
	}
	// A small first part is refused.
	id2, _ := s.CreateMultipartUpload(ctx(t), "bk1", meta.Object{Key: "mp2"})
	var small []gateway.CompletePartInput
	for i := 1; i <= 2; i++ {
		p, err := s.UploadPart(ctx(t), &gateway.UploadPartInput{Bucket: "bk1", Key: "mp2", UploadID: id2, Number: i, Body: strings.NewReader("tiny"), Size: 4})
		if err != nil {
			t.Fatal(err)
		}
		small = append(small, gateway.CompletePartInput{Number: i, ETag: p.ETag})
	}
	if _, err := s.CompleteMultipartUpload(ctx(t), &gateway.CompleteInput{Bucket: "bk1", Key: "mp2", UploadID: id2, Parts: small}); !errors.Is(err, gateway.ErrEntityTooSmall) {
		t.Fatalf("small part: %v", err)
	}
}

// putChecksum stores body as a plain object and returns its CRC64NVME.
func putChecksum(t *testing.T, s *gateway.Service, body []byte) (string, error) {
	o, err := s.PutObject(ctx(t), &gateway.PutObjectInput{Bucket: "bk1", Key: "crc-ref", Body: bytes.NewReader(body), Size: int64(len(body))})
	if err != nil {
		return "", err
	}
	return o.Checksum.Value, nil
}

// A fork reads through to its parent; writes and deletes in the fork do
// not touch the parent; a snapshot keeps the parent's past.
func TestForkAndSnapshot(t *testing.T) {
	s, _ := newService(t)
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "base", "a", []byte("a1"))
	put(t, s, "base", "b", randBytes(3, 100<<10))
	snap, err := s.CreateSnapshot(ctx(t), "base", "v1")
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, "base", "a", []byte("a2"))
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "fork1", ForkSource: "base", ForkSnapshot: "v1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "fork2", ForkSource: "base"}); err != nil {
		t.Fatal(err)
	}
	check := func(in gateway.GetObjectInput, want string) {
		t.Helper()
		got, err := get(t, s, in)
		if want == "" {
			if !errors.Is(err, meta.ErrNoSuchKey) {
				t.Errorf("%+v: want NoSuchKey, got %q %v", in, got, err)
			}
			return
		}
		if err != nil || string(got) != want {
			t.Errorf("%+v: got %q %v, want %q", in, got, err, want)
		}
	}
	check(gateway.GetObjectInput{Bucket: "fork1", Key: "a"}, "a1")
	check(gateway.GetObjectInput{Bucket: "fork2", Key: "a"}, "a2")
	check(gateway.GetObjectInput{Bucket: "base", Key: "a", At: snap.Version}, "a1")
	put(t, s, "fork1", "a", []byte("f1"))
	if _, err := s.DeleteObject(ctx(t), "fork2", "a", "", meta.DeleteCondition{}, false); err != nil {
		t.Fatal(err)
	}
	check(gateway.GetObjectInput{Bucket: "fork1", Key: "a"}, "f1")
	check(gateway.GetObjectInput{Bucket: "fork2", Key: "a"}, "")
	check(gateway.GetObjectInput{Bucket: "base", Key: "a"}, "a2")
	b, err := get(t, s, gateway.GetObjectInput{Bucket: "fork2", Key: "b"})
	if err != nil || !bytes.Equal(b, randBytes(3, 100<<10)) {
		t.Fatalf("chunked read-through: %d bytes, %v", len(b), err)
	}
	// Deleting the base keeps what the forks need.
	for _, k := range []string{"a", "b", "crc-ref"} {
		if _, err := s.DeleteObject(ctx(t), "base", k, "", meta.DeleteCondition{}, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteBucket(ctx(t), "base"); err != nil {
		t.Fatal(err)
	}
	check(gateway.GetObjectInput{Bucket: "fork1", Key: "b"}, string(randBytes(3, 100<<10)))
	check(gateway.GetObjectInput{Bucket: "fork2", Key: "b"}, string(randBytes(3, 100<<10)))
	if _, err := s.HeadBucket(ctx(t), "base"); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Fatalf("deleted base still visible: %v", err)
	}
}

// A snapshot keeps an overwritten object's chunks; deleting the snapshot
// lets the collector's retention pass release them (and a fork's base
// does the same until the fork is deleted).
func TestSnapshotDeletionReleasesChunks(t *testing.T) {
	s, cfg := newService(t)
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	old := randBytes(9, 200<<10) // 4 chunks
	put(t, s, "base", "k", old)
	snap, err := s.CreateSnapshot(ctx(t), "base", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "fork", ForkSource: "base", ForkSnapshot: fmt.Sprint(snap.Version)}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "base", "k", []byte("new"))
	got, err := get(t, s, gateway.GetObjectInput{Bucket: "base", Key: "k", At: snap.Version})
	if err != nil || !bytes.Equal(got, old) {
		t.Fatalf("read at snapshot: %d bytes, %v", len(got), err)
	}
	if err := s.DeleteSnapshot(ctx(t), "base", snap.Version); err != nil {
		t.Fatal(err)
	}
	// The fork still needs the old version.
	got, err = get(t, s, gateway.GetObjectInput{Bucket: "fork", Key: "k"})
	if err != nil || !bytes.Equal(got, old) {
		t.Fatalf("fork after snapshot deleted: %d bytes, %v", len(got), err)
	}
	if n := chunkFiles(t, cfg); n != 4 {
		t.Fatalf("chunk files = %d while the fork needs them", n)
	}
	if err := s.DeleteBucket(ctx(t), "fork"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "unreachable chunks to be collected", func() bool { return chunkFiles(t, cfg) == 0 })
	got, err = get(t, s, gateway.GetObjectInput{Bucket: "base", Key: "k"})
	if err != nil || string(got) != "new" {
		t.Fatalf("base after GC: %q, %v", got, err)
	}
}

// CompleteMultipartUpload checks the client's whole-object claims
// (x-amz-checksum-<alg>, x-amz-mp-object-size); CopyObject with a new
// checksum algorithm stores that algorithm's full-object value.
func TestCompleteClaimsAndCopyChecksum(t *testing.T) {
	s, _ := newService(t)
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bk1"}); err != nil {
		t.Fatal(err)
	}
	body := randBytes(5, 3000)
	id, err := s.CreateMultipartUpload(ctx(t), "bk1", meta.Object{Key: "mp"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.UploadPart(ctx(t), &gateway.UploadPartInput{Bucket: "bk1", Key: "mp", UploadID: id, Number: 1, Body: bytes.NewReader(body), Size: int64(len(body))})
	if err != nil {
		t.Fatal(err)
	}
	parts := []gateway.CompletePartInput{{Number: 1, ETag: p.ETag}}
	wrong := int64(len(body) + 1)
	if _, err := s.CompleteMultipartUpload(ctx(t), &gateway.CompleteInput{Bucket: "bk1", Key: "mp", UploadID: id, Parts: parts, ObjectSize: &wrong}); !errors.Is(err, gateway.ErrMalformedRequest) {
		t.Fatalf("wrong object size: %v", err)
	}
	if _, err := s.CompleteMultipartUpload(ctx(t), &gateway.CompleteInput{Bucket: "bk1", Key: "mp", UploadID: id, Parts: parts, ChecksumAlgorithm: "crc64nvme", Checksum: "AAAAAAAAAAA="}); !errors.Is(err, gateway.ErrChecksumMismatch) {
		t.Fatalf("wrong checksum: %v", err)
	}
	want, err := putChecksum(t, s, body)
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(body))
	o, err := s.CompleteMultipartUpload(ctx(t), &gateway.CompleteInput{Bucket: "bk1", Key: "mp", UploadID: id, Parts: parts, ChecksumAlgorithm: "CRC64NVME", Checksum: want, ObjectSize: &size})
	if err != nil {
		t.Fatalf("right claims refused: %v", err)
	}
	c, err := s.CopyObject(ctx(t), &gateway.CopyObjectInput{Source: o, SourceBucket: "bk1", DstBucket: "bk1", DstKey: "copy", ChecksumAlgorithm: "SHA256"})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if c.Checksum.Algorithm != "SHA256" || c.Checksum.Value != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("copy checksum %+v", c.Checksum)
	}
}

// TestDefaultInlineMax: with the default configuration a body of
// DefaultInlineMax bytes is kept in its record and one byte more goes to
// a chunk file (larger inline bodies cost far more CPU per PUT:
// DefaultInlineMax); both read back whole.
func TestDefaultInlineMax(t *testing.T) {
	cfg := gatewaytest.Config(t)
	if cfg.InlineMax != gateway.DefaultInlineMax || gateway.DefaultInlineMax != 4<<10 {
		t.Fatalf("default inline max %d (DefaultInlineMax %d), want 4 KiB", cfg.InlineMax, gateway.DefaultInlineMax)
	}
	s := gatewaytest.NewNode(t, cfg).Service()
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bkt"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{gateway.DefaultInlineMax, gateway.DefaultInlineMax + 1, 16 << 10, 64 << 10} {
		body := randBytes(uint64(n), n)
		key := fmt.Sprintf("k%d", n)
		o := put(t, s, "bkt", key, body)
		if files := chunkFiles(t, cfg); (n <= gateway.DefaultInlineMax) != (len(o.Chunks) == 0) {
			t.Errorf("%d bytes: %d chunks (%d chunk files in the store)", n, len(o.Chunks), files)
		}
		got, err := get(t, s, gateway.GetObjectInput{Bucket: "bkt", Key: key})
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%d bytes: read back %d bytes, %v", n, len(got), err)
		}
	}
}

// The sweeper removes chunk files that nothing references once they are
// older than the grace period (an upload that died mid-way), and never a
// referenced one.
func TestOrphanChunksSwept(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.ChunkSize = 64 << 10
	cfg.InlineMax = 1 << 10
	cfg.OrphanGrace = 400 * time.Millisecond
	s := gatewaytest.NewNode(t, cfg).Service()
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bk1"}); err != nil {
		t.Fatal(err)
	}
	body := randBytes(4, 100<<10)
	o := put(t, s, "bk1", "k", body)
	root := filepath.Join(cfg.DataDir, "chunks")
	orphan := "0123456789abcdef0123456789abcdef"
	old := time.Now().Add(-time.Hour)
	paths := []string{block.ChunkPath(root, orphan)}
	if err := os.MkdirAll(filepath.Dir(paths[0]), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(paths[0], []byte("half an upload"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range o.Chunks {
		paths = append(paths, block.ChunkPath(root, c.ID))
	}
	for _, p := range paths {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the orphan to be swept", func() bool {
		_, err := os.Stat(paths[0])
		return errors.Is(err, os.ErrNotExist)
	})
	got, err := get(t, s, gateway.GetObjectInput{Bucket: "bk1", Key: "k"})
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("referenced chunks damaged by the sweep: %d bytes, %v", len(got), err)
	}
}

// TestSnapshotNames: a snapshot name must be showable and unambiguous:
// control characters (which an XML 1.0 listing cannot carry) and names of
// digits only (which would shadow a version: ResolveSnapshot reads digits
// as a version) are refused before anything is proposed.
func TestSnapshotNames(t *testing.T) {
	s := &gateway.Service{} // nothing reaches the node
	for _, name := range []string{"a\x00b", "tab\there", "bell\a", "del\x7f", "c1\u0085", "17", "0", "00042", "bad\xffutf8"} {
		if _, err := s.CreateSnapshot(ctx(t), "bkt", name); !errors.Is(err, gateway.ErrMalformedRequest) {
			t.Errorf("CreateSnapshot(%q): %v, want ErrMalformedRequest", name, err)
		}
	}
}

// TestReadyLongTick: the readiness probe's 150 ms is less than the two
// ticks a Raft request needs under a tick over 75 ms; such a node (a
// cluster across zones, its tick set to their round trip) was never
// ready. Ready gives its read three ticks at least. The node has a
// cluster key, so its reads are Raft reads (soloread.go).
func TestReadyLongTick(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.ClusterKey = "ready-long-tick-cluster-key"
	cfg.Raft.RTTMillisecond, cfg.Raft.ElectionRTT, cfg.Raft.HeartbeatRTT = 100, 5, 1
	s := gatewaytest.NewNode(t, cfg).Service()
	waitFor(t, "ready with a 100 ms tick", func() bool {
		c, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		return s.Ready(c) == nil
	})
}

// On a node with a cluster key a part reads its upload from a replica as
// it stands, without a leader round. A replica that still shows an upload
// aborted meanwhile costs the part's ingest and nothing else: apply
// refuses the part, its chunks go, and the answer is NoSuchUpload. One
// that does not show the upload yet falls back to the linearizable read.
func TestUploadPartStaleUpload(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.ClusterKey = "a cluster key of 32 bytes or so."
	cfg.ChunkSize = 64 << 10
	var shown *meta.Upload // what the replica shows for any upload (nil: what it holds)
	hide := false          // the replica shows no upload
	stale := 0
	gateway.SetStaleReadHook(&cfg, func(q meta.Q, v any, err error) (any, error) {
		if _, ok := q.(meta.UploadQuery); !ok {
			return v, err
		}
		stale++
		switch {
		case hide:
			return nil, meta.ErrNoSuchUpload
		case shown != nil:
			return shown, nil
		}
		return v, err
	})
	s := gatewaytest.NewNode(t, cfg).Service()
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bk1"}); err != nil {
		t.Fatal(err)
	}
	body := randBytes(5, 150<<10) // three chunks
	part := func(id string) (*meta.Part, error) {
		return s.UploadPart(ctx(t), &gateway.UploadPartInput{Bucket: "bk1", Key: "mp", UploadID: id, Number: 1,
			Body: bytes.NewReader(body), Size: int64(len(body))})
	}

	id, err := s.CreateMultipartUpload(ctx(t), "bk1", meta.Object{Key: "mp"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := part(id); err != nil {
		t.Fatal(err)
	}
	if stale == 0 {
		t.Fatal("UploadPart on a node with a cluster key read its upload linearizably")
	}
	// A replica that has not applied the upload's creation yet.
	hide = true
	id2, err := s.CreateMultipartUpload(ctx(t), "bk1", meta.Object{Key: "mp"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := part(id2); err != nil {
		t.Fatalf("a part of an upload the replica does not show yet: %v", err)
	}
	hide = false
	// A replica that still shows an upload aborted meanwhile.
	up, _, err := s.ListParts(ctx(t), "bk1", "mp", id2, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	shown = up
	if err := s.AbortMultipartUpload(ctx(t), "bk1", "mp", id2); err != nil {
		t.Fatal(err)
	}
	// Only the first upload's part is left once the aborted one's go.
	waitFor(t, "the aborted upload's chunks to be collected", func() bool { return chunkFiles(t, cfg) == 3 })
	if _, err := part(id2); !errors.Is(err, meta.ErrNoSuchUpload) {
		t.Fatalf("a part of an aborted upload a stale replica still shows: %v, want NoSuchUpload", err)
	}
	if n := chunkFiles(t, cfg); n != 3 {
		t.Fatalf("the refused part left chunk files: %d, want the first upload's 3", n)
	}
	shown = nil
	// The first upload completes with its part as stored.
	if _, err := s.CompleteMultipartUpload(ctx(t), &gateway.CompleteInput{Bucket: "bk1", Key: "mp", UploadID: id,
		Parts: []gateway.CompletePartInput{{Number: 1, ETag: fmt.Sprintf("%x", md5.Sum(body))}}}); err != nil {
		t.Fatal(err)
	}
	got, err := get(t, s, gateway.GetObjectInput{Bucket: "bk1", Key: "mp"})
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("GET mp: %d bytes, %v", len(got), err)
	}
}

// A multipart upload whose object would have more chunks than one
// metadata command can reference (and later release) is refused with
// EntityTooLarge, and the node goes on: such a completion failed at apply,
// which stopped every replica of the shard, and again at each restart.
func TestCompleteTooManyChunks(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.ChunkSize = 64 << 10
	cfg.Meta.BadgerMemTableSize = 1 << 20 // 1,638 writes a transaction
	s := gatewaytest.NewNode(t, cfg).Service()
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bk1"}); err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateMultipartUpload(ctx(t), "bk1", meta.Object{Key: "mp"})
	if err != nil {
		t.Fatal(err)
	}
	// 11 parts of 80 chunks: completing them writes 2 x 880 + 11.
	body := randBytes(3, gateway.MinPartSize)
	var parts []gateway.CompletePartInput
	for n := 1; n <= 11; n++ {
		p, err := s.UploadPart(ctx(t), &gateway.UploadPartInput{Bucket: "bk1", Key: "mp", UploadID: id, Number: n, Body: bytes.NewReader(body), Size: int64(len(body))})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, gateway.CompletePartInput{Number: n, ETag: p.ETag})
	}
	for _, listed := range [][]gateway.CompletePartInput{parts, parts[:2]} {
		// Listed or not, every part's chunks are released by the
		// completion.
		if _, err := s.CompleteMultipartUpload(ctx(t), &gateway.CompleteInput{Bucket: "bk1", Key: "mp", UploadID: id, Parts: listed}); !errors.Is(err, gateway.ErrEntityTooLarge) {
			t.Fatalf("completing %d of 11 parts (880 chunks) on a 1 MiB memtable: %v, want ErrEntityTooLarge", len(listed), err)
		}
	}
	// The node still applies: another upload completes, and reads back.
	id2, err := s.CreateMultipartUpload(ctx(t), "bk1", meta.Object{Key: "small"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.UploadPart(ctx(t), &gateway.UploadPartInput{Bucket: "bk1", Key: "small", UploadID: id2, Number: 1, Body: bytes.NewReader(body), Size: int64(len(body))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompleteMultipartUpload(ctx(t), &gateway.CompleteInput{Bucket: "bk1", Key: "small", UploadID: id2, Parts: []gateway.CompletePartInput{{Number: 1, ETag: p.ETag}}}); err != nil {
		t.Fatal(err)
	}
	if got, err := get(t, s, gateway.GetObjectInput{Bucket: "bk1", Key: "small"}); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("get: %d bytes, %v", len(got), err)
	}
}
