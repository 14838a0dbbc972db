package meta

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
)

// dump returns every key/value of the DB.
func (tf *testFSM) dump() map[string]string {
	tf.t.Helper()
	return tf.read(func(r *Reader) (any, error) {
		m := map[string]string{}
		it := r.txn.NewIterator(badgerIterAll())
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return nil, err
			}
			m[string(it.Item().KeyCopy(nil))] = string(v)
		}
		return m, nil
	}).(map[string]string)
}

// A Raft snapshot is one consistent read, streamed; recovering it into a
// fresh replica reproduces every key, the applied index included, and
// writes applied after PrepareSnapshot are not in it.
func TestRaftSnapshotRoundTrip(t *testing.T) {
	src := openTestFSM(t)
	src.createBucket("b")
	src.must(&SetVersioning{Bucket: "b", Status: VersioningEnabled})
	src.put("b", "k", "v1")
	src.putChunks("b", "k", "c1")
	src.must(&CreateSnapshot{Bucket: "b", Name: "s1"})
	src.fork("f", "b")
	src.must(&CreateUpload{Bucket: "b", UploadID: "u", Template: Object{Key: "m"}})
	want := src.dump()
	wantIndex := src.index

	ctx, err := src.fsm.PrepareSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	src.put("b", "later", "x") // after the snapshot point
	var buf bytes.Buffer
	if err := src.fsm.SaveSnapshot(ctx, &buf, make(chan struct{})); err != nil {
		t.Fatal(err)
	}

	dst := openTestFSM(t)
	dst.createBucket("junk") // replaced entirely
	if err := dst.fsm.RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	if got := dst.dump(); !reflect.DeepEqual(got, want) {
		t.Fatalf("recovered state differs: %d keys vs %d", len(got), len(want))
	}
	if got := dst.reopen(); got != wantIndex {
		t.Fatalf("applied index %d, want %d", got, wantIndex)
	}
	dst.mustGet("f", "k", 0, "")
	dst.mustMiss("b", "later", 0)
	if _, err := dst.readErr(func(r *Reader) (any, error) { return r.Bucket("junk") }); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatal(err)
	}
	// The recovered replica applies the next entries like the source.
	dst.index = wantIndex
	dst.put("b", "after", "y")
	dst.mustGet("b", "after", 0, "y")

	// A truncated stream is refused.
	dst2 := openTestFSM(t)
	err = dst2.fsm.RecoverFromSnapshot(bytes.NewReader(buf.Bytes()[:buf.Len()-3]), make(chan struct{}))
	if err == nil {
		t.Fatal("truncated snapshot accepted")
	}
	var _ sm.IOnDiskStateMachine = dst2.fsm
}

// A recovery cut short leaves the replica at applied index 0, even when
// the write batch had committed part of the stream (its applied index
// among it): a restarted replica then recovers the snapshot again rather
// than trusting a partial state.
func TestRaftSnapshotCutShortLeavesNoAppliedIndex(t *testing.T) {
	src := openTestFSM(t)
	src.createBucket("b")
	body := string(bytes.Repeat([]byte("x"), 4000))
	for i := range 600 { // about 2.4 MB: more than one commit of the batch
		src.put("b", fmt.Sprintf("k%04d", i), body)
	}
	snap := src.snapshot()
	for _, cut := range []int{len(snap) / 2, len(snap) - 20} {
		dst := openTestFSM(t)
		dst.createBucket("old")
		if err := dst.fsm.RecoverFromSnapshot(bytes.NewReader(snap[:cut]), make(chan struct{})); err == nil {
			t.Fatal("a snapshot cut short was accepted")
		}
		if got := dst.reopen(); got != 0 {
			t.Fatalf("cut at %d of %d bytes: applied index %d after reopening, want 0", cut, len(snap), got)
		}
	}
}

// snapshot returns a Raft snapshot of the replica's state now.
func (tf *testFSM) snapshot() []byte {
	tf.t.Helper()
	ctx, err := tf.fsm.PrepareSnapshot()
	if err != nil {
		tf.t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tf.fsm.SaveSnapshot(ctx, &buf, make(chan struct{})); err != nil {
		tf.t.Fatal(err)
	}
	return buf.Bytes()
}
