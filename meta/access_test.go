package meta

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func sealed(id string) []byte { return []byte("sealed:" + id) }

func newKey(id string, buckets ...string) AccessKey {
	k := AccessKey{ID: id, Sealed: sealed(id)}
	for _, b := range buckets {
		k.Buckets = append(k.Buckets, KeyBucket{Name: b})
	}
	return k
}

func (tf *testFSM) keyGen() uint64 {
	tf.t.Helper()
	return tf.read(func(r *Reader) (any, error) { return r.KeysGeneration() }).(uint64)
}

func (tf *testFSM) key(id string) (*AccessKey, error) {
	tf.t.Helper()
	v, err := tf.readErr(func(r *Reader) (any, error) { return r.AccessKey(id) })
	k, _ := v.(*AccessKey)
	return k, err
}

func TestAccessKeys(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b1")
	tf.createBucket("b2")

	// A key for a missing bucket is refused, and nothing is stored.
	tf.mustFail(&CreateKey{Key: newKey("K1", "b1", "nope")}, ErrNoSuchBucket)
	if _, err := tf.key("K1"); !errors.Is(err, ErrNoSuchAccessKey) {
		t.Fatalf("key after failed create: %v", err)
	}
	gen := tf.keyGen()
	k := newKey("K1", "b1", "b2")
	k.Prefix, k.ReadOnly, k.Expires = "logs/", true, 12345
	res := tf.must(&CreateKey{Key: k})
	if len(res.Keys) != 1 || res.Keys[0].Sealed != nil || res.Keys[0].Buckets[1].ID == 0 {
		t.Fatalf("result keys %+v", res.Keys)
	}
	if g := tf.keyGen(); g <= gen {
		t.Fatalf("generation %d did not move from %d", g, gen)
	}
	got, err := tf.key("K1")
	if err != nil || string(got.Sealed) != "sealed:K1" || got.Prefix != "logs/" || !got.ReadOnly || got.Expires != 12345 || len(got.Buckets) != 2 {
		t.Fatalf("key %+v %v", got, err)
	}
	tf.mustFail(&CreateKey{Key: newKey("K1", "b1")}, ErrAccessKeyExists)
	tf.mustFail(&CreateKey{Key: newKey("K2", "b1", "b1")}, ErrKeyLimit)
	tf.mustFail(&CreateKey{Key: newKey("K2")}, ErrKeyLimit)
	tf.must(&CreateKey{Key: newKey("K2", "b2")})

	list := func(bucket string) []string {
		ks := tf.read(func(r *Reader) (any, error) { return r.AccessKeys(bucket) }).([]AccessKey)
		var ids []string
		for _, k := range ks {
			ids = append(ids, k.ID)
		}
		return ids
	}
	if got := list(""); !reflect.DeepEqual(got, []string{"K1", "K2"}) {
		t.Fatalf("keys %v", got)
	}
	if got := list("b1"); !reflect.DeepEqual(got, []string{"K1"}) {
		t.Fatalf("keys of b1 %v", got)
	}

	// Deleting a bucket takes it out of every scope; a key left with no
	// bucket is deleted.
	tf.must(&DeleteBucket{Name: "b2"})
	got, err = tf.key("K1")
	if err != nil || len(got.Buckets) != 1 || got.Buckets[0].Name != "b1" {
		t.Fatalf("K1 after its bucket b2 was deleted: %+v %v", got, err)
	}
	if _, err := tf.key("K2"); !errors.Is(err, ErrNoSuchAccessKey) {
		t.Fatalf("K2 should be gone: %v", err)
	}
	// A new bucket with the old name is not in anyone's scope.
	tf.createBucket("b2")
	if got := list("b2"); len(got) != 0 {
		t.Fatalf("keys of the new b2: %v", got)
	}

	tf.must(&DeleteKey{ID: "K1"})
	tf.mustFail(&DeleteKey{ID: "K1"}, ErrNoSuchAccessKey)
	if got := list(""); len(got) != 0 {
		t.Fatalf("keys %v", got)
	}
	// Nothing of the key is left behind (indexes included).
	if n := tf.read(func(r *Reader) (any, error) {
		n := 0
		for _, p := range []byte{pfxAccessKey, pfxKeyByBucket, pfxKeyByExpiry} {
			it := txnKeysOnly(r.txn, []byte{p})
			for it.Rewind(); it.Valid(); it.Next() {
				n++
			}
			it.Close()
		}
		return n, nil
	}).(int); n != 0 {
		t.Fatalf("%d key records left", n)
	}
}

func TestResealKeys(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b1")
	tf.must(&CreateKey{Key: newKey("K1", "b1")})
	tf.must(&ResealKeys{Items: []Reseal{
		{ID: "K1", Old: []byte("stale"), New: []byte("x")}, // not what is stored: ignored
		{ID: "gone", Old: []byte("a"), New: []byte("b")},   // no such key: ignored
	}})
	if k, _ := tf.key("K1"); string(k.Sealed) != "sealed:K1" {
		t.Fatalf("sealed %q", k.Sealed)
	}
	tf.must(&ResealKeys{Items: []Reseal{{ID: "K1", Old: sealed("K1"), New: []byte("new")}}})
	if k, _ := tf.key("K1"); string(k.Sealed) != "new" {
		t.Fatalf("sealed %q", k.Sealed)
	}
}

