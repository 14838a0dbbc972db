package meta

import (
	"errors"
	"testing"
)

func (tf *testFSM) bucket(name string) *Bucket {
	tf.t.Helper()
	return tf.read(func(r *Reader) (any, error) { return r.Bucket(name) }).(*Bucket)
}

func (tf *testFSM) acl(bucket, key, versionID string, at uint64) string {
	tf.t.Helper()
	o := tf.read(func(r *Reader) (any, error) { return r.GetObject(bucket, key, versionID, at) }).(*Object)
	return o.ACL
}

// Ownership controls and ACLs (S3 Object Ownership): new buckets have ACLs
// disabled; a non-private ACL is refused there (AccessControlListNotSupported)
// and enforcing ownership on a bucket with a non-private ACL is refused
// (InvalidBucketAclWithObjectOwnership), both checked in apply.
func TestBucketAccess(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	if b := tf.bucket("b"); b.Ownership != OwnershipEnforced || b.ACL != "" {
		t.Fatalf("new bucket: ownership %v, ACL %q", b.Ownership, b.ACL)
	}
	tf.mustFail(&CreateBucket{Name: "c", ACL: "public-read"}, ErrInvalidBucketACL)
	tf.must(&CreateBucket{Name: "c", Ownership: OwnershipObjectWriter, ACL: "public-read"})
	if b := tf.bucket("c"); b.Ownership != OwnershipObjectWriter || b.ACL != "public-read" {
		t.Fatalf("bucket c: ownership %v, ACL %q", b.Ownership, b.ACL)
	}

	// ACLs disabled: objects, annotations and the bucket stay private.
	o := obj("k", "v")
	o.ACL = "public-read"
	tf.mustFail(&PutObject{Bucket: "b", Object: o}, ErrACLNotSupported)
	tf.mustFail(&CreateUpload{Bucket: "b", UploadID: "u", Template: o}, ErrACLNotSupported)
	tf.put("b", "k", "v")
	tf.mustFail(&AnnotateObject{Bucket: "b", Key: "k", SetACL: true, ACL: "public-read"}, ErrACLNotSupported)
	tf.must(&AnnotateObject{Bucket: "b", Key: "k", SetACL: true, ACL: ""})
	tf.mustFail(&SetBucketAccess{Bucket: "b", SetACL: true, ACL: "public-read"}, ErrACLNotSupported)

	// Enabled: ACLs are stored; back to enforced only with a private ACL.
	tf.must(&SetBucketAccess{Bucket: "b", SetOwnership: true, Ownership: OwnershipPreferred, SetACL: true, ACL: "public-read"})
	tf.mustFail(&SetBucketAccess{Bucket: "b", SetOwnership: true, Ownership: OwnershipEnforced}, ErrInvalidBucketACL)
	tf.must(&SetBucketAccess{Bucket: "b", SetOwnership: true, Ownership: OwnershipEnforced, SetACL: true, ACL: ""})
	if b := tf.bucket("b"); b.Ownership != OwnershipEnforced || b.ACL != "" {
		t.Fatalf("bucket b: ownership %v, ACL %q", b.Ownership, b.ACL)
	}
	tf.must(&SetBucketAccess{Bucket: "b", SetOwnership: true, Ownership: OwnershipNone})
	tf.must(&PutObject{Bucket: "b", Object: o})
	if got := tf.acl("b", "k", "", 0); got != "public-read" {
		t.Fatalf("object ACL %q", got)
	}
	tf.mustFail(&SetBucketAccess{Bucket: "absent", SetACL: true}, ErrNoSuchBucket)
}

