//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// A fork made with CreateBucket + X-Tigris-Fork-Source-Bucket through
// minio-go: it shows the parent's objects at the fork's instant; its own
// PutObject and DeleteObject (a tombstone) never reach the parent; later
// writes to the parent never reach the fork.
func TestForkMinioReadThrough(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	ctx := testCtx(t)
	base, fork := bucketName(t, "base"), bucketName(t, "fork")
	makeBucket(t, c, base)
	baseObjs := map[string]string{"a": "alpha", "b": "bravo", "c": "charlie", "dir/x": "x-ray", "dir/y": "yankee"}
	objectsOf(t, c, base, baseObjs)

	if err := c.MakeBucket(withForkHeaders(ctx, hForkSource, base), fork, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("CreateBucket %s with %s: %s", fork, hForkSource, describe(err))
	}
	ok, err := c.BucketExists(ctx, fork)
	if err != nil || !ok {
		t.Fatalf("HeadBucket(fork) = %v, %s", ok, describe(err))
	}
	wantContent(t, c, fork, "", baseObjs)

	// Writes in the fork.
	putBytes(t, c, fork, "b", []byte("bravo-fork"), minio.PutObjectOptions{})
	putBytes(t, c, fork, "new", []byte("november"), minio.PutObjectOptions{})
	if err := c.RemoveObject(ctx, fork, "c", minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("DeleteObject fork/c: %s", describe(err))
	}
	if err := c.RemoveObject(ctx, fork, "dir/x", minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("DeleteObject fork/dir/x: %s", describe(err))
	}
	absent(t, c, fork, "c", "deleted in the fork")
	// Deleting a key nobody has is still a 204 in a fork.
	if err := c.RemoveObject(ctx, fork, "never-existed", minio.RemoveObjectOptions{}); err != nil {
		t.Errorf("DeleteObject of a missing key in a fork: %s", describe(err))
	}

	// Writes in the parent after the fork.
	putBytes(t, c, base, "a", []byte("alpha-2"), minio.PutObjectOptions{})
	putBytes(t, c, base, "late", []byte("lima"), minio.PutObjectOptions{})
	if err := c.RemoveObject(ctx, base, "dir/y", minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("DeleteObject base/dir/y: %s", describe(err))
	}

	wantFork := map[string]string{"a": "alpha", "b": "bravo-fork", "new": "november", "dir/y": "yankee"}
	wantBase := map[string]string{"a": "alpha-2", "b": "bravo", "c": "charlie", "dir/x": "x-ray", "late": "lima"}
	wantContent(t, c, fork, "", wantFork)
	wantContent(t, c, base, "", wantBase)

	// HeadObject through the fork reports the parent's object as is.
	st, err := c.StatObject(ctx, fork, "dir/y", minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("HeadObject fork/dir/y: %s", describe(err))
	}
	if st.Size != int64(len("yankee")) || st.ETag != md5Hex([]byte("yankee")) {
		t.Errorf("HeadObject fork/dir/y: size %d etag %s, want %d %s", st.Size, st.ETag, len("yankee"), md5Hex([]byte("yankee")))
	}

	// The fork lists among the buckets like any other.
	bs, err := c.ListBuckets(ctx)
	if err != nil {
		t.Fatal(describe(err))
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
	}
	if !slices.Contains(names, base) || !slices.Contains(names, fork) {
		t.Errorf("ListBuckets = %v, want %s and %s", names, base, fork)
	}
}

