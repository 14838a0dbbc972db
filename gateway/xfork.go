package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// Forks on another metadata shard than their parent (meta/xfork.go for
// the records). With more than one shard a fork is placed by a hash
// of its own name, as a bucket with no parent; its reads fall through to
// the parent's shard at the fork point:
//   - GET/HEAD: the fork's shard answers from its local layers, or says
//     where to go on (meta.RemoteRead); the parent's shard is then read
//     once, as of the fork point (history no command changes any more);
//   - ListObjects(V2): a merge of the fork's local entries (delete markers
//     included, they hide the parent's keys) and the parent's entries at
//     the fork point, with the prefix, delimiter and markers of S3.
//
// Creating one: ReserveBucketIDs on the fork's shard, PinRemoteForks on
// the parent's (the pin and an intent), CreateRemoteForks on the fork's,
// SettleRemotePins on the parent's; the name is claimed in the directory
// around it (createNamed). resolveRemoteForks, on each shard's leader,
// settles or aborts intents past their deadline and releases the pins of
// deleted forks.

// defaultForkIntentTimeout is how long the creation of a fork on another
// shard may take before recovery resolves it.
const defaultForkIntentTimeout = 30 * time.Second

func (s *Service) forkIntentTimeout() time.Duration {
	if d := s.node.cfg.ForkIntentTimeout; d > 0 {
		return d
	}
	return defaultForkIntentTimeout
}

// forkShard returns the shard a new fork named name of source goes to
// and the source's shard: by the hash of its name (unless ForksOnSourceShard)
// (unless the source's own chain reaches another shard already, or it is
// a snapshot view), else the source's.
func (s *Service) forkShard(ctx context.Context, name, source string) (target, srcShard uint64, err error) {
	srcShard, _, err = s.shardOf(ctx, source, true)
	if err != nil {
		return 0, 0, err
	}
	count := s.node.shards.count()
	if s.node.cfg.ForksOnSourceShard || count <= 1 {
		return srcShard, srcShard, nil
	}
	target = placeBucket(name, count)
	if claimed, _, err := s.shardOf(ctx, name, true); err == nil {
		target = claimed // a claim left by an earlier bucket of the name
	}
	if target == srcShard {
		return target, srcShard, nil
	}
	src, err := readAsOn[*meta.Bucket](ctx, s, srcShard, meta.BucketQuery{Name: source})
	if err != nil {
		return 0, 0, err
	}
	if src.View || (src.Parent != nil && meta.ShardOfBucketID(src.Parent.BucketID) != srcShard) {
		return srcShard, srcShard, nil
	}
	return target, srcShard, nil
}

// createRemoteFork creates the fork name of source on shard target (not
// the source's shard srcShard), at version (0: now) or a named snapshot.
func (s *Service) createRemoteFork(ctx context.Context, name, source, region string, version uint64, snapName string,
	target, srcShard uint64) (*meta.Bucket, error) {
	res, err := s.createNamed(ctx, target, []string{name}, func(shard uint64) (*meta.Result, error) {
		return s.forkAcross(ctx, srcShard, shard, &meta.PinRemoteForks{Source: source, ForkVersion: version,
			ForkSnapshotName: snapName, MaxForkDepth: s.node.cfg.Meta.MaxForkDepth, Region: region}, []string{name})
	}, func(res *meta.Result) map[string]uint64 {
		return map[string]uint64{name: res.Buckets[0].ID}
	})
	if err != nil {
		return nil, err
	}
	b := res.Buckets[0]
	b.ParentName = source
	return &b, nil
}

// forkAcross runs the steps of the creation of forks names on shard
// target whose parent pin is on shard parent (pin: the fork point). A
// failed creation is undone at once when it can be; recovery does it
// otherwise.
func (s *Service) forkAcross(ctx context.Context, parent, target uint64, pin *meta.PinRemoteForks, names []string) (*meta.Result, error) {
	res, err := s.proposeOn(ctx, target, &meta.ReserveBucketIDs{Count: len(names)})
	if err != nil {
		return nil, err
	}
	first := res.Bucket.ID
	for i, n := range names {
		pin.Forks = append(pin.Forks, meta.RemoteFork{ID: first + uint64(i), Name: n})
	}
	pin.Target = target
	pin.Deadline = time.Now().Add(s.forkIntentTimeout()).UnixNano()
	res, err = s.proposeOn(ctx, parent, pin)
	if err != nil {
		return nil, err
	}
	if hook := s.node.cfg.forkStepHook; hook != nil && !hook(1) {
		return nil, errStepStopped
	}
	created, err := s.proposeOn(ctx, target, &meta.CreateRemoteForks{Template: res.Template, Forks: pin.Forks})
	if err != nil {
		// Nothing was made: abort the intents and release the pins now.
		s.node.resolveIntents(context.WithoutCancel(ctx), parent, true, func(in meta.PinIntent) bool {
			return in.Child >= first && in.Child < first+uint64(len(names))
		})
		return nil, err
	}
	if hook := s.node.cfg.forkStepHook; hook != nil && !hook(2) {
		return created, nil // the intents stay, as after a crash here
	}
	ids := make([]uint64, len(pin.Forks))
	for i, f := range pin.Forks {
		ids[i] = f.ID
	}
	pid := created.Buckets[0].Parent.BucketID
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := s.proposeOn(sctx, parent, &meta.SettleRemotePins{Parent: pid, IDs: ids}); err != nil {
		s.node.log.Warn("settling the pins of forks on another shard failed; recovery settles them", "forks", len(ids), "err", err)
	}
	return created, nil
}

