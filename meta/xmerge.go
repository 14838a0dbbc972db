package meta

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Merging a fork into its parent on another shard.
//
// The fork's shard knows what the fork changed (its own layer, its merge
// points); the parent's shard knows what the parent changed (its own
// layer, the fork's per-key "last merge applied" records, its merge
// points). The gateway carries the fork's changes from one to the other
// in commands, each atomic on its shard:
//
//  1. HoldRemoteMerge on the fork's shard: a merge hold on the fork
//     (nothing changes it from then on) and a hold record (parent, the
//     hold's version, a deadline);
//  2. BeginRemoteMerge on the parent's shard: a merge hold on the parent
//     (its readers wait, as for a local merge) and the merge's state;
//  3. RemoteMergeEntry on the parent's shard, at most mergeEntryChanges
//     changes each (strategy fail first checks every change, then the
//     changes are applied), each with the fork's record of the key, whose
//     chunks the gateway copied to new chunks (a chunk is referenced from
//     one shard only);
//  4. EndRemoteMerge on the parent's shard: the merge point, the hold
//     released, and a notice for the fork's shard;
//  5. SettleRemoteMerge on the fork's shard: its merge point (so the next
//     merge compares against it), its hold released (or the fork deleted);
//  6. ClearRemoteMerges on the parent's shard: the notice goes.
//
// The parent's shard drives the merge: its state (phase, cursor, report)
// says what comes next, an entry that does not follow it changes nothing
// and answers it, so a retried or a resumed entry is harmless. Recovery:
// the parent shard's leader carries on a merge that has not moved for a
// while (the node driving it stopped) and sends the notices left; the
// fork shard's leader asks the parent's shard about a hold past its
// deadline (AbortRemoteMerge: a merge never begun is refused from then
// on) and settles it as answered.

// Sub-families of pfxRemoteMerge.
const (
	xmUnderWay byte = 1 // parent's shard: a merge under way, by fork id
	xmDone     byte = 2 // parent's shard: a merge ended, to settle on the fork's shard
	xmAborted  byte = 3 // parent's shard: a hold given up (fork id, hold)
	xmHold     byte = 4 // fork's shard: the fork held by a merge into its remote parent
)

func keyXMergeUnderWay(fork uint64) []byte {
	return appendU64([]byte{pfxRemoteMerge, xmUnderWay}, fork)
}

func keyXMergeDone(fork uint64) []byte { return appendU64([]byte{pfxRemoteMerge, xmDone}, fork) }

func keyXMergeAborted(fork, hold uint64) []byte {
	return appendU64(appendU64([]byte{pfxRemoteMerge, xmAborted}, fork), hold)
}

func keyXMergeHold(fork uint64) []byte { return appendU64([]byte{pfxRemoteMerge, xmHold}, fork) }

// Phases of a merge across shards.
const (
	XMergeChecking byte = 0 // strategy fail: every change checked for conflicts first
	XMergeApplying byte = 1 // changes applied
	XMergeReady    byte = 2 // every change applied: EndRemoteMerge writes the merge point
	XMergeRefused  byte = 3 // conflicts under strategy fail: EndRemoteMerge ends it with nothing written
	XMergeStopped  byte = 4 // the parent went away: EndRemoteMerge ends it where it is
)

// RemoteMergeState is a merge across shards as the parent's shard keeps
// it.
type RemoteMergeState struct {
	Parent, Fork, Base, Hold uint64
	ForkName                 string
	Strategy                 MergeStrategy
	DeleteFork               bool
	Phase                    byte
	Cursor                   string // the last change checked or applied
	Report                   MergeReport
	Moved                    uint64 // the version of its last entry
	// Done: the merge ended (a notice to settle on the fork's shard);
	// Merged: it wrote its merge point.
	Done, Merged bool
}

func encodeXMergeState(s *RemoteMergeState) []byte {
	e := encoder{b: []byte{fmtV1}}
	e.u64(s.Parent)
	e.u64(s.Fork)
	e.u64(s.Base)
	e.u64(s.Hold)
	e.str(s.ForkName)
	e.u8(byte(s.Strategy))
	e.boolean(s.DeleteFork)
	e.u8(s.Phase)
	e.str(s.Cursor)
	e.str(s.Report.Parent)
	e.int(s.Report.Puts)
	e.int(s.Report.Deletes)
	e.int(s.Report.Kept)
	e.int(s.Report.ConflictCount)
	e.uvarint(uint64(len(s.Report.Conflicts)))
	for _, k := range s.Report.Conflicts {
		e.str(k)
	}
	e.u64(s.Moved)
	e.boolean(s.Done)
	e.boolean(s.Merged)
	return e.b
}

