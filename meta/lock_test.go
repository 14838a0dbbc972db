package meta

import (
	"errors"
	"strconv"
	"testing"
)

// Object Lock: every path that removes an object version asks MayRemove
// (lock.go). Time is the commands' stamps: t0 is "now", retention runs
// for an hour, and commands stamped after it see the lock ended.
const (
	lockT0   = uint64(1_800_000_000_000_000_000)
	lockHour = int64(60 * 60 * 1e9)
)

// lockedBucket creates a bucket with Object Lock and puts key k in it,
// retained in mode until t0+1h; it returns the version id.
func (tf *testFSM) lockedPut(bucket, key, body string, mode LockMode, hold bool) string {
	tf.t.Helper()
	o := obj(key, body)
	o.LockMode, o.RetainUntil, o.LegalHold = mode, int64(lockT0)+lockHour, hold
	if mode == LockNone {
		o.RetainUntil = 0
	}
	res := tf.must(&PutObject{Checked: true, Header: Header{Stamp: tf.stamp()}, Bucket: bucket, Object: o})
	return strconv.FormatUint(res.Object.Version, 10)
}

// stamp returns a stamp within the retention hour, after every version so
// far (apply takes max(last+1, stamp) anyway).
func (tf *testFSM) stamp() uint64 {
	return lockT0 + uint64(tf.index)*1000
}

func ceilSecond(ns int64) int64 { return (ns + 1e9 - 1) / 1e9 * 1e9 }

func (tf *testFSM) versionOf(bucket, key, versionID string) (*Object, error) {
	tf.t.Helper()
	v, err := tf.readErr(func(r *Reader) (any, error) { return r.GetObject(bucket, key, versionID, 0) })
	o, _ := v.(*Object)
	return o, err
}

func (tf *testFSM) mustHaveVersion(bucket, key, versionID string) {
	tf.t.Helper()
	if _, err := tf.versionOf(bucket, key, versionID); err != nil {
		tf.t.Fatalf("%s/%s version %s: %v", bucket, key, versionID, err)
	}
}

// CreateBucket with Object Lock (x-amz-bucket-object-lock-enabled) turns
// versioning on for good; PutBucketVersioning Suspended is
// InvalidBucketState.
func TestObjectLockBucket(t *testing.T) {
	tf := openTestFSM(t)
	b := tf.must(&CreateBucket{Name: "b", ObjectLock: true}).Bucket
	if !b.Lock.Enabled || b.Versioning != VersioningEnabled {
		t.Fatalf("bucket %+v", b)
	}
	tf.mustFail(&SetVersioning{Bucket: "b", Status: VersioningSuspended}, ErrInvalidBucketState)
	tf.must(&SetVersioning{Bucket: "b", Status: VersioningEnabled})

	// A default rule: Days or Years, not both, with a mode.
	tf.mustFail(&SetObjectLockConfig{Bucket: "b", Lock: ObjectLock{Enabled: true, Mode: LockGovernance, Days: 1, Years: 1}}, ErrInvalidLockRequest)
	tf.mustFail(&SetObjectLockConfig{Bucket: "b", Lock: ObjectLock{Enabled: true, Mode: LockGovernance}}, ErrInvalidLockRequest)
	tf.mustFail(&SetObjectLockConfig{Bucket: "b", Lock: ObjectLock{Enabled: false}}, ErrInvalidLockRequest)
	tf.must(&SetObjectLockConfig{Bucket: "b", Lock: ObjectLock{Enabled: true, Mode: LockCompliance, Days: 2}})

	// A write the rule retains needs Content-MD5 or a checksum (AWS:
	// InvalidRequest), a copy (no upload) does not.
	tf.mustFail(&PutObject{Bucket: "b", Object: obj("k", "v")}, ErrLockNeedsChecksum)

	// Writes get the default retention, counted from their version.
	o := tf.must(&PutObject{Checked: true, Header: Header{Stamp: lockT0}, Bucket: "b", Object: obj("k", "v")}).Object
	if o.LockMode != LockCompliance || o.RetainUntil != ceilSecond(int64(o.Version)+2*24*lockHour) {
		t.Fatalf("default retention: %+v", o)
	}
	got, err := tf.versionOf("b", "k", "")
	if err != nil || got.LockMode != LockCompliance || got.RetainUntil != o.RetainUntil {
		t.Fatalf("stored lock: %+v %v", got, err)
	}

	// A bucket without Object Lock: lock headers and retention requests
	// are InvalidRequest; enabling it needs versioning.
	tf.createBucket("plain")
	l := obj("k", "v")
	l.LegalHold = true
	tf.mustFail(&PutObject{Bucket: "plain", Object: l}, ErrInvalidLockRequest)
	tf.mustFail(&CreateUpload{Bucket: "plain", UploadID: "u1", Template: l}, ErrInvalidLockRequest)
	tf.put("plain", "k", "v")
	tf.mustFail(&SetObjectLock{Bucket: "plain", Key: "k", SetLegalHold: true, LegalHold: true}, ErrInvalidLockRequest)
	tf.mustFail(&SetObjectLockConfig{Bucket: "plain", Lock: ObjectLock{Enabled: true}}, ErrInvalidBucketState)
	tf.must(&SetVersioning{Bucket: "plain", Status: VersioningEnabled})
	tf.must(&SetObjectLockConfig{Bucket: "plain", Lock: ObjectLock{Enabled: true}})
	tf.mustFail(&SetVersioning{Bucket: "plain", Status: VersioningSuspended}, ErrInvalidBucketState)
}