// errStepStopped: a test stopped the creation of a fork between steps.
var errStepStopped = fmt.Errorf("%w: stopped between the steps of a fork's creation", ErrUnavailable)

// resolveRemoteForks is the recovery pass of the forks pinned on shard
// (its leader runs it): intents past their deadline are settled or
// aborted, and the pins of forks of this shard's buckets that were
// deleted on other shards are released; then the releases this shard
// recorded for its own deleted forks are sent to their parents' shards.
func (n *Node) resolveRemoteForks(shard uint64) {
	if n.shards.count() <= 1 {
		return
	}
	ctx, cancel := context.WithTimeout(n.life, 30*time.Second)
	defer cancel()
	now := time.Now().UnixNano()
	n.resolveIntents(ctx, shard, false, func(in meta.PinIntent) bool { return in.Deadline <= now || in.RollingBack })
	n.sendPinReleases(ctx, shard, false)
}

// maxRecoveryBatch bounds the intents or releases one round resolves.
const maxRecoveryBatch = 1000

// resolveIntents resolves the intents on shard that due selects: a fork
// that exists settles its pin; any other is aborted on its shard (a late
// creation is refused from then on) and its pin released. With linear the
// intents are read linearizably (right after a failed creation), else
// from the local replica of the leader.
func (n *Node) resolveIntents(ctx context.Context, shard uint64, linear bool, due func(meta.PinIntent) bool) {
	q := meta.PinIntentsQuery{Max: maxRecoveryBatch}
	var (
		v   any
		err error
	)
	if linear {
		v, err = n.svc.readOn(ctx, shard, q)
	} else {
		v, err = n.localReadOn(shard, q.Run)
	}
	if err != nil {
		n.log.Warn("reading the intents of forks on other shards failed", "shard", shard, "err", err)
		return
	}
	byTarget := map[uint64][]meta.PinIntent{}
	var batch []meta.PinIntent
	intents, _ := v.([]meta.PinIntent)
	for _, in := range intents {
		switch {
		case !due(in):
		case in.Batch || in.RollingBack:
			batch = append(batch, in)
		default:
			byTarget[in.Target] = append(byTarget[in.Target], in)
		}
	}
	if len(batch) > 0 {
		n.rollBackBatch(ctx, shard, batch)
	}
	for target, ins := range byTarget {
		ids := make([]uint64, len(ins))
		for i, in := range ins {
			ids[i] = in.Child
		}
		res, err := n.svc.proposeOn(ctx, target, &meta.AbortRemoteForks{IDs: ids})
		if err != nil {
			n.log.Warn("asking a shard about forks whose creation did not finish failed", "shard", target, "err", err)
			continue
		}
		made := map[uint64]bool{}
		for _, b := range res.Buckets {
			made[b.ID] = true
		}
		settle := map[uint64][]uint64{}
		var release []meta.PinRef
		for _, in := range ins {
			if made[in.Child] {
				settle[in.Parent] = append(settle[in.Parent], in.Child)
			} else {
				release = append(release, meta.PinRef{Parent: in.Parent, Base: in.Base, Child: in.Child})
			}
		}
		for parent, ids := range settle {
			if _, err := n.svc.proposeOn(ctx, shard, &meta.SettleRemotePins{Parent: parent, IDs: ids}); err != nil {
				n.log.Warn("settling the pins of forks on another shard failed", "shard", shard, "err", err)
			}
		}
		if len(release) > 0 {
			if _, err := n.svc.proposeOn(ctx, shard, &meta.ReleaseRemotePins{Pins: release}); err != nil {
				n.log.Warn("releasing the pins of forks never made failed", "shard", shard, "err", err)
				continue
			}
			n.log.Info("forks whose creation did not finish were given up; their pins released", "shard", shard, "forks", len(release))
		}
	}
}

// sendPinReleases releases, on their parents' shards, the pins of the
// forks of shard that were deleted, then clears the recorded releases.
// With linear the releases are read linearizably (right after a delete),
// else from the local replica of the leader (the recovery round: a
// release read twice is released twice, which changes nothing).
func (n *Node) sendPinReleases(ctx context.Context, shard uint64, linear bool) {
	q := meta.PinReleasesQuery{Max: maxRecoveryBatch}
	var (
		v   any
		err error
	)
	if linear {
		v, err = n.svc.readOn(ctx, shard, q)
	} else {
		v, err = n.localReadOn(shard, q.Run)
	}
	if err != nil {
		n.log.Warn("reading the pins to release failed", "shard", shard, "err", err)
		return
	}
	byParent := map[uint64][]meta.PinRef{}
	pins, _ := v.([]meta.PinRef)
	for _, p := range pins {
		sh := meta.ShardOfBucketID(p.Parent)
		byParent[sh] = append(byParent[sh], p)
	}
	for sh, pins := range byParent {
		if _, err := n.svc.proposeOn(ctx, sh, &meta.ReleaseRemotePins{Pins: pins}); err != nil {
			n.log.Warn("releasing the pins of deleted forks failed", "shard", sh, "err", err)
			continue
		}
		ids := make([]uint64, len(pins))
		for i, p := range pins {
			ids[i] = p.Child
		}
		if _, err := n.svc.proposeOn(ctx, shard, &meta.ClearPinReleases{IDs: ids}); err != nil {
			n.log.Warn("clearing released pins failed", "shard", shard, "err", err)
		}
	}
}

