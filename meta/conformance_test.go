package meta

import (
	"errors"
	"fmt"
	"testing"
)

// completeFixture starts an upload of key in bucket with two parts.
func completeFixture(tf *testFSM, bucket, key, uploadID string) ([]CompletedPart, Object) {
	tf.t.Helper()
	tf.must(&CreateUpload{Bucket: bucket, UploadID: uploadID, Template: Object{Key: key}})
	for i, et := range []string{`"e1"`, `"e2"`} {
		tf.must(&PutPart{Bucket: bucket, Key: key, UploadID: uploadID,
			Part: Part{Number: i + 1, Size: 5, ETag: et, Chunks: []Chunk{{ID: uploadID + et, Size: 5}}}})
	}
	parts := []CompletedPart{{1, `"e1"`}, {2, `"e2"`}}
	final := Object{Key: key, ETag: `"x-2"`, Size: 10,
		Chunks: []Chunk{{ID: uploadID + `"e1"`, Size: 5}, {ID: uploadID + `"e2"`, Size: 5}},
		Parts:  []PartInfo{{Number: 1, Size: 5, ETag: `"e1"`}, {Number: 2, Size: 5, ETag: `"e2"`}}}
	return parts, final
}

// CompleteMultipartUpload retried after it succeeded (its answer lost)
// answers the same object while the completion is remembered; a different
// part list, key or bucket is NoSuchUpload; so is a retry after the window.
func TestCompleteRetry(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	parts, final := completeFixture(tf, "b", "k", "u1")
	first := tf.must(&CompleteUpload{Bucket: "b", UploadID: "u1", Parts: parts, Object: final}).Object
	again := tf.must(&CompleteUpload{Bucket: "b", UploadID: "u1", Parts: parts, Object: final}).Object
	if again.ETag != first.ETag || again.Version != first.Version || again.Key != "k" {
		t.Fatalf("retry answered %+v, first %+v", again, first)
	}
	got := tf.read(func(r *Reader) (any, error) { return r.CompletedUpload("b", "k", "u1", parts) }).(*Object)
	if got.ETag != first.ETag || got.Version != first.Version {
		t.Fatalf("CompletedUpload %+v", got)
	}
	// The retry wrote nothing: one version, chunks referenced once.
	if n := tf.objectCount(1); n != 1 {
		t.Fatalf("%d versions after the retry", n)
	}
	tf.mustFail(&CompleteUpload{Bucket: "b", UploadID: "u1", Parts: parts[:1], Object: final}, ErrNoSuchUpload)
	other := final
	other.Key = "other"
	tf.mustFail(&CompleteUpload{Bucket: "b", UploadID: "u1", Parts: parts, Object: other}, ErrNoSuchUpload)
	tf.createBucket("c")
	tf.mustFail(&CompleteUpload{Bucket: "c", UploadID: "u1", Parts: parts, Object: final}, ErrNoSuchUpload)

	// In a fork: the record belongs to the fork's upload.
	tf.fork("f", "b")
	fparts, ffinal := completeFixture(tf, "f", "k", "u2")
	fo := tf.must(&CompleteUpload{Bucket: "f", UploadID: "u2", Parts: fparts, Object: ffinal}).Object
	if again := tf.must(&CompleteUpload{Bucket: "f", UploadID: "u2", Parts: fparts, Object: ffinal}).Object; again.Version != fo.Version {
		t.Fatalf("fork retry %+v, first %+v", again, fo)
	}
	tf.mustFail(&CompleteUpload{Bucket: "b", UploadID: "u2", Parts: fparts, Object: ffinal}, ErrNoSuchUpload)

	// After the window the record is gone.
	late := &CreateBucket{Name: "late", Header: Header{Stamp: fo.Version + completedWindow + 1}}
	tf.must(late)
	tf.mustFail(&CompleteUpload{Bucket: "b", UploadID: "u1", Parts: parts, Object: final}, ErrNoSuchUpload)
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.CompletedUpload("f", "k", "u2", fparts) }); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("CompletedUpload after the window: %v", err)
	}
}

