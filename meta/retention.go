package meta

import (
	"fmt"
	"sort"

	"github.com/dgraph-io/badger/v4"
)

// Retention decides when an object version may be physically removed.
//
// A record r of (B, K) is visible at read version T when r.Version <= T,
// r is not deleted at T (DeletedAt == 0 or T < DeletedAt), and no newer
// record of (B, K) is visible at T. A record is kept while:
//   - B is live and r.DeletedAt == 0: r is a listable version (the current
//     null version, or a real version of a versioned bucket, which stays
//     until deleted by version id); or
//   - r is visible at some pin of B: a snapshot of B, the base version of a
//     fork of B (the fork index, live or retained forks), a merge point of
//     B into its parent or of a fork into B (merge.go), or any version in
//     the history window [now - History, now] while B is live.
//
// Superseding a record (overwriting the null version, deleting a version)
// sets DeletedAt to the current version and applies the rule at once: the
// record is rewritten with DeletedAt when a pin still sees it, else it is
// removed and its chunks lose a reference. New pins are only ever made at
// the current version (a snapshot, a fork, a merge), which no superseded
// record is visible at. Pins disappear (snapshot deleted, fork purged or
// deleted, history window moving on); then the
// bucket gets a GC pass (GCBucket, resumable and bounded, plus an inline
// step in DeleteSnapshot/DeleteBucket) that reapplies the rule to every
// record of the bucket. A deleted (retained) bucket keeps only what its
// forks' bases see; once it has no forks the pass removes everything and
// purges the bucket, which may in turn release its own parent.

// pinSet is what keeps superseded versions of one bucket readable.
type pinSet struct {
	points []uint64 // snapshot versions and fork bases, sorted
	floor  uint64   // history floor; latest when there is no window
	live   bool
}

func (a *applier) pinsFor(b *Bucket) (*pinSet, error) {
	if p, ok := a.pins[b.ID]; ok {
		return p, nil
	}
	p := &pinSet{floor: latest, live: b.State == BucketLive}
	if p.live {
		snaps, err := a.r.snapshots(b.ID)
		if err != nil {
			return nil, err
		}
		for _, s := range snaps {
			p.points = append(p.points, s.Version)
		}
		if a.opts.History > 0 {
			p.floor = a.r.historyFloor()
		}
	}
	forks, err := a.r.forks(b.ID)
	if err != nil {
		return nil, err
	}
	for _, f := range forks {
		p.points = append(p.points, f.base)
	}
	// Merge points pin both sides: the parent as its forks' merges left
	// it, the fork as it was when merged (merge.go).
	mps, err := a.r.mergePointsOf(keyMergePointsOf(b.ID))
	if err != nil {
		return nil, err
	}
	if b.Parent != nil {
		own, err := a.r.mergePointsOf(keyMergePointsOf(b.Parent.BucketID, b.ID))
		if err != nil {
			return nil, err
		}
		mps = append(mps, own...)
	}
	p.points = append(p.points, mps...)
	sort.Slice(p.points, func(i, j int) bool { return p.points[i] < p.points[j] })
	a.pins[b.ID] = p
	return p, nil
}

// verRec is the retention-relevant part of one record.
type verRec struct {
	version   uint64
	deletedAt uint64
	null      bool
	marker    bool
}

func (v verRec) end() uint64 {
	if v.deletedAt == 0 {
		return latest
	}
	return v.deletedAt
}

type span struct{ lo, hi uint64 } // [lo, hi)

func subtract(set []span, cut span) []span {
	out := set[:0:0]
	for _, s := range set {
		if cut.hi <= s.lo || cut.lo >= s.hi {
			out = append(out, s)
			continue
		}
		if s.lo < cut.lo {
			out = append(out, span{s.lo, cut.lo})
		}
		if cut.hi < s.hi {
			out = append(out, span{cut.hi, s.hi})
		}
	}
	return out
}