// DecodeRemoteMergeState decodes the state a command of a merge across
// shards answers (Result.Template).
func DecodeRemoteMergeState(b []byte) (*RemoteMergeState, error) {
	d := decoder{b: b}
	d.fmtByte()
	s := &RemoteMergeState{Parent: d.u64(), Fork: d.u64(), Base: d.u64(), Hold: d.u64(), ForkName: d.str(),
		Strategy: MergeStrategy(d.u8()), DeleteFork: d.boolean(), Phase: d.u8(), Cursor: d.str()}
	s.Report.Parent = d.str()
	s.Report.Puts, s.Report.Deletes, s.Report.Kept, s.Report.ConflictCount = d.int(), d.int(), d.int(), d.int()
	for i, n := 0, d.count(); i < n && d.err == nil; i++ {
		s.Report.Conflicts = append(s.Report.Conflicts, d.str())
	}
	s.Moved, s.Done, s.Merged = d.u64(), d.boolean(), d.boolean()
	if err := d.done(); err != nil {
		return nil, err
	}
	s.Report.Fork, s.Report.ParentID, s.Report.Base = s.ForkName, s.Parent, s.Base
	s.Report.UnderWay = !s.Done
	return s, nil
}

// Kinds of RemoteChange.
const (
	ChangePut     byte = 1 // the fork shows Object
	ChangeDelete  byte = 2 // the fork shows a delete marker
	ChangeInherit byte = 3 // the fork shows what it inherits from the parent at its base
)

// RemoteChange is a key the fork changed, as the fork shows it now.
type RemoteChange struct {
	Key    string
	Kind   byte
	Object *Object // ChangePut, with its tags and ACL (in a conflict check, its version only)
	// FromParent: Object is the record the fork inherits from the
	// parent's own parent on another shard (a parent whose chain reaches
	// another shard), read there.
	FromParent bool
	// ParentRemote: what the parent shows of the key below its own layer
	// goes on at ParentID on another shard, as of ParentAt: ParentPresent,
	// at version ParentVersion (read there by the proposer).
	ParentRemote       bool
	ParentID, ParentAt uint64
	ParentPresent      bool
	ParentVersion      uint64
	// InheritRead and ParentRead (RemoteMergeChanges, not encoded) say
	// where the proposer reads what FromParent and ParentRemote need.
	InheritRead, ParentRead *RemoteRead
}

func encodeRemoteChanges(e *encoder, cs []RemoteChange) {
	e.uvarint(uint64(len(cs)))
	for _, c := range cs {
		e.str(c.Key)
		e.u8(c.Kind)
		e.boolean(c.Object != nil)
		if c.Object != nil {
			encodeObjectFull(e, c.Object)
		}
		e.boolean(c.FromParent)
		e.boolean(c.ParentRemote)
		if c.ParentRemote {
			e.u64(c.ParentID)
			e.u64(c.ParentAt)
			e.boolean(c.ParentPresent)
			e.u64(c.ParentVersion)
		}
	}
}

func decodeRemoteChanges(d *decoder) []RemoteChange {
	var out []RemoteChange
	for i, n := 0, d.count(); i < n && d.err == nil; i++ {
		c := RemoteChange{Key: d.str(), Kind: d.u8()}
		if d.boolean() {
			o := decodeObjectFull(d)
			c.Object = &o
		}
		c.FromParent, c.ParentRemote = d.boolean(), d.boolean()
		if c.ParentRemote {
			c.ParentID, c.ParentAt, c.ParentPresent, c.ParentVersion = d.u64(), d.u64(), d.boolean(), d.u64()
		}
		out = append(out, c)
	}
	return out
}

