//go:build cluster

package cluster

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/block"
)

// placedShard is a metadata shard in the status, with each replica's
// applied index (--meta-replicas).
type placedShard struct {
	ShardID        uint64            `json:"shard_id"`
	Replicas       []uint64          `json:"replicas"`
	LeaderID       uint64            `json:"leader_id"`
	Buckets        int               `json:"buckets"`
	ReplicaApplied map[string]uint64 `json:"replica_applied"`
}

func placedShards(n *Node) ([]placedShard, error) {
	var out struct {
		Shards []placedShard `json:"shards"`
	}
	err := n.Admin(statusTimeout*3, "GET", "cluster/status", nil, &out)
	return out.Shards, err
}

// checkPlaced checks that the directory shard is on every member in
// members and each data shard on exactly want of them, with a leader among
// its replicas and every replica reporting its applied index.
func checkPlaced(shards []placedShard, members []uint64, want int) error {
	if len(shards) == 0 {
		return fmt.Errorf("no shards in the status")
	}
	for _, sh := range shards {
		n := want
		if sh.ShardID == 1 {
			n = len(members)
		}
		if err := checkShard(sh, members, n); err != nil {
			return err
		}
	}
	return nil
}

// checkShard checks that sh has n replicas, all on nodes in on, with a
// leader among them and, for a data shard, an applied index from each.
func checkShard(sh placedShard, on []uint64, n int) error {
	if len(sh.Replicas) != n {
		return fmt.Errorf("shard %d has replicas %v, want %d", sh.ShardID, sh.Replicas, n)
	}
	for _, id := range sh.Replicas {
		if !slices.Contains(on, id) {
			return fmt.Errorf("shard %d has a replica on node %d, not one of %v", sh.ShardID, id, on)
		}
		if _, ok := sh.ReplicaApplied[fmt.Sprint(id)]; sh.ShardID != 1 && !ok {
			return fmt.Errorf("shard %d: no applied index from its replica on node %d (%v)", sh.ShardID, id, sh.ReplicaApplied)
		}
	}
	if !slices.Contains(sh.Replicas, sh.LeaderID) {
		return fmt.Errorf("shard %d: leader %d is not one of its replicas %v", sh.ShardID, sh.LeaderID, sh.Replicas)
	}
	return nil
}

// waitPlaced waits until checkPlaced passes on the status through n and
// returns the shards.
func waitPlaced(t *testing.T, n *Node, members []uint64, want int) []placedShard {
	t.Helper()
	var shards []placedShard
	waitFor(t, convergeTimout, fmt.Sprintf("each data shard on %d of %d nodes", want, len(members)), func() error {
		var err error
		if shards, err = placedShards(n); err != nil {
			return err
		}
		return checkPlaced(shards, members, want)
	})
	return shards
}

// digestsOverHolders checks every shard's digests are equal over exactly
// its holders.
func digestsOverHolders(d *Digest, shards []placedShard) error {
	for _, sh := range shards {
		sd := d
		if sh.ShardID != 1 {
			sd = d.Shards[fmt.Sprint(sh.ShardID)]
		}
		if sd == nil {
			return fmt.Errorf("no digest of shard %d", sh.ShardID)
		}
		if len(sd.Digests) != len(sh.Replicas) {
			return fmt.Errorf("shard %d: digests of %v (errors %v), holders %v", sh.ShardID, sd.Digests, sd.Errors, sh.Replicas)
		}
		first := ""
		for _, id := range sh.Replicas {
			v := sd.Digests[fmt.Sprint(id)]
			if first == "" {
				first = v
			}
			if v == "" || v != first {
				return fmt.Errorf("shard %d: digests differ or miss at version %s: %v", sh.ShardID, sd.Version, sd.Digests)
			}
		}
	}
	return nil
}

// settledDigests checks the digests of the shards keep selects over
// their holders, as the placement stands before and after the digest:
// a replica that moves in between (an evening-out move after a join, say)
// is a placement not settled yet, not a difference.
func settledDigests(n *Node, keep func(placedShard) bool) error {
	before, err := placedShards(n)
	if err != nil {
		return err
	}
	d, err := n.Digest()
	if err != nil {
		return err
	}
	after, err := placedShards(n)
	if err != nil {
		return err
	}
	var shards []placedShard
	for i, sh := range after {
		if i >= len(before) || before[i].ShardID != sh.ShardID || !slices.Equal(before[i].Replicas, sh.Replicas) {
			return fmt.Errorf("placement moved during the digest: %+v, then %+v", before, after)
		}
		if keep == nil || keep(sh) {
			shards = append(shards, sh)
		}
	}
	if len(before) != len(after) {
		return fmt.Errorf("placement moved during the digest: %+v, then %+v", before, after)
	}
	return digestsOverHolders(d, shards)
}

