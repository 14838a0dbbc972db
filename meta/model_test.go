package meta

import (
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The model test runs seeded random operations on the state machine and on
// a plain in-memory model of view semantics (ARCHITECTURE section 5) that
// never forgets anything, and requires every read and listing to agree.
// The state machine collects garbage along the way, so agreement also
// shows that GC never removes what a read can still reach.

var (
	modelSeed = flag.Int64("seed", 0, "run the model test with this seed only")
	modelOps  = flag.Int("model.ops", 2000, "operations per model test seed")
)

type mRec struct {
	version   uint64
	body      string
	chunk     string
	marker    bool
	null      bool
	deletedAt uint64
	tags      string // the tags written with the version (a merge copies them)
}

func (r *mRec) existsAt(t uint64) bool {
	return r.version <= t && (r.deletedAt == 0 || r.deletedAt > t)
}

type mBucket struct {
	id         uint64
	name       string
	live       bool
	versioning Versioning
	parent     *Parent
	keys       map[string][]*mRec // oldest first
	snaps      []uint64
	// ann holds the tag changes (annotations) made in this bucket, by key
	// and object version, oldest first.
	ann map[string]map[uint64][]mAnn
	// mergePoints are the versions this fork was merged at; mergedAt is
	// the last merge that applied each key.
	mergePoints []uint64
	mergedAt    map[string]uint64
}

type mAnn struct {
	stamp uint64
	tags  string
}

// tags is what a read of key at t in b shows as the tags of its visible
// version: the newest annotation <= each layer's read version, from b down
// to the layer holding the version ("" when none).
func (m *model) tags(b *mBucket, key string, t uint64) string {
	type lay struct {
		b  *mBucket
		at uint64
	}
	var ls []lay
	for c, at := b, t; ; {
		ls = append(ls, lay{c, at})
		if r := m.ownView(c, key, at); r != nil {
			for _, l := range ls {
				anns := l.b.ann[key][r.version]
				for i := len(anns) - 1; i >= 0; i-- {
					if anns[i].stamp <= l.at {
						return anns[i].tags
					}
				}
			}
			return r.tags
		}
		if c.parent == nil {
			return ""
		}
		at = min(at, c.parent.Version)
		c = m.buckets[c.parent.BucketID]
	}
}

type model struct {
	buckets map[uint64]*mBucket
	byName  map[string]uint64
	nextID  uint64
	last    uint64
}

// ownView is the newest own record existing at t.
func (m *model) ownView(b *mBucket, key string, t uint64) *mRec {
	rs := b.keys[key]
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].existsAt(t) {
			return rs[i]
		}
	}
	return nil
}

func (m *model) view(b *mBucket, key string, t uint64) *mRec {
	for {
		if r := m.ownView(b, key, t); r != nil {
			return r
		}
		if b.parent == nil {
			return nil
		}
		t = b.parent.Version
		b = m.buckets[b.parent.BucketID]
	}
}

