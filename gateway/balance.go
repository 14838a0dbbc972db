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
		if mv, ok := n.nextLeaderMove(); ok {
			if err := n.host.TransferLeader(ctx, mv.Shard, n.replicaIDOf(mv.Shard, mv.To)); err != nil {
				n.log.Debug("leader balancing: transfer did not take", "shard", mv.Shard, "to", mv.To, "err", err)
			}
		}
		cancel()
	}
}

// nextLeaderMove picks the next leadership to move (ok false: balanced, or
// some shard has no leader now). A shard's leadership only moves to one
// of its holders (placement.go).
func (n *Node) nextLeaderMove() (LeaderMove, bool) {
	shards := n.shards.list()
	ms := n.cluster.snapshot()
	if len(shards) < 2 || len(ms) < 2 {
		return LeaderMove{}, false
	}
	led := map[uint64][]uint64{}
	for _, m := range ms {
		led[m.ID] = nil
	}
	leaders := map[uint64]uint64{}
	for _, sh := range shards {
		if !n.hosts(sh) {
			continue // its leader is not known here
		}
		lid, ok := n.host.LeaderNode(sh)
		if !ok {
			return LeaderMove{}, false // an election is under way
		}
		leaders[sh] = lid
		if _, member := led[lid]; member {
			led[lid] = append(led[lid], sh)
		}
	}
	ids := make([]uint64, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	// From the node leading most, the shard whose least loaded holder
	// leads least; a data shard rather than the directory's own.
	slices.SortStableFunc(ids, func(a, b uint64) int { return len(led[b]) - len(led[a]) })
	for _, from := range ids {
		best, bestShard := uint64(0), uint64(0)
		for i := len(led[from]) - 1; i >= 0; i-- {
			sh := led[from][i]
			for _, h := range n.holderIDs(sh) {
				if _, member := led[h]; !member || h == from {
					continue
				}
				better := best == 0 || len(led[h]) < len(led[best]) ||
					(len(led[h]) == len(led[best]) && bestShard == metaShard && sh != metaShard)
				if better {
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

// Rebalance runs a placement pass over the data shards this node leads
// (with --meta-replicas; other nodes' passes are kicked by their own
// loops every few seconds), then moves shard leaderships until they are
// spread evenly over the members (or ctx ends), and returns the moves
// made.
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
		mv, ok := s.node.nextLeaderMove()
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
