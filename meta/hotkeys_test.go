package meta

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func corsMaxAge(t *testing.T, tf *testFSM, bucket string) int {
	t.Helper()
	v, err := tf.fsm.Lookup(BucketCORSQuery{Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	rules := v.([]CORSRule)
	if len(rules) == 0 {
		return 0
	}
	return rules[0].MaxAgeSeconds
}

func setCORSMaxAge(tf *testFSM, bucket string, age int) {
	tf.must(&SetBucketCORS{Bucket: bucket, Rules: []CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, MaxAgeSeconds: age}}})
}

// The bucket keys a read or an apply needs come from memory once read,
// and every change to them, by a command, a bucket's deletion and
// re-creation or a snapshot's recovery, is seen by the next read.
func TestHotKeysServeBucketReads(t *testing.T) {
	tf := openTestFSM(t)
	b := tf.createBucket("b")
	setCORSMaxAge(tf, "b", 1)
	if got := corsMaxAge(t, tf, "b"); got != 1 {
		t.Fatalf("max age %d, want 1", got)
	}
	hits := tf.fsm.hot.hits.Load()
	if got := corsMaxAge(t, tf, "b"); got != 1 {
		t.Fatalf("max age %d, want 1", got)
	}
	// The name, the record, the merge hold and the CORS rules.
	if n := tf.fsm.hot.hits.Load() - hits; n < 4 {
		t.Fatalf("a second read took %d bucket keys from memory, want at least 4", n)
	}
	// An apply reads them from memory too.
	hits = tf.fsm.hot.hits.Load()
	tf.put("b", "k", "v")
	if tf.fsm.hot.hits.Load() == hits {
		t.Fatal("a PUT's apply read no bucket key from memory")
	}

	setCORSMaxAge(tf, "b", 2)
	if got := corsMaxAge(t, tf, "b"); got != 2 {
		t.Fatalf("after a change: max age %d, want 2", got)
	}
	tf.createBucket("v")
	if got := tf.read(BucketQuery{Name: "v"}.Run).(*Bucket); got.Versioning != VersioningOff {
		t.Fatalf("new bucket: %v", got.Versioning)
	}
	tf.must(&SetVersioning{Bucket: "v", Status: VersioningEnabled})
	if got := tf.read(BucketQuery{Name: "v"}.Run).(*Bucket); got.Versioning != VersioningEnabled {
		t.Fatalf("after versioning was enabled: %v", got.Versioning)
	}

	tf.del("b", "k")
	tf.must(&DeleteBucket{Name: "b"})
	if _, err := tf.readErr(BucketQuery{Name: "b"}.Run); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("deleted bucket: %v", err)
	}
	again := tf.createBucket("b")
	if again.ID == b.ID {
		t.Fatalf("re-created bucket has the old id %d", b.ID)
	}
	if got := tf.read(BucketQuery{Name: "b"}.Run).(*Bucket); got.ID != again.ID || got.Versioning != VersioningOff {
		t.Fatalf("re-created bucket read as id %d, %v; want id %d, unversioned", got.ID, got.Versioning, again.ID)
	}
	if got := corsMaxAge(t, tf, "b"); got != 0 {
		t.Fatalf("re-created bucket has max age %d, want no CORS", got)
	}

	setCORSMaxAge(tf, "b", 3)
	snap := tf.snapshot()
	setCORSMaxAge(tf, "b", 4)
	if got := corsMaxAge(t, tf, "b"); got != 4 {
		t.Fatalf("max age %d, want 4", got)
	}
	if err := tf.fsm.RecoverFromSnapshot(bytes.NewReader(snap), make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	if got := corsMaxAge(t, tf, "b"); got != 3 {
		t.Fatalf("after a snapshot's recovery: max age %d, want 3", got)
	}
}

// Reads that run while a bucket key changes never see a value older than
// the last change that returned before they started, nor go back.
func TestHotKeysConcurrentChanges(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	var done atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := 0
			for {
				select {
				case <-stop:
					return
				default:
				}
				before := int(done.Load())
				v, err := tf.fsm.Lookup(BucketCORSQuery{Bucket: "b"})
				if err != nil {
					errs <- err
					return
				}
				got := 0
				if rules := v.([]CORSRule); len(rules) > 0 {
					got = rules[0].MaxAgeSeconds
				}
				if got < before || got < last {
					errs <- fmt.Errorf("read max age %d after change %d had returned (this reader saw %d before)", got, before, last)
					return
				}
				last = got
			}
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for k := 1; k <= 2000 && time.Now().Before(deadline); k++ {
		setCORSMaxAge(tf, "b", k)
		done.Store(int64(k))
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if tf.fsm.hot.hits.Load() == 0 {
		t.Fatal("no read took a bucket key from memory")
	}
}

// The bucket keys kept in memory stay within their budget (a replica
// alone on its node has all of it), and reads past it stay right.
func TestHotKeysWithinBudget(t *testing.T) {
	const budget = 16 << 10
	tf := openTestFSMWith(t, Options{HotKeysBytes: budget})
	const n = 200
	for i := range n {
		name := fmt.Sprintf("bucket-%03d", i)
		tf.createBucket(name)
		setCORSMaxAge(tf, name, i+1)
	}
	most := int64(0)
	for round := range 2 {
		for i := range n {
			name := fmt.Sprintf("bucket-%03d", i)
			if got := corsMaxAge(t, tf, name); got != i+1 {
				t.Fatalf("round %d: %s has max age %d, want %d", round, name, got, i+1)
			}
			used := tf.fsm.hot.size()
			if used > budget {
				t.Fatalf("round %d, %s: %d bytes of bucket keys in memory, budget %d", round, name, used, budget)
			}
			most = max(most, used)
		}
	}
	if most < budget/2 {
		t.Fatalf("at most %d bytes of bucket keys in memory for %d buckets, budget %d", most, n, budget)
	}
	// What one bucket's keys take, for docs/operations.md.
	one := openTestFSM(t)
	one.createBucket("bucket-000")
	corsMaxAge(t, one, "bucket-000")
	t.Logf("one bucket's keys read by a CORS lookup: %d bytes", one.fsm.hot.size())
}
