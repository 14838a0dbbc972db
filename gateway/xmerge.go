package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// Merges of a fork into its parent on another shard (meta/xmerge.go for
// the records and the protocol). The node that takes the request holds
// the fork on its shard, begins the merge on the parent's (which holds
// the parent), then carries the fork's changes over in entries of at most
// meta.MergeEntryChanges() keys, the chunks of each written version copied
// to new chunks first (a chunk is referenced from one shard only), ends
// the merge on the parent's shard and settles it on the fork's. The
// parent's shard keeps the merge's state, so any node can carry it on:
// the leader of the parent's shard does for a merge that stopped moving
// (resolveRemoteMerges), and the leader of the fork's shard gives up a
// hold that no merge began.

// mergeAcross merges fork (on shard), whose parent lives on another shard.
func (s *Service) mergeAcross(ctx context.Context, in MergeInput, shard uint64) (*meta.MergeReport, uint64, error) {
	res, err := s.proposeOn(ctx, shard, &meta.HoldRemoteMerge{Fork: in.Fork, DeleteFork: in.DeleteFork,
		Deadline: time.Now().Add(s.forkIntentTimeout()).UnixNano()})
	if err != nil {
		return nil, 0, err
	}
	fork, hold := *res.Bucket, res.Version
	h := meta.RemoteMergeHold{Fork: fork.ID, Parent: fork.Parent.BucketID, Hold: hold, DeleteFork: in.DeleteFork}
	ps := meta.ShardOfBucketID(fork.Parent.BucketID)
	res, err = s.proposeOn(ctx, ps, &meta.BeginRemoteMerge{Parent: fork.Parent.BucketID, Fork: fork.ID,
		Base: fork.Parent.Version, Hold: hold, ForkName: fork.Name, Strategy: in.Strategy, DeleteFork: in.DeleteFork})
	if err != nil {
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		s.node.giveUpRemoteMerge(gctx, shard, h)
		return nil, 0, err
	}
	st, err := meta.DecodeRemoteMergeState(res.Template)
	if err != nil {
		return nil, 0, err
	}
	rep, version, err := s.driveRemoteMerge(ctx, st, s.node.cfg.mergeStepHook)
	if err == nil && rep != nil && rep.ForkDeleted {
		s.node.keys.of(shard).reset(version)
		s.released(ctx, shard, fork)
	}
	return rep, version, err
}

// mergeEntryLimit is how many changes one entry of a merge across shards
// carries.
func (s *Service) mergeEntryLimit() int {
	n := meta.MergeEntryChanges()
	if l := s.node.cfg.mergeEntryLimit; l > 0 {
		n = min(n, l)
	}
	return n
}

