package gateway_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
	"github.com/forkstore/forkstore/meta"
)

func newShardedService(t *testing.T, shards int) (*gateway.Service, gateway.Config) {
	t.Helper()
	cfg := gatewaytest.Config(t)
	cfg.ChunkSize = 64 << 10
	cfg.InlineMax = 1 << 10
	cfg.MetaShards = shards
	return gatewaytest.NewNode(t, cfg).Service(), cfg
}

// A node that owns the Go heap's soft limit (GoMemoryLimit) raises it by
// what its further shard replicas keep; one that does not leaves it alone.
func TestGoLimitGrowsWithShards(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	const base = 120 << 20
	cfg := gatewaytest.Config(t)
	cfg.MetaShards = 4
	cfg.GoMemoryLimit = base
	gatewaytest.NewNode(t, cfg)
	if got, want := debug.SetMemoryLimit(-1), int64(base+3*(5<<18)); got != want {
		t.Errorf("Go limit of a node of 4 shards: %d, want %d", got, want)
	}
	debug.SetMemoryLimit(prev)
	cfg = gatewaytest.Config(t)
	cfg.MetaShards = 4
	gatewaytest.NewNode(t, cfg)
	if got := debug.SetMemoryLimit(-1); got != prev {
		t.Errorf("Go limit of a node without GoMemoryLimit: %d, want %d (unchanged)", got, prev)
	}
}

// newFamilyService is newShardedService keeping every fork on its
// source's shard (ForksOnSourceShard), as forks were placed before they
// could live on other shards (xfork_test.go tests that placement).
func newFamilyService(t *testing.T, shards int) *gateway.Service {
	t.Helper()
	cfg := gatewaytest.Config(t)
	cfg.ChunkSize = 64 << 10
	cfg.InlineMax = 1 << 10
	cfg.MetaShards = shards
	cfg.ForksOnSourceShard = true
	return gatewaytest.NewNode(t, cfg).Service()
}

// Buckets spread over the metadata shards; a bucket's family (forks,
// snapshot views, scoped keys) stays on its shard; listings and names are
// the cluster's, whatever the shard.
func TestShardsSpreadBuckets(t *testing.T) {
	s := newFamilyService(t, 4)
	if s.MetaShards() != 4 {
		t.Fatalf("MetaShards = %d", s.MetaShards())
	}
	used := map[uint64]int{}
	var names []string
	for i := range 24 {
		name := fmt.Sprintf("bucket-%02d", i)
		names = append(names, name)
		if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: name}); err != nil {
			t.Fatal(err)
		}
		shard, err := s.BucketShard(ctx(t), name)
		if err != nil {
			t.Fatal(err)
		}
		used[shard]++
		put(t, s, name, "k", []byte(name))
	}
	if len(used) < 3 {
		t.Fatalf("24 buckets on %d of 4 shards: %v", len(used), used)
	}
	// One name, one bucket: the same name is refused whatever the shard.
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bucket-05"}); !errors.Is(err, meta.ErrBucketExists) {
		t.Fatalf("second bucket-05: %v", err)
	}
	bs, err := s.ListBuckets(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, b := range bs {
		listed = append(listed, b.Name)
	}
	if strings.Join(listed, ",") != strings.Join(names, ",") {
		t.Fatalf("ListBuckets = %v", listed)
	}

	// A fork, its fork and a view live with their source; reads fall
	// through to the parent.
	src := "bucket-07"
	srcShard, _ := s.BucketShard(ctx(t), src)
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "fork-1", ForkSource: src}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "fork-2", ForkSource: "fork-1"}); err != nil {
		t.Fatal(err)
	}
	snap, err := s.CreateSnapshot(ctx(t), src, "snap-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.MountView(ctx(t), src, "snap-1", "view-1"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fork-1", "fork-2", "view-1"} {
		if sh, err := s.BucketShard(ctx(t), name); err != nil || sh != srcShard {
			t.Fatalf("%s on shard %d (%v), its source on %d", name, sh, err, srcShard)
		}
		if b, err := get(t, s, gateway.GetObjectInput{Bucket: name, Key: "k"}); err != nil || string(b) != src {
			t.Fatalf("%s/k = %q, %v", name, b, err)
		}
	}
	_ = snap
	batch, err := s.CreateForks(ctx(t), gateway.CreateForksInput{Source: src, Prefix: "agent-", Count: 20, WithKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range batch.Forks {
		if sh, _ := s.BucketShard(ctx(t), f.Bucket.Name); sh != srcShard {
			t.Fatalf("fork %s on shard %d, its source on %d", f.Bucket.Name, sh, srcShard)
		}
		p, ok := s.Principal(ctx(t), f.KeyID)
		if secret, _ := s.SecretKey(f.KeyID); !ok || !p.CanUse(f.Bucket.Name, s.LeaseNow()) || secret != f.Secret {
			t.Fatalf("key %s of fork %s: %v %+v", f.KeyID, f.Bucket.Name, ok, p)
		}
	}

	// A fork's name freed by its deletion can be a root bucket on another
	// shard (placed by its own name).
	if err := s.UnmountView(ctx(t), "view-1"); err != nil {
		t.Fatal(err)
	}
	if err := deleteAll(t, s, "fork-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HeadBucket(ctx(t), "fork-2"); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Fatalf("deleted fork: %v", err)
	}
	for _, name := range []string{"view-1", "fork-2"} {
		if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: name}); err != nil {
			t.Fatalf("create %s again: %v", name, err)
		}
		if _, err := get(t, s, gateway.GetObjectInput{Bucket: name, Key: "k"}); !errors.Is(err, meta.ErrNoSuchKey) {
			t.Fatalf("new %s/k: %v", name, err)
		}
	}
}

