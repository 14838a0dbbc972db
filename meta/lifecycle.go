package meta

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/dgraph-io/badger/v4"
)

// Lifecycle. A bucket may have a lifecycle configuration: rules that
// expire current versions (Expiration Days or Date), remove delete markers
// left alone (ExpiredObjectDeleteMarker), remove noncurrent versions
// (NoncurrentVersionExpiration) and abort old multipart uploads
// (AbortIncompleteMultipartUpload). The leader applies them with
// ApplyLifecycle commands, each a bounded step of a pass over the buckets
// that have a configuration; the pass resumes from a cursor kept in the
// replicated state (keyLifecycleCursor), so no step walks what an earlier
// step of the pass walked. Apply never reads a clock: the command carries
// the proposer's lifecycle clock (Now), which tests may shift.
//
// Removal goes through the paths a client's delete takes (deleteKey,
// supersede), so retention keeps what snapshots, forks and the history
// window still read: expiring an object never changes what a snapshot or a
// fork made before shows. A fork has its own configuration (none when
// made); its rules act on the fork's own layer only, never on what it
// inherits (see docs/design-notes.md).

// Lifecycle is a bucket's lifecycle configuration.
type Lifecycle struct {
	Rules []LifecycleRule
	// Document is the configuration as GetBucketLifecycleConfiguration
	// returns it (rendered by the S3 front end; Transitions are kept
	// there and otherwise ignored). meta stores it as is.
	Document []byte
}

// LifecycleRule is one rule. A zero field means the rule has no such
// filter or action.
type LifecycleRule struct {
	ID      string
	Enabled bool
	// Filter: every condition set must hold.
	Prefix          string
	Tags            map[string]string
	SizeGreaterThan int64 // object size > this (when > 0)
	SizeLessThan    int64 // object size < this (when > 0)
	// Expiration of current versions: Days after creation (rounded up to
	// the next midnight UTC), or from Date (Unix ns, midnight UTC).
	ExpirationDays            int
	ExpirationDate            int64
	ExpiredObjectDeleteMarker bool
	// NoncurrentVersionExpiration: NoncurrentDays after a version became
	// noncurrent, keeping the NewerNoncurrentVersions newest ones.
	NoncurrentDays          int
	NewerNoncurrentVersions int
	// AbortIncompleteMultipartUpload: DaysAfterInitiation.
	AbortUploadDays int
}

// SetLifecycle replaces a bucket's lifecycle configuration (nil Config
// deletes it).
type SetLifecycle struct {
	Header
	Bucket string
	Config *Lifecycle
}

// ApplyLifecycle runs one bounded step of the lifecycle pass as of Now
// (the proposer's lifecycle clock, Unix ns). Result.More says the pass is
// not over; Result.Deleted lists what the step expired.
type ApplyLifecycle struct {
	Header
	Now   int64
	Limit int // records and uploads to examine; <= 0 means 256
}

const (
	defaultLifecycleLimit = 256
	maxLifecycleLimit     = 1000
	nsPerDay              = int64(86400) * 1e9
)

// ExpiryAfter returns t plus days, rounded up to the next midnight UTC, as
// S3 computes when a version expires.
func ExpiryAfter(t int64, days int) int64 {
	x := t + int64(days)*nsPerDay
	if r := x % nsPerDay; r != 0 {
		x += nsPerDay - r
	}
	return x
}

// matches reports whether the rule's filter selects a version of key. A
// delete marker has no size and no tags: only prefix filters select it.
func (r *LifecycleRule) matches(key string, size int64, tags map[string]string, marker bool) bool {
	if len(key) < len(r.Prefix) || key[:len(r.Prefix)] != r.Prefix {
		return false
	}
	if marker {
		return len(r.Tags) == 0 && r.SizeGreaterThan == 0 && r.SizeLessThan == 0
	}
	for k, v := range r.Tags {
		if got, ok := tags[k]; !ok || got != v {
			return false
		}
	}
	if r.SizeGreaterThan > 0 && size <= r.SizeGreaterThan {
		return false
	}
	if r.SizeLessThan > 0 && size >= r.SizeLessThan {
		return false
	}
	return true
}

