package meta

import (
	"fmt"
	"testing"
)

// A batch's commit (SettleRemotePins with All) is refused once the batch
// is rolling back; the rollback retires the forks made (their keys go with
// them) and records the others as aborted.
func TestRemoteBatchRollBack(t *testing.T) {
	p, f := twoShards(t)
	p.createBucket("base")
	p.put("base", "a", "a1")
	pid := p.bucketID("base")
	first := f.must(&ReserveBucketIDs{Count: 2}).Bucket.ID
	forks := []RemoteFork{{ID: first, Name: "b-1"}, {ID: first + 1, Name: "b-2"}}
	p.mustFail(&PinRemoteForks{Source: "base", Target: 3, Deadline: 100, Forks: forks, Batch: true}, ErrInvalidRemoteFork)
	res := p.must(&PinRemoteForks{Source: "base", Deadline: 100, Forks: forks, Batch: true})
	f.must(&CreateRemoteForks{Template: res.Template, Forks: forks[:1], Expires: 1 << 62,
		Keys: []AccessKey{{ID: "key1", Sealed: []byte{1}}}})
	ins := p.read(func(r *Reader) (any, error) { return r.PinIntents(10) }).([]PinIntent)
	if len(ins) != 2 || !ins[0].Batch || ins[0].Target != 3 {
		t.Fatalf("intents %+v", ins)
	}
	marked := p.must(&RollBackRemoteForks{Parent: pid, IDs: []uint64{first, first + 1}})
	if len(marked.Buckets) != 2 {
		t.Fatalf("marked %+v", marked.Buckets)
	}
	p.mustFail(&SettleRemotePins{Parent: pid, IDs: []uint64{first, first + 1}, All: true}, ErrForkAborted)
	made := f.must(&AbortRemoteForks{IDs: []uint64{first, first + 1}, Retire: true})
	if len(made.Buckets) != 1 || made.Buckets[0].ID != first {
		t.Fatalf("made %+v", made.Buckets)
	}
	if _, err := f.readErr(func(r *Reader) (any, error) { return r.Bucket("b-1") }); err == nil {
		t.Fatal("the fork made is still there after the rollback")
	}
	if k := f.read(func(r *Reader) (any, error) { return r.accessKey("key1") }).(*AccessKey); k != nil {
		t.Fatalf("its key is still there: %+v", k)
	}
	f.mustFail(&CreateRemoteForks{Template: res.Template, Forks: forks[1:]}, ErrForkAborted)
	// A batch committed whole is not rolled back.
	first = f.must(&ReserveBucketIDs{Count: 1}).Bucket.ID
	forks = []RemoteFork{{ID: first, Name: "c-1"}}
	res = p.must(&PinRemoteForks{Source: "base", Deadline: 100, Forks: forks, Batch: true})
	f.must(&CreateRemoteForks{Template: res.Template, Forks: forks})
	p.must(&SettleRemotePins{Parent: pid, IDs: []uint64{first}, All: true})
	if marked := p.must(&RollBackRemoteForks{Parent: pid, IDs: []uint64{first}}); len(marked.Buckets) != 0 {
		t.Fatalf("a committed batch marked %+v", marked.Buckets)
	}
}

// The commands of batches and merges across shards that write per item
// are applied in steps: cut into steps of two writes, a batch of forks
// with keys and a merge entry of many changes leave what they leave in one
// step.
func TestRemoteCommandsInSteps(t *testing.T) {
	p, f := twoShards(t)
	p.fsm.testStepBudget = stepBudget{writes: 2, bytes: 1 << 20}
	f.fsm.testStepBudget = stepBudget{writes: 2, bytes: 1 << 20}
	p.createBucket("base")
	p.put("base", "a", "a1")
	pid := p.bucketID("base")
	const n = 9
	first := f.must(&ReserveBucketIDs{Count: n}).Bucket.ID
	var forks []RemoteFork
	var keys []AccessKey
	for i := range n {
		forks = append(forks, RemoteFork{ID: first + uint64(i), Name: fmt.Sprintf("s-%d", i)})
		keys = append(keys, AccessKey{ID: fmt.Sprintf("key%d", i), Sealed: []byte{1}})
	}
	res := p.must(&PinRemoteForks{Source: "base", Deadline: 100, Forks: forks, Batch: true})
	made := f.must(&CreateRemoteForks{Template: res.Template, Forks: forks, Keys: keys, Expires: 1 << 62})
	if len(made.Buckets) != n || len(made.Keys) != n || made.Buckets[n-1].Name != "s-8" || made.Keys[n-1].Buckets[0].Name != "s-8" {
		t.Fatalf("made %d forks, %d keys: %+v", len(made.Buckets), len(made.Keys), made.Keys)
	}
	var ids []uint64
	for _, fk := range forks {
		ids = append(ids, fk.ID)
	}
	p.must(&SettleRemotePins{Parent: pid, IDs: ids, All: true})
	for i := range 20 {
		f.put("s-0", fmt.Sprintf("k%02d", i), "v")
	}
	h := f.must(&HoldRemoteMerge{Fork: "s-0", Deadline: 100}).Version
	st, _ := DecodeRemoteMergeState(p.must(&BeginRemoteMerge{Parent: pid, Fork: first, Base: made.Buckets[0].Parent.Version,
		Hold: h, ForkName: "s-0", Strategy: MergeForkWins}).Template)
	page := f.read(func(r *Reader) (any, error) { return r.RemoteMergeChanges(first, h, "", 50, false) }).(*RemoteChangePage)
	res = p.must(&RemoteMergeEntry{Fork: first, Hold: h, Phase: st.Phase, Next: page.Changes[19].Key, Changes: page.Changes})
	if st, _ = DecodeRemoteMergeState(res.Template); st.Phase != XMergeReady || st.Report.Puts != 20 {
		t.Fatalf("entry in steps: %+v", st)
	}
	p.must(&EndRemoteMerge{Fork: first, Hold: h})
	for i := range 20 {
		p.mustGet("base", fmt.Sprintf("k%02d", i), 0, "v")
	}
}
