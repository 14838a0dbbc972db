package gateway

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/forkstore/forkstore/meta"
)

// ShardStatus is one metadata shard as this node sees it.
type ShardStatus struct {
	ShardID      uint64   `json:"shard_id"`
	Role         string   `json:"role"`          // "directory", "data" or "directory+data"
	Replicas     []uint64 `json:"replicas"`      // node ids holding a replica
	LeaderID     uint64   `json:"leader_id"`     // 0 when unknown
	AppliedIndex uint64   `json:"applied_index"` // of this node's replica, 0 if it holds none
	Buckets      int      `json:"buckets"`       // buckets placed on it, -1 when unknown (or more than 100,000)
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
		st.LeaderID, _ = n.host.LeaderID(id)
		var voters map[uint64]string
		if st.LeaderID != 0 {
			mctx, cancel := context.WithTimeout(ctx, readyTimeout)
			voters, _, _ = n.host.MembershipInfo(mctx, id)
			cancel()
		}
		if voters != nil {
			st.Replicas = slices.Sorted(maps.Keys(voters))
		} else {
			for _, m := range n.cluster.snapshot() {
				st.Replicas = append(st.Replicas, m.ID)
			}
			slices.Sort(st.Replicas)
		}
		if st.Replicas == nil {
			st.Replicas = []uint64{}
		}
		if slices.Contains(st.Replicas, n.cfg.Raft.NodeID) {
			st.AppliedIndex = n.local.Applied(id, n.cfg.Raft.NodeID)
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
