package gateway

import (
	"context"

	"github.com/forkstore/forkstore/meta"
)

// readQuery runs q through Raft's linearizable read on this node's
// replica of shard. With Config.WireReads (tests) it goes the whole way of
// a read sent to another node even so: q is encoded, decoded and run on
// the replica, and its result encoded and decoded, so that a query that
// cannot cross nodes (a closure, a result that does not survive the
// codec) fails where the tests see it.
func (s *Service) readQuery(ctx context.Context, shard uint64, q meta.Q) (any, error) {
	if !s.node.cfg.WireReads {
		return s.node.linearRead(ctx, shard, q)
	}
	b, err := meta.EncodeQuery(q)
	if err != nil {
		return nil, err
	}
	raw, err := s.node.host.Read(ctx, shard, meta.Query(func(r *meta.Reader) (any, error) {
		dq, err := meta.DecodeQuery(b)
		if err != nil {
			return nil, err
		}
		return meta.EncodeQueryResult(dq.Run(r))
	}))
	if err != nil {
		return nil, err
	}
	return meta.DecodeQueryResult(raw.([]byte))
}
