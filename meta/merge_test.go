package meta

import (
	"errors"
	"reflect"
	"testing"
)

func (tf *testFSM) merge(fork string, s MergeStrategy, del bool) (*MergeReport, error) {
	tf.t.Helper()
	res, err := tf.apply(&MergeFork{Fork: fork, Strategy: s, DeleteFork: del})
	for err == nil && res.Merge != nil && res.Merge.UnderWay {
		res, err = tf.apply(&MergeContinue{Fork: fork})
	}
	if res == nil {
		return nil, err
	}
	return res.Merge, err
}

func (tf *testFSM) plan(fork string, s MergeStrategy) (*MergeReport, error) {
	tf.t.Helper()
	v, err := tf.readErr(func(r *Reader) (any, error) { return r.MergePlan(fork, s) })
	rep, _ := v.(*MergeReport)
	return rep, err
}

func TestMergeAppliesForkChanges(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("base")
	tf.put("base", "a", "a0")
	tf.put("base", "b", "b0")
	tf.put("base", "c", "c0")
	tf.fork("f", "base")
	snap := tf.must(&CreateSnapshot{Bucket: "base"}).Version
	tf.put("f", "a", "a1")
	tf.put("f", "d", "d1")
	tf.del("f", "b")
	tf.putChunks("f", "big", "ch1", "ch2")

	plan, err := tf.plan("f", MergeFail)
	if err != nil || plan.Puts != 3 || plan.Deletes != 1 || !plan.DryRun {
		t.Fatalf("plan = %+v, %v", plan, err)
	}
	tf.mustGet("base", "a", 0, "a0") // the dry run changed nothing

	rep, err := tf.merge("f", MergeFail, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Puts != 3 || rep.Deletes != 1 || rep.ConflictCount != 0 || rep.Parent != "base" {
		t.Fatalf("report %+v", rep)
	}
	tf.mustGet("base", "a", 0, "a1")
	tf.mustMiss("base", "b", 0)
	tf.mustGet("base", "c", 0, "c0")
	tf.mustGet("base", "d", 0, "d1")
	// A snapshot taken before the merge still shows the old state.
	tf.mustGet("base", "a", snap, "a0")
	tf.mustGet("base", "b", snap, "b0")
	tf.mustMiss("base", "d", snap)
	// The fork is unchanged.
	tf.mustGet("f", "a", 0, "a1")
	tf.mustMiss("f", "b", 0)
	// Chunks are shared: both records reference them.
	o := tf.read(func(r *Reader) (any, error) { return r.GetObject("base", "big", "", 0) }).(*Object)
	if len(o.Chunks) != 2 || o.Chunks[0].ID != "ch1" {
		t.Fatalf("merged chunks %+v", o.Chunks)
	}
	tf.del("f", "big")
	tf.drainGC()
	if !tf.refs("ch1") || !tf.refs("ch2") {
		t.Fatal("the parent's merged object lost its chunks when the fork deleted its own")
	}
	checkRefcounts(t, tf, map[string]bool{"ch1": true, "ch2": true})

	// A second merge applies only what changed since the first one: the
	// delete of big, and nothing it merged before conflicts with itself.
	tf.put("f", "a", "a2")
	rep, err = tf.merge("f", MergeFail, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Puts != 1 || rep.Deletes != 1 || rep.Since == 0 {
		t.Fatalf("second merge %+v", rep)
	}
	tf.mustGet("base", "a", 0, "a2")
	tf.mustMiss("base", "big", 0)
	tf.mustGet("base", "d", 0, "d1")
}

func TestMergeConflicts(t *testing.T) {
	setup := func(t *testing.T) *testFSM {
		tf := openTestFSM(t)
		tf.createBucket("base")
		tf.put("base", "a", "a0")
		tf.put("base", "b", "b0")
		tf.fork("f", "base")
		tf.put("base", "a", "a-parent") // both change a
		tf.put("f", "a", "a-fork")
		tf.put("f", "b", "b-fork") // only the fork changes b
		tf.put("base", "c", "c-parent")
		return tf
	}
	t.Run("fail", func(t *testing.T) {
		tf := setup(t)
		before := tf.must(&CreateSnapshot{Bucket: "base"}).Version
		rep, err := tf.merge("f", MergeFail, true)
		if !errors.Is(err, ErrMergeConflict) {
			t.Fatalf("err %v", err)
		}
		if rep == nil || !reflect.DeepEqual(rep.Conflicts, []string{"a"}) || rep.ConflictCount != 1 {
			t.Fatalf("report %+v", rep)
		}
		// Nothing changed: the parent, and the fork still exists.
		tf.mustGet("base", "a", 0, "a-parent")
		tf.mustGet("base", "b", 0, "b0")
		tf.mustGet("f", "b", 0, "b-fork")
		if got := tf.listAll("base", 0, 10); !reflect.DeepEqual(got, tf.listAll("base", before, 10)) {
			t.Fatalf("listing changed: %v", got)
		}
		if _, err := tf.plan("f", MergeFail); !errors.Is(err, ErrMergeConflict) {
			t.Fatalf("dry run: %v", err)
		}
	})
	t.Run("fork-wins", func(t *testing.T) {
		tf := setup(t)
		rep, err := tf.merge("f", MergeForkWins, false)
		if err != nil || rep.ConflictCount != 1 || rep.Puts != 2 {
			t.Fatalf("%+v %v", rep, err)
		}
		tf.mustGet("base", "a", 0, "a-fork")
		tf.mustGet("base", "b", 0, "b-fork")
		tf.mustGet("base", "c", 0, "c-parent")
		// The merged key is the fork's now: changing it again in the fork
		// is not a conflict.
		tf.put("f", "a", "a-fork2")
		if _, err := tf.merge("f", MergeFail, false); err != nil {
			t.Fatal(err)
		}
		tf.mustGet("base", "a", 0, "a-fork2")
	})
	t.Run("parent-wins", func(t *testing.T) {
		tf := setup(t)
		rep, err := tf.merge("f", MergeParentWins, false)
		if err != nil || rep.ConflictCount != 1 || rep.Kept != 1 || rep.Puts != 1 {
			t.Fatalf("%+v %v", rep, err)
		}
		tf.mustGet("base", "a", 0, "a-parent")
		tf.mustGet("base", "b", 0, "b-fork")
		// The parent's change is still one the fork never saw.
		tf.put("f", "a", "a-fork2")
		if _, err := tf.merge("f", MergeFail, false); !errors.Is(err, ErrMergeConflict) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("delete vs change", func(t *testing.T) {
		tf := setup(t)
		tf.del("f", "a")
		if _, err := tf.merge("f", MergeFail, false); !errors.Is(err, ErrMergeConflict) {
			t.Fatalf("err %v", err)
		}
		rep, err := tf.merge("f", MergeForkWins, false)
		if err != nil || rep.Deletes != 1 {
			t.Fatalf("%+v %v", rep, err)
		}
		tf.mustMiss("base", "a", 0)
	})
}

func TestMergeVersionedParentKeepsHistory(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("base")
	tf.must(&SetVersioning{Bucket: "base", Status: VersioningEnabled})
	old := tf.put("base", "a", "a0")
	tf.fork("f", "base")
	tf.put("f", "a", "a1")
	tf.del("f", "gone") // nothing to delete in the parent
	res, err := tf.apply(&MergeFork{Fork: "f"})
	if err != nil || res.Merge.Puts != 1 || res.Merge.Deletes != 0 {
		t.Fatalf("%+v %v", res.Merge, err)
	}
	tf.mustGet("base", "a", 0, "a1")
	v := tf.read(func(r *Reader) (any, error) { return r.GetObject("base", "a", VersionID(old), 0) }).(*Object)
	if string(v.Inline) != "a0" {
		t.Fatalf("old version %q", v.Inline)
	}
	cur := tf.read(func(r *Reader) (any, error) { return r.GetObject("base", "a", "", 0) }).(*Object)
	if cur.Null || cur.Version != res.Version {
		t.Fatalf("merged version %+v, merge at %d", cur, res.Version)
	}
	// A delete in the fork becomes a delete marker in the parent.
	tf.del("f", "a")
	if _, err := tf.merge("f", MergeFail, false); err != nil {
		t.Fatal(err)
	}
	tf.mustMiss("base", "a", 0)
	vs := tf.read(func(r *Reader) (any, error) { return r.ListVersions("base", VersionListOptions{MaxKeys: 10}) }).(*VersionListResult)
	if len(vs.Versions) != 3 || !vs.Versions[0].DeleteMarker {
		t.Fatalf("versions %+v", vs.Versions)
	}
}

func TestMergeNestedAndSnapshotForks(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("base")
	tf.put("base", "a", "a0")
	tf.put("base", "b", "b0")
	snap := tf.must(&CreateSnapshot{Bucket: "base", Name: "s"}).Version
	tf.put("base", "b", "b-after-snapshot")

	// A fork of a fork merges into its parent fork only.
	tf.fork("mid", "base")
	tf.fork("leaf", "mid")
	tf.put("leaf", "a", "a-leaf")
	if _, err := tf.merge("leaf", MergeFail, true); err != nil {
		t.Fatal(err)
	}
	tf.mustGet("mid", "a", 0, "a-leaf")
	tf.mustGet("base", "a", 0, "a0")
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.Bucket("leaf") }); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("merged and deleted fork: %v", err)
	}

	// A fork of a snapshot applies onto the live parent, with the parent's
	// changes after the snapshot as conflicts.
	tf.must(&CreateBucket{Name: "fs", ForkSource: "base", ForkVersion: snap})
	tf.put("fs", "b", "b-fs")
	tf.put("fs", "c", "c-fs")
	rep, err := tf.merge("fs", MergeFail, false)
	if !errors.Is(err, ErrMergeConflict) || !reflect.DeepEqual(rep.Conflicts, []string{"b"}) {
		t.Fatalf("%+v %v", rep, err)
	}
	if _, err := tf.merge("fs", MergeParentWins, false); err != nil {
		t.Fatal(err)
	}
	tf.mustGet("base", "b", 0, "b-after-snapshot")
	tf.mustGet("base", "c", 0, "c-fs")
	tf.mustGet("base", "b", snap, "b0")
}

func TestMergeBadInput(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("base")
	tf.fork("f", "base")
	tf.put("f", "k", "v")
	tf.mustFail(&MergeFork{Fork: "base"}, ErrNotAFork)
	tf.mustFail(&MergeFork{Fork: "nope"}, ErrNoSuchBucket)
	// The parent deleted: nothing to merge into.
	tf.must(&DeleteBucket{Name: "base"})
	tf.mustFail(&MergeFork{Fork: "f"}, ErrNoSuchBucket)
	tf.mustGet("f", "k", 0, "v")
}