// HoldRemoteMerge holds, on its shard, a fork whose parent lives on
// another shard for a merge into that parent. Result.Bucket is the fork,
// Result.Merge its report so far (Since: the fork's last merge, a version
// of this shard), Result.Version the hold.
type HoldRemoteMerge struct {
	Header
	Fork       string
	DeleteFork bool
	Deadline   int64 // Unix ns, the proposer's clock
}

// BeginRemoteMerge begins, on the parent's shard, the merge of a fork held
// by Hold (HoldRemoteMerge). Result.Template is the merge's state.
type BeginRemoteMerge struct {
	Header
	Parent, Fork, Base, Hold uint64
	ForkName                 string
	Strategy                 MergeStrategy
	DeleteFork               bool
}

// RemoteMergeEntry checks (phase XMergeChecking) or applies (phase
// XMergeApplying) the fork's changes after After up to Next; More says
// changes follow. An entry that does not follow the state changes
// nothing. Result.Template is the merge's state.
type RemoteMergeEntry struct {
	Header
	Fork, Hold  uint64
	Phase       byte
	After, Next string
	More        bool
	Changes     []RemoteChange
}

// EndRemoteMerge ends, on the parent's shard, a merge that is ready,
// refused or stopped (Abandon: the fork went away; it ends where it is).
// Result.Template is the merge's state, Result.Merge its report.
type EndRemoteMerge struct {
	Header
	Fork, Hold uint64
	Abandon    bool
}

// SettleRemoteMerge ends, on the fork's shard, the hold Hold: with Merged
// the fork's merge point is written (or the fork deleted, DeleteFork).
type SettleRemoteMerge struct {
	Header
	Fork, Hold uint64
	Merged     bool
	DeleteFork bool
}

// ClearRemoteMerges drops, on the parent's shard, the notices of merges
// settled on their forks' shards.
type ClearRemoteMerges struct {
	Header
	Forks []uint64
}

// AbortRemoteMerge asks the parent's shard about the merge of the fork
// held by Hold: under way or ended (Result.Template, its state), or never
// begun, which is recorded so that BeginRemoteMerge refuses it from then
// on (Result.Template empty).
type AbortRemoteMerge struct {
	Header
	Fork, Hold uint64
}

// RemoteMergeHold is a fork held on its shard by a merge into its parent
// on another shard.
type RemoteMergeHold struct {
	Fork, Parent, Hold uint64
	Deadline           int64
	DeleteFork         bool
}

func (a *applier) holdRemoteMerge(c *HoldRemoteMerge) (*Result, error) {
	f, err := a.r.liveBucket(c.Fork)
	if err != nil {
		return nil, err
	}
	if f.Parent == nil {
		return nil, fmt.Errorf("%w: %q", ErrNotAFork, c.Fork)
	}
	if !remoteParent(f) {
		// A parent on this shard whose own chain reaches another.
		p, err := a.r.bucketByID(f.Parent.BucketID)
		if err != nil {
			return nil, err
		}
		if p == nil || p.State != BucketLive {
			return nil, fmt.Errorf("%w: the parent of fork %q was deleted", ErrNoSuchBucket, c.Fork)
		}
		if _, remote, err := a.r.chainRemote(p, latest); err != nil {
			return nil, err
		} else if remote == nil {
			return nil, fmt.Errorf("%w: the parent of %q is on its shard", ErrInvalidRemoteFork, c.Fork)
		}
	}
	if view, err := a.r.isView(f.ID); err != nil {
		return nil, err
	} else if view {
		return nil, fmt.Errorf("%w: %q", ErrReadOnlyView, f.Name)
	}
	vs, err := a.r.mergePointsOf(keyMergePointsOf(f.Parent.BucketID, f.ID))
	if err != nil {
		return nil, err
	}
	rep := MergeReport{Fork: f.Name, ParentID: f.Parent.BucketID, Base: f.Parent.Version}
	for _, v := range vs {
		rep.Since = max(rep.Since, v)
	}
	if err := a.set(keyMergeHold(f.ID), u64Value(f.ID)); err != nil {
		return nil, err
	}
	e := encoder{b: []byte{fmtV1}}
	e.u64(f.Parent.BucketID)
	e.u64(a.version)
	e.varint(c.Deadline)
	e.boolean(c.DeleteFork)
	if err := a.set(keyXMergeHold(f.ID), e.b); err != nil {
		return nil, err
	}
	return &Result{Bucket: f, Merge: &rep}, nil
}

