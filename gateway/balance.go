package gateway

import (
	"context"
	"slices"
	"time"
)

// Leaders spread over the members: each metadata shard is led by one
// node, and a node leading more than its share of the shards takes more
// than its share of the writes (it orders, replicates and answers every
// proposal of its shards). The directory shard's leader moves one
// leadership at a time from the node leading most to the one leading
// least, until no node leads more than one shard above another.

// balanceInterval is how often the directory's leader looks at the spread.
const balanceInterval = 3 * time.Second

// LeaderMove is one leadership transfer of a rebalancing.
type LeaderMove struct {
	Shard uint64 `json:"shard_id"`
	From  uint64 `json:"from"`
	To    uint64 `json:"to"`
}

// balanceLoop runs on every node; only the directory's leader acts.
func (n *Node) balanceLoop() {
	defer n.wg.Done()
	t := time.NewTicker(balanceInterval)
	defer t.Stop()
	// held: members a transfer did not reach, left out until then.
	held := map[uint64]time.Time{}
	skip := func(id uint64) bool { return time.Now().Before(held[id]) }
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		if !n.isLeader() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), balanceInterval)
		if mv, ok := n.nextLeaderMove(ctx, skip); ok {
			if err := n.host.TransferLeader(ctx, mv.Shard, n.replicaIDOf(mv.Shard, mv.To)); err != nil {
				held[mv.To] = time.Now().Add(balanceHold)
				n.log.Debug("leader balancing: transfer did not take", "shard", mv.Shard, "to", mv.To, "err", err)
			}
		}
		cancel()
	}
}

// A leadership may only go to a member that can take it now. While a
// transfer is under way the leader drops every proposal of the shard,
// until the target takes over or an election timeout passes; a transfer
// to a member that is down never takes, and re-issued round after round
// it stalled the shard for as long as the member stayed down (a dead
// member leads nothing, so it always looked like the least loaded). So
// the spread is that of the members that answer their status ready (up,
// and every replica caught up with its shard), and a member a transfer
// did not reach is left out for balanceHold.
const (
	// balanceCheckTimeout bounds the status request to a move's target.
	balanceCheckTimeout = time.Second
	// balanceHold is how long a member a transfer did not reach is left
	// out of the spread.
	balanceHold = 30 * time.Second
)

// nextLeaderMove picks the next leadership to move among the members that
// can take one and that skip (nil: none) does not leave out (ok false:
// balanced, or some shard has no leader now).
func (n *Node) nextLeaderMove(ctx context.Context, skip func(id uint64) bool) (LeaderMove, bool) {
	shards := n.shards.list()
	ms := n.cluster.snapshot()
	ids := make([]uint64, 0, len(ms))
	for _, m := range ms {
		if skip == nil || !skip(m.ID) {
			ids = append(ids, m.ID)
		}
	}
	canLead := func(id uint64) bool { return n.cluster.canLead(ctx, id) }
	if !n.placed() {
		return chooseLeaderMove(shards, ids, n.host.LeaderNode, canLead)
	}
	// Placed shards: the leaders known here are those of the shards held
	// here, and a leadership goes to one of its shard's holders only.
	ids = slices.Clone(ids)
	for {
		mv, ok := planPlacedLeaderMove(n.hostedShards(), ids, n.host.LeaderNode, n.holderIDs)
		if !ok {
			return LeaderMove{}, false
		}
		if canLead(mv.To) {
			return mv, true
		}
		ids = slices.DeleteFunc(ids, func(id uint64) bool { return id == mv.To })
	}
}

// planPlacedLeaderMove is planLeaderMove when each shard is held by some
// of the members (holdersOf): from the member of ids leading most, the
// shard whose least loaded holder in ids leads least, when that holder
// leads at least two fewer; a data shard rather than the directory's own.
func planPlacedLeaderMove(shards, ids []uint64, leaderOf func(shard uint64) (uint64, bool),
	holdersOf func(shard uint64) []uint64) (LeaderMove, bool) {
	if len(shards) < 2 || len(ids) < 2 {
		return LeaderMove{}, false
	}
	led, ok := leadership(shards, ids, leaderOf)
	if !ok {
		return LeaderMove{}, false // an election is under way
	}
	order := slices.Sorted(slices.Values(ids))
	slices.SortStableFunc(order, func(a, b uint64) int { return len(led[b]) - len(led[a]) })
	for _, from := range order {
		best, bestShard := uint64(0), uint64(0)
		for i := len(led[from]) - 1; i >= 0; i-- {
			sh := led[from][i]
			for _, h := range holdersOf(sh) {
				if _, member := led[h]; !member || h == from {
					continue
				}
				if best == 0 || len(led[h]) < len(led[best]) ||
					(len(led[h]) == len(led[best]) && bestShard == metaShard && sh != metaShard) {
					best, bestShard = h, sh
				}
			}
		}
		if best != 0 && len(led[from])-len(led[best]) > 1 {
			return LeaderMove{Shard: bestShard, From: from, To: best}, true
		}
	}
	return LeaderMove{}, false
}

