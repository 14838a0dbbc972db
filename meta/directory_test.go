package meta

import (
	"errors"
	"testing"
)

// A name is claimed on one shard at a time, and its claim goes only when
// no creation is pending on it and the bucket it named is gone.
func TestNameClaims(t *testing.T) {
	tf := openTestFSM(t)
	claim := func(shard uint64, names ...string) error {
		_, err := tf.apply(&ClaimNames{Shard: shard, Names: names})
		return err
	}
	shardOf := func(name string) (uint64, bool) {
		v := tf.read(func(r *Reader) (any, error) {
			s, ok, err := r.NameShard(name)
			return [2]uint64{s, map[bool]uint64{true: 1}[ok]}, err
		}).([2]uint64)
		return v[0], v[1] == 1
	}
	if err := claim(3, "a", "b"); err != nil {
		t.Fatal(err)
	}
	// All or nothing: "c" is not claimed when "a" is elsewhere.
	if err := claim(4, "c", "a"); !errors.Is(err, ErrNameElsewhere) {
		t.Fatalf("claim of a name on another shard: %v", err)
	}
	if _, ok := shardOf("c"); ok {
		t.Fatal("a failed claim left a name claimed")
	}
	if err := claim(3, "d", "d"); !errors.Is(err, ErrBucketExists) {
		t.Fatalf("a name twice: %v", err)
	}
	// A second creation of "a" on its shard is pending too.
	if err := claim(3, "a"); err != nil {
		t.Fatal(err)
	}
	// "b" failed to be created: its claim goes. "a" was created (id 7) by
	// one creation and is still pending for the other.
	tf.must(&SettleNames{Shard: 3, Items: []SettledName{{Name: "b"}, {Name: "a", ID: 7}}})
	if _, ok := shardOf("b"); ok {
		t.Fatal("a claim with no bucket and nothing pending stayed")
	}
	// Deleting bucket 7 while a creation of "a" is pending keeps the claim.
	tf.must(&ReleaseName{Shard: 3, Name: "a", ID: 7})
	if s, ok := shardOf("a"); !ok || s != 3 {
		t.Fatalf("claim of a with a creation pending: shard %d, %v", s, ok)
	}
	if err := claim(5, "a"); !errors.Is(err, ErrNameElsewhere) {
		t.Fatalf("a name pending on shard 3 claimed on 5: %v", err)
	}
	// The pending creation made bucket 9; releasing the old id 7 again
	// changes nothing; releasing 9 frees the name.
	tf.must(&SettleNames{Shard: 3, Items: []SettledName{{Name: "a", ID: 9}}})
	tf.must(&ReleaseName{Shard: 3, Name: "a", ID: 7})
	if _, ok := shardOf("a"); !ok {
		t.Fatal("releasing a deleted bucket's id freed the name of a live one")
	}
	tf.must(&ReleaseName{Shard: 3, Name: "a", ID: 9})
	if _, ok := shardOf("a"); ok {
		t.Fatal("the claim of a deleted bucket stayed")
	}
	if err := claim(5, "a"); err != nil {
		t.Fatalf("a free name: %v", err)
	}
}

func TestInitShards(t *testing.T) {
	tf := openTestFSM(t)
	tf.mustFail(&InitShards{Count: 0}, ErrShardCount)
	tf.must(&InitShards{Count: 16})
	tf.must(&InitShards{Count: 16})
	tf.mustFail(&InitShards{Count: 4}, ErrShardCount)
	if n := tf.read(func(r *Reader) (any, error) { return r.MetaShards() }).(int); n != 16 {
		t.Fatalf("MetaShards = %d", n)
	}
}

// Each shard allocates bucket ids from its own range, and users' buckets
// on a shard other than the directory are created without the user
// record (the proposer checked it in the directory).
func TestShardBucketIDs(t *testing.T) {
	tf := &testFSM{t: t, dir: t.TempDir(), shard: 5}
	tf.open()
	t.Cleanup(func() { tf.fsm.Close() })
	b := tf.createBucket("five")
	if ShardOfBucketID(b.ID) != 5 {
		t.Fatalf("bucket id %#x is not in shard 5's range", b.ID)
	}
	f := tf.fork("five-fork", "five")
	if ShardOfBucketID(f.ID) != 5 || f.ID != b.ID+1 {
		t.Fatalf("fork id %#x after %#x", f.ID, b.ID)
	}
	tf.must(&CreateOwnedBucket{Owner: "alice", Bucket: CreateBucket{Name: "alices"}})
	if got := tf.bucketAt("alices", 0); got.Owner != "alice" {
		t.Fatalf("owner %q", got.Owner)
	}
	one := openTestFSM(t)
	if b := one.createBucket("one"); ShardOfBucketID(b.ID) != DirectoryShard || b.ID != 1 {
		t.Fatalf("shard 1's first bucket id %#x", b.ID)
	}
	one.mustFail(&CreateOwnedBucket{Owner: "alice", Bucket: CreateBucket{Name: "alices"}}, ErrNoSuchUser)
}