// Data shard replicas on a subset of the nodes (the default R = 3 over 4
// and 5 nodes, no --meta-replicas given: a joining node takes its
// cluster's): each data shard has exactly 3 replicas, a node that joins
// receives its share, a node that is removed has its replicas moved off
// first, nothing is lost, and a data shard whose leader is killed takes
// writes under a new leader among its holders within 3 s.
func TestPlacedShards(t *testing.T) {
	c := startCluster(t, 4, withArgs("--meta-shards", "4"), withEnv("FORKSTORE_METRICS_TOKEN="+metricsToken))
	n1 := c.Node(1)
	// A rebalance right away, before the shards' leaders have recorded
	// the placement: leaderships move among each shard's placed
	// replicas only (it failed, asking for a transfer to a node outside
	// the shard).
	if out, err := n1.CLI("cluster", "rebalance"); err != nil {
		t.Fatalf("cluster rebalance of a new cluster: %v\n%s", err, out)
	}
	shards := waitPlaced(t, n1, []uint64{1, 2, 3, 4}, 3)
	t.Logf("placement over 4 nodes: %+v", shards)
	// The CLI's table lists each replica's applied index (node=index).
	out, err := n1.CLI("cluster", "status")
	if err != nil || !strings.Contains(out, "SHARD") || !regexp.MustCompile(`\b2\s+data\s+\d+,\d+,\d+\s+\d+\s+\d+=\d+,\d+=\d+,\d+=\d+`).MatchString(out) {
		t.Fatalf("cluster status: %v\n%s", err, out)
	}

	// Buckets on every data shard, written through every node: a node
	// that holds no replica of a bucket's shard sends its requests to one
	// that does.
	var buckets []string
	for i := range 12 {
		b := fmt.Sprintf("placed-%02d", i)
		buckets = append(buckets, b)
		via := c.Nodes()[i%4]
		must(t, "create "+b+" through node "+fmt.Sprint(via.ID), via.makeBucket(b))
		must(t, "put into "+b+" through node "+fmt.Sprint(via.ID), via.putObject(b, "k", []byte(b)))
	}
	shards, err = placedShards(n1)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shards {
		if sh.ShardID != 1 && sh.Buckets == 0 {
			t.Fatalf("no bucket on shard %d: %+v", sh.ShardID, shards)
		}
	}

	// Forks of a base, read through every node: a node that holds no
	// replica of the base's shard sends the reads of the base's history at
	// the fork point to a holder, which answers from its replica.
	must(t, "put into placed-00", n1.putObject("placed-00", "inherited", []byte("base")))
	for i := range 6 {
		f := fmt.Sprintf("placed-fork-%d", i)
		must(t, "fork "+f, n1.CreateFork("placed-00", f, ""))
		for _, via := range c.Nodes() {
			got, err := via.getObject(f, "inherited", "")
			if err != nil || string(got) != "base" {
				t.Fatalf("%s/inherited through node %d: %q %v", f, via.ID, got, err)
			}
		}
	}
	forwarded := 0.0
	for _, via := range c.Nodes() {
		v, err := via.metric(`forkstore_fork_point_reads_total{served="forwarded"}`)
		if err != nil {
			t.Fatal(err)
		}
		forwarded += v
	}
	if forwarded == 0 {
		t.Fatal("no read at a fork point was sent to a holder of the base's shard")
	}
	// The background reads of a shard held elsewhere (the keys watch every
	// second) run on a holder's replica as it stands, not linearizably,
	// which would keep the shard from quiescing.
	waitFor(t, 20*time.Second, "a holder to serve a background read of its replica as it stands", func() error {
		stale := 0.0
		for _, via := range c.Nodes() {
			v, err := via.metric(`forkstore_peer_reads_total{served="stale"}`)
			if err != nil {
				return err
			}
			stale += v
		}
		if stale == 0 {
			return errors.New("no stale peer read served yet")
		}
		return nil
	})

	// Grow to 5: the new node receives its share (shards 3 and 4 for
	// node ids 1 to 5), and every shard converges over its holders.
	n5 := c.Add(t, n1, true)
	start := time.Now()
	waitFor(t, convergeTimout, "node 5 to receive its replicas", func() error {
		var err error
		if shards, err = placedShards(n1); err != nil {
			return err
		}
		if err := checkPlaced(shards, []uint64{1, 2, 3, 4, 5}, 3); err != nil {
			return err
		}
		held := 0
		for _, sh := range shards {
			if sh.ShardID != 1 && slices.Contains(sh.Replicas, n5.ID) {
				held++
			}
		}
		if held != 2 {
			return fmt.Errorf("node 5 holds %d data shards: %+v", held, shards)
		}
		return nil
	})
	t.Logf("node 5 received its replicas in %v: %+v", time.Since(start).Round(time.Millisecond), shards)
	waitFor(t, convergeTimout, "digests equal over each shard's holders", func() error {
		return settledDigests(n1, nil)
	})
	for _, b := range buckets {
		for _, via := range []*Node{n1, n5} {
			got, err := via.getObject(b, "k", "")
			if err != nil || string(got) != b {
				t.Fatalf("%s/k through node %d after node 5 joined: %q %v", b, via.ID, got, err)
			}
		}
	}

	// Remove node 2: its replicas move off before it goes.
	n2 := c.Node(2)
	start = time.Now()
	c.Remove(t, n1, n2, true)
	t.Logf("node 2 removed in %v", time.Since(start).Round(time.Millisecond))
	if shards, err = placedShards(n1); err != nil {
		t.Fatal(err)
	}
	if err := checkPlaced(shards, []uint64{1, 3, 4, 5}, 3); err != nil {
		t.Fatalf("right after the removal: %v", err)
	}
	for _, b := range buckets {
		got, err := n5.getObject(b, "k", "")
		if err != nil || string(got) != b {
			t.Fatalf("%s/k through node 5 after node 2 left: %q %v", b, got, err)
		}
	}

	// Restart node 3: it starts the data shard replicas in its data dir
	// and holds the same ones as before.
	n3 := c.Node(3)
	n3.Restart()
	n3.WaitReady(t)
	waitFor(t, convergeTimout, "the shards to converge after node 3 restarted", func() error {
		var err error
		if shards, err = placedShards(n1); err != nil {
			return err
		}
		if err := checkPlaced(shards, []uint64{1, 3, 4, 5}, 3); err != nil {
			return err
		}
		return settledDigests(n1, nil)
	})

	// Kill the leader of a data shard (not node 1, which the test talks
	// through): every shard it led gets a new leader among its holders,
	// and every bucket takes writes, within 3 s.
	var victim *Node
	var shard placedShard
	for _, sh := range shards {
		if sh.ShardID != 1 && sh.LeaderID != 1 {
			victim, shard = c.Node(sh.LeaderID), sh
			break
		}
	}
	if victim == nil {
		t.Skipf("node 1 leads every data shard: %+v", shards)
	}
	victim.Kill()
	killed := time.Now()
	waitFor(t, 10*time.Second, fmt.Sprintf("shard %d to take writes without node %d", shard.ShardID, victim.ID), func() error {
		for _, b := range buckets {
			if err := n1.putObject(b, "after-kill", []byte("x")); err != nil {
				return err
			}
		}
		return nil
	})
	took := time.Since(killed)
	t.Logf("shard %d took writes %v after its leader (node %d) was killed", shard.ShardID, took.Round(time.Millisecond), victim.ID)
	if took > 3*time.Second {
		t.Errorf("shard %d took writes only %v after its leader was killed, want within 3 s", shard.ShardID, took)
	}
	shards, err = placedShards(n1)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shards {
		if sh.ShardID == shard.ShardID && (sh.LeaderID == victim.ID || !slices.Contains(sh.Replicas, sh.LeaderID)) {
			t.Fatalf("shard %d leader %d after node %d was killed: %+v", sh.ShardID, sh.LeaderID, victim.ID, sh)
		}
	}
}

