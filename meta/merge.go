package meta

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// Merging a fork into its parent.
//
// What the fork changed: every key whose own record the fork shows now
// (its newest existing record in its own layer, object or delete marker)
// is not the one it showed at its previous merge, or, never merged, every
// key of its own layer. The fork's current record of such a key is
// applied to the parent: an object is written as a new version of the
// parent's key (a new version in a versioned parent, the null version
// otherwise), sharing its chunks (references are added, as CopyObject
// does: no bytes are copied); a delete marker deletes the key in the
// parent (as DeleteObject would) when the parent shows it. A key with no
// own record left (deleted in an unversioned fork that inherits nothing
// for it, or every version deleted by id) shows what the fork inherits,
// and that is what is applied. The cost is O(the fork's own layer).
//
// A conflict is a key the parent changed too since the fork last saw it:
// the record the parent's own layer shows now is not the one it showed at
// the key's sync point, which is the fork's base version or, once a merge
// of this fork applied the key, that merge's version (recorded per key).
// (When the parent is itself a fork, what it inherits is fixed at its own
// base, so only its own layer can change.) A key the parent already shows
// as the fork does (both deleted it) is nothing to apply and no conflict.
// Strategy fail refuses a merge with conflicts before writing anything;
// fork-wins applies the fork's version; parent-wins keeps the parent's
// (and the key stays a conflict for later merges).
//
// The merge is one command (applied in steps, steps.go): readers of the
// parent see all of it or none. Its version is after every earlier write,
// so snapshots of the parent and forks of it taken before still read the
// old state. The fork itself is unchanged and may be merged again. Each
// merge leaves a merge point (parent, fork, version), which pins both
// sides at that version (retention.go), so that the next merge can compare
// what the fork and the parent show now with what they showed then,
// whatever garbage collection did in between.

// mergeSource is a fork and the parent it merges into.
type mergeSource struct {
	fork, parent *Bucket
	base, since  uint64 // the fork's base; its last merge (0 if none)
}

func (r *Reader) mergeSource(fork string) (*mergeSource, error) {
	f, err := r.liveBucket(fork)
	if err != nil {
		return nil, err
	}
	if f.Parent == nil {
		return nil, fmt.Errorf("%w: %q", ErrNotAFork, fork)
	}
	if remoteParent(f) {
		return nil, fmt.Errorf("%w: fork %q", ErrCrossShardMerge, fork)
	}
	p, err := r.bucketByID(f.Parent.BucketID)
	if err != nil {
		return nil, err
	}
	if p == nil || p.State != BucketLive {
		return nil, fmt.Errorf("%w: the parent of fork %q was deleted", ErrNoSuchBucket, fork)
	}
	// A parent whose own chain goes on on another shard shows keys this
	// shard cannot read: merging into it is refused too.
	if _, remote, err := r.chainRemote(p, latest); err != nil {
		return nil, err
	} else if remote != nil {
		return nil, fmt.Errorf("%w: the parent %q of fork %q inherits from another shard", ErrCrossShardMerge, p.Name, fork)
	}
	for _, b := range []*Bucket{f, p} {
		view, err := r.isView(b.ID)
		if err != nil {
			return nil, err
		}
		if view {
			return nil, fmt.Errorf("%w: %q", ErrReadOnlyView, b.Name)
		}
	}
	if !r.mergeBypass {
		// The parent is read at its latest state: not while a merge
		// (of another fork) into it is under way.
		held, err := exists(r.txn, keyMergeHold(p.ID))
		if err != nil {
			return nil, err
		}
		if held {
			return nil, fmt.Errorf("%w: bucket %q", ErrMergeInProgress, p.Name)
		}
	}
	m := &mergeSource{fork: f, parent: p, base: f.Parent.Version}
	vs, err := r.mergePointsOf(keyMergePointsOf(p.ID, f.ID))
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		m.since = max(m.since, v)
	}
	return m, nil
}

// forkChange is a key the fork changed: the version of its newest
// existing own record (0: none, the fork shows what it inherits).
type forkChange struct {
	key     string
	version uint64
}