// DeleteObject and DeleteObjects with a version id: AccessDenied
// (ErrObjectLocked) for a retained or held version; GOVERNANCE gives way
// to a bypass, COMPLIANCE and legal holds do not; after the retention
// date the delete goes ahead.
func TestObjectLockDeleteVersion(t *testing.T) {
	tf := openTestFSM(t)
	tf.must(&CreateBucket{Name: "b", ObjectLock: true})
	gov := tf.lockedPut("b", "gov", "1", LockGovernance, false)
	comp := tf.lockedPut("b", "comp", "2", LockCompliance, false)
	hold := tf.lockedPut("b", "hold", "3", LockNone, true)
	now := Header{Stamp: tf.stamp()}

	for _, c := range []struct{ key, vid string }{{"gov", gov}, {"comp", comp}, {"hold", hold}} {
		tf.mustFail(&DeleteObject{Header: now, Bucket: "b", Key: c.key, VersionID: c.vid}, ErrObjectLocked)
		res := tf.must(&DeleteObjects{Header: now, Bucket: "b", Items: []DeleteItem{{Key: c.key, VersionID: c.vid}}})
		if !errors.Is(res.Deleted[0].Err, ErrObjectLocked) {
			t.Fatalf("DeleteObjects %s: %+v", c.key, res.Deleted[0])
		}
		tf.mustHaveVersion("b", c.key, c.vid)
	}
	// A delete without a version id only writes a marker: allowed, and
	// the locked version stays.
	tf.must(&DeleteObject{Header: now, Bucket: "b", Key: "comp"})
	tf.mustHaveVersion("b", "comp", comp)

	// Bypass: governance goes, compliance and the hold stay.
	tf.mustFail(&DeleteObject{Header: now, Bucket: "b", Key: "comp", VersionID: comp, BypassGovernance: true}, ErrObjectLocked)
	tf.mustFail(&DeleteObject{Header: now, Bucket: "b", Key: "hold", VersionID: hold, BypassGovernance: true}, ErrObjectLocked)
	tf.must(&DeleteObjects{Header: now, Bucket: "b", Items: []DeleteItem{{Key: "gov", VersionID: gov}}, BypassGovernance: true})
	if _, err := tf.versionOf("b", "gov", gov); !errors.Is(err, ErrNoSuchVersion) && !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("bypassed governance version: %v", err)
	}

	// After the retention date the compliance version may go; the hold
	// stays until released.
	later := Header{Stamp: lockT0 + uint64(2*lockHour)}
	tf.must(&DeleteObject{Header: later, Bucket: "b", Key: "comp", VersionID: comp})
	tf.mustFail(&DeleteObject{Header: later, Bucket: "b", Key: "hold", VersionID: hold}, ErrObjectLocked)
	tf.must(&SetObjectLock{Header: later, Bucket: "b", Key: "hold", VersionID: hold, SetLegalHold: true})
	tf.must(&DeleteObject{Header: later, Bucket: "b", Key: "hold", VersionID: hold})
}

