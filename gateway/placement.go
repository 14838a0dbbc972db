package gateway

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forkstore/forkstore/meta"
	"github.com/forkstore/forkstore/raft"
)

// Placement of the data shards' replicas (--meta-replicas R > 0). Each
// data shard (ids 2..S) has min(R, N) replicas over the N members that
// are not leaving; the directory shard stays on every member. So a
// cluster of more nodes holds more shards, and each node applies R/N of
// the writes instead of all of them.
//
//   - Desired placement (desiredPlacement): rendezvous hashing of (shard,
//     node id), zones first (desiredReplicas), so that adding or removing
//     a node moves mostly the replicas it gains or loses; then evened out,
//     so that no node holds more than one replica more than another
//     (where zones allow). With a few shards per node, rendezvous alone
//     leaves some nodes twice the replicas of others (16 shards on 4
//     nodes: 15, 11, 11 and 8), and the busiest node caps the cluster.
//     It is a function of the member set only, so every leader computes
//     the same one.
//   - The record: per data shard, its replicas (node id and replica id) in
//     the directory (meta.SetPlacement), written by the shard's leader
//     after each membership change it makes, always re-derived from the
//     shard's Raft membership, so a crash between a change and its record
//     is repaired by the next pass.
//   - Every node follows the record in its membership loop
//     (followPlacement): it starts a replica listed for it that does not
//     run here and stops and deletes one the record no longer lists.
//   - The reconciler (reconcileShard) runs on each data shard's leader: it
//     adds a desired node (under a fresh replica id), waits for it to catch
//     up, then removes a replica that is not desired. One move per shard
//     at a time, at most maxMovesUnderWay in the cluster.
//
// Replica ids: a node's replica of a shard has the id epoch<<32 | node id.
// A node added again to a shard it was removed from takes the next epoch
// whose id the shard never removed (Dragonboat refuses a removed id).

// MaxMetaReplicas bounds --meta-replicas.
const MaxMetaReplicas = 7

// DefaultMetaReplicas is R of a new cluster when --meta-replicas is not
// given: three copies survive the loss of one node with a majority left,
// and each node of a cluster of N applies 3/N of the writes.
const DefaultMetaReplicas = 3

// ClusterMetaReplicas, as Config.MetaReplicas, takes the cluster's R (a
// new cluster's: DefaultMetaReplicas).
const ClusterMetaReplicas = -1

// Timing of placement.
const (
	// placeInterval is how often each data shard's leader compares the
	// desired placement with the actual one (when its inputs changed).
	placeInterval = 3 * time.Second
	// placeRecheck is how often it does so when they did not.
	placeRecheck = 5 * time.Minute
	// catchUpWait bounds the wait for a new replica to catch up.
	catchUpWait = 60 * time.Second
	// placementReadWarn is how long reads of the placement record fail
	// before a node says so at warn level.
	placementReadWarn = 5 * time.Second
	// maxMovesUnderWay bounds the shards with a move under way (a replica
	// added and the surplus one not removed yet) in the cluster.
	maxMovesUnderWay = 2
)

// placeNode is a member as placement sees it.
type placeNode struct {
	ID   uint64
	Zone string
}

// placementMemo keeps the last placement desiredPlacement computed on
// this node. Its inputs (members, zones, R, S) change rarely, while a
// placement pass needs it for every shard and a node forwarding requests
// before the shards' leaders recorded their placement needs it per
// request: at 256 shards over 9 nodes one computation takes about half a
// millisecond. The map it returns is shared: callers must not change it.
type placementMemo struct {
	mu    sync.Mutex
	key   string
	value map[uint64][]uint64
}