// changes returns up to limit keys the fork changed after `after` (""
// from the start) and whether more may follow.
func (m *mergeSource) changes(txn *kvTxn, after string, limit int) ([]forkChange, bool, error) {
	prefix := keyObjectBucket(m.fork.ID)
	seek := prefix
	if after != "" {
		seek = append(appendEscaped(append([]byte(nil), prefix...), after), 0, 2)
	}
	var (
		out       []forkChange
		key       string
		cur, old  uint64 // newest existing record now, at the last merge
		have, got bool   // a key is open; old was found
	)
	flush := func() {
		if have && cur != old {
			out = append(out, forkChange{key: key, version: cur})
		}
		have = false
	}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(seek); it.Valid(); it.Next() {
		item := it.Item()
		_, k, version, ok := parseObjectKey(item.Key())
		if !ok {
			return nil, false, fmt.Errorf("%w: object key", ErrCorrupt)
		}
		if !have || k != key {
			flush()
			if len(out) >= limit {
				return out, true, nil
			}
			key, cur, old, have, got = k, 0, 0, true, false
		}
		var h recordHeader
		if err := item.Value(func(v []byte) (err error) {
			h, err = decodeRecordHeader(v)
			return err
		}); err != nil {
			return nil, false, err
		}
		if h.deletedAt == 0 && cur == 0 {
			cur = version
		}
		// Records come newest first: the first one at or before the last
		// merge that existed then is what the fork showed.
		if m.since > 0 && !got && version <= m.since && h.existsAt(m.since) {
			old, got = version, true
		}
	}
	flush()
	return out, false, nil
}

// parentChanged reports whether the parent changed key since its sync
// point.
func (m *mergeSource) parentChanged(r *Reader, key string) (bool, error) {
	sync := m.base
	v, ok, err := getValue(r.txn, keyMergedKey(m.fork.ID, key))
	if err != nil {
		return false, err
	}
	if ok {
		if sync, err = decodeU64Value(v); err != nil {
			return false, err
		}
	}
	now, err := r.ownView(m.parent.ID, key, latest, false)
	if err != nil {
		return false, err
	}
	then, err := r.ownView(m.parent.ID, key, sync, false)
	if err != nil {
		return false, err
	}
	return recordVersion(now) != recordVersion(then), nil
}

func recordVersion(o *Object) uint64 {
	if o == nil {
		return 0
	}
	return o.Version
}

// mergeBatch is how many changed keys are read at a time.
const mergeBatch = 64

// mergeEntryChanges is how many changed keys one Raft entry of a merge
// examines (strategy fail's conflict check) or applies: a larger merge
// goes on in MergeContinue entries, so that the shard applies other
// commands, and serves reads of other buckets, in between (a Raft entry
// is applied whole before any later read: ReadIndex). It is part of the
// state machine's rules, the same on every replica (a variable only so
// that tests can cut merges finer).
var mergeEntryChanges = 128

// MergeEntryChanges is how many changes one Raft entry of a merge
// examines or applies (the gateway cuts merges across shards so).
func MergeEntryChanges() int { return mergeEntryChanges }

// mergeState is a merge under way: the journal state of a MergeFork or
// MergeContinue entry, and what the merge-under-way record keeps between
// entries.
type mergeState struct {
	phase      byte // 0 checking conflicts (strategy fail), 1 applying keys, 2 ending
	cursor     string
	report     MergeReport
	strategy   MergeStrategy
	deleteFork bool
	entry      int  // changes examined or applied in this entry
	extended   bool // decoded with strategy, deleteFork and entry
}

func (s *mergeState) encode() []byte {
	e := encoder{}
	e.u8(s.phase)
	e.str(s.cursor)
	e.int(s.report.Puts)
	e.int(s.report.Deletes)
	e.int(s.report.Kept)
	e.int(s.report.ConflictCount)
	e.uvarint(uint64(len(s.report.Conflicts)))
	for _, k := range s.report.Conflicts {
		e.str(k)
	}
	e.u8(byte(s.strategy))
	e.boolean(s.deleteFork)
	e.int(s.entry)
	return e.b
}

