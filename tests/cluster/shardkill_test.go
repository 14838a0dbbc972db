//go:build cluster

package cluster

import (
	"fmt"
	"hash/fnv"
	"testing"
	"time"
)

// TestShardLeaderKillIdle: a 3-node cluster of 4 metadata shards is left
// idle long enough for its shards to quiesce (ten election timeouts
// without traffic: no heartbeats), then the node leading the most shards
// is killed with SIGKILL. Every shard it led gets a new leader, and a
// bucket on each shard takes writes through each survivor, within a
// generous deadline; the times are logged (issue figure: 3 s).
func TestShardLeaderKillIdle(t *testing.T) {
	const shards = 4
	c := startCluster(t, 3, withArgs("--meta-shards", fmt.Sprint(shards)))
	n1 := c.Node(1)
	// One bucket per shard: buckets with no parent are placed by FNV-1a
	// of the name (gateway placeBucket); the status checks it.
	bucketOf := map[uint64]string{}
	for i := 0; len(bucketOf) < shards && i < 1000; i++ {
		name := fmt.Sprintf("idle-kill-%03d", i)
		h := fnv.New64a()
		h.Write([]byte(name))
		if sh := h.Sum64()%shards + 1; bucketOf[sh] == "" {
			bucketOf[sh] = name
		}
	}
	for _, b := range bucketOf {
		must(t, "create "+b, n1.makeBucket(b))
		must(t, "put into "+b, n1.putObject(b, "k", []byte(b)))
	}
	var led map[uint64][]uint64
	waitFor(t, convergeTimout, "a leader on every shard, every node leading one, a bucket on every shard", func() error {
		st, err := n1.ClusterStatus()
		if err != nil {
			return err
		}
		led = map[uint64][]uint64{}
		for _, sh := range st.Shards {
			if sh.LeaderID == 0 {
				return fmt.Errorf("shard %d has no leader", sh.ShardID)
			}
			if sh.Buckets == 0 {
				return fmt.Errorf("shard %d holds no bucket", sh.ShardID)
			}
			led[sh.LeaderID] = append(led[sh.LeaderID], sh.ShardID)
		}
		if len(st.Shards) != shards {
			return fmt.Errorf("%d shards in the status", len(st.Shards))
		}
		for _, n := range c.Nodes() {
			if len(led[n.ID]) == 0 {
				return fmt.Errorf("node %d leads no shard: %v", n.ID, led)
			}
		}
		return nil
	})
	var victim *Node
	for _, n := range c.Nodes() {
		if victim == nil || len(led[n.ID]) > len(led[victim.ID]) {
			victim = n
		}
	}
	// The idle period of the scenario (not a synchronisation): nothing is
	// sent to the cluster, so the data shards quiesce (ten election
	// timeouts: 4 s under the tests' 400 ms election timeout).
	time.Sleep(6 * time.Second)

	victim.Kill()
	killed := time.Now()
	t.Logf("killed node %d, leader of shards %v", victim.ID, led[victim.ID])
	var survivors []*Node
	for _, n := range c.Nodes() {
		if n != victim {
			survivors = append(survivors, n)
		}
	}
	const deadline = 10 * time.Second
	waitFor(t, deadline, "a new leader of every shard the killed node led", func() error {
		st, err := survivors[0].ClusterStatus()
		if err != nil {
			return err
		}
		for _, sh := range st.Shards {
			if sh.LeaderID == 0 || sh.LeaderID == victim.ID {
				return fmt.Errorf("shard %d: leader %d", sh.ShardID, sh.LeaderID)
			}
		}
		return nil
	})
	elected := time.Since(killed)
	written := map[uint64]time.Duration{}
	waitFor(t, deadline, "a write to a bucket of every shard through every survivor", func() error {
		for sh, b := range bucketOf {
			if _, ok := written[sh]; ok {
				continue
			}
			for _, n := range survivors {
				if err := n.putObject(b, "after", []byte("written after the kill")); err != nil {
					return fmt.Errorf("shard %d, %s through node %d: %w", sh, b, n.ID, err)
				}
			}
			written[sh] = time.Since(killed)
		}
		return nil
	})
	t.Logf("leader kill of idle shards: new leaders %v after the kill; writes on each shard through both survivors after %v",
		elected.Round(time.Millisecond), written)
	for _, n := range survivors {
		for _, b := range bucketOf {
			got, err := n.getObject(b, "after", "")
			if err != nil || string(got) != "written after the kill" {
				t.Fatalf("%s/after through node %d: %q %v", b, n.ID, got, err)
			}
		}
	}
}
