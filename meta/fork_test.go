package meta

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// Snapshots: reads at a snapshot version see the state of that instant,
// whatever happens later (overwrite, delete, new keys).
func TestSnapshotVisibility(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	tf.put("b", "k", "v1")
	tf.put("b", "gone", "g")
	s := tf.must(&CreateSnapshot{Bucket: "b", Name: "s1"}).Snapshot
	tf.mustFail(&CreateSnapshot{Bucket: "b", Name: "s1"}, ErrSnapshotExists)
	tf.mustFail(&CreateSnapshot{Bucket: "nob"}, ErrNoSuchBucket)
	tf.put("b", "k", "v2")
	tf.del("b", "gone")
	tf.put("b", "new", "n")
	tf.mustGet("b", "k", s.Version, "v1")
	tf.mustGet("b", "gone", s.Version, "g")
	tf.mustMiss("b", "new", s.Version)
	tf.mustGet("b", "k", 0, "v2")
	tf.mustMiss("b", "gone", 0)
	if got := tf.listAll("b", s.Version, 1); !reflect.DeepEqual(got, []string{"gone", "k"}) {
		t.Fatalf("list at snapshot %q", got)
	}
	if got := tf.listAll("b", 0, 1); !reflect.DeepEqual(got, []string{"k", "new"}) {
		t.Fatalf("list latest %q", got)
	}
	if _, err := tf.get("b", "k", s.Version+1); !errors.Is(err, ErrNoSuchSnapshot) {
		t.Fatalf("read at a non-snapshot: %v", err)
	}
	snaps := tf.read(func(r *Reader) (any, error) { return r.Snapshots("b") }).([]Snapshot)
	if len(snaps) != 1 || snaps[0].Name != "s1" || snaps[0].Version != s.Version {
		t.Fatalf("snapshots %+v", snaps)
	}
	// Two records are pinned (k@v1, gone@g); dropping the snapshot frees them.
	if n := tf.objectCount(1); n != 4 {
		t.Fatalf("%d records with the snapshot, want 4", n)
	}
	tf.mustFail(&DeleteSnapshot{Bucket: "b", Version: s.Version + 1}, ErrNoSuchSnapshot)
	tf.must(&DeleteSnapshot{Bucket: "b", Version: s.Version})
	tf.drainGC()
	if n := tf.objectCount(1); n != 2 {
		t.Fatalf("%d records after deleting the snapshot, want 2", n)
	}
	if _, err := tf.get("b", "k", s.Version); !errors.Is(err, ErrNoSuchSnapshot) {
		t.Fatal(err)
	}
	// The name is free again.
	tf.must(&CreateSnapshot{Bucket: "b", Name: "s1"})
}

// A permanently deleted version that a snapshot still sees is kept with
// DeletedAt: gone for current reads, visible at the snapshot.
func TestDeleteVersionPinned(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	tf.must(&SetVersioning{Bucket: "b", Status: VersioningEnabled})
	v1 := tf.putChunks("b", "k", "c1")
	s := tf.must(&CreateSnapshot{Bucket: "b"}).Snapshot
	tf.must(&DeleteObject{Bucket: "b", Key: "k", VersionID: VersionID(v1)})
	tf.mustMiss("b", "k", 0)
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.GetObject("b", "k", VersionID(v1), 0) }); !errors.Is(err, ErrNoSuchVersion) {
		t.Fatal(err)
	}
	o := tf.read(func(r *Reader) (any, error) { return r.GetObject("b", "k", "", s.Version) }).(*Object)
	if o.Version != v1.Version {
		t.Fatalf("at snapshot %+v", o)
	}
	tf.mustFail(&DeleteObject{Bucket: "b", Key: "k", VersionID: VersionID(v1)}, ErrNoSuchVersion)
	vl := tf.read(func(r *Reader) (any, error) { return r.ListVersions("b", VersionListOptions{MaxKeys: 10}) }).(*VersionListResult)
	if len(vl.Versions) != 0 {
		t.Fatalf("deleted version listed: %+v", vl.Versions)
	}
	if !tf.refs("c1") {
		t.Fatal("pinned chunk released")
	}
	tf.must(&DeleteSnapshot{Bucket: "b", Version: s.Version})
	tf.drainGC()
	if tf.refs("c1") || !tf.gcQueue()["c1"] || tf.objectCount(1) != 0 {
		t.Fatal("unpinned version not collected")
	}
}

