package meta

import (
	"fmt"
	"maps"
	"sort"

	"github.com/dgraph-io/badger/v4"
)

// Annotations are the parts of an object version that S3 lets a client
// change after the write: its tags (PutObjectTagging, DeleteObjectTagging)
// and its ACL (PutObjectAcl). A change never rewrites the version's
// record: it writes an annotation keyed by (bucket, key, object version)
// and stamped with the change's own version. A read at T of an object
// version takes the newest annotation with stamp <= T, looking first in
// the bucket read, then in each ancestor down to the layer that holds the
// version; with none, the values written with the version apply. So a
// snapshot keeps showing the tags it saw, a fork reads its parent's
// annotations as of its base, and a fork's changes stay in the fork.
//
// Retention (the rule of retention.go, applied to annotations): an
// annotation is kept while its object version is stored (a version
// inherited from an ancestor counts as stored) and it is the newest one
// of its version in a live bucket, or some pin of the bucket (snapshot,
// fork base, history window) lies in [its stamp, the next one's stamp).
// Writing a new annotation applies the rule to the one it replaces;
// removing a version removes its annotations; a bucket's GC pass
// reapplies the rule to all of them.

// AnnotateObject changes the tags and/or the ACL of one object version
// (the latest when VersionID is ""), as seen by Bucket.
type AnnotateObject struct {
	Header
	Bucket    string
	Key       string
	VersionID string
	SetTags   bool
	Tags      map[string]string // nil with SetTags removes every tag
	SetACL    bool
	ACL       string
}

// annotation is the state an annotation record holds.
type annotation struct {
	tags map[string]string
	acl  string
}

func encodeAnnotation(a *annotation) []byte {
	e := encoder{}
	e.u8(fmtV1)
	e.stringMap(a.tags)
	e.str(a.acl)
	return e.b
}

func decodeAnnotation(v []byte) (*annotation, error) {
	d := decoder{b: v}
	d.fmtByte()
	a := &annotation{tags: d.stringMap(), acl: d.str()}
	return a, d.done()
}

// annotationState says whether a bucket's own layer may hold
// annotations, so that reads of buckets that have none (the common case)
// look for none. It is kept in the bucket record, which every read loads
// anyway; a record written before the flag existed says annUnknown, and
// then the annotated marker key answers.
type annotationState uint8

const (
	annUnknown annotationState = iota
	annNone
	annSome
)

// hasAnnotations reports whether b's own layer may hold annotations.
func (r *Reader) hasAnnotations(b *Bucket) (bool, error) {
	switch b.annotations {
	case annNone:
		return false, nil
	case annSome:
		return true, nil
	}
	return exists(r.txn, keyAnnotated(b.ID))
}

// newestAnnotation returns the newest annotation of (bucket, key,
// version) with stamp <= t, or nil.
func (r *Reader) newestAnnotation(b *Bucket, key string, version, t uint64) (*annotation, error) {
	if ok, err := r.hasAnnotations(b); err != nil || !ok {
		return nil, err
	}
	return r.newestUnder(keyAnnotationVersion(b.ID, key, version), t)
}

// newestUnder returns the newest annotation with stamp <= t under prefix,
// the key of one version's annotations (keyAnnotationVersion,
// keyRemoteAnnotationVersion: the stamp follows, inverted), or nil.
func (r *Reader) newestUnder(prefix []byte, t uint64) (*annotation, error) {
	it := r.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	it.Seek(appendU64(append([]byte(nil), prefix...), ^t))
	if !it.Valid() {
		return nil, nil
	}
	var a *annotation
	err := it.Item().Value(func(v []byte) (err error) {
		a, err = decodeAnnotation(v)
		return err
	})
	return a, err
}

// annotate applies to o (found in layer ls[owner]) the newest annotation
// visible through ls[0..owner].
func (r *Reader) annotate(o *Object, ls []layer, owner int) error {
	for j := 0; j <= owner && j < len(ls); j++ {
		a, err := r.newestAnnotation(ls[j].bucket, o.Key, o.Version, ls[j].at)
		if err != nil {
			return err
		}
		if a != nil {
			o.Tags, o.ACL = a.tags, a.acl
			return nil
		}
	}
	return nil
}

