//go:build cluster

package cluster

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestGrowAndShrinkUnderLoad: 3 -> 4 -> 5 members and back to 3 (the
// leader among the removed) while a load writes, through the CLI and the
// admin API and through old and new members; no member is restarted.
func TestGrowAndShrinkUnderLoad(t *testing.T) {
	c := startCluster(t, 3)
	load := c.StartLoad(t, loadConfig{bucket: "grow"})
	load.WaitAcks(t, 20, time.Minute)

	n4 := c.Add(t, c.Node(2), true)
	load.WaitAcks(t, 20, time.Minute)
	n5 := c.Add(t, n4, false) // through the member that just joined
	load.WaitAcks(t, 20, time.Minute)
	wantMembers(t, c, []uint64{1, 2, 3, n4.ID, n5.ID}, nil)

	// Shrink: first the leader, then one of the new members.
	l := c.WaitLeader(t)
	var via *Node
	for _, n := range c.Up() {
		if n.ID != l.ID {
			via = n
			break
		}
	}
	c.Remove(t, via, l, true)
	t.Logf("removed the leader, node %d", l.ID)
	nl := c.WaitLeader(t)
	t.Logf("node %d leads", nl.ID)
	load.WaitAcks(t, 20, time.Minute)
	second := n5
	if l.ID == n5.ID {
		second = n4
	}
	c.Remove(t, c.Up()[0], second, false)
	load.WaitAcks(t, 20, time.Minute)
	load.Stop()

	var remaining []uint64
	for _, n := range c.Nodes() {
		remaining = append(remaining, n.ID)
	}
	wantMembers(t, c, remaining, []uint64{l.ID, second.ID})
	c.WaitConverged(t)
	load.Log.Verify(t, c.Nodes())
}

// wantMembers checks cluster/status on every running member: exactly
// members, each reachable, and retired among the retired ids.
func wantMembers(t testing.TB, c *Cluster, members, retired []uint64) {
	t.Helper()
	slices.Sort(members)
	for _, n := range c.Up() {
		waitFor(t, convergeTimout, fmt.Sprintf("node %d to report members %v", n.ID, members), func() error {
			st, err := n.ClusterStatus()
			if err != nil {
				return err
			}
			if got := st.memberIDs(); !slices.Equal(got, members) {
				return fmt.Errorf("members %v", got)
			}
			for _, m := range st.Members {
				if !m.Reachable || m.S3Addr == "" || m.RaftAddr == "" {
					return fmt.Errorf("member %+v", m)
				}
			}
			for _, r := range retired {
				if !slices.Contains(st.Retired, r) {
					return fmt.Errorf("retired %v lacks %d", st.Retired, r)
				}
			}
			if want := min(3, len(members)); st.Replicas != want {
				return fmt.Errorf("replicas %d, want %d", st.Replicas, want)
			}
			return nil
		})
	}
}

// TestReplaceWipedNode: a node loses its disk. It is removed, its id is
// retired (adding it again is refused with NodeIDRetired), and a new node
// with a new id on the same addresses takes its place and gets all the
// metadata and chunks.
func TestReplaceWipedNode(t *testing.T) {
	c := startCluster(t, 3)
	n1, n3 := c.Node(1), c.Node(3)
	load := c.StartLoad(t, loadConfig{bucket: "replace", bigEvery: 5})
	load.WaitAcks(t, 40, time.Minute)

	n3.Kill()
	n3.Wipe()
	c.Remove(t, n1, n3, true)
	load.WaitAcks(t, 10, time.Minute)

	// The old id is refused, through the API and the CLI.
	_, err := n1.AddMember(n3.ID, n3.RaftAddr, n3.S3Addr)
	if status, code := adminCode(err); status != http.StatusConflict || code != "NodeIDRetired" {
		t.Errorf("POST cluster/members with the retired id %d: %v, want 409 NodeIDRetired", n3.ID, err)
	}
	out, err := c.Node(2).CLI("cluster", "add", "--node-id", fmt.Sprint(n3.ID), "--raft-addr", n3.RaftAddr, "--s3-addr", n3.S3Addr)
	if err == nil || !strings.Contains(out+err.Error(), "NodeIDRetired") {
		t.Errorf("forkstore cluster add with the retired id %d: err %v, output %q; want a failure naming NodeIDRetired", n3.ID, err, out)
	}

	n4 := c.AddAt(t, n1, false, n3.S3Addr, n3.RaftAddr)
	load.WaitAcks(t, 20, time.Minute)

	// A member cannot be added twice at another address.
	other := freeAddrs(t, 2)
	_, err = n1.AddMember(n4.ID, other[1], other[0])
	if status, code := adminCode(err); status != http.StatusConflict || code != "NodeExists" {
		t.Errorf("POST cluster/members for member %d at another address: %v, want 409 NodeExists", n4.ID, err)
	}
	load.Stop()
	wantMembers(t, c, []uint64{1, 2, n4.ID}, []uint64{n3.ID})
	c.WaitConverged(t)
	load.Log.Verify(t, c.Nodes())

	// With three members and three replicas every node holds every
	// referenced chunk. The files on disk may differ: the old members may
	// also hold unreferenced chunks, copies pushed for a write that never
	// committed (one under way through node 3 when it was killed, say),
	// which only the orphan sweeper removes (6 h later: OrphanGrace); the
	// new node only pulled referenced ones. So the referenced copies are
	// counted by a scrub (each node checks the chunk files its metadata
	// replica references) and must be as many on every member, none
	// corrupt. A referenced chunk missing on the new node would be a copy
	// short: data at risk.
	members := []*Node{n1, c.Node(2), n4}
	var res *ScrubResult
	waitFor(t, convergeTimout, "every member to hold every referenced chunk", func() error {
		var err error
		if res, err = n1.Scrub(); err != nil {
			return err
		}
		want := -1
		for _, n := range members {
			r, ok := res.Nodes[fmt.Sprint(n.ID)]
			if !ok {
				return fmt.Errorf("no scrub result of node %d: %+v", n.ID, res.Nodes)
			}
			if r.Corrupt != 0 {
				t.Fatalf("node %d: scrub found %d corrupt chunk copies: %+v", n.ID, r.Corrupt, res.Nodes)
			}
			if want < 0 {
				want = r.Checked
			}
			if r.Checked == 0 || r.Checked != want {
				return fmt.Errorf("referenced chunk copies per member differ or are 0: %+v", res.Nodes)
			}
		}
		return nil
	})
	for _, n := range members {
		t.Logf("node %d: %d chunk files, %d referenced", n.ID, len(chunkIDs(t, n)), res.Nodes[fmt.Sprint(n.ID)].Checked)
	}
	// The new node's status counts no file it does not have (asked again
	// when the collector deleted one between the status and the walk).
	waitFor(t, convergeTimout, "the new node's chunk files on disk to cover its status", func() error {
		st, err := n1.ClusterStatus()
		if err != nil {
			return err
		}
		if m, got := st.member(n4.ID), chunkIDs(t, n4); m == nil || int64(len(got)) < m.ChunkFiles {
			return fmt.Errorf("node %d has %d chunk files on disk, status says %+v", n4.ID, len(got), m)
		}
		return nil
	})
}

// TestJoinDuringWritesAndForks: a node joins a cluster that holds forks
// and snapshots while objects are written and deleted and snapshots and
// forks are created and deleted. The cluster digests of all members are
// equal at every index asked, the new node's metadata equals the others'
// and it reads every acknowledged write.
func TestJoinDuringWritesAndForks(t *testing.T) {
	c := startCluster(t, 3)
	n1 := c.Node(1)
	// History the new node must receive whole.
	must(t, "bucket", n1.makeBucket("hist"))
	for i := range 30 {
		size := 100 + i*50
		if i%10 == 0 {
			size = bigMin
		}
		must(t, "put", c.Nodes()[i%3].putObject("hist", fmt.Sprintf("k%02d", i), make([]byte, size)))
	}
	v, err := n1.CreateSnapshot("hist", "s1")
	must(t, "snapshot", err)
	must(t, "fork", n1.CreateFork("hist", "hist-fork", v))
	must(t, "fork write", n1.putObject("hist-fork", "own", []byte("fork's own")))

	load := c.StartLoad(t, loadConfig{bucket: "join"})
	load.WaitAcks(t, 10, time.Minute)
	churn := startChurn(t, c, "join")

	n4 := c.Add(t, c.Node(2), true)
	// Digests asked while the load and the churn go on.
	for i := range 3 {
		churn.WaitRounds(t, 1)
		d, err := c.Up()[i%len(c.Up())].Digest()
		must(t, "digest", err)
		if err := d.allEqual(nil); err != nil {
			t.Errorf("digest %d under load: %v", i, err)
		}
		t.Logf("digest under load at version %s: %d members", d.Version, len(d.Digests))
	}
	churn.Stop()
	load.Stop()
	d := c.WaitConverged(t)
	t.Logf("digest at version %s equal on %v", d.Version, ids(c.Up()))
	load.Log.Verify(t, c.Nodes())

	// Snapshots and forks on the new node equal node 1's.
	views := []struct{ bucket, at string }{{"hist", ""}, {"hist", v}, {"hist-fork", ""}}
	for _, f := range churn.forks {
		views = append(views, struct{ bucket, at string }{f.name, ""}, struct{ bucket, at string }{"join", f.snapshot})
	}
	for _, vw := range views {
		want := listing(t, n1, vw.bucket, vw.at)
		for _, n := range c.Nodes()[1:] {
			if got := listing(t, n, vw.bucket, vw.at); !mapsEqual(got, want) {
				t.Errorf("node %d: %s at %q differs from node 1: %s", n.ID, vw.bucket, vw.at, diffContents(got, want))
			}
		}
	}
	// A fork from a snapshot holds exactly the snapshot's objects.
	for _, f := range churn.forks {
		if got, want := listing(t, n4, f.name, ""), listing(t, n4, "join", f.snapshot); !mapsEqual(got, want) {
			t.Errorf("node %d: fork %s differs from its snapshot %s: %s", n4.ID, f.name, f.snapshot, diffContents(got, want))
		}
	}
	if len(churn.forks) > 0 {
		last := churn.forks[len(churn.forks)-1]
		if got, want := contents(t, n4, last.name, ""), contents(t, n1, last.name, ""); !mapsEqual(got, want) {
			t.Errorf("node %d: fork %s's bytes differ from node 1's: %s", n4.ID, last.name, diffContents(got, want))
		}
	}
	for _, sv := range churn.deleted {
		if _, err := n4.listKeys("join", sv); err == nil {
			t.Errorf("node %d lists the deleted snapshot %s", n4.ID, sv)
		}
	}
}

// listing returns key -> ETag of bucket at version at, through node n.
func listing(t testing.TB, n *Node, bucket, at string) map[string]string {
	t.Helper()
	ctx, cancel := opCtx()
	defer cancel()
	lo := minio.ListObjectsOptions{Recursive: true}
	if at != "" {
		lo.Set(hSnapshotVersion, at)
	}
	out := map[string]string{}
	for o := range n.S3().ListObjects(ctx, bucket, lo) {
		if o.Err != nil {
			t.Fatalf("node %d: list %s at %q: %s", n.ID, bucket, at, describe(o.Err))
		}
		out[o.Key] = fmt.Sprintf("%s/%d", o.ETag, o.Size)
	}
	return out
}

// churn takes snapshots of a bucket, forks each second one and deletes
// the others, on the nodes running when it starts in turn (a joining
// node does not listen yet), until stopped.
type churn struct {
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	rounds  int
	forks   []forkAt
	deleted []string
	errs    []string
}

type forkAt struct{ name, snapshot string }

func startChurn(t testing.TB, c *Cluster, bucket string) *churn {
	ch := &churn{stop: make(chan struct{})}
	up := c.Up()
	ch.wg.Add(1)
	go func() {
		defer ch.wg.Done()
		tick := time.NewTicker(150 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 400; i++ {
			select {
			case <-ch.stop:
				return
			case <-tick.C:
			}
			n := up[i%len(up)]
			v, err := n.CreateSnapshot(bucket, "")
			if err != nil {
				ch.fail("node %d: snapshot: %v", n.ID, err)
				continue
			}
			if i%2 == 0 {
				name := fmt.Sprintf("%s-f%02d", bucket, i)
				if err := n.CreateFork(bucket, name, v); err != nil {
					ch.fail("node %d: fork %s at %s: %v", n.ID, name, v, err)
					continue
				}
				ch.mu.Lock()
				ch.forks = append(ch.forks, forkAt{name, v})
				ch.mu.Unlock()
			} else if err := n.DeleteSnapshot(bucket, v); err != nil {
				ch.fail("node %d: delete snapshot %s: %v", n.ID, v, err)
			} else {
				ch.mu.Lock()
				ch.deleted = append(ch.deleted, v)
				ch.mu.Unlock()
			}
			ch.mu.Lock()
			ch.rounds++
			ch.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ch.Stop()
		ch.mu.Lock()
		defer ch.mu.Unlock()
		// Failures of fork and snapshot operations during a join are
		// not expected: all members are up throughout.
		for _, e := range ch.errs {
			t.Errorf("fork/snapshot churn: %s", e)
		}
	})
	return ch
}

func (ch *churn) fail(format string, args ...any) {
	ch.mu.Lock()
	ch.errs = append(ch.errs, fmt.Sprintf(format, args...))
	ch.mu.Unlock()
}

// Stop stops the churn and waits for it (idempotent).
func (ch *churn) Stop() {
	select {
	case <-ch.stop:
	default:
		close(ch.stop)
	}
	ch.wg.Wait()
}

// WaitRounds waits for n more completed rounds.
func (ch *churn) WaitRounds(t testing.TB, n int) {
	t.Helper()
	ch.mu.Lock()
	target := ch.rounds + n
	ch.mu.Unlock()
	waitFor(t, time.Minute, "fork/snapshot rounds", func() error {
		ch.mu.Lock()
		defer ch.mu.Unlock()
		if ch.rounds < target {
			return fmt.Errorf("%d rounds, %d errors", ch.rounds, len(ch.errs))
		}
		return nil
	})
}