// DeleteBucket of a bucket whose only content is in-progress uploads
// deletes it and aborts them (S3): their parts' chunks lose their
// references, past the inline budget too, and the name is free at once.
func TestDeleteBucketAbortsUploads(t *testing.T) {
	tf := openTestFSM(t)
	b := tf.createBucket("b")
	n := inlineGCLimit/2 + 10 // more uploads and parts than one inline step drops
	var chunks []string
	for i := 0; i < n; i++ {
		id := "u" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		tf.must(&CreateUpload{Bucket: "b", UploadID: id, Template: Object{Key: "k" + id}})
		for p := 1; p <= 2; p++ {
			c := id + string(rune('0'+p))
			chunks = append(chunks, c)
			tf.must(&PutPart{Bucket: "b", Key: "k" + id, UploadID: id, Part: Part{Number: p, Chunks: []Chunk{{ID: c}}}})
		}
	}
	tf.must(&DeleteBucket{Name: "b"})
	tf.mustFail(&PutPart{Bucket: "b", Key: "kua", UploadID: "uaa", Part: Part{Number: 1}}, ErrNoSuchBucket)
	tf.createBucket("b") // the name is free
	tf.drainGC()
	for _, c := range chunks {
		if tf.refs(c) || !tf.gcQueue()[c] {
			t.Fatalf("chunk %s of an aborted upload: referenced %v, queued %v", c, tf.refs(c), tf.gcQueue()[c])
		}
	}
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.BucketByID(b.ID) }); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("deleted bucket not purged: %v", err)
	}
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.Parts("uaa", 0, 10) }); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("parts of an aborted upload: %v", err)
	}
}

// Conditional deletes (DeleteObject and per item in DeleteObjects) are
// evaluated in apply against the current version, read through a fork's
// parent: If-Match (ETag or *), last-modified time and size.
func TestConditionalDelete(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	o := tf.put("b", "k", "v1")
	del := func(bucket, key string, c DeleteCondition) (*Result, error) {
		return tf.apply(&DeleteObject{Bucket: bucket, Key: key, DeleteCondition: c})
	}
	for _, c := range []DeleteCondition{
		{IfMatch: etag("other")},
		{ModifiedFrom: o.LastModified + 1, ModifiedTo: o.LastModified + 2},
		{Size: o.Size + 1, HasSize: true},
		{IfMatch: o.ETag, Size: o.Size + 1, HasSize: true},
	} {
		if _, err := del("b", "k", c); !errors.Is(err, ErrPreconditionFailed) {
			t.Fatalf("%+v: %v", c, err)
		}
	}
	tf.mustGet("b", "k", 0, "v1")
	// If-Match on an absent key is NoSuchKey; size and time alone let the
	// delete of an absent key succeed.
	if _, err := del("b", "absent", DeleteCondition{IfMatch: "*"}); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("If-Match * on an absent key: %v", err)
	}
	if _, err := del("b", "absent", DeleteCondition{Size: 1, HasSize: true}); err != nil {
		t.Fatalf("size condition on an absent key: %v", err)
	}
	// In a fork the condition sees the inherited object.
	tf.fork("f", "b")
	if _, err := del("f", "k", DeleteCondition{IfMatch: etag("other")}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("fork, wrong ETag: %v", err)
	}
	if _, err := del("f", "k", DeleteCondition{IfMatch: o.ETag, ModifiedFrom: o.LastModified, ModifiedTo: o.LastModified + 1, Size: o.Size, HasSize: true}); err != nil {
		t.Fatalf("fork, matching conditions: %v", err)
	}
	tf.mustMiss("f", "k", 0)
	tf.mustGet("b", "k", 0, "v1")
	if _, err := del("f", "k", DeleteCondition{IfMatch: "*"}); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("fork, If-Match * after the delete: %v", err)
	}
	// DeleteObjects: a failed condition fails only its item.
	tf.put("b", "j", "vj")
	res := tf.must(&DeleteObjects{Bucket: "b", Items: []DeleteItem{
		{Key: "k", DeleteCondition: DeleteCondition{IfMatch: etag("other")}},
		{Key: "j", DeleteCondition: DeleteCondition{IfMatch: etag("vj")}},
		{Key: "absent", DeleteCondition: DeleteCondition{IfMatch: "*"}},
	}})
	if !errors.Is(res.Deleted[0].Err, ErrPreconditionFailed) || res.Deleted[1].Err != nil || !errors.Is(res.Deleted[2].Err, ErrNoSuchKey) {
		t.Fatalf("DeleteObjects outcomes %+v", res.Deleted)
	}
	tf.mustGet("b", "k", 0, "v1")
	tf.mustMiss("b", "j", 0)
}

