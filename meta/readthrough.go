package meta

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/dgraph-io/badger/v4"
)

// latest is the read version meaning "now": newer than every version.
const latest = math.MaxUint64

// MaxForkDepthLimit is the largest fork depth a server may be configured
// with (Options.MaxForkDepth): reads walk at most this many ancestors.
const MaxForkDepthLimit = 1024

// maxChain bounds ancestor walks even if a record were corrupt (a cycle);
// MaxForkDepth is enforced on creation and is far below it.
const maxChain = MaxForkDepthLimit

// Reader reads the keyspace on one Badger transaction: a read-only one for
// Lookup and Handle.Read, the apply transaction inside Update. A Reader is
// not safe for concurrent use and must not outlive its Query.
type Reader struct {
	txn  *kvTxn
	opts Options
	// now is the last applied version (reads) or the version being
	// applied (apply); the history window ends there.
	now uint64
	// buckets caches bucket records by id (read-only transactions only).
	buckets map[uint64]*Bucket
	// mergeBypass lets the merge under way read the buckets it holds
	// (liveBucket refuses them to everyone else).
	mergeBypass bool
}

func newReader(txn *kvTxn, opts Options) (*Reader, error) {
	now, err := getCounter(txn, ctrLastVersion)
	if err != nil {
		return nil, err
	}
	return &Reader{txn: txn, opts: opts, now: now, buckets: map[uint64]*Bucket{}}, nil
}

// LastVersion returns the version of the last applied mutation.
func (r *Reader) LastVersion() uint64 { return r.now }

func getCounter(txn *kvTxn, id byte) (uint64, error) {
	v, ok, err := getValue(txn, keyCounter(id))
	if err != nil || !ok {
		return 0, err
	}
	return decodeU64Value(v)
}

// getValue returns a copy of key's value; ok is false when absent.
func getValue(txn *kvTxn, key []byte) ([]byte, bool, error) {
	if v, ok, found := txn.cached(key); found {
		return v, ok, nil
	}
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		txn.remember(key, nil, false)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	v, err := item.ValueCopy(nil)
	if err == nil {
		txn.remember(key, v, true)
	}
	return v, err == nil, err
}

func exists(txn *kvTxn, key []byte) (bool, error) {
	if _, ok, found := txn.cached(key); found {
		return ok, nil
	}
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		txn.remember(key, nil, false)
		return false, nil
	}
	if err == nil && isHotKey(key) {
		// Remembered with its value, for a later getValue.
		if v, err := item.ValueCopy(nil); err == nil {
			txn.remember(key, v, true)
		}
	}
	return err == nil, err
}

// hasPrefix reports whether any key starts with p.
func hasPrefix(txn *kvTxn, p []byte) (bool, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
	defer it.Close()
	it.Seek(p)
	return it.Valid(), nil
}

func keyIter(txn *kvTxn, prefix []byte) *kvIter {
	return txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
}

// --- buckets ---

// bucketByID returns a bucket record (live or retained), nil if none.
func (r *Reader) bucketByID(id uint64) (*Bucket, error) {
	if b, ok := r.buckets[id]; ok {
		return b, nil
	}
	v, ok, err := getValue(r.txn, keyBucket(id))
	if err != nil || !ok {
		return nil, err
	}
	b, err := decodeBucketRecord(v)
	if err != nil {
		return nil, err
	}
	if r.buckets != nil {
		r.buckets[id] = b
	}
	return b, nil
}

// liveBucket resolves a live bucket by name.
func (r *Reader) liveBucket(name string) (*Bucket, error) {
	v, ok, err := getValue(r.txn, keyBucketName(name))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchBucket, name)
	}
	id, err := decodeU64Value(v)
	if err != nil {
		return nil, err
	}
	b, err := r.bucketByID(id)
	if err != nil {
		return nil, err
	}
	if b == nil || b.State != BucketLive {
		return nil, fmt.Errorf("%w: bucket %q names missing id %d", ErrCorrupt, name, id)
	}
	if !r.mergeBypass {
		held, err := exists(r.txn, keyMergeHold(b.ID))
		if err != nil {
			return nil, err
		}
		if held {
			return nil, fmt.Errorf("%w: bucket %q", ErrMergeInProgress, name)
		}
	}
	return b, nil
}

