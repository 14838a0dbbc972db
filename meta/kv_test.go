package meta

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"slices"
	"testing"
)

// openReplica opens replica (shard, replica) through fn, as Dragonboat
// does, and closes it with the test.
func openReplica(t *testing.T, fn func(uint64, uint64) *FSM, shard, replica uint64) *testFSM {
	t.Helper()
	f := fn(shard, replica)
	idx, err := f.Open(make(chan struct{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &testFSM{t: t, fsm: f, index: idx, shard: shard}
}

func factory(t *testing.T, dir string) (func(uint64, uint64) *FSM, *Handle) {
	create, h := NewStateMachineHandle(dir, Options{}, testLogger(t))
	return func(s, r uint64) *FSM { return create(s, r).(*FSM) }, h
}

// The replicas of a node share one Badger DB, each in a key range of its
// own: what one writes, recovers from a snapshot or loses when removed
// leaves the others as they were.
func TestReplicasShareTheNodeStore(t *testing.T) {
	dir := t.TempDir()
	fn, h := factory(t, dir)
	a := openReplica(t, fn, 1, 1)
	// Shard ids whose uvarints are of different lengths and orders.
	b := openReplica(t, fn, 128, 1<<40)
	c := openReplica(t, fn, 2, 300)
	if a.fsm.db != b.fsm.db || a.fsm.db != c.fsm.db {
		t.Fatal("the replicas do not share the node's store")
	}
	a.createBucket("only-a")
	a.put("only-a", "k", "from a")
	b.createBucket("only-b")
	b.put("only-b", "k", "from b")
	c.createBucket("only-c")
	if got := names(b.dump()); slices.ContainsFunc(got, func(k string) bool { return bytes.Contains([]byte(k), []byte("only-a")) }) {
		t.Fatalf("replica b sees a's keys: %q", got)
	}
	if _, err := b.get("only-a", "k", 0); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("a's bucket through b: %v", err)
	}
	b.mustGet("only-b", "k", 0, "from b")
	wantA, wantC := a.dump(), c.dump()

	// A snapshot of a recovered into b replaces b's keys only.
	if err := b.fsm.RecoverFromSnapshot(bytes.NewReader(a.snapshot()), make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	if got := b.dump(); !reflect.DeepEqual(got, wantA) {
		t.Fatalf("b after recovering a's snapshot: %d keys, want a's %d", len(got), len(wantA))
	}
	if got := c.dump(); !reflect.DeepEqual(got, wantC) {
		t.Fatal("c changed when b recovered a snapshot")
	}

	// A replica opened and not written to yet is on disk too.
	openReplica(t, fn, 5, 1)
	reps, err := h.Replicas(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]uint64{{1, 1}, {2, 300}, {5, 1}, {128, 1 << 40}}
	slices.SortFunc(reps, func(x, y [2]uint64) int { return int(x[0]) - int(y[0]) })
	if !reflect.DeepEqual(reps, want) {
		t.Fatalf("replicas %v, want %v", reps, want)
	}

	// Removing b deletes its range only, once it is closed.
	if err := h.RemoveReplicaData(dir, 128, 1<<40); err == nil {
		t.Fatal("an open replica's data was removed")
	}
	b.fsm.Close()
	if err := h.RemoveReplicaData(dir, 128, 1<<40); err != nil {
		t.Fatal(err)
	}
	if reps, _ := h.Replicas(dir); len(reps) != 3 {
		t.Fatalf("replicas after removing b: %v", reps)
	}
	b = openReplica(t, fn, 128, 1<<40)
	if d := b.dump(); b.index != 0 || len(d) != 1 || d[string(keyApplied())] != string(u64Value(0)) {
		t.Fatalf("a removed replica reopened with index %d and keys %q, want its applied index 0 alone", b.index, d)
	}
	if got := a.dump(); !reflect.DeepEqual(got, wantA) {
		t.Fatal("a changed when b was removed")
	}
	if got := c.dump(); !reflect.DeepEqual(got, wantC) {
		t.Fatal("c changed when b was removed")
	}
}

// The store is open while a replica uses it and reopens with what was
// applied: each replica finds its own applied index and keys again.
func TestNodeStoreReopens(t *testing.T) {
	dir := t.TempDir()
	fn, _ := factory(t, dir)
	a := openReplica(t, fn, 1, 1)
	b := openReplica(t, fn, 3, 7)
	a.createBucket("a")
	b.createBucket("b")
	b.put("b", "k", "v")
	ia, ib := a.index, b.index
	a.fsm.Close()
	b.fsm.Close()
	fn, _ = factory(t, dir) // as a restarted node does
	a = openReplica(t, fn, 1, 1)
	b = openReplica(t, fn, 3, 7)
	if a.index != ia || b.index != ib {
		t.Fatalf("applied indexes %d and %d after reopening, want %d and %d", a.index, b.index, ia, ib)
	}
	b.mustGet("b", "k", 0, "v")
}

// A replica of a data dir made before the node's store keeps its own
// Badger DB, and its keys stay there.
func TestReplicaWithItsOwnDB(t *testing.T) {
	dir := t.TempDir()
	// A replica's own DB, as older data dirs hold them.
	old := &FSM{dir: ReplicaDir(dir, 2, 1), opts: Options{}.withDefaults(), log: testLogger(t), shardID: 2, replicaID: 1}
	if _, err := old.Open(make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	tf := &testFSM{t: t, fsm: old}
	tf.createBucket("legacy")
	tf.put("legacy", "k", "v")
	old.Close()

	fn, h := factory(t, dir)
	r := openReplica(t, fn, 2, 1)
	if r.fsm.prefix != nil {
		t.Fatal("a replica with a DB of its own was opened in the node's store")
	}
	r.mustGet("legacy", "k", 0, "v")
	n := openReplica(t, fn, 3, 1)
	if n.fsm.prefix == nil || n.fsm.db == r.fsm.db {
		t.Fatal("a new replica was not opened in the node's store")
	}
	reps, err := h.Replicas(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(reps, [2]uint64{2, 1}) {
		t.Fatalf("replicas %v lack the one with its own DB", reps)
	}
	r.fsm.Close()
	if err := h.RemoveReplicaData(dir, 2, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ReplicaDir(dir, 2, 1)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the removed replica's own DB is still there: %v", err)
	}
}

func TestReplicaPrefixes(t *testing.T) {
	ids := []uint64{0, 1, 127, 128, 255, 256, 300, 1 << 20, 1<<63 + 5}
	seen := map[string]bool{}
	for _, s := range ids {
		for _, r := range ids {
			p := replicaPrefix(s, r)
			gs, gr, n, ok := parseReplicaPrefix(append(p, 'x'))
			if !ok || gs != s || gr != r || n != len(p) {
				t.Fatalf("prefix of (%d, %d) parsed as (%d, %d, %d, %v)", s, r, gs, gr, n, ok)
			}
			end := prefixEnd(p)
			if bytes.Compare(end, append(p, 0xff, 0xff)) <= 0 {
				t.Fatalf("end %x of prefix %x is not after its keys", end, p)
			}
			seen[string(p)] = true
		}
	}
	// No prefix begins another (each replica's keys are one range).
	for p := range seen {
		for q := range seen {
			if p != q && bytes.HasPrefix([]byte(p), []byte(q)) {
				t.Fatalf("prefix %x begins %x", q, p)
			}
		}
	}
	if prefixEnd([]byte{0xff, 0xff}) != nil {
		t.Fatal("a prefix of 0xff bytes has an end")
	}
}

func names(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