// driveRemoteMerge carries merge st on from its state to its end (hook,
// when set by a test, may stop it before an entry).
func (s *Service) driveRemoteMerge(ctx context.Context, st *meta.RemoteMergeState, hook func(entry int) bool) (*meta.MergeReport, uint64, error) {
	ps, fs := meta.ShardOfBucketID(st.Parent), meta.ShardOfBucketID(st.Fork)
	abandon := false
	for entry := 0; st.Phase == meta.XMergeChecking || st.Phase == meta.XMergeApplying; entry++ {
		if hook != nil && !hook(entry) {
			return nil, 0, errMergeStopped
		}
		keysOnly := st.Phase == meta.XMergeChecking
		page, err := readAsOn[*meta.RemoteChangePage](ctx, s, fs, meta.RemoteMergeChangesQuery{ID: st.Fork, Hold: st.Hold, After: st.Cursor, Limit: s.mergeEntryLimit(), KeysOnly: keysOnly})
		if errors.Is(err, meta.ErrNoSuchBucket) {
			abandon = true // the fork went away (its lease ran out): the merge ends where it is
			break
		}
		if err != nil {
			return nil, 0, err
		}
		if err := s.fillRemote(ctx, page.Changes, keysOnly); err != nil {
			return nil, 0, err
		}
		var fresh []meta.Chunk
		for i := range page.Changes {
			if o := page.Changes[i].Object; o != nil && len(o.Chunks) > 0 {
				cs, err := s.copyChunks(ctx, o.Chunks)
				if err != nil {
					s.node.chunks.Discard(fresh)
					return nil, 0, err
				}
				o.Chunks = cs
				fresh = append(fresh, cs...)
			}
		}
		next := st.Cursor
		if n := len(page.Changes); n > 0 {
			next = page.Changes[n-1].Key
		}
		res, err := s.proposeOn(ctx, ps, &meta.RemoteMergeEntry{Fork: st.Fork, Hold: st.Hold, Phase: st.Phase,
			After: st.Cursor, Next: next, More: page.More, Changes: page.Changes})
		if err != nil {
			if !isUnavailable(err) {
				s.node.chunks.Discard(fresh)
			}
			return nil, 0, err
		}
		prev, phase := st.Cursor, st.Phase
		if st, err = meta.DecodeRemoteMergeState(res.Template); err != nil {
			return nil, 0, err
		}
		if (st.Phase == phase && st.Cursor == prev) || st.Phase == meta.XMergeStopped {
			// The entry changed nothing (not the next one, or the
			// parent went away): no record references the copies.
			s.node.chunks.Discard(fresh)
		}
	}
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	res, err := s.proposeOn(ectx, ps, &meta.EndRemoteMerge{Fork: st.Fork, Hold: st.Hold, Abandon: abandon})
	if err != nil {
		return nil, 0, err
	}
	if st, err = meta.DecodeRemoteMergeState(res.Template); err != nil {
		return nil, 0, err
	}
	if !st.Done {
		return nil, 0, fmt.Errorf("%w: the merge of %q did not end", ErrUnavailable, st.ForkName)
	}
	rep, version := res.Merge, res.Version
	sres, err := s.proposeOn(ectx, fs, &meta.SettleRemoteMerge{Fork: st.Fork, Hold: st.Hold, Merged: st.Merged, DeleteFork: st.DeleteFork})
	if err != nil {
		s.node.log.Warn("settling a merge on its fork's shard failed; recovery settles it", "fork", st.ForkName, "err", err)
	} else {
		rep.ForkDeleted = sres.Merge != nil && sres.Merge.ForkDeleted
		if _, err := s.proposeOn(ectx, ps, &meta.ClearRemoteMerges{Forks: []uint64{st.Fork}}); err != nil {
			s.node.log.Warn("clearing a settled merge failed", "fork", st.ForkName, "err", err)
		}
	}
	switch {
	case st.Phase == meta.XMergeRefused:
		return rep, version, fmt.Errorf("%w: %d keys changed in both %q and %q", meta.ErrMergeConflict, rep.ConflictCount, st.ForkName, rep.Parent)
	case st.Phase == meta.XMergeStopped:
		return rep, version, fmt.Errorf("%w: the parent of fork %q was deleted", meta.ErrNoSuchBucket, st.ForkName)
	case abandon:
		return rep, version, fmt.Errorf("%w: fork %q went away during its merge", meta.ErrNoSuchBucket, st.ForkName)
	}
	return rep, version, nil
}

// errMergeStopped: a test stopped a merge across shards between entries.
var errMergeStopped = fmt.Errorf("%w: stopped between the entries of a merge", ErrUnavailable)

// copyChunks writes chunks again as new chunks (their stored bytes, as
// they are: sealed chunks stay sealed under the version's data key).
func (s *Service) copyChunks(ctx context.Context, chunks []meta.Chunk) ([]meta.Chunk, error) {
	if err := s.node.disk.refuse(); err != nil {
		return nil, err
	}
	rep := s.node.cluster.blocks.StartReplication()
	var out []meta.Chunk
	for _, c := range chunks {
		w, err := s.node.chunks.Create()
		if err != nil {
			s.node.chunks.Discard(out)
			return nil, err
		}
		rc := s.newObjectReader(nil, []meta.Chunk{c}, 0, c.Size)
		_, err = io.Copy(w, rc)
		rc.Close()
		if err != nil {
			w.Abort()
			s.node.chunks.Discard(out)
			return nil, err
		}
		nc, err := w.Commit()
		if err != nil {
			s.node.chunks.Discard(out)
			return nil, err
		}
		if rep != nil {
			rep.Add(nc)
		}
		out = append(out, nc)
	}
	if err := rep.Wait(ctx); err != nil {
		s.node.chunks.Discard(out)
		s.node.cluster.kickRepair()
		return nil, err
	}
	return out, nil
}