// CurrentExpiry returns when the current version o (not a delete marker)
// expires under l and the id of the rule that expires it first; ok is
// false when no enabled rule expires it. This is what x-amz-expiration
// reports.
func (l *Lifecycle) CurrentExpiry(o *Object) (at int64, ruleID string, ok bool) {
	if l == nil || o == nil || o.DeleteMarker {
		return 0, "", false
	}
	for i := range l.Rules {
		r := &l.Rules[i]
		if !r.Enabled || !r.matches(o.Key, o.Size, o.Tags, false) {
			continue
		}
		var t int64
		switch {
		case r.ExpirationDays > 0:
			t = ExpiryAfter(o.LastModified, r.ExpirationDays)
		case r.ExpirationDate != 0:
			t = r.ExpirationDate
		default:
			continue
		}
		if !ok || t < at {
			at, ruleID, ok = t, r.ID, true
		}
	}
	return at, ruleID, ok
}

// lcVersion is what a lifecycle decision knows of one existing version.
type lcVersion struct {
	version      uint64
	null         bool
	marker       bool
	size         int64
	tags         map[string]string
	lastModified int64
}

// lcDecision is what the rules do to one key.
type lcDecision struct {
	expireCurrent bool        // delete the key (a marker when versioned)
	removeMarker  bool        // remove the current delete marker (it is alone)
	remove        []lcVersion // noncurrent versions to remove
}

// decide applies l to the existing versions of key in a bucket's own
// layer (newest first) as of now.
func (l *Lifecycle) decide(key string, vs []lcVersion, now int64) lcDecision {
	var d lcDecision
	if len(vs) == 0 {
		return d
	}
	cur := vs[0]
	if !cur.marker {
		o := Object{Key: key, Size: cur.size, Tags: cur.tags, LastModified: cur.lastModified}
		if at, _, ok := l.CurrentExpiry(&o); ok && at <= now {
			d.expireCurrent = true
		}
	} else if len(vs) == 1 {
		for i := range l.Rules {
			r := &l.Rules[i]
			if r.Enabled && r.ExpiredObjectDeleteMarker && r.matches(key, 0, nil, true) {
				d.removeMarker = true
				break
			}
		}
	}
	// Noncurrent versions: vs[i] became noncurrent when vs[i-1] was
	// written (a version is its write time in nanoseconds).
	for i := 1; i < len(vs); i++ {
		v := vs[i]
		since := int64(vs[i-1].version)
		for j := range l.Rules {
			r := &l.Rules[j]
			if !r.Enabled || r.NoncurrentDays <= 0 || !r.matches(key, v.size, v.tags, v.marker) {
				continue
			}
			if i-1 < r.NewerNoncurrentVersions {
				continue
			}
			if ExpiryAfter(since, r.NoncurrentDays) <= now {
				d.remove = append(d.remove, v)
				break
			}
		}
	}
	return d
}

// abortsUpload reports whether l aborts an upload of key initiated at
// initiated, as of now.
func (l *Lifecycle) abortsUpload(key string, initiated, now int64) bool {
	for i := range l.Rules {
		r := &l.Rules[i]
		if r.Enabled && r.AbortUploadDays > 0 && r.matches(key, 0, nil, true) &&
			ExpiryAfter(initiated, r.AbortUploadDays) <= now {
			return true
		}
	}
	return false
}

// lifecycleMayRemove decides whether lifecycle may remove version (a
// record of b's own layer) of key: every removal of an object version
// lifecycle makes asks it first (delete markers, which nothing locks, do
// not ask), and a version it refuses stays (and is asked about again on the
// next pass). This is where retention that forbids deletion (Object Lock,
// MayRemove) says no. Expiring the current version of a versioned bucket
// removes nothing (it adds a delete marker) and does not ask.
func (a *applier) lifecycleMayRemove(b *Bucket, key string, version uint64) (bool, error) {
	v, ok, err := getValue(a.txn, keyObject(b.ID, key, version))
	if err != nil || !ok {
		return false, err
	}
	o, err := decodeObjectRecord(key, version, v, false)
	if err != nil {
		return false, err
	}
	return MayRemove(o, a.version, false) == nil, nil
}

