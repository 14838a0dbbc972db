package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
	"github.com/forkstore/forkstore/meta"
)

func newXMergeService(t *testing.T, hook func(entry int) bool, perEntry int) *gateway.Service {
	t.Helper()
	cfg := gatewaytest.Config(t)
	cfg.InlineMax = 1 << 10
	cfg.MetaShards = xShards
	var stall time.Duration
	if hook != nil {
		stall = 100 * time.Millisecond
	}
	gateway.SetMergeStepHook(&cfg, hook, perEntry, stall)
	return gatewaytest.NewNode(t, cfg).Service()
}

// mergePair is a parent with a fork on its shard and a twin parent with a
// fork on another shard, every write made to both.
type mergePair struct {
	t                             *testing.T
	s                             *gateway.Service
	localParent, localFork        string
	remoteParent, remoteFork      string
	remoteParentShard, forkShard2 uint64
}

func newMergePair(t *testing.T, s *gateway.Service, versioned bool) *mergePair {
	t.Helper()
	p := &mergePair{t: t, s: s, localParent: "par-a", remoteParent: "par-b"}
	for _, n := range []string{p.localParent, p.remoteParent} {
		if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: n}); err != nil {
			t.Fatal(err)
		}
		if versioned {
			if err := s.SetVersioning(ctx(t), n, meta.VersioningEnabled); err != nil {
				t.Fatal(err)
			}
		}
	}
	p.localFork = localName("lfork", mustShard(t, s, p.localParent))
	p.remoteParentShard = mustShard(t, s, p.remoteParent)
	p.remoteFork = remoteNames("rfork", p.remoteParentShard, 1)[0]
	return p
}

func (p *mergePair) fork() {
	for _, f := range [][2]string{{p.localFork, p.localParent}, {p.remoteFork, p.remoteParent}} {
		if _, err := p.s.CreateBucket(ctx(p.t), gateway.CreateBucketInput{Name: f[0], ForkSource: f[1]}); err != nil {
			p.t.Fatal(err)
		}
	}
	if sh := mustShard(p.t, p.s, p.localFork); sh != mustShard(p.t, p.s, p.localParent) {
		p.t.Fatalf("the local fork is on shard %d", sh)
	}
	if p.forkShard2 = mustShard(p.t, p.s, p.remoteFork); p.forkShard2 == p.remoteParentShard {
		p.t.Fatalf("the remote fork is on its parent's shard %d", p.forkShard2)
	}
}

func (p *mergePair) put(parent bool, key, body string) {
	for _, b := range p.buckets(parent) {
		put(p.t, p.s, b, key, []byte(body))
	}
}

func (p *mergePair) del(parent bool, key string) {
	for _, b := range p.buckets(parent) {
		if _, err := p.s.DeleteObject(ctx(p.t), b, key, "", meta.DeleteCondition{}, false); err != nil {
			p.t.Fatalf("delete %s/%s: %v", b, key, err)
		}
	}
}

func (p *mergePair) buckets(parent bool) []string {
	if parent {
		return []string{p.localParent, p.remoteParent}
	}
	return []string{p.localFork, p.remoteFork}
}

// state is what a bucket shows: its listing with each key's body, and its
// versions listing (etags and markers).
func state(t *testing.T, s *gateway.Service, bucket string) []string {
	t.Helper()
	var out []string
	for _, k := range listAll(t, s, bucket, "", "", 7) {
		b := body(t, s, bucket, k)
		if len(b) > 40 {
			b = fmt.Sprintf("%s...(%d bytes)", b[:20], len(b))
		}
		out = append(out, k+"="+b)
	}
	return append(out, listVersionsAll(t, s, bucket, "", "", 1000)...)
}

func sameReport(a, b *meta.MergeReport) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Puts == b.Puts && a.Deletes == b.Deletes && a.Kept == b.Kept && a.ConflictCount == b.ConflictCount &&
		slices.Equal(a.Conflicts, b.Conflicts) && a.ForkDeleted == b.ForkDeleted
}

