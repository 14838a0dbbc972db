package meta

import (
	"errors"
	"testing"
)

// twoShards opens the state machines of shard 1 (the parent's) and shard 3
// (the fork's).
func twoShards(t *testing.T) (p, f *testFSM) {
	p = openTestFSM(t)
	f = &testFSM{t: t, dir: t.TempDir(), shard: 3}
	f.open()
	t.Cleanup(func() { f.fsm.Close() })
	return p, f
}

// xfork runs the creation steps of remote forks of src up to `steps`
// (1: pin only, 2: pin and create, 3: all) and returns their ids.
func xfork(t *testing.T, p, f *testFSM, src string, steps int, names ...string) []RemoteFork {
	t.Helper()
	first := f.must(&ReserveBucketIDs{Count: len(names)}).Bucket.ID
	var forks []RemoteFork
	for i, n := range names {
		forks = append(forks, RemoteFork{ID: first + uint64(i), Name: n})
	}
	res := p.must(&PinRemoteForks{Source: src, Target: 3, Deadline: 100, Forks: forks})
	if steps >= 2 {
		f.must(&CreateRemoteForks{Template: res.Template, Forks: forks})
	}
	if steps >= 3 {
		var ids []uint64
		for _, fk := range forks {
			ids = append(ids, fk.ID)
		}
		p.must(&SettleRemotePins{Parent: p.bucketID(src), IDs: ids})
	}
	return forks
}

func (tf *testFSM) bucketID(name string) uint64 {
	tf.t.Helper()
	return tf.read(func(r *Reader) (any, error) { return r.Bucket(name) }).(*Bucket).ID
}

