package meta

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Listing a bucket is a k-way merge of its own layer and each ancestor's
// layer read at the fork's base version. For every key the nearest layer
// with a record visible at its read version decides: an object is listed,
// a delete marker hides the key. With a delimiter, the first visible key
// of a group produces the common prefix and every layer then seeks past
// the whole group (prefix successor) instead of stepping through it.

// layerIter walks the distinct keys of one bucket's own layer.
type layerIter struct {
	it     *kvIter
	bucket []byte // keyObjectBucket(id)
	at     uint64
	valid  bool
	key    string // current key
	encKey []byte // bucket prefix + name(key): the prefix of its versions
}

func newLayerIter(txn *kvTxn, bucket uint64, at uint64, keyPrefix string) *layerIter {
	bp := keyObjectBucket(bucket)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: appendEscaped(append([]byte(nil), bp...), keyPrefix)})
	return &layerIter{it: it, bucket: bp, at: at}
}

func (l *layerIter) close() { l.it.Close() }

// load reads the key at the iterator position.
func (l *layerIter) load() error {
	if !l.it.Valid() {
		l.valid = false
		return nil
	}
	k := l.it.Item().Key()
	_, key, _, ok := parseObjectKey(k)
	if !ok {
		return fmt.Errorf("%w: object key %x", ErrCorrupt, k)
	}
	l.valid = true
	l.key = key
	l.encKey = append(l.encKey[:0], k[:len(k)-8]...)
	return nil
}

// seekKey positions at the first key >= the encoded position pos (pos is
// relative to the bucket prefix).
func (l *layerIter) seekRel(pos []byte) error {
	l.it.Seek(append(append([]byte(nil), l.bucket...), pos...))
	return l.load()
}

// afterRel returns the seek position of the first key > k.
func afterRel(k string) []byte { return append(appendEscaped(nil, k), 0, 2) }

// pastPrefixRel returns the seek position of the first key not starting
// with p (nil: there is none).
func pastPrefixRel(p string) []byte { return prefixSuccessor(appendEscaped(nil, p)) }

// next moves to the next distinct key.
func (l *layerIter) next() error {
	if !l.valid {
		return nil
	}
	for i := 0; i < 4 && l.it.Valid(); i++ {
		if !bytes.HasPrefix(l.it.Item().Key(), l.encKey) {
			return l.load()
		}
		l.it.Next()
	}
	if !l.it.Valid() {
		return l.load()
	}
	if !bytes.HasPrefix(l.it.Item().Key(), l.encKey) {
		return l.load()
	}
	succ := append(l.encKey[:len(l.encKey)-1:len(l.encKey)-1], 2)
	l.it.Seek(succ)
	return l.load()
}

// versions calls fn for each record of the current key that exists at the
// layer's version, newest first, until fn returns false. It leaves the
// iterator inside or past the key (next still works).
func (l *layerIter) versions(inline bool, fn func(o *Object) bool) error {
	if !l.valid {
		return nil
	}
	if l.at != latest {
		l.it.Seek(appendU64(append([]byte(nil), l.encKey...), ^l.at))
	}
	for ; l.it.Valid(); l.it.Next() {
		item := l.it.Item()
		k := item.Key()
		if !bytes.HasPrefix(k, l.encKey) || len(k) != len(l.encKey)+8 {
			return nil
		}
		version := ^beTail(k)
		var o *Object
		err := item.Value(func(v []byte) error {
			h, err := decodeRecordHeader(v)
			if err != nil || !h.existsAt(l.at) {
				return err
			}
			o, err = decodeObjectRecord(l.key, version, v, inline)
			return err
		})
		if err != nil {
			return err
		}
		if o != nil && !fn(o) {
			return nil
		}
	}
	return nil
}

// state returns the record visible at the layer's version for the current
// key (possibly a delete marker), or nil.
func (l *layerIter) state() (*Object, error) {
	var out *Object
	err := l.versions(false, func(o *Object) bool { out = o; return false })
	return out, err
}

// merger is the k-way merge of a chain's layers.
type merger struct {
	ls    []layer
	iters []*layerIter
}

