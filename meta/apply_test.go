package meta

import (
	"errors"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// CreateBucket / DeleteBucket: BucketAlreadyExists, NoSuchBucket,
// BucketNotEmpty; a deleted name can be reused.
func TestBucketLifecycle(t *testing.T) {
	tf := openTestFSM(t)
	b := tf.createBucket("a")
	if b.ID != 1 || b.Name != "a" || b.State != BucketLive || b.Created == 0 {
		t.Fatalf("bucket %+v", b)
	}
	tf.mustFail(&CreateBucket{Name: "a"}, ErrBucketExists)
	tf.createBucket("b")
	bs := tf.read(func(r *Reader) (any, error) { return r.Buckets() }).([]Bucket)
	if len(bs) != 2 || bs[0].Name != "a" || bs[1].Name != "b" {
		t.Fatalf("buckets %+v", bs)
	}
	tf.put("a", "k", "v")
	tf.mustFail(&DeleteBucket{Name: "a"}, ErrBucketNotEmpty)
	tf.del("a", "k")
	tf.must(&DeleteBucket{Name: "a"})
	tf.mustFail(&DeleteBucket{Name: "a"}, ErrNoSuchBucket)
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.Bucket("a") }); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("bucket a after delete: %v", err)
	}
	b2 := tf.createBucket("a")
	if b2.ID == b.ID {
		t.Fatal("bucket id reused")
	}
	tf.mustMiss("a", "k", 0)
	// The old bucket had no dependants: it is purged entirely.
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.BucketByID(b.ID) }); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("old bucket still there: %v", err)
	}
}

// PutObject / GetObject on an unversioned bucket: the null version is
// replaced, the old record and its chunks go away.
func TestPutOverwriteUnversioned(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	o1 := tf.putChunks("b", "k", "c1", "c2")
	if !o1.Null || o1.Version == 0 || o1.Inline != nil {
		t.Fatalf("put result %+v", o1)
	}
	tf.putChunks("b", "k", "c3")
	if tf.refs("c1") || tf.refs("c2") || !tf.refs("c3") {
		t.Fatal("refcounts after overwrite")
	}
	q := tf.gcQueue()
	if !q["c1"] || !q["c2"] || q["c3"] {
		t.Fatalf("gc queue %v", q)
	}
	if n := tf.objectCount(1); n != 1 {
		t.Fatalf("%d records, want 1", n)
	}
	tf.del("b", "k")
	if n := tf.objectCount(1); n != 0 {
		t.Fatalf("%d records after delete, want 0 (no marker on a plain bucket)", n)
	}
	if !tf.gcQueue()["c3"] {
		t.Fatal("c3 not queued")
	}
	// DeleteObject of a missing key succeeds (S3).
	tf.del("b", "nope")
}

// GetObject: inline body, metadata round trip, NoSuchKey, NoSuchBucket.
func TestGetObject(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	o := obj("dir/k\x00ey", "hello")
	o.UserMeta = map[string]string{"a": "1", "b": "2"}
	o.Checksum = Checksum{Algorithm: "CRC32C", Type: "FULL_OBJECT", Value: "AAAA"}
	tf.must(&PutObject{Bucket: "b", Object: o})
	got := tf.read(func(r *Reader) (any, error) { return r.GetObject("b", "dir/k\x00ey", "", 0) }).(*Object)
	if string(got.Inline) != "hello" || !reflect.DeepEqual(got.UserMeta, o.UserMeta) || got.Checksum != o.Checksum || got.ContentType != "text/plain" {
		t.Fatalf("got %+v", got)
	}
	tf.mustMiss("b", "other", 0)
	if _, err := tf.get("nob", "k", 0); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatal(err)
	}
	tf.mustFail(&PutObject{Bucket: "nob", Object: obj("k", "v")}, ErrNoSuchBucket)
}

