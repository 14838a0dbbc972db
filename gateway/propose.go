package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/forkstore/forkstore/meta"
	"github.com/forkstore/forkstore/raft"
)

// newID returns a fresh random 128-bit id in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// header stamps a command with a request id and the proposer's clock.
func header() meta.Header {
	return meta.Header{RequestID: newID(), Stamp: uint64(time.Now().UnixNano())}
}

// propose replicates one command and returns its outcome: a business error
// is a meta sentinel, a replication failure wraps ErrUnavailable.
//
// A command on a bucket that a merge under way holds waits for the merge
// (ErrMergeInProgress: it changed nothing) and is proposed again, under a
// new request id, until ctx ends.
//
// propose goes to the directory shard (users, nodes, the directory itself);
// proposeB (shards.go) to a bucket's shard.
func (s *Service) propose(ctx context.Context, cmd any) (*meta.Result, error) {
	return s.proposeOn(ctx, meta.DirectoryShard, cmd)
}

// proposeOn replicates one command through one metadata shard.
func (s *Service) proposeOn(ctx context.Context, shard uint64, cmd any) (*meta.Result, error) {
	if growsData(cmd) {
		// The space below the threshold is kept for the applies of the
		// writes that other nodes take.
		if err := s.node.disk.refuse(); err != nil {
			return nil, err
		}
	}
	stampHeader(cmd)
	for try := 0; ; try++ {
		raw, err := s.proposeID(ctx, shard, cmd)
		if err != nil {
			return nil, unavailable(err)
		}
		res, err := meta.DecodeResult(raw)
		if !errors.Is(err, meta.ErrMergeInProgress) || !waitMerge(ctx, try) {
			return res, err
		}
		*commandHeader(cmd) = header()
	}
}

// proposeID proposes cmd, under its request id, through this node's
// replica of shard or a holder's, until it is applied, ctx ends or the
// id's lifetime (meta.RequestIDLifetime after its Stamp) is over: the
// state machine remembers an id only for a while, and a proposal sent
// again after that could apply twice. Raft and the forwarding retry the
// same bytes within that deadline.
func (s *Service) proposeID(ctx context.Context, shard uint64, cmd any) (sm.Result, error) {
	limit := time.Unix(0, int64(commandHeader(cmd).Stamp)).Add(meta.RequestIDLifetime)
	if d, ok := ctx.Deadline(); !ok || d.After(limit) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, limit)
		defer cancel()
	}
	b := meta.EncodeCommand(cmd)
	for {
		if !s.node.hosts(shard) {
			return s.forwardPropose(ctx, shard, b)
		}
		start := time.Now()
		raw, err := s.node.host.Propose(ctx, shard, b)
		s.node.metrics.observeProposal(shard, time.Since(start))
		if !movedAway(s.node, shard, err) {
			return raw, err
		}
		// The replica was stopped meanwhile: the same bytes through a
		// holder.
	}
}

// movedAway reports whether a request failed because this node's replica
// of shard was stopped meanwhile (placement moved it to other nodes): the
// request then goes to a holder.
func movedAway(n *Node, shard uint64, err error) bool {
	return err != nil && errors.Is(err, raft.ErrShardNotReady) && !n.hosts(shard)
}

// waitMerge waits before the next try of a request that met a merge under
// way; it returns false when ctx ends first.
func waitMerge(ctx context.Context, try int) bool {
	d := min(time.Duration(try+1)*5*time.Millisecond, 50*time.Millisecond)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// stampHeader fills the Header of a command that does not have one yet
// (a retry of the same logical request keeps its request id).
func stampHeader(cmd any) {
	if h := commandHeader(cmd); h.RequestID == "" {
		*h = header()
	}
}

// commandHeader returns a command's Header.
func commandHeader(cmd any) *meta.Header {
	c, ok := cmd.(interface{ CommandHeader() *meta.Header })
	if !ok {
		panic(fmt.Sprintf("gateway: %T is not a command", cmd))
	}
	return c.CommandHeader()
}

// read runs a linearizable metadata query on the directory shard; readB
// (shards.go) on a bucket's shard.
func (s *Service) read(ctx context.Context, q meta.Q) (any, error) {
	return s.readOn(ctx, meta.DirectoryShard, q)
}

// readOn runs a linearizable metadata query on one shard.
// A read of a bucket that a merge under way holds waits for the merge.
//
// q is a registered query value (meta/queries.go), which can be sent to
// another node; a meta.Query closure runs only on the local replica.
func (s *Service) readOn(ctx context.Context, shard uint64, q meta.Q) (any, error) {
	return s.readOnAt(ctx, shard, 0, q)
}

// readOnAt is readOn; a node holding no replica of shard sends q to a
// holder with at, a fork point q reads the history of (0: none), which the
// holder may answer from its replica without a leader round (readAtOn).
func (s *Service) readOnAt(ctx context.Context, shard, at uint64, q meta.Q) (any, error) {
	for try := 0; ; try++ {
		var (
			v   any
			err error
		)
		if s.node.hosts(shard) {
			v, err = s.readQuery(ctx, shard, q)
			if movedAway(s.node, shard, err) {
				continue
			}
		} else {
			v, err = s.forwardReadAt(ctx, shard, at, q)
		}
		if errors.Is(err, meta.ErrMergeInProgress) && waitMerge(ctx, try) {
			continue
		}
		if err != nil {
			return nil, unavailable(err)
		}
		return v, nil
	}
}

// readAs runs a query returning a T on the directory shard.
func readAs[T any](ctx context.Context, s *Service, q meta.Q) (T, error) {
	return typed[T](s.read(ctx, q))
}

// typed is the T a query returned (its zero value for nil: a nil pointer,
// map or slice crosses the wire as nil), or its error.
func typed[T any](v any, err error) (T, error) {
	var zero T
	if err != nil || v == nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("gateway: a query returned %T, not %T", v, zero)
	}
	return t, nil
}

// unavailable turns Raft-level failures into ErrUnavailable and leaves
// everything else (state-machine outcomes) as it is.
func unavailable(err error) error {
	if errors.Is(err, raft.ErrNoQuorum) {
		return fmt.Errorf("%w: %v", ErrNoQuorum, err)
	}
	if errors.Is(err, raft.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

func isUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }
