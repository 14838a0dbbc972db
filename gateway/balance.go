package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Leaders spread over the members: each metadata shard is led by one
// node, and a node leading more than its share of the shards takes more
// than its share of the writes (it orders, replicates and answers every
// proposal of its shards). The directory shard's leader moves one
// leadership at a time from the node leading most to the one leading
// least, until no node leads more than one shard above another.
//
// With placed data shards (--meta-replicas) the directory's leader holds
// only some of them, and its replicas know only their leaders. It asks
// the other members for the leaders their replicas know (peer GET
// leaders: no Raft round, nothing woken) and has the node leading a
// shard it does not hold make that shard's transfer (peer POST leader),
// so that every shard's leadership is spread, not only those it holds.

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
		ctx, cancel := context.WithTimeout(n.life, balanceInterval)
		if mv, ok := n.nextLeaderMove(ctx, skip); ok {
			if err := n.transferLeader(ctx, mv); err != nil {
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
	// Placed shards: a leadership goes to one of its shard's holders
	// only, and the leaders of the shards held elsewhere are those the
	// members report (knownLeaders).
	leaders := n.knownLeaders(ctx)
	shards = shards[:0:0]
	for _, sh := range n.shards.list() {
		if _, ok := leaders[sh]; ok {
			shards = append(shards, sh)
		} else if n.hosts(sh) {
			return LeaderMove{}, false // an election is under way
		}
		// else held by members that did not answer: left out
	}
	leaderOf := func(sh uint64) (uint64, bool) {
		lid, ok := leaders[sh]
		return lid, ok
	}
	ids = slices.Clone(ids)
	for {
		mv, ok := planPlacedLeaderMove(shards, ids, leaderOf, n.holderIDs)
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
		err := s.node.transferLeader(tctx, mv)
		cancel()
		if err != nil {
			return moves, unavailable(err)
		}
		moves = append(moves, mv)
	}
	return moves, nil
}

// LocalLeaders returns the leader (node id) of each shard with a replica
// on this node, as its replica knows it (no Raft round): NodeStatus's
// Leaders, and the peer GET leaders answer.
func (s *Service) LocalLeaders() map[uint64]uint64 {
	n := s.node
	out := map[uint64]uint64{}
	for _, id := range n.hostedShards() {
		if lid, ok := n.host.LeaderNode(id); ok {
			out[id] = lid
		}
	}
	return out
}

// TransferShardLeader moves the leadership of shard, which has a replica
// here, to node's replica (a balancing directory leader that holds no
// replica of the shard asks its leader for it).
func (s *Service) TransferShardLeader(ctx context.Context, shard, node uint64) error {
	n := s.node
	if !n.hosts(shard) {
		return fmt.Errorf("%w: shard %d has no replica on node %d", ErrUnavailable, shard, n.cfg.Raft.NodeID)
	}
	if err := n.host.TransferLeader(ctx, shard, n.replicaIDOf(shard, node)); err != nil {
		return unavailable(err)
	}
	return nil
}

// knownLeaders returns the leader of each shard as this node's replicas
// know it and, with placed shards, as the other members' replicas report
// it for the shards not held here (a leader's report of itself first).
// A member that does not answer, or an older one without the request,
// reports nothing.
func (n *Node) knownLeaders(ctx context.Context) map[uint64]uint64 {
	out := n.svc.LocalLeaders()
	if !n.placed() {
		return out
	}
	sure := make(map[uint64]bool, len(out)) // from a replica here or the leader itself
	for sh := range out {
		sure[sh] = true
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range n.cluster.snapshot() {
		if m.ID == n.cfg.Raft.NodeID || m.S3Addr == "" {
			continue
		}
		wg.Go(func() {
			var got struct {
				Leaders map[uint64]uint64 `json:"leaders"`
			}
			ctx, cancel := context.WithTimeout(ctx, balanceCheckTimeout)
			defer cancel()
			if err := n.cluster.peer.GetJSON(ctx, http.MethodGet, m.peer(), "leaders", &got); err != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for sh, lid := range got.Leaders {
				if sure[sh] {
					continue
				}
				out[sh] = lid
				sure[sh] = lid == m.ID
			}
		})
	}
	wg.Wait()
	return out
}

// transferLeader makes the move mv: here when a replica of the shard runs
// here, else by its leader (mv.From).
func (n *Node) transferLeader(ctx context.Context, mv LeaderMove) error {
	if n.hosts(mv.Shard) {
		return n.host.TransferLeader(ctx, mv.Shard, n.replicaIDOf(mv.Shard, mv.To))
	}
	for _, m := range n.cluster.snapshot() {
		if m.ID == mv.From && m.S3Addr != "" {
			var out struct{}
			return n.cluster.peer.GetJSON(ctx, http.MethodPost, m.peer(), fmt.Sprintf("leader?shard=%d&to=%d", mv.Shard, mv.To), &out)
		}
	}
	return fmt.Errorf("%w: the address of node %d, leading shard %d, is not known", ErrUnavailable, mv.From, mv.Shard)
}