func reportString(r *meta.MergeReport) string {
	if r == nil {
		return "<nil>"
	}
	return fmt.Sprintf("puts=%d deletes=%d kept=%d conflicts=%d %v deleted=%v", r.Puts, r.Deletes, r.Kept, r.ConflictCount, r.Conflicts, r.ForkDeleted)
}

func errClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, meta.ErrMergeConflict):
		return "conflict"
	}
	return err.Error()
}

// A fork on another shard than its parent merges as the same fork on its
// parent's shard: the same report (dry run too), the same parent after
// it (keys, bodies, versions), for every strategy, with conflicts, over
// several rounds (each merge compares against the previous one), cut
// into entries of three changes, bodies in chunks and inline.
func TestMergeAcrossShardsAsLocal(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	for _, strategy := range []meta.MergeStrategy{meta.MergeFail, meta.MergeForkWins, meta.MergeParentWins} {
		t.Run(fmt.Sprint(strategy), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, uint64(strategy)))
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("seed %d: "+format, append([]any{seed}, args...)...)
			}
			s := newXMergeService(t, nil, 3)
			p := newMergePair(t, s, rng.IntN(2) == 0)
			keys := []string{"a", "a/b", "b", "c/x", "c/y", "d", "e", "f/g", "h", "i"}
			text := func(i int) string {
				if rng.IntN(3) == 0 {
					return fmt.Sprintf("big%d:%s", i, strings.Repeat("x", 3000)) // in chunks
				}
				return fmt.Sprintf("v%d", i)
			}
			for i, k := range keys {
				if rng.IntN(3) > 0 {
					p.put(true, k, text(i))
				}
			}
			p.fork()
			for round := range 3 {
				for i := range 12 {
					k := keys[rng.IntN(len(keys))]
					switch op := rng.IntN(10); {
					case op < 5:
						p.put(false, k, text(100*round+i))
					case op < 7:
						p.del(false, k)
					case op < 9:
						p.put(true, k, text(1000+100*round+i)) // a conflict when the fork changes k too
					default:
						p.del(true, k)
					}
				}
				var reps, plans [2]*meta.MergeReport
				var errs [2]error
				for j, f := range []string{p.localFork, p.remoteFork} {
					plan, _, err := s.MergeFork(ctx(t), gateway.MergeInput{Fork: f, Strategy: strategy, DryRun: true})
					if err != nil {
						fail("dry run %s: %v", f, err)
					}
					plans[j] = plan
					reps[j], _, errs[j] = s.MergeFork(ctx(t), gateway.MergeInput{Fork: f, Strategy: strategy})
					if errs[j] != nil && !errors.Is(errs[j], meta.ErrMergeConflict) {
						fail("round %d merge %s: %v", round, f, errs[j])
					}
					if plan.ConflictCount != reps[j].ConflictCount ||
						(errs[j] == nil && (plan.Puts != reps[j].Puts || plan.Deletes != reps[j].Deletes)) {
						fail("round %d %s: dry run %s, merge %s", round, f, reportString(plan), reportString(reps[j]))
					}
				}
				if !sameReport(plans[0], plans[1]) {
					fail("round %d: dry run local %s, across shards %s", round, reportString(plans[0]), reportString(plans[1]))
				}
				if !sameReport(reps[0], reps[1]) || errClass(errs[0]) != errClass(errs[1]) {
					fail("round %d: local %s (%v), across shards %s (%v)", round, reportString(reps[0]), errs[0], reportString(reps[1]), errs[1])
				}
				if g, w := state(t, s, p.remoteParent), state(t, s, p.localParent); !slices.Equal(g, w) {
					fail("round %d: parent across shards %v, local %v", round, g, w)
				}
				if g, w := state(t, s, p.remoteFork), state(t, s, p.localFork); !slices.Equal(g, w) {
					fail("round %d: fork across shards %v, local %v", round, g, w)
				}
			}
			// Merged with deletion of the fork.
			var reps [2]*meta.MergeReport
			for j, f := range []string{p.localFork, p.remoteFork} {
				rep, _, err := s.MergeFork(ctx(t), gateway.MergeInput{Fork: f, Strategy: meta.MergeForkWins, DeleteFork: true})
				if err != nil {
					fail("merge %s deleting it: %v", f, err)
				}
				reps[j] = rep
			}
			if !sameReport(reps[0], reps[1]) || !reps[1].ForkDeleted {
				fail("deleting merge: local %s, across shards %s", reportString(reps[0]), reportString(reps[1]))
			}
			if _, err := s.HeadBucket(ctx(t), p.remoteFork); !errors.Is(err, meta.ErrNoSuchBucket) {
				fail("fork merged and deleted: %v", err)
			}
			if g, w := state(t, s, p.remoteParent), state(t, s, p.localParent); !slices.Equal(g, w) {
				fail("after the deleting merge: parent across shards %v, local %v", g, w)
			}
		})
	}
}