// PutObject conditional writes: If-None-Match "*" (412 when the key
// exists), If-Match (412 on mismatch, 404 NoSuchKey when absent).
func TestPutConditions(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	tf.mustFail(&PutObject{Bucket: "b", Object: obj("k", "v"), IfMatch: "*"}, ErrNoSuchKey)
	tf.must(&PutObject{Bucket: "b", Object: obj("k", "v1"), IfNoneMatch: "*"})
	tf.mustFail(&PutObject{Bucket: "b", Object: obj("k", "v2"), IfNoneMatch: "*"}, ErrPreconditionFailed)
	tf.mustFail(&PutObject{Bucket: "b", Object: obj("k", "v2"), IfMatch: etag("zzz")}, ErrPreconditionFailed)
	tf.must(&PutObject{Bucket: "b", Object: obj("k", "v2"), IfMatch: etag("v1")})
	tf.must(&PutObject{Bucket: "b", Object: obj("k", "v3"), IfMatch: "*"})
	tf.mustGet("b", "k", 0, "v3")
	tf.del("b", "k")
	tf.must(&PutObject{Bucket: "b", Object: obj("k", "v4"), IfNoneMatch: "*"})
	tf.mustFail(&DeleteObject{Bucket: "b", Key: "k", DeleteCondition: DeleteCondition{IfMatch: etag("v1")}}, ErrPreconditionFailed)
	tf.must(&DeleteObject{Bucket: "b", Key: "k", DeleteCondition: DeleteCondition{IfMatch: etag("v4")}})
}

// Versioning Enabled: every PUT is a version, DELETE adds a marker,
// DELETE ?versionId removes one version (and the marker, undeleting).
func TestVersioning(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	tf.put("b", "k", "null")
	tf.must(&SetVersioning{Bucket: "b", Status: VersioningEnabled})
	v1 := tf.put("b", "k", "one")
	v2 := tf.put("b", "k", "two")
	if v1.Null || v2.Null {
		t.Fatal("versioned put wrote a null version")
	}
	tf.mustGet("b", "k", 0, "two")
	d := tf.del("b", "k")
	if !d.DeleteMarker || d.MarkerVersion == 0 || d.VersionID != strconv.FormatUint(d.MarkerVersion, 10) {
		t.Fatalf("delete outcome %+v", d)
	}
	_, err := tf.get("b", "k", 0)
	if !errors.Is(err, ErrNoSuchKey) {
		t.Fatal(err)
	}
	// The marker comes back with NoSuchKey (x-amz-delete-marker).
	v, err := tf.readErr(func(r *Reader) (any, error) { return r.GetObject("b", "k", "", 0) })
	if !errors.Is(err, ErrNoSuchKey) || v == nil || !v.(*Object).DeleteMarker {
		t.Fatalf("latest marker: %v %v", v, err)
	}
	// GET ?versionId of a marker: 405 MethodNotAllowed.
	v, err = tf.readErr(func(r *Reader) (any, error) { return r.GetObject("b", "k", d.VersionID, 0) })
	if !errors.Is(err, ErrMethodNotAllowed) || !v.(*Object).DeleteMarker {
		t.Fatalf("versionId marker: %v %v", v, err)
	}
	for _, c := range []struct{ id, body string }{{VersionID(v1), "one"}, {VersionID(v2), "two"}, {"null", "null"}} {
		o := tf.read(func(r *Reader) (any, error) { return r.GetObject("b", "k", c.id, 0) }).(*Object)
		if string(o.Inline) != c.body {
			t.Fatalf("version %s = %q", c.id, o.Inline)
		}
	}
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.GetObject("b", "k", "x1", 0) }); !errors.Is(err, ErrInvalidVersion) {
		t.Fatal(err)
	}
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.GetObject("b", "k", "12345", 0) }); !errors.Is(err, ErrNoSuchVersion) {
		t.Fatal(err)
	}
	// Removing the marker by version id undeletes.
	out := tf.must(&DeleteObject{Bucket: "b", Key: "k", VersionID: d.VersionID}).Deleted[0]
	if !out.DeleteMarker {
		t.Fatalf("removing a marker: %+v", out)
	}
	tf.mustGet("b", "k", 0, "two")
	tf.must(&DeleteObject{Bucket: "b", Key: "k", VersionID: VersionID(v2)})
	tf.mustGet("b", "k", 0, "one")
	tf.mustFail(&DeleteObject{Bucket: "b", Key: "k", VersionID: VersionID(v2)}, ErrNoSuchVersion)
	tf.mustFail(&DeleteObject{Bucket: "b", Key: "k", VersionID: "bad"}, ErrInvalidVersion)

	vl := tf.read(func(r *Reader) (any, error) { return r.ListVersions("b", VersionListOptions{MaxKeys: 100}) }).(*VersionListResult)
	if len(vl.Versions) != 2 || !vl.Versions[0].IsLatest || vl.Versions[0].Version != v1.Version || !vl.Versions[1].Null {
		t.Fatalf("versions %+v", vl.Versions)
	}

	// Suspended: PUT replaces the null version, keeps real ones.
	tf.must(&SetVersioning{Bucket: "b", Status: VersioningSuspended})
	n2 := tf.put("b", "k", "null2")
	if !n2.Null {
		t.Fatal("suspended put not null")
	}
	vl = tf.read(func(r *Reader) (any, error) { return r.ListVersions("b", VersionListOptions{MaxKeys: 100}) }).(*VersionListResult)
	if len(vl.Versions) != 2 || string(vl.Versions[0].ETag) != etag("null2") || vl.Versions[1].Version != v1.Version {
		t.Fatalf("versions %+v", vl.Versions)
	}
	d = tf.del("b", "k")
	if !d.DeleteMarker || d.VersionID != "null" {
		t.Fatalf("suspended delete %+v", d)
	}
	tf.mustMiss("b", "k", 0)
}