// visibleKeys is every key visible in b at t, sorted.
func (m *model) visibleKeys(b *mBucket, t uint64) []string {
	cand := map[string]bool{}
	for c := b; ; c = m.buckets[c.parent.BucketID] {
		for k := range c.keys {
			cand[k] = true
		}
		if c.parent == nil {
			break
		}
	}
	var out []string
	for k := range cand {
		if r := m.view(b, k, t); r != nil && !r.marker {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (m *model) depth(b *mBucket) int {
	n := 0
	for b.parent != nil {
		n++
		b = m.buckets[b.parent.BucketID]
	}
	return n
}

func (m *model) empty(b *mBucket) bool {
	for k := range b.keys {
		if r := m.ownView(b, k, latest); r != nil && !r.marker {
			return false
		}
	}
	return true
}

func (m *model) liveNames() []string {
	var out []string
	for n := range m.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var modelKeyParts = []string{"a", "b", "/", "-", "a", "/", "\x00"}

func randKey(rng *rand.Rand) string {
	n := 1 + rng.Intn(3)
	var sb strings.Builder
	for i := 0; i < n; i++ {
		sb.WriteString(modelKeyParts[rng.Intn(len(modelKeyParts))])
	}
	return sb.String()
}

func TestModel(t *testing.T) {
	seeds := []int64{1, 2, 3}
	if *modelSeed != 0 {
		seeds = []int64{*modelSeed}
	}
	ops := *modelOps
	if testing.Short() {
		ops = 300
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			runModel(t, seed, ops, 0)
		})
	}
	// Merges cut into steps of a few writes each (steps.go) must end in
	// the same state as merges applied whole.
	t.Run(fmt.Sprint("steps/seed=", seeds[0]), func(t *testing.T) {
		runModel(t, seeds[0], ops, 3)
	})
}

func runModel(t *testing.T, seed int64, ops int, stepWrites int) {
	rng := rand.New(rand.NewSource(seed))
	tf := openTestFSM(t)
	tf.fsm.testStepBudget = stepBudget{writes: stepWrites, bytes: 1 << 20}
	m := &model{buckets: map[uint64]*mBucket{}, byName: map[string]uint64{}}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d (rerun with -run TestModel -seed %d): %s", seed, seed, fmt.Sprintf(format, args...))
	}
	// step applies a command, checks the expected outcome and returns the
	// version it was applied at.
	step := func(c any, want error) *Result {
		t.Helper()
		res, err := tf.apply(c)
		if !errors.Is(err, want) || (want == nil && err != nil) {
			fail("%T %+v: got %v, want %v", c, c, err, want)
		}
		if res.Version != m.last+1 {
			fail("version %d, want %d", res.Version, m.last+1)
		}
		m.last = res.Version
		return res
	}
	pickLive := func() *mBucket {
		names := m.liveNames()
		if len(names) == 0 {
			return nil
		}
		return m.buckets[m.byName[names[rng.Intn(len(names))]]]
	}
	chunkN := 0
	var stats struct{ lists, entries, found, merges int }
	allChunks := map[string]bool{}
	bucketN := 0

	for i := 0; i < ops; i++ {
		b := pickLive()
		switch p := rng.Intn(100); {
		case b == nil || (p < 4 && len(m.byName) < 4): // create a bucket
			name := fmt.Sprint("b", bucketN)
			bucketN++
			res := step(&CreateBucket{Name: name}, nil)
			m.nextID++
			if res.Bucket.ID != m.nextID {
				fail("bucket id %d", res.Bucket.ID)
			}
			m.buckets[m.nextID] = &mBucket{id: m.nextID, name: name, live: true, keys: map[string][]*mRec{}, ann: map[string]map[uint64][]mAnn{}}
			m.byName[name] = m.nextID
		case p < 4:
			continue
		case p < 9 && len(m.byName) < 10: // fork, live or from a snapshot
			name := fmt.Sprint("f", bucketN)
			bucketN++
			c := &CreateBucket{Name: name, ForkSource: b.name, MaxForkDepth: 5}
			base := m.last + 1
			if len(b.snaps) > 0 && rng.Intn(2) == 0 {
				c.ForkVersion = b.snaps[rng.Intn(len(b.snaps))]
				base = c.ForkVersion
			}
			if m.depth(b)+1 > 5 {
				step(c, ErrForkDepthExceeded)
				continue
			}
			step(c, nil)
			m.nextID++
			m.buckets[m.nextID] = &mBucket{id: m.nextID, name: name, live: true, keys: map[string][]*mRec{},
				parent: &Parent{BucketID: b.id, Version: base}, versioning: b.versioning, ann: map[string]map[uint64][]mAnn{}}
			m.byName[name] = m.nextID
		case p < 9:
			continue
		case p < 12: // snapshot
			res := step(&CreateSnapshot{Bucket: b.name}, nil)
			b.snaps = append(b.snaps, res.Version)
		case p < 14: // delete a snapshot
			if len(b.snaps) == 0 {
				continue
			}
			j := rng.Intn(len(b.snaps))
			step(&DeleteSnapshot{Bucket: b.name, Version: b.snaps[j]}, nil)
			b.snaps = append(b.snaps[:j], b.snaps[j+1:]...)
		case p < 16: // delete the bucket (often refused)
			if !m.empty(b) {
				step(&DeleteBucket{Name: b.name}, ErrBucketNotEmpty)
				continue
			}
			step(&DeleteBucket{Name: b.name}, nil)
			b.live = false
			b.snaps = nil
			delete(m.byName, b.name)
		case p < 18: // versioning
			s := VersioningEnabled
			if rng.Intn(3) == 0 {
				s = VersioningSuspended
			}
			step(&SetVersioning{Bucket: b.name, Status: s}, nil)
			b.versioning = s
		case p < 22: // merge a fork into its parent
			if b.parent == nil {
				continue
			}
			strategy := MergeStrategy(rng.Intn(3))
			del := rng.Intn(4) == 0
			want, wantErr := m.merge(b, strategy, m.last+1, true)
			if plan, err := tf.readErr(func(r *Reader) (any, error) { return r.MergePlan(b.name, strategy) }); !errors.Is(err, wantErr) ||
				(plan != nil && !sameReport(plan.(*MergeReport), want)) {
				pb := m.buckets[b.parent.BucketID]
				for _, k := range want.Conflicts {
					for _, r := range pb.keys[k] {
						t.Logf("model parent %q: %+v", k, *r)
					}
					recs := tf.read(func(r *Reader) (any, error) { recs, _, err := keyRecords(r.txn, pb.id, k, nil); return recs, err }).([]verRec)
					t.Logf("fsm parent %q: %+v", k, recs)
					t.Logf("points %v", b.mergePoints)
				}
				fail("dry merge %s %v: got %+v %v, want %+v %v", b.name, strategy, plan, err, want, wantErr)
			}
			res := step(&MergeFork{Fork: b.name, Strategy: strategy, DeleteFork: del}, wantErr)
			if wantErr == nil || errors.Is(wantErr, ErrMergeConflict) {
				if wantErr != nil {
					want.Puts, want.Deletes = 0, 0
				}
				if res.Merge == nil || !sameReport(res.Merge, want) {
					fail("merge %s %v: got %+v, want %+v", b.name, strategy, res.Merge, want)
				}
			}
			if wantErr != nil {
				continue
			}
			stats.merges++
			m.merge(b, strategy, res.Version, false)
			if del {
				b.live = false
				b.snaps = nil
				delete(m.byName, b.name)
			} else {
				b.mergePoints = append(b.mergePoints, res.Version)
			}
		case p < 55: // put
			key := randKey(rng)
			chunkN++
			ch := fmt.Sprint("c", chunkN)
			allChunks[ch] = true
			body := fmt.Sprint("v", chunkN)
			o := obj(key, body)
			o.Chunks = []Chunk{{ID: ch, Size: 1}}
			res := step(&PutObject{Bucket: b.name, Object: o}, nil)
			r := &mRec{version: res.Version, body: body, chunk: ch, null: b.versioning != VersioningEnabled}
			if r.null {
				m.supersedeNull(b, key, res.Version)
			}
			b.keys[key] = append(b.keys[key], r)
		case p < 60: // change the tags of the latest version (PutObjectTagging)
			key := randKey(rng)
			tags := fmt.Sprint("t", i)
			cur := m.view(b, key, latest)
			c := &AnnotateObject{Bucket: b.name, Key: key, SetTags: true, Tags: map[string]string{"t": tags}}
			if cur == nil || cur.marker {
				step(c, ErrNoSuchKey)
				continue
			}
			res := step(c, nil)
			if b.ann[key] == nil {
				b.ann[key] = map[uint64][]mAnn{}
			}
			b.ann[key][cur.version] = append(b.ann[key][cur.version], mAnn{res.Version, tags})
		case p < 70: // delete
			key := randKey(rng)
			res := step(&DeleteObject{Bucket: b.name, Key: key}, nil)
			m.deleteKey(b, key, res.Version)
		case p < 75: // delete a version by id
			var cands []*mRec
			var ckeys []string
			for _, k := range sortedKeys(b.keys) {
				for _, r := range b.keys[k] {
					if r.deletedAt == 0 {
						cands, ckeys = append(cands, r), append(ckeys, k)
					}
				}
			}
			if len(cands) == 0 {
				continue
			}
			j := rng.Intn(len(cands))
			id := strconv.FormatUint(cands[j].version, 10)
			if cands[j].null {
				id = "null"
			}
			res := step(&DeleteObject{Bucket: b.name, Key: ckeys[j], VersionID: id}, nil)
			cands[j].deletedAt = res.Version
		case p < 78: // GC (its commands take versions too)
			tf.drainGC()
			m.last = tf.read(func(r *Reader) (any, error) { return r.LastVersion(), nil }).(uint64)
		case p < 88: // point reads
			for n := 0; n < 5; n++ {
				key := randKey(rng)
				at := uint64(0)
				tAt := uint64(latest)
				if len(b.snaps) > 0 && rng.Intn(2) == 0 {
					at = b.snaps[rng.Intn(len(b.snaps))]
					tAt = at
				}
				want := m.view(b, key, tAt)
				got, err := tf.readErr(func(r *Reader) (any, error) { return r.GetObject(b.name, key, "", at) })
				switch {
				case want == nil || want.marker:
					if !errors.Is(err, ErrNoSuchKey) {
						fail("get %s/%q@%d: got %v %v, want NoSuchKey", b.name, key, at, got, err)
					}
				case err != nil || string(got.(*Object).Inline) != want.body:
					fail("get %s/%q@%d: got %v %v, want %q", b.name, key, at, got, err, want.body)
				case got.(*Object).Tags["t"] != m.tags(b, key, tAt):
					fail("tags of %s/%q@%d: got %v, want %q", b.name, key, at, got.(*Object).Tags, m.tags(b, key, tAt))
				default:
					stats.found++
				}
			}
		default: // listing
			at := uint64(0)
			tAt := uint64(latest)
			if len(b.snaps) > 0 && rng.Intn(2) == 0 {
				at = b.snaps[rng.Intn(len(b.snaps))]
				tAt = at
			}
			prefix := []string{"", "a", "a/", "b", "\x00"}[rng.Intn(5)]
			delim := []string{"", "", "/", "-", "a/"}[rng.Intn(5)]
			page := 1 + rng.Intn(6)
			var want []string
			seen := map[string]bool{}
			for _, k := range m.visibleKeys(b, tAt) {
				if !strings.HasPrefix(k, prefix) {
					continue
				}
				if cp, ok := commonPrefix(k, prefix, delim); ok {
					if !seen[cp] {
						seen[cp] = true
						want = append(want, "P:"+cp)
					}
					continue
				}
				want = append(want, "K:"+k)
			}
			var got []string
			after := ""
			for pages := 0; ; pages++ {
				res := tf.list(b.name, ListOptions{Prefix: prefix, Delimiter: delim, After: after, MaxKeys: page, At: at})
				if len(res.Objects)+len(res.CommonPrefixes) > page {
					fail("page too big")
				}
				var entries []string
				for _, o := range res.Objects {
					entries = append(entries, "K:"+o.Key)
				}
				for _, cp := range res.CommonPrefixes {
					entries = append(entries, "P:"+cp)
				}
				sort.Slice(entries, func(i, j int) bool { return entries[i][2:] < entries[j][2:] })
				got = append(got, entries...)
				if !res.IsTruncated {
					break
				}
				if pages > 1000 {
					fail("listing does not end")
				}
				after = res.Next
			}
			stats.lists++
			stats.entries += len(got)
			if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
				fail("list %s prefix %q delim %q page %d at %d:\n got %q\nwant %q", b.name, prefix, delim, page, at, got, want)
			}
		}
	}
	tf.drainGC()
	checkRefcounts(t, tf, allChunks)
	t.Logf("seed %d: %d buckets made, %d chunks, %d listings (%d entries), %d reads found, %d merges", seed, bucketN, chunkN, stats.lists, stats.entries, stats.found, stats.merges)
}

