//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/minio/minio-go/v7"
)

// Forks, snapshots and their contents survive SIGKILL and a restart on
// the same data directory: contents (inline and chunked objects,
// tombstones, multipart, versions), snapshot lists and reads at them,
// HeadBucket's fork headers, lineage and diff; versions keep increasing
// after the restart.
func TestForkRestart(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.Kill() // the harness can restart it: skip early against an external endpoint
	s.Restart()
	c := newForkClient(t, s)
	ctx := testCtx(t)
	base, live, fromSnap, grand := bucketName(t, "base"), bucketName(t, "live"), bucketName(t, "fromsnap"), bucketName(t, "grand")
	makeBucket(t, c, base)
	big := string(randBytes(11, 300<<10)) // chunked, not inline
	baseObjs := map[string]string{"a": "a0", "b": "b0", "big": big, "dir/c": "c0"}
	objectsOf(t, c, base, baseObjs)
	v1 := snapshotBucket(t, s, base, "v1")
	putBytes(t, c, base, "a", []byte("a1"), minio.PutObjectOptions{})
	afterV1 := cloneMap(baseObjs)
	afterV1["a"] = "a1"
	v2 := snapshotBucket(t, s, base, "")

	forkBucket(t, s, base, live, "")
	forkBucket(t, s, base, fromSnap, "v1")
	forkBucket(t, s, live, grand, "")

	mp := string(randBytes(12, 6<<20))
	putBytes(t, c, live, "mp", []byte(mp), minio.PutObjectOptions{PartSize: 5 << 20})
	putBytes(t, c, live, "b", []byte("live b"), minio.PutObjectOptions{})
	if err := c.RemoveObject(ctx, live, "dir/c", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(describe(err))
	}
	liveObjs := cloneMap(afterV1)
	liveObjs["mp"] = mp
	liveObjs["b"] = "live b"
	delete(liveObjs, "dir/c")
	lv := snapshotBucket(t, s, live, "live-snap")
	putBytes(t, c, live, "after-live-snap", []byte("x"), minio.PutObjectOptions{})
	liveLatest := cloneMap(liveObjs)
	liveLatest["after-live-snap"] = "x"

	if err := c.EnableVersioning(ctx, fromSnap); err != nil {
		t.Fatal(describe(err))
	}
	ver1 := putBytes(t, c, fromSnap, "a", []byte("fs a1"), minio.PutObjectOptions{}).VersionID
	putBytes(t, c, fromSnap, "a", []byte("fs a2"), minio.PutObjectOptions{})
	fromSnapObjs := cloneMap(baseObjs)
	fromSnapObjs["a"] = "fs a2"
	putBytes(t, c, grand, "g", []byte("g0"), minio.PutObjectOptions{})
	grandObjs := cloneMap(afterV1)
	grandObjs["g"] = "g0"

	var lineageBefore adminLineage
	mustAdmin(t, s, http.StatusOK, "GET", "buckets/"+base+"/lineage", nil, &lineageBefore)
	var diffBefore adminDiff
	mustAdmin(t, s, http.StatusOK, "GET", "buckets/"+live+"/diff", nil, &diffBefore)
	heads := map[string]http.Header{}
	for _, b := range []string{base, live, fromSnap, grand} {
		heads[b] = headBucket(t, s, b).Header
	}

	baseSnaps := []string{v1 + "; name=v1", v2}
	check := func(round int) {
		t.Helper()
		what := func(s string) string { return fmt.Sprintf("after restart %d: %s", round, s) }
		wantContent(t, c, base, "", afterV1)
		wantContent(t, c, base, v1, baseObjs)
		wantContent(t, c, base, "v1", baseObjs)
		wantContent(t, c, base, v2, afterV1)
		wantContent(t, c, live, "", liveLatest)
		wantContent(t, c, live, lv, liveObjs)
		wantContent(t, c, fromSnap, "", fromSnapObjs)
		wantContent(t, c, grand, "", grandObjs)
		absent(t, c, live, "dir/c", what("tombstone in the fork"))
		if got := string(getBytes(t, c, fromSnap, "a", minio.GetObjectOptions{VersionID: ver1})); got != "fs a1" {
			t.Errorf("%s: old version of a = %q", what("versioned fork"), got)
		}
		if got := listSnapshotNames(t, s, base); !slices.Equal(got, baseSnaps) {
			t.Errorf("%s: snapshots of base = %q", what("snapshots"), got)
		}
		if got := listSnapshotNames(t, s, live); !slices.Equal(got, []string{lv + "; name=live-snap"}) {
			t.Errorf("%s: snapshots of the fork = %q", what("snapshots"), got)
		}
		for b, before := range heads {
			h := headBucket(t, s, b).Header
			for _, name := range []string{hForkSource, hForkSourceSnapshot, hIsForkParent} {
				if h.Get(name) != before.Get(name) {
					t.Errorf("%s: HEAD /%s %s = %q, was %q", what("fork headers"), b, name, h.Get(name), before.Get(name))
				}
			}
		}
		var lin adminLineage
		mustAdmin(t, s, http.StatusOK, "GET", "buckets/"+base+"/lineage", nil, &lin)
		if fmt.Sprint(lin) != fmt.Sprint(lineageBefore) {
			t.Errorf("%s:\n got %+v\nwant %+v", what("lineage"), lin, lineageBefore)
		}
		var d adminDiff
		mustAdmin(t, s, http.StatusOK, "GET", "buckets/"+live+"/diff", nil, &d)
		if !slices.Equal(diffKinds(d.Entries), diffKinds(diffBefore.Entries)) {
			t.Errorf("%s: %v, was %v", what("diff"), diffKinds(d.Entries), diffKinds(diffBefore.Entries))
		}
	}

	s.Kill()
	s.Restart()
	check(1)

	// New snapshots and forks after the restart get later versions, and
	// writes carry on; then once more.
	v3 := snapshotBucket(t, s, base, "after-restart")
	if n3, _ := strconv.ParseUint(v3, 10, 64); n3 <= mustU64(t, v2) {
		t.Errorf("snapshot version after restart %s is not after %s", v3, v2)
	}
	late := bucketName(t, "late")
	lateBase := forkBucket(t, s, grand, late, "")
	if mustU64(t, lateBase) <= mustU64(t, v3) {
		t.Errorf("fork base version after restart %s is not after %s", lateBase, v3)
	}
	putBytes(t, c, late, "l", []byte("l0"), minio.PutObjectOptions{})
	lateObjs := cloneMap(grandObjs)
	lateObjs["l"] = "l0"
	heads[late] = headBucket(t, s, late).Header
	heads[grand] = headBucket(t, s, grand).Header // now a fork parent
	baseSnaps = append(baseSnaps, v3+"; name=after-restart")
	mustAdmin(t, s, http.StatusOK, "GET", "buckets/"+base+"/lineage", nil, &lineageBefore)

	s.Kill()
	s.Restart()
	check(2)
	wantContent(t, c, late, "", lateObjs)
}

func mustU64(t testing.TB, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("version %q: %v", s, err)
	}
	return n
}
