//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
)

// Conditional PutObject (If-None-Match: *, If-Match) and conditional
// reads in a fork see the fork's view: a key it inherits exists, a key it
// deleted does not.
func TestForkConditionalWrites(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	ctx := testCtx(t)
	rc := raw{t, s}
	base, fork := bucketName(t, "base"), bucketName(t, "fork")
	makeBucket(t, c, base)
	objectsOf(t, c, base, map[string]string{"inherited": "i0", "deleted": "d0"})
	forkBucket(t, s, base, fork, "")
	if err := c.RemoveObject(ctx, fork, "deleted", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(describe(err))
	}
	etag := md5Hex([]byte("i0"))

	// PutObject If-None-Match: * (S3 conditional writes).
	r := rc.do(http.MethodPut, "/"+fork+"/inherited", nil, forkHeaders("If-None-Match", "*"), []byte("x"))
	wantErr(t, "PutObject If-None-Match: * over an inherited key", r, http.StatusPreconditionFailed, "PreconditionFailed")
	r = rc.do(http.MethodPut, "/"+fork+"/deleted", nil, forkHeaders("If-None-Match", "*"), []byte("d1"))
	if r.Status != http.StatusOK {
		t.Errorf("PutObject If-None-Match: * over a key the fork deleted: %s, want 200", r)
	}
	// PutObject If-Match with the parent's ETag.
	r = rc.do(http.MethodPut, "/"+fork+"/inherited", nil, forkHeaders("If-Match", `"`+etag+`"`), []byte("i1"))
	if r.Status != http.StatusOK {
		t.Errorf("PutObject If-Match with the inherited ETag: %s, want 200", r)
	}
	r = rc.do(http.MethodPut, "/"+fork+"/inherited", nil, forkHeaders("If-Match", `"`+etag+`"`), []byte("i2"))
	wantErr(t, "PutObject If-Match with a replaced ETag", r, http.StatusPreconditionFailed, "PreconditionFailed")
	wantContent(t, c, fork, "", map[string]string{"inherited": "i1", "deleted": "d1"})
	wantContent(t, c, base, "", map[string]string{"inherited": "i0", "deleted": "d0"})

	// Conditional GET of an inherited object in a second fork.
	fork2 := bucketName(t, "fork2")
	forkBucket(t, s, base, fork2, "")
	o := minio.GetObjectOptions{}
	o.SetMatchETagExcept(etag)
	_, err := tryGet(ctx, c, fork2, "inherited", o)
	if r := minio.ToErrorResponse(err); err == nil || r.StatusCode != http.StatusNotModified {
		t.Errorf("GET If-None-Match of an inherited object: %s, want 304", describe(err))
	}
}

// Multipart uploads are not inherited: an upload in progress in the
// parent is not listed in the fork, cannot be completed through the
// fork, and its object, completed after the fork, is not in the fork.
func TestForkUploadsNotInherited(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	ctx := testCtx(t)
	rc := raw{t, s}
	core := minio.Core{Client: c}
	base, fork := bucketName(t, "base"), bucketName(t, "fork")
	makeBucket(t, c, base)
	uid, err := core.NewMultipartUpload(ctx, base, "mp", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(describe(err))
	}
	part := randBytes(21, 5<<20)
	p1, err := core.PutObjectPart(ctx, base, "mp", uid, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(describe(err))
	}
	forkBucket(t, s, base, fork, "")

	r := rc.do(http.MethodGet, "/"+fork, url.Values{"uploads": {""}}, nil, nil)
	if r.Status != http.StatusOK || bytes.Contains(r.Body, []byte("<Key>mp</Key>")) {
		t.Errorf("ListMultipartUploads of the fork lists the parent's upload: %s", r)
	}
	_, err = core.CompleteMultipartUpload(ctx, fork, "mp", uid, []minio.CompletePart{{PartNumber: 1, ETag: p1.ETag}}, minio.PutObjectOptions{})
	wantCode(t, "CompleteMultipartUpload of the parent's upload through the fork", err, "NoSuchUpload")
	if _, err := core.CompleteMultipartUpload(ctx, base, "mp", uid, []minio.CompletePart{{PartNumber: 1, ETag: p1.ETag}}, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("CompleteMultipartUpload in the parent: %s", describe(err))
	}
	sameBytes(t, "parent mp", getBytes(t, c, base, "mp", minio.GetObjectOptions{}), part)
	absent(t, c, fork, "mp", "completed in the parent after the fork")
}

