package meta

import (
	"errors"
	"fmt"
	"testing"
)

// withMergeEntryChanges cuts merges into Raft entries of n changes for
// the test.
func withMergeEntryChanges(t *testing.T, n int) {
	old := mergeEntryChanges
	mergeEntryChanges = n
	t.Cleanup(func() { mergeEntryChanges = old })
}

// A large merge is applied in several Raft entries (MergeFork, then
// MergeContinue) so that the rest of the shard moves in between: commands
// and reads of other buckets go on, while the parent and the fork are held
// (ErrMergeInProgress, changing nothing) until the last entry, so nothing
// ever sees part of a merge. The result is the same as a merge applied in
// one entry.
func TestMergeInEntries(t *testing.T) {
	build := func(tf *testFSM) {
		tf.createBucket("base")
		tf.createBucket("other")
		tf.put("other", "x", "x0")
		for i := range 10 {
			tf.put("base", fmt.Sprintf("k%02d", i), "v0")
		}
		tf.fork("f", "base")
		for i := range 20 {
			tf.put("f", fmt.Sprintf("k%02d", i), "v1")
		}
		for i := 20; i < 25; i++ {
			tf.del("f", fmt.Sprintf("k%02d", i-20))
		}
	}
	for _, strategy := range []MergeStrategy{MergeFail, MergeForkWins} {
		t.Run(strategy.String(), func(t *testing.T) {
			withMergeEntryChanges(t, 3)
			tf := openTestFSM(t)
			build(tf)
			res, err := tf.apply(&MergeFork{Fork: "f", Strategy: strategy})
			if err != nil || res.Merge == nil || !res.Merge.UnderWay {
				t.Fatalf("first entry of a 20-change merge: %+v, %v; want it under way", res, err)
			}
			entries := 1
			for {
				// Between two entries: the parent and the fork are held,
				// everything else goes on.
				for _, b := range []string{"base", "f"} {
					if _, err := tf.readErr(func(r *Reader) (any, error) { return r.GetObject(b, "k05", "", 0) }); !errors.Is(err, ErrMergeInProgress) {
						t.Fatalf("entry %d: GET %s/k05: %v, want ErrMergeInProgress", entries, b, err)
					}
					tf.mustFail(&PutObject{Bucket: b, Object: obj("k05", "late")}, ErrMergeInProgress)
				}
				tf.mustFail(&CreateBucket{Name: "g", ForkSource: "base"}, ErrMergeInProgress)
				tf.mustFail(&MergeFork{Fork: "f"}, ErrMergeInProgress)
				tf.mustGet("other", "x", 0, "x0")
				tf.put("other", fmt.Sprintf("y%d", entries), "y")
				res, err = tf.apply(&MergeContinue{Fork: "f"})
				entries++
				if err != nil {
					t.Fatalf("entry %d: %v", entries, err)
				}
				if !res.Merge.UnderWay {
					break
				}
				if entries > 100 {
					t.Fatal("the merge never ends")
				}
			}
			if entries < 20/3 {
				t.Fatalf("%d entries for 20 changes in entries of 3", entries)
			}
			if rep := res.Merge; rep.Puts != 15 || rep.Deletes != 5 || rep.ConflictCount != 0 {
				t.Fatalf("report %+v", rep)
			}
			for i := range 5 {
				tf.mustMiss("base", fmt.Sprintf("k%02d", i), 0)
			}
			for i := 5; i < 20; i++ {
				tf.mustGet("base", fmt.Sprintf("k%02d", i), 0, "v1")
			}
			tf.put("base", "k05", "after")
			tf.mustGet("base", "k05", 0, "after")
			// Nothing is under way any more; another continue does nothing.
			if res := tf.must(&MergeContinue{Fork: "f"}); res.Merge != nil {
				t.Fatalf("continue with nothing under way: %+v", res.Merge)
			}
			if n := tf.read(func(r *Reader) (any, error) { return r.MergesUnderWay() }).([]MergeUnderWay); len(n) != 0 {
				t.Fatalf("merges under way: %+v", n)
			}
		})
	}
}

// A merge cut into entries ends the database in the same state, report and
// objects, as the same merge in one entry (apart from the versions the
// entries wrote at).
func TestMergeInEntriesSameResult(t *testing.T) {
	run := func(n int) (*MergeReport, map[string]string) {
		withMergeEntryChanges(t, n)
		tf := openTestFSM(t)
		tf.createBucket("base")
		for i := range 30 {
			tf.put("base", fmt.Sprintf("k%02d", i), "v0")
		}
		tf.fork("f", "base")
		for i := 0; i < 30; i += 2 {
			tf.put("f", fmt.Sprintf("k%02d", i), "v1")
		}
		for i := 1; i < 30; i += 3 {
			tf.del("f", fmt.Sprintf("k%02d", i))
		}
		tf.put("base", "k00", "parent") // a conflict: fork-wins applies the fork's
		rep, err := tf.merge("f", MergeForkWins, true)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for i := range 30 {
			k := fmt.Sprintf("k%02d", i)
			o, err := tf.readErr(func(r *Reader) (any, error) { return r.GetObject("base", k, "", 0) })
			if errors.Is(err, ErrNoSuchKey) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			got[k] = string(o.(*Object).Inline)
		}
		if _, err := tf.readErr(func(r *Reader) (any, error) { return r.Bucket("f") }); !errors.Is(err, ErrNoSuchBucket) {
			t.Fatalf("fork after a merge that deletes it: %v", err)
		}
		return rep, got
	}
	wholeRep, whole := run(1 << 20)
	cutRep, cut := run(2)
	if wholeRep.Puts != cutRep.Puts || wholeRep.Deletes != cutRep.Deletes || wholeRep.ConflictCount != cutRep.ConflictCount || !cutRep.ForkDeleted {
		t.Fatalf("reports: whole %+v, cut %+v", wholeRep, cutRep)
	}
	if len(whole) != len(cut) {
		t.Fatalf("whole %v, cut %v", whole, cut)
	}
	for k, v := range whole {
		if cut[k] != v {
			t.Fatalf("%s: whole %q, cut %q", k, v, cut[k])
		}
	}
}