// PutObjectRetention: COMPLIANCE can only be extended, even by root (no
// bypass helps); GOVERNANCE can be shortened or removed with a bypass.
func TestObjectLockRetentionChanges(t *testing.T) {
	tf := openTestFSM(t)
	tf.must(&CreateBucket{Name: "b", ObjectLock: true})
	comp := tf.lockedPut("b", "comp", "1", LockCompliance, false)
	gov := tf.lockedPut("b", "gov", "2", LockGovernance, false)
	now := Header{Stamp: tf.stamp()}
	until := int64(lockT0) + lockHour

	for _, c := range []SetObjectLock{
		{Mode: LockCompliance, RetainUntil: until - 1},
		{Mode: LockGovernance, RetainUntil: until + lockHour},
	} {
		c.Header, c.Bucket, c.Key, c.VersionID, c.SetRetention, c.BypassGovernance = now, "b", "comp", comp, true, true
		tf.mustFail(&c, ErrObjectLocked)
	}
	tf.must(&SetObjectLock{Header: now, Bucket: "b", Key: "comp", VersionID: comp, SetRetention: true, Mode: LockCompliance, RetainUntil: until + lockHour})
	if o, _ := tf.versionOf("b", "comp", comp); o.RetainUntil != until+lockHour {
		t.Fatalf("extended: %+v", o)
	}

	tf.mustFail(&SetObjectLock{Header: now, Bucket: "b", Key: "gov", VersionID: gov, SetRetention: true, Mode: LockGovernance, RetainUntil: until - 1}, ErrObjectLocked)
	tf.must(&SetObjectLock{Header: now, Bucket: "b", Key: "gov", VersionID: gov, SetRetention: true, Mode: LockGovernance, RetainUntil: until - 1, BypassGovernance: true})
	tf.must(&SetObjectLock{Header: now, Bucket: "b", Key: "gov", VersionID: gov, SetRetention: true, BypassGovernance: true})
	tf.must(&DeleteObject{Header: now, Bucket: "b", Key: "gov", VersionID: gov})
}

// DeleteBucket refuses a bucket holding a locked version, even when every
// key's latest version is a delete marker (BucketNotEmpty).
func TestObjectLockDeleteBucket(t *testing.T) {
	tf := openTestFSM(t)
	tf.must(&CreateBucket{Name: "b", ObjectLock: true})
	tf.lockedPut("b", "k", "1", LockGovernance, false)
	now := Header{Stamp: tf.stamp()}
	tf.must(&DeleteObject{Header: now, Bucket: "b", Key: "k"})
	tf.mustFail(&DeleteBucket{Header: now, Name: "b"}, ErrBucketNotEmpty)
	tf.must(&DeleteBucket{Header: Header{Stamp: lockT0 + uint64(2*lockHour)}, Name: "b"})
}

// A snapshot delete (and the GC pass it starts) and GC passes keep a
// locked version and its chunks; a governance version deleted with a
// bypass while a snapshot pins it goes with the snapshot.
func TestObjectLockSnapshotDeleteAndGC(t *testing.T) {
	tf := openTestFSM(t)
	tf.must(&CreateBucket{Name: "b", ObjectLock: true})
	o := Object{Key: "k", ETag: etag("k"), Size: 10, Chunks: []Chunk{{ID: "c-locked", Size: 10}}, LockMode: LockCompliance, RetainUntil: int64(lockT0) + lockHour}
	v := strconv.FormatUint(tf.must(&PutObject{Checked: true, Header: Header{Stamp: tf.stamp()}, Bucket: "b", Object: o}).Object.Version, 10)
	g := Object{Key: "g", ETag: etag("g"), Size: 10, Chunks: []Chunk{{ID: "c-gov", Size: 10}}, LockMode: LockGovernance, RetainUntil: int64(lockT0) + lockHour}
	gv := strconv.FormatUint(tf.must(&PutObject{Checked: true, Header: Header{Stamp: tf.stamp()}, Bucket: "b", Object: g}).Object.Version, 10)
	snap := tf.must(&CreateSnapshot{Header: Header{Stamp: tf.stamp()}, Bucket: "b"}).Snapshot.Version
	now := Header{Stamp: tf.stamp()}
	tf.must(&DeleteObject{Header: now, Bucket: "b", Key: "k"})
	tf.must(&DeleteObject{Header: now, Bucket: "b", Key: "g", VersionID: gv, BypassGovernance: true})
	tf.must(&DeleteSnapshot{Header: Header{Stamp: tf.stamp()}, Bucket: "b", Version: snap})
	tf.drainGC()
	tf.mustHaveVersion("b", "k", v)
	if !tf.refs("c-locked") || tf.gcQueue()["c-locked"] {
		t.Fatal("the locked version's chunk lost its reference")
	}
	if tf.refs("c-gov") {
		t.Fatal("the bypassed governance version outlived its snapshot")
	}
}