// A fork's name, once the fork is deleted, can be a fork of another
// bucket: none of the old fork's writes or tombstones show through.
func TestForkNameReuse(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	ctx := testCtx(t)
	a, b, fork := bucketName(t, "a"), bucketName(t, "b"), bucketName(t, "fork")
	makeBucket(t, c, a)
	makeBucket(t, c, b)
	objectsOf(t, c, a, map[string]string{"shared": "from a", "only-a": "a"})
	objectsOf(t, c, b, map[string]string{"shared": "from b", "only-b": "b"})
	forkBucket(t, s, a, fork, "")
	putBytes(t, c, fork, "own", []byte("own"), minio.PutObjectOptions{})
	for _, k := range []string{"own", "shared", "only-a"} {
		if err := c.RemoveObject(ctx, fork, k, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(describe(err))
		}
	}
	if err := c.RemoveBucket(ctx, fork); err != nil {
		t.Fatalf("DeleteBucket of the emptied fork: %s", describe(err))
	}
	forkBucket(t, s, b, fork, "")
	wantContent(t, c, fork, "", map[string]string{"shared": "from b", "only-b": "b"})
	if h := headBucket(t, s, fork); h.Header.Get(hForkSource) != b {
		t.Errorf("HEAD of the re-created fork: %s = %q, want %s", hForkSource, h.Header.Get(hForkSource), b)
	}
	var forksA struct{ Forks []adminRef }
	mustAdmin(t, s, http.StatusOK, "GET", "buckets/"+a+"/forks", nil, &forksA)
	for _, f := range forksA.Forks {
		if f.Bucket == fork {
			t.Errorf("forks of %s still name %s, now a fork of %s: %+v", a, fork, b, forksA.Forks)
		}
	}
	// And a plain bucket may take the name of a deleted fork.
	for _, k := range []string{"shared", "only-b"} {
		if err := c.RemoveObject(ctx, fork, k, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(describe(err))
		}
	}
	if err := c.RemoveBucket(ctx, fork); err != nil {
		t.Fatalf("DeleteBucket of the emptied fork: %s", describe(err))
	}
	makeBucket(t, c, fork)
	wantContent(t, c, fork, "", map[string]string{})
	if h := headBucket(t, s, fork); h.Header.Get(hForkSource) != "" {
		t.Errorf("HEAD of a plain bucket that took a fork's name: %s = %q", hForkSource, h.Header.Get(hForkSource))
	}
}

// Snapshot names as Tigris writes them: spaces, quotes around the name,
// letter case of "name"; the listing gives the name back as given.
func TestSnapshotNames(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	b := bucketName(t, "names")
	makeBucket(t, c, b)
	putBytes(t, c, b, "k", []byte("k0"), minio.PutObjectOptions{})
	rc := raw{t, s}
	var want []string
	for _, tc := range []struct{ header, name string }{
		{"true; name=plain", "plain"},
		{"true;name=nospace", "nospace"},
		{`true; name="quoted"`, "quoted"},
		{"true; NAME=Upper-Case.1", "Upper-Case.1"},
		{"true; name=with space", "with space"},
	} {
		r := rc.do(http.MethodPut, "/"+b, nil, forkHeaders(hSnapshot, tc.header), nil)
		v := r.Header.Get(hSnapshotVersion)
		if r.Status != http.StatusOK || v == "" {
			t.Errorf("%s: %s: %s", hSnapshot, tc.header, r)
			continue
		}
		want = append(want, v+"; name="+tc.name)
		o := minio.GetObjectOptions{}
		o.Set(hSnapshotVersion, tc.name)
		if got, err := tryGet(testCtx(t), c, b, "k", o); err != nil || string(got) != "k0" {
			t.Errorf("GET at snapshot %q: %q, %s", tc.name, got, describe(err))
		}
	}
	if got := listSnapshotNames(t, s, b); !slices.Equal(got, want) {
		t.Errorf("snapshots = %q, want %q", got, want)
	}
}

