//go:build e2e

package e2e

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// The Tigris header conventions on the wire, in any letter case:
// CreateBucket with X-Tigris-Snapshot (snapshot) and
// X-Tigris-Fork-Source-Bucket[-Snapshot] (fork), ListBuckets with
// X-Tigris-Snapshot, X-Tigris-Snapshot-Version on GetObject, HeadObject,
// ListObjects v1/v2, ListObjectVersions and CopyObject, HeadBucket's fork
// headers, and DeleteBucket with X-Tigris-Snapshot-Version.
func TestForkTigrisHeaders(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	rc := raw{t, s}
	base := bucketName(t, "base")
	makeBucket(t, c, base)
	objectsOf(t, c, base, map[string]string{"k": "k0", "dir/a": "a0"})

	// HeadBucket of a bucket nothing was forked from: no fork headers.
	h := headBucket(t, s, base)
	if h.Status != http.StatusOK {
		t.Fatalf("HEAD /%s: %s", base, h)
	}
	for _, name := range []string{hForkSource, hForkSourceSnapshot, hIsForkParent} {
		if v := h.Header.Get(name); v != "" {
			t.Errorf("HEAD /%s (no forks): %s: %q, want none", base, name, v)
		}
	}

	// Snapshots: "true", "true; name=N", with header names and the
	// literal in other cases.
	v1 := snapshotBucket(t, s, base, "")
	putBytes(t, c, base, "k", []byte("k1"), minio.PutObjectOptions{})
	v2 := snapshotBucket(t, s, base, "nightly")
	req := rc.unsigned(http.MethodPut, "/"+base, nil, nil, nil)
	req.Header["x-tigris-snapshot"] = []string{"TRUE; Name=weekly"}
	r := rc.send(signed(t, s, req))
	v3 := r.Header.Get(hSnapshotVersion)
	if r.Status != http.StatusOK || v3 == "" {
		t.Fatalf("snapshot with a lower-case header name: %s (version %q)", r, v3)
	}
	putBytes(t, c, base, "k", []byte("k3"), minio.PutObjectOptions{})
	vs := []string{v1, v2, v3}
	for i, v := range vs {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			t.Errorf("snapshot version %q is not a positive decimal", v)
		}
		if i > 0 && v <= vs[i-1] && len(v) == len(vs[i-1]) {
			t.Errorf("snapshot versions do not increase: %v", vs)
		}
	}

	// ListBuckets with X-Tigris-Snapshot lists them, oldest first.
	want := []string{v1, v2 + "; name=nightly", v3 + "; name=weekly"}
	if got := listSnapshotNames(t, s, base); !slices.Equal(got, want) {
		t.Errorf("snapshots of %s = %q, want %q", base, got, want)
	}
	// ...and without the header ListBuckets lists buckets, not snapshots.
	r = rc.do(http.MethodGet, "/", nil, nil, nil)
	if !strings.Contains(string(r.Body), "<Name>"+base+"</Name>") || strings.Contains(string(r.Body), v1) {
		t.Errorf("ListBuckets without %s: %s", hSnapshot, r)
	}

	// Reads at a version with the header in lower case.
	get := func(key, at string) string {
		t.Helper()
		req := rc.unsigned(http.MethodGet, "/"+base+"/"+key, nil, nil, nil)
		req.Header["x-tigris-snapshot-version"] = []string{at}
		r := rc.send(signed(t, s, req))
		if r.Status != http.StatusOK {
			return r.String()
		}
		return string(r.Body)
	}
	for _, tc := range []struct{ at, want string }{{v1, "k0"}, {v2, "k1"}, {"nightly", "k1"}, {v3, "k1"}, {"weekly", "k1"}} {
		if got := get("k", tc.at); got != tc.want {
			t.Errorf("GET k at %s = %q, want %q", tc.at, got, tc.want)
		}
	}
	hr := rc.do(http.MethodHead, "/"+base+"/k", nil, forkHeaders(hSnapshotVersion, v1), nil)
	if hr.Status != http.StatusOK || trimETag(hr.Header.Get("ETag")) != md5Hex([]byte("k0")) {
		t.Errorf("HEAD k at %s: %s etag %s, want the ETag of k0", v1, hr, hr.Header.Get("ETag"))
	}

	// ListObjects v1 and v2 and ListObjectVersions at a version (raw XML).
	putBytes(t, c, base, "after-snapshots", []byte("x"), minio.PutObjectOptions{})
	for _, q := range []url.Values{{}, {"list-type": {"2"}}, {"versions": {""}}} {
		r := rc.do(http.MethodGet, "/"+base, q, forkHeaders(hSnapshotVersion, v2), nil)
		if r.Status != http.StatusOK {
			t.Errorf("list %v at %s: %s", q, v2, r)
			continue
		}
		var res struct {
			Contents []struct{ Key string } `xml:"Contents"`
			Versions []struct {
				Key      string
				IsLatest bool
			} `xml:"Version"`
		}
		if err := xml.Unmarshal(r.Body, &res); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, c := range res.Contents {
			keys = append(keys, c.Key)
		}
		for _, v := range res.Versions {
			keys = append(keys, v.Key)
		}
		if !slices.Equal(keys, []string{"dir/a", "k"}) {
			t.Errorf("list %v at %s: keys %v, want [dir/a k]\n%s", q, v2, keys, r.Body)
		}
	}

	// CopyObject reads its source at the version.
	cp := rc.do(http.MethodPut, "/"+base+"/copied", nil, forkHeaders("X-Amz-Copy-Source", "/"+base+"/k", hSnapshotVersion, v1), nil)
	if cp.Status != http.StatusOK {
		t.Errorf("CopyObject with %s: %s", hSnapshotVersion, cp)
	} else if got := string(getBytes(t, c, base, "copied", minio.GetObjectOptions{})); got != "k0" {
		t.Errorf("copy of k at %s = %q, want k0", v1, got)
	}

	// Forks with header names in lower and upper case; the response and
	// HeadBucket name the source and the base version.
	f1, f2, f3 := bucketName(t, "f1"), bucketName(t, "f2"), bucketName(t, "f3")
	req = rc.unsigned(http.MethodPut, "/"+f1, nil, nil, nil)
	req.Header["x-tigris-fork-source-bucket"] = []string{base}
	r = rc.send(signed(t, s, req))
	if r.Status != http.StatusOK {
		t.Fatalf("fork with a lower-case header name: %s", r)
	}
	f1Base := r.Header.Get(hForkSourceSnapshot)
	req = rc.unsigned(http.MethodPut, "/"+f2, nil, nil, nil)
	req.Header["X-TIGRIS-FORK-SOURCE-BUCKET"] = []string{base}
	req.Header["X-TIGRIS-FORK-SOURCE-BUCKET-SNAPSHOT"] = []string{v1}
	r = rc.send(signed(t, s, req))
	if r.Status != http.StatusOK {
		t.Fatalf("fork with upper-case header names: %s", r)
	}
	if got := forkBucket(t, s, base, f3, "nightly"); got != v2 {
		t.Errorf("fork of snapshot \"nightly\": response %s = %q, want %s", hForkSourceSnapshot, got, v2)
	}
	for _, tc := range []struct{ fork, at string }{{f1, f1Base}, {f2, v1}, {f3, v2}} {
		h := headBucket(t, s, tc.fork)
		if h.Status != http.StatusOK || h.Header.Get(hForkSource) != base || h.Header.Get(hForkSourceSnapshot) != tc.at {
			t.Errorf("HEAD /%s: %s %s=%q %s=%q; want %s and %s", tc.fork, h, hForkSource, h.Header.Get(hForkSource),
				hForkSourceSnapshot, h.Header.Get(hForkSourceSnapshot), base, tc.at)
		}
		if v := h.Header.Get(hIsForkParent); v != "" {
			t.Errorf("HEAD /%s (a fork with no forks): %s: %q", tc.fork, hIsForkParent, v)
		}
	}
	if n, err := strconv.ParseUint(f1Base, 10, 64); err != nil || f1Base <= v3 && len(f1Base) == len(v3) || n == 0 {
		t.Errorf("base version of a fork of the live bucket = %q, want a version after the last snapshot %s", f1Base, v3)
	}
	if got := headBucket(t, s, base).Header.Get(hIsForkParent); got != "true" {
		t.Errorf("HEAD /%s after forking it: %s = %q, want true", base, hIsForkParent, got)
	}
	wantContent(t, c, f1, "", map[string]string{"k": "k3", "dir/a": "a0", "copied": "k0", "after-snapshots": "x"})
	wantContent(t, c, f2, "", map[string]string{"k": "k0", "dir/a": "a0"})
	wantContent(t, c, f3, "", map[string]string{"k": "k1", "dir/a": "a0"})

	// DeleteBucket with X-Tigris-Snapshot-Version deletes the snapshot
	// only (by version and by name) - even one a fork was made from.
	for _, ref := range []string{v2, "weekly"} {
		r := rc.do(http.MethodDelete, "/"+base, nil, forkHeaders(hSnapshotVersion, ref), nil)
		if r.Status != http.StatusNoContent {
			t.Errorf("delete snapshot %s: %s, want 204", ref, r)
		}
	}
	if got := listSnapshotNames(t, s, base); !slices.Equal(got, []string{v1}) {
		t.Errorf("snapshots after deleting two = %q, want [%s]", got, v1)
	}
	if h := headBucket(t, s, base); h.Status != http.StatusOK {
		t.Fatalf("the bucket is gone after deleting its snapshots: %s", h)
	}
	wantContent(t, c, base, "", map[string]string{"k": "k3", "dir/a": "a0", "copied": "k0", "after-snapshots": "x"})
	wantContent(t, c, f3, "", map[string]string{"k": "k1", "dir/a": "a0"}) // made from the deleted snapshot
	if h := headBucket(t, s, f3); h.Header.Get(hForkSourceSnapshot) != v2 {
		t.Errorf("HEAD /%s after its snapshot was deleted: %s = %q, want %s", f3, hForkSourceSnapshot, h.Header.Get(hForkSourceSnapshot), v2)
	}
	g := rc.do(http.MethodGet, "/"+base+"/k", nil, forkHeaders(hSnapshotVersion, v2), nil)
	wantErr(t, "GET at a deleted snapshot", g, http.StatusNotFound, "NoSuchSnapshot")
	g = rc.do(http.MethodDelete, "/"+base, nil, forkHeaders(hSnapshotVersion, v2), nil)
	wantErr(t, "deleting a deleted snapshot", g, http.StatusNotFound, "NoSuchSnapshot")
	// The name of a deleted snapshot can be used again.
	snapshotBucket(t, s, base, "nightly")
}