// Forks read through to the parent at the fork's version; writes and
// deletes in the fork never touch the parent; parent writes after the fork
// are invisible in it.
func TestForkReadThrough(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("p")
	tf.put("p", "a", "pa")
	tf.put("p", "b", "pb")
	tf.put("p", "c", "pc")
	f := tf.fork("f", "p")
	if f.Parent == nil || f.Parent.BucketID != 1 || f.ParentName != "p" {
		t.Fatalf("fork %+v", f)
	}
	pb := tf.read(func(r *Reader) (any, error) { return r.Bucket("p") }).(*Bucket)
	if !pb.IsForkParent {
		t.Fatal("parent not marked")
	}
	tf.put("p", "a", "pa2")
	tf.put("p", "late", "x")
	tf.put("f", "b", "fb")
	tf.del("f", "c")
	tf.mustGet("f", "a", 0, "pa")
	tf.mustGet("f", "b", 0, "fb")
	tf.mustMiss("f", "c", 0)
	tf.mustMiss("f", "late", 0)
	tf.mustGet("p", "a", 0, "pa2")
	tf.mustGet("p", "b", 0, "pb")
	tf.mustGet("p", "c", 0, "pc")
	if got := tf.listAll("f", 0, 1); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("fork list %q", got)
	}
	// Conditions see the parent's objects through the fork.
	tf.mustFail(&PutObject{Bucket: "f", Object: obj("a", "z"), IfNoneMatch: "*"}, ErrPreconditionFailed)
	tf.must(&PutObject{Bucket: "f", Object: obj("a", "fa"), IfMatch: etag("pa")})
	tf.must(&PutObject{Bucket: "f", Object: obj("c", "fc"), IfNoneMatch: "*"})
	// Overwrite then delete in the fork: the parent's value stays hidden.
	tf.del("f", "a")
	tf.mustMiss("f", "a", 0)
	tf.mustGet("p", "a", 0, "pa2")
	// A fork with only tombstones is empty; the parent's data does not count.
	tf.del("f", "b")
	tf.del("f", "c")
	tf.must(&DeleteBucket{Name: "f"})
	tf.mustGet("p", "a", 0, "pa2")
	pb = tf.read(func(r *Reader) (any, error) { return r.Bucket("p") }).(*Bucket)
	if pb.IsForkParent {
		t.Fatal("parent still marked after its fork was deleted")
	}
	tf.drainGC()
	if n := tf.objectCount(1); n != 4 {
		t.Fatalf("parent keeps %d records, want 4", n)
	}
}