// ListObjectVersions pagination with KeyMarker / VersionIdMarker.
func TestListVersionsPaging(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	tf.must(&SetVersioning{Bucket: "b", Status: VersioningEnabled})
	var want []string
	for _, k := range []string{"a", "b", "c"} {
		for i := 0; i < 3; i++ {
			tf.put("b", k, k+strconv.Itoa(i))
		}
		for i := 2; i >= 0; i-- {
			want = append(want, k+strconv.Itoa(i))
		}
	}
	tf.del("b", "b")
	want = append(want[:3], append([]string{"marker"}, want[3:]...)...)
	for page := 1; page <= 11; page++ {
		var got []string
		km, vm := "", ""
		for {
			res := tf.read(func(r *Reader) (any, error) {
				return r.ListVersions("b", VersionListOptions{KeyMarker: km, VersionIDMarker: vm, MaxKeys: page})
			}).(*VersionListResult)
			for _, v := range res.Versions {
				if v.DeleteMarker {
					got = append(got, "marker")
				} else {
					got = append(got, v.Key+strconv.Itoa(int(v.Size))[:0]+bodyOf(v.ETag))
				}
			}
			if !res.IsTruncated {
				break
			}
			km, vm = res.NextKeyMarker, res.NextVersionIDMarker
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("page %d: got %v, want %v", page, got, want)
		}
	}
}

// bodyOf inverts etag() for the short bodies used in tests.
func bodyOf(e string) string {
	s, _ := strconv.Unquote(e)
	b := make([]byte, len(s)/2)
	for i := range b {
		v, _ := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		b[i] = byte(v)
	}
	if len(b) > 0 {
		return string(b)[1:]
	}
	return ""
}

// DeleteObjects: per-key outcomes in one command.
func TestDeleteObjects(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	tf.must(&SetVersioning{Bucket: "b", Status: VersioningEnabled})
	v := tf.put("b", "x", "1")
	tf.put("b", "y", "2")
	res := tf.must(&DeleteObjects{Bucket: "b", Items: []DeleteItem{
		{Key: "x", VersionID: VersionID(v)}, {Key: "y"}, {Key: "z", VersionID: "bogus"}, {Key: "w", VersionID: "7"},
	}})
	if len(res.Deleted) != 4 {
		t.Fatalf("%+v", res.Deleted)
	}
	if d := res.Deleted[0]; d.Err != nil || d.VersionID != VersionID(v) || d.DeleteMarker {
		t.Fatalf("x: %+v", d)
	}
	if d := res.Deleted[1]; d.Err != nil || !d.DeleteMarker || d.MarkerVersion != res.Version {
		t.Fatalf("y: %+v", d)
	}
	if d := res.Deleted[2]; !errors.Is(d.Err, ErrInvalidVersion) {
		t.Fatalf("z: %+v", d)
	}
	if d := res.Deleted[3]; !errors.Is(d.Err, ErrNoSuchVersion) {
		t.Fatalf("w: %+v", d)
	}
	tf.mustMiss("b", "x", 0)
	tf.mustMiss("b", "y", 0)
}