func sortedKeys(m map[string][]*mRec) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// deleteKey is DeleteObject of key (no version id) in b at version v.
func (m *model) deleteKey(b *mBucket, key string, v uint64) {
	switch b.versioning {
	case VersioningEnabled:
		b.keys[key] = append(b.keys[key], &mRec{version: v, marker: true})
	case VersioningSuspended:
		m.supersedeNull(b, key, v)
		b.keys[key] = append(b.keys[key], &mRec{version: v, marker: true, null: true})
	default:
		own := m.ownView(b, key, latest)
		if own != nil && own.marker {
			return
		}
		if own != nil {
			own.deletedAt = v
		}
		if b.parent != nil {
			if inh := m.view(m.buckets[b.parent.BucketID], key, b.parent.Version); inh != nil && !inh.marker {
				b.keys[key] = append(b.keys[key], &mRec{version: v, marker: true, null: true})
			}
		}
	}
}

// merge is the model of MergeFork (merge.go) of fork f at version v:
// with dry set it only reports; the error is what the merge answers.
func (m *model) merge(f *mBucket, strategy MergeStrategy, v uint64, dry bool) (*MergeReport, error) {
	p := m.buckets[f.parent.BucketID]
	if !p.live {
		return nil, ErrNoSuchBucket
	}
	base := f.parent.Version
	var since uint64
	for _, mp := range f.mergePoints {
		since = max(since, mp)
	}
	rep := &MergeReport{Fork: f.name, Parent: p.name, ParentID: p.id, Base: base, Since: since}
	version := func(r *mRec) uint64 {
		if r == nil {
			return 0
		}
		return r.version
	}
	type change struct {
		key  string
		rec  *mRec // what the fork shows (nil: nothing)
		put  bool
		tags string
	}
	var apply []change
	for _, k := range sortedKeys(f.keys) {
		cur := m.ownView(f, k, latest)
		var old *mRec
		if since > 0 {
			old = m.ownView(f, k, since)
		}
		if version(cur) == version(old) {
			continue
		}
		shows := cur
		if cur == nil {
			shows = m.view(p, k, base)
		}
		pcur := m.view(p, k, latest)
		present := pcur != nil && !pcur.marker
		var put bool
		switch {
		case shows == nil || shows.marker:
			if !present {
				continue
			}
		case present && pcur.version == shows.version:
			continue
		default:
			put = true
		}
		sync := base
		if v, ok := f.mergedAt[k]; ok {
			sync = v
		}
		if version(m.ownView(p, k, latest)) != version(m.ownView(p, k, sync)) {
			rep.conflict(k)
			if strategy == MergeParentWins {
				rep.Kept++
				continue
			}
		}
		if put {
			rep.Puts++
		} else {
			rep.Deletes++
		}
		apply = append(apply, change{k, shows, put, m.tags(f, k, latest)})
	}
	if strategy == MergeFail && rep.ConflictCount > 0 {
		// A dry run says what would apply without the conflicts.
		if rep.DryRun = dry; !dry {
			rep.Puts, rep.Deletes = 0, 0
		}
		return rep, ErrMergeConflict
	}
	if dry {
		rep.DryRun = true
		return rep, nil
	}
	if f.mergedAt == nil {
		f.mergedAt = map[string]uint64{}
	}
	for _, c := range apply {
		f.mergedAt[c.key] = v
		if !c.put {
			m.deleteKey(p, c.key, v)
			continue
		}
		r := &mRec{version: v, body: c.rec.body, chunk: c.rec.chunk, null: p.versioning != VersioningEnabled, tags: c.tags}
		if r.null {
			m.supersedeNull(p, c.key, v)
		}
		p.keys[c.key] = append(p.keys[c.key], r)
	}
	return rep, nil
}