// fill sets the read-only fields of a copy of b.
func (r *Reader) fill(b *Bucket) (*Bucket, error) {
	c := *b
	if b.Parent != nil {
		p := *b.Parent
		c.Parent = &p
		pb, err := r.bucketByID(p.BucketID)
		if err != nil {
			return nil, err
		}
		if pb != nil && pb.State == BucketLive {
			c.ParentName = pb.Name
		}
	}
	var err error
	if c.IsForkParent, err = hasPrefix(r.txn, keyForkPrefix(b.ID)); err != nil {
		return nil, err
	}
	if c.Expires, err = r.lease(b.ID); err != nil {
		return nil, err
	}
	c.View, err = r.isView(b.ID)
	return &c, err
}

// Bucket returns a live bucket by name, with ParentName and IsForkParent.
func (r *Reader) Bucket(name string) (*Bucket, error) {
	b, err := r.liveBucket(name)
	if err != nil {
		return nil, err
	}
	return r.fill(b)
}

// BucketByID returns a bucket by id, live or retained.
func (r *Reader) BucketByID(id uint64) (*Bucket, error) {
	b, err := r.bucketByID(id)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("%w: id %d", ErrNoSuchBucket, id)
	}
	return r.fill(b)
}

// Buckets returns the live buckets ordered by name.
func (r *Reader) Buckets() ([]Bucket, error) {
	var out []Bucket
	it := keyIter(r.txn, []byte{pfxBucketName})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		id, err := decodeU64Value(v)
		if err != nil {
			return nil, err
		}
		b, err := r.BucketByID(id)
		if err != nil {
			return nil, err
		}
		out = append(out, *b)
	}
	return out, nil
}

// BucketCount counts the live buckets, up to limit (more says there are
// others), reading names only.
func (r *Reader) BucketCount(limit int) (n int, more bool, err error) {
	it := txnKeysOnly(r.txn, []byte{pfxBucketName})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if n == limit {
			return n, true, nil
		}
		n++
	}
	return n, false, nil
}

// depth returns the number of ancestors of b.
func (r *Reader) depth(b *Bucket) (int, error) {
	n := 0
	for b.Parent != nil {
		n++
		if n > maxChain {
			return 0, fmt.Errorf("%w: fork chain of bucket %d too long", ErrCorrupt, b.ID)
		}
		if remoteParent(b) {
			// A parent on another shard (counted above) is not
			// read here: its own ancestors are not counted.
			return n, nil
		}
		p, err := r.bucketByID(b.Parent.BucketID)
		if err != nil {
			return 0, err
		}
		if p == nil {
			return 0, fmt.Errorf("%w: bucket %d has missing parent %d", ErrCorrupt, b.ID, b.Parent.BucketID)
		}
		b = p
	}
	return n, nil
}

// ForkDepth returns how many ancestors the bucket with id has, as a fork
// of it would count them (depth). A chain reaches another shard at most
// once, from its fork on this shard, so the depth of a bucket that is the
// parent of a fork on another shard is whole here: that fork's shard
// counts the hop to it as one and adds this.
func (r *Reader) ForkDepth(id uint64) (int, error) {
	b, err := r.bucketByID(id)
	if err != nil {
		return 0, err
	}
	if b == nil {
		return 0, fmt.Errorf("%w: id %d", ErrNoSuchBucket, id)
	}
	return r.depth(b)
}

// layer is one step of a read-through chain: a bucket read at a version.
type layer struct {
	bucket *Bucket
	at     uint64
}

// chain returns b at `at`, then each ancestor at its fork's base version,
// up to the first ancestor on another shard (chainRemote says which).
func (r *Reader) chain(b *Bucket, at uint64) ([]layer, error) {
	ls, _, err := r.chainRemote(b, at)
	return ls, err
}

// liveBucketAt returns the live bucket named bucket and the version to
// read it at (checkAt).
func (r *Reader) liveBucketAt(bucket string, at uint64) (*Bucket, uint64, error) {
	b, err := r.liveBucket(bucket)
	if err != nil {
		return nil, 0, err
	}
	t, err := r.checkAt(b, at)
	return b, t, err
}