// sendPinRelease releases, on its parent's shard, the pin of the fork
// child of shard if its purge recorded a release, then clears that
// release: only this one, so that deletes of forks of one shard do not
// repeat each other's releases.
func (n *Node) sendPinRelease(ctx context.Context, shard, child uint64) {
	ref, err := readAsOn[*meta.PinRef](ctx, n.svc, shard, meta.PinReleaseQuery{Child: child})
	if err != nil || ref == nil {
		if err != nil {
			n.log.Warn("reading the pin to release failed", "shard", shard, "err", err)
		}
		return
	}
	if _, err := n.svc.proposeOn(ctx, meta.ShardOfBucketID(ref.Parent), &meta.ReleaseRemotePins{Pins: []meta.PinRef{*ref}}); err != nil {
		n.log.Warn("releasing the pin of a deleted fork failed", "shard", meta.ShardOfBucketID(ref.Parent), "err", err)
		return
	}
	if _, err := n.svc.proposeOn(ctx, shard, &meta.ClearPinReleases{IDs: []uint64{child}}); err != nil {
		n.log.Warn("clearing a released pin failed", "shard", shard, "err", err)
	}
}

// forkDepthLimit is the MaxForkDepth of a command making a fork of source
// on source's shard. When source's chain reaches a parent on another
// shard, the apply there counts the hop to that parent as one ancestor and
// cannot read the parent's own (meta Reader.depth): the limit it is given
// is lowered by them (read once on the parent's shard; that part of the
// chain never changes), so that the chain is held to the limit as a whole.
// At least 1: a fork of such a source has 2 ancestors or more here.
func (s *Service) forkDepthLimit(ctx context.Context, source string) (int, error) {
	limit := s.node.cfg.Meta.MaxForkDepth
	if limit <= 0 {
		limit = meta.DefaultOptions().MaxForkDepth
	}
	if s.node.shards.count() <= 1 {
		return limit, nil
	}
	rr, err := readAsB[*meta.RemoteRead](ctx, s, source, meta.RemoteOfQuery{Bucket: source})
	if err != nil || rr == nil {
		return limit, err
	}
	d, err := readAtOn[int](ctx, s, meta.ShardOfBucketID(rr.BucketID), rr.At, meta.ForkDepthQuery{ID: rr.BucketID})
	if err != nil {
		return 0, err
	}
	return max(limit-d, 1), nil
}

// readInherited finishes a read of bucket (at at, as GetObject reads
// it) that the fork's shard sent on (err is a *meta.RemoteRead): one
// read of the parent's shard as of the fork point and, when the fork's
// chain has changed tags or ACLs of versions it inherits from there
// (RemoteRead.Annotated), one more of the fork's shard for the version
// read. Any other err comes back unchanged.
func (s *Service) readInherited(ctx context.Context, bucket string, at uint64, o *meta.Object, err error, key, versionID string) (*meta.Object, error) {
	var rr *meta.RemoteRead
	if !errors.As(err, &rr) {
		return o, err
	}
	o, err = readAtOn[*meta.Object](ctx, s, meta.ShardOfBucketID(rr.BucketID), rr.At, meta.GetInheritedQuery{ID: rr.BucketID, Key: key, VersionID: versionID, At: rr.At})
	if o == nil {
		return o, err
	}
	c := *o
	c.ChunkShard = meta.ShardOfBucketID(rr.BucketID)
	if err == nil && rr.Annotated {
		a, aerr := readAsB[*meta.InheritedAnnotation](ctx, s, bucket, meta.InheritedAnnotationQuery{Bucket: bucket, Key: key, Version: o.Version, At: at})
		if aerr != nil {
			return nil, aerr
		}
		if a != nil && a.Found {
			c.Tags, c.ACL = a.Tags, a.ACL
		}
	}
	return &c, err
}

