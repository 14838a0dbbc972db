package meta

import (
	"fmt"
	"testing"
)

// digestOf returns the state digest of tf's replica (what Digest commands
// compare between replicas).
func (tf *testFSM) digestOf() [32]byte {
	tf.t.Helper()
	var sum [32]byte
	err := tf.view(func(txn *kvTxn) error {
		var err error
		sum, err = stateDigest(txn)
		return err
	})
	if err != nil {
		tf.t.Fatal(err)
	}
	return sum
}

// Every command prunes the request and completed upload age indexes, and
// most find nothing due. Such a walk is skipped while the first live key
// the last walk found is not due: each walk is an iterator, which in a
// read-write transaction copies and sorts the batch's pending writes. The state must not depend on it: a replica
// that applies the same commands one per batch ends with the same digest
// and the same results.
func TestBatchSkipsIndexWalksSameState(t *testing.T) {
	batched, single := openTestFSM(t), openTestFSM(t)
	const s = uint64(1e18)
	put := func(i int, stamp uint64, key string) any {
		return &PutObject{Header: Header{RequestID: fmt.Sprintf("r%d", i), Stamp: stamp}, Bucket: "b", Object: obj(key, fmt.Sprint("v", i))}
	}
	var setup []any
	setup = append(setup, &CreateBucket{Header: Header{Stamp: s - 1}, Name: "b"})
	for i := range 20 {
		setup = append(setup, put(i, s+uint64(i)*1e6, fmt.Sprint("k", i%3)))
	}
	for _, c := range setup {
		batched.applyBatch(c)
		single.applyBatch(c)
	}

	// Nothing due: 16 overwrites within the window.
	var quiet []any
	for i := range 16 {
		quiet = append(quiet, put(100+i, s+30e6+uint64(i)*1e6, fmt.Sprint("k", i%3)))
	}
	before := batched.fsm.stats.indexWalks
	res := batched.applyBatch(quiet...)
	if walks := batched.fsm.stats.indexWalks - before; walks > 4 {
		t.Errorf("%d age index walks for a batch of 16 commands with nothing due, want at most 4 (2 indexes)", walks)
	}
	before = single.fsm.stats.indexWalks
	for i, c := range quiet {
		if r := single.applyBatch(c)[0]; r.Value != res[i].Value || string(r.Data) != string(res[i].Data) {
			t.Fatalf("quiet command %d: result %d %x batched, %d %x alone", i, res[i].Value, res[i].Data, r.Value, r.Data)
		}
	}
	// A bound learned by a committed transaction holds for the next ones.
	if walks := single.fsm.stats.indexWalks - before; walks > 4 {
		t.Errorf("%d age index walks for 16 commands applied one per batch with nothing due, want at most 4", walks)
	}

	// Request ids coming due in the middle of a batch, a snapshot pinning
	// the versions overwritten after it, an upload completing.
	var due []any
	for i := range 16 {
		stamp := s + dedupeWindow + uint64(i)*2e6
		switch i {
		case 5:
			due = append(due, &CreateSnapshot{Header: Header{RequestID: "snap", Stamp: stamp}, Bucket: "b", Name: "s1"})
		case 9:
			due = append(due, &CreateUpload{Header: Header{RequestID: "up", Stamp: stamp}, Bucket: "b", UploadID: "u1", Template: Object{Key: "mp"}})
		default:
			due = append(due, put(200+i, stamp, fmt.Sprint("k", i%3)))
		}
	}
	res = batched.applyBatch(due...)
	for i, c := range due {
		if r := single.applyBatch(c)[0]; r.Value != res[i].Value || string(r.Data) != string(res[i].Data) {
			t.Fatalf("command %d: result %d %x batched, %d %x alone", i, res[i].Value, res[i].Data, r.Value, r.Data)
		}
	}
	if n := batched.countPrefix(pfxRequestAge); n >= 20+16+16 {
		t.Errorf("%d request ids kept: none pruned", n)
	}
	if b, s := batched.digestOf(), single.digestOf(); b != s {
		t.Fatalf("state digest %x applied in batches, %x one by one", b, s)
	}
}