// checkAt validates a read version of b and returns the version to read
// (latest for 0). A version is readable when it is a snapshot of b or lies
// inside the history window, and b existed then: a bucket has no past
// before its creation, and a fork's view before it was made would be its
// parent's history, which is not the fork's to show (ErrNoSuchSnapshot
// for every caller).
func (r *Reader) checkAt(b *Bucket, at uint64) (uint64, error) {
	if at == 0 {
		return latest, nil
	}
	if at < uint64(b.Created) {
		return 0, fmt.Errorf("%w: version %d of bucket %q: before the bucket was created", ErrNoSuchSnapshot, at, b.Name)
	}
	ok, err := exists(r.txn, keySnapshot(b.ID, at))
	if err != nil {
		return 0, err
	}
	if ok {
		return at, nil
	}
	if r.opts.History > 0 {
		if at <= r.now && at >= r.historyFloor() {
			return at, nil
		}
		return 0, fmt.Errorf("%w: version %d of bucket %q", ErrVersionOutOfRetention, at, b.Name)
	}
	return 0, fmt.Errorf("%w: version %d of bucket %q", ErrNoSuchSnapshot, at, b.Name)
}

// historyFloor is the oldest version the history window keeps readable
// (0 when there is no window: nothing is kept for history).
func (r *Reader) historyFloor() uint64 {
	h := uint64(r.opts.History)
	if h == 0 {
		return latest
	}
	if h >= r.now {
		return 0
	}
	return r.now - h
}

// --- object versions ---

// visibleAt reports whether a record exists as a version at T: written at
// or before T and not permanently deleted at T.
func (h recordHeader) existsAt(t uint64) bool {
	return h.deletedAt == 0 || h.deletedAt > t
}

// ownView returns the newest record of (bucket, key) that exists at T (a
// delete marker included), or nil: step 1 of view(B, T).
func (r *Reader) ownView(bucket uint64, key string, t uint64, inline bool) (*Object, error) {
	return r.newestAt(bucket, key, t, inline, func(recordHeader) bool { return true })
}

// newestAt returns the newest record of (bucket, key) with version <= T
// that exists at T and satisfies match, or nil.
func (r *Reader) newestAt(bucket uint64, key string, t uint64, inline bool, match func(recordHeader) bool) (*Object, error) {
	prefix := keyObjectKey(bucket, key)
	it := r.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(appendU64(append([]byte(nil), prefix...), ^t)); it.Valid(); it.Next() {
		item := it.Item()
		var o *Object
		err := item.Value(func(v []byte) error {
			h, err := decodeRecordHeader(v)
			if err != nil || !h.existsAt(t) || !match(h) {
				return err
			}
			o, err = decodeObjectRecord(key, ^beTail(item.Key()), v, inline)
			return err
		})
		if err != nil || o != nil {
			return o, err
		}
	}
	return nil, nil
}

func beTail(k []byte) uint64 {
	v, _ := beU64(k[len(k)-8:])
	return v
}

// view is view(B, T) of key: the nearest layer's visible record (possibly
// a delete marker), or nil when no layer has one; a *RemoteRead when the
// local layers have none and the chain goes on on another shard.
func (r *Reader) view(b *Bucket, key string, t uint64, inline bool) (*Object, error) {
	ls, remote, err := r.chainRemote(b, t)
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		o, err := r.ownView(l.bucket.ID, key, l.at, inline)
		if err != nil || o != nil {
			return o, err
		}
	}
	if remote != nil {
		return nil, remote
	}
	return nil, nil
}

// findVersion looks up one version of key in bucket's own layer as it
// existed at T: versionID is "null" or a decimal version.
func (r *Reader) findVersion(bucket uint64, key string, null bool, version, t uint64) (*Object, error) {
	if !null {
		if version > t {
			return nil, nil
		}
		v, ok, err := getValue(r.txn, keyObject(bucket, key, version))
		if err != nil || !ok {
			return nil, err
		}
		h, err := decodeRecordHeader(v)
		if err != nil || !h.existsAt(t) {
			return nil, err
		}
		return decodeObjectRecord(key, version, v, true)
	}
	return r.newestAt(bucket, key, t, true, func(h recordHeader) bool { return h.null })
}