// Strategy fail checks every change for conflicts before writing
// anything, across entries too: a conflict found in a later entry refuses
// the merge, the parent is unchanged and no longer held.
func TestMergeInEntriesConflict(t *testing.T) {
	withMergeEntryChanges(t, 2)
	tf := openTestFSM(t)
	tf.createBucket("base")
	for i := range 10 {
		tf.put("base", fmt.Sprintf("k%02d", i), "v0")
	}
	tf.fork("f", "base")
	for i := range 10 {
		tf.put("f", fmt.Sprintf("k%02d", i), "v1")
	}
	tf.put("base", "k09", "parent")
	rep, err := tf.merge("f", MergeFail, false)
	if !errors.Is(err, ErrMergeConflict) || rep == nil || rep.ConflictCount != 1 || rep.Conflicts[0] != "k09" || rep.Puts != 0 {
		t.Fatalf("merge: %+v, %v; want a conflict on k09", rep, err)
	}
	for i := range 9 {
		tf.mustGet("base", fmt.Sprintf("k%02d", i), 0, "v0")
	}
	tf.mustGet("base", "k09", 0, "parent")
	tf.put("base", "k01", "free again")
	tf.put("f", "k01", "free again")
}

// A fork whose lease runs out while its merge is under way ends the merge
// where it is: the parent is no longer held.
func TestMergeInEntriesForkGoes(t *testing.T) {
	withMergeEntryChanges(t, 2)
	tf := openTestFSM(t)
	tf.createBucket("base")
	tf.fork("f", "base")
	for i := range 10 {
		tf.put("f", fmt.Sprintf("k%02d", i), "v1")
	}
	tf.must(&RenewLease{Bucket: "f", Expires: 5, Now: 1})
	res := tf.must(&MergeFork{Fork: "f", Strategy: MergeForkWins})
	if !res.Merge.UnderWay {
		t.Fatal("the merge fit one entry")
	}
	tf.must(&ExpireLeases{Now: 10})
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.Bucket("f") }); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("fork after its lease ran out: %v", err)
	}
	tf.put("base", "k00", "free")
	tf.mustGet("base", "k00", 0, "free")
	if res := tf.must(&MergeContinue{Fork: "f"}); res.Merge != nil {
		t.Fatalf("continue of a merge whose fork went: %+v", res.Merge)
	}
}

// The merge tests again, every merge cut into entries of one change.
func TestMergeInEntriesOfOne(t *testing.T) {
	withMergeEntryChanges(t, 1)
	t.Run("applies", TestMergeAppliesForkChanges)
	t.Run("conflicts", TestMergeConflicts)
	t.Run("nested", TestMergeNestedAndSnapshotForks)
	t.Run("bad input", TestMergeBadInput)
	t.Run("atomic for readers", TestSteppedMergeIsAtomicForReaders)
}

// While one fork's merge holds the parent, another fork of the same parent
// can neither merge nor plan a merge (a dry run would read the parent with
// part of the merge applied): both wait, then work.
func TestMergeInEntriesSiblingWaits(t *testing.T) {
	withMergeEntryChanges(t, 2)
	tf := openTestFSM(t)
	tf.createBucket("base")
	tf.fork("f", "base")
	tf.fork("g", "base")
	for i := range 10 {
		tf.put("f", fmt.Sprintf("k%02d", i), "f")
	}
	tf.put("g", "g", "g")
	if res := tf.must(&MergeFork{Fork: "f", Strategy: MergeForkWins}); !res.Merge.UnderWay {
		t.Fatal("the merge fit one entry")
	}
	if _, err := tf.plan("g", MergeFail); !errors.Is(err, ErrMergeInProgress) {
		t.Fatalf("dry run of a sibling during the merge: %v", err)
	}
	tf.mustFail(&MergeFork{Fork: "g"}, ErrMergeInProgress)
	tf.mustGet("g", "g", 0, "g") // the sibling itself is not held
	for res := tf.must(&MergeContinue{Fork: "f"}); res.Merge.UnderWay; res = tf.must(&MergeContinue{Fork: "f"}) {
	}
	if rep, err := tf.merge("g", MergeFail, false); err != nil || rep.Puts != 1 {
		t.Fatalf("sibling merge after: %+v, %v", rep, err)
	}
	tf.mustGet("base", "k09", 0, "f")
	tf.mustGet("base", "g", 0, "g")
}