func deleteAll(t *testing.T, s *gateway.Service, bucket string) error {
	t.Helper()
	res, err := s.ListObjects(ctx(t), bucket, meta.ListOptions{MaxKeys: 1000})
	if err != nil {
		return err
	}
	for _, o := range res.Objects {
		if _, err := s.DeleteObject(ctx(t), bucket, o.Key, "", meta.DeleteCondition{}, false); err != nil {
			return err
		}
	}
	return s.DeleteBucket(ctx(t), bucket)
}

// A copy between buckets on different shards writes the bytes anew
// (chunk references are counted per shard); deleting the source leaves
// the copy whole.
func TestShardsCopyAcross(t *testing.T) {
	s, cfg := newShardedService(t, 4)
	a, b := "", ""
	for i := 0; a == "" || b == ""; i++ {
		name := fmt.Sprintf("copy-%d", i)
		if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: name}); err != nil {
			t.Fatal(err)
		}
		sh, _ := s.BucketShard(ctx(t), name)
		switch {
		case a == "":
			a = name
		case b == "":
			if sa, _ := s.BucketShard(ctx(t), a); sa != sh {
				b = name
			}
		}
	}
	body := randBytes(7, 300<<10)
	src := put(t, s, a, "big", body)
	if len(src.Chunks) == 0 {
		t.Fatal("the source is inline; the test needs chunks")
	}
	before := chunkFiles(t, cfg)
	cp, err := s.CopyObject(ctx(t), &gateway.CopyObjectInput{Source: src, SourceBucket: a, DstBucket: b, DstKey: "copy"})
	if err != nil {
		t.Fatal(err)
	}
	if cp.ETag != src.ETag {
		t.Fatalf("copy etag %s, source %s", cp.ETag, src.ETag)
	}
	if after := chunkFiles(t, cfg); after != 2*before {
		t.Fatalf("chunk files %d after a copy across shards, %d before", after, before)
	}
	if _, err := s.DeleteObject(ctx(t), a, "big", "", meta.DeleteCondition{}, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "source chunks collected", func() bool { return chunkFiles(t, cfg) == before })
	if got, err := get(t, s, gateway.GetObjectInput{Bucket: b, Key: "copy"}); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("copy after the source went: %v", err)
	}
}