// chooseLeaderMove is planLeaderMove over the members of ids that canLead
// says can take a leadership, asking it about each target planned only.
func chooseLeaderMove(shards, ids []uint64, leaderOf func(shard uint64) (uint64, bool), canLead func(id uint64) bool) (LeaderMove, bool) {
	ids = slices.Clone(ids)
	for {
		mv, ok := planLeaderMove(shards, ids, leaderOf)
		if !ok {
			return LeaderMove{}, false
		}
		if canLead(mv.To) {
			return mv, true
		}
		ids = slices.DeleteFunc(ids, func(id uint64) bool { return id == mv.To })
	}
}

// canLead reports whether member id answers its status ready now.
func (c *cluster) canLead(ctx context.Context, id uint64) bool {
	if id == c.self {
		return true
	}
	ms := c.snapshot()
	i := slices.IndexFunc(ms, func(m member) bool { return m.ID == id })
	if i < 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, balanceCheckTimeout)
	defer cancel()
	return c.memberStatus(ctx, ms[i]).Ready
}

// leadership maps each member of ids to the shards it leads, in the
// order of shards (leaderOf: a shard's leader); ok is false when a shard
// has no leader (an election is under way).
func leadership(shards, ids []uint64, leaderOf func(shard uint64) (uint64, bool)) (map[uint64][]uint64, bool) {
	led := make(map[uint64][]uint64, len(ids))
	for _, id := range ids {
		led[id] = nil
	}
	for _, sh := range shards {
		lid, ok := leaderOf(sh)
		if !ok {
			return nil, false
		}
		if _, member := led[lid]; member {
			led[lid] = append(led[lid], sh)
		}
	}
	return led, true
}

// planLeaderMove picks the leadership to move from the member of ids
// leading most of shards to the one leading least (leaderOf: a shard's
// leader, ok false during an election), or says there is none to move
// (balanced, fewer than 2 shards or members, an election under way).
func planLeaderMove(shards, ids []uint64, leaderOf func(shard uint64) (uint64, bool)) (LeaderMove, bool) {
	if len(shards) < 2 || len(ids) < 2 {
		return LeaderMove{}, false
	}
	ids = slices.Sorted(slices.Values(ids))
	led, ok := leadership(shards, ids, leaderOf)
	if !ok {
		return LeaderMove{}, false // an election is under way
	}
	most, least := ids[0], ids[0]
	for _, id := range ids {
		if len(led[id]) > len(led[most]) {
			most = id
		}
		if len(led[id]) < len(led[least]) {
			least = id
		}
	}
	if len(led[most])-len(led[least]) <= 1 {
		return LeaderMove{}, false
	}
	// Move a data shard rather than the directory's own.
	from := led[most]
	shard := from[len(from)-1]
	if shard == metaShard && len(from) > 1 {
		shard = from[len(from)-2]
	}
	return LeaderMove{Shard: shard, From: most, To: least}, true
}

// Rebalance runs a placement pass over the data shards this node leads
// (with --meta-replicas; other nodes' passes run by themselves every few
// seconds), then moves shard leaderships until they are spread evenly over
// the members (or ctx ends), and returns the moves made.
func (s *Service) Rebalance(ctx context.Context) ([]LeaderMove, []ReplicaMove, error) {
	var replicaMoves []ReplicaMove
	if s.node.placed() {
		replicaMoves = s.node.reconcile(ctx)
	}
	moves, err := s.rebalanceLeaders(ctx)
	return moves, replicaMoves, err
}

func (s *Service) rebalanceLeaders(ctx context.Context) ([]LeaderMove, error) {
	var moves []LeaderMove
	for len(moves) < 4*len(s.node.shards.list()) {
		mv, ok := s.node.nextLeaderMove(ctx, nil)
		if !ok {
			return moves, nil
		}
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.node.host.TransferLeader(tctx, mv.Shard, s.node.replicaIDOf(mv.Shard, mv.To))
		cancel()
		if err != nil {
			return moves, unavailable(err)
		}
		moves = append(moves, mv)
	}
	return moves, nil
}