func decodeMergeState(b []byte) (*mergeState, error) {
	d := decoder{b: b}
	s := &mergeState{phase: d.u8(), cursor: d.str()}
	s.report.Puts, s.report.Deletes, s.report.Kept, s.report.ConflictCount = d.int(), d.int(), d.int(), d.int()
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		s.report.Conflicts = append(s.report.Conflicts, d.str())
	}
	if d.err == nil && len(d.b) > 0 { // journals of earlier versions end here
		s.strategy, s.deleteFork, s.entry, s.extended = MergeStrategy(d.u8()), d.boolean(), d.int(), true
	}
	return s, d.done()
}

func (m *mergeSource) report() MergeReport {
	return MergeReport{Fork: m.fork.Name, Parent: m.parent.Name, ParentID: m.parent.ID, Base: m.base, Since: m.since}
}

func (rep *MergeReport) conflict(key string) {
	rep.ConflictCount++
	if len(rep.Conflicts) < MaxMergeConflictsReported {
		rep.Conflicts = append(rep.Conflicts, key)
	}
}

// plan counts in rep what a dry run would do with a change of key whose
// effect on the parent is eff: nothing, a conflict (kept under
// parent-wins), a put or a delete.
func (m *mergeSource) plan(r *Reader, rep *MergeReport, key string, eff mergeEffect, strategy MergeStrategy) error {
	if eff == effectNone {
		return nil
	}
	conflict, err := m.parentChanged(r, key)
	if err != nil {
		return err
	}
	if conflict {
		rep.conflict(key)
		if strategy == MergeParentWins {
			rep.Kept++
			return nil
		}
	}
	if eff == effectPut {
		rep.Puts++
	} else {
		rep.Deletes++
	}
	return nil
}

// MergePlan reports what merging fork with strategy would do, writing
// nothing (a dry run). With strategy fail and conflicts, the report lists
// them and the error is ErrMergeConflict, as the merge would answer.
func (r *Reader) MergePlan(fork string, strategy MergeStrategy) (*MergeReport, error) {
	m, err := r.mergeSource(fork)
	if err != nil {
		return nil, err
	}
	rep := m.report()
	rep.DryRun = true
	after := ""
	for {
		cs, more, err := m.changes(r.txn, after, mergeBatch)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			after = c.key
			eff, _, err := m.effect(r, c)
			if err != nil {
				return nil, err
			}
			if err := m.plan(r, &rep, c.key, eff, strategy); err != nil {
				return nil, err
			}
		}
		if !more {
			break
		}
	}
	if strategy == MergeFail && rep.ConflictCount > 0 {
		return &rep, fmt.Errorf("%w: %d keys changed in both %q and %q", ErrMergeConflict, rep.ConflictCount, m.fork.Name, m.parent.Name)
	}
	return &rep, nil
}

type mergeEffect int

const (
	effectNone mergeEffect = iota
	effectPut
	effectDelete
)

// resolve returns the record the fork shows for a changed key, with the
// tags and ACL the fork shows for it (annotations): its own newest record,
// or what it inherits; nil when it shows nothing.
func (m *mergeSource) resolve(r *Reader, c forkChange) (*Object, error) {
	if c.version == 0 {
		o, ls, owner, err := r.locate(m.fork, c.key, "", latest)
		if o == nil || o.DeleteMarker {
			return o, nil
		}
		if err != nil {
			return nil, err
		}
		return o, r.annotate(o, ls, owner)
	}
	v, ok, err := getValue(r.txn, keyObject(m.fork.ID, c.key, c.version))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: fork record %q@%d vanished", ErrCorrupt, c.key, c.version)
	}
	o, err := decodeObjectRecord(c.key, c.version, v, true)
	if err != nil || o.DeleteMarker {
		return o, err
	}
	ls, err := r.chain(m.fork, latest)
	if err != nil {
		return nil, err
	}
	return o, r.annotate(o, ls, 0)
}