// ListObjects (v2 and v1) on a fork of 2,500 keys where the fork
// overwrote 10%, deleted 10% (one whole "directory" among them) and added
// keys of its own: every listing equals the merge computed here, with
// prefixes, the "/" delimiter, pagination and start-after; the parent's
// listing is unchanged. Deletes go through DeleteObjects.
func TestForkMinioListingMerge(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	ctx := testCtx(t)
	base, fork := bucketName(t, "base"), bucketName(t, "fork")
	makeBucket(t, c, base)
	keys := listingKeys()
	if len(keys) != 2500 {
		t.Fatalf("listingKeys: %d keys, want 2500", len(keys))
	}
	putMany(t, c, base, keys)
	if err := c.MakeBucket(withForkHeaders(ctx, hForkSource, base), fork, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("fork: %s", describe(err))
	}

	want := map[string]string{}
	for _, k := range keys {
		want[k] = "body of " + k
	}
	var overwrite, del, added []string
	for i, k := range keys {
		switch {
		case strings.HasPrefix(k, "d05/s1/"):
			del = append(del, k) // a whole common prefix disappears
		case i%10 == 3:
			overwrite = append(overwrite, k)
		case i%10 == 7 && len(del) < 250:
			del = append(del, k)
		}
	}
	for i := 0; i < 40; i++ {
		added = append(added, fmt.Sprintf("d%02d/s%d/f%02d-fork", i%20, i%5, i))
	}
	added = append(added, "d05/s1/zz-fork-only/leaf", "fork-top", "zzz")
	for _, k := range overwrite {
		want[k] = "fork body of " + k
	}
	for _, k := range del {
		delete(want, k)
	}
	for _, k := range added {
		want[k] = "fork body of " + k
	}
	putForkBodies(t, c, fork, append(slices.Clone(overwrite), added...))

	objs := make(chan minio.ObjectInfo)
	go func() {
		defer close(objs)
		for _, k := range del {
			select {
			case objs <- minio.ObjectInfo{Key: k}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for e := range c.RemoveObjects(ctx, fork, objs, minio.RemoveObjectsOptions{}) {
		t.Errorf("DeleteObjects in the fork: %s: %s", e.ObjectName, describe(e.Err))
	}
	t.Logf("fork: %d keys overwritten, %d deleted, %d added; %d visible", len(overwrite), len(del), len(added), len(want))

	all := sortedKeys(want)
	cases := []struct {
		name string
		opts minio.ListObjectsOptions
		want []string
	}{
		{"v2 recursive", minio.ListObjectsOptions{Recursive: true}, all},
		{"v2 recursive, pages of 97", minio.ListObjectsOptions{Recursive: true, MaxKeys: 97}, all},
		{"v1 recursive, pages of 113", minio.ListObjectsOptions{Recursive: true, MaxKeys: 113, UseV1: true}, all},
		{"v2 delimiter at the root", minio.ListObjectsOptions{}, delimited(all, "")},
		{"v1 delimiter at the root", minio.ListObjectsOptions{UseV1: true}, delimited(all, "")},
		{"v2 delimiter under d05/", minio.ListObjectsOptions{Prefix: "d05/"}, delimited(all, "d05/")},
		{"v2 delimiter under d05/s1/", minio.ListObjectsOptions{Prefix: "d05/s1/"}, delimited(all, "d05/s1/")},
		{"v2 delimiter under d07/s2/, pages of 5", minio.ListObjectsOptions{Prefix: "d07/s2/", MaxKeys: 5}, delimited(all, "d07/s2/")},
		{"v2 prefix d1", minio.ListObjectsOptions{Prefix: "d1", Recursive: true}, filter(all, func(k string) bool { return strings.HasPrefix(k, "d1") })},
		{"v1 prefix top- pages of 10", minio.ListObjectsOptions{Prefix: "top-", Recursive: true, MaxKeys: 10, UseV1: true}, filter(all, func(k string) bool { return strings.HasPrefix(k, "top-") })},
		{"v2 start-after d12/s3/f07", minio.ListObjectsOptions{StartAfter: "d12/s3/f07", Recursive: true, MaxKeys: 250}, filter(all, func(k string) bool { return k > "d12/s3/f07" })},
		{"v2 start-after a deleted key", minio.ListObjectsOptions{StartAfter: del[3], Recursive: true}, filter(all, func(k string) bool { return k > del[3] })},
	}
	for _, tc := range cases {
		got := listKeys(t, c, fork, tc.opts)
		if !tc.opts.Recursive {
			// minio-go yields each page's keys before its common
			// prefixes, so only the set is the server's.
			slices.Sort(got)
		}
		diffLists(t, "fork "+tc.name, got, tc.want)
	}
	// Pages of 7 entries (keys and common prefixes together) with the
	// delimiter: the fork's merge paginates like a plain bucket.
	core := minio.Core{Client: c}
	for _, prefix := range []string{"", "d05/", "d05/s1/"} {
		wantAll := delimited(all, prefix)
		var got []string
		token := ""
		for page := 0; ; page++ {
			if page > len(wantAll) {
				t.Fatalf("prefix %q: pagination does not end", prefix)
			}
			res, err := core.ListObjectsV2(fork, prefix, "", token, "/", 7)
			if err != nil {
				t.Fatalf("ListObjectsV2 prefix %q page %d: %s", prefix, page, describe(err))
			}
			var entries []string
			for _, o := range res.Contents {
				entries = append(entries, o.Key)
			}
			for _, p := range res.CommonPrefixes {
				entries = append(entries, p.Prefix)
			}
			slices.Sort(entries)
			got = append(got, entries...)
			if res.IsTruncated && len(entries) != 7 {
				t.Errorf("prefix %q page %d: %d entries on a truncated page, want 7", prefix, page, len(entries))
			}
			if !res.IsTruncated {
				break
			}
			token = res.NextContinuationToken
		}
		diffLists(t, fmt.Sprintf("fork pages of 7 under %q", prefix), got, wantAll)
	}
	// The parent is untouched.
	diffLists(t, "parent v2 recursive", listKeys(t, c, base, minio.ListObjectsOptions{Recursive: true}), keys)
	diffLists(t, "parent delimiter under d05/", listKeys(t, c, base, minio.ListObjectsOptions{Prefix: "d05/"}), delimited(keys, "d05/"))

	// Bodies: a sample of each kind.
	for _, k := range []string{overwrite[0], overwrite[len(overwrite)-1], added[0], all[0], all[len(all)/2]} {
		if got := string(getBytes(t, c, fork, k, minio.GetObjectOptions{})); got != want[k] {
			t.Errorf("fork GET %q = %q, want %q", k, got, want[k])
		}
	}
	if got := string(getBytes(t, c, base, overwrite[0], minio.GetObjectOptions{})); got != "body of "+overwrite[0] {
		t.Errorf("parent GET %q = %q, want the original", overwrite[0], got)
	}
	absent(t, c, fork, del[0], "deleted with DeleteObjects in the fork")
	if _, err := c.StatObject(ctx, base, del[0], minio.StatObjectOptions{}); err != nil {
		t.Errorf("parent HEAD %q after the fork deleted it: %s", del[0], describe(err))
	}
}

// putForkBodies uploads "fork body of KEY" for each key with 8 workers.
func putForkBodies(t testing.TB, c *minio.Client, bucket string, keys []string) {
	t.Helper()
	ctx := testCtx(t)
	errs := make(chan error, len(keys))
	work := make(chan string)
	done := make(chan struct{})
	for w := 0; w < 8; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for k := range work {
				body := []byte("fork body of " + k)
				if _, err := c.PutObject(ctx, bucket, k, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
					errs <- fmt.Errorf("PutObject(%s/%s): %s", bucket, k, describe(err))
				}
			}
		}()
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	for w := 0; w < 8; w++ {
		<-done
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// A fork is a normal bucket: multipart upload over an inherited key,
// CopyObject from the parent (latest and at a snapshot version) and from
// the fork's own inherited keys, versioning, all without touching the
// parent.
func TestForkMinioMultipartCopyVersioning(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	ctx := testCtx(t)
	base, fork := bucketName(t, "base"), bucketName(t, "fork")
	makeBucket(t, c, base)
	big := randBytes(7, 6<<20)
	putBytes(t, c, base, "big", big, minio.PutObjectOptions{PartSize: 5 << 20})
	objectsOf(t, c, base, map[string]string{"small": "s1", "copy-me": "original"})
	snap := snapshotBucket(t, s, base, "before-edit")
	putBytes(t, c, base, "copy-me", []byte("edited"), minio.PutObjectOptions{})
	forkBucket(t, s, base, fork, "")

	// Multipart upload over an inherited key (CreateMultipartUpload,
	// UploadPart x3, CompleteMultipartUpload).
	mp := randBytes(8, 11<<20)
	info := putBytes(t, c, fork, "big", mp, minio.PutObjectOptions{PartSize: 5 << 20})
	if want := multipartETag(mp, 5<<20); info.ETag != want {
		t.Errorf("multipart ETag in the fork = %s, want %s", info.ETag, want)
	}
	sameBytes(t, "fork big after multipart", getBytes(t, c, fork, "big", minio.GetObjectOptions{}), mp)
	sameBytes(t, "parent big after the fork's multipart", getBytes(t, c, base, "big", minio.GetObjectOptions{}), big)

	// An upload left open, then aborted, leaves nothing behind.
	core := minio.Core{Client: c}
	uid, err := core.NewMultipartUpload(ctx, fork, "aborted", minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("CreateMultipartUpload in the fork: %s", describe(err))
	}
	if _, err := core.PutObjectPart(ctx, fork, "aborted", uid, 1, bytes.NewReader(mp[:5<<20]), 5<<20, minio.PutObjectPartOptions{}); err != nil {
		t.Fatalf("UploadPart in the fork: %s", describe(err))
	}
	if err := core.AbortMultipartUpload(ctx, fork, "aborted", uid); err != nil {
		t.Fatalf("AbortMultipartUpload in the fork: %s", describe(err))
	}
	absent(t, c, fork, "aborted", "aborted upload")

	// CopyObject from the parent into the fork.
	if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: fork, Object: "from-parent"}, minio.CopySrcOptions{Bucket: base, Object: "big"}); err != nil {
		t.Fatalf("CopyObject parent -> fork: %s", describe(err))
	}
	sameBytes(t, "fork from-parent", getBytes(t, c, fork, "from-parent", minio.GetObjectOptions{}), big)
	// CopyObject reading the parent at a snapshot version.
	if _, err := c.CopyObject(withForkHeaders(ctx, hSnapshotVersion, snap), minio.CopyDestOptions{Bucket: fork, Object: "from-snapshot"}, minio.CopySrcOptions{Bucket: base, Object: "copy-me"}); err != nil {
		t.Fatalf("CopyObject with %s: %s", hSnapshotVersion, describe(err))
	}
	if got := string(getBytes(t, c, fork, "from-snapshot", minio.GetObjectOptions{})); got != "original" {
		t.Errorf("copy of base/copy-me at snapshot %s = %q, want %q", snap, got, "original")
	}
	// CopyObject within the fork from a key it only inherits.
	if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: fork, Object: "small-copy"}, minio.CopySrcOptions{Bucket: fork, Object: "small"}); err != nil {
		t.Fatalf("CopyObject of an inherited key: %s", describe(err))
	}
	if got := string(getBytes(t, c, fork, "small-copy", minio.GetObjectOptions{})); got != "s1" {
		t.Errorf("fork small-copy = %q, want s1", got)
	}
	absent(t, c, base, "small-copy", "copy inside the fork")
	absent(t, c, base, "from-parent", "copy into the fork")

	// Versioning on the fork only.
	if err := c.EnableVersioning(ctx, fork); err != nil {
		t.Fatalf("PutBucketVersioning(fork): %s", describe(err))
	}
	if vc, err := c.GetBucketVersioning(ctx, base); err != nil || vc.Status == "Enabled" {
		t.Errorf("parent versioning after enabling it on the fork = %q, %s", vc.Status, describe(err))
	}
	v1 := putBytes(t, c, fork, "small", []byte("s2"), minio.PutObjectOptions{})
	v2 := putBytes(t, c, fork, "small", []byte("s3"), minio.PutObjectOptions{})
	if v1.VersionID == "" || v2.VersionID == "" || v1.VersionID == v2.VersionID {
		t.Fatalf("version ids in the versioned fork: %q, %q", v1.VersionID, v2.VersionID)
	}
	if err := c.RemoveObject(ctx, fork, "small", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(describe(err))
	}
	absent(t, c, fork, "small", "delete marker in the versioned fork")
	if got := string(getBytes(t, c, fork, "small", minio.GetObjectOptions{VersionID: v1.VersionID})); got != "s2" {
		t.Errorf("fork small at version %s = %q, want s2", v1.VersionID, got)
	}
	var vers []minio.ObjectInfo
	for oi := range c.ListObjects(ctx, fork, minio.ListObjectsOptions{Prefix: "small", Recursive: true, WithVersions: true}) {
		if oi.Err != nil {
			t.Fatalf("ListObjectVersions(fork): %s", describe(oi.Err))
		}
		if oi.Key == "small" {
			vers = append(vers, oi)
		}
	}
	var ids []string
	markers := 0
	for _, v := range vers {
		ids = append(ids, v.VersionID)
		if v.IsDeleteMarker {
			markers++
		}
	}
	if !slices.Contains(ids, v1.VersionID) || !slices.Contains(ids, v2.VersionID) || markers != 1 {
		t.Errorf("ListObjectVersions(fork) of small: %s; want %s, %s and one delete marker", fmtVersions(vers), v1.VersionID, v2.VersionID)
	}
	if got := string(getBytes(t, c, base, "small", minio.GetObjectOptions{})); got != "s1" {
		t.Errorf("parent small = %q, want s1", got)
	}
	// A fork of a versioned bucket starts versioned.
	fork2 := bucketName(t, "fork2")
	forkBucket(t, s, fork, fork2, "")
	if vc, err := c.GetBucketVersioning(ctx, fork2); err != nil || vc.Status != "Enabled" {
		t.Errorf("versioning of a fork of a versioned fork = %q, %s; want Enabled", vc.Status, describe(err))
	}
}

