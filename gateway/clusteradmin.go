package gateway

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// NodeStatus is one node's view of itself.
type NodeStatus struct {
	NodeID       uint64 `json:"node_id"`
	RaftAddr     string `json:"raft_addr"`
	S3Addr       string `json:"s3_addr"`
	Zone         string `json:"zone,omitempty"` // failure zone, empty when not set
	Reachable    bool   `json:"reachable"`
	Ready        bool   `json:"ready"`
	AppliedIndex uint64 `json:"applied_index"`
	LeaderID     uint64 `json:"leader_id"`
	// RepairBacklog counts the chunks this node should hold and lacks.
	RepairBacklog int64 `json:"repair_backlog"`
	// UnderReplicated counts the chunks with fewer than R copies on their
	// holders among those this node counts (each chunk is counted by one
	// member: the first in its placement order that is up). The sum over
	// the members is the cluster's figure.
	UnderReplicated int64 `json:"under_replicated_chunks"`
	// RepairPending: no repair pass has scanned every chunk since the
	// membership last changed (or the node started), so the two figures
	// above are not yet those of the current membership.
	RepairPending bool `json:"repair_pending"`
	// ChunkFiles counts the chunk files in this node's chunk store.
	ChunkFiles int64 `json:"chunk_files"`
	// GCCursor is the GC queue version up to which this node has deleted
	// its chunk copies; the leader trims the queue up to the lowest
	// member's.
	GCCursor uint64 `json:"gc_cursor"`
	// GCCursors are the same for the other metadata shards.
	GCCursors map[uint64]uint64 `json:"gc_cursors,omitempty"`
	// Applied is the applied index of each shard replica this node runs,
	// by shard id.
	Applied map[uint64]uint64 `json:"applied,omitempty"`
	// Leaders is the leader (node id) of each shard this node runs a
	// replica of, as it knows it.
	Leaders map[uint64]uint64 `json:"leaders,omitempty"`
	// Disk is "ok: ..." or "low: ..." (below --min-free-space: the node
	// refuses new data), with the free space and the threshold.
	Disk  string `json:"disk,omitempty"`
	Error string `json:"error,omitempty"`
}

// ClusterStatus is the cluster as one node sees it, with every member's
// own status.
type ClusterStatus struct {
	LeaderID uint64       `json:"leader_id"`
	Replicas int          `json:"replicas"`
	Members  []NodeStatus `json:"members"`
	Retired  []uint64     `json:"retired"`
	// UnderReplicated is the cluster's count of chunks with fewer than
	// Replicas copies (the sum of the reachable members' counts);
	// RepairPending says some member has not yet counted with the current
	// membership.
	UnderReplicated int64 `json:"under_replicated_chunks"`
	RepairPending   bool  `json:"repair_pending"`
	// Down are the members this node has seen fail every request for
	// --replace-down-after: their shard replicas and chunk copies are
	// placed on the other members (downnodes.go).
	Down []uint64 `json:"down,omitempty"`
	// Shards are the metadata shards as this node sees them.
	Shards []ShardStatus `json:"shards"`
	// Error says why the membership could not be read now (no majority,
	// say): the members shown are the last ones this node knew.
	Error string `json:"error,omitempty"`
}

// readyTimeout bounds the readiness check of a status request.
const readyTimeout = 2 * time.Second

// NodeStatus returns this node's status without a Raft round trip
// (readiness aside, which is a ReadIndex).
func (s *Service) NodeStatus(ctx context.Context) NodeStatus {
	n := s.node
	st := NodeStatus{
		NodeID: n.cfg.Raft.NodeID, RaftAddr: n.cfg.Raft.RaftAddr, S3Addr: n.cfg.AdvertiseS3, Zone: n.cfg.Zone,
		Reachable:       true,
		AppliedIndex:    n.local.Applied(metaShard, n.cfg.Raft.NodeID),
		Applied:         map[uint64]uint64{},
		Leaders:         s.LocalLeaders(),
		RepairBacklog:   n.cluster.blocks.Backlog(),
		UnderReplicated: n.cluster.blocks.UnderReplicated(),
		RepairPending:   n.cluster.repairPending(),
		GCCursor:        n.gc.of(metaShard).cursor.Load(),
		GCCursors:       gcCursors(&n.gc),
		Disk:            n.disk.Status(),
	}
	for _, id := range n.hostedShards() {
		st.Applied[id] = n.local.Applied(id, n.replicaOf(id))
	}
	st.ChunkFiles, _ = n.chunks.Usage()
	st.LeaderID, _ = n.host.LeaderID(metaShard)
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := n.Ready(ctx); err != nil {
		st.Error = err.Error()
	} else {
		st.Ready = true
	}
	return st
}

