package meta

import "testing"

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
