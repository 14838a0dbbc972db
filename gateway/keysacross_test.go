package gateway_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// A scoped key naming a base and forks of it on other shards: its id
// names the base's shard, it works on every bucket, it is listed once, a
// deleted fork leaves its scope (and a new bucket of the same name does
// not join it), and once deleted or expired it is refused everywhere and
// no copy of it is left on the forks' shards.
func TestKeysAcrossShards(t *testing.T) {
	s := newXForkService(t, nil)
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	baseShard := mustShard(t, s, "base")
	forks := remoteNames("agent", baseShard, 2)
	for _, f := range forks {
		if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: f, ForkSource: "base"}); err != nil {
			t.Fatal(err)
		}
	}
	all := append([]string{"base"}, forks...)
	k, err := s.CreateKey(ctx(t), gateway.KeyInput{Buckets: all})
	if err != nil {
		t.Fatal(err)
	}
	if baseShard > 1 && !strings.HasPrefix(k.Key.ID, fmt.Sprintf("FS%03d", baseShard)) {
		t.Fatalf("key id %s does not name the base's shard %d", k.Key.ID, baseShard)
	}
	canUse := func(id, bucket string) bool {
		p, ok := s.Principal(ctx(t), id)
		return ok && p.CanUse(bucket, s.LeaseNow())
	}
	for _, b := range all {
		if !canUse(k.Key.ID, b) {
			t.Fatalf("the key cannot use %s", b)
		}
	}
	listed := func(bucket, id string) int {
		ks, err := s.ListKeys(ctx(t), bucket)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, x := range ks {
			if x.ID == id {
				n++
			}
		}
		return n
	}
	if n := listed("", k.Key.ID); n != 1 {
		t.Fatalf("listed %d times", n)
	}
	if listed(forks[0], k.Key.ID) != 1 {
		t.Fatal("not listed with the fork")
	}

	// A deleted fork leaves the scope; the base and the other fork stay.
	if err := s.DeleteBucket(ctx(t), forks[0]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deleted fork leaves the key's scope", func() bool { return !canUse(k.Key.ID, forks[0]) })
	if !canUse(k.Key.ID, "base") || !canUse(k.Key.ID, forks[1]) {
		t.Fatal("deleting one fork took the others from the key")
	}
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: forks[0]}); err != nil {
		t.Fatal(err)
	}
	if canUse(k.Key.ID, forks[0]) {
		t.Fatal("a new bucket of a deleted one's name joined the key")
	}

	// The key outlives its home shard's buckets while another lives.
	b2, err := s.CreateKey(ctx(t), gateway.KeyInput{Buckets: []string{"base", forks[1]}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBucket(ctx(t), "base"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deleted base leaves the key's scope", func() bool { return !canUse(b2.Key.ID, "base") })
	if !canUse(b2.Key.ID, forks[1]) {
		t.Fatal("deleting the base took its fork on another shard from the key")
	}
	if err := s.DeleteKey(ctx(t), b2.Key.ID); err != nil {
		t.Fatal(err)
	}
	if canUse(b2.Key.ID, forks[1]) {
		t.Fatal("a deleted key still uses the fork")
	}
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base"}); err != nil {
		t.Fatal(err)
	}

	// Deleted: refused everywhere, no copy left.
	if err := s.DeleteKey(ctx(t), k.Key.ID); err != nil {
		t.Fatal(err)
	}
	for _, b := range all {
		if canUse(k.Key.ID, b) {
			t.Fatalf("a deleted key still uses %s", b)
		}
	}
	if listed("", k.Key.ID) != 0 || listed(forks[1], k.Key.ID) != 0 {
		t.Fatal("a deleted key is still listed")
	}

	// Expired: refused everywhere, and each shard's leader removes its copy.
	e, err := s.CreateKey(ctx(t), gateway.KeyInput{Buckets: []string{"base", forks[1]}, TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !canUse(e.Key.ID, forks[1]) {
		t.Fatal("the key cannot use the fork")
	}
	waitFor(t, "the expired key is refused and its copies removed", func() bool {
		_, ok := s.Principal(ctx(t), e.Key.ID)
		return !ok && listed("base", e.Key.ID) == 0 && listed(forks[1], e.Key.ID) == 0
	})
}

// A create across shards that stopped after the home copy (the node died
// before the other shards' copies) leaves a key that is listed, uses
// only its home shard's buckets, and that DeleteKey removes.
func TestKeysAcrossShardsHalfMade(t *testing.T) {
	s := newXForkService(t, nil)
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	baseShard := mustShard(t, s, "base")
	fork := remoteNames("agent", baseShard, 1)[0]
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: fork, ForkSource: "base"}); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("FS%03dAAAAAAAAAAAAAAA", baseShard)
	if baseShard <= 1 {
		id = "FSKAAAAAAAAAAAAAAAAA"
	}
	k := meta.AccessKey{ID: id, Sealed: []byte("sealed"), Buckets: []meta.KeyBucket{{Name: "base"}, {Name: fork, ID: mustBucket(t, s, fork).ID}}}
	if _, err := gateway.ProposeOn(ctx(t), s, baseShard, &meta.CreateKey{Key: k, Across: true}); err != nil {
		t.Fatal(err)
	}
	ks, err := s.ListKeys(ctx(t), "")
	if err != nil || !containsKey(ks, id) {
		t.Fatalf("the half-made key is not listed: %v", err)
	}
	if ks, err := s.ListKeys(ctx(t), fork); err != nil || containsKey(ks, id) {
		t.Fatalf("the fork's shard lists a copy it does not have: %v", err)
	}
	if err := s.DeleteKey(ctx(t), id); err != nil {
		t.Fatal(err)
	}
	if ks, err := s.ListKeys(ctx(t), ""); err != nil || containsKey(ks, id) {
		t.Fatalf("the half-made key outlived DeleteKey: %v", err)
	}
}
