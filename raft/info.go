package raft

import (
	"fmt"
	"math"
	"time"

	"github.com/lni/dragonboat/v4"
)

// Role is this replica's part in a shard.
type Role string

// The roles Info reports.
const (
	RoleLeader    Role = "leader"
	RoleFollower  Role = "follower"   // a voting member that knows the leader
	RoleNoLeader  Role = "no_leader"  // a voting member that knows no leader (election under way, or cut off)
	RoleNonVoting Role = "non_voting" // a learner, catching up before it votes
	RoleWitness   Role = "witness"
	RolePending   Role = "pending" // started, nothing applied yet
)

// Roles lists every Role, for metrics that report one of them.
var Roles = []Role{RoleLeader, RoleFollower, RoleNoLeader, RoleNonVoting, RoleWitness, RolePending}

// Info is what this node knows of one shard, for monitoring. Reading it
// takes no Raft round trip.
type Info struct {
	ShardID   uint64
	ReplicaID uint64
	Role      Role
	// LeaderID is the leader this replica knows (0: none); Term its term.
	LeaderID uint64
	Term     uint64
	// CommitIndex is this replica's commit index (it may trail the
	// leader's by what is in flight); 0 when it could not be read in time.
	CommitIndex uint64
	// Members is the number of replicas in the shard's membership.
	Members int
}

// Info returns what this node knows of shardID. It fails with ErrClosed
// once the host is closed and when the shard is not running here.
func (h *Host) Info(shardID uint64) (Info, error) {
	if h.closed.Load() {
		return Info{}, ErrClosed
	}
	nhi := h.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true})
	if nhi == nil {
		return Info{}, ErrClosed
	}
	for _, si := range nhi.ShardInfoList {
		if si.ShardID != shardID {
			continue
		}
		info := Info{
			ShardID: si.ShardID, ReplicaID: si.ReplicaID,
			LeaderID: si.LeaderID, Term: si.Term, Members: len(si.Replicas),
		}
		switch {
		case si.Pending:
			info.Role = RolePending
		case si.IsWitness:
			info.Role = RoleWitness
		case si.IsNonVoting:
			info.Role = RoleNonVoting
		case si.LeaderID == 0:
			info.Role = RoleNoLeader
		case si.LeaderID == si.ReplicaID:
			info.Role = RoleLeader
		default:
			info.Role = RoleFollower
		}
		info.CommitIndex = h.commitIndex(shardID)
		return info, nil
	}
	return Info{}, fmt.Errorf("%w: shard %d is not running on this node", ErrClosed, shardID)
}

// commitQueryTimeout bounds the wait for the commit index.
const commitQueryTimeout = time.Second

// commitIndex asks the local replica for its commit index: a Raft log
// query past the end of the log answers "out of range" with the committed
// range, without reading entries or leaving the node. 0 when it did not
// answer in time.
func (h *Host) commitIndex(shardID uint64) uint64 {
	rs, err := h.nh.QueryRaftLog(shardID, math.MaxUint64-1, math.MaxUint64, 1)
	if err != nil {
		return 0
	}
	t := time.NewTimer(commitQueryTimeout)
	defer t.Stop()
	select {
	case r := <-rs.ResultC():
		if r.RequestOutOfRange() || r.Completed() {
			if _, lr := r.RaftLogs(); lr.LastIndex > 0 {
				return lr.LastIndex - 1
			}
		}
	case <-t.C:
	}
	return 0
}

// LocalView is what this node's replica of a shard has applied and
// knows, read without a Raft round: it may trail the shard, and it is
// meant for deciding whether background work has anything new to look
// at, not for acting on.
type LocalView struct {
	// ConfigChangeIndex is the log index of the last membership change
	// the replica applied.
	ConfigChangeIndex uint64
	// LeaderID and Term are the leader the replica knows and its term
	// (0: none known).
	LeaderID uint64
	Term     uint64
}

// LocalView returns this node's LocalView of shardID (ok false when the
// shard does not run here or the host is closed).
func (h *Host) LocalView(shardID uint64) (LocalView, bool) {
	if h.closed.Load() {
		return LocalView{}, false
	}
	nhi := h.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true})
	if nhi == nil {
		return LocalView{}, false
	}
	for _, si := range nhi.ShardInfoList {
		if si.ShardID == shardID && !si.Pending {
			return LocalView{ConfigChangeIndex: si.ConfigChangeIndex, LeaderID: si.LeaderID, Term: si.Term}, true
		}
	}
	return LocalView{}, false
}