// With a history window (--history), every past state inside it is
// readable and forkable, not only snapshots (ARCHITECTURE 3).
func TestSnapshotHistoryWindow(t *testing.T) {
	t.Parallel()
	s := startServer(t, harness.WithHistory("1h"))
	c := newForkClient(t, s)
	b := bucketName(t, "hist")
	makeBucket(t, c, b)
	putBytes(t, c, b, "k", []byte("k0"), minio.PutObjectOptions{})
	putBytes(t, c, b, "j", []byte("j0"), minio.PutObjectOptions{})
	// A version between two writes: the base version of a throwaway
	// fork, made with no snapshot.
	probe := bucketName(t, "probe")
	at := forkBucket(t, s, b, probe, "")
	putBytes(t, c, b, "k", []byte("k1"), minio.PutObjectOptions{})
	if err := c.RemoveObject(testCtx(t), b, "j", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(describe(err))
	}
	wantContent(t, c, b, at, map[string]string{"k": "k0", "j": "j0"})
	wantContent(t, c, b, "", map[string]string{"k": "k1"})
	fork := bucketName(t, "past")
	if got := forkBucket(t, s, b, fork, at); got != at {
		t.Errorf("fork at a past version: base %s, want %s", got, at)
	}
	wantContent(t, c, fork, "", map[string]string{"k": "k0", "j": "j0"})
	// A version in the future is not readable.
	r := raw{t, s}.do(http.MethodGet, "/"+b+"/k", nil, forkHeaders(hSnapshotVersion, "18000000000000000000"), nil)
	if r.Status != http.StatusNotFound || r.Err.Code != "NoSuchSnapshot" {
		t.Errorf("GET at a future version: %s, want 404 NoSuchSnapshot", r)
	}
}

// A fork of a live bucket, and a snapshot, is the bucket's state at one
// instant while it is being written: with one writer overwriting a key
// of a versioned bucket (each PUT's VersionId is its version), the fork
// shows exactly the newest write whose version is <= the fork's base
// version, and at least every write acknowledged before the fork was
// requested.
func TestForkInstantUnderWrites(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	ctx := testCtx(t)
	base := bucketName(t, "base")
	makeBucket(t, c, base)
	if err := c.EnableVersioning(ctx, base); err != nil {
		t.Fatal(describe(err))
	}
	type write struct {
		n       int
		version uint64
	}
	var mu sync.Mutex
	var acked []write // in the order acknowledged
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		// Bounded: at most 5,000 writes or 2 minutes.
		deadline := time.Now().Add(2 * time.Minute)
		for n := 1; n <= 5000 && time.Now().Before(deadline); n++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			body := []byte(strconv.Itoa(n))
			info, err := c.PutObject(ctx, base, "seq", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
			if err != nil {
				done <- fmt.Errorf("PUT %d: %s", n, describe(err))
				return
			}
			v, err := strconv.ParseUint(info.VersionID, 10, 64)
			if err != nil {
				done <- fmt.Errorf("PUT %d: VersionId %q", n, info.VersionID)
				return
			}
			mu.Lock()
			acked = append(acked, write{n, v})
			mu.Unlock()
		}
		done <- nil
	}()
	harness.WaitFor(t, time.Minute, "the first write", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) > 0
	})
	type cut struct {
		name     string
		isFork   bool
		minSeen  int // the last write acknowledged before the request
		base     uint64
		forkName string
	}
	var cuts []cut
	for i := 0; i < 20; i++ {
		mu.Lock()
		last := acked[len(acked)-1].n
		mu.Unlock()
		if i%2 == 0 {
			name := fmt.Sprintf("%s-i%02d", base, i)
			v := forkBucket(t, s, base, name, "")
			cuts = append(cuts, cut{name: name, isFork: true, minSeen: last, base: mustU64(t, v), forkName: name})
		} else {
			v := snapshotBucket(t, s, base, "")
			cuts = append(cuts, cut{name: "snapshot " + v, minSeen: last, base: mustU64(t, v)})
		}
		// Let some writes land between two cuts.
		target := last + 3
		harness.WaitFor(t, time.Minute, "more writes", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return acked[len(acked)-1].n >= target
		})
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, ct := range cuts {
		// The expected write: the newest with version <= base.
		want := 0
		for _, w := range acked {
			if w.version <= ct.base && w.n > want {
				want = w.n
			}
		}
		var got []byte
		var err error
		if ct.isFork {
			got, err = tryGet(ctx, c, ct.forkName, "seq", minio.GetObjectOptions{})
		} else {
			o := minio.GetObjectOptions{}
			o.Set(hSnapshotVersion, strconv.FormatUint(ct.base, 10))
			got, err = tryGet(ctx, c, base, "seq", o)
		}
		if err != nil {
			t.Errorf("%s: GET seq: %s", ct.name, describe(err))
			continue
		}
		n, _ := strconv.Atoi(string(got))
		if n != want {
			t.Errorf("%s (base version %d): seq = %d, want write %d (the newest with version <= base)", ct.name, ct.base, n, want)
		}
		if n < ct.minSeen {
			t.Errorf("%s: seq = %d, but write %d was acknowledged before the request", ct.name, n, ct.minSeen)
		}
	}
}