// sameReport compares the counts and conflicts of two reports.
func sameReport(got, want *MergeReport) bool {
	if got == nil || want == nil {
		return got == want
	}
	return got.Puts == want.Puts && got.Deletes == want.Deletes && got.Kept == want.Kept &&
		got.ConflictCount == want.ConflictCount && slices.Equal(got.Conflicts, want.Conflicts) &&
		got.Base == want.Base && got.Since == want.Since && got.Parent == want.Parent
}

func (m *model) supersedeNull(b *mBucket, key string, v uint64) {
	for _, r := range b.keys[key] {
		if r.null && r.deletedAt == 0 {
			r.deletedAt = v
		}
	}
}

// checkRefcounts verifies the chunk reference table against the records
// and parts actually stored, and that every chunk written is either
// referenced or queued for GC.
func checkRefcounts(t *testing.T, tf *testFSM, all map[string]bool) {
	t.Helper()
	type state struct {
		counted map[string]uint64
		stored  map[string]uint64
		queued  map[string]bool
	}
	s := tf.read(func(r *Reader) (any, error) {
		s := state{counted: map[string]uint64{}, stored: map[string]uint64{}, queued: map[string]bool{}}
		it := r.txn.NewIterator(badgerIterAll())
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return nil, err
			}
			switch k[0] {
			case pfxObject:
				_, key, ver, _ := parseObjectKey(k)
				o, err := decodeObjectRecord(key, ver, v, false)
				if err != nil {
					return nil, err
				}
				for _, c := range o.Chunks {
					s.counted[c.ID]++
				}
			case pfxPart:
				p, err := decodePartRecord(v)
				if err != nil {
					return nil, err
				}
				for _, c := range p.Chunks {
					s.counted[c.ID]++
				}
			case pfxChunkRef:
				id, _, _ := readName(k[1:])
				ref, err := (&applier{txn: r.txn}).chunkRef(id)
				if err != nil {
					return nil, err
				}
				s.stored[id] = ref.n
			case pfxGCQueue:
				_, id, _ := parseGCQueueKey(k)
				s.queued[id] = true
			}
		}
		return s, nil
	}).(state)
	if !reflect.DeepEqual(s.counted, s.stored) && !(len(s.counted) == 0 && len(s.stored) == 0) {
		t.Fatalf("refcounts differ from records:\n counted %v\n stored %v", s.counted, s.stored)
	}
	for c := range all {
		if (s.stored[c] > 0) == s.queued[c] {
			t.Fatalf("chunk %s: referenced %v, queued %v", c, s.stored[c] > 0, s.queued[c])
		}
	}
}
