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
// linearizably (readOn). Each call counts as one or the other in
// forkstore_fork_point_reads_total.
func readAtOn[T any](ctx context.Context, s *Service, shard, at uint64, q meta.Q) (T, error) {
	n := s.node
	if at > 0 && n.hosts(shard) && !n.cfg.WireReads {
		v, err := n.localReadOn(shard, func(r *meta.Reader) (any, error) {
			if r.LastVersion() < at {
				return nil, errBehind
			}
			return q.Run(r)
		})
		if err == nil {
			if t, ok := v.(T); ok || v == nil {
				n.readsAtLocal.Add(1)
				return t, nil
			}
		}
	}
	n.readsAtLinear.Add(1)
	return readAsOn[T](ctx, s, shard, q)
}

// errBehind: the local replica has not applied up to the version read.
var errBehind = errors.New("gateway: the local replica is behind the version read")