// Multipart: CreateMultipartUpload, UploadPart (replacing a part),
// CompleteMultipartUpload (InvalidPart, NoSuchUpload), AbortMultipartUpload.
func TestMultipart(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	tmpl := Object{Key: "big", ContentType: "application/x", UserMeta: map[string]string{"m": "v"}}
	tf.must(&CreateUpload{Bucket: "b", UploadID: "u1", Template: tmpl})
	tf.mustFail(&PutPart{Bucket: "b", Key: "big", UploadID: "nope", Part: Part{Number: 1}}, ErrNoSuchUpload)
	part := func(n int, chunk, et string) *Part {
		return tf.must(&PutPart{Bucket: "b", Key: "big", UploadID: "u1", Part: Part{Number: n, Size: 5, ETag: et, Chunks: []Chunk{{ID: chunk, Size: 5}}}}).Part
	}
	part(1, "p1a", `"e1a"`)
	part(1, "p1", `"e1"`) // replaces: p1a loses its reference
	part(2, "p2", `"e2"`)
	part(3, "p3", `"e3"`) // not listed in Complete
	if tf.refs("p1a") || !tf.gcQueue()["p1a"] {
		t.Fatal("replaced part chunk still referenced")
	}
	u := tf.read(func(r *Reader) (any, error) { return r.Upload("b", "big", "u1") }).(*Upload)
	if u.Template.ContentType != "application/x" || u.Template.UserMeta["m"] != "v" {
		t.Fatalf("upload %+v", u)
	}
	ps := tf.read(func(r *Reader) (any, error) { return r.Parts("u1", 1, 1) }).(*PartListResult)
	if len(ps.Parts) != 1 || ps.Parts[0].Number != 2 || !ps.IsTruncated || ps.NextPartNumberMarker != 2 {
		t.Fatalf("parts %+v", ps)
	}
	ul := tf.read(func(r *Reader) (any, error) { return r.Uploads("b", UploadListOptions{MaxUploads: 10}) }).(*UploadListResult)
	if len(ul.Uploads) != 1 || ul.Uploads[0].UploadID != "u1" {
		t.Fatalf("uploads %+v", ul)
	}
	final := Object{Key: "big", ETag: `"x-2"`, Size: 10, Chunks: []Chunk{{ID: "p1", Size: 5}, {ID: "p2", Size: 5}},
		Parts: []PartInfo{{Number: 1, Size: 5, ETag: `"e1"`}, {Number: 2, Size: 5, ETag: `"e2"`}}}
	tf.mustFail(&CompleteUpload{Bucket: "b", UploadID: "u1", Parts: []CompletedPart{{1, `"e1"`}, {2, `"bad"`}}, Object: final}, ErrInvalidPart)
	tf.mustFail(&CompleteUpload{Bucket: "b", UploadID: "u1", Parts: []CompletedPart{{1, `"e1"`}, {4, `"e4"`}}, Object: final}, ErrInvalidPart)
	tf.mustFail(&CompleteUpload{Bucket: "b", UploadID: "zz", Object: final}, ErrNoSuchUpload)
	res := tf.must(&CompleteUpload{Bucket: "b", UploadID: "u1", Parts: []CompletedPart{{1, `"e1"`}, {2, "e2"}}, Object: final})
	if res.Object.ETag != `"x-2"` || len(res.Object.Parts) != 2 {
		t.Fatalf("complete %+v", res.Object)
	}
	if !tf.refs("p1") || !tf.refs("p2") || tf.refs("p3") || !tf.gcQueue()["p3"] {
		t.Fatal("refcounts after complete")
	}
	got := tf.read(func(r *Reader) (any, error) { return r.GetObject("b", "big", "", 0) }).(*Object)
	if len(got.Chunks) != 2 || got.Parts[1].ETag != `"e2"` {
		t.Fatalf("object %+v", got)
	}
	tf.mustFail(&CompleteUpload{Bucket: "b", UploadID: "u1", Object: final}, ErrNoSuchUpload)
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.Parts("u1", 0, 10) }); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatal(err)
	}

	tf.must(&CreateUpload{Bucket: "b", UploadID: "u2", Template: Object{Key: "other"}})
	tf.must(&PutPart{Bucket: "b", Key: "other", UploadID: "u2", Part: Part{Number: 1, Chunks: []Chunk{{ID: "q1"}}}})
	tf.mustFail(&AbortUpload{Bucket: "b", Key: "other", UploadID: "u3"}, ErrNoSuchUpload)
	tf.must(&AbortUpload{Bucket: "b", Key: "other", UploadID: "u2"})
	if tf.refs("q1") {
		t.Fatal("aborted part still referenced")
	}
	// Overwriting the multipart object releases its chunks.
	tf.put("b", "big", "small")
	if tf.refs("p1") || tf.refs("p2") {
		t.Fatal("overwritten multipart chunks still referenced")
	}
}