func TestCreateForksAllOrNone(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("base")
	tf.put("base", "k", "v0")
	tf.createBucket("agent-3") // taken: the batch must fail whole

	batch := func(n int) *CreateForks {
		c := &CreateForks{Source: "base", Expires: 999}
		for i := 1; i <= n; i++ {
			name := fmt.Sprintf("agent-%d", i)
			c.Names = append(c.Names, name)
			c.Keys = append(c.Keys, AccessKey{ID: "AK" + name, Sealed: sealed(name)})
		}
		return c
	}
	tf.mustFail(batch(5), ErrBucketExists)
	for i := 1; i <= 5; i++ {
		if _, err := tf.readErr(func(r *Reader) (any, error) { return r.Bucket(fmt.Sprintf("agent-%d", i)) }); i != 3 && !errors.Is(err, ErrNoSuchBucket) {
			t.Fatalf("agent-%d exists after a failed batch: %v", i, err)
		}
	}
	if _, err := tf.key("AKagent-1"); !errors.Is(err, ErrNoSuchAccessKey) {
		t.Fatalf("key after a failed batch: %v", err)
	}
	tf.must(&DeleteBucket{Name: "agent-3"})

	// With a tiny step budget the batch takes many steps; readers see it
	// whole.
	tf.fsm.testStepBudget = stepBudget{writes: 7, bytes: 1 << 20}
	c := batch(40)
	res := tf.must(c)
	if len(res.Buckets) != 40 || len(res.Keys) != 40 {
		t.Fatalf("result: %d buckets, %d keys", len(res.Buckets), len(res.Keys))
	}
	base := res.Buckets[0].Parent.Version
	for i, b := range res.Buckets {
		if b.Name != c.Names[i] || b.Parent == nil || b.Parent.Version != base || b.Expires != 999 {
			t.Fatalf("fork %d: %+v", i, b)
		}
		k, err := tf.key(c.Keys[i].ID)
		if err != nil || len(k.Buckets) != 1 || k.Buckets[0].ID != b.ID || k.Buckets[0].Expires != 999 {
			t.Fatalf("key %d: %+v %v", i, k, err)
		}
	}
	tf.put("agent-7", "k", "v7")
	tf.mustGet("agent-7", "k", 0, "v7")
	tf.mustGet("agent-8", "k", 0, "v0")
	tf.mustGet("base", "k", 0, "v0")

	// A key's scope grows with the forks made with it (Grant).
	tf.must(&CreateForks{Source: "agent-7", Names: []string{"agent-7-sub"}, Grant: "AKagent-7"})
	if k, _ := tf.key("AKagent-7"); len(k.Buckets) != 2 || k.Buckets[1].Name != "agent-7-sub" {
		t.Fatalf("granted key %+v", k)
	}
	tf.mustFail(&CreateForks{Source: "agent-7", Names: []string{"x-sub"}, Grant: "nope"}, ErrNoSuchAccessKey)
	tf.mustFail(&CreateForks{Source: "nope", Names: []string{"x-sub"}}, ErrNoSuchBucket)
	tf.mustFail(&CreateForks{Source: "base", Names: []string{"dup", "dup"}}, ErrBucketExists)
}

func TestLeases(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("base")
	tf.put("base", "k", "v")
	tf.must(&CreateForks{Source: "base", Names: []string{"f1", "f2"}, Expires: 100,
		Keys: []AccessKey{{ID: "K1", Sealed: sealed("K1")}, {ID: "K2", Sealed: sealed("K2")}}})
	tf.putChunks("f1", "big", "c-f1")
	k := newKey("KE", "base")
	k.Expires = 150
	tf.must(&CreateKey{Key: k})

	next := tf.read(func(r *Reader) (any, error) {
		f, k, err := r.NextExpiry()
		return [2]int64{f, k}, err
	}).([2]int64)
	if next != [2]int64{100, 150} {
		t.Fatalf("next expiries %v", next)
	}

	tf.mustFail(&RenewLease{Bucket: "base", Expires: 200, Now: 50}, ErrNotAFork)
	tf.mustFail(&RenewLease{Bucket: "f1", Expires: 40, Now: 50}, ErrLeaseExpired) // not in the future
	tf.mustFail(&RenewLease{Bucket: "f1", Expires: 300, Now: 100}, ErrLeaseExpired)
	res := tf.must(&RenewLease{Bucket: "f2", Expires: 300, Now: 99})
	if res.Bucket.Expires != 300 {
		t.Fatalf("renewed %+v", res.Bucket)
	}

	// Nothing is due before 100.
	if res := tf.must(&ExpireLeases{Now: 99}); len(res.Buckets)+len(res.Keys) != 0 || res.More {
		t.Fatalf("early expiry %+v", res)
	}
	res = tf.must(&ExpireLeases{Now: 160})
	if len(res.Buckets) != 1 || res.Buckets[0].Name != "f1" || len(res.Keys) != 1 || res.Keys[0].ID != "KE" || res.More {
		t.Fatalf("expiry %+v", res)
	}
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.Bucket("f1") }); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("f1: %v", err)
	}
	if _, err := tf.key("K1"); !errors.Is(err, ErrNoSuchAccessKey) {
		t.Fatalf("the expired fork's key: %v", err)
	}
	if _, err := tf.key("K2"); err != nil {
		t.Fatalf("the renewed fork's key: %v", err)
	}
	// The expired fork's data goes the way of a deleted fork's.
	tf.drainGC()
	if tf.refs("c-f1") || !tf.gcQueue()["c-f1"] {
		t.Fatal("the expired fork's chunk is still referenced")
	}
	tf.mustGet("f2", "k", 0, "v")
}