// xmergeState reads the state of the merge of fork under way here (nil
// when none).
func (r *Reader) xmergeState(fork uint64) (*RemoteMergeState, error) {
	v, ok, err := getValue(r.txn, keyXMergeUnderWay(fork))
	if err != nil || !ok {
		return nil, err
	}
	return DecodeRemoteMergeState(v)
}

func (a *applier) beginRemoteMerge(c *BeginRemoteMerge) (*Result, error) {
	if s, err := a.r.xmergeState(c.Fork); err != nil {
		return nil, err
	} else if s != nil {
		if s.Hold != c.Hold {
			return nil, fmt.Errorf("%w: a merge of fork %d is under way", ErrMergeInProgress, c.Fork)
		}
		return &Result{Template: encodeXMergeState(s)}, nil // a retry
	}
	if v, ok, err := getValue(a.txn, keyXMergeDone(c.Fork)); err != nil {
		return nil, err
	} else if ok {
		if d, err := DecodeRemoteMergeState(v); err == nil && d.Hold == c.Hold {
			return &Result{Template: v}, nil // ended already (a late retry)
		}
	}
	if ok, err := exists(a.txn, keyXMergeAborted(c.Fork, c.Hold)); err != nil {
		return nil, err
	} else if ok {
		return nil, fmt.Errorf("%w: the merge of fork %d was given up", ErrForkAborted, c.Fork)
	}
	if ShardOfBucketID(c.Parent) != a.shard {
		return nil, fmt.Errorf("%w: fork %d, parent %d", ErrInvalidRemoteFork, c.Fork, c.Parent)
	}
	p, err := a.r.bucketByID(c.Parent)
	if err != nil {
		return nil, err
	}
	if p == nil || p.State != BucketLive {
		return nil, fmt.Errorf("%w: the parent of fork %q was deleted", ErrNoSuchBucket, c.ForkName)
	}
	if _, remote, err := a.r.chainRemote(p, latest); err != nil {
		return nil, err
	} else if (remote != nil) != (ShardOfBucketID(c.Fork) == a.shard) {
		// One shard hop per chain: a fork on another shard has a parent
		// whose chain stays on its shard, a fork on the parent's shard
		// comes this way only when the parent's chain does not.
		return nil, fmt.Errorf("%w: the parent %q of fork %q", ErrCrossShardMerge, p.Name, c.ForkName)
	}
	if view, err := a.r.isView(p.ID); err != nil {
		return nil, err
	} else if view {
		return nil, fmt.Errorf("%w: %q", ErrReadOnlyView, p.Name)
	}
	if held, err := exists(a.txn, keyMergeHold(p.ID)); err != nil {
		return nil, err
	} else if held {
		return nil, fmt.Errorf("%w: bucket %q", ErrMergeInProgress, p.Name)
	}
	s := &RemoteMergeState{Parent: p.ID, Fork: c.Fork, Base: c.Base, Hold: c.Hold, ForkName: c.ForkName,
		Strategy: c.Strategy, DeleteFork: c.DeleteFork, Phase: XMergeApplying, Moved: a.version}
	if c.Strategy == MergeFail {
		s.Phase = XMergeChecking
	}
	s.Report.Parent = p.Name
	if err := a.set(keyMergeHold(p.ID), u64Value(c.Fork)); err != nil {
		return nil, err
	}
	b := encodeXMergeState(s)
	if err := a.set(keyXMergeUnderWay(c.Fork), b); err != nil {
		return nil, err
	}
	return &Result{Template: b}, nil
}

// xmergeSource is the parent side of merge s (nil parent: gone).
func (a *applier) xmergeSource(s *RemoteMergeState) (*mergeSource, error) {
	p, err := a.r.bucketByID(s.Parent)
	if err != nil || p == nil || p.State != BucketLive {
		return nil, err
	}
	if held, err := exists(a.txn, keyMergeHold(p.ID)); err != nil || !held {
		return nil, err // !held: the parent's hold ended (it was retired)
	}
	return &mergeSource{fork: &Bucket{ID: s.Fork, Name: s.ForkName}, parent: p, base: s.Base}, nil
}