// giveUpRemoteMerge ends hold h of a fork on shard whose merge may not
// have begun: the parent's shard says how the merge went (and refuses to
// begin it from then on), and the hold is settled so.
func (n *Node) giveUpRemoteMerge(ctx context.Context, shard uint64, h meta.RemoteMergeHold) {
	ps := meta.ShardOfBucketID(h.Parent)
	res, err := n.svc.proposeOn(ctx, ps, &meta.AbortRemoteMerge{Fork: h.Fork, Hold: h.Hold})
	if err != nil {
		n.log.Warn("asking about a merge across shards failed", "shard", ps, "err", err)
		return
	}
	merged := false
	if len(res.Template) > 0 {
		st, err := meta.DecodeRemoteMergeState(res.Template)
		if err != nil {
			n.log.Warn("a merge state did not decode", "err", err)
			return
		}
		if !st.Done {
			return // under way: the parent shard's leader carries it on
		}
		merged = st.Merged
	}
	if _, err := n.svc.proposeOn(ctx, shard, &meta.SettleRemoteMerge{Fork: h.Fork, Hold: h.Hold, Merged: merged, DeleteFork: h.DeleteFork}); err != nil {
		n.log.Warn("settling a merge hold failed", "shard", shard, "err", err)
	}
}

// resolveRemoteMerges is the recovery pass of merges across shards on
// shard (its leader runs it): merges into its buckets that stopped moving
// are carried on, ended ones settled on their forks' shards, and holds of
// its forks past their deadline given up or settled.
func (n *Node) resolveRemoteMerges(shard uint64) {
	if n.shards.count() <= 1 {
		return
	}
	ctx, cancel := context.WithTimeout(n.life, 5*time.Minute)
	defer cancel()
	v, err := n.localReadOn(shard, func(r *meta.Reader) (any, error) { return r.RemoteMerges(maxRecoveryBatch) })
	if err != nil {
		n.log.Warn("reading merges across shards failed", "shard", shard, "err", err)
		return
	}
	stall := mergeStall
	if d := n.cfg.mergeStallAfter; d > 0 {
		stall = d
	}
	for _, st := range v.([]meta.RemoteMergeState) {
		if time.Since(time.Unix(0, int64(st.Moved))) < stall {
			continue
		}
		if !st.Done {
			n.log.Warn("carrying on a merge across shards left under way", "fork", st.ForkName)
			if _, _, err := n.svc.driveRemoteMerge(ctx, &st, nil); err != nil && !errors.Is(err, meta.ErrMergeConflict) {
				n.log.Warn("carrying on a merge across shards failed", "fork", st.ForkName, "err", err)
			}
			continue
		}
		fs := meta.ShardOfBucketID(st.Fork)
		if _, err := n.svc.proposeOn(ctx, fs, &meta.SettleRemoteMerge{Fork: st.Fork, Hold: st.Hold, Merged: st.Merged, DeleteFork: st.DeleteFork}); err != nil {
			n.log.Warn("settling a merge on its fork's shard failed", "shard", fs, "err", err)
			continue
		}
		if _, err := n.svc.proposeOn(ctx, shard, &meta.ClearRemoteMerges{Forks: []uint64{st.Fork}}); err != nil {
			n.log.Warn("clearing a settled merge failed", "shard", shard, "err", err)
		}
	}
	hv, err := n.localReadOn(shard, func(r *meta.Reader) (any, error) { return r.RemoteMergeHolds(maxRecoveryBatch) })
	if err != nil {
		n.log.Warn("reading merge holds failed", "shard", shard, "err", err)
		return
	}
	now := time.Now().UnixNano()
	for _, h := range hv.([]meta.RemoteMergeHold) {
		if h.Deadline <= now {
			n.giveUpRemoteMerge(ctx, shard, h)
		}
	}
}

// forkOfRemoteParent reports whether fork (on shard) has its parent on
// another shard.
func (s *Service) forkOfRemoteParent(ctx context.Context, shard uint64, fork string) (bool, error) {
	b, err := readAsOn[*meta.Bucket](ctx, s, shard, meta.BucketQuery{Name: fork})
	if err != nil {
		return false, err
	}
	return b.Parent != nil && meta.ShardOfBucketID(b.Parent.BucketID) != shard, nil
}