// ClusterStatus returns the members (from a linearizable membership read),
// each with the status it reports itself.
func (s *Service) ClusterStatus(ctx context.Context) (*ClusterStatus, error) {
	c := s.node.cluster
	rctx, cancel := context.WithTimeout(ctx, readyTimeout)
	refreshErr := c.refresh(rctx)
	cancel()
	ms := c.snapshot()
	out := &ClusterStatus{Replicas: c.replicas(ms), Members: make([]NodeStatus, len(ms))}
	if refreshErr != nil {
		out.Error = "membership not current: " + refreshErr.Error()
	}
	out.LeaderID, _ = s.node.host.LeaderID(metaShard)
	out.Shards = s.node.shardStatuses(ctx)
	out.Down = s.node.downMembers()
	c.mu.RLock()
	out.Retired = append([]uint64{}, c.retired...)
	c.mu.RUnlock()
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out.Members[i] = c.memberStatus(ctx, m)
		}()
	}
	wg.Wait()
	for _, m := range out.Members {
		if m.Reachable {
			out.UnderReplicated += m.UnderReplicated
			out.RepairPending = out.RepairPending || m.RepairPending
		}
	}
	// Each shard's replicas as their holders report them.
	for i := range out.Shards {
		sh := &out.Shards[i]
		for _, m := range out.Members {
			if a, ok := m.Applied[sh.ShardID]; ok && slices.Contains(sh.Replicas, m.NodeID) {
				if sh.ReplicaApplied == nil {
					sh.ReplicaApplied = map[string]uint64{}
				}
				sh.ReplicaApplied[strconv.FormatUint(m.NodeID, 10)] = a
			}
			if lid := m.Leaders[sh.ShardID]; sh.LeaderID == 0 && lid != 0 {
				sh.LeaderID = lid
			}
		}
	}
	return out, nil
}

// memberStatus asks member m for its status.
func (c *cluster) memberStatus(ctx context.Context, m member) NodeStatus {
	if m.ID == c.self {
		return c.n.svc.NodeStatus(ctx)
	}
	st := NodeStatus{NodeID: m.ID, RaftAddr: m.RaftAddr, S3Addr: m.S3Addr}
	if m.S3Addr == "" {
		st.Error = "address not known yet"
		return st
	}
	ctx, cancel := context.WithTimeout(ctx, 2*readyTimeout)
	defer cancel()
	if err := c.peer.GetJSON(ctx, "GET", m.peer(), "status", &st); err != nil {
		st = NodeStatus{NodeID: m.ID, RaftAddr: m.RaftAddr, S3Addr: m.S3Addr, Error: err.Error()}
	}
	return st
}

// minGCCursor returns limit, or the lowest GC cursor of the other
// members when that is lower; 0 when a member cannot be asked. A member
// down (Config.ReplaceDownAfter) is not asked and does not hold the trim:
// otherwise the queue of every shard would grow for as long as it stays
// down. When it returns, its copies of the chunks whose entries were
// trimmed meanwhile are orphans, and the orphan sweep deletes them
// (block.Manager.SweepOrphans).
func (c *cluster) minGCCursor(ctx context.Context, shard, limit uint64) uint64 {
	down := c.n.downMembers()
	for _, m := range c.snapshot() {
		if m.ID == c.self || slices.Contains(down, m.ID) {
			continue
		}
		st := c.memberStatus(ctx, m)
		if !st.Reachable {
			return 0
		}
		if shard == metaShard {
			limit = min(limit, st.GCCursor)
		} else {
			limit = min(limit, st.GCCursors[shard])
		}
	}
	return limit
}

// checkHostPort validates a host:port address.
func checkHostPort(what, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return fmt.Errorf("%w: %s %q is not host:port", ErrInvalidMember, what, addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return fmt.Errorf("%w: %s %q has no valid port", ErrInvalidMember, what, addr)
	}
	return nil
}