func (a *applier) remoteMergeEntry(c *RemoteMergeEntry) (*Result, error) {
	a.r.mergeBypass = true
	s, res, err := a.remoteEntryPrepare(c)
	if err != nil || res != nil {
		return res, err
	}
	m, err := a.xmergeSource(s)
	if err != nil {
		return nil, err
	}
	for i := 0; m != nil && i < len(c.Changes); i++ {
		if err := a.remoteEntryChange(m, s, c.Changes[i]); err != nil {
			return nil, err
		}
	}
	return a.remoteEntryEnd(c, s, m)
}

// remoteEntryPrepare checks entry c before anything is written: the
// merge's state, or a result when the entry is not the next one (it
// changes nothing and answers the state).
func (a *applier) remoteEntryPrepare(c *RemoteMergeEntry) (*RemoteMergeState, *Result, error) {
	s, err := a.r.xmergeState(c.Fork)
	if err != nil {
		return nil, nil, err
	}
	if s == nil || s.Hold != c.Hold {
		return nil, nil, fmt.Errorf("%w: no merge of fork %d under way", ErrNoSuchBucket, c.Fork)
	}
	if s.Phase != c.Phase || s.Cursor != c.After || len(c.Changes) > mergeEntryChanges {
		return nil, &Result{Template: encodeXMergeState(s)}, nil // not the next entry: the state says which is
	}
	m, err := a.xmergeSource(s)
	if err != nil {
		return nil, nil, err
	}
	prev := s.Cursor
	for _, ch := range c.Changes {
		if m == nil {
			break
		}
		if prev != "" && ch.Key <= prev {
			return nil, nil, fmt.Errorf("%w: change %q out of order", ErrInvalidRemoteFork, ch.Key)
		}
		prev = ch.Key
		// Every view of the parent that goes on on another shard is
		// carried.
		if _, err := a.parentView(m, ch); err != nil {
			return nil, nil, err
		}
	}
	return s, nil, nil
}

// remoteEntryChange checks or applies one change of merge s.
func (a *applier) remoteEntryChange(m *mergeSource, s *RemoteMergeState, ch RemoteChange) error {
	eff, o, err := a.xmergeEffect(m, ch)
	if err != nil {
		return err
	}
	if eff != effectNone {
		conflict, err := m.parentChanged(a.r, ch.Key)
		if err != nil {
			return err
		}
		if conflict {
			s.Report.conflict(ch.Key)
			if s.Phase == XMergeApplying && s.Strategy == MergeParentWins {
				s.Report.Kept++
				s.Cursor = ch.Key
				return nil
			}
		}
		if s.Phase == XMergeApplying {
			if err := a.xmergeApply(m, eff, o, ch, &s.Report); err != nil {
				return err
			}
		}
	}
	s.Cursor = ch.Key
	return nil
}

// remoteEntryEnd records the state of merge s after entry c (m nil: the
// parent went away).
func (a *applier) remoteEntryEnd(c *RemoteMergeEntry, s *RemoteMergeState, m *mergeSource) (*Result, error) {
	if m == nil {
		s.Phase = XMergeStopped
	} else {
		s.Cursor = c.Next
		if !c.More {
			switch {
			case s.Phase == XMergeApplying:
				s.Phase = XMergeReady
			case s.Report.ConflictCount > 0:
				s.Phase = XMergeRefused
			default:
				s.Phase, s.Cursor = XMergeApplying, ""
			}
		}
	}
	s.Moved = a.version
	b := encodeXMergeState(s)
	return &Result{Template: b}, a.set(keyXMergeUnderWay(c.Fork), b)
}

