package meta

import (
	"fmt"
	"testing"
)

// stepsPer applies fn n times and returns the age index entries walked
// per call, on average.
func (tf *testFSM) stepsPer(n int, fn func(i int)) float64 {
	before := tf.fsm.stats.indexSteps
	for i := range n {
		fn(i)
	}
	return float64(tf.fsm.stats.indexSteps-before) / float64(n)
}

// flat fails when the walk cost of the last round grew past the first's:
// consuming an index must not leave work for every later command.
func flat(t *testing.T, what string, rounds []float64) {
	t.Helper()
	first, last := rounds[0], rounds[len(rounds)-1]
	if last > 2*first+4 {
		t.Fatalf("%s: entries walked per command grew from %.1f to %.1f over rounds %v", what, first, last, rounds)
	}
}

// Request ids expire from the dedupe table as commands go on: the walk
// that prunes them costs the same after several windows of commands as
// after the first (it used to step over every deletion marker left by the
// pruning before, and writes became a hundred times slower in minutes).
func TestRequestPruningStaysFlat(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	const perWindow = 100
	step := dedupeWindow / perWindow
	stamp := uint64(1e18)
	var rounds []float64
	for round := range 6 {
		rounds = append(rounds, tf.stepsPer(perWindow, func(i int) {
			stamp += step
			tf.must(&PutObject{
				Header: Header{RequestID: fmt.Sprintf("r-%d-%d", round, i), Stamp: stamp},
				Bucket: "b", Object: obj("k", "v"),
			})
		}))
	}
	flat(t, "request ids", rounds[1:]) // the first window prunes nothing
	// Old ids were pruned, recent ones are still remembered.
	tf.must(&PutObject{Header: Header{RequestID: "r-5-99", Stamp: stamp + 1}, Bucket: "b", Object: obj("k", "other")})
	tf.mustGet("b", "k", 0, "v")
	if n := tf.countPrefix(pfxRequestAge); n > perWindow+1 {
		t.Fatalf("%d request ids kept, want at most a window's %d", n, perWindow+1)
	}
}

// TrimGC walks only what it trims, however much it trimmed before.
func TestTrimGCStaysFlat(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	var rounds []float64
	for round := range 8 {
		for i := range 50 {
			tf.putChunks("b", fmt.Sprintf("k%d", i), fmt.Sprintf("c-%d-%d", round, i))
		}
		rounds = append(rounds, tf.stepsPer(1, func(int) {
			if res := tf.must(&TrimGC{UpTo: latest}); res.More {
				t.Fatal("more after a trim of 50")
			}
		}))
	}
	flat(t, "gc queue", rounds[1:])
	if n := tf.countPrefix(pfxGCQueue); n != 0 {
		t.Fatalf("%d gc queue entries after trims", n)
	}
	if q, err := tf.readErr(func(r *Reader) (any, error) { return r.GCQueue(0, 100) }); err != nil || len(q.([]GCEntry)) != 0 {
		t.Fatalf("gc queue read after trims: %v %v", q, err)
	}
}

