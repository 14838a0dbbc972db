package gateway

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Members that stay down (Config.ReplaceDownAfter). With R replicas of
// each data shard over more than R members, a member that dies leaves the
// shards it held with R-1 replicas, and a second death among their
// holders would leave them without a majority. So every node sends each
// member a request from time to time (watchDown), and a member that
// has answered none of those requests for ReplaceDownAfter is left out of
// the members the data shards' leaders place replicas on (placeTargets):
// the reconciler adds a replica on another member, waits until it has
// caught up, then removes the down member's, as it does for a member that
// is leaving. The chunk layer places chunks without it too
// (block.Manager.SetDown), so repair copies its chunks to the others, and
// the chunk GC queue is trimmed without waiting for it (minGCCursor). A
// down member stays a member (of the directory shard too): once it
// answers again it is a placement target again, and its share moves back
// onto it, each of its old replicas stopped and deleted there as the
// record no longer lists it (followPlacement), the chunk copies made
// meanwhile beyond R dropped by repair.
//
// Each node keeps its own view: the leader of each shard acts on what it
// saw, and a leader cut off from the others cannot change its shard's
// membership anyway (a change needs a majority). Down members are left
// out only while R members remain: with nowhere to put a replacement,
// removing a down member's replica would only cost its rebuild when it
// comes back. A member whose address is not known yet is not asked, and
// is never down.

// DefaultReplaceDownAfter is Config.ReplaceDownAfter of the command line:
// long enough for a restart, a reboot or a short partition, short enough
// that a second failure is unlikely to come first.
const DefaultReplaceDownAfter = 10 * time.Minute

// downProbeInterval is how often watchDown sends the members a request:
// a sixth of after, from 1 s to 10 s.
func downProbeInterval(after time.Duration) time.Duration {
	return min(max(after/6, time.Second), 10*time.Second)
}

// downWatch is this node's view of which members fail to answer.
type downWatch struct {
	mu sync.Mutex
	// failing holds, per member whose last request failed, when the
	// first request of that run of failures was made.
	failing map[uint64]time.Time
	// logged is when a skipped replica was last logged per member
	// (quietLog).
	logged map[uint64]time.Time
}

// quietLog reports whether a replica not added on member id is to be
// logged at now: once a minute per member, not once per shard and pass.
func (d *downWatch) quietLog(id uint64, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if last, ok := d.logged[id]; ok && now.Sub(last) < time.Minute {
		return false
	}
	if d.logged == nil {
		d.logged = map[uint64]time.Time{}
	}
	d.logged[id] = now
	return true
}

// observe records the outcome of a request to id made at at.
func (d *downWatch) observe(id uint64, answered bool, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if answered {
		delete(d.failing, id)
		return
	}
	if _, ok := d.failing[id]; !ok {
		if d.failing == nil {
			d.failing = map[uint64]time.Time{}
		}
		d.failing[id] = at
	}
}

// keep forgets the members not in ids (removed from the cluster).
func (d *downWatch) keep(ids []uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id := range d.failing {
		if !slices.Contains(ids, id) {
			delete(d.failing, id)
		}
	}
}

// down returns the members that have failed every request for at least
// after (none when after is 0), in order.
func (d *downWatch) down(after time.Duration, now time.Time) []uint64 {
	if after <= 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []uint64
	for id, since := range d.failing {
		if now.Sub(since) >= after {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// downMembers returns the members this node sees down (downWatch.down).
func (n *Node) downMembers() []uint64 {
	return n.downs.down(n.cfg.ReplaceDownAfter, time.Now())
}

// watchDown sends every other member a request each downProbeInterval,
// hands the members down to the chunk layer and kicks the reconcilers when
// the set changes (with --meta-replicas 0 every member holds every shard
// and only chunks move).
func (n *Node) watchDown() {
	defer n.wg.Done()
	after := n.cfg.ReplaceDownAfter
	if after <= 0 {
		return
	}
	t := time.NewTicker(downProbeInterval(after))
	defer t.Stop()
	var was []uint64
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		n.probeMembers()
		now := n.downMembers()
		n.cluster.blocks.SetDown(now)
		if slices.Equal(now, was) {
			continue
		}
		for _, id := range now {
			if !slices.Contains(was, id) {
				n.log.Warn("placement: member down, its data shard replicas and chunk copies move to other members and the chunk GC queue no longer waits for it", "node", id, "down_for_at_least", after)
			}
		}
		for _, id := range was {
			if !slices.Contains(now, id) {
				n.log.Info("placement: member answers again (or left), it is a placement target again", "node", id)
			}
		}
		was = now
		n.kickPlacement()
	}
}

// downProbeTimeout bounds one request of probeMembers.
const downProbeTimeout = 5 * time.Second

// probeMembers asks every other member whose address is known for
// nothing (block.Peer.Reach: not its status, whose readiness check reads
// every shard it holds and would wake them all), at once, and records who
// answered.
func (n *Node) probeMembers() {
	ms := n.cluster.snapshot()
	ids := make([]uint64, 0, len(ms))
	// The node's stop ends the round at once (its shutdown waits for it).
	ctx, cancel := context.WithTimeout(context.Background(), downProbeTimeout)
	defer cancel()
	go func() {
		select {
		case <-n.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	for _, m := range ms {
		ids = append(ids, m.ID)
		if m.ID == n.cfg.Raft.NodeID || m.S3Addr == "" {
			continue
		}
		wg.Go(func() {
			at := time.Now()
			err := n.cluster.peer.Reach(ctx, m.peer())
			select {
			case <-n.stop:
				return // a node shutting down fails its own requests
			default:
			}
			n.downs.observe(m.ID, err == nil, at)
		})
	}
	wg.Wait()
	n.downs.keep(ids)
}

// answers reports whether member id answers a request now (this node
// always does), as a check before a replica is added on it.
func (n *Node) answers(ctx context.Context, id uint64) bool {
	if id == n.cfg.Raft.NodeID {
		return true
	}
	for _, m := range n.cluster.snapshot() {
		if m.ID == id && m.S3Addr != "" {
			ctx, cancel := context.WithTimeout(ctx, downProbeTimeout)
			defer cancel()
			return n.cluster.peer.Reach(ctx, m.peer()) == nil
		}
	}
	return false
}

// placeTargets returns the members data shards are placed on by the
// reconciler: the eligible ones, less those down (withoutDown).
func (n *Node) placeTargets() []placeNode {
	return withoutDown(n.eligible(), n.downMembers(), n.cfg.Raft.NodeID, n.place.replicas())
}

// withoutDown returns nodes less the members in down other than self, as
// long as at least r remain; else nodes.
func withoutDown(nodes []placeNode, down []uint64, self uint64, r int) []placeNode {
	if len(down) == 0 {
		return nodes
	}
	up := slices.DeleteFunc(slices.Clone(nodes), func(p placeNode) bool {
		return p.ID != self && slices.Contains(down, p.ID)
	})
	if len(up) < r {
		return nodes
	}
	return up
}

// downKey is the members down, as placeInputs compares them.
func downKey(ids []uint64) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(strconv.FormatUint(id, 10))
		b.WriteByte(',')
	}
	return b.String()
}