// --- storage ---

func encodeLifecycle(l *Lifecycle) []byte {
	e := encoder{}
	e.u8(fmtV1)
	e.uvarint(uint64(len(l.Rules)))
	for i := range l.Rules {
		encodeLifecycleRule(&e, &l.Rules[i])
	}
	e.bytes(l.Document)
	return e.b
}

func encodeLifecycleRule(e *encoder, r *LifecycleRule) {
	e.str(r.ID)
	e.boolean(r.Enabled)
	e.str(r.Prefix)
	e.stringMap(r.Tags)
	e.varint(r.SizeGreaterThan)
	e.varint(r.SizeLessThan)
	e.int(r.ExpirationDays)
	e.varint(r.ExpirationDate)
	e.boolean(r.ExpiredObjectDeleteMarker)
	e.int(r.NoncurrentDays)
	e.int(r.NewerNoncurrentVersions)
	e.int(r.AbortUploadDays)
}

func decodeLifecycleRule(d *decoder) LifecycleRule {
	return LifecycleRule{ID: d.str(), Enabled: d.boolean(), Prefix: d.str(), Tags: d.stringMap(),
		SizeGreaterThan: d.varint(), SizeLessThan: d.varint(), ExpirationDays: d.int(),
		ExpirationDate: d.varint(), ExpiredObjectDeleteMarker: d.boolean(), NoncurrentDays: d.int(),
		NewerNoncurrentVersions: d.int(), AbortUploadDays: d.int()}
}

func decodeLifecycle(v []byte) (*Lifecycle, error) {
	d := decoder{b: v}
	l := decodeLifecycleBody(&d)
	return l, d.done()
}

// decodeLifecycleBody decodes what encodeLifecycle wrote, from its format
// byte on.
func decodeLifecycleBody(d *decoder) *Lifecycle {
	d.fmtByte()
	l := &Lifecycle{}
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		l.Rules = append(l.Rules, decodeLifecycleRule(d))
	}
	l.Document = d.bytes()
	return l
}

// lifecycle returns the configuration of bucket id, or nil.
func (r *Reader) lifecycle(id uint64) (*Lifecycle, error) {
	v, ok, err := getValue(r.txn, keyLifecycle(id))
	if err != nil || !ok {
		return nil, err
	}
	return decodeLifecycle(v)
}

// Lifecycle returns the lifecycle configuration of a live bucket, or nil
// when it has none.
func (r *Reader) Lifecycle(bucket string) (*Lifecycle, error) {
	b, err := r.liveBucket(bucket)
	if err != nil {
		return nil, err
	}
	return r.lifecycle(b.ID)
}

func (a *applier) setLifecycle(c *SetLifecycle) (*Result, error) {
	b, err := a.r.liveBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	if c.Config == nil {
		return nil, a.dropLifecycle(b.ID)
	}
	if a.mayHaveLifecycle != nil {
		// Before the write commits: a reader that saw no configuration
		// read the state before it.
		a.mayHaveLifecycle.Store(true)
	}
	k := keyLifecycle(b.ID)
	floor, err := indexFloor(a.txn, pfxLifecycle)
	if err != nil {
		return nil, err
	}
	if bytes.Compare(k, floor) < 0 {
		if err := a.set(keyIndexFloor(pfxLifecycle), append([]byte{fmtV1}, k...)); err != nil {
			return nil, err
		}
	}
	return nil, a.set(k, encodeLifecycle(c.Config))
}

// dropLifecycle removes a bucket's configuration and floor, if any.
func (a *applier) dropLifecycle(id uint64) error {
	ok, err := exists(a.txn, keyLifecycle(id))
	if err != nil || !ok {
		return err
	}
	if ok, err := exists(a.txn, keyLifecycleFloor(id)); err != nil {
		return err
	} else if ok {
		if err := a.del(keyLifecycleFloor(id)); err != nil {
			return err
		}
	}
	return a.del(keyLifecycle(id))
}