// get returns desiredPlacement(count, nodes, r), computed again only when
// an input differs from the last call's.
func (m *placementMemo) get(count int, nodes []placeNode, r int) map[uint64][]uint64 {
	b := make([]byte, 0, 16+16*len(nodes))
	b = strconv.AppendInt(b, int64(count), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(r), 10)
	for _, nd := range nodes {
		b = append(b, '/')
		b = strconv.AppendUint(b, nd.ID, 10)
		b = strconv.AppendQuote(b, nd.Zone)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.value == nil || m.key != string(b) {
		m.key, m.value = string(b), desiredPlacement(count, nodes, r)
	}
	return m.value
}

// placeScore is the rendezvous weight of node for shard.
func placeScore(shard, node uint64) uint64 {
	x := shard*0x9E3779B97F4A7C15 ^ node*0xC2B2AE3D27D4EB4F
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return x
}

// desiredReplicas returns the nodes that should hold shard's replicas:
// min(r, len(nodes)) of them, in rendezvous order of (shard, node), taking
// first the best node of each zone not yet used, then the best of the
// rest. Nodes without a zone are each a zone of their own.
func desiredReplicas(shard uint64, nodes []placeNode, r int) []uint64 {
	ranked := slices.Clone(nodes)
	slices.SortFunc(ranked, func(a, b placeNode) int {
		if c := cmp.Compare(placeScore(shard, b.ID), placeScore(shard, a.ID)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	r = min(r, len(ranked))
	out := make([]uint64, 0, r)
	zones := map[string]bool{}
	taken := map[uint64]bool{}
	for _, nd := range ranked {
		if len(out) == r {
			break
		}
		if nd.Zone == "" || !zones[nd.Zone] {
			zones[nd.Zone] = nd.Zone != ""
			taken[nd.ID] = true
			out = append(out, nd.ID)
		}
	}
	for _, nd := range ranked {
		if len(out) == r {
			break
		}
		if !taken[nd.ID] {
			taken[nd.ID] = true
			out = append(out, nd.ID)
		}
	}
	slices.Sort(out)
	return out
}

// desiredPlacement returns the nodes that should hold each data shard's
// replicas (shards 2..count): each shard's rendezvous choice
// (desiredReplicas), then evened out: while a node holds more than one
// replica more than another, one of its replicas moves to the least
// loaded node, in the shard where that node ranks best and the move
// spreads the shard over no fewer zones. Each move lowers the sum of the
// squared loads, so it ends; the result depends only on its arguments.
func desiredPlacement(count int, nodes []placeNode, r int) map[uint64][]uint64 {
	want := make(map[uint64][]uint64, max(count-1, 0))
	load := make(map[uint64]int, len(nodes))
	zoneOf := make(map[uint64]string, len(nodes))
	for _, nd := range nodes {
		load[nd.ID] = 0
		zoneOf[nd.ID] = nd.Zone
		if nd.Zone == "" {
			zoneOf[nd.ID] = "\x00" + strconv.FormatUint(nd.ID, 10) // a zone of its own
		}
	}
	for s := uint64(2); s <= uint64(count); s++ {
		want[s] = desiredReplicas(s, nodes, r)
		for _, id := range want[s] {
			load[id]++
		}
	}
	zones := func(ids []uint64) int {
		seen := map[string]bool{}
		for _, id := range ids {
			seen[zoneOf[id]] = true
		}
		return len(seen)
	}
	byLoad := slices.Collect(maps.Keys(load))
	for {
		slices.SortFunc(byLoad, func(a, b uint64) int {
			return cmp.Or(cmp.Compare(load[a], load[b]), cmp.Compare(a, b))
		})
		moved := false
	pairs:
		for hi := len(byLoad) - 1; hi > 0; hi-- {
			heavy := byLoad[hi]
			for _, light := range byLoad[:hi] {
				if load[heavy]-load[light] <= 1 {
					break
				}
				best, bestScore := uint64(0), uint64(0)
				for s := uint64(2); s <= uint64(count); s++ {
					ids := want[s]
					if !slices.Contains(ids, heavy) || slices.Contains(ids, light) {
						continue
					}
					swapped := slices.Clone(ids)
					swapped[slices.Index(swapped, heavy)] = light
					if zones(swapped) < zones(ids) {
						continue
					}
					if sc := placeScore(s, light); best == 0 || sc > bestScore {
						best, bestScore = s, sc
					}
				}
				if best != 0 {
					ids := want[best]
					ids[slices.Index(ids, heavy)] = light
					slices.Sort(ids)
					load[heavy]--
					load[light]++
					moved = true
					break pairs
				}
			}
		}
		if !moved {
			return want
		}
	}
}

// nextReplicaID is the replica id node takes in a shard whose removed ids
// are removed and whose current replica ids are current: the first epoch
// whose id is in neither.
func nextReplicaID(node uint64, removed []uint64, current map[uint64]string) uint64 {
	for epoch := uint64(0); ; epoch++ {
		id := epoch<<32 | node
		if _, ok := current[id]; ok {
			continue
		}
		if !slices.Contains(removed, id) {
			return id
		}
	}
}

// placement is the node's view of the placement record.
type placement struct {
	// r is R (0: every member holds every shard).
	r atomic.Int64

	mu      sync.RWMutex
	records map[uint64][]meta.ShardReplica
	leaving []uint64
	read    bool // records and leaving were read from the directory

	// kick asks the reconciler for a pass now.
	kick chan struct{}
	// moving counts this node's moves under way.
	moving atomic.Int32
	// followMu serialises followPlacement; failingSince (under it) is
	// when its reads of the record started failing, zero while they
	// succeed, and warned whether that was logged.
	followMu     sync.Mutex
	failingSince time.Time
	warned       bool
}

func (p *placement) replicas() int { return int(p.r.Load()) }

func (p *placement) record(shard uint64) ([]meta.ShardReplica, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	rs, ok := p.records[shard]
	return rs, ok
}

func (p *placement) isLeaving(id uint64) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Contains(p.leaving, id)
}

func (p *placement) set(records map[uint64][]meta.ShardReplica, leaving []uint64) {
	p.mu.Lock()
	p.records, p.leaving, p.read = records, leaving, true
	p.mu.Unlock()
}

// loaded reports whether the record was read from the directory yet.
func (p *placement) loaded() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.read
}

// kickPlacement asks for a reconciling pass now.
func (n *Node) kickPlacement() {
	select {
	case n.place.kick <- struct{}{}:
	default:
	}
}

// placed reports whether data shards are placed on a subset of the
// members (R > 0).
func (n *Node) placed() bool { return n.place.replicas() > 0 }

// replicaOf is this node's replica id of shard (its node id when none
// runs here, which reads then find not open).
func (n *Node) replicaOf(shard uint64) uint64 {
	if rid, ok := n.host.Replica(shard); ok {
		return rid
	}
	return n.cfg.Raft.NodeID
}

// hostedShards lists the shards this node runs a replica of.
func (n *Node) hostedShards() []uint64 {
	var out []uint64
	for _, id := range n.shards.list() {
		if n.hosts(id) {
			out = append(out, id)
		}
	}
	return out
}

// holderIDs returns the node ids holding a replica of shard (every
// member with R = 0 and for the directory shard; the desired replicas
// while the shard has no record yet).
func (n *Node) holderIDs(shard uint64) []uint64 {
	ms := n.cluster.snapshot()
	if shard != metaShard && n.placed() {
		if rs, ok := n.place.record(shard); ok {
			out := make([]uint64, len(rs))
			for i, r := range rs {
				out[i] = r.Node
			}
			return out
		}
		// No record yet (a new cluster, before its leaders first record
		// their shards): the replicas placed at its start are the desired
		// ones over its members.
		if want := n.placeMemo.get(n.shards.count(), n.eligible(), n.place.replicas())[shard]; len(want) > 0 {
			return slices.Clone(want)
		}
	}
	out := make([]uint64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// loadPlacement reads the placement record (linearizably) into n.place.
func (n *Node) loadPlacement(ctx context.Context) error {
	v, err := readAs[meta.PlacementState](ctx, n.svc, meta.PlacementQuery{})
	if err != nil {
		return err
	}
	n.place.set(v.Records, v.Leaving)
	return nil
}

// followPlacement makes this node's replicas those the record lists for
// it: it starts a listed replica that does not run here (joining the
// shard when it has no data of it) and stops and deletes a replica that
// the record no longer lists (it was removed from the shard). A shard
// without a record is left as it is. With reload it reads the record
// first, else it follows the one read last; false when the record could
// not be read.
func (n *Node) followPlacement(ctx context.Context, reload bool) bool {
	if !n.placed() || n.shards.count() < 2 {
		return true
	}
	n.place.followMu.Lock()
	defer n.place.followMu.Unlock()
	if reload || !n.place.loaded() {
		if err := n.loadPlacement(ctx); err != nil {
			n.placementReadFailed(err)
			return false
		}
		if n.place.warned {
			n.log.Info("placement: record read again", "after", time.Since(n.place.failingSince).Round(time.Second))
		}
		n.place.failingSince, n.place.warned = time.Time{}, false
	}
	self := n.cfg.Raft.NodeID
	for _, shard := range n.shards.list() {
		if shard == metaShard {
			continue
		}
		rs, ok := n.place.record(shard)
		if !ok {
			continue
		}
		var mine uint64
		for _, r := range rs {
			if r.Node == self {
				mine = r.ID
			}
		}
		running, isRunning := n.host.Started(shard)
		switch {
		case mine != 0 && isRunning && running == mine:
		case mine != 0:
			if isRunning {
				n.dropReplica(ctx, shard, running)
			}
			join := !n.host.HasReplicaData(shard, mine)
			n.log.Info("placement: starting a replica the record gives this node", "shard_id", shard, "replica_id", mine, "join", join)
			start := time.Now()
			if err := n.startReplica(shard, mine, join); err != nil {
				n.log.Warn("placement: replica not started", "shard_id", shard, "replica_id", mine, "err", err)
				continue
			}
			n.log.Info("placement: replica started", "shard_id", shard, "replica_id", mine, "join", join, "took", time.Since(start).Round(time.Millisecond))
		case isRunning:
			n.dropReplica(ctx, shard, running)
		}
	}
	return true
}

// placementReadFailed logs a failed read of the placement record: at
// debug level while failures are brief (a leader change), once at warn
// level when they have lasted placementReadWarn, since this node then
// starts and stops none of the replicas the record gives or takes from it.
func (n *Node) placementReadFailed(err error) {
	now := time.Now()
	if n.place.failingSince.IsZero() {
		n.place.failingSince = now
	}
	if n.place.warned || now.Sub(n.place.failingSince) < placementReadWarn {
		n.log.Debug("placement: record not read", "err", err)
		return
	}
	n.place.warned = true
	n.log.Warn("placement: record not read; this node's replicas follow no change of it until it is", "for", now.Sub(n.place.failingSince).Round(time.Second), "err", err)
}

// dropReplica stops this node's replica of shard and deletes its data.
func (n *Node) dropReplica(ctx context.Context, shard, rid uint64) {
	if err := n.host.StopShard(shard); err != nil {
		n.log.Warn("placement: replica not stopped", "shard_id", shard, "replica_id", rid, "err", err)
		return
	}
	if err := n.removeReplicaData(ctx, shard, rid); err != nil {
		n.log.Warn("placement: replica data not removed", "shard_id", shard, "replica_id", rid, "err", err)
		return
	}
	n.log.Info("placement: replica removed from this node", "shard_id", shard, "replica_id", rid)
}

// removeReplicaData deletes a stopped replica's Raft data and metadata
// store. The state machine closes shortly after its shard stops.
func (n *Node) removeReplicaData(ctx context.Context, shard, rid uint64) error {
	if err := n.host.RemoveReplicaData(ctx, shard, rid); err != nil {
		return err
	}
	dir := filepath.Join(n.cfg.DataDir, "meta")
	for {
		err := n.local.RemoveReplicaData(dir, shard, rid)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// onDiskReplicas lists the data shard replicas whose metadata store and
// Raft data are in this node's data dir, by shard (the newest replica id
// of a shard when there are several), and deletes the metadata stores
// left without Raft data. It runs before any data shard replica starts.
func (n *Node) onDiskReplicas() map[uint64]uint64 {
	dir := filepath.Join(n.cfg.DataDir, "meta")
	out := map[uint64]uint64{}
	reps, err := n.local.Replicas(dir)
	if err != nil {
		n.log.Warn("placement: replicas in the metadata store not listed", "err", err)
	}
	for _, sr := range reps {
		shard, rid := sr[0], sr[1]
		if shard == metaShard || raft.NodeOfReplica(rid) != n.cfg.Raft.NodeID {
			continue
		}
		if !n.host.HasReplicaData(shard, rid) {
			// A dropped replica whose Raft data went and whose metadata
			// outlived it (a stop between the two deletions).
			if err := n.local.RemoveReplicaData(dir, shard, rid); err != nil {
				n.log.Warn("placement: leftover replica store not removed", "shard_id", shard, "replica_id", rid, "err", err)
			}
			continue
		}
		if rid > out[shard] {
			out[shard] = rid
		}
	}
	return out
}

// placeLoop runs the reconciler of the data shards this node leads: a
// pass at every tick over the shards whose inputs changed (placeInputs),
// a full pass when kicked.
func (n *Node) placeLoop() {
	defer n.wg.Done()
	t := time.NewTicker(placeInterval)
	defer t.Stop()
	settled := map[uint64]placeInputs{}
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		case <-n.place.kick:
			clear(settled)
		}
		if !n.placed() {
			continue
		}
		n.reconcileWith(n.life, settled)
	}
}

// reconcile runs one full pass over the data shards this node leads, one
// at a time; it returns the moves made.
func (n *Node) reconcile(ctx context.Context) []ReplicaMove {
	return n.reconcileWith(ctx, nil)
}

// reconcileWith is reconcile, skipping each shard whose inputs are those
// settled records for it (a pass that found its placement as desired),
// and recording in settled the shards a pass finds so. settled nil: a
// full pass.
//
// A pass reads the directory and the shard's membership linearizably,
// and a linearizable read wakes a quiesced shard: a pass every
// placeInterval over every shard kept every data shard awake on an idle
// cluster. Whatever a pass acts on is the local replicas' applied state
// by the time it could matter, so a pass whose inputs, read locally, did
// not change since one that found nothing to do would find nothing
// either; a full pass still runs every placeRecheck.
func (n *Node) reconcileWith(ctx context.Context, settled map[uint64]placeInputs) []ReplicaMove {
	var moves []ReplicaMove
	for _, shard := range n.shards.list() {
		if shard == metaShard || !n.leads(shard) {
			delete(settled, shard)
			continue
		}
		in, known := n.placeInputs(shard)
		if prev, ok := settled[shard]; ok && known && prev.same(in) && time.Since(prev.at) < placeRecheck {
			continue
		}
		mv, done, err := n.reconcileShard(ctx, shard)
		if err != nil {
			n.log.Warn("placement: pass failed", "shard_id", shard, "err", err)
		}
		moves = append(moves, mv...)
		if settled == nil {
			continue
		}
		if done && err == nil && known {
			settled[shard] = in
		} else {
			delete(settled, shard)
		}
	}
	return moves
}

// placeInputs is what a placement pass over a data shard depends on, as
// this node's replicas have applied it (no Raft round): the shard's
// membership (the index of its last membership change applied here) and
// leadership, the directory (its applied index: the placement records,
// the leaving members, the node records), the member list, the members
// this node sees down (downnodes.go) and R.
type placeInputs struct {
	configIndex uint64
	term        uint64
	directory   uint64
	members     string
	down        string
	r           int
	at          time.Time
}

func (a placeInputs) same(b placeInputs) bool {
	return a.configIndex == b.configIndex && a.term == b.term && a.directory == b.directory &&
		a.members == b.members && a.down == b.down && a.r == b.r
}

// placeInputs reads shard's placeInputs (ok false when the shard's local
// view cannot be read).
func (n *Node) placeInputs(shard uint64) (placeInputs, bool) {
	v, ok := n.host.LocalView(shard)
	if !ok {
		return placeInputs{}, false
	}
	var ms strings.Builder
	for _, m := range n.cluster.snapshot() {
		fmt.Fprintf(&ms, "%d=%s/%s;", m.ID, m.RaftAddr, m.Zone)
	}
	return placeInputs{
		configIndex: v.ConfigChangeIndex,
		term:        v.Term,
		directory:   n.local.Applied(metaShard, n.replicaOf(metaShard)),
		members:     ms.String(),
		down:        downKey(n.downMembers()),
		r:           n.place.replicas(),
		at:          time.Now(),
	}, true
}

// ReplicaMove is one change of a data shard's replicas.
type ReplicaMove struct {
	Shard   uint64 `json:"shard_id"`
	Op      string `json:"op"` // "add" or "remove"
	Node    uint64 `json:"node"`
	Replica uint64 `json:"replica_id"`
}

// eligible returns the members a data shard may be placed on: those not
// leaving whose Raft address is known.
func (n *Node) eligible() []placeNode {
	var out []placeNode
	for _, m := range n.cluster.snapshot() {
		if m.RaftAddr == "" || n.place.isLeaving(m.ID) {
			continue
		}
		out = append(out, placeNode{ID: m.ID, Zone: m.Zone})
	}
	return out
}

// movesUnderWay counts the data shards whose record has more replicas
// than R (a move between its add and its remove), other than shard.
func (n *Node) movesUnderWay(shard uint64) int {
	r := n.place.replicas()
	count := 0
	n.place.mu.RLock()
	defer n.place.mu.RUnlock()
	for id, rs := range n.place.records {
		if id != shard && len(rs) > r {
			count++
		}
	}
	return count
}

// reconcileShard brings one data shard this node leads one step closer to
// its desired placement: record the actual replicas, add a desired node
// that holds none and wait until it has caught up, then remove a replica
// that is not desired (handing the leadership over first when it is this
// node's). Every step is idempotent: a pass after a crash anywhere starts
// again from the shard's Raft membership.
func (n *Node) reconcileShard(ctx context.Context, shard uint64) ([]ReplicaMove, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, catchUpWait+30*time.Second)
	defer cancel()
	if err := n.loadPlacement(ctx); err != nil {
		return nil, false, err
	}
	// The members after the record: a removal retires its node, then
	// clears its leaving mark, so a record without the mark comes with a
	// member list without the node. With the list the membership loop
	// read last, a pass right after a removal took the retired node, no
	// longer leaving, for a member to place replicas on, and added it back.
	if err := n.cluster.refresh(ctx); err != nil {
		return nil, false, err
	}
	voters, removed, err := n.host.MembershipInfo(ctx, shard)
	if err != nil {
		return nil, false, err
	}
	if err := n.recordPlacement(ctx, shard, voters); err != nil {
		return nil, false, err
	}
	nodes := n.placeTargets()
	if len(nodes) == 0 {
		return nil, false, nil
	}
	want := n.placeMemo.get(n.shards.count(), nodes, n.place.replicas())[shard]
	actual := map[uint64]uint64{} // node -> replica id
	for rid := range voters {
		actual[raft.NodeOfReplica(rid)] = rid
	}
	var moves []ReplicaMove
	for _, node := range want {
		if _, ok := actual[node]; ok {
			continue
		}
		if n.movesUnderWay(shard) >= maxMovesUnderWay {
			n.log.Debug("placement: waiting for other moves", "shard_id", shard)
			return moves, false, nil
		}
		addr := n.raftAddrOf(node)
		if addr == "" {
			continue
		}
		if !n.answers(ctx, node) {
			// A voter that cannot vote would leave the shard one failure
			// from losing its majority: say a leader that started after a
			// member died, not knowing it down yet (downnodes.go).
			if n.downs.quietLog(node, time.Now()) {
				n.log.Info("placement: not adding a replica on a member that does not answer", "shard_id", shard, "node", node)
			}
			continue
		}
		rid := nextReplicaID(node, removed, voters)
		target := n.local.Applied(shard, n.replicaOf(shard))
		if err := n.host.AddReplica(ctx, shard, rid, addr); err != nil {
			return moves, false, err
		}
		n.log.Info("placement: replica added", "shard_id", shard, "node", node, "replica_id", rid)
		moves = append(moves, ReplicaMove{Shard: shard, Op: "add", Node: node, Replica: rid})
		voters[rid] = addr
		actual[node] = rid
		if err := n.recordPlacement(ctx, shard, voters); err != nil {
			return moves, false, err
		}
		if err := n.waitCaughtUp(ctx, shard, node, target); err != nil {
			return moves, false, err
		}
		break // one move at a time: the surplus goes next
	}
	if len(actual) <= len(want) {
		// As desired when nothing moved and every desired node holds one.
		settled := len(moves) == 0 && len(actual) == len(want)
		for _, node := range want {
			_, ok := actual[node]
			settled = settled && ok
		}
		return moves, settled, nil
	}
	// A replica too many: remove one that is not desired, a leaving
	// node's first.
	var victim uint64
	for node := range actual {
		if slices.Contains(want, node) {
			continue
		}
		if victim == 0 || (n.place.isLeaving(node) && !n.place.isLeaving(victim)) ||
			(n.place.isLeaving(node) == n.place.isLeaving(victim) && node < victim) {
			victim = node
		}
	}
	if victim == 0 {
		return moves, false, nil
	}
	for _, node := range want {
		if _, ok := actual[node]; !ok {
			return moves, false, nil // a desired node still lacks its replica
		}
		// The surplus goes only once every desired replica runs and has
		// caught up (a pass that timed out waiting left one that may
		// not have).
		if node != n.cfg.Raft.NodeID {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := n.waitCaughtUp(cctx, shard, node, n.local.Applied(shard, n.replicaOf(shard)))
			cancel()
			if err != nil {
				return moves, false, err
			}
		}
	}
	if victim == n.cfg.Raft.NodeID {
		// Hand the leadership to a desired replica; its leader removes
		// this one.
		to := actual[want[0]]
		if err := n.host.TransferLeader(ctx, shard, to); err != nil {
			return moves, false, err
		}
		n.log.Info("placement: leadership handed over before this node's replica goes", "shard_id", shard, "to", want[0])
		return moves, false, nil
	}
	rid := actual[victim]
	if err := n.host.RemoveReplica(ctx, shard, rid); err != nil {
		return moves, false, err
	}
	n.log.Info("placement: replica removed", "shard_id", shard, "node", victim, "replica_id", rid)
	moves = append(moves, ReplicaMove{Shard: shard, Op: "remove", Node: victim, Replica: rid})
	delete(voters, rid)
	return moves, false, n.recordPlacement(ctx, shard, voters)
}

// recordPlacement writes shard's record from its voters when it differs.
func (n *Node) recordPlacement(ctx context.Context, shard uint64, voters map[uint64]string) error {
	rs := make([]meta.ShardReplica, 0, len(voters))
	for rid := range voters {
		rs = append(rs, meta.ShardReplica{Node: raft.NodeOfReplica(rid), ID: rid})
	}
	slices.SortFunc(rs, func(a, b meta.ShardReplica) int { return cmp.Compare(a.Node, b.Node) })
	if old, ok := n.place.record(shard); ok && slices.Equal(old, rs) {
		return nil
	}
	if _, err := n.svc.propose(ctx, &meta.SetPlacement{Shard: shard, Replicas: rs}); err != nil {
		return err
	}
	n.place.mu.Lock()
	if n.place.records == nil {
		n.place.records = map[uint64][]meta.ShardReplica{}
	}
	n.place.records[shard] = rs
	n.place.mu.Unlock()
	return nil
}

// raftAddrOf returns a member's Raft address ("" when not a member).
func (n *Node) raftAddrOf(id uint64) string {
	for _, m := range n.cluster.snapshot() {
		if m.ID == id {
			return m.RaftAddr
		}
	}
	return ""
}

// waitCaughtUp waits until node's replica of shard has applied target,
// asking its status.
func (n *Node) waitCaughtUp(ctx context.Context, shard, node, target uint64) error {
	ctx, cancel := context.WithTimeout(ctx, catchUpWait)
	defer cancel()
	for {
		// The member again each time: its address may have been
		// unknown here when it was added.
		m := member{ID: node}
		for _, x := range n.cluster.snapshot() {
			if x.ID == node {
				m = x
			}
		}
		st := n.cluster.memberStatus(ctx, m)
		if applied, running := st.Applied[shard]; running && applied >= target {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: node %d has not caught up with shard %d (index %d of %d)", ErrUnavailable, node, shard, st.Applied[shard], target)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// replicasOn counts the data shard replicas the record lists on node.
func (n *Node) replicasOn(node uint64) int {
	n.place.mu.RLock()
	defer n.place.mu.RUnlock()
	count := 0
	for _, rs := range n.place.records {
		for _, r := range rs {
			if r.Node == node {
				count++
			}
		}
	}
	return count
}