// ParseVersionID parses an S3 version id: "null" or a decimal version.
func ParseVersionID(s string) (null bool, version uint64, err error) {
	if s == "null" {
		return true, 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 {
		return false, 0, fmt.Errorf("%w: %q", ErrInvalidVersion, s)
	}
	return false, v, nil
}

// VersionID returns the S3 version id of a record: "null" for a null
// version, else its decimal version.
func VersionID(o *Object) string {
	if o.Null {
		return "null"
	}
	return strconv.FormatUint(o.Version, 10)
}

// GetObject returns a version of key in bucket, read through the fork
// chain. versionID "" reads the latest visible version; "null" or a
// decimal version searches the bucket's own layer, then each ancestor as
// of its fork's base. at != 0 reads as of that version (a snapshot of the
// bucket or inside the history window).
//
// A delete marker as the latest version yields the marker with
// ErrNoSuchKey; a delete marker named by versionID yields the marker with
// ErrMethodNotAllowed.
func (r *Reader) GetObject(bucket, key, versionID string, at uint64) (*Object, error) {
	b, t, err := r.liveBucketAt(bucket, at)
	if err != nil {
		return nil, err
	}
	o, ls, owner, err := r.locate(b, key, versionID, t)
	if err != nil {
		return o, err
	}
	// Tags and ACL as of t (annotations of the version, see annotation.go).
	if err := r.annotate(o, ls, owner); err != nil {
		return nil, err
	}
	return o, nil
}

// --- snapshots and lineage ---

// Snapshots returns a live bucket's snapshots, oldest first.
func (r *Reader) Snapshots(bucket string) ([]Snapshot, error) {
	b, err := r.liveBucket(bucket)
	if err != nil {
		return nil, err
	}
	return r.snapshots(b.ID)
}

func (r *Reader) snapshots(id uint64) ([]Snapshot, error) {
	var out []Snapshot
	p := keySnapshotPrefix(id)
	it := keyIter(r.txn, p)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		err := item.Value(func(v []byte) error {
			s, err := decodeSnapshotRecord(id, beTail(item.Key()), v)
			if err == nil {
				out = append(out, *s)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Snapshot resolves a snapshot of a live bucket by name.
func (r *Reader) Snapshot(bucket, name string) (*Snapshot, error) {
	b, err := r.liveBucket(bucket)
	if err != nil {
		return nil, err
	}
	v, ok, err := getValue(r.txn, keySnapshotName(b.ID, name))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %q of bucket %q", ErrNoSuchSnapshot, name, bucket)
	}
	version, err := decodeU64Value(v)
	if err != nil {
		return nil, err
	}
	return &Snapshot{BucketID: b.ID, Version: version, Name: name, Created: int64(version)}, nil
}

type forkRef struct{ base, child uint64 }

// forks lists the fork index entries under parent, by base then child.
func (r *Reader) forks(parent uint64) ([]forkRef, error) {
	var out []forkRef
	it := txnKeysOnly(r.txn, keyForkPrefix(parent))
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		base, child, ok := parseForkKey(it.Item().Key())
		if !ok {
			return nil, fmt.Errorf("%w: fork key", ErrCorrupt)
		}
		out = append(out, forkRef{base, child})
	}
	return out, nil
}

func txnKeysOnly(txn *kvTxn, prefix []byte) *kvIter {
	return txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
}

// Lineage returns a live bucket's place in the fork tree: its parent, its
// snapshots and the buckets forked from it (live or retained).
func (r *Reader) Lineage(bucket string) (*Lineage, error) {
	b, err := r.Bucket(bucket)
	if err != nil {
		return nil, err
	}
	l := &Lineage{Bucket: *b}
	if b.Parent != nil {
		l.Parent = &LineageRef{BucketID: b.Parent.BucketID, Name: b.ParentName, Version: b.Parent.Version}
	}
	if l.Snapshots, err = r.snapshots(b.ID); err != nil {
		return nil, err
	}
	fs, err := r.forks(b.ID)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		ref := LineageRef{BucketID: f.child, Version: f.base}
		c, err := r.bucketByID(f.child)
		if err != nil {
			return nil, err
		}
		if c != nil && c.State == BucketLive {
			ref.Name = c.Name
			if ref.Expires, err = r.lease(c.ID); err != nil {
				return nil, err
			}
		}
		l.Forks = append(l.Forks, ref)
	}
	return l, nil
}

// --- uploads ---

// Upload returns an in-progress upload.
func (r *Reader) Upload(bucket, key, uploadID string) (*Upload, error) {
	b, err := r.liveBucket(bucket)
	if err != nil {
		return nil, err
	}
	return r.upload(b.ID, key, uploadID)
}

func (r *Reader) upload(bucket uint64, key, uploadID string) (*Upload, error) {
	v, ok, err := getValue(r.txn, keyUpload(bucket, key, uploadID))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchUpload, uploadID)
	}
	return decodeUploadRecord(v)
}