// Scoped keys live on their buckets' shard; their ids say which; a key
// cannot name buckets of two shards.
func TestShardsKeys(t *testing.T) {
	s, _ := newShardedService(t, 4)
	byShard := map[uint64]string{}
	for i := 0; len(byShard) < 2; i++ {
		name := fmt.Sprintf("keys-%d", i)
		if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: name}); err != nil {
			t.Fatal(err)
		}
		sh, _ := s.BucketShard(ctx(t), name)
		if byShard[sh] == "" {
			byShard[sh] = name
		}
	}
	var two []string
	for sh, name := range byShard {
		two = append(two, name)
		k, err := s.CreateKey(ctx(t), gateway.KeyInput{Buckets: []string{name}})
		if err != nil {
			t.Fatal(err)
		}
		if sh > 1 && !strings.HasPrefix(k.Key.ID, fmt.Sprintf("FS%03d", sh)) {
			t.Fatalf("key of a bucket on shard %d: id %s", sh, k.Key.ID)
		}
		p, ok := s.Principal(ctx(t), k.Key.ID)
		if !ok || !p.CanUse(name, s.LeaseNow()) {
			t.Fatalf("key %s: %v", k.Key.ID, ok)
		}
		keys, err := s.ListKeys(ctx(t), "")
		if err != nil || !containsKey(keys, k.Key.ID) {
			t.Fatalf("ListKeys: %v", err)
		}
		if err := s.DeleteKey(ctx(t), k.Key.ID); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.Principal(ctx(t), k.Key.ID); ok {
			t.Fatalf("deleted key %s still authenticates", k.Key.ID)
		}
	}
	// A key of two shards works (keysacross_test.go); one that may fork
	// keeps to one shard.
	if _, err := s.CreateKey(ctx(t), gateway.KeyInput{Buckets: two}); err != nil {
		t.Fatalf("a key of two shards: %v", err)
	}
	if _, err := s.CreateKey(ctx(t), gateway.KeyInput{Buckets: two, AllowForks: true, ForkPrefix: "f-"}); !errors.Is(err, gateway.ErrKeyShards) {
		t.Fatalf("a key of two shards that may fork: %v", err)
	}

	// A user's bucket on another shard than the directory, its scoped
	// key there, and deleting the user.
	u, err := s.CreateUser(ctx(t), "alice", "", "")
	if err != nil {
		t.Fatal(err)
	}
	var owned string
	for i := 0; owned == ""; i++ {
		name := fmt.Sprintf("alice-%d", i)
		if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: name, Owner: "alice"}); err != nil {
			t.Fatal(err)
		}
		if sh, _ := s.BucketShard(ctx(t), name); sh != 1 {
			owned = name
		}
	}
	k, err := s.CreateUserKey(ctx(t), "alice", gateway.KeyInput{Buckets: []string{owned}})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := s.Principal(ctx(t), k.Key.ID)
	if !ok || p.User != "alice" || p.UserID != u.User.ID {
		t.Fatalf("alice's scoped key: %v %+v", ok, p)
	}
	if err := s.DeleteUser(ctx(t), "alice", false); !errors.Is(err, meta.ErrUserOwnsBuckets) {
		t.Fatalf("delete a user owning buckets: %v", err)
	}
	if err := s.DeleteUser(ctx(t), "alice", true); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Principal(ctx(t), k.Key.ID); ok {
		t.Fatal("a deleted user's scoped key still authenticates")
	}
	if bs, err := s.BucketsOwnedBy(ctx(t), ""); err != nil || !containsBucket(bs, owned) {
		t.Fatalf("%s did not pass to the root account: %v", owned, err)
	}
}

func containsKey(ks []gateway.KeyInfo, id string) bool {
	for _, k := range ks {
		if k.ID == id {
			return true
		}
	}
	return false
}

func containsBucket(bs []meta.Bucket, name string) bool {
	for _, b := range bs {
		if b.Name == name {
			return true
		}
	}
	return false
}

// The shard count is fixed when the cluster is created: a restart takes
// it from the data dir, and asking for another is refused.
func TestShardsFixedAtCreation(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.MetaShards = 3
	n := gatewaytest.NewNode(t, cfg)
	if _, err := n.Service().CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "kept"}); err != nil {
		t.Fatal(err)
	}
	n.Close()
	cfg.MetaShards = 0
	n = gatewaytest.NewNode(t, cfg)
	if got := n.Service().MetaShards(); got != 3 {
		t.Fatalf("restarted with %d shards", got)
	}
	if _, err := n.Service().HeadBucket(ctx(t), "kept"); err != nil {
		t.Fatal(err)
	}
	n.Close()
	cfg.MetaShards = 5
	if _, err := gateway.Start(ctx(t), cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "3 metadata shards") {
		t.Fatalf("start with another shard count: %v", err)
	}
}

// A creation cut short between its claim and the bucket leaves the name
// claimed on its shard: a bucket of that name with no parent is made
// there, and a fork of a bucket on another shard is refused with
// OperationAborted (never a second live name).
func TestShardsPendingClaim(t *testing.T) {
	s := newFamilyService(t, 4)
	name := "pending-claim"
	other := gateway.PlaceBucket(name, 4)%4 + 1
	if err := gateway.ClaimName(ctx(t), s, name, other); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HeadBucket(ctx(t), name); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Fatalf("a claimed name with no bucket: %v", err)
	}
	var src string
	for i := 0; src == ""; i++ {
		n := fmt.Sprintf("src-%d", i)
		if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: n}); err != nil {
			t.Fatal(err)
		}
		if sh, _ := s.BucketShard(ctx(t), n); sh != other {
			src = n
		}
	}
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: name, ForkSource: src}); !errors.Is(err, gateway.ErrConflictingOperation) {
		t.Fatalf("a fork under a name claimed on another shard: %v", err)
	}
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: name}); err != nil {
		t.Fatalf("a bucket under a name claimed with no bucket: %v", err)
	}
	if sh, err := s.BucketShard(ctx(t), name); err != nil || sh != other {
		t.Fatalf("the bucket is on shard %d (%v), its name was claimed on %d", sh, err, other)
	}
	put(t, s, name, "k", []byte("v"))
}