// A merge with fork-wins never removes a locked version of the parent:
// the fork's version is added on top, the fork's delete adds a marker.
func TestObjectLockMergeForkWins(t *testing.T) {
	tf := openTestFSM(t)
	tf.must(&CreateBucket{Name: "p", ObjectLock: true})
	a := tf.lockedPut("p", "a", "parent-a", LockCompliance, false)
	d := tf.lockedPut("p", "d", "parent-d", LockNone, true)
	tf.must(&CreateBucket{Header: Header{Stamp: tf.stamp()}, Name: "f", ForkSource: "p"})
	// Conflicts: the parent changes a and d after the fork point.
	a2 := tf.lockedPut("p", "a", "parent-a2", LockCompliance, false)
	tf.lockedPut("f", "a", "fork-a", LockNone, false)
	tf.must(&DeleteObject{Header: Header{Stamp: tf.stamp()}, Bucket: "f", Key: "d"})
	tf.lockedPut("p", "d", "parent-d2", LockNone, true)
	rep, err := tf.merge("f", MergeForkWins, true)
	if err != nil || rep.ConflictCount != 2 {
		t.Fatalf("merge: %+v %v", rep, err)
	}
	tf.mustGet("p", "a", 0, "fork-a")
	tf.mustMiss("p", "d", 0)
	for _, c := range []struct{ key, vid string }{{"a", a}, {"a", a2}, {"d", d}} {
		tf.mustHaveVersion("p", c.key, c.vid)
	}
	// The fork's own write carried no lock of its own but the fork has
	// Object Lock from its source (no default rule): the fork held no
	// locked version, so it was deleted.
	if !rep.ForkDeleted {
		t.Fatalf("fork not deleted: %+v", rep)
	}
}

// A fork starts with its source's Object Lock configuration: its own
// writes follow it; its parent's versions stay locked where they live,
// and a retention change of an inherited version is refused. A fork
// holding a locked version of its own is neither deleted by a merge with
// DeleteFork nor by its lease expiry (the lease moves to the end of the
// retention), and DeleteBucket refuses it.
func TestObjectLockForks(t *testing.T) {
	tf := openTestFSM(t)
	tf.must(&CreateBucket{Name: "p", ObjectLock: true})
	tf.must(&SetObjectLockConfig{Bucket: "p", Lock: ObjectLock{Enabled: true, Mode: LockGovernance, Days: 1}})
	pv := tf.lockedPut("p", "k", "parent", LockCompliance, false)
	f := tf.must(&CreateForks{Header: Header{Stamp: tf.stamp()}, Source: "p", Names: []string{"f"}, Expires: 100,
		Keys: []AccessKey{{ID: "KF", Sealed: sealed("KF")}}}).Buckets[0]
	if !f.Lock.Enabled || f.Lock.Mode != LockGovernance || f.Lock.Days != 1 || f.Versioning != VersioningEnabled {
		t.Fatalf("fork %+v", f)
	}
	now := Header{Stamp: tf.stamp()}
	tf.mustFail(&SetObjectLock{Header: now, Bucket: "f", Key: "k", VersionID: pv, SetLegalHold: true, LegalHold: true}, ErrInvalidLockRequest)
	tf.mustFail(&DeleteObject{Header: now, Bucket: "f", Key: "k", VersionID: pv}, ErrNoSuchVersion)
	tf.must(&DeleteObject{Header: now, Bucket: "f", Key: "k"}) // a tombstone in the fork
	tf.mustHaveVersion("p", "k", pv)

	// The fork's own write gets the fork's default retention.
	own := tf.must(&PutObject{Checked: true, Header: Header{Stamp: tf.stamp()}, Bucket: "f", Object: obj("mine", "x")}).Object
	if own.LockMode != LockGovernance || own.RetainUntil != ceilSecond(int64(own.Version)+24*lockHour) {
		t.Fatalf("fork write: %+v", own)
	}
	ownID := strconv.FormatUint(own.Version, 10)
	tf.mustFail(&DeleteBucket{Header: Header{Stamp: tf.stamp()}, Name: "f"}, ErrBucketNotEmpty)

	// Merge with DeleteFork: merged, the fork kept.
	rep, err := tf.merge("f", MergeParentWins, true)
	if err != nil || rep.ForkDeleted {
		t.Fatalf("merge of a fork holding a lock: %+v %v", rep, err)
	}

	// Lease expiry: the fork stays, its lease moved to the retention's end.
	res := tf.must(&ExpireLeases{Header: Header{Stamp: tf.stamp()}, Now: 200})
	if len(res.Buckets) != 0 {
		t.Fatalf("lease expiry deleted a fork holding a lock: %+v", res)
	}
	b := tf.bucket("f")
	if b.Expires != own.RetainUntil {
		t.Fatalf("lease %d, want the retention end %d", b.Expires, own.RetainUntil)
	}
	tf.mustHaveVersion("f", "mine", ownID)
	if _, err := tf.key("KF"); !errors.Is(err, ErrNoSuchAccessKey) {
		t.Fatalf("the fork's key outlived the fork's lease: %v", err)
	}
	// After the retention the fork expires as any other.
	res = tf.must(&ExpireLeases{Header: Header{Stamp: uint64(own.RetainUntil) + 1}, Now: own.RetainUntil + 1})
	if len(res.Buckets) != 1 || res.Buckets[0].Name != "f" {
		t.Fatalf("expiry after the retention: %+v", res)
	}
	tf.drainGC()
	tf.mustHaveVersion("p", "k", pv)
}