// lcCursor is where the pass under way stands: the bucket it is in, the
// key to seek to (an object key prefix or an upload key of that bucket),
// and the first key of the bucket it left in place (the bucket's next
// floor), once it met one.
type lcCursor struct {
	bucket   uint64
	seek     []byte
	hasFirst bool
	first    string
}

func (r *Reader) lifecycleCursor() (lcCursor, error) {
	v, ok, err := getValue(r.txn, keyLifecycleCursor())
	if err != nil || !ok {
		return lcCursor{}, err
	}
	d := decoder{b: v}
	d.fmtByte()
	c := lcCursor{bucket: d.u64(), seek: d.bytes(), hasFirst: d.boolean(), first: d.str()}
	return c, d.done()
}

func (a *applier) saveLifecycleCursor(c *lcCursor) error {
	e := encoder{}
	e.u8(fmtV1)
	e.u64(c.bucket)
	e.bytes(c.seek)
	e.boolean(c.hasFirst)
	e.str(c.first)
	return a.set(keyLifecycleCursor(), e.b)
}

// The lifecycle floor of a bucket is a key at or below every object key
// of its own layer that exists (empty: none exists): a pass starts there,
// not at the front of the bucket, where the deletion markers of what
// earlier passes expired pile up until Badger compacts them (log-style
// keys expire oldest first). A pass sets it to the first key it leaves in
// place, or lower when a record was written below that since the pass
// entered the bucket (low); every record written (putRecord) lowers it.
// It exists only for buckets with a lifecycle configuration.
type lcFloor struct {
	empty   bool
	key     string
	lowered bool
	low     string
}

func (r *Reader) lifecycleFloor(bucket uint64) (*lcFloor, error) {
	v, ok, err := getValue(r.txn, keyLifecycleFloor(bucket))
	if err != nil || !ok {
		return nil, err
	}
	d := decoder{b: v}
	d.fmtByte()
	f := &lcFloor{empty: d.boolean(), key: d.str(), lowered: d.boolean(), low: d.str()}
	return f, d.done()
}

func (a *applier) putLifecycleFloor(bucket uint64, f *lcFloor) error {
	e := encoder{}
	e.u8(fmtV1)
	e.boolean(f.empty)
	e.str(f.key)
	e.boolean(f.lowered)
	e.str(f.low)
	return a.set(keyLifecycleFloor(bucket), e.b)
}

// lowerLifecycleFloor records that a record of key was written in bucket.
func (a *applier) lowerLifecycleFloor(bucket uint64, key string) error {
	f, err := a.r.lifecycleFloor(bucket)
	if err != nil || f == nil {
		return err
	}
	changed := false
	if f.empty || key < f.key {
		f.empty, f.key, changed = false, key, true
	}
	if !f.lowered || key < f.low {
		f.lowered, f.low, changed = true, key, true
	}
	if !changed {
		return nil
	}
	return a.putLifecycleFloor(bucket, f)
}

// startLifecycleFloor is a pass entering a bucket: it returns where to
// start (nil: no object to visit) and starts tracking writes.
func (a *applier) startLifecycleFloor(bucket uint64) ([]byte, error) {
	f, err := a.r.lifecycleFloor(bucket)
	if err != nil {
		return nil, err
	}
	if f == nil {
		f = &lcFloor{}
	}
	f.lowered, f.low = false, ""
	if err := a.putLifecycleFloor(bucket, f); err != nil {
		return nil, err
	}
	if f.empty {
		return nil, nil
	}
	return keyObjectKey(bucket, f.key), nil
}

// endLifecycleFloor is a pass leaving a bucket's objects: the floor is the
// first key the pass left, or a key written since it entered, whichever
// is lower.
func (a *applier) endLifecycleFloor(bucket uint64, c *lcCursor) error {
	f, err := a.r.lifecycleFloor(bucket)
	if err != nil || f == nil {
		return err
	}
	n := lcFloor{empty: true}
	for _, k := range []struct {
		ok  bool
		key string
	}{{c.hasFirst, c.first}, {f.lowered, f.low}} {
		if k.ok && (n.empty || k.key < n.key) {
			n.empty, n.key = false, k.key
		}
	}
	return a.putLifecycleFloor(bucket, &n)
}