// A merge across shards stopped between two entries (its node stopped
// driving it) holds its parent: a reader sees the parent as before or
// merged whole, never in between; the leader of the parent's shard
// carries it on to the same result as the same merge on one shard; the
// fork is released and merges again against the new merge point.
func TestMergeAcrossShardsInterrupted(t *testing.T) {
	stop := true
	s := newXMergeService(t, func(entry int) bool { return !stop || entry < 2 }, 2)
	p := newMergePair(t, s, false)
	for i := range 6 {
		p.put(true, fmt.Sprintf("k%02d", i), "base")
	}
	p.fork()
	for i := range 11 {
		body := fmt.Sprintf("fork%d", i)
		if i%3 == 0 {
			body += strings.Repeat("y", 2000)
		}
		p.put(false, fmt.Sprintf("k%02d", i), body)
	}
	p.del(false, "k05")
	p.put(true, "k01", "parent changed it")
	before := state(t, s, p.remoteParent)
	local, _, err := s.MergeFork(ctx(t), gateway.MergeInput{Fork: p.localFork, Strategy: meta.MergeForkWins})
	if err != nil {
		t.Fatal(err)
	}
	want := state(t, s, p.localParent)
	if _, _, err := s.MergeFork(ctx(t), gateway.MergeInput{Fork: p.remoteFork, Strategy: meta.MergeForkWins}); err == nil {
		t.Fatal("the merge was not stopped")
	}
	stop = false
	// Until recovery ends it, the parent is refused or whole.
	deadline := time.Now().Add(30 * time.Second)
	for done := false; !done; {
		if time.Now().After(deadline) {
			t.Fatal("the merge was not carried on")
		}
		c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		res, err := s.ListObjects(c, p.remoteParent, meta.ListOptions{MaxKeys: 1000})
		cancel()
		if err != nil {
			gateway.ResolveRemoteMerges(s, p.remoteParentShard)
			continue
		}
		var ks []string
		for _, o := range res.Objects {
			ks = append(ks, o.Key+" "+o.ETag)
		}
		got := state(t, s, p.remoteParent)
		if slices.Equal(got, before) {
			t.Fatalf("the parent shows no merge while not held: %v", ks)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("the parent shows %v, want %v", got, want)
		}
		done = true
	}
	// The fork is released, and merged again it has nothing new.
	put(t, s, p.remoteFork, "new", []byte("after"))
	put(t, s, p.localFork, "new", []byte("after"))
	var reps [2]*meta.MergeReport
	for j, f := range []string{p.localFork, p.remoteFork} {
		if reps[j], _, err = s.MergeFork(ctx(t), gateway.MergeInput{Fork: f, Strategy: meta.MergeFail}); err != nil {
			t.Fatalf("second merge of %s: %v", f, err)
		}
	}
	if !sameReport(reps[0], reps[1]) || reps[1].Puts != 1 {
		t.Fatalf("second merge: local %s, across shards %s", reportString(reps[0]), reportString(reps[1]))
	}
	_ = local
	if g, w := state(t, s, p.remoteParent), state(t, s, p.localParent); !slices.Equal(g, w) {
		t.Fatalf("after the second merge: across shards %v, local %v", g, w)
	}
}

