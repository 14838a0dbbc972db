package meta

import (
	"errors"
	"reflect"
	"testing"
)

// TestSnapshotView: a view shows its snapshot, refuses every write
// (ErrReadOnlyView) and DeleteBucket, pins the snapshot's history like a
// fork (deleting the snapshot and overwriting the source change nothing
// in it), and UnmountView removes it and its pin; UnmountView of another
// bucket is ErrNotAView. The command round-trips through the codec.
func TestSnapshotView(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("src")
	tf.putChunks("src", "k", "c1")
	tf.put("src", "small", "one")
	sn := tf.must(&CreateSnapshot{Bucket: "src", Name: "s1"}).Snapshot
	tf.mustFail(&MountView{Name: "v", Bucket: "src", SnapshotName: "nope"}, ErrNoSuchSnapshot)
	v := tf.must(&MountView{Name: "v", Bucket: "src", SnapshotName: "s1"}).Bucket
	if v.Parent == nil || v.Parent.Version != sn.Version {
		t.Fatalf("view %+v", v)
	}
	if b := tf.read(func(r *Reader) (any, error) { return r.Bucket("v") }).(*Bucket); !b.View {
		t.Fatalf("Bucket(v) %+v: not a view", b)
	}
	// A second view of the same snapshot, by version.
	tf.must(&MountView{Name: "v2", Bucket: "src", Version: sn.Version})
	tf.mustFail(&MountView{Name: "v2", Bucket: "src", Version: sn.Version}, ErrBucketExists)

	tf.putChunks("src", "k", "c2")
	tf.put("src", "small", "two")
	tf.put("src", "late", "x")
	tf.must(&DeleteSnapshot{Bucket: "src", Version: sn.Version})
	tf.drainGC()
	tf.mustGet("v", "small", 0, "one")
	tf.mustMiss("v", "late", 0)
	if !tf.refs("c1") {
		t.Fatal("the view's chunk was released")
	}

	for _, c := range []any{
		&PutObject{Bucket: "v", Object: obj("new", "x")},
		&DeleteObject{Bucket: "v", Key: "small"},
		&DeleteObjects{Bucket: "v", Items: []DeleteItem{{Key: "small"}}},
		&CreateUpload{Bucket: "v", UploadID: "u1", Template: Object{Key: "m"}},
		&SetVersioning{Bucket: "v", Status: VersioningEnabled},
		&CreateSnapshot{Bucket: "v"},
		&SetBucketAccess{Bucket: "v", SetACL: true, ACL: ""},
		&AnnotateObject{Bucket: "v", Key: "small", SetTags: true},
		&RenewLease{Bucket: "v", Now: 1, Expires: 2},
		&DeleteBucket{Name: "v"},
	} {
		tf.mustFail(c, ErrReadOnlyView)
	}
	if _, err := tf.merge("v", MergeFail, false); !errors.Is(err, ErrReadOnlyView) {
		t.Fatalf("merge of a view: %v", err)
	}
	tf.mustGet("v", "small", 0, "one")

	// A fork of a view is an ordinary, writable fork.
	tf.must(&CreateBucket{Name: "f", ForkSource: "v"})
	tf.put("f", "small", "fork")
	tf.mustGet("f", "small", 0, "fork")
	tf.mustGet("v", "small", 0, "one")
	if _, err := tf.merge("f", MergeFail, false); !errors.Is(err, ErrReadOnlyView) {
		t.Fatalf("merge into a view: %v", err)
	}

	tf.mustFail(&UnmountView{Name: "src"}, ErrNotAView)
	tf.mustFail(&UnmountView{Name: "absent"}, ErrNoSuchBucket)
	tf.must(&DeleteObject{Bucket: "f", Key: "small"})
	tf.must(&DeleteBucket{Name: "f"})
	tf.must(&UnmountView{Name: "v"})
	tf.must(&UnmountView{Name: "v2"})
	tf.mustFail(&UnmountView{Name: "v"}, ErrNoSuchBucket)
	tf.drainGC()
	if tf.refs("c1") {
		t.Fatal("chunk only the unmounted views needed is still referenced")
	}
	// The name is free again, and a bucket of that name is writable.
	tf.createBucket("v")
	tf.put("v", "k", "mine")

	// Codec round trip.
	for _, c := range []any{
		&MountView{Header: Header{RequestID: "r", Stamp: 7}, Name: "a", Region: "us-east-1", Bucket: "b", Version: 9, SnapshotName: "s", MaxForkDepth: 3},
		&UnmountView{Header: Header{RequestID: "r2", Stamp: 8}, Name: "a"},
	} {
		got, err := DecodeCommand(EncodeCommand(c))
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip of %+v: %+v %v", c, got, err)
		}
	}
}