// Multipart: the upload's lock headers become the object's lock at
// completion; without any, the bucket's default applies.
func TestObjectLockMultipart(t *testing.T) {
	tf := openTestFSM(t)
	tf.must(&CreateBucket{Name: "b", ObjectLock: true})
	tmpl := Object{Key: "m", LegalHold: true}
	tf.must(&CreateUpload{Header: Header{Stamp: tf.stamp()}, Bucket: "b", UploadID: "u1", Template: tmpl})
	tf.must(&PutPart{Bucket: "b", Key: "m", UploadID: "u1", Part: Part{Number: 1, Size: 1, ETag: `"p1"`}})
	o := tf.must(&CompleteUpload{Header: Header{Stamp: tf.stamp()}, Bucket: "b", UploadID: "u1",
		Parts: []CompletedPart{{1, `"p1"`}}, Object: Object{Key: "m", Size: 1, ETag: `"x-1"`}}).Object
	if !o.LegalHold {
		t.Fatalf("completed object: %+v", o)
	}
	tf.mustFail(&DeleteObject{Header: Header{Stamp: tf.stamp()}, Bucket: "b", Key: "m", VersionID: strconv.FormatUint(o.Version, 10)}, ErrObjectLocked)
}

// MayRemove is the one decision: table of its cases.
func TestMayRemove(t *testing.T) {
	now := uint64(1000)
	for _, c := range []struct {
		name   string
		o      Object
		bypass bool
		ok     bool
	}{
		{"none", Object{}, false, true},
		{"governance", Object{LockMode: LockGovernance, RetainUntil: 1001}, false, false},
		{"governance bypassed", Object{LockMode: LockGovernance, RetainUntil: 1001}, true, true},
		{"compliance bypass", Object{LockMode: LockCompliance, RetainUntil: 1001}, true, false},
		{"compliance ended", Object{LockMode: LockCompliance, RetainUntil: 1000}, false, true},
		{"legal hold", Object{LegalHold: true}, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := MayRemove(&c.o, now, c.bypass)
			if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrObjectLocked)) {
				t.Fatalf("MayRemove = %v", err)
			}
		})
	}
}

// The GC pass is the last line: a bucket deleted while it still held a
// locked version (no command allows that; forced here) keeps the version
// and its chunk, its pass ends instead of running again and again, and a
// pass after the retention removes both and purges the bucket.
func TestObjectLockGCKeepsLockedVersions(t *testing.T) {
	tf := openTestFSM(t)
	b := tf.must(&CreateBucket{Name: "b", ObjectLock: true}).Bucket
	o := Object{Key: "k", ETag: etag("k"), Size: 10, Chunks: []Chunk{{ID: "c-keep", Size: 10}},
		LockMode: LockCompliance, RetainUntil: int64(lockT0) + lockHour}
	tf.must(&PutObject{Checked: true, Header: Header{Stamp: tf.stamp()}, Bucket: "b", Object: o})
	err := tf.update(func(txn *kvTxn) error {
		a := tf.fsm.newApplier(txn, tf.stamp())
		live, err := a.r.liveBucket("b")
		if err != nil {
			return err
		}
		return a.retireBucket(live)
	})
	if err != nil {
		t.Fatal(err)
	}
	tf.drainGC()
	if tf.objectCount(b.ID) != 1 || !tf.refs("c-keep") {
		t.Fatal("GC removed a locked version of a deleted bucket")
	}
	tf.must(&GCBucket{Header: Header{Stamp: lockT0 + uint64(2*lockHour)}, Bucket: b.ID})
	tf.drainGC()
	if tf.objectCount(b.ID) != 0 || tf.refs("c-keep") || !tf.gcQueue()["c-keep"] {
		t.Fatal("the version outlived its retention")
	}
}
