//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"sort"
	"testing"

	"github.com/minio/minio-go/v7"
)

// written is what a test wrote and was acknowledged.
type written struct {
	bucket, key string
	data        []byte
	etag        string
}

// writeDurableSet writes the objects of a restart test: small inline
// objects, a multi-chunk object, a multipart upload and an overwrite, and
// returns them in the order they were acknowledged.
func writeDurableSet(t *testing.T, c *minio.Client, b string) []written {
	t.Helper()
	ctx := testCtx(t)
	var out []written
	put := func(key string, data []byte, opts minio.PutObjectOptions) {
		info := putBytes(t, c, b, key, data, opts)
		out = append(out, written{b, key, data, info.ETag})
	}
	for i := 0; i < 20; i++ {
		put(fmt.Sprintf("small/%02d", i), randBytes(uint64(500+i), 10+i*100), minio.PutObjectOptions{})
	}
	put("chunked/9MiB", randBytes(520, 9<<20+3), minio.PutObjectOptions{})
	put("overwritten", []byte("first"), minio.PutObjectOptions{})
	put("overwritten", []byte("second, acknowledged last for this key"), minio.PutObjectOptions{})

	// A multipart upload by hand: 5 MiB + 5 MiB + 1 MiB.
	core := minio.Core{Client: c}
	id, err := core.NewMultipartUpload(ctx, b, "multipart", minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", describe(err))
	}
	var parts []minio.CompletePart
	var all []byte
	for i, n := range []int{5 << 20, 5 << 20, 1 << 20} {
		p := randBytes(uint64(530+i), n)
		all = append(all, p...)
		op, err := core.PutObjectPart(ctx, b, "multipart", id, i+1, bytes.NewReader(p), int64(n), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", i+1, describe(err))
		}
		parts = append(parts, minio.CompletePart{PartNumber: i + 1, ETag: op.ETag})
	}
	info, err := core.CompleteMultipartUpload(ctx, b, "multipart", id, parts, minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", describe(err))
	}
	out = append(out, written{b, "multipart", all, info.ETag})
	// Last: one more small object, acknowledged just before the fault.
	put("last", []byte("the last acknowledged write"), minio.PutObjectOptions{})
	return out
}

// verifyDurableSet checks that every acknowledged write is there, with its
// last acknowledged bytes and ETag, and that nothing else is listed.
func verifyDurableSet(t *testing.T, c *minio.Client, b string, ws []written) {
	t.Helper()
	ctx := testCtx(t)
	latest := map[string]written{}
	for _, w := range ws {
		latest[w.key] = w
	}
	var want []string
	for k, w := range latest {
		want = append(want, k)
		st, err := c.StatObject(ctx, b, k, minio.StatObjectOptions{})
		if err != nil {
			t.Errorf("after restart: HeadObject %s: %v", k, describe(err))
			continue
		}
		if st.ETag != w.etag || st.Size != int64(len(w.data)) {
			t.Errorf("after restart: %s has etag %s size %d, want %s %d", k, st.ETag, st.Size, w.etag, len(w.data))
		}
		got, err := tryGet(ctx, c, b, k, minio.GetObjectOptions{})
		if err != nil {
			t.Errorf("after restart: GetObject %s: %v", k, describe(err))
			continue
		}
		sameBytes(t, "after restart: "+k, got, w.data)
	}
	sort.Strings(want)
	diffLists(t, "after restart: listing", listKeys(t, c, b, minio.ListObjectsOptions{Recursive: true}), want)
	if ok, err := c.BucketExists(ctx, b); !ok || err != nil {
		t.Errorf("after restart: bucket %s: exists %v, %v", b, ok, describe(err))
	}
}

// Graceful restart: SIGTERM, start again on the same data directory.
func TestRestartGraceful(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	if s.IsExternal() {
		t.Skip("restarts need a server started by the test")
	}
	c := newClient(t, s)
	b := bucketName(t, "restart")
	makeBucket(t, c, b)
	ws := writeDurableSet(t, c, b)
	s.Stop() // fails the test unless the process exits 0 after SIGTERM
	s.Restart()
	c = newClient(t, s) // no pooled connections to the old process
	verifyDurableSet(t, c, b, ws)
	// And it takes writes again.
	putBytes(t, c, b, "after-restart", []byte("x"), minio.PutObjectOptions{})
}

// Crash: SIGKILL right after the last acknowledged write; every
// acknowledged write survives.
func TestRestartAfterKill(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	if s.IsExternal() {
		t.Skip("restarts need a server started by the test")
	}
	c := newClient(t, s)
	b := bucketName(t, "crash")
	makeBucket(t, c, b)
	ws := writeDurableSet(t, c, b)
	s.Kill()
	s.Restart()
	c = newClient(t, s) // no pooled connections to the old process
	verifyDurableSet(t, c, b, ws)

	// Twice more, killing right after a multipart completion and right
	// after a delete.
	core := minio.Core{Client: c}
	ctx := testCtx(t)
	id, err := core.NewMultipartUpload(ctx, b, "mp2", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(describe(err))
	}
	p := randBytes(540, 6<<20)
	op, err := core.PutObjectPart(ctx, b, "mp2", id, 1, bytes.NewReader(p), int64(len(p)), minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(describe(err))
	}
	info, err := core.CompleteMultipartUpload(ctx, b, "mp2", id, []minio.CompletePart{{PartNumber: 1, ETag: op.ETag}}, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(describe(err))
	}
	ws = append(ws, written{b, "mp2", p, info.ETag})
	s.Kill()
	s.Restart()
	c = newClient(t, s)
	verifyDurableSet(t, c, b, ws)

	if err := c.RemoveObject(ctx, b, "last", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(describe(err))
	}
	s.Kill()
	s.Restart()
	var kept []written
	for _, w := range ws {
		if w.key != "last" {
			kept = append(kept, w)
		}
	}
	verifyDurableSet(t, newClient(t, s), b, kept)
}
