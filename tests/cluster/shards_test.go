//go:build cluster

package cluster

import (
	"fmt"
	"testing"
)

// A cluster whose metadata is split over 4 Raft shards: buckets spread
// over the shards, the shards' leaders spread over the nodes, every shard
// gets a new leader and takes writes after its leader is killed, every
// shard converges to equal digests on every node, and a node that joins
// takes the cluster's shard count and holds a replica of each: with
// --meta-replicas 0 every member holds every shard (TestPlacedShards
// places them).
func TestShardedCluster(t *testing.T) {
	c := startCluster(t, 3, withArgs("--meta-shards", "4", "--meta-replicas", "0"))
	n1 := c.Node(1)
	buckets := seedBuckets(t, n1, "sharded", 12)
	leaders := func(st *ClusterStatus) (map[uint64][]uint64, error) {
		if len(st.Shards) != 4 {
			return nil, fmt.Errorf("%d shards in the status", len(st.Shards))
		}
		out := map[uint64][]uint64{}
		used := 0
		for _, sh := range st.Shards {
			if sh.LeaderID == 0 {
				return nil, fmt.Errorf("shard %d has no leader", sh.ShardID)
			}
			if len(sh.Replicas) != len(c.Up()) && len(sh.Replicas) != 3 {
				return nil, fmt.Errorf("shard %d has replicas %v", sh.ShardID, sh.Replicas)
			}
			if sh.Buckets > 0 {
				used++
			}
			out[sh.LeaderID] = append(out[sh.LeaderID], sh.ShardID)
		}
		if used < 2 {
			return nil, fmt.Errorf("12 buckets on %d of 4 shards", used)
		}
		return out, nil
	}
	var led map[uint64][]uint64
	waitFor(t, convergeTimout, "every node to lead a shard", func() error {
		st, err := n1.ClusterStatus()
		if err != nil {
			return err
		}
		if led, err = leaders(st); err != nil {
			return err
		}
		for _, n := range c.Nodes() {
			if len(led[n.ID]) == 0 {
				return fmt.Errorf("node %d leads no shard: %v", n.ID, led)
			}
		}
		return nil
	})
	t.Logf("shard leaders by node: %v", led)

	// Kill the node leading the most shards: each of them elects another
	// leader and every bucket takes writes through the others.
	var victim *Node
	for _, n := range c.Nodes() {
		if victim == nil || len(led[n.ID]) > len(led[victim.ID]) {
			victim = n
		}
	}
	victim.Kill()
	var survivor *Node
	for _, n := range c.Nodes() {
		if n != victim {
			survivor = n
			break
		}
	}
	waitFor(t, convergeTimout, "every bucket to take writes with node "+fmt.Sprint(victim.ID)+" down", func() error {
		for _, b := range buckets {
			if err := survivor.putObject(b, "after", []byte("written with a node down")); err != nil {
				return fmt.Errorf("%s: %w", b, err)
			}
		}
		return nil
	})
	victim.Start()
	victim.WaitReady(t)
	d := c.WaitConverged(t)
	if len(d.Shards) != 3 {
		t.Fatalf("digest of %d other shards, want 3", len(d.Shards))
	}

	// A node joins: it learns the shard count and holds every shard.
	n4 := c.Add(t, n1, true)
	for _, b := range buckets {
		got, err := n4.getObject(b, "after", "")
		if err != nil || string(got) != "written with a node down" {
			t.Fatalf("%s/after through the new node: %q %v", b, got, err)
		}
	}
	c.WaitConverged(t)
	st, err := n4.ClusterStatus()
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range st.Shards {
		if len(sh.Replicas) != 4 {
			t.Fatalf("shard %d replicas %v after the join", sh.ShardID, sh.Replicas)
		}
	}
}

// seedBuckets makes count buckets through n, named prefix-00, prefix-01...,
// each holding key k whose body is the bucket's name, and returns their
// names.
func seedBuckets(t *testing.T, n *Node, prefix string, count int) []string {
	t.Helper()
	var buckets []string
	for i := range count {
		b := fmt.Sprintf("%s-%02d", prefix, i)
		buckets = append(buckets, b)
		must(t, "create "+b, n.makeBucket(b))
		must(t, "put into "+b, n.putObject(b, "k", []byte(b)))
	}
	return buckets
}