// LifecyclePassUnderWay reports whether a lifecycle pass stopped part way
// (the leader carries it on before waiting for the next interval).
func (r *Reader) LifecyclePassUnderWay() (bool, error) {
	return exists(r.txn, keyLifecycleCursor())
}

// HasLifecycle reports whether any bucket has a lifecycle configuration.
func (r *Reader) HasLifecycle() (bool, error) {
	floor, err := indexFloor(r.txn, pfxLifecycle)
	if err != nil {
		return false, err
	}
	it := txnKeysOnly(r.txn, []byte{pfxLifecycle})
	defer it.Close()
	it.Seek(floor)
	return it.Valid(), nil
}

func (a *applier) applyLifecycle(c *ApplyLifecycle) (*Result, error) {
	budget := c.Limit
	if budget <= 0 {
		budget = defaultLifecycleLimit
	}
	budget = min(budget, maxLifecycleLimit)
	resuming, err := exists(a.txn, keyLifecycleCursor())
	if err != nil {
		return nil, err
	}
	cur, err := a.r.lifecycleCursor()
	if err != nil {
		return nil, err
	}
	res := &Result{}
	// The buckets with a configuration, one at a time from the cursor's.
	// A pass starts at the family's floor (index floor 0x48): deleted
	// configurations (of deleted forks, say) leave deletion markers at
	// the front of the family, which no pass walks twice.
	from := keyLifecycle(cur.bucket)
	if !resuming {
		if from, err = indexFloor(a.txn, pfxLifecycle); err != nil {
			return nil, err
		}
	}
	for from != nil {
		id, ok, err := a.nextLifecycleBucket(from)
		if err != nil {
			return nil, err
		}
		if !resuming {
			// Every configuration is at or above the first one found.
			floor := keyLifecycle(^uint64(0))
			if ok {
				floor = keyLifecycle(id)
			}
			if !bytes.Equal(floor, from) {
				if err := a.set(keyIndexFloor(pfxLifecycle), append([]byte{fmtV1}, floor...)); err != nil {
					return nil, err
				}
			}
			resuming = true
		}
		if !ok {
			break
		}
		from = nil
		if id != ^uint64(0) {
			from = keyLifecycle(id + 1)
		}
		b, err := a.r.bucketByID(id)
		if err != nil {
			return nil, err
		}
		if b == nil || b.State != BucketLive {
			continue
		}
		// A merge under way holds the bucket: nothing may change it
		// between the merge's entries. The next pass comes back to it.
		if held, err := exists(a.txn, keyMergeHold(id)); err != nil {
			return nil, err
		} else if held {
			continue
		}
		l, err := a.r.lifecycle(id)
		if err != nil {
			return nil, err
		}
		if id != cur.bucket || cur.seek == nil {
			cur = lcCursor{bucket: id}
			if cur.seek, err = a.startLifecycleFloor(id); err != nil {
				return nil, err
			}
			if cur.seek == nil {
				cur.seek = keyUploadBucket(id)
			}
		}
		if cur.seek[0] == pfxObject {
			next, err := a.lifecycleObjects(b, l, &cur, c.Now, &budget, res)
			if err != nil {
				return nil, err
			}
			if next != nil {
				cur.seek = next
				res.More = true
				return res, a.saveLifecycleCursor(&cur)
			}
			if err := a.endLifecycleFloor(id, &cur); err != nil {
				return nil, err
			}
			cur.seek = keyUploadBucket(id)
		}
		next, err := a.lifecycleUploads(b, l, cur.seek, c.Now, &budget, res)
		if err != nil {
			return nil, err
		}
		if next != nil {
			cur.seek = next
			res.More = true
			return res, a.saveLifecycleCursor(&cur)
		}
		cur.seek = nil
	}
	// The pass is over.
	if ok, err := exists(a.txn, keyLifecycleCursor()); err != nil || !ok {
		return res, err
	}
	return res, a.del(keyLifecycleCursor())
}

