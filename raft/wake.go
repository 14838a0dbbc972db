package raft

import (
	"sync/atomic"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/raftio"
)

// Quiesced shards (Config.Quiesce). A shard with no traffic for ten
// election timeouts stops ticking: no heartbeats, no election clock. Any
// message or read wakes a replica, and a woken follower that has heard
// nothing from its leader for an election timeout campaigns at its next
// tick. What Dragonboat does not do is notice that the leader of a
// quiesced shard died: nothing is sent, so nothing fails, and a proposal
// through a follower does not wake it either (only messages and reads
// do). Two things wake such a shard here:
//
//   - a request that has had no answer for an election timeout wakes its
//     replica (wake, from waitResult), so a proposal to a quiesced shard
//     whose leader died is answered after an election rather than never;
//   - a node the transport fails to reach (a connection refused or
//     broken), or whose connection to this node ended, has its shards
//     woken on this node: every replica here whose leader is at that
//     address (wakeListener). A killed process has its connections closed
//     by its kernel, so its peers see them end at once. The awake shard
//     (Config.AwakeShard) keeps messages flowing between all nodes, so a
//     node that dies is noticed within a heartbeat or an election of the
//     awake shard, and the shards it led elect new leaders at once
//     rather than on their next request.

// electionTimeout is the nominal election timeout of shardID.
func (h *Host) electionTimeout(shardID uint64) time.Duration {
	election, _ := h.cfg.timing(shardID)
	return time.Duration(h.cfg.RTTMillisecond*election) * time.Millisecond
}

// wake makes this node's replica of shardID leave quiesce, by a
// ReadIndex whose answer nobody waits for (a request's state is buffered:
// an unread answer blocks nothing). A shard is woken at most once per
// election timeout: under a load slow enough that many requests wait that
// long, the wakes stay one cheap read per shard.
func (h *Host) wake(shardID uint64) {
	if h.closed.Load() {
		return
	}
	now := time.Now()
	if last, ok := h.woken.Load(shardID); ok && now.Sub(last.(time.Time)) < h.electionTimeout(shardID) {
		return
	}
	h.woken.Store(shardID, now)
	if _, err := h.nh.ReadIndex(shardID, max(h.electionTimeout(shardID), time.Second)); err != nil {
		h.log.Debug("raft shard not woken", "shard_id", shardID, "err", err)
		return
	}
	h.log.Debug("raft shard woken", "shard_id", shardID)
}

// wakeLedFrom wakes this node's replicas of the shards whose leader, as
// this node knows it, is the replica at addr; why is logged.
func (h *Host) wakeLedFrom(addr, why string) {
	if h.closed.Load() {
		return
	}
	info := h.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true})
	if info == nil {
		return
	}
	for _, si := range info.ShardInfoList {
		lid, ok := h.LeaderID(si.ShardID)
		if !ok || lid == si.ReplicaID || si.Replicas[lid] != addr {
			continue
		}
		h.log.Info("raft shard woken: "+why, "shard_id", si.ShardID, "leader_id", lid, "addr", addr)
		h.wake(si.ShardID)
	}
}

// wakeListener is the NodeHost's system event listener: a connection to a
// node that failed wakes the shards led from there. It is made before the
// Host it serves, which it learns once the NodeHost is running. Dragonboat
// calls it from its event goroutine; the wakes run on their own.
type wakeListener struct {
	host atomic.Pointer[Host]
}

var _ raftio.ISystemEventListener = (*wakeListener)(nil)

func (w *wakeListener) ConnectionFailed(info raftio.ConnectionInfo) {
	h := w.host.Load()
	if h == nil || info.SnapshotConnection || !h.cfg.Quiesce {
		return
	}
	go h.wakeLedFrom(info.Address, "its leader is unreachable")
}

// peerGone is the transport's report of a peer whose connection to this
// node ended (transportFactory.peerGone).
func (w *wakeListener) peerGone(addr string) {
	h := w.host.Load()
	if h == nil || !h.cfg.Quiesce {
		return
	}
	go h.wakeLedFrom(addr, "its leader's connection ended")
}

func (w *wakeListener) NodeHostShuttingDown()                       {}
func (w *wakeListener) NodeUnloaded(raftio.NodeInfo)                {}
func (w *wakeListener) NodeDeleted(raftio.NodeInfo)                 {}
func (w *wakeListener) NodeReady(raftio.NodeInfo)                   {}
func (w *wakeListener) MembershipChanged(raftio.NodeInfo)           {}
func (w *wakeListener) ConnectionEstablished(raftio.ConnectionInfo) {}
func (w *wakeListener) SendSnapshotStarted(raftio.SnapshotInfo)     {}
func (w *wakeListener) SendSnapshotCompleted(raftio.SnapshotInfo)   {}
func (w *wakeListener) SendSnapshotAborted(raftio.SnapshotInfo)     {}
func (w *wakeListener) SnapshotReceived(raftio.SnapshotInfo)        {}
func (w *wakeListener) SnapshotRecovered(raftio.SnapshotInfo)       {}
func (w *wakeListener) SnapshotCreated(raftio.SnapshotInfo)         {}
func (w *wakeListener) SnapshotCompacted(raftio.SnapshotInfo)       {}
func (w *wakeListener) LogCompacted(raftio.EntryInfo)               {}
func (w *wakeListener) LogDBCompacted(raftio.EntryInfo)             {}