// Concurrent creators with If-None-Match: * on one key: exactly one wins,
// whatever order the proposals are applied in, within one batch too.
func TestIfNoneMatchOneWinner(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	tf.fork("f", "b")
	var cmds []any
	for i := 0; i < 8; i++ {
		cmds = append(cmds, &PutObject{Bucket: "f", Object: obj("lock", fmt.Sprint("owner", i)), IfNoneMatch: "*"})
	}
	wins := 0
	for _, r := range tf.applyBatch(cmds...) {
		if _, err := DecodeResult(r); err == nil {
			wins++
		} else if !errors.Is(err, ErrPreconditionFailed) {
			t.Fatal(err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers won", wins)
	}
	// An object inherited from the parent counts as existing in the fork.
	tf.put("b", "base", "x")
	tf.fork("g", "b")
	tf.mustFail(&PutObject{Bucket: "g", Object: obj("base", "y"), IfNoneMatch: "*"}, ErrPreconditionFailed)
	tf.mustFail(&PutObject{Bucket: "g", Object: obj("base", "y"), IfNoneMatch: etag("x")}, ErrPreconditionFailed)
	tf.must(&PutObject{Bucket: "g", Object: obj("base", "y"), IfNoneMatch: etag("other")})
}

// annotationCount counts the annotation records of a bucket.
func (tf *testFSM) annotationCount(bucket uint64) int {
	tf.t.Helper()
	return tf.read(func(r *Reader) (any, error) {
		n := 0
		it := txnKeysOnly(r.txn, keyAnnotationBucket(bucket))
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return n, nil
	}).(int)
}

func (tf *testFSM) tags(bucket, key, versionID string, at uint64) string {
	tf.t.Helper()
	o := tf.read(func(r *Reader) (any, error) { return r.GetObject(bucket, key, versionID, at) }).(*Object)
	return o.Tags["t"]
}

// PutObjectTagging after the write: a snapshot keeps the tags it saw, a
// fork reads its parent's tags as of its base and keeps its own changes;
// replaced annotations no pin needs are removed at once, the others once
// their pins are gone, and with the version they annotate.
func TestAnnotationsRetention(t *testing.T) {
	tf := openTestFSM(t)
	b := tf.createBucket("b")
	o := tf.put("b", "k", "v")
	tag := func(bucket, v string) {
		tf.must(&AnnotateObject{Bucket: bucket, Key: "k", SetTags: true, Tags: map[string]string{"t": v}})
	}
	tag("b", "1")
	tag("b", "2")
	if n := tf.annotationCount(b.ID); n != 1 {
		t.Fatalf("%d annotations after two changes without pins", n)
	}
	snap := tf.must(&CreateSnapshot{Bucket: "b"}).Snapshot.Version
	f := tf.fork("f", "b")
	tag("b", "3")
	tag("f", "f1")
	tag("b", "4")
	if got := tf.tags("b", "k", "", snap); got != "2" {
		t.Fatalf("tags at the snapshot: %q", got)
	}
	if got := tf.tags("b", "k", "", 0); got != "4" {
		t.Fatalf("latest tags: %q", got)
	}
	if got := tf.tags("f", "k", "", 0); got != "f1" {
		t.Fatalf("fork tags: %q", got)
	}
	if got := tf.tags("b", "k", VersionID(o), 0); got != "4" {
		t.Fatalf("tags by version id: %q", got)
	}
	// b keeps "2" (snapshot and fork base) and "4"; "3" went at once.
	if n := tf.annotationCount(b.ID); n != 2 {
		t.Fatalf("%d annotations in b, want 2", n)
	}
	// DeleteObjectTagging is an empty tag set, not a return to the tags
	// the version was written with.
	tf.must(&AnnotateObject{Bucket: "f", Key: "k", SetTags: true})
	if got := tf.tags("f", "k", "", 0); got != "" {
		t.Fatalf("fork tags after delete: %q", got)
	}
	// With its pins gone, "2" goes in the GC pass.
	tf.must(&DeleteSnapshot{Bucket: "b", Version: snap})
	tf.must(&DeleteBucket{Name: "f"})
	tf.drainGC()
	if n := tf.annotationCount(b.ID); n != 1 {
		t.Fatalf("%d annotations in b after its pins went, want 1", n)
	}
	if n := tf.annotationCount(f.ID); n != 0 {
		t.Fatalf("%d annotations of the deleted fork", n)
	}
	// Overwriting the object removes the old version and its annotations.
	tf.put("b", "k", "v2")
	if n := tf.annotationCount(b.ID); n != 0 {
		t.Fatalf("%d annotations after the version went", n)
	}
	tf.mustFail(&AnnotateObject{Bucket: "b", Key: "absent", SetTags: true}, ErrNoSuchKey)
	tf.mustFail(&AnnotateObject{Bucket: "b", Key: "k", VersionID: "12345", SetTags: true}, ErrNoSuchVersion)
}