// Leases and key expiries: expiring them one by one walks a bounded
// number of entries, and a lease set below the floor (a clock behind the
// others) still expires.
func TestLeaseExpiryStaysFlat(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("base")
	now := int64(1e9)
	var rounds []float64
	for round := range 6 {
		names := make([]string, 20)
		keys := make([]AccessKey, 20)
		for i := range names {
			names[i] = fmt.Sprintf("f-%d-%d", round, i)
			keys[i] = AccessKey{ID: fmt.Sprintf("K-%d-%d", round, i), Sealed: sealed("x")}
		}
		tf.must(&CreateForks{Source: "base", Names: names, Expires: now + 10, Keys: keys})
		k := newKey(fmt.Sprintf("KE-%d", round), "base")
		k.Expires = now + 10
		tf.must(&CreateKey{Key: k})
		now += 20
		expired := 0
		rounds = append(rounds, tf.stepsPer(len(names), func(int) {
			res := tf.must(&ExpireLeases{Now: now})
			expired += len(res.Buckets)
		}))
		if expired != len(names) {
			t.Fatalf("round %d: %d forks expired, want %d", round, expired, len(names))
		}
	}
	flat(t, "leases", rounds[1:])
	// A lease that ends before the floor (set by a proposer whose clock is
	// behind) is still found.
	tf.must(&CreateForks{Source: "base", Names: []string{"late"}, Expires: 1000})
	if res := tf.must(&ExpireLeases{Now: 2000}); len(res.Buckets) != 1 || res.Buckets[0].Name != "late" {
		t.Fatalf("lease below the floor: %+v", res)
	}
	k := newKey("KL", "base")
	k.Expires = 1000
	tf.must(&CreateKey{Key: k})
	if res := tf.must(&ExpireLeases{Now: 2000}); len(res.Keys) != 1 || res.Keys[0].ID != "KL" {
		t.Fatalf("key expiry below the floor: %+v", res)
	}
}

// countPrefix counts the live keys under a family prefix.
func (tf *testFSM) countPrefix(prefix byte) int { return tf.countKeys([]byte{prefix}) }

// Overwriting one key again and again (a progress file, a lock object)
// walks a bounded number of entries per PUT and DELETE, not one more for
// every version replaced before, on plain and on suspended buckets. (A PUT
// after a DELETE that left no record of the key still steps over the
// deletion markers of its versions once, until Badger compacts them.)
func TestHotKeyOverwriteStaysFlat(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	tf.createBucket("s")
	tf.must(&SetVersioning{Bucket: "s", Status: VersioningEnabled})
	tf.must(&SetVersioning{Bucket: "s", Status: VersioningSuspended})
	for _, bucket := range []string{"b", "s"} {
		var rounds []float64
		for range 6 {
			before := tf.fsm.stats.recordSteps
			for range 100 {
				tf.put(bucket, "hot", "v")
			}
			tf.del(bucket, "hot")
			rounds = append(rounds, float64(tf.fsm.stats.recordSteps-before)/101)
			tf.put(bucket, "hot", "v") // walks what the delete left, once
		}
		flat(t, "overwrites in "+bucket, rounds)
		tf.put(bucket, "hot", "last")
		tf.mustGet(bucket, "hot", 0, "last")
	}
}

// A chunk GC queue longer than one Badger transaction holds is trimmed a
// bounded number of entries per command, on the smallest memtable a
// replica can have: a trim of 10,000 entries in one transaction stopped a
// node (its apply failed with ErrTxnTooBig), and the same again at every
// restart.
func TestTrimGCLongQueueSmallMemtable(t *testing.T) {
	tf := openTestFSMWith(t, Options{BadgerMemTableSize: 1 << 20})
	tf.createBucket("b")
	const objects, chunks = 60, 200 // 12,000 queue entries
	for i := range objects {
		ids := make([]string, chunks)
		for j := range ids {
			ids[j] = fmt.Sprintf("c-%d-%d", i, j)
		}
		key := fmt.Sprintf("k%d", i)
		tf.putChunks("b", key, ids...)
		tf.del("b", key)
	}
	if n := tf.countPrefix(pfxGCQueue); n != objects*chunks {
		t.Fatalf("%d gc queue entries, want %d", n, objects*chunks)
	}
	trims := 0
	for more := true; more; trims++ {
		if trims > objects*chunks/maxTrimPerCommand+1 {
			t.Fatalf("still more after %d trims", trims)
		}
		more = tf.must(&TrimGC{UpTo: latest}).More
	}
	if n := tf.countPrefix(pfxGCQueue); n != 0 {
		t.Fatalf("%d gc queue entries after the trims", n)
	}
	if got := tf.reopen(); got != tf.index {
		t.Fatalf("applied index %d after reopening, want %d", got, tf.index)
	}
}