// checkDataShards checks that each data shard has exactly want replicas,
// all on nodes in on, a leader among them, and an applied index from each.
func checkDataShards(shards []placedShard, on []uint64, want int) error {
	data := 0
	for _, sh := range shards {
		if sh.ShardID == 1 {
			continue
		}
		data++
		if err := checkShard(sh, on, want); err != nil {
			return err
		}
	}
	if data == 0 {
		return errors.New("no data shard in the status")
	}
	return nil
}

// A member that stays down has its data shard replicas rebuilt on the
// other members (--replace-down-after), and its chunk copies made again
// on them, so that the shards and chunks it held have R copies again
// before another node fails; nothing is lost, every bucket takes writes,
// and when the member comes back it takes its share again, its old
// replicas deleted and the copies made meanwhile beyond R dropped. The
// chunk GC queue does not wait for it either: objects deleted while it is
// down leave no entry behind once the others have deleted their copies.
// Nodes that restart while it is dead do not make it a voter again.
func TestDownNodeReplaced(t *testing.T) {
	// 5 s: long enough for the restarted nodes below to run a placement
	// pass before they see the dead node down.
	c := startCluster(t, 4, withArgs("--meta-shards", "4", "--replace-down-after", "5s"),
		withEnv(append([]string{"FORKSTORE_METRICS_TOKEN=" + metricsToken}, gcTestEnv...)...))
	n1 := c.Node(1)
	shards := waitPlaced(t, n1, []uint64{1, 2, 3, 4}, 3)
	buckets := seedBuckets(t, n1, "down", 8)
	// Objects in chunks: 3 copies of each over the 4 nodes.
	log := &AckLog{}
	var sizes []int
	for i := range 8 {
		sizes = append(sizes, bigMin+i*70001)
	}
	must(t, "create down-big", n1.makeBucket("down-big"))
	writeObjects(t, c, log, "down-big", "big", sizes)
	waitReplicated(t, c, n1, "3 copies of every chunk before the loss", nil)
	// The victim: the node other than node 1 (which the test talks
	// through) that holds the most data shard replicas.
	held := map[uint64]int{}
	for _, sh := range shards {
		for _, id := range sh.Replicas {
			if sh.ShardID != 1 && id != 1 {
				held[id]++
			}
		}
	}
	var victim *Node
	for _, id := range []uint64{2, 3, 4} {
		if victim == nil || held[id] > held[victim.ID] {
			victim = c.Node(id)
		}
	}
	if held[victim.ID] == 0 {
		t.Fatalf("no node but node 1 holds a data shard: %+v", shards)
	}
	var rest []uint64
	for _, id := range []uint64{1, 2, 3, 4} {
		if id != victim.ID {
			rest = append(rest, id)
		}
	}
	victim.Kill()
	killed := time.Now()
	waitFor(t, convergeTimout, fmt.Sprintf("node %d's %d data shard replicas to be rebuilt on nodes %v", victim.ID, held[victim.ID], rest), func() error {
		var err error
		if shards, err = placedShards(n1); err != nil {
			return err
		}
		return checkDataShards(shards, rest, 3)
	})
	t.Logf("node %d's replicas rebuilt elsewhere %v after it was killed: %+v", victim.ID, time.Since(killed).Round(time.Millisecond), shards)
	downRow := regexp.MustCompile(fmt.Sprintf(`(?m)^%d\s+\S+\s+\S+\s+down\s`, victim.ID))
	waitFor(t, 20*time.Second, fmt.Sprintf("cluster status to show node %d down", victim.ID), func() error {
		out, err := n1.CLI("cluster", "status")
		if err != nil || !downRow.MatchString(out) || !strings.Contains(out, fmt.Sprintf("node %d is down", victim.ID)) {
			return fmt.Errorf("%v\n%s", err, out)
		}
		return nil
	})
	waitFor(t, convergeTimout, "data shard digests equal over their holders", func() error {
		return settledDigests(n1, func(sh placedShard) bool { return sh.ShardID != 1 })
	})
	for _, b := range buckets {
		got, err := n1.getObject(b, "k", "")
		if err != nil || string(got) != b {
			t.Fatalf("%s/k without node %d: %q %v", b, victim.ID, got, err)
		}
		must(t, "put into "+b+" without node "+fmt.Sprint(victim.ID), n1.putObject(b, "while-down", []byte(b)))
	}
	// Objects deleted while it is down: the others delete their copies
	// and the GC queue is trimmed without it (before, it held the trim of
	// every shard until it came back or was removed).
	for i := range 2 {
		key := fmt.Sprintf("big%03d", i)
		must(t, "delete down-big/"+key, n1.deleteObject("down-big", key))
		log.record(ackOp{kind: opDelete, bucket: "down-big", key: key, acked: true, node: n1.ID})
	}
	waitFor(t, convergeTimout, fmt.Sprintf("the GC queue trimmed without node %d", victim.ID), func() error {
		for _, n := range c.Nodes() {
			if n == victim {
				continue
			}
			if v, err := n.metric("forkstore_gc_queue_entries"); err != nil || v != 0 {
				return fmt.Errorf("node %d: forkstore_gc_queue_entries %v %v", n.ID, v, err)
			}
		}
		return nil
	})
	// Every chunk again on 3 nodes: the 3 left, each holding every one.
	var all []string
	for _, n := range c.Nodes() {
		if n != victim {
			all = append(all, chunkIDs(t, n)...)
		}
	}
	slices.Sort(all)
	all = slices.Compact(all)
	waitReplicated(t, c, n1, fmt.Sprintf("every chunk copied to the nodes left without node %d", victim.ID), func() error {
		for _, n := range c.Nodes() {
			if n == victim {
				continue
			}
			if got := chunkIDs(t, n); !slices.Equal(got, all) {
				return fmt.Errorf("node %d holds %d chunks of %d", n.ID, len(got), len(all))
			}
		}
		return nil
	})

	// The three others restarted at once (their rack lost power, say):
	// for their first seconds they do not know node X is down, and their
	// placement wants its share on it again. A replica is only added on a
	// member that answers right then, so X does not become a voter of a
	// shard while it is dead (a voter that cannot vote would leave the
	// shard one failure from losing its majority).
	var live []*Node
	logFrom := map[*Node]int64{}
	for _, n := range c.Nodes() {
		if n != victim {
			live = append(live, n)
			fi, err := os.Stat(n.LogPath)
			if err != nil {
				t.Fatal(err)
			}
			logFrom[n] = fi.Size()
		}
	}
	for _, n := range live {
		n.Stop()
	}
	for _, n := range live {
		n.Start()
	}
	for _, n := range live {
		n.WaitReady(t)
	}
	refused := regexp.MustCompile(fmt.Sprintf(`msg="placement: not adding a replica on a member that does not answer" .*node=%d\b`, victim.ID))
	waitFor(t, convergeTimout, fmt.Sprintf("a restarted leader to refuse a replica on node %d", victim.ID), func() error {
		shards, err := placedShards(n1)
		if err != nil {
			return err
		}
		for _, sh := range shards {
			if sh.ShardID != 1 && slices.Contains(sh.Replicas, victim.ID) {
				t.Fatalf("node %d, dead, is a replica again after the restart: %+v", victim.ID, shards)
			}
		}
		for _, n := range live {
			b, err := os.ReadFile(n.LogPath)
			if err != nil {
				return err
			}
			if refused.Match(b[logFrom[n]:]) {
				return nil
			}
		}
		return fmt.Errorf("no node logged %s", refused)
	})
	waitFor(t, convergeTimout, "data shard digests equal over their holders after the restart", func() error {
		return settledDigests(n1, func(sh placedShard) bool { return sh.ShardID != 1 })
	})

	// Back: it is a placement target again and takes its share, every
	// shard converging over its holders, the directory included.
	victim.Start()
	victim.WaitReady(t)
	waitFor(t, convergeTimout, fmt.Sprintf("node %d to hold its share again", victim.ID), func() error {
		var err error
		if shards, err = placedShards(n1); err != nil {
			return err
		}
		if err := checkPlaced(shards, []uint64{1, 2, 3, 4}, 3); err != nil {
			return err
		}
		back := 0
		for _, sh := range shards {
			if sh.ShardID != 1 && slices.Contains(sh.Replicas, victim.ID) {
				back++
			}
		}
		if back < 2 { // 9 replicas over 4 nodes, evened out: 2 or 3 each
			return fmt.Errorf("node %d holds %d data shards: %+v", victim.ID, back, shards)
		}
		return settledDigests(n1, nil)
	})
	for _, b := range buckets {
		for _, key := range []string{"k", "while-down"} {
			got, err := victim.getObject(b, key, "")
			if err != nil || string(got) != b {
				t.Fatalf("%s/%s through node %d after it came back: %q %v", b, key, victim.ID, got, err)
			}
		}
	}
	// Its chunk copies count again, and those made meanwhile beyond R go:
	// 3 copies of every chunk over the 4 nodes. (Its copies of the chunks
	// deleted while it was down are unreferenced files now, left to the
	// orphan sweep, hours later.)
	waitReplicated(t, c, n1, "exactly 3 copies of every chunk over the 4 nodes", func() error {
		total := 0
		for _, n := range c.Nodes() {
			for _, id := range chunkIDs(t, n) {
				if _, ok := slices.BinarySearch(all, id); ok {
					total++
				}
			}
		}
		if total != 3*len(all) {
			return fmt.Errorf("%d chunk files, want %d", total, 3*len(all))
		}
		return nil
	})
	log.Verify(t, c.Nodes())
}

