package meta

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Changes of a version a fork inherits from its parent on another shard.
//
// On one shard, a fork's tag or ACL change of a version it inherits is an
// annotation of the fork (annotation.go), and a lock change of such a
// version is refused (ErrInvalidLockRequest: the lock belongs to the
// stored version, which lives in the parent). A fork whose parent lives
// on another shard does the same: apply, which cannot read the parent's
// shard, refuses the command with ErrRemoteParent before writing
// anything; the gateway reads the version the parent shows at the fork
// point (GetInherited: immutable history) and proposes the command again
// carrying it (AnnotateObjectInherited, SetObjectLockInherited). Apply
// uses the carried version only where the fork's local layers still have
// no record of the key, and only when it names the fork's parent and
// fork point.
//
// The annotation lives on the fork's shard in a family of its own
// (keyRemoteAnnotation: the version is one of the parent's shard, which
// may equal a version of the fork's), with the retention rule of
// annotations at write time, and goes when the fork is purged. A read of
// such a version on the fork's shard answers RemoteRead with Annotated
// set when a local layer of the chain holds any of them; the gateway then
// asks the fork's shard for the annotation of the version it read
// (Reader.InheritedAnnotation), so reads of forks that never change an
// inherited version cost nothing more.

// InheritedVersion is the version a fork's parent on another shard
// (Parent, as of At: a RemoteRead's fields) shows for Key and VersionID
// as GetInherited reads it: Found with its id, tags and ACL, or not
// (ErrNoSuchKey for VersionID "", ErrNoSuchVersion otherwise).
type InheritedVersion struct {
	Parent, At     uint64
	Key, VersionID string
	Found          bool
	Version        uint64
	Null           bool
	Tags           map[string]string
	ACL            string
}

// AnnotateObjectInherited is AnnotateObject of a version that a fork
// inherits from its parent on another shard, carrying that version.
type AnnotateObjectInherited struct {
	AnnotateObject
	Inherited InheritedVersion
}

// SetObjectLockInherited is SetObjectLock carrying the version a fork
// inherits from its parent on another shard.
type SetObjectLockInherited struct {
	SetObjectLock
	Inherited InheritedVersion
}

func encodeInheritedVersion(e *encoder, v *InheritedVersion) {
	e.u64(v.Parent)
	e.u64(v.At)
	e.str(v.Key)
	e.str(v.VersionID)
	e.boolean(v.Found)
	e.u64(v.Version)
	e.boolean(v.Null)
	e.stringMap(v.Tags)
	e.str(v.ACL)
}

func decodeInheritedVersion(d *decoder) InheritedVersion {
	return InheritedVersion{Parent: d.u64(), At: d.u64(), Key: d.str(), VersionID: d.str(), Found: d.boolean(),
		Version: d.u64(), Null: d.boolean(), Tags: d.stringMap(), ACL: d.str()}
}

// InheritedVersionOf returns the InheritedVersion of key and versionID
// for a read that went on at rr: o and err are GetInherited's answer.
func InheritedVersionOf(rr *RemoteRead, key, versionID string, o *Object, err error) (InheritedVersion, error) {
	v := InheritedVersion{Parent: rr.BucketID, At: rr.At, Key: key, VersionID: versionID}
	switch {
	case err == nil:
		v.Found, v.Version, v.Null, v.Tags, v.ACL = true, o.Version, o.Null, o.Tags, o.ACL
	case errors.Is(err, ErrNoSuchKey), errors.Is(err, ErrNoSuchVersion):
	default:
		return v, err
	}
	return v, nil
}