// Fork of a fork of a snapshot; ForkSnapshotName; ForkVersion; depth.
func TestForkChains(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("root")
	tf.put("root", "k", "r1")
	s := tf.must(&CreateSnapshot{Bucket: "root", Name: "snap"}).Snapshot
	tf.put("root", "k", "r2")
	tf.must(&CreateBucket{Name: "f1", ForkSource: "root", ForkSnapshotName: "snap"})
	tf.must(&CreateBucket{Name: "f1v", ForkSource: "root", ForkVersion: s.Version})
	tf.mustFail(&CreateBucket{Name: "bad", ForkSource: "root", ForkVersion: s.Version + 1}, ErrNoSuchSnapshot)
	tf.mustFail(&CreateBucket{Name: "bad", ForkSource: "root", ForkSnapshotName: "nope"}, ErrNoSuchSnapshot)
	tf.mustFail(&CreateBucket{Name: "bad", ForkSource: "nope"}, ErrNoSuchBucket)
	tf.mustGet("f1", "k", 0, "r1")
	tf.mustGet("f1v", "k", 0, "r1")
	tf.put("f1", "j", "f1j")
	tf.fork("f2", "f1")
	tf.put("f1", "j", "f1j2")
	tf.put("f2", "k2", "f2")
	tf.mustGet("f2", "k", 0, "r1")
	tf.mustGet("f2", "j", 0, "f1j")
	tf.mustGet("f2", "k2", 0, "f2")
	// Versions by id are found in ancestors at their base.
	r1 := tf.read(func(r *Reader) (any, error) { return r.GetObject("f2", "k", "", 0) }).(*Object)
	o := tf.read(func(r *Reader) (any, error) { return r.GetObject("f2", "k", VersionID(r1), 0) }).(*Object)
	if string(o.Inline) != "r1" {
		t.Fatal("version through chain")
	}
	tf.mustFail(&CreateBucket{Name: "f3", ForkSource: "f2", MaxForkDepth: 2}, ErrForkDepthExceeded)
	tf.must(&CreateBucket{Name: "f3", ForkSource: "f2", MaxForkDepth: 3})
	lin := tf.read(func(r *Reader) (any, error) { return r.Lineage("f1") }).(*Lineage)
	if lin.Parent == nil || lin.Parent.Name != "root" || lin.Parent.Version != s.Version || len(lin.Forks) != 1 || lin.Forks[0].Name != "f2" {
		t.Fatalf("lineage %+v", lin)
	}
	lin = tf.read(func(r *Reader) (any, error) { return r.Lineage("root") }).(*Lineage)
	if len(lin.Snapshots) != 1 || len(lin.Forks) != 2 {
		t.Fatalf("root lineage %+v", lin)
	}
}

// MaxForkDepth default from Options.
func TestForkDepthDefault(t *testing.T) {
	tf := openTestFSMWith(t, Options{MaxForkDepth: 2})
	tf.createBucket("a")
	tf.fork("b", "a")
	tf.fork("c", "b")
	tf.mustFail(&CreateBucket{Name: "d", ForkSource: "c"}, ErrForkDepthExceeded)
}

// Deleting a bucket with forks frees its name and keeps what the forks
// read; deleting the last fork purges it (cascading up the chain) and
// releases the chunks.
func TestDeleteParentWithDependants(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("p")
	tf.putChunks("p", "k", "pk1")
	tf.putChunks("p", "gone", "pg")
	tf.fork("f", "p")
	tf.putChunks("p", "k", "pk2") // pk1 stays: the fork's base sees it
	if !tf.refs("pk1") {
		t.Fatal("fork-pinned version dropped")
	}
	tf.del("p", "k")
	tf.del("p", "gone")
	tf.must(&DeleteBucket{Name: "p"})
	tf.createBucket("p") // the name is free
	tf.mustMiss("p", "k", 0)
	f := tf.read(func(r *Reader) (any, error) { return r.Bucket("f") }).(*Bucket)
	if f.ParentName != "" {
		t.Fatalf("parent name of a deleted parent: %q", f.ParentName)
	}
	tf.mustGet("f", "k", 0, "")
	o := tf.read(func(r *Reader) (any, error) { return r.GetObject("f", "k", "", 0) }).(*Object)
	if o.Chunks[0].ID != "pk1" {
		t.Fatalf("fork reads %+v", o)
	}
	tf.fork("g", "f")
	tf.putChunks("f", "own", "fo")
	tf.del("f", "own")
	tf.must(&DeleteBucket{Name: "f"}) // retained: g depends on it
	tf.drainGC()
	if !tf.refs("pk1") || !tf.refs("pg") || tf.refs("pk2") || tf.refs("fo") {
		t.Fatal("refs while g depends on the chain")
	}
	tf.mustGet("g", "gone", 0, "")
	tf.must(&DeleteBucket{Name: "g"})
	tf.drainGC()
	for _, c := range []string{"pk1", "pk2", "pg", "fo"} {
		if tf.refs(c) || !tf.gcQueue()[c] {
			t.Fatalf("chunk %s not released", c)
		}
	}
	for id := uint64(1); id <= 5; id++ {
		if id == 3 { // the new "p"
			continue
		}
		if _, err := tf.readErr(func(r *Reader) (any, error) { return r.BucketByID(id) }); !errors.Is(err, ErrNoSuchBucket) {
			t.Fatalf("bucket %d not purged: %v", id, err)
		}
		if n := tf.objectCount(id); n != 0 {
			t.Fatalf("bucket %d keeps %d records", id, n)
		}
	}
}

