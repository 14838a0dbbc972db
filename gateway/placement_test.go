package gateway

import (
	"maps"
	"reflect"
	"slices"
	"testing"
)

func nodesOf(ids ...uint64) []placeNode {
	out := make([]placeNode, len(ids))
	for i, id := range ids {
		out[i] = placeNode{ID: id}
	}
	return out
}

// holds counts the replicas each node is given over shards 2..shards.
func holds(shards int, nodes []placeNode, r int) map[uint64]int {
	out := map[uint64]int{}
	for s := uint64(2); s <= uint64(shards); s++ {
		for _, id := range desiredReplicas(s, nodes, r) {
			out[id]++
		}
	}
	return out
}

func TestDesiredReplicasCountAndSpread(t *testing.T) {
	for _, tc := range []struct {
		name   string
		nodes  int
		r      int
		shards int
	}{
		{name: "fewer nodes than R", nodes: 2, r: 3, shards: 16},
		{name: "as many nodes as R", nodes: 3, r: 3, shards: 16},
		{name: "5 nodes", nodes: 5, r: 3, shards: 64},
		{name: "9 nodes", nodes: 9, r: 3, shards: 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ids []uint64
			for i := 1; i <= tc.nodes; i++ {
				ids = append(ids, uint64(i))
			}
			nodes := nodesOf(ids...)
			for s := uint64(2); s <= uint64(tc.shards); s++ {
				got := desiredReplicas(s, nodes, tc.r)
				if len(got) != min(tc.r, tc.nodes) {
					t.Fatalf("shard %d: %d replicas, want %d", s, len(got), min(tc.r, tc.nodes))
				}
				if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
					t.Fatalf("shard %d: replicas %v not distinct and sorted", s, got)
				}
			}
			// Every node holds about its share: within half of it.
			share := float64((tc.shards-1)*min(tc.r, tc.nodes)) / float64(tc.nodes)
			for id, c := range holds(tc.shards, nodes, tc.r) {
				if float64(c) < share/2 || float64(c) > share*1.5 {
					t.Fatalf("node %d holds %d replicas, share %.1f", id, c, share)
				}
			}
		})
	}
}

// Adding a node moves only the replicas it gains; removing one only those
// it loses (rendezvous hashing).
func TestDesiredReplicasMinimalMoves(t *testing.T) {
	before := nodesOf(1, 2, 3, 4)
	after := nodesOf(1, 2, 3, 4, 5)
	gained := 0
	for s := uint64(2); s <= 200; s++ {
		a, b := desiredReplicas(s, before, 3), desiredReplicas(s, after, 3)
		var added, removed []uint64
		for _, id := range b {
			if !slices.Contains(a, id) {
				added = append(added, id)
			}
		}
		for _, id := range a {
			if !slices.Contains(b, id) {
				removed = append(removed, id)
			}
		}
		switch {
		case len(added) == 0 && len(removed) == 0:
		case len(added) == 1 && added[0] == 5 && len(removed) == 1:
			gained++
		default:
			t.Fatalf("shard %d: %v -> %v moves more than the new node's replica", s, a, b)
		}
		// Removing node 5 again moves only its replica back.
		if c := desiredReplicas(s, before, 3); !slices.Equal(c, a) {
			t.Fatalf("shard %d: removing the new node gives %v, not %v", s, c, a)
		}
	}
	// The new node gains about its share (3/5 of the shards).
	if gained < 199*3/5/2 || gained > 199*3/5*3/2 {
		t.Fatalf("the new node gained %d of 199 shards", gained)
	}
	// Removing node 2 of 5: only the shards it held change, by one.
	without := nodesOf(1, 3, 4, 5)
	for s := uint64(2); s <= 200; s++ {
		a, b := desiredReplicas(s, after, 3), desiredReplicas(s, without, 3)
		diff := 0
		for _, id := range b {
			if !slices.Contains(a, id) {
				diff++
			}
		}
		if slices.Contains(a, 2) != (diff == 1) || diff > 1 {
			t.Fatalf("shard %d: %v -> %v", s, a, b)
		}
	}
}

// Replicas spread over zones first, then nodes.
func TestDesiredReplicasZones(t *testing.T) {
	nodes := []placeNode{
		{ID: 1, Zone: "a"}, {ID: 2, Zone: "a"}, {ID: 3, Zone: "a"},
		{ID: 4, Zone: "b"}, {ID: 5, Zone: "b"},
		{ID: 6, Zone: "c"},
	}
	zoneOf := map[uint64]string{}
	for _, n := range nodes {
		zoneOf[n.ID] = n.Zone
	}
	for s := uint64(2); s <= 100; s++ {
		got := desiredReplicas(s, nodes, 3)
		zones := map[string]bool{}
		for _, id := range got {
			zones[zoneOf[id]] = true
		}
		if len(zones) != 3 {
			t.Fatalf("shard %d: replicas %v in %d zones, want 3", s, got, len(zones))
		}
	}
	// Two zones for three replicas: both zones used.
	two := []placeNode{{ID: 1, Zone: "a"}, {ID: 2, Zone: "a"}, {ID: 3, Zone: "a"}, {ID: 4, Zone: "b"}}
	for s := uint64(2); s <= 100; s++ {
		if got := desiredReplicas(s, two, 3); !slices.Contains(got, 4) {
			t.Fatalf("shard %d: replicas %v leave zone b out", s, got)
		}
	}
}