// reachable applies the retention rule to recs[i]; recs are one key's
// records, newest first.
func (p *pinSet) reachable(recs []verRec, i int) bool {
	r := recs[i]
	if p.live && r.deletedAt == 0 {
		return true
	}
	set := []span{{r.version, r.end()}}
	for j := 0; j < i && len(set) > 0; j++ {
		set = subtract(set, span{recs[j].version, recs[j].end()})
	}
	for _, s := range set {
		if s.lo >= s.hi {
			continue
		}
		if p.floor != latest && s.hi > p.floor {
			return true
		}
		k := sort.Search(len(p.points), func(i int) bool { return p.points[i] >= s.lo })
		if k < len(p.points) && p.points[k] < s.hi {
			return true
		}
	}
	return false
}

// keyRecords loads the headers of the records of (bucket, key), newest
// first, up to and including the first for which until returns true (all
// of them when until is nil). Records of versions that were removed leave
// deletion markers behind the live ones, older than them: stopping at the
// record a command needs keeps an overwrite of a hot key from stepping
// over every version it replaced before.
func (a *applier) keyRecords(bucket uint64, key string, until func(verRec) bool) ([]verRec, error) {
	recs, steps, err := keyRecords(a.txn, bucket, key, until)
	a.stats.recordSteps += uint64(steps)
	return recs, err
}

func keyRecords(txn *kvTxn, bucket uint64, key string, until func(verRec) bool) ([]verRec, int, error) {
	var out []verRec
	prefix := keyObjectKey(bucket, key)
	steps, err := scanLive(txn, prefix, prefix, func(item *kvItem) (bool, error) {
		var rec verRec
		err := item.Value(func(v []byte) error {
			h, err := decodeRecordHeader(v)
			if err == nil {
				rec = verRec{version: ^beTail(item.Key()), deletedAt: h.deletedAt, null: h.null, marker: h.deleteMarker}
			}
			return err
		})
		if err != nil {
			return false, err
		}
		out = append(out, rec)
		return until == nil || !until(rec), nil
	})
	if err != nil {
		return nil, steps, err
	}
	return out, steps, nil
}

// supersede retires one record of (b, key) at the current version: it is
// kept with DeletedAt while a pin still sees it, else removed.
func (a *applier) supersede(b *Bucket, key string, version uint64) error {
	recs, err := a.keyRecords(b.ID, key, func(r verRec) bool { return r.version == version })
	if err != nil {
		return err
	}
	return a.supersedeIn(b, key, version, recs)
}

// supersedeIn is supersede with the key's records already loaded (at
// least up to the one of version: the retention rule looks only at the
// records newer than the one it decides on).
func (a *applier) supersedeIn(b *Bucket, key string, version uint64, recs []verRec) error {
	var err error
	idx := -1
	for i := range recs {
		if recs[i].version == version {
			idx = i
			break
		}
	}
	if idx < 0 {
		return fmt.Errorf("%w: superseding missing version %d of %q", ErrCorrupt, version, key)
	}
	recs[idx].deletedAt = a.version
	pins, err := a.pinsFor(b)
	if err != nil {
		return err
	}
	k := keyObject(b.ID, key, version)
	v, ok, err := getValue(a.txn, k)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: superseding missing version %d of %q", ErrCorrupt, version, key)
	}
	o, err := decodeObjectRecord(key, version, v, true)
	if err != nil {
		return err
	}
	// Callers ask first; this keeps every path that supersedes a version
	// (overwrites of the null version included) from retiring a locked
	// one.
	if err := MayRemove(o, a.version, a.bypassGovernance); err != nil {
		return err
	}
	if pins.reachable(recs, idx) {
		o.DeletedAt = a.version
		// A retention that was bypassed no longer holds the retired
		// record (the GC pass that removes it asks MayRemove).
		o.LockMode, o.RetainUntil = LockNone, 0
		return a.putRecord(b.ID, o)
	}
	if err := a.unref(o.Chunks); err != nil {
		return err
	}
	if err := a.dropAnnotations(b, key, version); err != nil {
		return err
	}
	return a.del(k)
}

// markPending (re)starts a GC pass over a bucket from its first key.
func (a *applier) markPending(bucket uint64) error {
	delete(a.pins, bucket)
	return a.set(keyGCPending(bucket), appendName([]byte{fmtV1}, ""))
}