// Deleting a snapshot that a fork was made from: the fork keeps reading.
func TestDeleteSnapshotWithFork(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("p")
	tf.put("p", "k", "v1")
	s := tf.must(&CreateSnapshot{Bucket: "p", Name: "s"}).Snapshot
	tf.put("p", "k", "v2")
	tf.must(&CreateBucket{Name: "f", ForkSource: "p", ForkSnapshotName: "s"})
	tf.must(&DeleteSnapshot{Bucket: "p", Version: s.Version})
	tf.drainGC()
	tf.mustGet("f", "k", 0, "v1")
	tf.mustGet("p", "k", 0, "v2")
}

// Diff of a fork against its base.
func TestDiff(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("p")
	tf.put("p", "same", "s")
	tf.put("p", "chg", "c")
	tf.put("p", "del", "d")
	tf.fork("f", "p")
	tf.put("f", "add", "a")
	tf.put("f", "chg", "c2")
	tf.put("f", "same", "s") // same ETag: unchanged
	tf.del("f", "del")
	tf.del("f", "never") // no tombstone needed, no entry
	var got []string
	after := ""
	for {
		d := tf.read(func(r *Reader) (any, error) { return r.Diff("f", "", after, 1) }).(*DiffResult)
		for _, e := range d.Entries {
			got = append(got, e.Key+":"+e.Change)
		}
		if !d.IsTruncated {
			break
		}
		after = d.Next
	}
	want := []string{"add:added", "chg:changed", "del:deleted"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("diff %q", got)
	}
}

// History window: any version inside it is readable (and forkable);
// older ones are ErrVersionOutOfRetention; GC keeps what the window sees.
func TestHistoryWindow(t *testing.T) {
	tf := openTestFSMWith(t, Options{History: time.Hour})
	base := uint64(10 * time.Hour)
	st := func(d time.Duration) Header { return Header{Stamp: base + uint64(d)} }
	tf.must(&CreateBucket{Header: st(0), Name: "b"})
	tf.must(&PutObject{Header: st(time.Minute), Bucket: "b", Object: obj("k", "v1")})
	tf.must(&PutObject{Header: st(2 * time.Minute), Bucket: "b", Object: obj("k", "v2")})
	at := base + uint64(90*time.Second)
	tf.mustGet("b", "k", at, "v1")
	tf.must(&CreateBucket{Header: st(3 * time.Minute), Name: "f", ForkSource: "b", ForkVersion: at})
	tf.mustGet("f", "k", 0, "v1")
	tf.must(&DeleteBucket{Header: st(4 * time.Minute), Name: "f"})
	// Two hours later the window has moved past v1.
	tf.must(&PutObject{Header: st(2 * time.Hour), Bucket: "b", Object: obj("x", "x")})
	if _, err := tf.get("b", "k", at); !errors.Is(err, ErrVersionOutOfRetention) {
		t.Fatal(err)
	}
	if n := tf.objectCount(1); n != 3 {
		t.Fatalf("%d records before GC", n)
	}
	tf.must(&GCBucket{Header: st(2*time.Hour + time.Second), Bucket: 1})
	if n := tf.objectCount(1); n != 2 {
		t.Fatalf("%d records after GC, want 2", n)
	}
	tf.mustGet("b", "k", 0, "v2")
}