// --max-fork-depth sets the longest chain: with 3, a fork of a fork of a
// fork is the deepest, and one more is 400 InvalidRequest.
func TestForkDepthConfigured(t *testing.T) {
	t.Parallel()
	s := startServer(t, harness.WithArgs("--max-fork-depth", "3"))
	c := newForkClient(t, s)
	base := bucketName(t, "depth3")
	makeBucket(t, c, base)
	putBytes(t, c, base, "k", []byte("k0"), minio.PutObjectOptions{})
	v := snapshotBucket(t, s, base, "")
	prev := base
	for d := 1; d <= 3; d++ {
		name := fmt.Sprintf("%s-%d", base, d)
		forkBucket(t, s, prev, name, "")
		prev = name
	}
	wantContent(t, c, prev, "", map[string]string{"k": "k0"})
	r := raw{t, s}.do(http.MethodPut, "/"+base+"-4", nil, forkHeaders(hForkSource, prev), nil)
	wantErr(t, "fork at depth 4 with --max-fork-depth 3", r, http.StatusBadRequest, "InvalidRequest")
	// A fork of a snapshot counts the same.
	snapFork := base + "-s1"
	forkBucket(t, s, base, snapFork, v)
	r = raw{t, s}.do(http.MethodPut, "/"+base+"-s2", nil, forkHeaders(hForkSource, base+"-2"), nil)
	if r.Status != http.StatusOK {
		t.Errorf("fork at depth 3: %s", r)
	}
}

// --max-fork-depth is bounded by how far reads walk (1024 ancestors): a
// larger value is refused at start-up, and at the bound a chain of 1024
// forks is created, read through at its far end, and the 1025th refused.
func TestForkDepthBeyondDefault(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(binPath, "server", "--max-fork-depth", "1100", "--data", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "max fork depth") {
		t.Fatalf("--max-fork-depth 1100 accepted: %v %s", err, out)
	}
	s := startServer(t, harness.WithArgs("--max-fork-depth", "1024"))
	c := newForkClient(t, s)
	rc := raw{t, s}
	base := bucketName(t, "deep")
	makeBucket(t, c, base)
	putBytes(t, c, base, "root", []byte("r0"), minio.PutObjectOptions{})
	prev := base
	deadline := time.Now().Add(5 * time.Minute)
	for d := 1; d <= 1025; d++ {
		if time.Now().After(deadline) {
			t.Fatalf("creating forks took too long (depth %d)", d)
		}
		name := fmt.Sprintf("%s-%04d", base, d)
		r := rc.do(http.MethodPut, "/"+name, nil, forkHeaders(hForkSource, prev), nil)
		if d == 1025 {
			if r.Status != http.StatusBadRequest {
				t.Fatalf("fork at depth 1025 (--max-fork-depth 1024): %s", r)
			}
			break
		}
		if r.Status != http.StatusOK {
			t.Fatalf("fork at depth %d (--max-fork-depth 1024): %s", d, r)
		}
		prev = name
		if d%256 == 0 {
			g := rc.do(http.MethodGet, "/"+name+"/root", nil, nil, nil)
			if g.Status != http.StatusOK || string(g.Body) != "r0" {
				t.Fatalf("GET root through %d forks: %s", d, g)
			}
		}
	}
}