// locate finds the version an annotation or a read by version id names in
// b's view at t: the record and the index of its layer in ls.
//
// When the key is not in the local layers and the chain goes on at a
// parent on another shard, the error is a *RemoteRead.
func (r *Reader) locate(b *Bucket, key, versionID string, t uint64) (*Object, []layer, int, error) {
	ls, remote, err := r.chainRemote(b, t)
	if err != nil {
		return nil, nil, 0, err
	}
	if versionID == "" {
		for i, l := range ls {
			o, err := r.ownView(l.bucket.ID, key, l.at, true)
			if err != nil {
				return nil, nil, 0, err
			}
			if o == nil {
				continue
			}
			if o.DeleteMarker {
				return o, ls, i, fmt.Errorf("%w: %q", ErrNoSuchKey, key)
			}
			return o, ls, i, nil
		}
		if remote != nil {
			return nil, nil, 0, remote
		}
		return nil, nil, 0, fmt.Errorf("%w: %q", ErrNoSuchKey, key)
	}
	null, version, err := ParseVersionID(versionID)
	if err != nil {
		return nil, nil, 0, err
	}
	o, err := r.findVersion(ls[0].bucket.ID, key, null, version, ls[0].at)
	if err != nil {
		return nil, nil, 0, err
	}
	if o != nil {
		if o.DeleteMarker {
			return o, ls, 0, fmt.Errorf("%w: %q version %s", ErrMethodNotAllowed, key, versionID)
		}
		return o, ls, 0, nil
	}
	// A fork's history starts at its fork point: of its ancestors'
	// versions it has only the one its view inherits, as ListVersions
	// lists, never an older one nor a delete marker.
	for i, l := range ls[1:] {
		o, err := r.ownView(l.bucket.ID, key, l.at, true)
		if err != nil {
			return nil, nil, 0, err
		}
		if o == nil {
			continue
		}
		if !o.DeleteMarker && o.Null == null && (null || o.Version == version) {
			return o, ls, i + 1, nil
		}
		return nil, nil, 0, fmt.Errorf("%w: %q version %s", ErrNoSuchVersion, key, versionID)
	}
	if remote != nil {
		return nil, nil, 0, remote
	}
	return nil, nil, 0, fmt.Errorf("%w: %q version %s", ErrNoSuchVersion, key, versionID)
}

func (a *applier) annotateObject(c *AnnotateObject) (*Result, error) {
	b, err := a.writableBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	o, ls, owner, err := a.r.locate(b, c.Key, c.VersionID, latest)
	// A version inherited from the parent on another shard: the one the
	// command carries (xannotate.go), annotated in its own family.
	remote := err != nil
	if remote {
		if o, err = a.carriedVersion(err, c.Key, c.VersionID); err != nil {
			return nil, err
		}
		if ls, _, err = a.r.chainRemote(b, latest); err != nil {
			return nil, err
		}
		if _, err := a.r.annotateInherited(o, ls); err != nil {
			return nil, err
		}
	} else if err := a.r.annotate(o, ls, owner); err != nil {
		return nil, err
	}
	next := annotation{tags: o.Tags, acl: o.ACL}
	if c.SetTags {
		next.tags = c.Tags
	}
	if c.SetACL {
		if err := checkACL(b, c.ACL); err != nil {
			return nil, err
		}
		next.acl = c.ACL
	}
	out := &Object{Key: o.Key, Version: o.Version, Null: o.Null, Tags: next.tags, ACL: next.acl}
	if maps.Equal(next.tags, o.Tags) && next.acl == o.ACL {
		// Nothing changes (s3cmd sets the ACL it just read after every
		// copy): no annotation, so reads of buckets that never change a
		// tag or an ACL stay at one lookup of the annotated marker.
		return &Result{Object: out}, nil
	}
	// The annotation this one replaces in b's layer, if any.
	keyOf := keyAnnotation
	var prev bool
	var prevStamp uint64
	if remote {
		keyOf = keyRemoteAnnotation
		prev, prevStamp, err = a.newestRemoteStamp(keyRemoteAnnotationVersion(b.ID, c.Key, o.Version))
	} else {
		prev, prevStamp, err = a.newestStamp(b.ID, c.Key, o.Version)
	}
	if err != nil {
		return nil, err
	}
	if err := a.set(keyOf(b.ID, c.Key, o.Version, a.version), encodeAnnotation(&next)); err != nil {
		return nil, err
	}
	if b.annotations != annSome {
		c := *b
		c.annotations = annSome
		if err := a.putBucket(&c); err != nil {
			return nil, err
		}
	}
	if prev {
		pins, err := a.pinsFor(b)
		if err != nil {
			return nil, err
		}
		if !pins.covers(prevStamp, a.version) {
			if err := a.del(keyOf(b.ID, c.Key, o.Version, prevStamp)); err != nil {
				return nil, err
			}
		}
	}
	return &Result{Object: out}, nil
}