// signed signs a request built with raw.unsigned, whose headers may
// have been set with names that are not in canonical form.
func signed(t testing.TB, s *harness.Server, req *http.Request) *http.Request {
	t.Helper()
	return signer.SignV4(*req, s.User(), s.Password(), "", s.Region())
}

// Deleting a bucket that forks and snapshots depend on frees its name and
// hides it, while the forks (of the live bucket and of its snapshot) keep
// reading what they had; the name can be created again, empty.
func TestForkDeleteParent(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	ctx := testCtx(t)
	base, live, fromSnap, grand := bucketName(t, "base"), bucketName(t, "live"), bucketName(t, "snap"), bucketName(t, "grand")
	makeBucket(t, c, base)
	objs := map[string]string{"a": "a0", "b": "b0", "big": string(randBytes(3, 200<<10))}
	objectsOf(t, c, base, objs)
	v := snapshotBucket(t, s, base, "keep")
	putBytes(t, c, base, "a", []byte("a1"), minio.PutObjectOptions{})
	forkBucket(t, s, base, fromSnap, v)
	forkBucket(t, s, base, live, "")
	forkBucket(t, s, live, grand, "")
	liveWant := map[string]string{"a": "a1", "b": "b0", "big": objs["big"]}

	// Not empty: DeleteBucket refuses, as on any bucket.
	err := c.RemoveBucket(ctx, base)
	wantCode(t, "DeleteBucket of a non-empty parent", err, "BucketNotEmpty")

	for _, k := range []string{"a", "b", "big"} {
		if err := c.RemoveObject(ctx, base, k, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(describe(err))
		}
	}
	if err := c.RemoveBucket(ctx, base); err != nil {
		t.Fatalf("DeleteBucket of an emptied parent with forks and a snapshot: %s", describe(err))
	}
	if h := headBucket(t, s, base); h.Status != http.StatusNotFound {
		t.Errorf("HEAD /%s after DeleteBucket: %s, want 404", base, h)
	}
	bs, err := c.ListBuckets(ctx)
	if err != nil {
		t.Fatal(describe(err))
	}
	for _, b := range bs {
		if b.Name == base {
			t.Errorf("ListBuckets still lists the deleted %s", base)
		}
	}
	wantContent(t, c, fromSnap, "", objs)
	wantContent(t, c, live, "", liveWant)
	wantContent(t, c, grand, "", liveWant)

	// The name is free: a new, empty, unrelated bucket.
	makeBucket(t, c, base)
	wantContent(t, c, base, "", map[string]string{})
	if got := listSnapshotNames(t, s, base); len(got) != 0 {
		t.Errorf("snapshots of the re-created %s = %q, want none", base, got)
	}
	putBytes(t, c, base, "a", []byte("new bucket"), minio.PutObjectOptions{})
	wantContent(t, c, live, "", liveWant)
	wantContent(t, c, fromSnap, "", objs)
	if h := headBucket(t, s, live); h.Header.Get(hForkSource) == base {
		t.Errorf("HEAD /%s names the new, unrelated %s as its source", live, base)
	}

	// The forks stay writable, and deleting the middle of a chain keeps
	// its fork readable too.
	putBytes(t, c, live, "c", []byte("c0"), minio.PutObjectOptions{})
	if err := c.RemoveObject(ctx, live, "c", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(describe(err))
	}
	for _, k := range []string{"a", "b", "big"} {
		if err := c.RemoveObject(ctx, live, k, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(describe(err))
		}
	}
	if err := c.RemoveBucket(ctx, live); err != nil {
		t.Fatalf("DeleteBucket of an emptied fork that has a fork: %s", describe(err))
	}
	wantContent(t, c, grand, "", liveWant)
	putBytes(t, c, grand, "g", []byte("g0"), minio.PutObjectOptions{})
	liveWant["g"] = "g0"
	wantContent(t, c, grand, "", liveWant)
}