// A fork on another shard answers what its local layers hold, and a
// RemoteRead at the parent and fork point for the rest; the parent's shard
// answers that read as of the fork point whatever the parent did since.
func TestRemoteForkReadThrough(t *testing.T) {
	p, f := twoShards(t)
	p.createBucket("base")
	p.put("base", "a", "a1")
	p.put("base", "b", "b1")
	p.must(&SetBucketEncryption{Bucket: "base", Algorithm: "AES256"})
	forks := xfork(t, p, f, "base", 3, "agent")
	pid := p.bucketID("base")
	// The fork keeps the default encryption it inherited when made.
	enc := f.read(func(r *Reader) (any, error) { return r.BucketEncryption("agent") }).(*BucketEncryption)
	if enc == nil || enc.Algorithm != "AES256" {
		t.Fatalf("fork's default encryption %+v", enc)
	}
	p.put("base", "a", "a2") // after the fork point
	p.del("base", "b")

	f.put("agent", "c", "c1")
	f.mustGet("agent", "c", 0, "c1")
	_, err := f.get("agent", "a", 0)
	var rr *RemoteRead
	if !errors.As(err, &rr) || rr.BucketID != pid {
		t.Fatalf("read of an inherited key: %v", err)
	}
	o := p.read(func(r *Reader) (any, error) { return r.GetInherited(rr.BucketID, "a", "", rr.At) }).(*Object)
	if string(o.Inline) != "a1" {
		t.Fatalf("inherited a = %q, want a1 (as of the fork point)", o.Inline)
	}
	if _, err := p.readErr(func(r *Reader) (any, error) { return r.GetInherited(rr.BucketID, "b", "", rr.At) }); err != nil {
		t.Fatalf("inherited b deleted in the parent after the fork point: %v", err)
	}
	// A delete in the fork needs the parent's view (whether to leave a
	// tombstone); with it, the tombstone hides the parent's object.
	f.mustFail(&DeleteObject{Bucket: "agent", Key: "a"}, ErrRemoteParent)
	view, err := InheritedViewOf(rr, "a", o, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.must(&DeleteObjectInherited{DeleteObject: DeleteObject{Bucket: "agent", Key: "a"}, Inherited: view})
	f.mustMiss("agent", "a", 0)
	// A key the parent does not show needs no tombstone.
	none, _ := InheritedViewOf(rr, "zz", nil, ErrNoSuchKey)
	f.must(&DeleteObjectInherited{DeleteObject: DeleteObject{Bucket: "agent", Key: "zz"}, Inherited: none})
	if n := f.objectCount(forks[0].ID); n != 2 { // c and a's tombstone
		t.Fatalf("%d records in the fork's layer, want 2", n)
	}
	if _, err := f.get("agent", "a", 0); errors.As(err, &rr) {
		t.Fatal("a deleted key in the fork still reads through")
	}
	// Lineage on the parent's shard names the fork; the fork names its parent.
	l := p.read(func(r *Reader) (any, error) { return r.Lineage("base") }).(*Lineage)
	if len(l.Forks) != 1 || l.Forks[0].BucketID != forks[0].ID {
		t.Fatalf("parent's lineage: %+v", l.Forks)
	}
	fl := f.read(func(r *Reader) (any, error) { return r.Lineage("agent") }).(*Lineage)
	if fl.Parent == nil || fl.Parent.BucketID != pid {
		t.Fatalf("fork's lineage: %+v", fl.Parent)
	}
	// Merges across shards are refused.
	f.mustFail(&MergeFork{Fork: "agent"}, ErrCrossShardMerge)
	// A key that needs the parent's view in a command is refused, not
	// guessed.
	f.mustFail(&PutObject{Bucket: "agent", Object: obj("b", "x"), IfNoneMatch: "*"}, ErrRemoteParent)
}

// The pin keeps the parent's versions at the fork point through the
// parent's overwrites and its deletion; releasing it lets them go.
func TestRemoteForkPinRetention(t *testing.T) {
	p, f := twoShards(t)
	p.createBucket("base")
	p.putChunks("base", "k", "c1")
	forks := xfork(t, p, f, "base", 3, "agent")
	pid := p.bucketID("base")
	p.putChunks("base", "k", "c2")
	if !p.refs("c1") {
		t.Fatal("the fork's base version lost its chunk")
	}
	p.del("base", "k")
	p.must(&DeleteBucket{Name: "base"}) // as with a local fork: the parent is retained
	if !p.refs("c1") {
		t.Fatal("deleting the parent dropped what the remote fork reads")
	}
	_, err := f.get("agent", "k", 0)
	var rr *RemoteRead
	if !errors.As(err, &rr) {
		t.Fatalf("fork read: %v", err)
	}
	o := p.read(func(r *Reader) (any, error) { return r.GetInherited(rr.BucketID, "k", "", rr.At) }).(*Object)
	if o.Chunks[0].ID != "c1" {
		t.Fatalf("inherited k = %+v", o)
	}
	// Deleting the fork records a release on its shard once purged.
	f.must(&DeleteBucket{Name: "agent"})
	rel := f.read(func(r *Reader) (any, error) { return r.PinReleases(10) }).([]PinRef)
	if len(rel) != 1 || rel[0] != (PinRef{Parent: pid, Base: rel[0].Base, Child: forks[0].ID}) {
		t.Fatalf("releases %+v", rel)
	}
	p.must(&ReleaseRemotePins{Pins: rel})
	f.must(&ClearPinReleases{IDs: []uint64{forks[0].ID}})
	p.drainGC()
	if p.refs("c1") {
		t.Fatal("the released pin still keeps the parent's chunk")
	}
	if n := len(f.read(func(r *Reader) (any, error) { return r.PinReleases(10) }).([]PinRef)); n != 0 {
		t.Fatalf("%d releases left", n)
	}
}

// Recovery after a crash between the steps: an intent whose fork was
// never made is aborted on the fork's shard (a late creation is refused)
// and its pin released; one whose fork exists settles.
func TestRemoteForkCrashRecovery(t *testing.T) {
	p, f := twoShards(t)
	p.createBucket("base")
	p.putChunks("base", "k", "c1")
	pid := p.bucketID("base")
	lost := xfork(t, p, f, "base", 1, "lost") // crashed after the pin
	made := xfork(t, p, f, "base", 2, "made") // crashed after the creation
	p.putChunks("base", "k", "c2")
	intents := p.read(func(r *Reader) (any, error) { return r.PinIntents(10) }).([]PinIntent)
	if len(intents) != 2 {
		t.Fatalf("intents %+v", intents)
	}
	// Recovery: ask the fork's shard, then settle or release.
	res := f.must(&AbortRemoteForks{IDs: []uint64{lost[0].ID, made[0].ID}})
	if len(res.Buckets) != 1 || res.Buckets[0].ID != made[0].ID {
		t.Fatalf("existing forks %+v", res.Buckets)
	}
	p.must(&SettleRemotePins{Parent: pid, IDs: []uint64{made[0].ID}})
	var base uint64
	for _, in := range intents {
		if in.Child == lost[0].ID {
			base = in.Base
		}
	}
	p.must(&ReleaseRemotePins{Pins: []PinRef{{Parent: pid, Base: base, Child: lost[0].ID}}})
	// The late creation of the lost fork is refused.
	tmpl := p.must(&PinRemoteForks{Source: "base", Target: 3, Deadline: 1, Forks: []RemoteFork{{ID: lost[0].ID, Name: "lost"}}}).Template
	f.mustFail(&CreateRemoteForks{Template: tmpl, Forks: lost}, ErrForkAborted)
	p.must(&ReleaseRemotePins{Pins: []PinRef{{Parent: pid, Base: decodeBase(t, tmpl), Child: lost[0].ID}}})
	if n := len(p.read(func(r *Reader) (any, error) { return r.PinIntents(10) }).([]PinIntent)); n != 0 {
		t.Fatalf("%d intents left", n)
	}
	ok := p.read(func(r *Reader) (any, error) { return r.HasForkPin(pid, base, lost[0].ID) }).(bool)
	if ok {
		t.Fatal("the lost fork's pin leaked")
	}
	if _, err := f.get("lost", "k", 0); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("half fork: %v", err)
	}
	// The made fork reads through.
	if _, err := f.get("made", "k", 0); !errors.Is(err, ErrRemoteParent) {
		t.Fatalf("made fork: %v", err)
	}
}