// A fork of a fork on another shard (on that fork's shard) merges into it
// as the same chain on one shard does: the merged fork's view of keys it
// inherits from its parent on the other shard is read there, what the
// merged fork shows from there is written with new chunks; same reports
// (dry runs too) and same resulting buckets, for every strategy, over
// rounds with conflicts and writes in the parent after the fork points.
func TestMergeIntoForkAcrossShardsAsLocal(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	for _, strategy := range []meta.MergeStrategy{meta.MergeFail, meta.MergeForkWins, meta.MergeParentWins} {
		t.Run(fmt.Sprint(strategy), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 10+uint64(strategy)))
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("seed %d: "+format, append([]any{seed}, args...)...)
			}
			s := newXMergeService(t, nil, 3)
			p := newMergePair(t, s, rng.IntN(2) == 0)
			keys := []string{"a", "a/b", "b", "c/x", "c/y", "d", "e", "f/g", "h", "i"}
			text := func(i int) string {
				if rng.IntN(3) == 0 {
					return fmt.Sprintf("big%d:%s", i, strings.Repeat("z", 2500))
				}
				return fmt.Sprintf("v%d", i)
			}
			for i, k := range keys {
				if rng.IntN(3) > 0 {
					p.put(true, k, text(i))
				}
			}
			p.fork()
			// The merged forks: each takes a few writes of its own first.
			for i := range 4 {
				k := keys[rng.IntN(len(keys))]
				if rng.IntN(3) == 0 {
					p.del(false, k)
				} else {
					p.put(false, k, text(500+i))
				}
			}
			mid := [2]string{p.localFork, p.remoteFork}
			leaf := [2]string{"leaf-local", "leaf-remote"}
			for j := range 2 {
				if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: leaf[j], ForkSource: mid[j]}); err != nil {
					t.Fatal(err)
				}
			}
			if mustShard(t, s, leaf[1]) != mustShard(t, s, mid[1]) {
				t.Fatal("a fork of a fork on another shard left its shard")
			}
			do := func(bs [2]string, k string, del bool, body string) {
				for _, b := range bs {
					if del {
						if _, err := s.DeleteObject(ctx(t), b, k, "", meta.DeleteCondition{}, false); err != nil {
							fail("delete %s/%s: %v", b, k, err)
						}
					} else {
						put(t, s, b, k, []byte(body))
					}
				}
			}
			parents := [2]string{p.localParent, p.remoteParent}
			for round := range 3 {
				for i := range 12 {
					k := keys[rng.IntN(len(keys))]
					switch op := rng.IntN(10); {
					case op < 4:
						do(leaf, k, false, text(100*round+i))
					case op < 6:
						do(leaf, k, true, "")
					case op < 8:
						do(mid, k, rng.IntN(3) == 0, text(1000+100*round+i)) // conflicts
					default:
						do(parents, k, rng.IntN(3) == 0, text(2000+100*round+i)) // after every fork point
					}
				}
				var reps, plans [2]*meta.MergeReport
				var errs [2]error
				for j, f := range leaf {
					plan, _, err := s.MergeFork(ctx(t), gateway.MergeInput{Fork: f, Strategy: strategy, DryRun: true})
					if err != nil {
						fail("dry run %s: %v", f, err)
					}
					plans[j] = plan
					reps[j], _, errs[j] = s.MergeFork(ctx(t), gateway.MergeInput{Fork: f, Strategy: strategy})
					if errs[j] != nil && !errors.Is(errs[j], meta.ErrMergeConflict) {
						fail("round %d merge %s: %v", round, f, errs[j])
					}
				}
				if !sameReport(plans[0], plans[1]) {
					fail("round %d: dry run local %s, across shards %s", round, reportString(plans[0]), reportString(plans[1]))
				}
				if !sameReport(reps[0], reps[1]) || errClass(errs[0]) != errClass(errs[1]) {
					fail("round %d: local %s (%v), across shards %s (%v)", round, reportString(reps[0]), errs[0], reportString(reps[1]), errs[1])
				}
				if g, w := state(t, s, mid[1]), state(t, s, mid[0]); !slices.Equal(g, w) {
					fail("round %d: merged fork across shards %v, local %v", round, g, w)
				}
				if g, w := state(t, s, leaf[1]), state(t, s, leaf[0]); !slices.Equal(g, w) {
					fail("round %d: leaf across shards %v, local %v", round, g, w)
				}
			}
		})
	}
}