// A fork starts with its source's ownership and bucket ACL; its inherited
// objects keep their ACLs (read through, as of the fork's base), and a
// change in the fork stays there. A snapshot keeps the ACL it saw.
func TestObjectACLForksAndSnapshots(t *testing.T) {
	tf := openTestFSM(t)
	tf.must(&CreateBucket{Name: "b", Ownership: OwnershipObjectWriter, ACL: "public-read"})
	o := obj("k", "v")
	o.ACL = "public-read"
	tf.must(&PutObject{Bucket: "b", Object: o})
	snap := tf.must(&CreateSnapshot{Bucket: "b"}).Snapshot.Version
	tf.fork("f", "b")
	if b := tf.bucket("f"); b.Ownership != OwnershipObjectWriter || b.ACL != "public-read" {
		t.Fatalf("fork: ownership %v, ACL %q", b.Ownership, b.ACL)
	}
	if got := tf.acl("f", "k", "", 0); got != "public-read" {
		t.Fatalf("inherited object ACL in the fork: %q", got)
	}
	tf.must(&AnnotateObject{Bucket: "f", Key: "k", SetACL: true, ACL: ""})
	tf.must(&AnnotateObject{Bucket: "b", Key: "k", SetACL: true, ACL: "public-read-write"})
	for _, tc := range []struct {
		bucket string
		at     uint64
		want   string
	}{{"f", 0, ""}, {"b", 0, "public-read-write"}, {"b", snap, "public-read"}} {
		if got := tf.acl(tc.bucket, "k", "", tc.at); got != tc.want {
			t.Errorf("ACL of k in %s at %d: %q, want %q", tc.bucket, tc.at, got, tc.want)
		}
	}
	// Enforcing ownership in the fork leaves the parent alone.
	tf.must(&SetBucketAccess{Bucket: "f", SetOwnership: true, Ownership: OwnershipEnforced, SetACL: true})
	if b := tf.bucket("b"); b.Ownership != OwnershipObjectWriter || b.ACL != "public-read" {
		t.Fatalf("parent after the fork's change: ownership %v, ACL %q", b.Ownership, b.ACL)
	}
}

// Setting the ACL an object already has writes no annotation (s3cmd sets
// the owner-only ACL after every copy).
func TestAnnotateUnchangedWritesNothing(t *testing.T) {
	tf := openTestFSM(t)
	b := tf.createBucket("b")
	tf.put("b", "k", "v")
	tf.must(&AnnotateObject{Bucket: "b", Key: "k", SetACL: true})
	tf.must(&AnnotateObject{Bucket: "b", Key: "k", SetTags: true})
	if n := tf.annotationCount(b.ID); n != 0 {
		t.Fatalf("%d annotations after changes that change nothing", n)
	}
}