// layerMerger opens the merge of the layers ls over the keys with
// keyPrefix.
func (r *Reader) layerMerger(ls []layer, keyPrefix string) *merger {
	m := &merger{ls: ls}
	for _, l := range ls {
		m.iters = append(m.iters, newLayerIter(r.txn, l.bucket.ID, l.at, keyPrefix))
	}
	return m
}

func (m *merger) close() {
	for _, it := range m.iters {
		it.close()
	}
}

func (m *merger) seekRel(pos []byte) error {
	for _, it := range m.iters {
		if pos == nil {
			it.valid = false
			continue
		}
		if err := it.seekRel(pos); err != nil {
			return err
		}
	}
	return nil
}

// minKey returns the smallest current key among the layers.
func (m *merger) minKey() (string, bool) {
	var k string
	found := false
	for _, it := range m.iters {
		if it.valid && (!found || it.key < k) {
			k, found = it.key, true
		}
	}
	return k, found
}

// resolve returns the nearest visible record of key (nil when no layer has
// one) and the index of its layer, then advances every layer past key.
func (m *merger) resolve(key string, inheritedOnly bool) (*Object, int, error) {
	var win *Object
	wl := -1
	for i, it := range m.iters {
		if !it.valid || it.key != key {
			continue
		}
		if win == nil && !(inheritedOnly && i == 0) {
			o, err := it.state()
			if err != nil {
				return nil, 0, err
			}
			if o != nil {
				win, wl = o, i
			}
		}
		if err := it.next(); err != nil {
			return nil, 0, err
		}
	}
	return win, wl, nil
}

// startRel is the first seek position for a listing.
func startRel(prefix, after string) []byte {
	if after != "" && after >= prefix {
		return afterRel(after)
	}
	return appendEscaped([]byte{}, prefix) // non-nil: nil means "past the end"
}

// commonPrefix returns the rolled-up prefix of key, if any.
func commonPrefix(key, prefix, delim string) (string, bool) {
	if delim == "" {
		return "", false
	}
	i := strings.Index(key[len(prefix):], delim)
	if i < 0 {
		return "", false
	}
	return key[:len(prefix)+i+len(delim)], true
}

// pageMerger opens the merged layers of a live bucket, as of at, over the
// keys with prefix, for one page of a listing; it returns nil (and no
// error) when maxKeys asks for nothing.
func (r *Reader) pageMerger(bucket string, at uint64, prefix string, maxKeys int) (*merger, error) {
	b, t, err := r.liveBucketAt(bucket, at)
	if err != nil || maxKeys <= 0 {
		return nil, err
	}
	// A fork whose parent is on another shard is listed by the gateway,
	// merging LocalEntries and InheritedEntries (xfork.go).
	ls, remote, err := r.chainRemote(b, t)
	if err != nil {
		return nil, err
	}
	if remote != nil {
		return nil, remote
	}
	return r.layerMerger(ls, prefix), nil
}

// List returns a page of a bucket's latest visible objects (or as of
// opts.At), merged through the fork chain. Objects carry no Inline bytes.
func (r *Reader) List(bucket string, opts ListOptions) (*ListResult, error) {
	m, err := r.pageMerger(bucket, opts.At, opts.Prefix, opts.MaxKeys)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return &ListResult{}, nil
	}
	defer m.close()
	res := &ListResult{}
	if err := m.seekRel(startRel(opts.Prefix, opts.After)); err != nil {
		return nil, err
	}
	n := 0
	for {
		key, ok := m.minKey()
		if !ok {
			break
		}
		if cp, ok := commonPrefix(key, opts.Prefix, opts.Delimiter); ok && cp <= opts.After {
			// The marker is inside this group: it was listed already.
			if err := m.seekRel(pastPrefixRel(cp)); err != nil {
				return nil, err
			}
			continue
		}
		o, _, err := m.resolve(key, false)
		if err != nil {
			return nil, err
		}
		if o == nil || o.DeleteMarker {
			continue
		}
		if n == opts.MaxKeys {
			res.IsTruncated = true
			break
		}
		n++
		if cp, ok := commonPrefix(key, opts.Prefix, opts.Delimiter); ok {
			res.CommonPrefixes = append(res.CommonPrefixes, cp)
			res.Next = cp
			if err := m.seekRel(pastPrefixRel(cp)); err != nil {
				return nil, err
			}
			continue
		}
		res.Objects = append(res.Objects, *o)
		res.Next = key
	}
	if !res.IsTruncated {
		res.Next = ""
	}
	return res, nil
}

