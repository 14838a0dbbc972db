package gateway

import (
	"context"

	"github.com/forkstore/forkstore/meta"
)

// ClaimName claims a bucket name on a shard without creating the bucket,
// as a creation cut short by a crash leaves it.
func ClaimName(ctx context.Context, s *Service, name string, shard uint64) error {
	_, err := s.propose(ctx, &meta.ClaimNames{Shard: shard, Names: []string{name}})
	return err
}

// PlaceBucket is placeBucket.
var PlaceBucket = placeBucket