// CopyObject shares chunks (SharedChunks): refused once the source's data
// has no reference left.
func TestSharedChunks(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	src := tf.putChunks("b", "src", "s1")
	cp := Object{Key: "dst", ETag: src.ETag, Chunks: src.Chunks}
	tf.must(&PutObject{Bucket: "b", Object: cp, SharedChunks: true})
	tf.del("b", "src")
	if !tf.refs("s1") {
		t.Fatal("copy lost its chunk")
	}
	tf.del("b", "dst")
	if tf.refs("s1") {
		t.Fatal("chunk still referenced")
	}
	cp.Key = "dst2"
	tf.mustFail(&PutObject{Bucket: "b", Object: cp, SharedChunks: true}, ErrNoSuchKey)
}

// TrimGC removes queue entries up to a version; GCQueue pages keep a
// version's entries together.
func TestTrimGC(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	tf.putChunks("b", "k", "a", "b", "c")
	tf.del("b", "k")
	tf.putChunks("b", "k", "d")
	r2 := tf.must(&DeleteObject{Bucket: "b", Key: "k"})
	es := tf.read(func(r *Reader) (any, error) { return r.GCQueue(0, 1) }).([]GCEntry)
	if len(es) != 3 {
		t.Fatalf("first page %+v: a version's entries come together", es)
	}
	es2 := tf.read(func(r *Reader) (any, error) { return r.GCQueue(es[0].Version, 10) }).([]GCEntry)
	if len(es2) != 1 || es2[0].ChunkID != "d" || es2[0].Version != r2.Version {
		t.Fatalf("second page %+v", es2)
	}
	tf.must(&TrimGC{UpTo: es[0].Version})
	if q := tf.gcQueue(); len(q) != 1 || !q["d"] {
		t.Fatalf("after trim %v", q)
	}
}

// Request ids: a retried proposal returns the first result, applies once.
func TestRequestDedupe(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	h := Header{RequestID: "req-1"}
	r1 := tf.must(&PutObject{Header: h, Bucket: "b", Object: obj("k", "v1")})
	r2 := tf.must(&PutObject{Header: h, Bucket: "b", Object: obj("k", "v2")})
	if r1.Version != r2.Version || r2.Object.ETag != etag("v1") {
		t.Fatalf("dedupe: %+v vs %+v", r1, r2)
	}
	tf.mustGet("b", "k", 0, "v1")
	h2 := Header{RequestID: "req-2"}
	tf.mustFail(&CreateBucket{Header: h2, Name: "b"}, ErrBucketExists)
	tf.del("b", "k")
	tf.must(&DeleteBucket{Name: "b"})
	tf.mustFail(&CreateBucket{Header: h2, Name: "b"}, ErrBucketExists) // same stored outcome
	// Entries older than the window are pruned by later commands.
	late := dedupeWindow + 10*dedupeWindow
	tf.must(&CreateBucket{Header: Header{Stamp: late}, Name: "c"})
	tf.must(&CreateBucket{Header: Header{Stamp: late + 1}, Name: "d"})
	tf.must(&CreateBucket{Header: h2, Name: "b"})
}

