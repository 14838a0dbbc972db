package gateway

import (
	"context"
	"slices"
)

// ShardStatus is one metadata shard as this node sees it.
type ShardStatus struct {
	ShardID      uint64   `json:"shard_id"`
	Role         string   `json:"role"`          // "directory", "data" or "directory+data"
	Replicas     []uint64 `json:"replicas"`      // node ids holding a replica
	LeaderID     uint64   `json:"leader_id"`     // 0 when unknown
	AppliedIndex uint64   `json:"applied_index"` // of this node's replica, 0 if it holds none
	Buckets      int      `json:"buckets"`       // buckets placed on it, -1 when unknown
}

// shardStatuses returns every metadata shard this node knows of. Today
// the metadata is one shard, holding both the bucket directory and the
// buckets' data; its replicas are the shard's voting members, or the
// last membership this node knew when the shard cannot answer now (no
// leader known, or no answer within readyTimeout), so that a status
// request of a cluster without quorum stays quick.
func (n *Node) shardStatuses(ctx context.Context) []ShardStatus {
	st := ShardStatus{ShardID: metaShard, Role: "directory+data", Buckets: -1}
	st.LeaderID, _ = n.host.LeaderID(metaShard)
	var voters map[uint64]string
	if st.LeaderID != 0 {
		mctx, cancel := context.WithTimeout(ctx, readyTimeout)
		voters, _, _ = n.host.MembershipInfo(mctx, metaShard)
		cancel()
	}
	if voters != nil {
		for id := range voters {
			st.Replicas = append(st.Replicas, id)
		}
	} else {
		for _, m := range n.cluster.snapshot() {
			st.Replicas = append(st.Replicas, m.ID)
		}
	}
	slices.Sort(st.Replicas)
	if st.Replicas == nil {
		st.Replicas = []uint64{}
	}
	if slices.Contains(st.Replicas, n.cfg.Raft.NodeID) {
		st.AppliedIndex = n.local.Applied(metaShard, n.cfg.Raft.NodeID)
	}
	return []ShardStatus{st}
}
