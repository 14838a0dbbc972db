package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

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
func (s *Service) propose(ctx context.Context, cmd any) (*meta.Result, error) {
	stampHeader(cmd)
	res, err := s.node.host.Propose(ctx, metaShard, meta.EncodeCommand(cmd))
	if err != nil {
		return nil, unavailable(err)
	}
	return meta.DecodeResult(res)
}

// stampHeader fills the Header of a command that does not have one yet.
func stampHeader(cmd any) {
	var h *meta.Header
	switch c := cmd.(type) {
	case *meta.CreateBucket:
		h = &c.Header
	case *meta.DeleteBucket:
		h = &c.Header
	case *meta.CreateSnapshot:
		h = &c.Header
	case *meta.DeleteSnapshot:
		h = &c.Header
	case *meta.SetVersioning:
		h = &c.Header
	case *meta.PutObject:
		h = &c.Header
	case *meta.DeleteObject:
		h = &c.Header
	case *meta.DeleteObjects:
		h = &c.Header
	case *meta.CreateUpload:
		h = &c.Header
	case *meta.PutPart:
		h = &c.Header
	case *meta.CompleteUpload:
		h = &c.Header
	case *meta.AbortUpload:
		h = &c.Header
	case *meta.TrimGC:
		h = &c.Header
	default:
		panic(fmt.Sprintf("gateway: unknown command %T", cmd))
	}
	if h.RequestID == "" {
		*h = header()
	}
}

// read runs a linearizable metadata query.
func (s *Service) read(ctx context.Context, q func(r *meta.Reader) (any, error)) (any, error) {
	v, err := s.node.host.Read(ctx, metaShard, meta.Query(q))
	if err != nil {
		return nil, unavailable(err)
	}
	return v, nil
}

// readAs runs a query returning a T.
func readAs[T any](ctx context.Context, s *Service, q func(r *meta.Reader) (T, error)) (T, error) {
	v, err := s.read(ctx, func(r *meta.Reader) (any, error) { return q(r) })
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// unavailable turns Raft-level failures into ErrUnavailable and leaves
// everything else (state-machine outcomes) as it is.
func unavailable(err error) error {
	if errors.Is(err, raft.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

func isUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }
