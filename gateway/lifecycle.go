package gateway

import (
	"context"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// Lifecycle: bucket configurations are replicated like any bucket setting;
// the leader applies them (meta/lifecycle.go) every LifecycleInterval, as
// a pass of bounded ApplyLifecycle steps stamped with the lifecycle clock.
// Other requests interleave with the steps. A new leader carries on a pass
// the old one left part way (its cursor is replicated).

// lifecycleStepLimit bounds the records and uploads one ApplyLifecycle
// step examines.
const lifecycleStepLimit = 256

// lifecycleStepsPerRound bounds the steps of one round, so that a pass
// over a large store is spread over rounds.
const lifecycleStepsPerRound = 256

// LifecycleNow is the lifecycle clock: the wall clock shifted by
// Config.LifecycleClockOffset (tests move it days forward instead of
// waiting).
func (s *Service) LifecycleNow() time.Time {
	return time.Now().Add(s.node.cfg.LifecycleClockOffset)
}

// PutBucketLifecycle replaces a bucket's lifecycle configuration.
func (s *Service) PutBucketLifecycle(ctx context.Context, bucket string, l *meta.Lifecycle) error {
	_, err := s.proposeB(ctx, bucket, &meta.SetLifecycle{Bucket: bucket, Config: l})
	return err
}

// DeleteBucketLifecycle removes a bucket's lifecycle configuration.
func (s *Service) DeleteBucketLifecycle(ctx context.Context, bucket string) error {
	_, err := s.proposeB(ctx, bucket, &meta.SetLifecycle{Bucket: bucket})
	return err
}

// BucketLifecycle returns a bucket's lifecycle configuration, nil when it
// has none (meta.ErrNoSuchBucket when the bucket does not exist).
func (s *Service) BucketLifecycle(ctx context.Context, bucket string) (*meta.Lifecycle, error) {
	return readAsB[*meta.Lifecycle](ctx, s, bucket, meta.LifecycleQuery{Bucket: bucket})
}

// ObjectExpiry says when lifecycle will expire o, the current version of
// its key in bucket, and by which rule (x-amz-expiration); ok is false
// when no rule does. It reads the local replica: the answer is advisory
// and costs no Raft round trip.
func (s *Service) ObjectExpiry(ctx context.Context, bucket string, o *meta.Object) (at time.Time, rule string, ok bool) {
	shard, _, err := s.shardOf(ctx, bucket, false)
	if err != nil {
		return time.Time{}, "", false
	}
	replica := s.node.replicaOf(shard)
	if !s.node.local.MayHaveLifecycle(shard, replica) {
		return time.Time{}, "", false
	}
	v, err := s.node.local.Read(ctx, shard, replica, meta.Query(func(r *meta.Reader) (any, error) {
		at, rule, ok, err := r.ObjectExpiry(bucket, o)
		return expiry{at, rule, ok}, err
	}))
	if err != nil {
		return time.Time{}, "", false
	}
	e := v.(expiry)
	if !e.ok {
		return time.Time{}, "", false
	}
	return time.Unix(0, e.at).UTC(), e.rule, true
}

type expiry struct {
	at   int64
	rule string
	ok   bool
}

// applyLifecycle runs the leader's lifecycle rounds every
// LifecycleInterval.
func (n *Node) applyLifecycle() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.LifecycleInterval)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		for _, shard := range n.shards.list() {
			if n.leads(shard) {
				n.lifecycleRound(shard)
			}
		}
	}
}

// lifecycleRound proposes ApplyLifecycle steps until the pass ends (or
// the round's bound), when some bucket has a configuration.
func (n *Node) lifecycleRound(shard uint64) {
	v, err := n.localReadOn(shard, func(r *meta.Reader) (any, error) { return r.HasLifecycle() })
	if err != nil {
		n.log.Warn("lifecycle check failed", "err", err)
		return
	}
	if !v.(bool) {
		return
	}
	now := n.svc.LifecycleNow().UnixNano()
	expired := 0
	for i := 0; i < lifecycleStepsPerRound; i++ {
		select {
		case <-n.stop:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := n.svc.proposeOn(ctx, shard, &meta.ApplyLifecycle{Now: now, Limit: lifecycleStepLimit})
		cancel()
		if err != nil {
			n.log.Warn("lifecycle step failed", "err", err)
			return
		}
		expired += len(res.Deleted)
		if !res.More {
			break
		}
	}
	if expired > 0 {
		n.log.Info("lifecycle applied", "expired", expired)
	}
}