// AddMember adds a node to the cluster: its addresses go into the
// metadata, then it becomes a voting member of the metadata shard. The
// node is then started with --join. Ids are never reused: a removed id is
// refused with meta.ErrNodeRetired. Adding a member that is already there
// at the same address succeeds.
func (s *Service) AddMember(ctx context.Context, id uint64, raftAddr, s3Addr string) (*NodeStatus, error) {
	if id == 0 {
		return nil, fmt.Errorf("%w: node id must be a positive integer", ErrInvalidMember)
	}
	if err := checkHostPort("raft address", raftAddr); err != nil {
		return nil, err
	}
	if err := checkHostPort("s3 address", s3Addr); err != nil {
		return nil, err
	}
	if s.node.cfg.ClusterKey == "" {
		return nil, fmt.Errorf("%w: restart the nodes with --cluster-key first", ErrClusterKeyRequired)
	}
	c := s.node.cluster
	if err := c.refresh(ctx); err != nil {
		return nil, err
	}
	c.mu.RLock()
	retired := contains(c.retired, id)
	c.mu.RUnlock()
	if retired {
		return nil, fmt.Errorf("%w: node %d", meta.ErrNodeRetired, id)
	}
	for _, m := range c.snapshot() {
		if m.ID == id && m.RaftAddr != raftAddr {
			return nil, fmt.Errorf("%w: node %d is at %s", ErrNodeExists, id, m.RaftAddr)
		}
	}
	if _, err := s.propose(ctx, &meta.RegisterNode{Node: meta.Node{ID: id, RaftAddr: raftAddr, S3Addr: s3Addr}}); err != nil {
		return nil, err
	}
	// The new node learns the shard count from the directory: record it,
	// and make the node a member of every other shard first (with placed
	// shards, of the directory shard only: placement moves data shard
	// replicas onto it once it is a member).
	if err := s.node.recordShards(ctx); err != nil {
		return nil, err
	}
	for _, shard := range s.node.shards.list() {
		if shard == metaShard || s.node.placed() {
			continue
		}
		if err := s.node.host.AddReplica(ctx, shard, id, raftAddr); err != nil && !strings.Contains(err.Error(), "already a member") {
			return nil, unavailable(err)
		}
	}
	if err := s.node.host.AddReplica(ctx, metaShard, id, raftAddr); err != nil {
		switch {
		case strings.Contains(err.Error(), "cannot be reused"):
			return nil, fmt.Errorf("%w: node %d", meta.ErrNodeRetired, id)
		case strings.Contains(err.Error(), "already a member"):
			return nil, fmt.Errorf("%w: %v", ErrNodeExists, err)
		}
		return nil, unavailable(err)
	}
	if err := c.refresh(ctx); err != nil {
		return nil, err
	}
	s.node.kickPlacement()
	s.node.log.Info("cluster member added", "node", id, "raft_addr", raftAddr, "s3_addr", s3Addr)
	return &NodeStatus{NodeID: id, RaftAddr: raftAddr, S3Addr: s3Addr}, nil
}

// RemoveMember removes a node from the cluster for good: its id is retired
// and repair restores the copies it held on the remaining members.
func (s *Service) RemoveMember(ctx context.Context, id uint64) error {
	c := s.node.cluster
	if err := c.refresh(ctx); err != nil {
		return err
	}
	ms := c.snapshot()
	found := false
	for _, m := range ms {
		found = found || m.ID == id
	}
	if !found {
		c.mu.RLock()
		retired := contains(c.retired, id)
		c.mu.RUnlock()
		if !retired {
			return fmt.Errorf("%w: node %d", ErrNoSuchNode, id)
		}
	}
	if found && len(ms) == 1 {
		return fmt.Errorf("%w: node %d is the last member", ErrInvalidMember, id)
	}
	if found && s.node.placed() {
		if err := s.moveOff(ctx, id); err != nil {
			return err
		}
	}
	for _, shard := range s.node.shards.list() {
		if shard == metaShard || s.node.placed() {
			continue
		}
		if err := s.node.host.RemoveReplica(ctx, shard, id); err != nil {
			return unavailable(err)
		}
	}
	if err := s.node.host.RemoveReplica(ctx, metaShard, id); err != nil {
		return unavailable(err)
	}
	if _, err := s.propose(ctx, &meta.RetireNode{ID: id}); err != nil {
		return err
	}
	if err := c.refresh(ctx); err != nil && !errors.Is(err, ErrUnavailable) {
		return err
	}
	c.kickRepair()
	if s.node.placed() {
		if _, err := s.propose(ctx, &meta.SetLeaving{Node: id}); err != nil {
			s.node.log.Warn("the leaving mark of a removed node stays", "node", id, "err", err)
		}
	}
	s.node.log.Info("cluster member removed", "node", id)
	return nil
}

// moveOff marks node as leaving and waits until placement has moved every
// data shard replica off it (or ctx ends: ErrUnavailable, the moves go on
// and the removal can be asked again).
func (s *Service) moveOff(ctx context.Context, id uint64) error {
	if _, err := s.propose(ctx, &meta.SetLeaving{Node: id, Leaving: true}); err != nil {
		return err
	}
	s.node.log.Info("cluster member leaving: moving its shard replicas off", "node", id)
	if d, ok := ctx.Deadline(); ok {
		// Keep time for the rest of the removal.
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-time.Until(d)/5))
		defer cancel()
	}
	var left []uint64
	for {
		s.node.kickPlacement()
		left = left[:0]
		if err := s.node.loadPlacement(ctx); err == nil {
			for _, shard := range s.node.shards.list() {
				if shard == metaShard {
					continue
				}
				rs, ok := s.node.place.record(shard)
				if !ok || slices.ContainsFunc(rs, func(r meta.ShardReplica) bool { return r.Node == id }) {
					left = append(left, shard)
				}
			}
			if len(left) == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: node %d still holds replicas of metadata shards %v", ErrReplicasMoving, id, left)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// TransferLeader moves the metadata shard's leadership to node id.
func (s *Service) TransferLeader(ctx context.Context, id uint64) error {
	c := s.node.cluster
	if err := c.refresh(ctx); err != nil {
		return err
	}
	found := false
	for _, m := range c.snapshot() {
		found = found || m.ID == id
	}
	if !found {
		return fmt.Errorf("%w: node %d", ErrNoSuchNode, id)
	}
	if err := s.node.host.TransferLeader(ctx, metaShard, id); err != nil {
		return unavailable(err)
	}
	return nil
}

// DigestResult is every member's metadata digest at one version (of the
// directory shard; Shards has those of the other shards).
type DigestResult struct {
	Version uint64            `json:"-"`
	Digests map[string]string `json:"digests"`
	Errors  map[string]string `json:"errors,omitempty"`
	// Shards has, for every other shard (by id), each member's digest of
	// that shard at one version of it, and errors by node.
	Shards map[string]*DigestResult `json:"shards,omitempty"`
}

// digestWait bounds how long a member is waited for to apply a Digest.
const digestWait = 10 * time.Second

// ClusterDigest has every replica hash its metadata at the same point of
// the log (a Digest command) and collects the hashes.
func (s *Service) ClusterDigest(ctx context.Context) (*DigestResult, error) {
	out, err := s.shardDigest(ctx, metaShard)
	if err != nil {
		return nil, err
	}
	for _, shard := range s.node.shards.list() {
		if shard == metaShard {
			continue
		}
		d, err := s.shardDigest(ctx, shard)
		if err != nil {
			return nil, err
		}
		if out.Shards == nil {
			out.Shards = map[string]*DigestResult{}
		}
		out.Shards[strconv.FormatUint(shard, 10)] = d
	}
	return out, nil
}

func (s *Service) shardDigest(ctx context.Context, shard uint64) (*DigestResult, error) {
	res, err := s.proposeOn(ctx, shard, &meta.Digest{})
	if err != nil {
		return nil, err
	}
	c := s.node.cluster
	digests, errs := fanOut(s.node.holders(shard), func(m member) (string, error) {
		return c.memberDigest(ctx, m, shard, res.Version)
	})
	return &DigestResult{Version: res.Version, Digests: digests, Errors: errs}, nil
}

// fanOut asks every member at once and collects the answers and the
// errors by node id.
func fanOut[T any](ms []member, ask func(m member) (T, error)) (map[string]T, map[string]string) {
	answers, errs := map[string]T{}, map[string]string{}
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for _, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := ask(m)
			mu.Lock()
			defer mu.Unlock()
			key := strconv.FormatUint(m.ID, 10)
			if err != nil {
				errs[key] = err.Error()
				return
			}
			answers[key] = v
		}()
	}
	wg.Wait()
	return answers, errs
}

func (c *cluster) memberDigest(ctx context.Context, m member, shard, version uint64) (string, error) {
	if m.ID == c.self {
		return c.n.svc.LocalDigest(ctx, shard, version)
	}
	if m.S3Addr == "" {
		return "", errors.New("address not known yet")
	}
	ctx, cancel := context.WithTimeout(ctx, digestWait+5*time.Second)
	defer cancel()
	var out struct {
		Digest string `json:"digest"`
	}
	q := "digest?version=" + strconv.FormatUint(version, 10)
	if shard != metaShard {
		q += "&shard=" + strconv.FormatUint(shard, 10)
	}
	err := c.peer.GetJSON(ctx, "GET", m.peer(), q, &out)
	return out.Digest, err
}

// LocalDigest waits (briefly) for the local replica to apply the Digest
// command of version and returns its hash.
func (s *Service) LocalDigest(ctx context.Context, shard, version uint64) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, digestWait)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if d, ok := s.node.local.Digest(shard, s.node.replicaOf(shard), version); ok {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%w: no digest at version %d on node %d (not applied yet, or rebuilt from a later snapshot)",
				ErrUnavailable, version, s.node.cfg.Raft.NodeID)
		case <-t.C:
		}
	}
}

// Scrub runs a scrub pass on this node now.
func (s *Service) Scrub(ctx context.Context) (ScrubResult, error) {
	return s.node.cluster.scrub(ctx)
}

// ClusterScrub runs a scrub pass on every member and collects the counts.
func (s *Service) ClusterScrub(ctx context.Context) (map[string]ScrubResult, map[string]string, error) {
	c := s.node.cluster
	if err := c.refresh(ctx); err != nil {
		return nil, nil, err
	}
	results, errs := fanOut(c.snapshot(), func(m member) (ScrubResult, error) {
		var res ScrubResult
		switch {
		case m.ID == c.self:
			return c.scrub(ctx)
		case m.S3Addr == "":
			return res, errors.New("address not known yet")
		}
		err := c.peer.GetJSON(ctx, "POST", m.peer(), "scrub", &res)
		return res, err
	})
	return results, errs, nil
}

// ReceiveChunk stores a chunk copy sent by another node: the body must
// be size bytes followed by the trailer that authenticates them under the
// signed body digest ("<size>:gmac:<salt>", block/bodymac.go), checked
// as it streams; otherwise nothing is stored and the error is
// ErrChunkMissing.
func (s *Service) ReceiveChunk(ctx context.Context, id string, size int64, bodyDigest string, body io.Reader) error {
	n, salt, ok := ParseChunkBodyDigest(bodyDigest)
	if !ok || n != size {
		return fmt.Errorf("%w: chunk copy %s: signed body digest %q does not match size %d", ErrChunkMissing, id, bodyDigest, size)
	}
	return s.node.cluster.blocks.Receive(id, size, salt, body)
}

// ReadPeerBody reads the whole body of a peer request (at most limit
// bytes) and checks it against the signed body digest.
func ReadPeerBody(bodyDigest string, r io.Reader, limit int64) ([]byte, error) {
	n, sum, ok := ParsePeerBodyDigest(bodyDigest)
	if !ok || n > limit {
		return nil, fmt.Errorf("%w: body digest %q", ErrPeerBody, bodyDigest)
	}
	b, err := io.ReadAll(io.LimitReader(r, n+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != n || sha256.Sum256(b) != sum {
		return nil, fmt.Errorf("%w: body does not match its signed digest", ErrPeerBody)
	}
	return b, nil
}

// HasLocalChunk reports whether this node has a copy of the chunk of the
// given size.
func (s *Service) HasLocalChunk(id string, size int64) bool {
	return s.node.chunks.HasCopy(id, size)
}

// OpenLocalChunk opens this node's copy of a chunk for another node,
// verified as a whole-chunk read is. It fails with ErrChunkMissing when
// there is no good copy here.
func (s *Service) OpenLocalChunk(id string, size int64, crc uint32) (ReadCloser, error) {
	return s.node.chunks.NewObjectReader(nil, []meta.Chunk{{ID: id, Size: size, CRC32C: crc}}, 0, size), nil
}

func contains(s []uint64, v uint64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