// DeleteObjects (the multi-object delete) in a fork, keys of the parent,
// of the fork and missing keys mixed, quiet and verbose.
func TestForkMinioDeleteObjects(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	ctx := testCtx(t)
	base, fork := bucketName(t, "base"), bucketName(t, "fork")
	makeBucket(t, c, base)
	baseObjs := map[string]string{}
	for i := 0; i < 30; i++ {
		baseObjs[fmt.Sprintf("k%02d", i)] = fmt.Sprintf("v%02d", i)
	}
	objectsOf(t, c, base, baseObjs)
	forkBucket(t, s, base, fork, "")
	objectsOf(t, c, fork, map[string]string{"own1": "o1", "own2": "o2", "k00": "fork-k00"})

	toDelete := []string{"k00", "k01", "k02", "own1", "missing"}
	ch := make(chan minio.ObjectInfo, len(toDelete))
	for _, k := range toDelete {
		ch <- minio.ObjectInfo{Key: k}
	}
	close(ch)
	var deleted []string
	for r := range c.RemoveObjectsWithResult(ctx, fork, ch, minio.RemoveObjectsOptions{}) {
		if r.Err != nil {
			t.Errorf("DeleteObjects %s: %s", r.ObjectName, describe(r.Err))
			continue
		}
		deleted = append(deleted, r.ObjectName)
	}
	slices.Sort(deleted)
	if !slices.Equal(deleted, []string{"k00", "k01", "k02", "missing", "own1"}) {
		t.Errorf("DeleteObjects result = %v", deleted)
	}
	want := cloneMap(baseObjs)
	delete(want, "k00")
	delete(want, "k01")
	delete(want, "k02")
	want["own2"] = "o2"
	wantContent(t, c, fork, "", want)
	wantContent(t, c, base, "", baseObjs)

	// Deleting everything the fork shows leaves it empty, and a
	// non-versioned fork that shows nothing can be deleted.
	ch = make(chan minio.ObjectInfo, len(want))
	for _, k := range sortedKeys(want) {
		ch <- minio.ObjectInfo{Key: k}
	}
	close(ch)
	for e := range c.RemoveObjects(ctx, fork, ch, minio.RemoveObjectsOptions{}) {
		t.Errorf("DeleteObjects %s: %s", e.ObjectName, describe(e.Err))
	}
	wantContent(t, c, fork, "", map[string]string{})
	wantContent(t, c, base, "", baseObjs)
	if err := c.RemoveBucket(ctx, fork); err != nil {
		t.Errorf("DeleteBucket of an emptied fork: %s", describe(err))
	}
	wantContent(t, c, base, "", baseObjs)
}