// xmergeEffect is effect for a change carried from the fork's shard.
func (a *applier) xmergeEffect(m *mergeSource, ch RemoteChange) (mergeEffect, *Object, error) {
	var o *Object
	switch ch.Kind {
	case ChangePut:
		if ch.Object == nil {
			return effectPut, nil, nil // a conflict check
		}
		o = ch.Object
		o.Key = ch.Key
	case ChangeDelete:
	case ChangeInherit:
		got, err := a.r.GetInherited(m.parent.ID, ch.Key, "", m.base)
		if err != nil && !errors.Is(err, ErrNoSuchKey) {
			return 0, nil, err
		}
		if err == nil {
			o = got
		}
	default:
		return 0, nil, fmt.Errorf("%w: change kind %d", ErrInvalidRemoteFork, ch.Kind)
	}
	cur, err := a.parentView(m, ch)
	if err != nil {
		return 0, nil, err
	}
	present := cur != nil && !cur.DeleteMarker
	switch {
	case o == nil:
		if !present {
			return effectNone, nil, nil
		}
		return effectDelete, nil, nil
	case present && ch.Kind == ChangeInherit && !ch.ParentRemote && cur.Version == o.Version,
		present && ch.FromParent && ch.ParentRemote && cur.Version == o.Version:
		// The fork shows the very record the parent shows.
		return effectNone, nil, nil
	}
	return effectPut, o, nil
}

// parentView is what the parent of merge m shows of ch's key: through
// its chain, then as ch carries it where the chain goes on on another
// shard (ErrRemoteParent when ch does not carry it).
func (a *applier) parentView(m *mergeSource, ch RemoteChange) (*Object, error) {
	cur, err := a.r.view(m.parent, ch.Key, latest, false)
	var rr *RemoteRead
	if !errors.As(err, &rr) {
		return cur, err
	}
	if !ch.ParentRemote || ch.ParentID != rr.BucketID || ch.ParentAt != rr.At {
		return nil, fmt.Errorf("%w: the parent's view of %q", ErrRemoteParent, ch.Key)
	}
	if !ch.ParentPresent {
		return nil, nil
	}
	return &Object{Key: ch.Key, Version: ch.ParentVersion}, nil
}

// xmergeApply writes one change into the parent (as mergeKey does).
func (a *applier) xmergeApply(m *mergeSource, eff mergeEffect, o *Object, ch RemoteChange, rep *MergeReport) error {
	key := ch.Key
	if eff == effectPut {
		w := *o
		w.Parts = slices.Clone(o.Parts)
		w.ChunkShard = 0
		if err := a.applyDefaultLock(m.parent, &w, false); err != nil {
			return err
		}
		if _, err := a.writeObject(m.parent, w); err != nil {
			return err
		}
		rep.Puts++
	} else {
		if ch.ParentRemote {
			// An unversioned parent leaves a tombstone where what it
			// inherits shows the key.
			a.inherited = &InheritedView{Parent: ch.ParentID, At: ch.ParentAt, Key: key, Present: ch.ParentPresent}
		}
		_, err := a.deleteKey(m.parent, key, "")
		a.inherited = nil
		if err != nil {
			return err
		}
		rep.Deletes++
	}
	return a.set(keyMergedKey(m.fork.ID, key), u64Value(a.version))
}

func (a *applier) endRemoteMerge(c *EndRemoteMerge) (*Result, error) {
	s, err := a.r.xmergeState(c.Fork)
	if err != nil {
		return nil, err
	}
	if s == nil || s.Hold != c.Hold {
		// Ended already (a retry): the notice says how.
		v, ok, err := getValue(a.txn, keyXMergeDone(c.Fork))
		if err != nil {
			return nil, err
		}
		if ok {
			if d, err := DecodeRemoteMergeState(v); err == nil && d.Hold == c.Hold {
				rep := d.Report
				return &Result{Template: v, Merge: &rep}, nil
			}
		}
		return nil, fmt.Errorf("%w: no merge of fork %d under way", ErrNoSuchBucket, c.Fork)
	}
	switch {
	case s.Phase == XMergeReady:
		s.Merged = true
		if err := a.set(keyMergePoint(s.Parent, s.Fork, a.version), []byte{fmtV1}); err != nil {
			return nil, err
		}
	case s.Phase == XMergeRefused || s.Phase == XMergeStopped || c.Abandon:
	default:
		return &Result{Template: encodeXMergeState(s)}, nil // not done yet
	}
	if held, ok, err := getValue(a.txn, keyMergeHold(s.Parent)); err != nil {
		return nil, err
	} else if ok {
		if id, err := decodeU64Value(held); err == nil && id == s.Fork {
			if err := a.del(keyMergeHold(s.Parent)); err != nil {
				return nil, err
			}
		}
	}
	if err := a.del(keyXMergeUnderWay(s.Fork)); err != nil {
		return nil, err
	}
	s.Done, s.Moved = true, a.version
	s.Report.UnderWay = false
	b := encodeXMergeState(s)
	if err := a.set(keyXMergeDone(s.Fork), b); err != nil {
		return nil, err
	}
	d, err := DecodeRemoteMergeState(b)
	if err != nil {
		return nil, err
	}
	return &Result{Template: b, Merge: &d.Report}, nil
}