// loads counts the replicas each node holds in a placement.
func loads(p map[uint64][]uint64, nodes []placeNode) map[uint64]int {
	out := map[uint64]int{}
	for _, nd := range nodes {
		out[nd.ID] = 0
	}
	for _, ids := range p {
		for _, id := range ids {
			out[id]++
		}
	}
	return out
}

func spread(l map[uint64]int) (lo, hi int) {
	lo, hi = -1, 0
	for _, c := range l {
		if lo < 0 || c < lo {
			lo = c
		}
		hi = max(hi, c)
	}
	return lo, hi
}

// The desired placement holds R distinct replicas per shard and evens
// the nodes out: none holds more than one replica more than another.
// Rendezvous alone leaves 16 shards on 4 nodes at 15, 11, 11 and 8.
func TestDesiredPlacementEven(t *testing.T) {
	for _, shards := range []int{2, 4, 8, 16, 17, 64, 256} {
		for n := 1; n <= 9; n++ {
			var ids []uint64
			for i := 1; i <= n; i++ {
				ids = append(ids, uint64(i))
			}
			nodes := nodesOf(ids...)
			p := desiredPlacement(shards, nodes, 3)
			if len(p) != shards-1 {
				t.Fatalf("S=%d N=%d: %d shards placed", shards, n, len(p))
			}
			for s, got := range p {
				if len(got) != min(3, n) || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
					t.Fatalf("S=%d N=%d shard %d: replicas %v", shards, n, s, got)
				}
			}
			if lo, hi := spread(loads(p, nodes)); hi-lo > 1 {
				t.Fatalf("S=%d N=%d: nodes hold between %d and %d replicas (%v)", shards, n, lo, hi, loads(p, nodes))
			}
			if !maps.EqualFunc(p, desiredPlacement(shards, nodes, 3), slices.Equal) {
				t.Fatalf("S=%d N=%d: two computations differ", shards, n)
			}
		}
	}
	if lo, hi := spread(holds(16, nodesOf(1, 2, 3, 4), 3)); hi-lo < 4 {
		t.Fatalf("rendezvous alone spreads 16 shards on 4 nodes between %d and %d: the case above no longer shows it", lo, hi)
	}
}

// Evening out keeps the zones: each shard spans as many zones as its
// rendezvous choice, and balanced zones give balanced nodes.
func TestDesiredPlacementZones(t *testing.T) {
	nodes := []placeNode{
		{ID: 1, Zone: "a"}, {ID: 2, Zone: "a"},
		{ID: 3, Zone: "b"}, {ID: 4, Zone: "b"},
		{ID: 5, Zone: "c"}, {ID: 6, Zone: "c"},
	}
	zoneOf := map[uint64]string{}
	for _, nd := range nodes {
		zoneOf[nd.ID] = nd.Zone
	}
	p := desiredPlacement(64, nodes, 3)
	for s, ids := range p {
		zones := map[string]bool{}
		for _, id := range ids {
			zones[zoneOf[id]] = true
		}
		if len(zones) != 3 {
			t.Fatalf("shard %d: replicas %v in %d zones, want 3", s, ids, len(zones))
		}
	}
	if lo, hi := spread(loads(p, nodes)); hi-lo > 1 {
		t.Fatalf("nodes hold between %d and %d replicas", lo, hi)
	}
	// One node alone in its zone holds every shard: zones come first.
	uneven := []placeNode{{ID: 1, Zone: "a"}, {ID: 2, Zone: "a"}, {ID: 3, Zone: "a"}, {ID: 4, Zone: "b"}}
	for s, ids := range desiredPlacement(16, uneven, 3) {
		if !slices.Contains(ids, 4) {
			t.Fatalf("shard %d: replicas %v leave zone b out", s, ids)
		}
	}
}

// Growing or shrinking the cluster by one node moves few replicas beyond
// the ones the node gains or loses.
func TestDesiredPlacementMoves(t *testing.T) {
	for _, shards := range []int{16, 64} {
		var prev map[uint64][]uint64
		for _, n := range []int{3, 4, 5, 6, 5, 4, 3} {
			var ids []uint64
			for i := 1; i <= n; i++ {
				ids = append(ids, uint64(i))
			}
			p := desiredPlacement(shards, nodesOf(ids...), 3)
			if prev != nil {
				moved, least := 0, 0
				before, after := loads(prev, nil), loads(p, nil)
				for id, c := range after {
					least += max(0, c-before[id]) // what the nodes must gain at the least
				}
				for s, ids := range p {
					for _, id := range ids {
						if !slices.Contains(prev[s], id) {
							moved++
						}
					}
				}
				t.Logf("S=%d, to %d nodes: %d replicas move, %d at the least", shards, n, moved, least)
				if moved > least+least/2+2 {
					t.Fatalf("S=%d, to %d nodes: %d replicas move, %d at the least", shards, n, moved, least)
				}
			}
			prev = p
		}
	}
}