// Forks of forks read through every ancestor, each at its own base
// version. The chain may be --max-fork-depth (default 32) long; one more
// is a clear error (400 InvalidRequest) and creates nothing.
func TestForkDepthChain(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	ctx := testCtx(t)
	const limit = 32
	root := bucketName(t, "depth")
	makeBucket(t, c, root)
	objectsOf(t, c, root, map[string]string{"root": "r0", "shadowed": "level 0"})
	want := map[string]string{"root": "r0", "shadowed": "level 0"}
	prev := root
	names := []string{root}
	for d := 1; d <= limit; d++ {
		name := fmt.Sprintf("%s-%02d", root, d)
		if err := c.MakeBucket(withForkHeaders(ctx, hForkSource, prev), name, minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("fork at depth %d: %s", d, describe(err))
		}
		key := fmt.Sprintf("level-%02d", d)
		putBytes(t, c, name, key, []byte(key), minio.PutObjectOptions{})
		want[key] = key
		if d%8 == 0 {
			putBytes(t, c, name, "shadowed", []byte(fmt.Sprintf("level %d", d)), minio.PutObjectOptions{})
			want["shadowed"] = fmt.Sprintf("level %d", d)
		}
		// Written in the parent after the fork: never seen below.
		putBytes(t, c, prev, "late-"+key, []byte("late"), minio.PutObjectOptions{})
		prev = name
		names = append(names, name)
	}
	wantContent(t, c, prev, "", want)
	// The middle of the chain sees only its ancestors.
	mid := names[16]
	wantMid := map[string]string{"root": "r0", "shadowed": "level 16", "late-level-17": "late"}
	for d := 1; d <= 16; d++ {
		k := fmt.Sprintf("level-%02d", d)
		wantMid[k] = k
	}
	wantContent(t, c, mid, "", wantMid)

	over := root + "-33"
	err := c.MakeBucket(withForkHeaders(ctx, hForkSource, prev), over, minio.MakeBucketOptions{})
	wantCode(t, "fork at depth 33", err, "InvalidRequest")
	if r := minio.ToErrorResponse(err); err != nil && r.StatusCode != http.StatusBadRequest {
		t.Errorf("fork at depth 33: HTTP %d, want 400", r.StatusCode)
	}
	if ok, err := c.BucketExists(ctx, over); err != nil || ok {
		t.Errorf("the refused fork exists: %v, %s", ok, describe(err))
	}
	// The admin API says the same.
	r := admin(t, s, http.MethodPost, "buckets/"+prev+"/forks", map[string]string{"name": over}, nil)
	wantAdminErr(t, "admin fork at depth 33", r, http.StatusBadRequest, "InvalidRequest")
	// A fork of the middle of the chain is fine.
	side := root + "-side"
	forkBucket(t, s, mid, side, "")
	wantContent(t, c, side, "", wantMid)
}