// ListVersions returns a page of a bucket's versions ordered by key, then
// newest first: the bucket's own versions that exist at the read version
// and, for a fork, the version each key shows through the parent chain
// (an ancestor's record as of the fork's base), which is older than any of
// the fork's own versions. Ancestors' delete markers and superseded
// versions are not listed. Records carry no Inline bytes.
func (r *Reader) ListVersions(bucket string, opts VersionListOptions) (*VersionListResult, error) {
	m, err := r.pageMerger(bucket, opts.At, opts.Prefix, opts.MaxKeys)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return &VersionListResult{}, nil
	}
	defer m.close()
	res := &VersionListResult{}
	start := startRel(opts.Prefix, opts.KeyMarker)
	if opts.VersionIDMarker != "" && opts.KeyMarker >= opts.Prefix {
		start = appendName(nil, opts.KeyMarker)
	}
	if err := m.seekRel(start); err != nil {
		return nil, err
	}
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
		key, ok := m.minKey()
		if !ok {
			break
		}
		cp, isCP := commonPrefix(key, opts.Prefix, opts.Delimiter)
		if isCP && cp <= opts.KeyMarker {
			if err := m.seekRel(pastPrefixRel(cp)); err != nil {
				return nil, err
			}
			continue
		}
		// Own versions, then the inherited one.
		var vs []ObjectVersion
		own := m.iters[0]
		if own.valid && own.key == key {
			err := own.versions(false, func(o *Object) bool {
				vs = append(vs, ObjectVersion{Object: *o})
				return true
			})
			if err != nil {
				return nil, err
			}
		}
		inh, _, err := m.resolve(key, true)
		if err != nil {
			return nil, err
		}
		vs = WithInherited(vs, inh)
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
			if err := m.seekRel(pastPrefixRel(cp)); err != nil {
				return nil, err
			}
			continue
		}
		if key == opts.KeyMarker && opts.VersionIDMarker != "" {
			vs = versionsAfter(vs, opts.VersionIDMarker)
		}
		stop := false
		for _, v := range vs {
			if full() {
				stop = true
				break
			}
			res.Versions = append(res.Versions, v)
			res.NextKeyMarker, res.NextVersionIDMarker = key, VersionID(&v.Object)
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

// WithInherited appends the version a key inherits (nil: none) to its own
// versions (newest first), unless it is a delete marker or a null version
// that an own null version replaced: a key has one null version, and a
// fork's own replaces the one it inherits, as a PUT in an unversioned or
// suspended bucket replaces the null version. (Listed twice under the
// one id, the marker "null" could not tell them apart.)
func WithInherited(own []ObjectVersion, inh *Object) []ObjectVersion {
	if inh == nil || inh.DeleteMarker {
		return own
	}
	if inh.Null {
		for i := range own {
			if own[i].Null {
				return own
			}
		}
	}
	return append(own, ObjectVersion{Object: *inh})
}

// versionsAfter drops the entries up to and including the marker version
// (entries are newest first; an unknown marker drops every entry newer
// than it, or everything when it cannot be placed).
func versionsAfter(vs []ObjectVersion, marker string) []ObjectVersion {
	for i := range vs {
		if VersionID(&vs[i].Object) == marker {
			return vs[i+1:]
		}
	}
	null, v, err := ParseVersionID(marker)
	if err != nil || null {
		return nil
	}
	for i := range vs {
		if vs[i].Version < v {
			return vs[i:]
		}
	}
	return nil
}

// Uploads returns a page of a bucket's in-progress uploads ordered by key,
// then upload id.
func (r *Reader) Uploads(bucket string, opts UploadListOptions) (*UploadListResult, error) {
	b, err := r.liveBucket(bucket)
	if err != nil {
		return nil, err
	}
	res := &UploadListResult{}
	if opts.MaxUploads <= 0 {
		return res, nil
	}
	bp := keyUploadBucket(b.ID)
	it := r.txn.NewIterator(badger.IteratorOptions{Prefix: appendEscaped(append([]byte(nil), bp...), opts.Prefix)})
	defer it.Close()
	seek := func(rel []byte) {
		if rel == nil {
			it.Seek(prefixSuccessor(bp))
			return
		}
		it.Seek(append(append([]byte(nil), bp...), rel...))
	}
	switch {
	case opts.KeyMarker != "" && opts.KeyMarker >= opts.Prefix && opts.UploadIDMarker != "":
		seek(append(appendName(nil, opts.KeyMarker), afterRel(opts.UploadIDMarker)...))
	default:
		seek(startRel(opts.Prefix, opts.KeyMarker))
	}
	n := 0
	for it.Valid() {
		_, key, uploadID, ok := parseUploadKey(it.Item().Key())
		if !ok {
			return nil, fmt.Errorf("%w: upload key", ErrCorrupt)
		}
		cp, isCP := commonPrefix(key, opts.Prefix, opts.Delimiter)
		if isCP && cp <= opts.KeyMarker {
			seek(pastPrefixRel(cp))
			continue
		}
		if n == opts.MaxUploads {
			res.IsTruncated = true
			break
		}
		n++
		if isCP {
			res.CommonPrefixes = append(res.CommonPrefixes, cp)
			res.NextKeyMarker, res.NextUploadIDMarker = cp, ""
			seek(pastPrefixRel(cp))
			continue
		}
		var u *Upload
		if err := it.Item().Value(func(v []byte) (err error) {
			u, err = decodeUploadRecord(v)
			return err
		}); err != nil {
			return nil, err
		}
		res.Uploads = append(res.Uploads, *u)
		res.NextKeyMarker, res.NextUploadIDMarker = key, uploadID
		it.Next()
	}
	if !res.IsTruncated {
		res.NextKeyMarker, res.NextUploadIDMarker = "", ""
	}
	return res, nil
}

// Diff returns a page of the keys under prefix that a fork changed
// relative to what its parent chain shows at the fork's base: "added" (the
// parent view has no object), "changed" (a different ETag) or "deleted"
// (the fork hides an object of the parent view). A bucket without a
// parent diffs against nothing, so every object is "added".
func (r *Reader) Diff(bucket, prefix, after string, max int) (*DiffResult, error) {
	b, err := r.liveBucket(bucket)
	if err != nil {
		return nil, err
	}
	res := &DiffResult{}
	if max <= 0 {
		return res, nil
	}
	ls, remote, err := r.chainRemote(b, latest)
	if err != nil {
		return nil, err
	}
	if remote != nil {
		return nil, remote
	}
	own := newLayerIter(r.txn, b.ID, latest, prefix)
	defer own.close()
	if err := own.seekRel(startRel(prefix, after)); err != nil {
		return nil, err
	}
	for own.valid {
		key := own.key
		mine, err := own.state()
		if err != nil {
			return nil, err
		}
		if err := own.next(); err != nil {
			return nil, err
		}
		if mine == nil {
			continue
		}
		var base *Object
		for _, l := range ls[1:] {
			if base, err = r.ownView(l.bucket.ID, key, l.at, false); err != nil {
				return nil, err
			}
			if base != nil {
				break
			}
		}
		if base != nil && base.DeleteMarker {
			base = nil
		}
		var e DiffEntry
		switch {
		case mine.DeleteMarker && base == nil:
			continue
		case mine.DeleteMarker:
			e = DiffEntry{Key: key, Change: "deleted"}
		case base == nil:
			e = DiffEntry{Key: key, Change: "added", Object: mine}
		case base.ETag != mine.ETag:
			e = DiffEntry{Key: key, Change: "changed", Object: mine}
		default:
			continue
		}
		if len(res.Entries) == max {
			res.IsTruncated = true
			break
		}
		res.Entries = append(res.Entries, e)
		res.Next = key
	}
	if !res.IsTruncated {
		res.Next = ""
	}
	return res, nil
}