// planAcross is the dry run of a merge across shards: the fork's changes
// read a page at a time, each page weighed against the parent.
func (s *Service) planAcross(ctx context.Context, in MergeInput, shard uint64) (*meta.MergeReport, uint64, error) {
	fork, err := readAsOn[*meta.Bucket](ctx, s, shard, meta.BucketQuery{Name: in.Fork})
	if err != nil {
		return nil, 0, err
	}
	ps := meta.ShardOfBucketID(fork.Parent.BucketID)
	rep := &meta.MergeReport{Fork: fork.Name, ParentID: fork.Parent.BucketID, Base: fork.Parent.Version, DryRun: true}
	var version uint64
	after := ""
	for range 1 << 20 {
		page, err := readAsOn[*meta.RemoteChangePage](ctx, s, shard, meta.RemoteMergeChangesQuery{ID: fork.ID, After: after, Limit: s.mergeEntryLimit(), KeysOnly: true})
		if err != nil {
			return nil, 0, err
		}
		if err := s.fillRemote(ctx, page.Changes, true); err != nil {
			return nil, 0, err
		}
		next, err := readAsOn[*meta.MergePlanResult](ctx, s, ps, meta.RemoteMergePlanQuery{
			Parent: fork.Parent.BucketID, Fork: fork.ID, Base: fork.Parent.Version,
			Strategy: in.Strategy, Changes: page.Changes, Report: *rep})
		if err != nil {
			return nil, 0, err
		}
		rep, version = next.Report, next.Version
		if !page.More || len(page.Changes) == 0 {
			break
		}
		after = page.Changes[len(page.Changes)-1].Key
	}
	return rep, version, nil
}

// fillRemote reads, on the shard where the chain of a merge's parent goes
// on, what changes need (a parent on the fork's shard whose own parent
// lives on another): the record the fork inherits from there
// (InheritRead) and what the parent shows from there (ParentRead).
// History at those fork points never changes. keysOnly keeps only the
// versions of inherited records (a conflict check).
func (s *Service) fillRemote(ctx context.Context, cs []meta.RemoteChange, keysOnly bool) error {
	type ask struct {
		rr      *meta.RemoteRead
		i       int
		inherit bool
	}
	byShard := map[uint64][]ask{}
	for i := range cs {
		if rr := cs[i].InheritRead; rr != nil {
			byShard[meta.ShardOfBucketID(rr.BucketID)] = append(byShard[meta.ShardOfBucketID(rr.BucketID)], ask{rr, i, true})
		}
		if rr := cs[i].ParentRead; rr != nil {
			byShard[meta.ShardOfBucketID(rr.BucketID)] = append(byShard[meta.ShardOfBucketID(rr.BucketID)], ask{rr, i, false})
		}
	}
	for shard, asks := range byShard {
		reads := make([]meta.InheritedRead, len(asks))
		for j, a := range asks {
			reads[j] = meta.InheritedRead{BucketID: a.rr.BucketID, Key: cs[a.i].Key, At: a.rr.At}
		}
		// Nothing found for a key: no record, or a delete marker.
		got, err := readAsOn[[]meta.FoundObject](ctx, s, shard, meta.InheritedReadsQuery{Reads: reads})
		if err != nil {
			return err
		}
		if len(got) != len(asks) {
			return fmt.Errorf("gateway: %d inherited reads answered %d", len(asks), len(got))
		}
		for j, a := range asks {
			c, o := &cs[a.i], got[j].Object
			if !a.inherit {
				c.ParentRemote, c.ParentID, c.ParentAt = true, a.rr.BucketID, a.rr.At
				if o != nil {
					c.ParentPresent, c.ParentVersion = true, o.Version
				}
				continue
			}
			if o == nil {
				c.Kind, c.Object = meta.ChangeDelete, nil
				continue
			}
			c.Kind, c.FromParent = meta.ChangePut, true
			if keysOnly {
				o = &meta.Object{Key: o.Key, Version: o.Version}
			}
			c.Object = o
		}
	}
	return nil
}