// nextLifecycleBucket returns the first bucket id with a configuration
// whose key is at or after from.
func (a *applier) nextLifecycleBucket(from []byte) (uint64, bool, error) {
	it := txnKeysOnly(a.txn, []byte{pfxLifecycle})
	defer it.Close()
	it.Seek(from)
	if !it.Valid() {
		return 0, false, nil
	}
	k := it.Item().Key()
	if len(k) != 9 {
		return 0, false, fmt.Errorf("%w: lifecycle key", ErrCorrupt)
	}
	return binary.BigEndian.Uint64(k[1:]), true, nil
}

// lcKey is one key's existing versions, loaded by a lifecycle step.
type lcKey struct {
	key string
	vs  []lcVersion
}

// lifecycleObjects applies l to b's own keys from seek on, spending one
// unit of *budget per entry stepped over (the deletion markers Badger has
// not compacted yet and superseded entries included, so a step stays
// bounded however much was deleted before). It returns where to resume,
// or nil when it reached the end of the bucket.
func (a *applier) lifecycleObjects(b *Bucket, l *Lifecycle, cur *lcCursor, now int64, budget *int, res *Result) ([]byte, error) {
	seek := cur.seek
	prefix := keyObjectBucket(b.ID)
	var keys []lcKey
	var next []byte
	it := a.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, AllVersions: true})
	var last []byte
	var curKey string
	started := false
	steps := 0
	for it.Seek(seek); it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		_, key, version, ok := parseObjectKey(k)
		if !ok {
			it.Close()
			return nil, fmt.Errorf("%w: object key", ErrCorrupt)
		}
		if !started || key != curKey {
			// A new key: stop here when the budget is spent (a key's
			// versions are decided together).
			if steps >= *budget {
				next = keyObjectKey(b.ID, key)
				break
			}
			started, curKey = true, key
		}
		steps++
		if last != nil && bytes.Equal(k, last) {
			continue // history of a Badger key
		}
		last = append(last[:0], k...)
		if item.IsDeletedOrExpired() {
			continue
		}
		if n := len(keys); n == 0 || keys[n-1].key != key {
			keys = append(keys, lcKey{key: key})
		}
		var o *Object
		err := item.Value(func(v []byte) (err error) {
			o, err = decodeObjectRecord(key, version, v, false)
			return err
		})
		if err != nil {
			it.Close()
			return nil, err
		}
		if o.DeletedAt != 0 {
			continue
		}
		lk := &keys[len(keys)-1]
		lk.vs = append(lk.vs, lcVersion{version: version, null: o.Null, marker: o.DeleteMarker, size: o.Size, tags: o.Tags, lastModified: o.LastModified})
	}
	it.Close()
	a.stats.recordSteps += uint64(steps)
	a.stats.lifecycleSteps += uint64(steps)
	*budget -= steps
	for _, k := range keys {
		n := len(res.Deleted)
		if err := a.lifecycleKey(b, l, k, now, res); err != nil {
			return nil, err
		}
		if cur.hasFirst {
			continue
		}
		// The first key the pass leaves in place is the next floor.
		left := len(res.Deleted) == n
		if !left {
			var err error
			if left, err = hasPrefix(a.txn, keyObjectKey(b.ID, k.key)); err != nil {
				return nil, err
			}
		}
		if left {
			cur.hasFirst, cur.first = true, k.key
		}
	}
	return next, nil
}

