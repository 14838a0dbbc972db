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
			if err := n.host.TransferLeader(ctx, mv.Shard, mv.To); err != nil {
				n.log.Debug("leader balancing: transfer did not take", "shard", mv.Shard, "to", mv.To, "err", err)
			}
		}
		cancel()
	}
}

// nextLeaderMove picks the next leadership to move (ok false: balanced, or
// some shard has no leader now).
func (n *Node) nextLeaderMove() (LeaderMove, bool) {
	shards := n.shards.list()
	ms := n.cluster.snapshot()
	if len(shards) < 2 || len(ms) < 2 {
		return LeaderMove{}, false
	}
	led := map[uint64][]uint64{}
	ids := make([]uint64, 0, len(ms))
	for _, m := range ms {
		led[m.ID] = nil
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	for _, sh := range shards {
		lid, ok := n.host.LeaderID(sh)
		if !ok {
			return LeaderMove{}, false // an election is under way
		}
		if _, member := led[lid]; member {
			led[lid] = append(led[lid], sh)
		}
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

// Rebalance moves shard leaderships until they are spread evenly over the
// members (or ctx ends) and returns the moves made.
func (s *Service) Rebalance(ctx context.Context) ([]LeaderMove, error) {
	var moves []LeaderMove
	for len(moves) < 4*len(s.node.shards.list()) {
		mv, ok := s.node.nextLeaderMove()
		if !ok {
			return moves, nil
		}
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.node.host.TransferLeader(tctx, mv.Shard, mv.To)
		cancel()
		if err != nil {
			return moves, unavailable(err)
		}
		moves = append(moves, mv)
	}
	return moves, nil
}
