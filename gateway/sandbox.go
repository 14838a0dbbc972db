package gateway

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// Agent sandboxes: many forks with their keys in one command, fork leases
// and merging a fork back into its parent. Everything is a meta command
// (meta/batch.go, lease.go, merge.go); the gateway stamps the lease clock
// and generates and seals the keys.

// CreateForksInput is a batch of forks of one source at one point.
type CreateForksInput struct {
	Source string
	// Snapshot is the source's snapshot to fork from (a version or a
	// name); "" forks the source's current state.
	Snapshot string
	// Names of the forks; when empty, Count forks named Prefix1..PrefixN.
	Names  []string
	Count  int
	Prefix string
	// WithKeys gives each fork a key that may use it alone; with
	// KeysAllowForks the key of fork F may also fork it, into names
	// starting with "F-" (never without: sandbox keys do not fork).
	WithKeys       bool
	KeysAllowForks bool
	// TTL, when positive, is every fork's lease.
	TTL time.Duration
	// Grant is a scoped key that may use the new forks too ("" none).
	Grant  string
	Region string
	// Owner is the user the forks (and their keys) are made for ("" the
	// root account).
	Owner string
}

// ForkBatch is a created batch: the shared base version and each fork
// with its key (the secret is shown once).
type ForkBatch struct {
	Base  uint64
	Forks []ForkGrant
}

// ForkGrant is one fork of a batch.
type ForkGrant struct {
	Bucket meta.Bucket
	KeyID  string
	Secret string
}

// CreateForks creates the forks of in, all or none.
func (s *Service) CreateForks(ctx context.Context, in CreateForksInput) (*ForkBatch, error) {
	names := in.Names
	if len(names) == 0 {
		if in.Count < 1 || in.Count > s.node.cfg.MaxForkBatch {
			return nil, fmt.Errorf("%w: %d (want 1 to %d)", ErrInvalidForkCount, in.Count, s.node.cfg.MaxForkBatch)
		}
		names = make([]string, in.Count)
		for i := range names {
			names[i] = in.Prefix + strconv.Itoa(i+1)
		}
	} else if len(names) > s.node.cfg.MaxForkBatch {
		return nil, fmt.Errorf("%w: %d (want 1 to %d)", ErrInvalidForkCount, len(names), s.node.cfg.MaxForkBatch)
	}
	for _, n := range names {
		if err := checkBucketName(n); err != nil {
			return nil, err
		}
	}
	if in.Source == "" {
		return nil, fmt.Errorf("%w: no source bucket", ErrMalformedRequest)
	}
	if err := checkTTL(in.TTL); err != nil {
		return nil, err
	}
	region := in.Region
	if region == "" {
		region = s.Region()
	}
	cmd := &meta.CreateForks{
		Source: in.Source, Region: region, Names: names, Grant: in.Grant,
		Expires: s.expiry(in.TTL), Owner: in.Owner,
	}
	var err error
	if cmd.MaxForkDepth, err = s.forkDepthLimit(ctx, in.Source); err != nil {
		return nil, err
	}
	if in.Snapshot != "" {
		if v, ok := parseVersion(in.Snapshot); ok {
			cmd.ForkVersion = v
		} else {
			cmd.ForkSnapshotName = in.Snapshot
		}
	}
	// The forks join their source's family, on its shard.
	shard, _, err := s.shardOf(ctx, in.Source, true)
	if err != nil {
		return nil, err
	}
	if in.Owner != "" && shard != metaShard {
		// Users live in the directory; the shard takes the owner as
		// checked.
		if _, err := s.User(ctx, in.Owner); err != nil {
			return nil, err
		}
	}
	if !s.node.cfg.ForksOnSourceShard && s.node.shards.count() > 1 && in.Grant == "" {
		// A granted key lives with its buckets, on one shard: a batch
		// made with one stays on its source's shard.
		if b, err := s.createForksSpread(ctx, cmd, shard, in.WithKeys, in.KeysAllowForks); !errors.Is(err, errNoSpread) {
			return b, err
		}
	}
	secrets := make([]string, 0, len(names))
	if in.WithKeys {
		for _, name := range names {
			k, secret := s.newKey(shard, nil, "", false, 0)
			if in.KeysAllowForks {
				k.AllowForks, k.ForkPrefix = true, name+"-"
			}
			cmd.Keys = append(cmd.Keys, k)
			secrets = append(secrets, secret)
		}
	}
	res, err := s.createNamed(ctx, shard, names, func(shard uint64) (*meta.Result, error) {
		return s.proposeOn(ctx, shard, cmd)
	}, func(res *meta.Result) map[string]uint64 {
		ids := make(map[string]uint64, len(res.Buckets))
		for _, b := range res.Buckets {
			ids[b.Name] = b.ID
		}
		return ids
	})
	if err != nil {
		return nil, err
	}
	if in.WithKeys || in.Grant != "" || in.TTL != 0 {
		s.node.keys.of(shard).reset(res.Version)
	}
	out := &ForkBatch{}
	for i, b := range res.Buckets {
		g := ForkGrant{Bucket: b}
		if in.WithKeys {
			g.KeyID, g.Secret = cmd.Keys[i].ID, secrets[i]
		}
		if b.Parent != nil {
			out.Base = b.Parent.Version
		}
		out.Forks = append(out.Forks, g)
	}
	return out, nil
}

