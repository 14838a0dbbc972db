package meta

import "testing"

// Stats counts live buckets and forks, snapshots, the GC queue (all of it,
// and after a cursor) and pending retention passes, and reports the
// applied index.
func TestStats(t *testing.T) {
	tf := openTestFSM(t)
	stats := func(gcAfter uint64) Stats {
		t.Helper()
		return tf.read(func(r *Reader) (any, error) { return r.Stats(gcAfter) }).(Stats)
	}
	if s := stats(0); s != (Stats{AppliedIndex: tf.index}) {
		t.Fatalf("empty: %+v", s)
	}
	tf.createBucket("a")
	tf.createBucket("b")
	tf.fork("a1", "a")
	tf.fork("a2", "a")
	tf.fork("a11", "a1")
	tf.must(&CreateSnapshot{Bucket: "a", Name: "s1"})
	tf.must(&CreateSnapshot{Bucket: "a"})
	tf.must(&CreateSnapshot{Bucket: "b"})
	tf.putChunks("b", "k", "c1", "c2")
	tf.del("b", "k") // c1, c2 queued
	tf.putChunks("b", "k", "c3")
	tf.del("b", "k") // c3 queued
	s := stats(0)
	want := Stats{AppliedIndex: tf.index, Buckets: 5, Forks: 3, Snapshots: 3, GCQueued: 3, GCQueue: 3}
	if s != want {
		t.Fatalf("stats %+v, want %+v", s, want)
	}
	es := tf.read(func(r *Reader) (any, error) { return r.GCQueue(0, 1) }).([]GCEntry)
	if s := stats(es[0].Version); s.GCQueued != 1 || s.GCQueue != 3 {
		t.Errorf("GC queue after the first version: %d of %d, want 1 of 3", s.GCQueued, s.GCQueue)
	}
	tf.must(&TrimGC{UpTo: es[0].Version})
	if s := stats(0); s.GCQueued != 1 || s.GCQueue != 1 {
		t.Errorf("GC queue trimmed up to the first version: %d of %d, want 1 of 1", s.GCQueued, s.GCQueue)
	}
	// Deleting a fork starts a retention pass on it; the bucket count drops.
	tf.must(&DeleteBucket{Name: "a2"})
	s = stats(0)
	if s.Buckets != 4 || s.Forks != 2 || s.GCPending < 1 || s.AppliedIndex != tf.index {
		t.Errorf("after deleting a fork: %+v", s)
	}
	tf.drainGC()
	if s := stats(0); s.GCPending != 0 {
		t.Errorf("after the passes: %+v", s)
	}
}
