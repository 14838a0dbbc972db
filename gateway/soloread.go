package gateway

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/forkstore/forkstore/meta"
)

// Linearizable reads of a node that is alone. A node without a cluster key
// does not listen for Raft (NewNode), so no other node can ever join its
// shards: each has one replica, this node's, and every write to it is
// proposed and applied here before it is acknowledged (Dragonboat
// completes a proposal once the local replica has applied it). Such a
// replica holds every acknowledged write as soon as it has applied what
// its log held when the node started, which the first linearizable read of
// the shard (a ReadIndex: the leader's first entry of its term applied)
// waits for. From then on a linearizable read of the shard is a read of
// the local replica, without the ReadIndex round, which cost a single node
// about a tenth of a small GET's CPU (docs/benchmarks.md).
type soloReads struct {
	alone bool     // no cluster key: no other node can join
	ready sync.Map // shard id -> struct{}: a ReadIndex succeeded since the start
	local atomic.Uint64
}

// linearRead runs q linearizably on this node's replica of shard.
func (n *Node) linearRead(ctx context.Context, shard uint64, q meta.Q) (any, error) {
	if n.solo.alone {
		if _, ok := n.solo.ready.Load(shard); ok {
			v, err := n.local.Read(ctx, shard, n.replicaOf(shard), q)
			if !errors.Is(err, meta.ErrNotOpen) {
				n.solo.local.Add(1)
				return v, err
			}
		}
	}
	v, err := n.host.Read(ctx, shard, q)
	if n.solo.alone && err == nil {
		n.solo.ready.Store(shard, struct{}{})
	}
	return v, err
}