// inheritedVersion returns the version that the parent on another shard
// of the fork bucket shows for key and versionID at the fork point, for a
// change of it to carry (nil when the bucket's chain stays on its shard).
func (s *Service) inheritedVersion(ctx context.Context, bucket, key, versionID string) (*meta.InheritedVersion, error) {
	rr, err := readAsB[*meta.RemoteRead](ctx, s, bucket, meta.RemoteOfQuery{Bucket: bucket})
	if err != nil || rr == nil {
		return nil, err
	}
	o, err := readAsOn[*meta.Object](ctx, s, meta.ShardOfBucketID(rr.BucketID), meta.GetInheritedQuery{ID: rr.BucketID, Key: key, VersionID: versionID, At: rr.At})
	v, err := meta.InheritedVersionOf(rr, key, versionID, o, err)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// proposeChangeOfVersion proposes cmd, a change of version versionID of
// key in bucket. When apply answers ErrRemoteParent (the version is one
// the fork inherits from its parent on another shard), it reads that
// version there (immutable history), clears cmd's header (hdr, stamped
// again) and proposes carrying(it) instead: cmd carrying the version, for
// apply to decide with the parent's view of it.
func (s *Service) proposeChangeOfVersion(ctx context.Context, bucket, key, versionID string, cmd any, hdr *meta.Header,
	carrying func(meta.InheritedVersion) any) (*meta.Result, error) {
	res, err := s.proposeB(ctx, bucket, cmd)
	if !errors.Is(err, meta.ErrRemoteParent) {
		return res, err
	}
	v, verr := s.inheritedVersion(ctx, bucket, key, versionID)
	if verr != nil || v == nil {
		return nil, cmp.Or(verr, err)
	}
	*hdr = meta.Header{}
	return s.proposeB(ctx, bucket, carrying(*v))
}

// entrySource is one side of a merged listing: pages of entries (of
// type T, in key order) fetched from a shard on demand, from a position
// on.
type entrySource[T any] struct {
	fetch   func(from string, limit int) ([]T, bool, error)
	key     func(*T) string
	limit   int
	buf     []T
	from    string // where the next fetch starts
	more    bool
	started bool
	done    bool // past the end (a seek with no position after)
}

// peek returns the smallest entry not consumed, nil at the end.
func (e *entrySource[T]) peek() (*T, error) {
	for len(e.buf) == 0 {
		if e.done || (e.started && !e.more) {
			return nil, nil
		}
		buf, more, err := e.fetch(e.from, e.limit)
		if err != nil {
			return nil, err
		}
		e.started = true
		e.buf, e.more = buf, more
		if n := len(e.buf); n > 0 {
			e.from = e.key(&e.buf[n-1]) + "\x00"
		} else if e.more {
			return nil, fmt.Errorf("%w: an empty listing page with more to come", meta.ErrCorrupt)
		}
	}
	return &e.buf[0], nil
}

func (e *entrySource[T]) pop() { e.buf = e.buf[1:] }

// nextMerged peeks at both sides of a merged listing and returns the key
// that comes next (both entries nil at the end).
func nextMerged[L, P any](local *entrySource[L], parent *entrySource[P]) (lo *L, po *P, key string, err error) {
	if lo, err = local.peek(); err != nil {
		return nil, nil, "", err
	}
	if po, err = parent.peek(); err != nil {
		return nil, nil, "", err
	}
	switch {
	case lo == nil && po == nil:
	case lo == nil:
		key = parent.key(po)
	case po == nil || local.key(lo) <= parent.key(po):
		key = local.key(lo)
	default:
		key = parent.key(po)
	}
	return lo, po, key, nil
}

// seek drops the entries below pos; ok false is past every key.
func (e *entrySource[T]) seek(pos string, ok bool) {
	if !ok {
		e.buf, e.done = nil, true
		return
	}
	for len(e.buf) > 0 && e.key(&e.buf[0]) < pos {
		e.buf = e.buf[1:]
	}
	if len(e.buf) == 0 && pos > e.from {
		e.from = pos
	}
}

func objectKey(o *meta.Object) string { return o.Key }

// pageLimit is the page size of the fetches of a merged listing of
// maxKeys entries.
func pageLimit(maxKeys int) int { return min(max(maxKeys+1, 2), 1001) }

// parentSource reads the parent's entries at the fork point.
func (s *Service) parentSource(ctx context.Context, rr *meta.RemoteRead, prefix string, maxKeys int) *entrySource[meta.Object] {
	return &entrySource[meta.Object]{limit: pageLimit(maxKeys), key: objectKey,
		fetch: func(from string, limit int) ([]meta.Object, bool, error) {
			p, err := readAtOn[*meta.EntryPage](ctx, s, meta.ShardOfBucketID(rr.BucketID), rr.At, meta.InheritedEntriesQuery{ID: rr.BucketID, At: rr.At, Prefix: prefix, From: from, Limit: limit})
			if err != nil {
				return nil, false, err
			}
			return p.Entries, p.More, nil
		}}
}

// stringSuccessor returns the smallest string after every string that
// starts with p (ok false: there is none).
func stringSuccessor(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0xFF {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// commonPrefixOf returns the rolled-up prefix of key, if any.
func commonPrefixOf(key, prefix, delim string) (string, bool) {
	if delim == "" {
		return "", false
	}
	i := strings.Index(key[len(prefix):], delim)
	if i < 0 {
		return "", false
	}
	return key[:len(prefix)+i+len(delim)], true
}

// listMerged is ListObjects of a fork whose chain goes on at rr on
// another shard: the fork's local entries override the parent's at the
// fork point (a delete marker hides the key), then prefixes, delimiter
// and markers apply as meta.Reader.List applies them.
func (s *Service) listMerged(ctx context.Context, bucket string, rr *meta.RemoteRead, opts meta.ListOptions) (*meta.ListResult, error) {
	local := &entrySource[meta.Object]{limit: pageLimit(opts.MaxKeys), key: objectKey,
		fetch: func(from string, limit int) ([]meta.Object, bool, error) {
			p, err := readAsB[*meta.EntryPage](ctx, s, bucket, meta.LocalEntriesQuery{Bucket: bucket, At: opts.At, Prefix: opts.Prefix, From: from, Limit: limit})
			if err != nil {
				return nil, false, err
			}
			return p.Entries, p.More, nil
		}}
	parent := s.parentSource(ctx, rr, opts.Prefix, opts.MaxKeys)
	seek := func(pos string, ok bool) {
		local.seek(pos, ok)
		parent.seek(pos, ok)
	}
	start := opts.Prefix
	if opts.After != "" && opts.After >= opts.Prefix {
		start = opts.After + "\x00"
	}
	seek(start, true)
	res := &meta.ListResult{}
	n := 0
	for {
		lo, po, key, err := nextMerged(local, parent)
		if err != nil {
			return nil, err
		}
		if lo == nil && po == nil {
			break
		}
		cp, isCP := commonPrefixOf(key, opts.Prefix, opts.Delimiter)
		if isCP && cp <= opts.After {
			// The marker is inside this group: it was listed already.
			seek(stringSuccessor(cp))
			continue
		}
		var o meta.Object
		found := false
		if lo != nil && lo.Key == key {
			o, found = *lo, true
			local.pop()
		}
		if po != nil && po.Key == key {
			if !found {
				o = *po
			}
			parent.pop()
		}
		if o.DeleteMarker {
			continue
		}
		if n == opts.MaxKeys {
			res.IsTruncated = true
			break
		}
		n++
		if isCP {
			res.CommonPrefixes = append(res.CommonPrefixes, cp)
			res.Next = cp
			seek(stringSuccessor(cp))
			continue
		}
		res.Objects = append(res.Objects, o)
		res.Next = key
	}
	if !res.IsTruncated {
		res.Next = ""
	}
	return res, nil
}

// proposePut proposes a write; when its conditions need the view of the
// fork's parent on another shard (meta.ErrRemoteParent: nothing changed),
// that view is read (once, immutable) and the write proposed again with
// it.
func (s *Service) proposePut(ctx context.Context, cmd *meta.PutObject) (*meta.Result, error) {
	res, err := s.proposeB(ctx, cmd.Bucket, cmd)
	if !errors.Is(err, meta.ErrRemoteParent) || (cmd.IfMatch == "" && cmd.IfNoneMatch == "") {
		return res, err
	}
	v, err := s.inheritedView(ctx, cmd.Bucket, cmd.Object.Key)
	if err != nil {
		return nil, err
	}
	cmd.Header = meta.Header{}
	if v == nil {
		return s.proposeB(ctx, cmd.Bucket, cmd)
	}
	return s.proposeB(ctx, cmd.Bucket, &meta.PutObjectInherited{PutObject: *cmd, Inherited: *v})
}

// inheritedView returns what the parent on another shard of a fork shows
// of key at the fork point (for a command to carry: apply uses it only
// where the fork's local layers have nothing); nil when the bucket's
// chain stays on its shard.
func (s *Service) inheritedView(ctx context.Context, bucket, key string) (*meta.InheritedView, error) {
	rr, err := readAsB[*meta.RemoteRead](ctx, s, bucket, meta.RemoteOfQuery{Bucket: bucket})
	if err != nil || rr == nil {
		return nil, err
	}
	o, err := readAtOn[*meta.Object](ctx, s, meta.ShardOfBucketID(rr.BucketID), rr.At, meta.GetInheritedQuery{ID: rr.BucketID, Key: key, At: rr.At})
	v, err := meta.InheritedViewOf(rr, key, o, err)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// listVersionsMerged is ListObjectVersions of a fork whose chain goes on
// at rr on another shard: each key's own versions, then the one version
// it inherits (from a local ancestor when one has a record of the key,
// else from the parent at the fork point), as meta.Reader.ListVersions
// lists them.
func (s *Service) listVersionsMerged(ctx context.Context, bucket string, rr *meta.RemoteRead, opts meta.VersionListOptions) (*meta.VersionListResult, error) {
	local := &entrySource[meta.VersionEntry]{limit: pageLimit(opts.MaxKeys), key: func(e *meta.VersionEntry) string { return e.Key },
		fetch: func(from string, limit int) ([]meta.VersionEntry, bool, error) {
			p, err := readAsB[*meta.VersionEntryPage](ctx, s, bucket, meta.LocalVersionEntriesQuery{Bucket: bucket, At: opts.At, Prefix: opts.Prefix, From: from, Limit: limit})
			if err != nil {
				return nil, false, err
			}
			return p.Entries, p.More, nil
		}}
	parent := s.parentSource(ctx, rr, opts.Prefix, opts.MaxKeys)
	seek := func(pos string, ok bool) {
		local.seek(pos, ok)
		parent.seek(pos, ok)
	}
	start := opts.Prefix
	if opts.KeyMarker != "" && opts.KeyMarker >= opts.Prefix {
		start = opts.KeyMarker + "\x00"
		if opts.VersionIDMarker != "" {
			start = opts.KeyMarker
		}
	}
	seek(start, true)
	res := &meta.VersionListResult{}
	n := 0
	full := func() bool {
		if n == opts.MaxKeys {
			res.IsTruncated = true
			return true
		}
		n++
		return false
	}
	for {
		lo, po, key, err := nextMerged(local, parent)
		if err != nil {
			return nil, err
		}
		if lo == nil && po == nil {
			break
		}
		cp, isCP := commonPrefixOf(key, opts.Prefix, opts.Delimiter)
		if isCP && cp <= opts.KeyMarker {
			seek(stringSuccessor(cp))
			continue
		}
		var vs []meta.ObjectVersion
		var inh *meta.Object
		decided := false
		if lo != nil && lo.Key == key {
			for _, o := range lo.Own {
				vs = append(vs, meta.ObjectVersion{Object: o})
			}
			inh, decided = lo.Inherited, lo.Local
			local.pop()
		}
		if po != nil && po.Key == key {
			if !decided {
				o := *po
				inh = &o
			}
			parent.pop()
		}
		vs = meta.WithInherited(vs, inh)
		if len(vs) == 0 {
			continue
		}
		vs[0].IsLatest = true
		if isCP {
			if full() {
				break
			}
			res.CommonPrefixes = append(res.CommonPrefixes, cp)
			res.NextKeyMarker, res.NextVersionIDMarker = cp, ""
			seek(stringSuccessor(cp))
			continue
		}
		if key == opts.KeyMarker && opts.VersionIDMarker != "" {
			vs = meta.VersionsAfter(vs, opts.VersionIDMarker)
		}
		stop := false
		for _, v := range vs {
			if full() {
				stop = true
				break
			}
			res.Versions = append(res.Versions, v)
			res.NextKeyMarker, res.NextVersionIDMarker = key, meta.VersionID(&v.Object)
		}
		if stop {
			break
		}
	}
	if !res.IsTruncated {
		res.NextKeyMarker, res.NextVersionIDMarker = "", ""
	}
	return res, nil
}

// diffMerged is Diff of a fork whose chain goes on at rr on another
// shard: its own keys against what its local ancestors or, for keys they
// do not have, the parent at the fork point show (one read of the
// parent's shard per page).
func (s *Service) diffMerged(ctx context.Context, bucket string, rr *meta.RemoteRead, prefix, after string, max int) (*meta.DiffResult, error) {
	res := &meta.DiffResult{}
	from := prefix
	if after != "" && after >= prefix {
		from = after + "\x00"
	}
	for range 1 << 20 {
		page, err := readAsB[*meta.VersionEntryPage](ctx, s, bucket, meta.LocalVersionEntriesQuery{Bucket: bucket, Prefix: prefix, From: from, Limit: pageLimit(max)})
		if err != nil {
			return nil, err
		}
		var ask []string
		for _, e := range page.Entries {
			if len(e.Own) > 0 && !e.Local {
				ask = append(ask, e.Key)
			}
		}
		bases := map[string]*meta.Object{}
		if len(ask) > 0 {
			if bases, err = readAtOn[map[string]*meta.Object](ctx, s, meta.ShardOfBucketID(rr.BucketID), rr.At, meta.InheritedObjectsQuery{ID: rr.BucketID, At: rr.At, Keys: ask}); err != nil {
				return nil, err
			}
		}
		for _, e := range page.Entries {
			if len(e.Own) == 0 {
				continue
			}
			mine := e.Own[0]
			base := e.Inherited
			if !e.Local {
				base = bases[e.Key]
			}
			var d meta.DiffEntry
			switch {
			case mine.DeleteMarker && base == nil:
				continue
			case mine.DeleteMarker:
				d = meta.DiffEntry{Key: e.Key, Change: "deleted"}
			case base == nil:
				d = meta.DiffEntry{Key: e.Key, Change: "added", Object: &mine}
			case base.ETag != mine.ETag:
				d = meta.DiffEntry{Key: e.Key, Change: "changed", Object: &mine}
			default:
				continue
			}
			if len(res.Entries) == max {
				res.IsTruncated = true
				return res, nil
			}
			res.Entries = append(res.Entries, d)
			res.Next = e.Key
		}
		if !page.More || len(page.Entries) == 0 {
			break
		}
		from = page.Entries[len(page.Entries)-1].Key + "\x00"
	}
	res.Next = ""
	return res, nil
}

// nameRemoteLineage fills the names (and leases) a bucket's shard does
// not know in its lineage: of a parent and of forks that live on other
// shards (one read per other shard; a failed read leaves names empty).
func (s *Service) nameRemoteLineage(ctx context.Context, l *meta.Lineage) {
	home := meta.ShardOfBucketID(l.Bucket.ID)
	want := map[uint64][]uint64{}
	if p := l.Parent; p != nil && p.Name == "" && meta.ShardOfBucketID(p.BucketID) != home {
		want[meta.ShardOfBucketID(p.BucketID)] = append(want[meta.ShardOfBucketID(p.BucketID)], p.BucketID)
	}
	for _, f := range l.Forks {
		if sh := meta.ShardOfBucketID(f.BucketID); f.Name == "" && sh != home {
			want[sh] = append(want[sh], f.BucketID)
		}
	}
	for sh, ids := range want {
		found, err := readAsOn[map[uint64]meta.Bucket](ctx, s, sh, meta.LiveBucketsByIDQuery{IDs: ids})
		if err != nil {
			continue
		}
		if p := l.Parent; p != nil {
			if b, ok := found[p.BucketID]; ok {
				p.Name = b.Name
				l.Bucket.ParentName = b.Name
			}
		}
		for i := range l.Forks {
			if b, ok := found[l.Forks[i].BucketID]; ok {
				l.Forks[i].Name, l.Forks[i].Expires = b.Name, b.Expires
			}
		}
	}
}

// remoteParentOf reports whether b is a fork whose parent lives on
// another shard.
func remoteParentOf(b *meta.Bucket) bool {
	return b.Parent != nil && meta.ShardOfBucketID(b.Parent.BucketID) != meta.ShardOfBucketID(b.ID)
}

// nameRemoteParent fills the ParentName of a fork whose parent lives on
// another shard (one read of that shard; left empty when it fails or the
// parent was deleted).
func (s *Service) nameRemoteParent(ctx context.Context, b *meta.Bucket) {
	if !remoteParentOf(b) || b.ParentName != "" {
		return
	}
	p, err := readAsOn[*meta.Bucket](ctx, s, meta.ShardOfBucketID(b.Parent.BucketID), meta.BucketByIDQuery{ID: b.Parent.BucketID})
	if err == nil && p.State == meta.BucketLive {
		b.ParentName = p.Name
	}
}

// nameRemoteParents fills, in a listing of every live bucket, the
// ParentName of forks whose parents live on other shards.
func nameRemoteParents(bs []meta.Bucket) []meta.Bucket {
	var byID map[uint64]string
	for i := range bs {
		b := &bs[i]
		if !remoteParentOf(b) || b.ParentName != "" {
			continue
		}
		if byID == nil {
			byID = make(map[uint64]string, len(bs))
			for _, o := range bs {
				byID[o.ID] = o.Name
			}
		}
		b.ParentName = byID[b.Parent.BucketID]
	}
	return bs
}

// rollBackBatch rolls back the forks of batches spread over shards whose
// intents ins (on shard, their parents' shard) were not committed: the
// intents are marked (a late commit is refused), the forks made are
// retired on their shards (their pins go when they are purged) and the
// pins of the others released.
func (n *Node) rollBackBatch(ctx context.Context, shard uint64, ins []meta.PinIntent) {
	byParent := map[uint64][]meta.PinIntent{}
	for _, in := range ins {
		byParent[in.Parent] = append(byParent[in.Parent], in)
	}
	for parent, pins := range byParent {
		ids := make([]uint64, len(pins))
		for i, in := range pins {
			ids[i] = in.Child
		}
		res, err := n.svc.proposeOn(ctx, shard, &meta.RollBackRemoteForks{Parent: parent, IDs: ids})
		if err != nil {
			n.log.Warn("rolling back a batch of forks failed", "shard", shard, "err", err)
			continue
		}
		marked := map[uint64]bool{}
		for _, b := range res.Buckets {
			marked[b.ID] = true
		}
		byTarget := map[uint64][]meta.PinIntent{}
		for _, in := range pins {
			if marked[in.Child] {
				byTarget[in.Target] = append(byTarget[in.Target], in)
			}
		}
		for target, tins := range byTarget {
			tids := make([]uint64, len(tins))
			for i, in := range tins {
				tids[i] = in.Child
			}
			res, err := n.svc.proposeOn(ctx, target, &meta.AbortRemoteForks{IDs: tids, Retire: true})
			if err != nil {
				n.log.Warn("retiring the forks of a rolled back batch failed", "shard", target, "err", err)
				continue
			}
			made := map[uint64]bool{}
			var retired []uint64
			for _, b := range res.Buckets {
				made[b.ID] = true
				retired = append(retired, b.ID)
			}
			var release []meta.PinRef
			for _, in := range tins {
				if !made[in.Child] {
					release = append(release, meta.PinRef{Parent: in.Parent, Base: in.Base, Child: in.Child})
				}
			}
			if len(retired) > 0 {
				// Their pins stay until they are purged (forks of them
				// may read through them meanwhile).
				if _, err := n.svc.proposeOn(ctx, shard, &meta.SettleRemotePins{Parent: parent, IDs: retired}); err != nil {
					n.log.Warn("dropping the intents of retired forks failed", "shard", shard, "err", err)
				}
				n.sendPinReleases(ctx, target, true)
			}
			if len(release) > 0 {
				if _, err := n.svc.proposeOn(ctx, shard, &meta.ReleaseRemotePins{Pins: release}); err != nil {
					n.log.Warn("releasing the pins of forks never made failed", "shard", shard, "err", err)
				}
			}
		}
		n.log.Info("a batch of forks whose creation did not finish was rolled back", "shard", shard, "forks", len(res.Buckets))
	}
}

// errOutcomeUnknown: a batch spread over shards may have been committed.
var errOutcomeUnknown = errors.New("gateway: the outcome of the batch is unknown")

// errNoSpread: a batch of forks stays on its source's shard.
var errNoSpread = errors.New("gateway: the batch stays on its source's shard")

// createForksSpread creates the forks of cmd (a batch without keys,
// leases, grants or owner) spread over the shards other than the
// source's srcShard, all or none: the names are claimed in one directory
// command, ids reserved on each shard, the pins and intents written in one
// command on the source's shard, the forks created per shard, and one
// SettleRemotePins (All) commits them; any failure rolls the batch back
// (rollBackBatch), as recovery does for a batch not committed by its
// deadline. errNoSpread: the source keeps its forks on its shard.
func (s *Service) createForksSpread(ctx context.Context, cmd *meta.CreateForks, srcShard uint64, withKeys, keysFork bool) (*ForkBatch, error) {
	count := s.node.shards.count()
	if cmd.Owner != "" {
		// Users live in the directory; the forks' shards take the owner
		// as checked.
		if _, err := s.User(ctx, cmd.Owner); err != nil {
			return nil, err
		}
	}
	src, err := readAsOn[*meta.Bucket](ctx, s, srcShard, meta.BucketQuery{Name: cmd.Source})
	if err != nil {
		return nil, err
	}
	if src.View || (src.Parent != nil && meta.ShardOfBucketID(src.Parent.BucketID) != srcShard) {
		return nil, errNoSpread
	}
	names := cmd.Names
	shards := make([]uint64, len(names))
	groups := map[uint64][]int{}
	for i, n := range names {
		t := placeBucket(n, count)
		if t == srcShard {
			t = t%uint64(count) + 1 // a fork on its source's shard would take another fork point
		}
		shards[i] = t
		groups[t] = append(groups[t], i)
	}
	if _, err := s.propose(ctx, &meta.ClaimNames{Names: names, Shards: shards}); err != nil {
		if errors.Is(err, meta.ErrNameElsewhere) {
			return nil, s.nameElsewhere(ctx, names)
		}
		return nil, err
	}
	made, err := s.spreadForks(ctx, cmd, srcShard, groups, withKeys, keysFork)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for t, idx := range groups {
		if errors.Is(err, errOutcomeUnknown) {
			break // the claims stay pending, as after a crash: the names keep their shards
		}
		settle := &meta.SettleNames{Shard: t}
		for _, i := range idx {
			var id uint64
			if err == nil {
				id = made[i].Bucket.ID
				s.node.shards.names.store(names[i], t)
			}
			settle.Items = append(settle.Items, meta.SettledName{Name: names[i], ID: id})
		}
		if _, serr := s.propose(sctx, settle); serr != nil {
			s.node.log.Warn("settling bucket name claims failed; the names stay on their shard", "shard", t, "names", len(idx), "err", serr)
		}
	}
	if err != nil {
		return nil, err
	}
	out := &ForkBatch{Forks: made}
	for i := range made {
		made[i].Bucket.ParentName = cmd.Source
		out.Base = made[i].Bucket.Parent.Version
	}
	return out, nil
}

// spreadForks runs the steps of createForksSpread after the names are
// claimed; groups maps each shard to the indexes of its forks' names.
func (s *Service) spreadForks(ctx context.Context, cmd *meta.CreateForks, srcShard uint64, groups map[uint64][]int, withKeys, keysFork bool) ([]ForkGrant, error) {
	names := cmd.Names
	forks := make([]meta.RemoteFork, len(names))
	for t, idx := range groups {
		res, err := s.proposeOn(ctx, t, &meta.ReserveBucketIDs{Count: len(idx)})
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			forks[i] = meta.RemoteFork{ID: res.Bucket.ID + uint64(j), Name: names[i]}
		}
	}
	pin := &meta.PinRemoteForks{Source: cmd.Source, ForkVersion: cmd.ForkVersion, ForkSnapshotName: cmd.ForkSnapshotName,
		MaxForkDepth: cmd.MaxForkDepth, Region: cmd.Region, Batch: true, Owner: cmd.Owner,
		Deadline: time.Now().Add(s.forkIntentTimeout()).UnixNano(), Forks: forks}
	res, err := s.proposeOn(ctx, srcShard, pin)
	if err != nil {
		return nil, err // nothing pinned, or recovery rolls it back after the deadline
	}
	ids := make(map[uint64]bool, len(forks))
	list := make([]uint64, len(forks))
	for i, f := range forks {
		ids[f.ID], list[i] = true, f.ID
	}
	undo := func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		s.node.resolveIntents(uctx, srcShard, true, func(in meta.PinIntent) bool { return ids[in.Child] })
	}
	if hook := s.node.cfg.forkStepHook; hook != nil && !hook(1) {
		return nil, errStepStopped
	}
	byID := make(map[uint64]meta.Bucket, len(forks))
	out := make([]ForkGrant, len(forks))
	for t, idx := range groups {
		create := &meta.CreateRemoteForks{Template: res.Template, Expires: cmd.Expires, Owner: cmd.Owner}
		for _, i := range idx {
			create.Forks = append(create.Forks, forks[i])
			if withKeys {
				// A key lives on the shard of the fork it may use.
				k, secret := s.newKey(t, nil, "", false, 0)
				if keysFork {
					k.AllowForks, k.ForkPrefix = true, names[i]+"-"
				}
				create.Keys = append(create.Keys, k)
				out[i].KeyID, out[i].Secret = k.ID, secret
			}
		}
		created, err := s.proposeOn(ctx, t, create)
		if err != nil {
			undo()
			return nil, err
		}
		for _, b := range created.Buckets {
			byID[b.ID] = b
		}
		if withKeys || cmd.Expires != 0 {
			s.node.keys.of(t).reset(created.Version)
		}
	}
	if hook := s.node.cfg.forkStepHook; hook != nil && !hook(2) {
		return nil, fmt.Errorf("%w: %w", errOutcomeUnknown, errStepStopped) // the intents stay, as after a crash here
	}
	pid := byID[forks[0].ID].Parent.BucketID
	if _, err := s.proposeOn(ctx, srcShard, &meta.SettleRemotePins{Parent: pid, IDs: list, All: true}); err != nil {
		if isUnavailable(err) {
			// Committed or not: recovery rolls the batch back unless
			// it was committed.
			return nil, fmt.Errorf("%w: %w", errOutcomeUnknown, err)
		}
		undo()
		return nil, err
	}
	for i, f := range forks {
		out[i].Bucket = byID[f.ID]
	}
	return out, nil
}