// effect says what applying change c does to the parent, and the record
// to write for effectPut.
func (m *mergeSource) effect(r *Reader, c forkChange) (mergeEffect, *Object, error) {
	o, err := m.resolve(r, c)
	if err != nil {
		return 0, nil, err
	}
	cur, err := r.view(m.parent, c.key, latest, false)
	if err != nil {
		return 0, nil, err
	}
	present := cur != nil && !cur.DeleteMarker
	switch {
	case o == nil || o.DeleteMarker:
		if !present {
			return effectNone, nil, nil
		}
		return effectDelete, nil, nil
	case present && cur.Version == o.Version:
		// The fork shows the very record the parent shows.
		return effectNone, nil, nil
	}
	return effectPut, o, nil
}

// A merge is applied in Raft entries of at most mergeEntryChanges changes
// each: MergeFork, then MergeContinue entries, proposed by the node that
// took the request (or by any node, for a merge left under way by one that
// stopped), until its report no longer says UnderWay. Between entries the
// merge holds its parent and the fork (merge hold records): liveBucket
// refuses both, to every command and read, with ErrMergeInProgress, which
// the gateway retries until the merge is done. So nothing observes the
// parent with part of a merge applied, and nothing changes the fork or the
// parent under it; commands and reads of every other bucket go on between
// the entries. Each entry writes at its own version and the merge point
// takes the last one: what was written in between is never observable, so
// the merge still takes effect as one step.

func (c *MergeFork) step(a *applier, state []byte) ([]byte, *Result, bool, error) {
	// The first step sees the holds of other merges; later steps, its own.
	a.r.mergeBypass = state != nil
	m, err := a.r.mergeSource(c.Fork)
	if err != nil {
		if state != nil {
			return nil, nil, false, fmt.Errorf("%w: merge source vanished mid-command: %v", ErrCorrupt, err)
		}
		return nil, nil, false, err
	}
	a.r.mergeBypass = true
	var s *mergeState
	if state == nil {
		s = &mergeState{phase: 1, report: m.report(), strategy: c.Strategy, deleteFork: c.DeleteFork}
		if c.Strategy == MergeFail {
			s.phase = 0
		}
		for _, id := range []uint64{m.parent.ID, m.fork.ID} {
			if err := a.set(keyMergeHold(id), u64Value(m.fork.ID)); err != nil {
				return nil, nil, false, err
			}
		}
	} else {
		if s, err = decodeMergeState(state); err != nil {
			return nil, nil, false, err
		}
		if !s.extended {
			s.strategy, s.deleteFork = c.Strategy, c.DeleteFork
		}
		s.report = m.resumedReport(&s.report)
	}
	return a.mergeRun(m, s)
}

func (c *MergeContinue) step(a *applier, state []byte) ([]byte, *Result, bool, error) {
	a.r.mergeBypass = true
	var s *mergeState
	if state == nil {
		f, err := a.r.liveBucket(c.Fork)
		if errors.Is(err, ErrNoSuchBucket) {
			return nil, &Result{}, true, nil
		}
		if err != nil {
			return nil, nil, false, err
		}
		v, ok, err := getValue(a.txn, keyMergeUnderWay(f.ID))
		if err != nil {
			return nil, nil, false, err
		}
		if !ok {
			return nil, &Result{}, true, nil // done already: nothing under way
		}
		d := decoder{b: v}
		d.fmtByte()
		d.u64() // parent id
		d.u64() // version of the last entry
		raw := d.bytes()
		if err := d.done(); err != nil {
			return nil, nil, false, err
		}
		if s, err = decodeMergeState(raw); err != nil {
			return nil, nil, false, err
		}
		s.entry = 0
	} else {
		var err error
		if s, err = decodeMergeState(state); err != nil {
			return nil, nil, false, err
		}
	}
	m, err := a.r.mergeSource(c.Fork)
	if err != nil {
		// Holds keep both buckets; a bucket that goes (its lease ran
		// out) ends the merge with it (retireBucket).
		return nil, nil, false, fmt.Errorf("%w: merge under way lost its source: %v", ErrCorrupt, err)
	}
	s.report = m.resumedReport(&s.report)
	return a.mergeRun(m, s)
}

// resumedReport is the report of m with the counts of a merge under way.
func (m *mergeSource) resumedReport(so *MergeReport) MergeReport {
	r := m.report()
	r.Puts, r.Deletes, r.Kept, r.ConflictCount, r.Conflicts = so.Puts, so.Deletes, so.Kept, so.ConflictCount, so.Conflicts
	return r
}

// mergeRun goes on with merge s of m until it is done, the step's budget
// is spent (next is the journal state) or this entry's share of changes
// is done (the merge is left under way, and the entry is done).
func (a *applier) mergeRun(m *mergeSource, s *mergeState) ([]byte, *Result, bool, error) {
	for s.phase == 0 {
		// Strategy fail: refuse a merge with conflicts before writing
		// anything. This phase writes nothing, so it never ends a step.
		cs, more, err := m.changes(a.txn, s.cursor, mergeBatch)
		if err != nil {
			return nil, nil, false, err
		}
		for _, ch := range cs {
			if s.entry >= mergeEntryChanges {
				return a.pauseMerge(m, s)
			}
			eff, _, err := m.effect(a.r, ch)
			if err != nil {
				return nil, nil, false, err
			}
			if eff != effectNone {
				conflict, err := m.parentChanged(a.r, ch.key)
				if err != nil {
					return nil, nil, false, err
				}
				if conflict {
					s.report.conflict(ch.key)
				}
			}
			s.entry++
			s.cursor = ch.key
		}
		if more {
			continue
		}
		if s.report.ConflictCount > 0 {
			if err := a.endMerge(m.parent.ID, m.fork.ID); err != nil {
				return nil, nil, false, err
			}
			rep := s.report
			return nil, &Result{Merge: &rep}, false, fmt.Errorf("%w: %d keys changed in both %q and %q",
				ErrMergeConflict, rep.ConflictCount, m.fork.Name, m.parent.Name)
		}
		s.phase, s.cursor = 1, ""
	}
	for s.phase == 1 {
		cs, more, err := m.changes(a.txn, s.cursor, mergeBatch)
		if err != nil {
			return nil, nil, false, err
		}
		for _, ch := range cs {
			if a.spent() {
				return s.encode(), nil, false, nil
			}
			if s.entry >= mergeEntryChanges {
				return a.pauseMerge(m, s)
			}
			if err := a.mergeKey(m, ch, s.strategy, &s.report); err != nil {
				return nil, nil, false, err
			}
			s.entry++
			s.cursor = ch.key
		}
		if !more {
			s.phase = 2
		}
	}
	var forkLocked bool
	if s.deleteFork {
		// A fork holding locked versions of its own is kept (merged,
		// not deleted).
		locked, err := a.lockedVersions(m.fork)
		if err != nil {
			return nil, nil, false, err
		}
		forkLocked = locked.any
	}
	if s.deleteFork && !forkLocked {
		if a.writes > 0 {
			// The fork is deleted in a step of its own.
			return s.encode(), nil, false, nil
		}
		if err := a.endMerge(m.parent.ID, m.fork.ID); err != nil {
			return nil, nil, false, err
		}
		if err := a.retireBucket(m.fork); err != nil {
			return nil, nil, false, err
		}
		s.report.ForkDeleted = true
	} else {
		if err := a.endMerge(m.parent.ID, m.fork.ID); err != nil {
			return nil, nil, false, err
		}
		if err := a.set(keyMergePoint(m.parent.ID, m.fork.ID, a.version), []byte{fmtV1}); err != nil {
			return nil, nil, false, err
		}
	}
	rep := s.report
	return nil, &Result{Merge: &rep}, true, nil
}