// newestStamp returns the stamp of the newest annotation of (bucket, key,
// version), if any.
func (a *applier) newestStamp(bucket uint64, key string, version uint64) (bool, uint64, error) {
	prefix := keyAnnotationVersion(bucket, key, version)
	it := txnKeysOnly(a.txn, prefix)
	defer it.Close()
	it.Rewind()
	if !it.Valid() {
		return false, 0, nil
	}
	_, _, _, stamp, ok := parseAnnotationKey(it.Item().Key())
	if !ok {
		return false, 0, fmt.Errorf("%w: annotation key", ErrCorrupt)
	}
	return true, stamp, nil
}

// covers reports whether a read that a pin keeps possible lies in
// [from, to): a snapshot or fork base, or the history window.
func (p *pinSet) covers(from, to uint64) bool {
	if p.floor != latest && to > p.floor {
		return true
	}
	k := sort.Search(len(p.points), func(i int) bool { return p.points[i] >= from })
	return k < len(p.points) && p.points[k] < to
}

// dropAnnotations removes every annotation of one object version of b's
// layer (its record was removed).
func (a *applier) dropAnnotations(b *Bucket, key string, version uint64) error {
	if ok, err := a.r.hasAnnotations(b); err != nil || !ok {
		return err
	}
	_, err := a.delPrefix(keyAnnotationVersion(b.ID, key, version))
	return err
}

// gcAnnotations continues the annotation phase of b's GC pass after the
// (key, version) cursor, examining at most *budget annotations, and
// returns whether more remain and where to resume.
func (a *applier) gcAnnotations(b *Bucket, cursorKey string, cursorVersion uint64, started bool, budget *int) (more bool, nextKey string, nextVersion uint64, err error) {
	pins, err := a.pinsFor(b)
	if err != nil {
		return false, "", 0, err
	}
	prefix := keyAnnotationBucket(b.ID)
	seek := prefix
	if started {
		// Past every annotation of the cursor's version.
		seek = prefixSuccessor(keyAnnotationVersion(b.ID, cursorKey, cursorVersion))
	}
	type ann struct {
		key     []byte
		stamp   uint64
		keyName string
		version uint64
	}
	var (
		group []ann
		dead  [][]byte
	)
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		g := group[0]
		own := b.Parent == nil || g.version > b.Parent.Version
		stored := true
		if own {
			ok, err := exists(a.txn, keyObject(b.ID, g.keyName, g.version))
			if err != nil {
				return err
			}
			stored = ok
		}
		succ := uint64(latest)
		for i, x := range group { // newest first
			keep := stored && ((pins.live && i == 0) || pins.covers(x.stamp, succ))
			if !keep {
				dead = append(dead, x.key)
			}
			succ = x.stamp
		}
		nextKey, nextVersion = g.keyName, g.version
		group = group[:0]
		return nil
	}
	it := txnKeysOnly(a.txn, prefix)
	for it.Seek(seek); it.Valid(); it.Next() {
		k := it.Item().KeyCopy(nil)
		_, key, version, stamp, ok := parseAnnotationKey(k)
		if !ok {
			it.Close()
			return false, "", 0, fmt.Errorf("%w: annotation key", ErrCorrupt)
		}
		if len(group) > 0 && (key != group[0].keyName || version != group[0].version) {
			if err := flush(); err != nil {
				it.Close()
				return false, "", 0, err
			}
			if *budget <= 0 {
				more = true
				break
			}
		}
		group = append(group, ann{key: k, stamp: stamp, keyName: key, version: version})
		*budget--
	}
	it.Close()
	if !more {
		if err := flush(); err != nil {
			return false, "", 0, err
		}
	}
	for _, k := range dead {
		if err := a.del(k); err != nil {
			return false, "", 0, err
		}
	}
	return more, nextKey, nextVersion, nil
}