func decodeBase(t *testing.T, tmpl []byte) uint64 {
	b, _, err := decodeTemplate(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return b.Parent.Version
}

// A fork of a bucket whose chain reaches another shard stays on its
// source's shard.
func TestRemoteForkOneHop(t *testing.T) {
	p, f := twoShards(t)
	p.createBucket("base")
	xfork(t, p, f, "base", 3, "agent")
	f.mustFail(&PinRemoteForks{Source: "agent", Target: 1, Deadline: 1, Forks: []RemoteFork{{ID: 5, Name: "x"}}}, ErrForkAcrossShards)
	// A local fork of the remote fork reads through both.
	f.fork("sub", "agent")
	_, err := f.get("sub", "k", 0)
	if !errors.Is(err, ErrRemoteParent) {
		t.Fatalf("fork of a remote fork: %v", err)
	}
	// Merging it into the remote fork would need the other shard's view.
	f.put("sub", "n", "x")
	f.mustFail(&MergeFork{Fork: "sub"}, ErrCrossShardMerge)
}

// Lifecycle expiry in a fork on another shard cannot ask the parent: an
// expired own object leaves a tombstone (hiding whatever the parent
// shows), and the pass goes on.
func TestRemoteForkLifecycle(t *testing.T) {
	p, f := twoShards(t)
	p.createBucket("base")
	p.put("base", "tmp/a", "A")
	xfork(t, p, f, "base", 3, "agent")
	f.put("agent", "tmp/a", "mine")
	f.put("agent", "tmp/b", "mine")
	f.must(&SetLifecycle{Bucket: "agent", Config: &Lifecycle{Rules: []LifecycleRule{{ID: "r", Enabled: true, Prefix: "tmp/", ExpirationDays: 1}}}})
	_, out := f.lifecycleRun(10*day, 0)
	if len(out) != 2 {
		t.Fatalf("expired %+v", out)
	}
	for _, k := range []string{"tmp/a", "tmp/b"} {
		f.mustMiss("agent", k, 0)
	}
}