// A node added again to a shard takes the first epoch whose replica id the
// shard never removed.
func TestNextReplicaID(t *testing.T) {
	if id := nextReplicaID(4, nil, map[uint64]string{1: "x"}); id != 4 {
		t.Fatalf("first replica id %d", id)
	}
	if id := nextReplicaID(4, []uint64{4}, nil); id != 1<<32|4 {
		t.Fatalf("after one removal: %#x", id)
	}
	if id := nextReplicaID(4, []uint64{4, 1<<32 | 4}, nil); id != 2<<32|4 {
		t.Fatalf("after two removals: %#x", id)
	}
}

// --meta-replicas is fixed when the cluster is created: a data dir keeps
// the value it was made with and refuses another; a data dir made before
// placement has 0; a joining node takes its cluster's later.
func TestReplicasAtStart(t *testing.T) {
	cfg := func(dir string, r int, join bool) Config {
		c := Config{DataDir: dir, MetaReplicas: r}
		c.Raft.Join = join
		return c
	}
	dir := t.TempDir()
	if r, err := replicasAtStart(cfg(dir, 3, false)); err != nil || r != 3 {
		t.Fatalf("a new cluster: %d, %v", r, err)
	}
	if r, err := replicasAtStart(cfg(dir, 3, false)); err != nil || r != 3 {
		t.Fatalf("a restart: %d, %v", r, err)
	}
	if _, err := replicasAtStart(cfg(dir, 2, false)); err == nil {
		t.Fatal("a restart with another value was not refused")
	}

	old := t.TempDir()
	if err := writeMetaShards(old, 4); err != nil {
		t.Fatal(err)
	}
	if r, err := replicasAtStart(cfg(old, 0, false)); err != nil || r != 0 {
		t.Fatalf("a data dir made before placement: %d, %v", r, err)
	}
	if _, err := replicasAtStart(cfg(old, 3, false)); err == nil {
		t.Fatal("a data dir made before placement started with --meta-replicas 3 was not refused")
	}

	joining := t.TempDir()
	if r, err := replicasAtStart(cfg(joining, 3, true)); err != nil || r != 3 {
		t.Fatalf("a joining node: %d, %v", r, err)
	}

	// Without --meta-replicas: a new cluster takes the default, a restart
	// its data dir's, a data dir made before placement 0, a joining node
	// nothing until it learns its cluster's.
	fresh := t.TempDir()
	if r, err := replicasAtStart(cfg(fresh, ClusterMetaReplicas, false)); err != nil || r != DefaultMetaReplicas {
		t.Fatalf("a new cluster without the flag: %d, %v", r, err)
	}
	if r, err := replicasAtStart(cfg(dir, ClusterMetaReplicas, false)); err != nil || r != 3 {
		t.Fatalf("a restart without the flag: %d, %v", r, err)
	}
	if r, err := replicasAtStart(cfg(old, ClusterMetaReplicas, false)); err != nil || r != 0 {
		t.Fatalf("a data dir made before placement, without the flag: %d, %v", r, err)
	}
	if r, err := replicasAtStart(cfg(t.TempDir(), ClusterMetaReplicas, true)); err != nil || r != 0 {
		t.Fatalf("a joining node without the flag: %d, %v", r, err)
	}
}

// TestPlacementMemo: the memo answers what desiredPlacement does, keeps
// its answer while the inputs stay, and computes it again when any input
// (the shard count, R, a member, a member's zone) changes.
func TestPlacementMemo(t *testing.T) {
	var m placementMemo
	nodes := []placeNode{{ID: 1, Zone: "a"}, {ID: 2, Zone: "b"}, {ID: 3, Zone: "a"}, {ID: 4, Zone: "b"}}
	first := m.get(16, nodes, 3)
	if !maps.EqualFunc(first, desiredPlacement(16, nodes, 3), slices.Equal) {
		t.Fatalf("memo %v, want %v", first, desiredPlacement(16, nodes, 3))
	}
	same := func(a, b map[uint64][]uint64) bool {
		return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer()
	}
	if again := m.get(16, slices.Clone(nodes), 3); !same(again, first) {
		t.Fatal("the same inputs computed the placement again")
	}
	rezoned := slices.Clone(nodes)
	rezoned[3].Zone = "c"
	for name, in := range map[string]struct {
		count, r int
		nodes    []placeNode
	}{
		"count":  {32, 3, nodes},
		"r":      {16, 2, nodes},
		"member": {16, 3, nodes[:3]},
		"zone":   {16, 3, rezoned},
	} {
		got := m.get(in.count, in.nodes, in.r)
		if same(got, first) || !maps.EqualFunc(got, desiredPlacement(in.count, in.nodes, in.r), slices.Equal) {
			t.Errorf("%s changed: memo %v, want %v", name, got, desiredPlacement(in.count, in.nodes, in.r))
		}
		first = m.get(16, nodes, 3)
	}
}