// The dedupe window is two minutes for commands of format 8 and ten for
// older ones: a replica applying a log its predecessors wrote prunes as
// they did, and a newer log keeps ids for as long as a proposer retries
// them (RequestIDLifetime) with room for clock skew.
func TestDedupeWindowByFormat(t *testing.T) {
	if lifetime := uint64(RequestIDLifetime); lifetime+uint64(60e9) >= dedupeWindow {
		t.Fatalf("a request id is proposed for %v: a window of %v leaves less than a minute for clock skew",
			RequestIDLifetime, time.Duration(dedupeWindow))
	}
	format7 := func(c any) []byte { // of a PutObject: without format 9's last two fields
		b := EncodeCommand(c)
		b = b[:len(b)-2]
		b[1] = 7
		return b
	}
	const start = uint64(1e18)
	for _, tc := range []struct {
		name   string
		encode func(any) []byte
		window uint64
	}{
		{"format 8 and later", EncodeCommand, dedupeWindow},
		{"format 7", format7, dedupeWindowBefore8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tf := openTestFSM(t)
			tf.createBucket("b")
			h := Header{RequestID: "first", Stamp: start}
			tf.must(tc.encode(&PutObject{Header: h, Bucket: "b", Object: obj("k", "v1")}))
			// Just inside the window: a retry of "first" is still the
			// first outcome.
			tf.must(tc.encode(&PutObject{Header: Header{RequestID: "in", Stamp: start + tc.window}, Bucket: "b", Object: obj("j", "x")}))
			tf.must(tc.encode(&PutObject{Header: h, Bucket: "b", Object: obj("k", "v2")}))
			tf.mustGet("b", "k", 0, "v1")
			// Past it: "first" is forgotten and applies again.
			tf.must(tc.encode(&PutObject{Header: Header{RequestID: "out", Stamp: start + tc.window + 2}, Bucket: "b", Object: obj("j", "y")}))
			tf.must(tc.encode(&PutObject{Header: h, Bucket: "b", Object: obj("k", "v3")}))
			tf.mustGet("b", "k", 0, "v3")
		})
	}
}

// Versions: max(last+1, stamp), strictly increasing.
func TestVersionStamps(t *testing.T) {
	tf := openTestFSM(t)
	r1 := tf.must(&CreateBucket{Header: Header{Stamp: 1000}, Name: "a"})
	r2 := tf.must(&CreateBucket{Header: Header{Stamp: 500}, Name: "b"})
	r3 := tf.must(&CreateBucket{Header: Header{Stamp: 5000}, Name: "c"})
	if r1.Version != 1000 || r2.Version != 1001 || r3.Version != 5000 {
		t.Fatalf("versions %d %d %d", r1.Version, r2.Version, r3.Version)
	}
}

// Restart: Close + Open returns the applied index and the data.
func TestRestart(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	tf.put("b", "k", "v")
	want := tf.index
	if got := tf.reopen(); got != want {
		t.Fatalf("applied index %d, want %d", got, want)
	}
	tf.mustGet("b", "k", 0, "v")
	tf.put("b", "k2", "v2")
	tf.mustGet("b", "k2", 0, "v2")
}

// A batch larger than one Badger transaction is split, and every entry
// is applied exactly once with its own result.
func TestUpdateTxnTooBig(t *testing.T) {
	tf := openTestFSMWith(t, Options{BadgerMemTableSize: 4 << 20})
	tf.createBucket("b")
	body := string(make([]byte, 60<<10))
	var cmds []any
	for i := 0; i < 40; i++ {
		cmds = append(cmds, &PutObject{Bucket: "b", Object: obj("k"+strconv.Itoa(i), body+strconv.Itoa(i))})
	}
	res := tf.applyBatch(cmds...)
	seen := map[uint64]bool{}
	for i, r := range res {
		dr, err := DecodeResult(r)
		if err != nil || dr.Object == nil || dr.Object.Key != "k"+strconv.Itoa(i) || seen[dr.Version] {
			t.Fatalf("entry %d: %+v %v", i, dr, err)
		}
		seen[dr.Version] = true
	}
	if got := len(tf.listAll("b", 0, 1000)); got != 40 {
		t.Fatalf("%d objects", got)
	}
	if got := tf.reopen(); got != tf.index {
		t.Fatalf("applied index %d", got)
	}
}

// An unknown op in Apply is a broken invariant: panic.
func TestUnknownOpPanics(t *testing.T) {
	tf := openTestFSM(t)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	tf.index++
	tf.fsm.Update([]sm.Entry{{Index: tf.index, Cmd: []byte{200, 1}}})
}
