package meta

import (
	"errors"
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
