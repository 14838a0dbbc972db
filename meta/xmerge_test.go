package meta

import (
	"errors"
	"testing"
)

// The commands of a merge across shards: a hold given up before the
// merge began refuses a late begin; the parent is held from begin to end;
// an entry that does not follow the state (a retry) changes nothing; the
// merge point is written on both sides and the next merge compares
// against it; releasing the fork's pin removes what its merges left on
// the parent's shard.
func TestRemoteMergeSteps(t *testing.T) {
	p, f := twoShards(t)
	p.createBucket("base")
	p.put("base", "a", "a1")
	p.put("base", "b", "b1")
	forks := xfork(t, p, f, "base", 3, "agent")
	fid, pid := forks[0].ID, p.bucketID("base")
	base := forks0Base(t, f, "agent")
	f.put("agent", "c", "c1")
	f.must(&DeleteObjectInherited{DeleteObject: DeleteObject{Bucket: "agent", Key: "a"},
		Inherited: InheritedView{Parent: pid, At: base, Key: "a", Present: true}})

	// A hold given up before the merge began.
	h1 := f.must(&HoldRemoteMerge{Fork: "agent", Deadline: 100}).Version
	f.mustFail(&HoldRemoteMerge{Fork: "agent", Deadline: 100}, ErrMergeInProgress)
	if res := p.must(&AbortRemoteMerge{Fork: fid, Hold: h1}); len(res.Template) != 0 {
		t.Fatalf("abort of a merge never begun answered a state")
	}
	p.mustFail(&BeginRemoteMerge{Parent: pid, Fork: fid, Base: base, Hold: h1, ForkName: "agent"}, ErrForkAborted)
	f.must(&SettleRemoteMerge{Fork: fid, Hold: h1})
	f.put("agent", "d", "d1") // released

	h2 := f.must(&HoldRemoteMerge{Fork: "agent", Deadline: 100}).Version
	res := p.must(&BeginRemoteMerge{Parent: pid, Fork: fid, Base: base, Hold: h2, ForkName: "agent", Strategy: MergeForkWins})
	st, err := DecodeRemoteMergeState(res.Template)
	if err != nil || st.Phase != XMergeApplying {
		t.Fatalf("begin: %+v %v", st, err)
	}
	if _, err := p.get("base", "a", 0); !errors.Is(err, ErrMergeInProgress) {
		t.Fatalf("read of the held parent: %v", err)
	}
	page := f.read(func(r *Reader) (any, error) { return r.RemoteMergeChanges(fid, h2, "", 10, false) }).(*RemoteChangePage)
	if len(page.Changes) != 3 || page.More {
		t.Fatalf("changes %+v", page)
	}
	entry := &RemoteMergeEntry{Fork: fid, Hold: h2, Phase: st.Phase, After: "", Next: page.Changes[2].Key, Changes: page.Changes}
	st1, _ := DecodeRemoteMergeState(p.must(entry).Template)
	st2, _ := DecodeRemoteMergeState(p.must(entry).Template) // a retry under a new request id
	if st1.Phase != XMergeReady || st1.Report.Puts != 2 || st1.Report.Deletes != 1 || st2.Report.Puts != 2 || st2.Report.Deletes != 1 {
		t.Fatalf("entry: %+v, again: %+v", st1.Report, st2.Report)
	}
	end := p.must(&EndRemoteMerge{Fork: fid, Hold: h2})
	if end.Merge == nil || end.Merge.Puts != 2 || end.Merge.Deletes != 1 {
		t.Fatalf("end: %+v", end.Merge)
	}
	f.must(&SettleRemoteMerge{Fork: fid, Hold: h2, Merged: true})
	p.must(&ClearRemoteMerges{Forks: []uint64{fid}})
	p.mustGet("base", "c", 0, "c1")
	p.mustGet("base", "d", 0, "d1")
	if _, err := p.get("base", "a", 0); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("a deleted by the merge: %v", err)
	}
	// Nothing new: the next merge finds no change.
	h3 := f.must(&HoldRemoteMerge{Fork: "agent", Deadline: 100}).Version
	page = f.read(func(r *Reader) (any, error) { return r.RemoteMergeChanges(fid, h3, "", 10, false) }).(*RemoteChangePage)
	if len(page.Changes) != 0 {
		t.Fatalf("changes after a merge: %+v", page.Changes)
	}
	f.must(&SettleRemoteMerge{Fork: fid, Hold: h3})
	// The fork's pin released: its merge points on the parent's shard go.
	p.must(&ReleaseRemotePins{Pins: []PinRef{{Parent: pid, Base: base, Child: fid}}})
	if n := p.read(func(r *Reader) (any, error) { return r.mergePointsOf(keyMergePointsOf(pid, fid)) }).([]uint64); len(n) != 0 {
		t.Fatalf("merge points left: %v", n)
	}
}

func forks0Base(t *testing.T, f *testFSM, name string) uint64 {
	t.Helper()
	return f.read(func(r *Reader) (any, error) { return r.Bucket(name) }).(*Bucket).Parent.Version
}