// RenewFork sets a fork's lease to ttl from now.
func (s *Service) RenewFork(ctx context.Context, name string, ttl time.Duration) (*meta.Bucket, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("%w: a renewal needs a positive duration", ErrInvalidLease)
	}
	if err := checkTTL(ttl); err != nil {
		return nil, err
	}
	now := s.LeaseNow()
	var res *meta.Result
	err := s.onBucket(ctx, name, func(shard uint64) error {
		var err error
		res, err = s.proposeOn(ctx, shard, &meta.RenewLease{Bucket: name, Expires: now.Add(ttl).UnixNano(), Now: now.UnixNano()})
		if err == nil {
			s.node.keys.of(shard).reset(res.Version)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return res.Bucket, nil
}

// MergeInput is a merge of a fork into its parent.
type MergeInput struct {
	Fork       string
	Strategy   meta.MergeStrategy
	DeleteFork bool
	// DryRun reports what the merge would do and changes nothing.
	DryRun bool
}

// MergeFork merges a fork into its parent. With conflicts under MergeFail
// it returns the report and an error wrapping meta.ErrMergeConflict. A
// dry run only reports (a refusal included) and never fails for
// conflicts.
func (s *Service) MergeFork(ctx context.Context, in MergeInput) (*meta.MergeReport, uint64, error) {
	if in.DryRun {
		if shard, _, err := s.shardOf(ctx, in.Fork, true); err == nil && s.node.shards.count() > 1 {
			if remote, err := s.forkOfRemoteParent(ctx, shard, in.Fork); err != nil {
				return nil, 0, err
			} else if remote {
				return s.planAcross(ctx, in, shard)
			}
		}
		var version uint64
		var rep *meta.MergeReport
		plan, err := readAsB[*meta.MergePlanResult](ctx, s, in.Fork, meta.MergePlanQuery{Fork: in.Fork, Strategy: in.Strategy})
		if err == nil {
			rep, version = plan.Report, plan.Version
		}
		if errors.Is(err, meta.ErrCrossShardMerge) && s.node.shards.count() > 1 {
			if shard, _, serr := s.shardOf(ctx, in.Fork, true); serr == nil {
				return s.planAcross(ctx, in, shard)
			}
		}
		return rep, version, err
	}
	// A large merge goes on in several entries (meta/merge.go), so that
	// the rest of the shard moves in between.
	shard, _, err := s.shardOf(ctx, in.Fork, true)
	if err != nil {
		return nil, 0, err
	}
	var fork *meta.Bucket
	if in.DeleteFork && s.node.shards.count() > 1 {
		if fork, err = readAsOn[*meta.Bucket](ctx, s, shard, meta.BucketQuery{Name: in.Fork}); err != nil {
			return nil, 0, err
		}
	}
	res, err := s.proposeOn(ctx, shard, &meta.MergeFork{Fork: in.Fork, Strategy: in.Strategy, DeleteFork: in.DeleteFork})
	if errors.Is(err, meta.ErrCrossShardMerge) {
		// The fork's parent, or the parent's own chain, is on another
		// shard (the hold refuses any other fork).
		rep, version, aerr := s.mergeAcross(ctx, in, shard)
		if !errors.Is(aerr, meta.ErrInvalidRemoteFork) {
			return rep, version, aerr
		}
	}
	for err == nil && res.Merge != nil && res.Merge.UnderWay {
		res, err = s.proposeOn(ctx, shard, &meta.MergeContinue{Fork: in.Fork})
	}
	if err == nil && res.Merge == nil {
		// Finished meanwhile by another node (resumeMerges).
		err = fmt.Errorf("%w: the merge of %q was finished by another node", ErrUnavailable, in.Fork)
	}
	if res == nil {
		return nil, 0, err
	}
	if err == nil && in.DeleteFork {
		s.node.keys.of(shard).reset(res.Version)
		if fork != nil {
			s.released(ctx, shard, *fork)
		}
	}
	return res.Merge, res.Version, err
}

// mergeStall is how long a merge may stay under way without moving before
// the leader carries it on (the node that took it stopped).
const mergeStall = 10 * time.Second

// resumeMerges carries on the merges left under way by a node that
// stopped driving them (leader only).
func (n *Node) resumeMerges(shard uint64) {
	v, err := n.localReadOn(shard, func(r *meta.Reader) (any, error) { return r.MergesUnderWay() })
	if err != nil {
		n.log.Warn("merge check failed", "err", err)
		return
	}
	for _, m := range v.([]meta.MergeUnderWay) {
		if time.Since(time.Unix(0, int64(m.Version))) < mergeStall {
			continue
		}
		n.log.Warn("carrying on a merge left under way", "fork", m.Fork)
		ctx, cancel := context.WithTimeout(n.life, 10*time.Minute)
		res, err := n.svc.proposeOn(ctx, shard, &meta.MergeContinue{Fork: m.Fork})
		for err == nil && res.Merge != nil && res.Merge.UnderWay {
			res, err = n.svc.proposeOn(ctx, shard, &meta.MergeContinue{Fork: m.Fork})
		}
		cancel()
		if err != nil {
			n.log.Warn("carrying on a merge failed", "fork", m.Fork, "err", err)
		}
	}
}

// expireLeases proposes ExpireLeases while the local replica shows a fork
// or key whose lease ran out on the lease clock (leader only).
func (n *Node) expireLeases(shard uint64) {
	now := n.svc.LeaseNow().UnixNano()
	v, err := n.localReadOn(shard, func(r *meta.Reader) (any, error) {
		f, k, err := r.NextExpiry()
		return [2]int64{f, k}, err
	})
	if err != nil {
		n.log.Warn("lease check failed", "err", err)
		return
	}
	next := v.([2]int64)
	if !(next[0] != 0 && next[0] <= now) && !(next[1] != 0 && next[1] <= now) {
		return
	}
	for i := 0; i < gcSteps; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := n.svc.proposeOn(ctx, shard, &meta.ExpireLeases{Now: now})
		cancel()
		if err != nil {
			n.log.Warn("lease expiry failed", "err", err)
			return
		}
		n.svc.released(context.Background(), shard, res.Buckets...)
		for _, b := range res.Buckets {
			n.log.Info("fork lease expired: fork deleted", "bucket", b.Name)
		}
		if len(res.Keys) > 0 {
			n.log.Info("access keys expired", "keys", len(res.Keys))
		}
		if !res.More {
			return
		}
	}
}

// ParseTTL parses a lease duration: a Go duration ("90m", "2h30m") or a
// whole number of days ("7d"). It does not check the range.
func ParseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseUint(d, 10, 32)
		if err != nil || n > 10*366 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return d, nil
}
