package gateway

import (
	"context"
	"errors"
	"slices"

	"github.com/forkstore/forkstore/meta"
	"github.com/forkstore/forkstore/raft"
)

// ShardStatus is one metadata shard as this node sees it.
type ShardStatus struct {
	ShardID      uint64   `json:"shard_id"`
	Role         string   `json:"role"`          // "directory", "data" or "directory+data"
	Replicas     []uint64 `json:"replicas"`      // node ids holding a replica
	LeaderID     uint64   `json:"leader_id"`     // 0 when unknown
	AppliedIndex uint64   `json:"applied_index"` // of this node's replica, 0 if it holds none
	// ReplicaApplied is each replica's applied index, by node id, as the
	// holders report it (cluster status only; absent: not reachable).
	ReplicaApplied map[string]uint64 `json:"replica_applied,omitempty"`
	Buckets        int               `json:"buckets"` // buckets placed on it, -1 when unknown (or more than 100,000)
}

// maxShardBucketCount bounds the buckets counted per shard for a status.
const maxShardBucketCount = 100000

// shardStatuses returns every metadata shard this node knows of, from its
// own replicas. A shard's replicas are its voting members, or the last
// membership this node knew when the shard cannot answer now (no leader
// known, or no answer within readyTimeout), so that a status request of a
// cluster without quorum stays quick.
func (n *Node) shardStatuses(ctx context.Context) []ShardStatus {
	ids := n.shards.list()
	out := make([]ShardStatus, 0, len(ids))
	for _, id := range ids {
		st := ShardStatus{ShardID: id, Role: "data", Buckets: -1}
		if id == meta.DirectoryShard {
			st.Role = "directory+data"
		}
		st.LeaderID, _ = n.host.LeaderNode(id)
		var voters map[uint64]string
		if st.LeaderID != 0 {
			mctx, cancel := context.WithTimeout(ctx, readyTimeout)
			voters, _, _ = n.host.MembershipInfo(mctx, id)
			cancel()
		}
		switch {
		case voters != nil:
			for rid := range voters {
				st.Replicas = append(st.Replicas, raft.NodeOfReplica(rid))
			}
			slices.Sort(st.Replicas)
		default:
			// Not held here, or no answer now: the placement record (or
			// every member, without one).
			st.Replicas = slices.Sorted(slices.Values(n.holderIDs(id)))
		}
		if st.Replicas == nil {
			st.Replicas = []uint64{}
		}
		if n.hosts(id) {
			st.AppliedIndex = n.local.Applied(id, n.replicaOf(id))
		}
		if !n.hosts(id) {
			out = append(out, st)
			continue
		}
		if v, err := n.localReadOn(id, func(r *meta.Reader) (any, error) {
			c, more, err := r.BucketCount(maxShardBucketCount)
			if more {
				c = -1 // too many to count on every status call
			}
			return c, err
		}); err == nil {
			st.Buckets = v.(int)
		} else if !errors.Is(err, meta.ErrNotOpen) {
			n.log.Debug("shard status: counting buckets", "shard", id, "err", err)
		}
		out = append(out, st)
	}
	return out
}