// Reads look for annotations only in buckets that may have some: the flag
// in the bucket record, set by the first annotation. A record written
// before the flag existed (format 1) falls back to the annotated marker.
func TestAnnotationFlag(t *testing.T) {
	tf := openTestFSM(t)
	b := tf.createBucket("b")
	tf.put("b", "k", "v")
	flag := func() annotationState {
		return tf.read(func(r *Reader) (any, error) {
			b, err := r.bucketByID(b.ID)
			return b.annotations, err
		}).(annotationState)
	}
	if got := flag(); got != annNone {
		t.Fatalf("new bucket: %v", got)
	}
	tf.must(&AnnotateObject{Bucket: "b", Key: "k", SetTags: true, Tags: map[string]string{"t": "1"}})
	if got := flag(); got != annSome {
		t.Fatalf("annotated bucket: %v", got)
	}
	// The same bucket as an older build wrote it: format 1, and the
	// marker key when it has annotations.
	legacy := func(marker bool) {
		t.Helper()
		e := encoder{}
		e.u8(fmtV1)
		old := *b
		old.Ownership, old.ACL = 0, ""
		encodeBucketFields(&e, &old)
		v := e.b[:len(e.b)-2-4] // no ownership byte, no ACL, no Object Lock
		err := tf.update(func(txn *kvTxn) error {
			if err := txn.Set(keyBucket(b.ID), v); err != nil {
				return err
			}
			if marker {
				return txn.Set(keyAnnotated(b.ID), []byte{fmtV1})
			}
			return txn.Delete(keyAnnotated(b.ID))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	legacy(true)
	if got := tf.tags("b", "k", "", 0); got != "1" {
		t.Fatalf("tags through the marker of a format-1 record: %q", got)
	}
	legacy(false)
	if got := tf.tags("b", "k", "", 0); got != "" {
		t.Fatalf("a format-1 record without the marker has annotations: %q", got)
	}
	// Rewriting the record keeps it unknown; the next annotation sets it.
	tf.must(&SetVersioning{Bucket: "b", Status: VersioningSuspended})
	if got := flag(); got != annUnknown {
		t.Fatalf("rewritten format-1 record: %v", got)
	}
	tf.must(&AnnotateObject{Bucket: "b", Key: "k", SetTags: true, Tags: map[string]string{"t": "2"}})
	if got := flag(); got != annSome || tf.tags("b", "k", "", 0) != "2" {
		t.Fatalf("after an annotation: %v %q", flag(), tf.tags("b", "k", "", 0))
	}
}

// accessRecords counts a bucket's access records.
func (tf *testFSM) accessRecords(id uint64) int {
	tf.t.Helper()
	return tf.read(func(r *Reader) (any, error) {
		n := 0
		it := txnKeysOnly(r.txn, keyBucketAccessPrefix(id))
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return n, nil
	}).(int)
}

// A bucket's access settings as of a version: BucketAt reads the record in
// force at a snapshot, today's settings now, and says when the settings
// of a version were never recorded. A change keeps the record it
// replaces only while a pin needs it; a purge removes them all.
func TestBucketAccessAt(t *testing.T) {
	tf := openTestFSM(t)
	at := func(name string, v uint64) *Bucket {
		t.Helper()
		return tf.read(func(r *Reader) (any, error) { return r.BucketAt(name, v) }).(*Bucket)
	}
	b := tf.must(&CreateBucket{Name: "b", Ownership: OwnershipObjectWriter}).Bucket
	// No pin between creation and the change: the creation record goes.
	tf.must(&SetBucketAccess{Bucket: "b", SetACL: true, ACL: "authenticated-read"})
	if n := tf.accessRecords(b.ID); n != 1 {
		t.Fatalf("%d access records after an unpinned change, want 1", n)
	}
	snap := tf.must(&CreateSnapshot{Bucket: "b"}).Snapshot.Version
	tf.must(&SetBucketAccess{Bucket: "b", SetACL: true, ACL: "public-read"})
	tf.must(&SetBucketAccess{Bucket: "b", SetOwnership: true, Ownership: OwnershipPreferred})
	if n := tf.accessRecords(b.ID); n != 2 {
		t.Fatalf("%d access records, want 2 (the snapshot's and now)", n)
	}
	if got := at("b", snap); got.ACL != "authenticated-read" || got.Ownership != OwnershipObjectWriter || got.AccessUnknown {
		t.Fatalf("at the snapshot: %+v", got)
	}
	if got := at("b", 0); got.ACL != "public-read" || got.Ownership != OwnershipPreferred {
		t.Fatalf("now: %+v", got)
	}
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.BucketAt("b", snap+1) }); !errors.Is(err, ErrNoSuchSnapshot) {
		t.Fatalf("at a version that is no snapshot: %v", err)
	}
	// A bucket without records for its past (created before them).
	tf.must(&CreateBucket{Name: "old"})
	old := tf.bucket("old")
	oldSnap := tf.must(&CreateSnapshot{Bucket: "old"}).Snapshot.Version
	if err := tf.update(func(txn *kvTxn) error { return txn.Delete(keyBucketAccess(old.ID, uint64(old.Created))) }); err != nil {
		t.Fatal(err)
	}
	if got := at("old", oldSnap); !got.AccessUnknown {
		t.Fatalf("a bucket without access records: %+v", got)
	}
	// Deleting the bucket and its snapshot purges its records.
	tf.must(&DeleteSnapshot{Bucket: "b", Version: snap})
	tf.must(&DeleteBucket{Name: "b"})
	tf.must(&GCBucket{Bucket: b.ID, Limit: 100})
	if n := tf.accessRecords(b.ID); n != 0 {
		t.Fatalf("%d access records of a purged bucket", n)
	}
}
