package gateway

import (
	"slices"
	"testing"
)

// TestChooseLeaderMove: the leaderships go from the member leading most
// shards to the one leading least, among the members that can take one.
// A member that is down leads nothing; it must not be the target (a
// transfer to it stalls the shard's proposals), and the others are still
// balanced between themselves.
func TestChooseLeaderMove(t *testing.T) {
	shards := []uint64{1, 2, 3, 4}
	leaders := map[uint64]uint64{1: 3, 2: 1, 3: 3, 4: 3} // node 3 leads 3, node 1 one, node 2 none
	leaderOf := func(sh uint64) (uint64, bool) { id, ok := leaders[sh]; return id, ok }
	all := []uint64{1, 2, 3}
	up := func(down ...uint64) func(uint64) bool {
		return func(id uint64) bool { return !slices.Contains(down, id) }
	}

	if mv, ok := chooseLeaderMove(shards, all, leaderOf, up()); !ok || mv != (LeaderMove{Shard: 4, From: 3, To: 2}) {
		t.Fatalf("every member up: %+v %v, want shard 4 from 3 to 2", mv, ok)
	}
	var asked []uint64
	mv, ok := chooseLeaderMove(shards, all, leaderOf, func(id uint64) bool {
		asked = append(asked, id)
		return id != 2
	})
	if !ok || mv != (LeaderMove{Shard: 4, From: 3, To: 1}) {
		t.Fatalf("node 2 down: %+v %v, want shard 4 from 3 to 1", mv, ok)
	}
	if !slices.Equal(asked, []uint64{2, 1}) {
		t.Fatalf("asked %v whether they can lead, want the targets planned only: [2 1]", asked)
	}

	// Node 2 down, leaders 2-2 over the two others: balanced, no move.
	leaders[4] = 1
	if mv, ok := chooseLeaderMove(shards, all, leaderOf, up(2)); ok {
		t.Fatalf("node 2 down, 2-2 over nodes 1 and 3: moved %+v", mv)
	}
	// Every other member down: nothing to move to.
	leaders[2], leaders[4] = 3, 3
	if mv, ok := chooseLeaderMove(shards, all, leaderOf, up(1, 2)); ok {
		t.Fatalf("only node 3 up: moved %+v", mv)
	}
	// Node 2 back: it takes a leadership again.
	if mv, ok := chooseLeaderMove(shards, all, leaderOf, up()); !ok || mv.To != 1 && mv.To != 2 || mv.From != 3 {
		t.Fatalf("every member up again: %+v %v", mv, ok)
	}

	// The directory shard stays where it is when another can move.
	leaders = map[uint64]uint64{1: 1, 2: 1, 3: 1, 4: 2}
	if mv, ok := chooseLeaderMove(shards, []uint64{1, 2, 3}, leaderOf, up()); !ok || mv.Shard == metaShard || mv.To != 3 {
		t.Fatalf("3-1-0: %+v %v", mv, ok)
	}
	// An election under way: no move.
	delete(leaders, 3)
	if mv, ok := chooseLeaderMove(shards, all, leaderOf, up()); ok {
		t.Fatalf("shard 3 without a leader: moved %+v", mv)
	}
}