func (a *applier) settleRemoteMerge(c *SettleRemoteMerge) (*Result, error) {
	v, ok, err := getValue(a.txn, keyXMergeHold(c.Fork))
	if err != nil || !ok {
		return &Result{}, err // settled already
	}
	h, err := decodeXMergeHold(c.Fork, v)
	if err != nil {
		return nil, err
	}
	if h.Hold != c.Hold {
		return &Result{}, nil
	}
	if err := a.del(keyXMergeHold(c.Fork)); err != nil {
		return nil, err
	}
	if err := a.del(keyMergeHold(c.Fork)); err != nil {
		return nil, err
	}
	f, err := a.r.bucketByID(c.Fork)
	if err != nil || f == nil || f.State != BucketLive || !c.Merged {
		return &Result{}, err
	}
	res := &Result{Merge: &MergeReport{Fork: f.Name}}
	if c.DeleteFork {
		locked, err := a.lockedVersions(f)
		if err != nil {
			return nil, err
		}
		if !locked.any {
			if err := a.retireBucket(f); err != nil {
				return nil, err
			}
			res.Merge.ForkDeleted = true
			return res, nil
		}
	}
	return res, a.set(keyMergePoint(h.Parent, f.ID, a.version), []byte{fmtV1})
}

func decodeXMergeHold(fork uint64, v []byte) (RemoteMergeHold, error) {
	d := decoder{b: v}
	d.fmtByte()
	h := RemoteMergeHold{Fork: fork, Parent: d.u64(), Hold: d.u64(), Deadline: d.varint(), DeleteFork: d.boolean()}
	return h, d.done()
}