// carriedVersion resolves err, locate's answer for key and versionID, when
// it is a *RemoteRead that the command's InheritedVersion answers: the
// version (with the parent's tags and ACL at the fork point) or the
// error locate gives for a version no layer has. Any other err comes
// back unchanged.
func (a *applier) carriedVersion(err error, key, versionID string) (*Object, error) {
	var rr *RemoteRead
	if !errors.As(err, &rr) {
		return nil, err
	}
	in := a.inheritedVersion
	if in == nil || in.Parent != rr.BucketID || in.At != rr.At || in.Key != key || in.VersionID != versionID {
		return nil, err
	}
	switch {
	case in.Found:
		return &Object{Key: key, Version: in.Version, Null: in.Null, Tags: in.Tags, ACL: in.ACL}, nil
	case versionID == "":
		return nil, fmt.Errorf("%w: %q", ErrNoSuchKey, key)
	}
	return nil, fmt.Errorf("%w: %q version %s", ErrNoSuchVersion, key, versionID)
}

// newestRemoteAnnotation returns the newest annotation with stamp <= t
// that b's layer holds of the version (of its parent's shard) it
// inherits from another shard, or nil.
func (r *Reader) newestRemoteAnnotation(b *Bucket, key string, version, t uint64) (*annotation, error) {
	if ok, err := r.hasAnnotations(b); err != nil || !ok {
		return nil, err
	}
	return r.newestUnder(keyRemoteAnnotationVersion(b.ID, key, version), t)
}

// annotateInherited applies to o, a version read from the parent on
// another shard of the chain ls (all on this shard), the newest of the
// chain's annotations of it; it reports whether one applied.
func (r *Reader) annotateInherited(o *Object, ls []layer) (bool, error) {
	for _, l := range ls {
		a, err := r.newestRemoteAnnotation(l.bucket, o.Key, o.Version, l.at)
		if err != nil {
			return false, err
		}
		if a != nil {
			o.Tags, o.ACL = a.tags, a.acl
			return true, nil
		}
	}
	return false, nil
}

// remoteAnnotated reports whether some layer of ls holds annotations of
// versions inherited from another shard.
func (r *Reader) remoteAnnotated(ls []layer) (bool, error) {
	for _, l := range ls {
		ok, err := r.hasAnnotations(l.bucket)
		if err == nil && ok {
			ok, err = hasPrefix(r.txn, keyRemoteAnnotationBucket(l.bucket.ID))
		}
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// InheritedAnnotation is the tags and ACL a fork's chain gives a version
// it inherits from its parent on another shard (Found false: none, the
// parent's apply).
type InheritedAnnotation struct {
	Found bool
	Tags  map[string]string
	ACL   string
}

// InheritedAnnotation reads what bucket, read at at (as GetObject reads
// it), annotates of the version (of its parent's shard) of key it
// inherits from there.
func (r *Reader) InheritedAnnotation(bucket, key string, version, at uint64) (*InheritedAnnotation, error) {
	b, t, err := r.liveBucketAt(bucket, at)
	if err != nil {
		return nil, err
	}
	ls, _, err := r.chainRemote(b, t)
	if err != nil {
		return nil, err
	}
	o := &Object{Key: key, Version: version}
	found, err := r.annotateInherited(o, ls)
	if err != nil || !found {
		return &InheritedAnnotation{}, err
	}
	return &InheritedAnnotation{Found: true, Tags: o.Tags, ACL: o.ACL}, nil
}

// newestRemoteStamp returns the stamp of the newest annotation under
// prefix (keyRemoteAnnotationVersion), if any.
func (a *applier) newestRemoteStamp(prefix []byte) (bool, uint64, error) {
	it := txnKeysOnly(a.txn, prefix)
	defer it.Close()
	it.Rewind()
	if !it.Valid() {
		return false, 0, nil
	}
	k := it.Item().Key()
	if len(k) != len(prefix)+8 {
		return false, 0, fmt.Errorf("%w: inherited annotation key", ErrCorrupt)
	}
	return true, ^binary.BigEndian.Uint64(k[len(prefix):]), nil
}

// dropRemoteAnnotations removes the annotations a purged bucket made of
// versions it inherited from another shard.
func (a *applier) dropRemoteAnnotations(b *Bucket) error {
	if ok, err := a.r.hasAnnotations(b); err != nil || !ok {
		return err
	}
	_, err := a.delPrefix(keyRemoteAnnotationBucket(b.ID))
	return err
}