// lifecycleKey applies the rules to one key of b's own layer.
func (a *applier) lifecycleKey(b *Bucket, l *Lifecycle, k lcKey, now int64, res *Result) error {
	// Tags an annotation replaced (PutObjectTagging) count, as of now.
	if ok, err := a.r.hasAnnotations(b); err != nil {
		return err
	} else if ok {
		for i := range k.vs {
			an, err := a.r.newestAnnotation(b, k.key, k.vs[i].version, latest)
			if err != nil {
				return err
			}
			if an != nil {
				k.vs[i].tags = an.tags
			}
		}
	}
	d := l.decide(k.key, k.vs, now)
	if d.expireCurrent {
		ok := true
		if b.Versioning != VersioningEnabled {
			// The current (null) version is removed.
			var err error
			if ok, err = a.lifecycleMayRemove(b, k.key, k.vs[0].version); err != nil {
				return err
			}
		}
		if ok {
			// A fork's parent on another shard cannot be asked here:
			// the tombstone is left whatever it shows.
			a.tombstoneRemote = true
			out, err := a.deleteKey(b, k.key, "")
			a.tombstoneRemote = false
			if err != nil {
				return err
			}
			res.Deleted = append(res.Deleted, out)
		}
	}
	if d.removeMarker {
		// In a fork a lone marker may hide what an ancestor holds: it
		// is not "expired", removing it would bring that back.
		inherited, err := a.inheritedView(b, k.key)
		remote := errors.Is(err, ErrRemoteParent) // a parent on another shard: kept
		if err != nil && !remote {
			return err
		}
		if !remote && (inherited == nil || inherited.DeleteMarker) {
			if err := a.supersede(b, k.key, k.vs[0].version); err != nil {
				return err
			}
			res.Deleted = append(res.Deleted, DeleteOutcome{Key: k.key, VersionID: lcVersionID(k.vs[0]), DeleteMarker: true})
		}
	}
	for _, v := range d.remove {
		ok, err := a.lifecycleMayRemove(b, k.key, v.version)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		id := lcVersionID(v)
		if err := a.supersede(b, k.key, v.version); err != nil {
			return err
		}
		res.Deleted = append(res.Deleted, DeleteOutcome{Key: k.key, VersionID: id})
	}
	return nil
}

// lcVersionID is the S3 version id of a version for reports.
func lcVersionID(v lcVersion) string {
	if v.null {
		return "null"
	}
	return strconv.FormatUint(v.version, 10)
}

// lifecycleUploads aborts b's uploads that l says are too old, from seek
// on; it returns where to resume, or nil at the end of the bucket.
func (a *applier) lifecycleUploads(b *Bucket, l *Lifecycle, seek []byte, now int64, budget *int, res *Result) ([]byte, error) {
	hasAbort := false
	for i := range l.Rules {
		hasAbort = hasAbort || (l.Rules[i].Enabled && l.Rules[i].AbortUploadDays > 0)
	}
	if !hasAbort {
		return nil, nil
	}
	prefix := keyUploadBucket(b.ID)
	var due []*Upload
	var next []byte
	steps, err := scanLive(a.txn, prefix, seek, func(item *kvItem) (bool, error) {
		if *budget <= 0 {
			next = bytes.Clone(item.Key())
			return false, nil
		}
		*budget--
		var u *Upload
		err := item.Value(func(v []byte) (err error) {
			u, err = decodeUploadRecord(v)
			return err
		})
		if err != nil {
			return false, err
		}
		if l.abortsUpload(u.Key, u.Initiated, now) {
			due = append(due, u)
		}
		return true, nil
	})
	a.stats.recordSteps += uint64(steps)
	if err != nil {
		return nil, err
	}
	for _, u := range due {
		if err := a.dropUpload(u); err != nil {
			return nil, err
		}
		res.Deleted = append(res.Deleted, DeleteOutcome{Key: u.Key, VersionID: u.UploadID})
	}
	return next, nil
}

// ObjectExpiry says when lifecycle expires o, the current version of its
// key in bucket, and by which rule (x-amz-expiration). In a fork, only
// the fork's own versions expire (its rules never touch what it
// inherits).
func (r *Reader) ObjectExpiry(bucket string, o *Object) (at int64, rule string, ok bool, err error) {
	if o == nil || o.DeleteMarker {
		return 0, "", false, nil
	}
	b, err := r.liveBucket(bucket)
	if err != nil {
		return 0, "", false, err
	}
	l, err := r.lifecycle(b.ID)
	if err != nil || l == nil {
		return 0, "", false, err
	}
	if b.Parent != nil {
		own, err := r.findVersion(b.ID, o.Key, o.Null, o.Version, latest)
		if err != nil || own == nil {
			return 0, "", false, err
		}
	}
	at, rule, ok = l.CurrentExpiry(o)
	return at, rule, ok, nil
}