func (a *applier) clearRemoteMerges(c *ClearRemoteMerges) (*Result, error) {
	for _, f := range c.Forks {
		if err := a.del(keyXMergeDone(f)); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (a *applier) abortRemoteMerge(c *AbortRemoteMerge) (*Result, error) {
	if s, err := a.r.xmergeState(c.Fork); err != nil {
		return nil, err
	} else if s != nil && s.Hold == c.Hold {
		return &Result{Template: encodeXMergeState(s)}, nil
	}
	if v, ok, err := getValue(a.txn, keyXMergeDone(c.Fork)); err != nil {
		return nil, err
	} else if ok {
		if d, err := DecodeRemoteMergeState(v); err == nil && d.Hold == c.Hold {
			return &Result{Template: v}, nil
		}
	}
	return &Result{}, a.set(keyXMergeAborted(c.Fork, c.Hold), []byte{fmtV1})
}

// RemoteChangePage is a page of the changes of a fork held for a merge
// into its parent on another shard.
type RemoteChangePage struct {
	Changes []RemoteChange
	More    bool
}

// RemoteMergeChanges lists up to limit changes after `after` of fork id,
// held by hold (0: not held, a dry run reads it as it is now), as the
// fork shows them, objects included unless keysOnly.
func (r *Reader) RemoteMergeChanges(id, hold uint64, after string, limit int, keysOnly bool) (*RemoteChangePage, error) {
	f, err := r.bucketByID(id)
	if err != nil {
		return nil, err
	}
	if f == nil || f.State != BucketLive || f.Parent == nil {
		return nil, fmt.Errorf("%w: fork id %d", ErrNoSuchBucket, id)
	}
	var parent *Bucket // on this shard (its chain reaches another)
	if !remoteParent(f) {
		if parent, err = r.bucketByID(f.Parent.BucketID); err != nil {
			return nil, err
		}
		if parent == nil {
			return nil, fmt.Errorf("%w: the parent of fork id %d", ErrNoSuchBucket, id)
		}
	}
	if hold != 0 {
		v, ok, err := getValue(r.txn, keyXMergeHold(id))
		if err != nil {
			return nil, err
		}
		h, err := decodeXMergeHold(id, v)
		if !ok || err != nil || h.Hold != hold {
			return nil, fmt.Errorf("%w: fork %q is not held by merge %d", ErrNoSuchBucket, f.Name, hold)
		}
		r.mergeBypass = true
		defer func() { r.mergeBypass = false }()
	}
	m := &mergeSource{fork: f, base: f.Parent.Version}
	vs, err := r.mergePointsOf(keyMergePointsOf(f.Parent.BucketID, f.ID))
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		m.since = max(m.since, v)
	}
	cs, more, err := m.changes(r.txn, after, limit)
	if err != nil {
		return nil, err
	}
	p := &RemoteChangePage{More: more}
	for _, c := range cs {
		rc := RemoteChange{Key: c.key, Kind: ChangeInherit}
		if c.version == 0 && parent != nil {
			// What the fork inherits may live on the other shard.
			_, _, _, err := r.locate(f, c.key, "", latest)
			var rr *RemoteRead
			if errors.As(err, &rr) {
				rc.InheritRead = rr
			} else if err != nil && !errors.Is(err, ErrNoSuchKey) {
				return nil, err
			}
		}
		if parent != nil {
			// What the parent shows below its own layer, when that goes
			// on on the other shard (its view, or what a delete in it
			// leaves, depends on it).
			_, err := (&applier{r: r, txn: r.txn}).inheritedView(parent, c.key)
			var rr *RemoteRead
			if errors.As(err, &rr) {
				rc.ParentRead = rr
			} else if err != nil {
				return nil, err
			}
		}
		if c.version != 0 {
			o, err := m.resolve(r, c)
			if err != nil {
				return nil, err
			}
			rc.Kind = ChangePut
			if o.DeleteMarker {
				rc.Kind = ChangeDelete
			} else if !keysOnly {
				rc.Object = o
			}
		}
		p.Changes = append(p.Changes, rc)
	}
	return p, nil
}

// RemoteMergePlan adds to rep what applying changes of fork (as
// RemoteMergeChanges lists them) to parent id would do with strategy,
// writing nothing: a dry run of a merge across shards.
func (r *Reader) RemoteMergePlan(parent, fork, base uint64, strategy MergeStrategy, changes []RemoteChange, rep *MergeReport) error {
	p, err := r.bucketByID(parent)
	if err != nil {
		return err
	}
	if p == nil || p.State != BucketLive {
		return fmt.Errorf("%w: parent id %d", ErrNoSuchBucket, parent)
	}
	rep.Parent = p.Name
	m := &mergeSource{fork: &Bucket{ID: fork}, parent: p, base: base}
	a := &applier{r: r, txn: r.txn}
	for _, ch := range changes {
		ch.Object = nil
		eff, _, err := a.xmergeEffect(m, ch)
		if err != nil {
			return err
		}
		if err := m.plan(r, rep, ch.Key, eff, strategy); err != nil {
			return err
		}
	}
	return nil
}

// RemoteMerges returns the merges across shards into this shard's
// buckets that are under way or ended and not settled yet (at most max).
func (r *Reader) RemoteMerges(max int) ([]RemoteMergeState, error) {
	var out []RemoteMergeState
	for _, sub := range []byte{xmUnderWay, xmDone} {
		it := keyIter(r.txn, []byte{pfxRemoteMerge, sub})
		for it.Rewind(); it.Valid() && len(out) < max; it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				it.Close()
				return nil, err
			}
			s, err := DecodeRemoteMergeState(v)
			if err != nil {
				it.Close()
				return nil, err
			}
			out = append(out, *s)
		}
		it.Close()
	}
	return out, nil
}

// RemoteMergeHolds returns the forks of this shard held by merges into
// their parents on other shards (at most max).
func (r *Reader) RemoteMergeHolds(max int) ([]RemoteMergeHold, error) {
	var out []RemoteMergeHold
	it := keyIter(r.txn, []byte{pfxRemoteMerge, xmHold})
	defer it.Close()
	for it.Rewind(); it.Valid() && len(out) < max; it.Next() {
		k := it.Item().Key()
		if len(k) != 10 {
			return nil, fmt.Errorf("%w: remote merge hold key", ErrCorrupt)
		}
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		h, err := decodeXMergeHold(binary.BigEndian.Uint64(k[2:]), v)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}
