package gateway

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/forkstore/forkstore/meta"
)

// ClaimName claims a bucket name on a shard without creating the bucket,
// as a creation cut short by a crash leaves it.
func ClaimName(ctx context.Context, s *Service, name string, shard uint64) error {
	_, err := s.propose(ctx, &meta.ClaimNames{Shard: shard, Names: []string{name}})
	return err
}

// SoloReads is how many linearizable reads the node, alone, served from
// its replica without a ReadIndex.
func SoloReads(s *Service) uint64 { return s.node.solo.local.Load() }

// PlaceBucket is placeBucket.
var PlaceBucket = placeBucket

// SetForkStepHook sets the hook run between the steps of the creation of
// a fork on another shard (false stops it there).
func SetForkStepHook(cfg *Config, hook func(step int) bool) { cfg.forkStepHook = hook }

// SetStaleReadHook sets the hook that replaces what a read of a replica
// as it stands returned (as a replica behind would show it).
func SetStaleReadHook(cfg *Config, hook func(q meta.Q, v any, err error) (any, error)) {
	cfg.staleReadHook = hook
}

// SetStaleDefaultHook sets a stale-read hook that replaces the default
// encryption a PutObject read without a leader round.
func SetStaleDefaultHook(cfg *Config, hook func(bucket, alg string) string) {
	SetStaleReadHook(cfg, func(q meta.Q, v any, err error) (any, error) {
		eq, ok := q.(meta.BucketEncryptionQuery)
		if !ok || err != nil {
			return v, err
		}
		cur, _ := v.(*meta.BucketEncryption)
		if alg := hook(eq.Bucket, cur.Alg()); alg != "" {
			return &meta.BucketEncryption{Algorithm: alg}, nil
		}
		return nil, nil
	})
}

// ResolveRemoteForks runs the recovery pass of a shard's forks on other
// shards, as the shard's leader does.
func ResolveRemoteForks(s *Service, shard uint64) { s.node.resolveRemoteForks(shard) }

// ReadOn runs a linearizable query on one shard.
func ReadOn(ctx context.Context, s *Service, shard uint64, q meta.Q) (any, error) {
	return s.readOn(ctx, shard, q)
}

// ProposeOn proposes a command to one shard.
func ProposeOn(ctx context.Context, s *Service, shard uint64, cmd any) (*meta.Result, error) {
	return s.proposeOn(ctx, shard, cmd)
}

// SetMergeStepHook sets the hook run before each entry of a merge across
// shards (false stops it there), the changes per entry (0: default) and
// how long a merge may stall before recovery carries it on (0: default).
func SetMergeStepHook(cfg *Config, hook func(entry int) bool, perEntry int, stall time.Duration) {
	cfg.mergeStepHook, cfg.mergeEntryLimit, cfg.mergeStallAfter = hook, perEntry, stall
}

// ResolveRemoteMerges runs the recovery pass of merges across shards on a
// shard, as the shard's leader does.
func ResolveRemoteMerges(s *Service, shard uint64) { s.node.resolveRemoteMerges(shard) }

// RegisterMetrics registers the metrics of s's node with reg.
func RegisterMetrics(s *Service, reg prometheus.Registerer) error { return s.node.RegisterMetrics(reg) }