// pauseMerge ends this entry of merge s: the merge stays under way (its
// holds stay) with its state, for the next MergeContinue.
func (a *applier) pauseMerge(m *mergeSource, s *mergeState) ([]byte, *Result, bool, error) {
	s.entry = 0
	e := encoder{}
	e.u8(fmtV1)
	e.u64(m.parent.ID)
	e.u64(a.version)
	e.bytes(s.encode())
	if err := a.set(keyMergeUnderWay(m.fork.ID), e.b); err != nil {
		return nil, nil, false, err
	}
	rep := s.report
	rep.UnderWay = true
	return nil, &Result{Merge: &rep}, true, nil
}

// endMerge removes the holds and the record of the merge of fork into
// parent.
func (a *applier) endMerge(parent, fork uint64) error {
	for _, k := range [][]byte{keyMergeHold(parent), keyMergeHold(fork), keyMergeUnderWay(fork)} {
		if err := a.del(k); err != nil {
			return err
		}
	}
	return nil
}

// endMergeHolding ends the merge under way that holds bucket, if any (the
// bucket is going away: the merge stops where it is, as if cut short).
func (a *applier) endMergeHolding(bucket uint64) error {
	v, ok, err := getValue(a.txn, keyMergeHold(bucket))
	if err != nil || !ok {
		return err
	}
	fork, err := decodeU64Value(v)
	if err != nil {
		return err
	}
	parent := bucket
	if w, ok, err := getValue(a.txn, keyMergeUnderWay(fork)); err != nil {
		return err
	} else if ok {
		d := decoder{b: w}
		d.fmtByte()
		parent = d.u64()
		if d.err != nil {
			return d.err
		}
	} else if fork == bucket {
		// Not paused yet (the same entry): the parent is the fork's.
		if f, err := a.r.bucketByID(fork); err != nil {
			return err
		} else if f != nil && f.Parent != nil {
			parent = f.Parent.BucketID
		}
	}
	return a.endMerge(parent, fork)
}

// MergeUnderWay is a merge left between two of its entries.
type MergeUnderWay struct {
	Fork string
	// Version is that of its last entry: how long ago it moved.
	Version uint64
}

// MergesUnderWay lists the merges under way.
func (r *Reader) MergesUnderWay() ([]MergeUnderWay, error) {
	var out []MergeUnderWay
	it := r.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pfxMergeUnder}})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) != 9 {
			return nil, fmt.Errorf("%w: merge under way key", ErrCorrupt)
		}
		fork := binary.BigEndian.Uint64(k[1:])
		var version uint64
		if err := it.Item().Value(func(v []byte) error {
			d := decoder{b: v}
			d.fmtByte()
			d.u64()
			version = d.u64()
			return d.err
		}); err != nil {
			return nil, err
		}
		b, err := r.bucketByID(fork)
		if err != nil {
			return nil, err
		}
		if b != nil {
			out = append(out, MergeUnderWay{Fork: b.Name, Version: version})
		}
	}
	return out, nil
}

// mergeKey applies one changed key to the parent.
func (a *applier) mergeKey(m *mergeSource, ch forkChange, strategy MergeStrategy, rep *MergeReport) error {
	eff, o, err := m.effect(a.r, ch)
	if err != nil || eff == effectNone {
		return err
	}
	conflict, err := m.parentChanged(a.r, ch.key)
	if err != nil {
		return err
	}
	if conflict {
		rep.conflict(ch.key)
		if strategy == MergeParentWins {
			rep.Kept++
			return nil
		}
	}
	if eff == effectPut {
		w := *o
		w.Parts = slices.Clone(o.Parts)
		// A version written into the parent follows the parent's Object
		// Lock configuration; versions of the parent are never removed
		// by a merge (deleteKey below writes a marker in a versioned
		// parent, and MayRemove guards the null version of another).
		if err := a.applyDefaultLock(m.parent, &w, false); err != nil {
			return err
		}
		if _, err := a.writeObject(m.parent, w); err != nil {
			return err
		}
		rep.Puts++
	} else {
		if _, err := a.deleteKey(m.parent, ch.key, ""); err != nil {
			return err
		}
		rep.Deletes++
	}
	return a.set(keyMergedKey(m.fork.ID, ch.key), u64Value(a.version))
}
