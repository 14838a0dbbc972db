package meta

import (
	"errors"
	"fmt"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
)

// A stepped command interrupted between steps (the node stops) resumes
// from its journal when Raft applies the entry again, and ends in exactly
// the state of an uninterrupted apply.
func TestSteppedCommandResumesAfterRestart(t *testing.T) {
	build := func(tf *testFSM) {
		tf.createBucket("base")
		tf.must(&SetVersioning{Bucket: "base", Status: VersioningEnabled})
		for i := 0; i < 30; i++ {
			tf.put("base", fmt.Sprintf("k%02d", i), "v0")
		}
		tf.fork("f", "base")
		for i := 0; i < 30; i += 2 {
			tf.putChunks("f", fmt.Sprintf("k%02d", i), fmt.Sprintf("c%d", i))
		}
		for i := 1; i < 30; i += 3 {
			tf.del("f", fmt.Sprintf("k%02d", i))
		}
	}
	cmds := []any{
		&MergeFork{Header: Header{RequestID: "m1", Stamp: 1}, Fork: "f", DeleteFork: true},
		&CreateForks{Header: Header{RequestID: "c1", Stamp: 1}, Source: "base",
			Names: []string{"a1", "a2", "a3", "a4", "a5", "a6"}, Expires: 7,
			Keys: []AccessKey{{ID: "1", Sealed: []byte("s")}, {ID: "2", Sealed: []byte("s")}, {ID: "3", Sealed: []byte("s")},
				{ID: "4", Sealed: []byte("s")}, {ID: "5", Sealed: []byte("s")}, {ID: "6", Sealed: []byte("s")}}},
	}
	for _, cmd := range cmds {
		t.Run(fmt.Sprintf("%T", cmd), func(t *testing.T) {
			ref := openTestFSM(t)
			build(ref)
			ref.must(cmd)
			want := ref.dump()

			tf := openTestFSM(t)
			build(tf)
			e := sm.Entry{Index: tf.index + 1, Cmd: EncodeCommand(cmd)}
			budget := stepBudget{writes: 5, bytes: 1 << 20}
			for i := 0; i < 3; i++ {
				txn := tf.fsm.newTxn(true)
				done, err := tf.fsm.runStep(txn, &e, budget)
				if err != nil {
					t.Fatal(err)
				}
				if err := txn.Commit(); err != nil {
					t.Fatal(err)
				}
				if done {
					t.Fatal("the command fit in too few steps for this test")
				}
			}
			// Stop between steps: the applied index still names the entry
			// before.
			if idx := tf.reopen(); idx != e.Index-1 {
				t.Fatalf("applied index %d after restart, want %d", idx, e.Index-1)
			}
			tf.fsm.testStepBudget = stepBudget{writes: 4, bytes: 1 << 20}
			out, err := tf.fsm.Update([]sm.Entry{e})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := DecodeResult(out[0].Result); err != nil {
				t.Fatal(err)
			}
			tf.index = e.Index
			got := tf.dump()
			if len(got) != len(want) {
				t.Fatalf("%d keys after resuming, %d applied whole", len(got), len(want))
			}
			for k, v := range want {
				if got[k] != v {
					t.Fatalf("key %x: %x after resuming, %x applied whole", k, got[k], v)
				}
			}
			// The same request again is answered from the dedupe table.
			res, err := tf.apply(cmd)
			if res.Version != ref.read(func(r *Reader) (any, error) { return r.LastVersion(), nil }).(uint64) || err != nil {
				t.Fatalf("retried: version %d, %v", res.Version, err)
			}
		})
	}
}

// Readers never see a stepped merge half applied: each listing of the
// parent during the merge shows none of the fork's changes or all of them.
func TestSteppedMergeIsAtomicForReaders(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("base")
	const n = 150
	for i := 0; i < n; i++ {
		tf.put("base", fmt.Sprintf("k%03d", i), "old")
	}
	tf.fork("f", "base")
	for i := 0; i < n; i++ {
		tf.put("f", fmt.Sprintf("k%03d", i), "new")
	}
	tf.fsm.testStepBudget = stepBudget{writes: 4, bytes: 1 << 20}
	stop := make(chan struct{})
	errc := make(chan error, 1)
	seen := map[int]bool{}
	go func() {
		defer close(errc)
		for {
			select {
			case <-stop:
				return
			default:
			}
			v, err := tf.fsm.Lookup(Query(func(r *Reader) (any, error) {
				res, err := r.List("base", ListOptions{MaxKeys: 1000})
				if err != nil {
					return nil, err
				}
				fresh := 0
				for _, o := range res.Objects {
					got, err := r.GetObject("base", o.Key, "", 0)
					if err != nil {
						return nil, err
					}
					if string(got.Inline) == "new" {
						fresh++
					}
				}
				return fresh, nil
			}))
			if errors.Is(err, ErrMergeInProgress) {
				// Between two entries of the merge: the parent is held
				// (merge.go); the gateway waits and reads again.
				seen[-1] = true
				continue
			}
			if err != nil {
				errc <- err
				return
			}
			seen[v.(int)] = true
		}
	}()
	rep, err := tf.merge("f", MergeFail, false)
	close(stop)
	if e := <-errc; e != nil {
		t.Fatal(e)
	}
	if err != nil || rep.Puts != n {
		t.Fatalf("%+v %v", rep, err)
	}
	for k := range seen {
		if k != 0 && k != n && k != -1 {
			t.Fatalf("a reader saw %d of %d merged keys", k, n)
		}
	}
}
