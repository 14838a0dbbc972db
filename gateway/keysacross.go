package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/forkstore/forkstore/meta"
)

// Scoped keys whose buckets live on several metadata shards (a base and
// its forks on other shards).
//
// Such a key is stored as copies with the same id and sealed secret: the
// home copy on the shard its id names (the shard of its first bucket)
// lists every bucket of the key, each by its id (an id says its shard),
// and each other shard holding some of the buckets keeps a copy naming
// only those. Each shard answers for its own buckets as for any key: a
// deleted bucket leaves the scope of its shard's copy (a copy left with
// none goes), a lease is read there, and its leader expires its copy.
// A bucket of another shard is usable through the key only while that
// shard's copy names the same bucket id, so a bucket deleted and created
// again under the same name is not. The principal of such a key is
// cached with the keys generation of each shard it read, and a move of
// any of them drops it.
//
// Creation writes the home copy first, then the others; deletion removes
// the others first, then the home copy. So any other copy exists only
// while the home copy names its shard: a failure in between leaves a home
// copy (listed, and removed by DeleteKey, which ignores copies already
// gone) with no secret ever shown, never a hidden copy. A key that may
// fork keeps its buckets on one shard (the forks it makes join the scope
// on its source's shard).

// foreignShards groups the buckets of k that live on another shard than
// home.
func foreignShards(k *meta.AccessKey, home uint64) map[uint64][]meta.KeyBucket {
	out := map[uint64][]meta.KeyBucket{}
	for _, b := range k.Buckets {
		if b.ID != 0 {
			if sh := meta.ShardOfBucketID(b.ID); sh != home {
				out[sh] = append(out[sh], b)
			}
		}
	}
	return out
}

// createKeyAcross creates a key whose buckets (byShard: names per shard)
// live on several shards, home first.
func (s *Service) createKeyAcross(ctx context.Context, in KeyInput, home uint64, byShard map[uint64][]string) (*NewKey, error) {
	if in.AllowForks {
		return nil, fmt.Errorf("%w: a key that may fork names buckets of one shard: %q", ErrKeyShards, in.Buckets)
	}
	k, secret := s.newKey(home, in.Buckets, in.Prefix, in.ReadOnly, s.expiry(in.TTL))
	for i := range k.Buckets {
		if sh, _, err := s.shardOf(ctx, k.Buckets[i].Name, true); err != nil {
			return nil, err
		} else if sh == home {
			continue
		}
		b, err := readAsB[*meta.Bucket](ctx, s, k.Buckets[i].Name, meta.BucketQuery{Name: k.Buckets[i].Name})
		if err != nil {
			return nil, err
		}
		k.Buckets[i].ID = b.ID
	}
	res, err := s.proposeOn(ctx, home, &meta.CreateKey{Key: k, Across: true})
	if err != nil {
		return nil, err
	}
	s.node.keys.of(home).reset(res.Version)
	out := &NewKey{Key: res.Keys[0], Secret: secret}
	shards := make([]uint64, 0, len(byShard))
	for sh := range byShard {
		if sh != home {
			shards = append(shards, sh)
		}
	}
	slices.Sort(shards)
	for _, sh := range shards {
		c := k
		c.Buckets = nil
		for _, name := range byShard[sh] {
			c.Buckets = append(c.Buckets, meta.KeyBucket{Name: name})
		}
		res, err := s.proposeOn(ctx, sh, &meta.CreateKey{Key: c})
		if err != nil {
			if derr := s.DeleteKey(ctx, k.ID); derr != nil {
				s.node.log.Warn("undoing a key across shards failed: it is listed, delete it", "access_key", k.ID, "err", derr)
			}
			return nil, err
		}
		s.node.keys.of(sh).reset(res.Version)
	}
	return out, nil
}

// deleteKeyAcross removes the copies of a key on other shards than home,
// those already gone ignored.
func (s *Service) deleteKeyAcross(ctx context.Context, id string, home uint64) error {
	v, err := s.readOn(ctx, home, meta.KeyLookupQuery{ID: id, Directory: home == meta.DirectoryShard})
	if err != nil {
		return err
	}
	ka := v.(meta.KeyLookup)
	for sh := range foreignShards(ka.Key, home) {
		res, err := s.proposeOn(ctx, sh, &meta.DeleteKey{ID: id})
		if errors.Is(err, meta.ErrNoSuchAccessKey) {
			continue
		}
		if err != nil {
			return err
		}
		s.node.keys.of(sh).reset(res.Version)
	}
	return nil
}

// addForeignBuckets gives p the buckets of ka (read on home) that live on
// other shards and that those shards' copies of the key still name, with
// their leases, and the generation of each shard it read. ok is false
// when a shard could not be read.
func (s *Service) addForeignBuckets(ctx context.Context, p *Principal, ka meta.KeyLookup, home uint64) bool {
	for sh, bs := range foreignShards(ka.Key, home) {
		for _, b := range bs {
			delete(p.Buckets, b.Name)
		}
		if p.foreign == nil {
			p.foreign = map[uint64]uint64{}
		}
		// The generation before the read: a change after it drops p.
		p.foreign[sh] = s.node.keys.of(sh).generation()
		v, err := s.readOn(ctx, sh, meta.KeyLookupQuery{ID: p.AccessKey})
		if errors.Is(err, meta.ErrNoSuchAccessKey) {
			continue
		}
		if err != nil {
			s.node.log.Warn("access key lookup failed", "shard", sh, "err", err)
			return false
		}
		other := v.(meta.KeyLookup)
		for _, ob := range other.Key.Buckets {
			if slices.ContainsFunc(bs, func(b meta.KeyBucket) bool { return b.ID == ob.ID && b.Name == ob.Name }) {
				p.Buckets[ob.Name] = ob.Expires
			}
		}
	}
	return true
}

// fresh reports whether a cached principal's copies on other shards are
// still current.
func (n *Node) fresh(p *Principal) bool {
	for sh, gen := range p.foreign {
		if n.keys.of(sh).generation() > gen {
			return false
		}
	}
	return true
}

// generation is the keys generation the cache is at.
func (c *keyCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}
