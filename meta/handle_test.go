package meta

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// Handle.Read runs a Query on the local replica without Raft.
func TestHandleRead(t *testing.T) {
	fn, h := NewStateMachineHandle(t.TempDir(), Options{}, testLogger(t))
	q := Query(func(r *Reader) (any, error) { return r.Buckets() })
	if _, err := h.Read(t.Context(), 1, 1, q); !errors.Is(err, ErrNotOpen) {
		t.Fatal(err)
	}
	f := fn(1, 1).(*FSM)
	if _, err := f.Open(make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	tf := &testFSM{t: t, fsm: f}
	tf.createBucket("b")
	v, err := h.Read(t.Context(), 1, 1, q)
	if err != nil || len(v.([]Bucket)) != 1 {
		t.Fatal(v, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := h.Read(ctx, 1, 1, q); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	f.Close()
	if _, err := h.Read(t.Context(), 1, 1, q); !errors.Is(err, ErrNotOpen) {
		t.Fatal(err)
	}
	if _, err := f.Lookup(q); !errors.Is(err, ErrNotOpen) {
		t.Fatal(err)
	}
}

// ListObjectVersions of a fork: its own versions, then the version each
// key shows through the parent (older than any own version).
func TestListVersionsFork(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("p")
	tf.must(&SetVersioning{Bucket: "p", Status: VersioningEnabled})
	tf.put("p", "a", "pa1")
	pa := tf.put("p", "a", "pa2")
	pb := tf.put("p", "b", "pb")
	tf.fork("f", "p")
	fa := tf.put("f", "a", "fa")
	mk := tf.del("f", "b")
	res := tf.read(func(r *Reader) (any, error) { return r.ListVersions("f", VersionListOptions{MaxKeys: 100}) }).(*VersionListResult)
	var got []string
	for _, v := range res.Versions {
		s := v.Key + ":" + VersionID(&v.Object)
		if v.IsLatest {
			s += ":latest"
		}
		if v.DeleteMarker {
			s += ":marker"
		}
		got = append(got, s)
	}
	want := []string{"a:" + VersionID(fa) + ":latest", "a:" + VersionID(pa), "b:" + mk.VersionID + ":latest:marker", "b:" + VersionID(pb)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("versions %q", got)
	}
}

// ListMultipartUploads: ordering, delimiter and markers.
func TestUploadsListing(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	for _, u := range []struct{ key, id string }{{"a", "2"}, {"a", "1"}, {"d/x", "3"}, {"d/y", "4"}, {"e", "5"}} {
		tf.must(&CreateUpload{Bucket: "b", UploadID: u.id, Template: Object{Key: u.key}})
	}
	var got []string
	km, um := "", ""
	for {
		res := tf.read(func(r *Reader) (any, error) {
			return r.Uploads("b", UploadListOptions{Delimiter: "/", KeyMarker: km, UploadIDMarker: um, MaxUploads: 1})
		}).(*UploadListResult)
		for _, u := range res.Uploads {
			got = append(got, u.Key+"#"+u.UploadID)
		}
		got = append(got, res.CommonPrefixes...)
		if !res.IsTruncated {
			break
		}
		km, um = res.NextKeyMarker, res.NextUploadIDMarker
	}
	if want := []string{"a#1", "a#2", "d/", "e#5"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("uploads %q", got)
	}
}