// Discarding a fork is O(its own writes): DeleteBucket on a fork refuses
// (409 BucketNotEmpty) only while the fork's OWN layer holds live objects;
// what it merely inherits from its parent does not count, so an untouched
// fork, or one whose own writes were deleted, can be deleted at once. The
// parent never changes.
func TestForkDeleteBucketNotEmpty(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	ctx := testCtx(t)
	base, fork, fork2 := bucketName(t, "base"), bucketName(t, "fork"), bucketName(t, "fork2")
	makeBucket(t, c, base)
	objectsOf(t, c, base, map[string]string{"inherited": "i0"})
	forkBucket(t, s, base, fork, "")
	forkBucket(t, s, base, fork2, "")
	if got := listKeys(t, c, fork, minio.ListObjectsOptions{Recursive: true}); len(got) != 1 {
		t.Fatalf("fork lists %v, want [inherited]", got)
	}
	// Own writes make it non-empty, as on any bucket.
	putBytes(t, c, fork, "own", []byte("o"), minio.PutObjectOptions{})
	err := c.RemoveBucket(ctx, fork)
	wantCode(t, "DeleteBucket of a fork with its own objects", err, "BucketNotEmpty")
	if h := headBucket(t, s, fork); h.Status != http.StatusOK {
		t.Errorf("HEAD /%s after DeleteBucket was refused: %s", fork, h)
	}
	if err := c.RemoveObject(ctx, fork, "own", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// Only inherited objects (and tombstones) left: the fork can go.
	if err := c.RemoveBucket(ctx, fork); err != nil {
		t.Fatalf("DELETE /%s (only inherited objects): %v", fork, err)
	}
	if h := headBucket(t, s, fork); h.Status != http.StatusNotFound {
		t.Errorf("HEAD /%s after delete: %s", fork, h)
	}
	if err := c.RemoveBucket(ctx, fork2); err != nil {
		t.Fatalf("DELETE /%s (untouched fork): %v", fork2, err)
	}
	wantContent(t, c, base, "", map[string]string{"inherited": "i0"})
}
