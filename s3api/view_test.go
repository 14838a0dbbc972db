package s3api

import (
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestLiveSnapshotView: the admin API mounts a snapshot as a bucket that
// S3 clients read like any other (list, get, head), answers every write
// with AccessDenied saying it is a read-only snapshot view, and unmount
// removes it (the snapshot and its bucket untouched). Scoped keys cannot
// mount or unmount.
func TestLiveSnapshotView(t *testing.T) {
	ls := newLiveServer(t)
	ctx := t.Context()
	if err := ls.mc.MakeBucket(ctx, "src", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "dir/b"} {
		if err := put(t, ls.mc, "src", k, "old "+k); err != nil {
			t.Fatal(err)
		}
	}
	var sn SnapshotJSON
	if st := ls.admin(t, "POST", "buckets/src/snapshots", map[string]string{"name": "s1"}, &sn); st != 201 {
		t.Fatalf("snapshot: %d", st)
	}
	if err := put(t, ls.mc, "src", "a", "new a"); err != nil {
		t.Fatal(err)
	}
	if err := put(t, ls.mc, "src", "late", "x"); err != nil {
		t.Fatal(err)
	}

	var b BucketJSON
	if st := ls.admin(t, "POST", "buckets/src/snapshots/s1/mount", map[string]string{"name": "src-s1"}, &b); st != 201 || !b.SnapshotView || b.Parent == nil || b.Parent.Version != sn.Version {
		t.Fatalf("mount: %d %+v", st, b)
	}
	var e adminError
	if st := ls.admin(t, "POST", "buckets/src/snapshots/nope/mount", map[string]string{"name": "xview"}, &e); st != 404 || e.Code != "NoSuchSnapshot" {
		t.Fatalf("mount of a missing snapshot: %d %+v", st, e)
	}
	if st := ls.admin(t, "POST", "buckets/src/snapshots/s1/mount", map[string]string{"name": "src"}, &e); st != 409 {
		t.Fatalf("mount over an existing bucket: %d %+v", st, e)
	}

	var keys []string
	for o := range ls.mc.ListObjects(ctx, "src-s1", minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	if strings.Join(keys, ",") != "a,dir/b" {
		t.Fatalf("view lists %v", keys)
	}
	if got, err := get(t, ls.mc, "src-s1", "a"); err != nil || got != "old a" {
		t.Fatalf("view a = %q %v", got, err)
	}
	resp, _ := ls.raw(t, "HEAD", "/src-s1", nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get(hdrSnapshotView) != "true" {
		t.Fatalf("HeadBucket of the view: %d %v", resp.StatusCode, resp.Header)
	}

	denied := func(what string, err error) {
		t.Helper()
		r := minio.ToErrorResponse(err)
		if r.Code != "AccessDenied" || !strings.Contains(r.Message, "read-only snapshot view") {
			t.Fatalf("%s on the view: %v (code %q, message %q)", what, err, r.Code, r.Message)
		}
	}
	denied("PutObject", put(t, ls.mc, "src-s1", "new", "x"))
	denied("DeleteObject", ls.mc.RemoveObject(ctx, "src-s1", "a", minio.RemoveObjectOptions{}))
	_, err := ls.mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "src-s1", Object: "c"}, minio.CopySrcOptions{Bucket: "src", Object: "a"})
	denied("CopyObject", err)
	_, err = ls.core.NewMultipartUpload(ctx, "src-s1", "m", minio.PutObjectOptions{})
	denied("CreateMultipartUpload", err)
	denied("PutBucketVersioning", ls.mc.EnableVersioning(ctx, "src-s1"))
	denied("DeleteBucket", ls.mc.RemoveBucket(ctx, "src-s1"))
	for r := range ls.mc.RemoveObjects(ctx, "src-s1", func() <-chan minio.ObjectInfo {
		ch := make(chan minio.ObjectInfo, 1)
		ch <- minio.ObjectInfo{Key: "a"}
		close(ch)
		return ch
	}(), minio.RemoveObjectsOptions{}) {
		denied("DeleteObjects", r.Err)
	}
	if got, err := get(t, ls.mc, "src-s1", "a"); err != nil || got != "old a" {
		t.Fatalf("view a after refused writes = %q %v", got, err)
	}
	// Copying out of the view is a read.
	if _, err := ls.mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "src", Object: "restored"}, minio.CopySrcOptions{Bucket: "src-s1", Object: "a"}); err != nil {
		t.Fatal(err)
	}
	if got, err := get(t, ls.mc, "src", "restored"); err != nil || got != "old a" {
		t.Fatalf("restored = %q %v", got, err)
	}

	// Scoped keys neither mount nor unmount.
	var k KeyJSON
	if st := ls.admin(t, "POST", "keys", map[string]any{"buckets": []string{"src", "src-s1"}}, &k); st != 201 {
		t.Fatalf("key: %d", st)
	}
	if r := ls.rawAs(t, k, "POST", "/_forkstore/v1/buckets/src-s1/unmount", nil, nil); r.StatusCode != 403 {
		t.Fatalf("unmount by a scoped key: %d", r.StatusCode)
	}
	if r := ls.rawAs(t, k, "POST", "/_forkstore/v1/buckets/src/snapshots/s1/mount", []byte(`{"name":"k-view"}`), nil); r.StatusCode != 403 {
		t.Fatalf("mount by a scoped key: %d", r.StatusCode)
	}

	if st := ls.admin(t, "POST", "buckets/src/unmount", nil, &e); st != 400 || e.Code != "InvalidRequest" {
		t.Fatalf("unmount of a plain bucket: %d %+v", st, e)
	}
	var out struct {
		Bucket    string `json:"bucket"`
		Unmounted bool   `json:"unmounted"`
	}
	if st := ls.admin(t, "POST", "buckets/src-s1/unmount", nil, &out); st != 200 || !out.Unmounted || out.Bucket != "src-s1" {
		t.Fatalf("unmount: %d %+v", st, out)
	}
	if ok, err := ls.mc.BucketExists(ctx, "src-s1"); err != nil || ok {
		t.Fatalf("view still there after unmount: %v %v", ok, err)
	}
	var snaps struct {
		Snapshots []SnapshotJSON `json:"snapshots"`
	}
	ls.admin(t, "GET", "buckets/src/snapshots", nil, &snaps)
	if len(snaps.Snapshots) != 1 || snaps.Snapshots[0].Name != "s1" {
		t.Fatalf("snapshots after unmount: %+v", snaps)
	}
	if got, err := get(t, ls.mc, "src", "a"); err != nil || got != "new a" {
		t.Fatalf("src a = %q %v", got, err)
	}
}
