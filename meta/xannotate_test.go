package meta

import (
	"errors"
	"maps"
	"testing"
)

// A fork on another shard changes the tags of a version it inherits only
// with the parent's view of it, matching its parent and fork point; its
// reads then say the chain is annotated, the annotation is read on the
// fork's shard, the parent keeps its tags, and purging the fork removes
// the annotations.
func TestRemoteForkAnnotations(t *testing.T) {
	p, f := twoShards(t)
	p.createBucket("base")
	p.put("base", "a", "a1")
	forks := xfork(t, p, f, "base", 3, "agent")
	set := &AnnotateObject{Bucket: "agent", Key: "a", SetTags: true, Tags: map[string]string{"k": "v"}}
	f.mustFail(set, ErrRemoteParent)
	_, err := f.get("agent", "a", 0)
	var rr *RemoteRead
	if !errors.As(err, &rr) || rr.Annotated {
		t.Fatalf("read before: %v", err)
	}
	o, err := p.readErr(func(r *Reader) (any, error) { return r.GetInherited(rr.BucketID, "a", "", rr.At) })
	v, err := InheritedVersionOf(rr, "a", "", asObject(o), err)
	if err != nil || !v.Found {
		t.Fatalf("inherited version %+v %v", v, err)
	}
	stale := v
	stale.At--
	f.mustFail(&AnnotateObjectInherited{AnnotateObject: *set, Inherited: stale}, ErrRemoteParent)
	res := f.must(&AnnotateObjectInherited{AnnotateObject: *set, Inherited: v})
	if res.Object.Version != v.Version || !maps.Equal(res.Object.Tags, set.Tags) {
		t.Fatalf("result %+v", res.Object)
	}
	if _, err := f.get("agent", "a", 0); !errors.As(err, &rr) || !rr.Annotated {
		t.Fatalf("read after: %v", err)
	}
	an := f.read(func(r *Reader) (any, error) { return r.InheritedAnnotation("agent", "a", v.Version, 0) }).(*InheritedAnnotation)
	if !an.Found || !maps.Equal(an.Tags, set.Tags) {
		t.Fatalf("annotation %+v", an)
	}
	if o := p.read(func(r *Reader) (any, error) { return r.GetObject("base", "a", "", 0) }).(*Object); len(o.Tags) != 0 {
		t.Fatalf("the parent's tags changed: %v", o.Tags)
	}
	// A lock change of the inherited version is refused as on one shard.
	lock := SetObjectLockInherited{SetObjectLock: SetObjectLock{Bucket: "agent", Key: "a", SetLegalHold: true, LegalHold: true}, Inherited: v}
	f.mustFail(&lock, ErrInvalidLockRequest) // no Object Lock on the fork
	// A key the parent does not show.
	none, _ := InheritedVersionOf(rr, "zz", "", nil, ErrNoSuchKey)
	f.mustFail(&AnnotateObjectInherited{AnnotateObject: AnnotateObject{Bucket: "agent", Key: "zz", SetTags: true}, Inherited: none}, ErrNoSuchKey)
	// Purging the fork removes its annotations of inherited versions.
	f.must(&DeleteBucket{Name: "agent"})
	f.drainGC()
	if n := f.countKeys(keyRemoteAnnotationBucket(forks[0].ID)); n != 0 {
		t.Fatalf("%d annotations left after the purge", n)
	}
}

func asObject(v any) *Object {
	o, _ := v.(*Object)
	return o
}