func (a *applier) gcBucket(c *GCBucket) (*Result, error) {
	b, err := a.r.bucketByID(c.Bucket)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, a.del(keyGCPending(c.Bucket))
	}
	budget := c.Limit
	if budget <= 0 || budget > maxGCLimit {
		budget = maxGCLimit
	}
	more, err := a.gcStep(b, &budget)
	return &Result{More: more}, err
}

type deadRec struct {
	key     string
	version uint64
}

// gcStep continues (or starts) the GC pass over b, examining at most
// *budget versions (whole keys at a time), and returns whether the pass
// has more to do.
func (a *applier) gcStep(b *Bucket, budget *int) (bool, error) {
	cursor := ""
	v, ok, err := getValue(a.txn, keyGCPending(b.ID))
	if err != nil {
		return false, err
	}
	if ok {
		if len(v) > 0 && v[0] == fmtV2 {
			// The pass is in its annotation phase.
			key, rest, ok2 := readName(v[1:])
			d := decoder{b: rest}
			version, started := d.u64(), d.boolean()
			if !ok2 || d.done() != nil {
				return false, fmt.Errorf("%w: gc pending value", ErrCorrupt)
			}
			return a.gcAnnotationPhase(b, key, version, started, budget)
		}
		if len(v) < 1 || v[0] != fmtV1 {
			return false, fmt.Errorf("%w: gc pending value", ErrCorrupt)
		}
		var ok2 bool
		if cursor, _, ok2 = readName(v[1:]); !ok2 {
			return false, fmt.Errorf("%w: gc pending value", ErrCorrupt)
		}
	}
	if b.State == BucketRetained {
		// A deleted bucket's in-progress uploads go first.
		more, err := a.dropUploads(b.ID, budget)
		if err != nil || more {
			return more, err
		}
	}
	pins, err := a.pinsFor(b)
	if err != nil {
		return false, err
	}
	prefix := keyObjectBucket(b.ID)
	seek := prefix
	if cursor != "" {
		seek = append(appendEscaped(append([]byte(nil), prefix...), cursor), 0, 2)
	}
	var (
		group    []verRec
		groupKey string
		dead     []deadRec
		more     bool
		last     string
	)
	flush := func() {
		for i := range group {
			if !pins.reachable(group, i) {
				dead = append(dead, deadRec{groupKey, group[i].version})
			}
		}
		last = groupKey
		group = group[:0]
	}
	it := a.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	for it.Seek(seek); it.Valid(); it.Next() {
		item := it.Item()
		_, key, version, ok := parseObjectKey(item.Key())
		if !ok {
			it.Close()
			return false, fmt.Errorf("%w: object key", ErrCorrupt)
		}
		if len(group) > 0 && key != groupKey {
			flush()
			if *budget <= 0 {
				more = true
				break
			}
		}
		var h recordHeader
		if err := item.Value(func(v []byte) (err error) {
			h, err = decodeRecordHeader(v)
			return err
		}); err != nil {
			it.Close()
			return false, err
		}
		groupKey = key
		group = append(group, verRec{version: version, deletedAt: h.deletedAt, null: h.null, marker: h.deleteMarker})
		*budget--
	}
	if !more && len(group) > 0 {
		flush()
	}
	it.Close()
	for _, d := range dead {
		key, version := d.key, d.version
		k := keyObject(b.ID, key, version)
		v, ok, err := getValue(a.txn, k)
		if err != nil {
			return false, err
		}
		if !ok {
			continue
		}
		o, err := decodeObjectRecord(key, version, v, false)
		if err != nil {
			return false, err
		}
		if MayRemove(o, a.version, false) != nil {
			// Kept, with its chunks, until its lock ends (a later pass).
			continue
		}
		if err := a.unref(o.Chunks); err != nil {
			return false, err
		}
		if err := a.dropAnnotations(b, key, version); err != nil {
			return false, err
		}
		if err := a.del(k); err != nil {
			return false, err
		}
	}
	if more {
		return true, a.set(keyGCPending(b.ID), appendName([]byte{fmtV1}, last))
	}
	// The object versions are done; the annotations come next.
	return a.gcAnnotationPhase(b, "", 0, false, budget)
}

