package meta

import (
	"errors"
	"fmt"
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

// Every command of merges across shards and of batches spread over shards
// decodes as it was encoded.
func TestRemoteCommandsRoundTrip(t *testing.T) {
	obj := &Object{Key: "k", Size: 3, ETag: `"e"`, Chunks: []Chunk{{ID: "c1", Size: 3, CRC32C: 7}}, Tags: map[string]string{"a": "b"}}
	for _, c := range []any{
		&HoldRemoteMerge{Fork: "f", DeleteFork: true, Deadline: 5},
		&BeginRemoteMerge{Parent: 1, Fork: 2, Base: 3, Hold: 4, ForkName: "f", Strategy: MergeParentWins, DeleteFork: true},
		&RemoteMergeEntry{Fork: 2, Hold: 4, Phase: XMergeApplying, After: "a", Next: "k", More: true,
			Changes: []RemoteChange{{Key: "b", Kind: ChangeDelete}, {Key: "c", Kind: ChangeInherit}, {Key: "k", Kind: ChangePut, Object: obj}}},
		&EndRemoteMerge{Fork: 2, Hold: 4, Abandon: true},
		&SettleRemoteMerge{Fork: 2, Hold: 4, Merged: true, DeleteFork: true},
		&ClearRemoteMerges{Forks: []uint64{2, 3}},
		&AbortRemoteMerge{Fork: 2, Hold: 4},
		&PinRemoteForks{Source: "s", Forks: []RemoteFork{{ID: 9, Name: "n"}}, Batch: true, Owner: "alice", Deadline: 3},
		&SettleRemotePins{Parent: 1, IDs: []uint64{9}, All: true},
		&RollBackRemoteForks{Parent: 1, IDs: []uint64{9}},
		&AbortRemoteForks{IDs: []uint64{9}, Retire: true},
		&ClaimNames{Names: []string{"a", "b"}, Shards: []uint64{2, 3}},
		&CreateRemoteForks{Template: []byte{1}, Forks: []RemoteFork{{ID: 9, Name: "n"}}, Expires: 7,
			Keys: []AccessKey{{ID: "k1", Sealed: []byte{1}}}, Owner: "alice"},
	} {
		got, err := DecodeCommand(EncodeCommand(c))
		if err != nil {
			t.Fatalf("%T: %v", c, err)
		}
		if e, ok := got.(*RemoteMergeEntry); ok {
			o := e.Changes[2].Object
			if o == nil || o.Key != obj.Key || o.Size != obj.Size || o.ETag != obj.ETag ||
				fmt.Sprint(o.Chunks) != fmt.Sprint(obj.Chunks) || fmt.Sprint(o.Tags) != fmt.Sprint(obj.Tags) {
				t.Fatalf("the object of a change: %+v", o)
			}
			e.Changes[2].Object = obj
		}
		if a, b := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", c); a != b {
			t.Fatalf("%T round trip:\n got %s\nwant %s", c, a, b)
		}
	}
}
