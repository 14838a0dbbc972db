package gateway

import (
	"context"
	"errors"

	"github.com/forkstore/forkstore/meta"
)

// readAtOn runs q, a read of shard's history as of at, a fork point: what
// a fork on another shard inherits from its parent. That history is
// immutable (versions, tags and ACLs are read as of at; the fork's pin
// keeps it), so a replica that has applied at least up to at answers it
// exactly as the leader would. When this node holds a replica of shard
// that has, q runs there without a round to the leader (a ReadIndex);
// otherwise, or when the local read fails in any way, it runs
// linearizably (readOn). A node that holds no replica of shard sends q to
// a holder with the fork point (readOnAt), and the holder does the
// same with its own replica. Each call counts in
// forkstore_fork_point_reads_total as served locally, linearizably or
// forwarded.
func readAtOn[T any](ctx context.Context, s *Service, shard, at uint64, q meta.Q) (T, error) {
	n := s.node
	if at > 0 && !n.cfg.WireReads {
		if !n.hosts(shard) {
			n.readsAtForwarded.Add(1)
			return typed[T](s.readOnAt(ctx, shard, at, q))
		}
		if v, ok := n.readAtLocal(shard, at, q); ok {
			if t, ok := v.(T); ok || v == nil {
				return t, nil
			}
		}
	}
	n.readsAtLinear.Add(1)
	return readAsOn[T](ctx, s, shard, q)
}

// readAtLocal runs q on this node's replica of shard when it has applied
// up to at, and counts it; ok is false when it could not.
func (n *Node) readAtLocal(shard, at uint64, q meta.Q) (v any, ok bool) {
	v, err := n.localReadOn(shard, func(r *meta.Reader) (any, error) {
		if r.LastVersion() < at {
			return nil, errBehind
		}
		return q.Run(r)
	})
	if err != nil {
		return nil, false
	}
	n.readsAtLocal.Add(1)
	return v, true
}

// errBehind: the local replica has not applied up to the version read.
var errBehind = errors.New("gateway: the local replica is behind the version read")