// Snapshots through minio-go: reads at a snapshot version (by version and
// by name) with GetObject, HeadObject, ListObjects v1/v2 and
// ListObjectVersions see the bucket as it was; a snapshot of a fork
// includes what the fork inherits.
func TestSnapshotMinioReadAt(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	ctx := testCtx(t)
	b := bucketName(t, "snap")
	makeBucket(t, c, b)
	s0 := map[string]string{"a": "a0", "b": "b0", "c": "c0", "p/q": "q0"}
	objectsOf(t, c, b, s0)
	v1 := snapshotBucket(t, s, b, "one")

	putBytes(t, c, b, "a", []byte("a1"), minio.PutObjectOptions{})
	if err := c.RemoveObject(ctx, b, "b", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(describe(err))
	}
	putBytes(t, c, b, "d", []byte("d1"), minio.PutObjectOptions{})
	s1 := map[string]string{"a": "a1", "c": "c0", "d": "d1", "p/q": "q0"}
	v2 := snapshotBucket(t, s, b, "")

	putBytes(t, c, b, "a", []byte("a2"), minio.PutObjectOptions{})
	putBytes(t, c, b, "p/q", []byte("q2"), minio.PutObjectOptions{})
	if err := c.RemoveObject(ctx, b, "c", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(describe(err))
	}
	s2 := map[string]string{"a": "a2", "d": "d1", "p/q": "q2"}

	wantContent(t, c, b, v1, s0)
	wantContent(t, c, b, "one", s0) // a snapshot name works as the version
	wantContent(t, c, b, v2, s1)
	wantContent(t, c, b, "", s2)

	// HeadObject at a version, of a key deleted since.
	so := minio.StatObjectOptions{}
	so.Set(hSnapshotVersion, v1)
	st, err := c.StatObject(ctx, b, "b", so)
	if err != nil || st.Size != 2 || st.ETag != md5Hex([]byte("b0")) {
		t.Errorf("HeadObject b at %s: %+v, %s", v1, st, describe(err))
	}
	so = minio.StatObjectOptions{}
	so.Set(hSnapshotVersion, v2)
	_, err = c.StatObject(ctx, b, "b", so)
	wantCode(t, "HeadObject of a key deleted before the snapshot", err, "NoSuchKey")

	// ListObjects v1 with a delimiter at a version.
	lo := minio.ListObjectsOptions{UseV1: true}
	lo.Set(hSnapshotVersion, v1)
	diffLists(t, "ListObjects v1 at v1", listKeys(t, c, b, lo), []string{"a", "b", "c", "p/"})

	// ListObjectVersions at a version: one current version per key.
	lo = minio.ListObjectsOptions{WithVersions: true, Recursive: true}
	lo.Set(hSnapshotVersion, v2)
	var got []string
	for oi := range c.ListObjects(ctx, b, lo) {
		if oi.Err != nil {
			t.Fatalf("ListObjectVersions at %s: %s", v2, describe(oi.Err))
		}
		if oi.IsDeleteMarker {
			got = append(got, oi.Key+"(marker)")
			continue
		}
		got = append(got, oi.Key)
	}
	if !slices.Equal(got, []string{"a", "c", "d", "p/q"}) {
		t.Errorf("ListObjectVersions at %s = %v, want [a c d p/q]", v2, got)
	}

	// A snapshot of a fork: its own writes and what it inherits.
	fork := bucketName(t, "fork")
	forkBucket(t, s, b, fork, v1)
	putBytes(t, c, fork, "f", []byte("f0"), minio.PutObjectOptions{})
	if err := c.RemoveObject(ctx, fork, "c", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(describe(err))
	}
	fv := snapshotBucket(t, s, fork, "fork-snap")
	putBytes(t, c, fork, "a", []byte("fork-a"), minio.PutObjectOptions{})
	wantFork := map[string]string{"a": "a0", "b": "b0", "f": "f0", "p/q": "q0"}
	wantContent(t, c, fork, fv, wantFork)
	wantFork["a"] = "fork-a"
	wantContent(t, c, fork, "", wantFork)
	// A version of the fork's parent is not a snapshot of the fork.
	o := minio.GetObjectOptions{}
	o.Set(hSnapshotVersion, v2)
	_, err = tryGet(ctx, c, fork, "a", o)
	wantCode(t, "GetObject of a fork at its parent's snapshot", err, "NoSuchSnapshot")
}