// gcAnnotationPhase runs the annotation phase of b's GC pass from the
// cursor and ends the pass (purging a retained bucket) when it is done.
// The pending value of this phase is fmtV2 | name(key) | be64 version |
// started.
func (a *applier) gcAnnotationPhase(b *Bucket, key string, version uint64, started bool, budget *int) (bool, error) {
	more, nk, nv := true, key, version
	if *budget > 0 {
		var err error
		var k string
		var v uint64
		more, k, v, err = a.gcAnnotations(b, key, version, started, budget)
		if err != nil {
			return false, err
		}
		if k != "" || v != 0 {
			nk, nv, started = k, v, true
		}
	}
	if more {
		e := encoder{b: appendName([]byte{fmtV2}, nk)}
		e.u64(nv)
		e.boolean(started)
		return true, a.set(keyGCPending(b.ID), e.b)
	}
	if b.State == BucketRetained {
		// A deleted fork's per-key merge records go too, a budget at a
		// time; the pass comes back here (the annotation cursor is done).
		n, more, err := a.delPrefixUpTo(keyMergedKeys(b.ID), max(*budget, 1))
		if err != nil {
			return false, err
		}
		*budget -= n
		if more {
			e := encoder{b: appendName([]byte{fmtV2}, nk)}
			e.u64(nv)
			e.boolean(started)
			return true, a.set(keyGCPending(b.ID), e.b)
		}
	}
	if err := a.del(keyGCPending(b.ID)); err != nil {
		return false, err
	}
	if b.State == BucketRetained {
		return a.maybePurge(b, budget)
	}
	return false, nil
}

// maybePurge removes a retained bucket that nothing depends on any more,
// after its pass removed all its versions, and releases its parent.
func (a *applier) maybePurge(b *Bucket, budget *int) (bool, error) {
	forks, err := a.r.forks(b.ID)
	if err != nil || len(forks) > 0 {
		return false, err
	}
	left, err := hasPrefix(a.txn, keyObjectBucket(b.ID))
	if err == nil && !left {
		left, err = hasPrefix(a.txn, keyUploadBucket(b.ID))
	}
	if err == nil && !left {
		left, err = hasPrefix(a.txn, keyAnnotationBucket(b.ID))
	}
	if err != nil || left {
		if err != nil {
			return false, err
		}
		// Locked versions stay until their lock ends: no new pass now
		// (it would find them again at once).
		if locked, err := a.lockedVersions(b); err != nil || locked.any {
			return false, err
		}
		// Pins changed during the pass: go again.
		return true, a.markPending(b.ID)
	}
	if err := a.del(keyBucket(b.ID)); err != nil {
		return false, err
	}
	if err := a.dropRemoteAnnotations(b); err != nil {
		return false, err
	}
	if err := a.del(keyAnnotated(b.ID)); err != nil {
		return false, err
	}
	if err := a.dropAccessRecords(b.ID); err != nil {
		return false, err
	}
	if err := a.del(keyBucketCORS(b.ID)); err != nil {
		return false, err
	}
	if err := a.del(keyBucketEncryption(b.ID)); err != nil {
		return false, err
	}
	delete(a.pins, b.ID)
	if b.Parent == nil {
		return false, nil
	}
	if remoteParent(b) {
		// The parent's pin is on its shard: released from there
		// (PinReleases, xfork.go).
		return false, a.recordPinRelease(b)
	}
	if err := a.del(keyFork(b.Parent.BucketID, b.Parent.Version, b.ID)); err != nil {
		return false, err
	}
	if err := a.markPending(b.Parent.BucketID); err != nil {
		return false, err
	}
	parent, err := a.r.bucketByID(b.Parent.BucketID)
	if err != nil || parent == nil {
		return false, err
	}
	if parent.State != BucketRetained || *budget <= 0 {
		return false, nil
	}
	// Cascade up the chain while the budget lasts; the rest stays pending.
	_, err = a.gcStep(parent, budget)
	return false, err
}