// Parts returns up to max parts of an upload numbered above marker.
func (r *Reader) Parts(uploadID string, marker, max int) (*PartListResult, error) {
	if ok, err := exists(r.txn, keyUploadID(uploadID)); err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("%w: %q", ErrNoSuchUpload, uploadID)
		}
		return nil, err
	}
	res := &PartListResult{}
	if max <= 0 {
		return res, nil
	}
	p := keyPartPrefix(uploadID)
	it := keyIter(r.txn, p)
	defer it.Close()
	for it.Seek(keyPart(uploadID, max0(marker)+1)); it.Valid(); it.Next() {
		if len(res.Parts) == max {
			res.IsTruncated = true
			break
		}
		var part *Part
		err := it.Item().Value(func(v []byte) (err error) {
			part, err = decodePartRecord(v)
			return err
		})
		if err != nil {
			return nil, err
		}
		res.Parts = append(res.Parts, *part)
		res.NextPartNumberMarker = part.Number
	}
	return res, nil
}

func max0(v int) int {
	if v < 0 {
		return 0
	}
	return v
}

// --- chunks and GC ---

// GCEntry is a chunk whose last reference went away at Version: every
// node may delete its copy.
type GCEntry struct {
	Version uint64
	ChunkID string
}

// GCQueue returns GC queue entries with version > after, at most limit
// entries except that the last version's entries are always returned
// together, so trimming up to the last returned version (TrimGC) never
// drops an entry that was not seen.
func (r *Reader) GCQueue(after uint64, limit int) ([]GCEntry, error) {
	var out []GCEntry
	if after == latest {
		return nil, nil
	}
	from := appendU64([]byte{pfxGCQueue}, after+1)
	floor, err := indexFloor(r.txn, pfxGCQueue)
	if err != nil {
		return nil, err
	}
	if bytes.Compare(floor, from) > 0 {
		from = floor // what sorts below was trimmed
	}
	it := txnKeysOnly(r.txn, []byte{pfxGCQueue})
	defer it.Close()
	for it.Seek(from); it.Valid(); it.Next() {
		v, id, ok := parseGCQueueKey(it.Item().Key())
		if !ok {
			return nil, fmt.Errorf("%w: gc queue key", ErrCorrupt)
		}
		if len(out) >= limit && (len(out) == 0 || out[len(out)-1].Version != v) {
			break
		}
		out = append(out, GCEntry{Version: v, ChunkID: id})
	}
	return out, nil
}

// ChunkReferenced reports whether any record or part references a chunk.
// It answers true when the state cannot be read, so that a caller deciding
// whether to delete the chunk keeps it.
func (r *Reader) ChunkReferenced(id string) bool {
	ok, err := exists(r.txn, keyChunkRef(id))
	return ok || err != nil
}

// PendingGC returns the ids of buckets with a retention pass under way
// (after a snapshot, fork or bucket was deleted); the gateway proposes
// GCBucket for each until it is no longer listed.
func (r *Reader) PendingGC() ([]uint64, error) {
	var out []uint64
	it := txnKeysOnly(r.txn, []byte{pfxGCPending})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		out = append(out, beTail(it.Item().Key()))
	}
	return out, nil
}