// leadersSpread checks the spread of the shards' leaderships over the
// members ids, as the balancer leaves it: no member leads a shard one of
// whose holders leads two shards fewer than it. It returns the count
// each member leads.
func leadersSpread(shards []placedShard, ids []uint64) (map[uint64]int, error) {
	led := map[uint64]int{}
	for _, id := range ids {
		led[id] = 0
	}
	for _, sh := range shards {
		if sh.LeaderID == 0 {
			return nil, fmt.Errorf("shard %d has no leader", sh.ShardID)
		}
		led[sh.LeaderID]++
	}
	for _, sh := range shards {
		for _, h := range sh.Replicas {
			if n, ok := led[h]; ok && led[sh.LeaderID]-n > 1 {
				return led, fmt.Errorf("node %d leads %d shards, shard %d among them, which node %d holds and leads only %d", sh.LeaderID, led[sh.LeaderID], sh.ShardID, h, n)
			}
		}
	}
	return led, nil
}

// The leaderships of every shard spread over the members, not only of
// those the directory's leader holds a replica of: the data shards it does
// not hold are all given to one of their holders (through the peer API, as
// a balancing node asks a leader to), and the balancer spreads them again.
func TestLeadersSpreadOverPlacedShards(t *testing.T) {
	c := startCluster(t, 5, withArgs("--meta-shards", "16"))
	n1 := c.Node(1)
	all := []uint64{1, 2, 3, 4, 5}
	shards := waitPlaced(t, n1, all, 3)
	// The directory's leader d; the data shards it does not hold; the
	// node holding most of them.
	var d uint64
	held := map[uint64][]uint64{}
	for _, sh := range shards {
		if sh.ShardID == 1 {
			d = sh.LeaderID
		}
	}
	for _, sh := range shards {
		if sh.ShardID == 1 || slices.Contains(sh.Replicas, d) {
			continue
		}
		for _, id := range sh.Replicas {
			held[id] = append(held[id], sh.ShardID)
		}
	}
	var heavy uint64
	for _, id := range all {
		if id != d && (heavy == 0 || len(held[id]) > len(held[heavy])) {
			heavy = id
		}
	}
	if len(held[heavy]) < 3 {
		t.Fatalf("node %d holds only %v of the data shards node %d does not: %+v", heavy, held[heavy], d, shards)
	}
	peer := block.NewPeer(d, c.key, nil)
	to := c.Node(heavy)
	for _, sh := range held[heavy] {
		ctx, cancel := opCtx()
		var out struct{}
		err := peer.GetJSON(ctx, http.MethodPost, block.Member{ID: heavy, Addr: to.S3Addr}, fmt.Sprintf("leader?shard=%d&to=%d", sh, heavy), &out)
		cancel()
		if err != nil {
			t.Fatalf("move the leadership of shard %d to node %d: %v", sh, heavy, err)
		}
	}
	t.Logf("node %d led shards %v, which the directory's leader (node %d) does not hold", heavy, held[heavy], d)
	var led map[uint64]int
	waitFor(t, convergeTimout, "the leaderships spread over the 5 nodes", func() error {
		var err error
		if shards, err = placedShards(n1); err != nil {
			return err
		}
		if err := checkPlaced(shards, all, 3); err != nil {
			return err
		}
		led, err = leadersSpread(shards, all)
		return err
	})
	t.Logf("leaderships per node: %v", led)
}
