package meta

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
)

func sampleObject() Object {
	return Object{
		Key: "a/b\x00c", Version: 7, Null: true, DeletedAt: 9, Size: 12, ETag: `"abc-2"`, LastModified: 1234,
		Checksum:    Checksum{Algorithm: "SHA256", Type: "COMPOSITE", Value: "xyz-2"},
		ContentType: "text/plain", CacheControl: "no-cache", ContentDisposition: "inline", ContentEncoding: "gzip",
		ContentLanguage: "en", Expires: "soon", UserMeta: map[string]string{"z": "1", "a": "2"}, Tags: map[string]string{"project": "x", "a b": "c+d"},
		Inline: []byte("hello"), Chunks: []Chunk{{ID: "c1", Size: 5, CRC32C: 42}},
		Parts:    []PartInfo{{Number: 1, Size: 5, ETag: `"p"`, Checksum: "cs"}},
		ACL:      "public-read",
		LockMode: LockGovernance, RetainUntil: 1234, LegalHold: true,
		SSE: SSE{Algorithm: SSECustomer, SealedKey: []byte{1, 2, 3}, CustomerKeyMD5: "md5==", StoredSize: 33},
	}
}

// Object records of format 1 (written before objects had an ACL) still
// decode, with no ACL.
func TestDecodeObjectRecordFormat1(t *testing.T) {
	o := sampleObject()
	o.ACL = ""
	o.LockMode, o.RetainUntil, o.LegalHold = LockNone, 0, false
	o.SSE = SSE{}
	v2 := encodeObjectRecord(&o)
	v1 := append([]byte{fmtV1}, v2[1:len(v2)-4-5]...) // no trailing ACL, no lock (mode, date, hold), no SSE
	got, err := decodeObjectRecord(o.Key, o.Version, v1, true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, o) {
		t.Fatalf("got %+v\nwant %+v", *got, o)
	}
}

// Object records of format 5 (written before server-side encryption)
// still decode, as plaintext; records of format 6 round-trip with their
// encryption.
func TestDecodeObjectRecordFormat5(t *testing.T) {
	o := sampleObject()
	v6 := encodeObjectRecord(&o)
	if v6[0] != fmtV6 {
		t.Fatalf("object records are written in format %d", v6[0])
	}
	got, err := decodeObjectRecord(o.Key, o.Version, v6, true)
	if err != nil {
		t.Fatal(err)
	}
	want := o
	want.Null, want.DeletedAt = true, 9
	if !reflect.DeepEqual(got.SSE, o.SSE) || !reflect.DeepEqual(got.Inline, o.Inline) {
		t.Fatalf("format 6 SSE: got %+v want %+v", got.SSE, o.SSE)
	}
	o.SSE = SSE{}
	plain := encodeObjectRecord(&o)
	v5 := append([]byte{fmtV5}, plain[1:len(plain)-5]...) // no trailing SSE fields
	got, err = decodeObjectRecord(o.Key, o.Version, v5, true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, o) {
		t.Fatalf("format 5: got %+v\nwant %+v", *got, o)
	}
	// A format 6 command round-trips SSE (TestCommandRoundTrip); one of
	// format 6 (before SSE) decodes as plaintext.
	o = sampleObject()
	o.SSE = SSE{}
	b := EncodeCommand(&PutObject{Header: Header{RequestID: "r"}, Bucket: "b", Object: o, Checked: true})
	if b[1] != cmdFormat || cmdFormat != 9 {
		t.Fatalf("command format %d", b[1])
	}
	// PutObject's body ends with the object, then IfMatch, IfNoneMatch,
	// SharedChunks and Checked (4 bytes here), then (format 9)
	// CheckDefault and DefaultAssumed (2 bytes). One of format 8 decodes
	// without the check.
	c8, err := DecodeCommand(append([]byte{b[0], 8}, b[2:len(b)-2]...))
	if err != nil {
		t.Fatal(err)
	}
	if p := c8.(*PutObject); p.CheckDefault || !reflect.DeepEqual(p.Object, o) || !p.Checked {
		t.Fatalf("format 8 PutObject: %+v", p)
	}
	// Format 6: cut the 5 SSE bytes before those 4.
	old := append([]byte{}, b[:len(b)-2-4-5]...)
	old = append(old, b[len(b)-2-4:len(b)-2]...)
	old[1] = 6
	c, err := DecodeCommand(old)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.(*PutObject); !reflect.DeepEqual(p.Object, o) {
		t.Fatalf("format 6 PutObject: got %+v\nwant %+v", p.Object, o)
	}
}

// sampleCommands has one of every command, with every field set.
func sampleCommands() []any {
	h := Header{RequestID: "rid", Stamp: 99}
	o := sampleObject()
	return []any{
		&CreateBucket{Header: h, Name: "b", Region: "r", ForkSource: "s", ForkVersion: 3, ForkSnapshotName: "n", MaxForkDepth: 4,
			Ownership: OwnershipPreferred, ACL: "public-read", ObjectLock: true},
		&DeleteBucket{Header: h, Name: "b"},
		&CreateSnapshot{Header: h, Bucket: "b", Name: "n"},
		&DeleteSnapshot{Header: h, Bucket: "b", Version: 5},
		&SetVersioning{Header: h, Bucket: "b", Status: VersioningSuspended},
		&PutObject{Header: h, Bucket: "b", Object: o, IfMatch: "*", IfNoneMatch: `"e"`, SharedChunks: true, Checked: true},
		&PutObject{Header: h, Bucket: "b", Object: o, Checked: true, CheckDefault: true, DefaultAssumed: SSEAES256},
		&DeleteObject{Header: h, Bucket: "b", Key: "k", VersionID: "null", DeleteCondition: DeleteCondition{IfMatch: `"e"`, ModifiedFrom: 5, ModifiedTo: 9, Size: 3, HasSize: true}, BypassGovernance: true},
		&DeleteObjects{Header: h, Bucket: "b", Items: []DeleteItem{{Key: "k", VersionID: "1"}, {Key: "j", DeleteCondition: DeleteCondition{IfMatch: "*", HasSize: true}}}, BypassGovernance: true},
		&CreateUpload{Header: h, Bucket: "b", UploadID: "u", Template: o},
		&PutPart{Header: h, Bucket: "b", Key: "k", UploadID: "u", Part: Part{Number: 2, Size: 3, ETag: `"e"`, Checksum: "c", LastModified: 8, Chunks: o.Chunks}},
		&CompleteUpload{Header: h, Bucket: "b", UploadID: "u", Parts: []CompletedPart{{1, `"a"`}, {2, `"b"`}}, Object: o, IfMatch: "x", IfNoneMatch: "y"},
		&AbortUpload{Header: h, Bucket: "b", Key: "k", UploadID: "u"},
		&TrimGC{Header: h, UpTo: 77},
		&GCBucket{Header: h, Bucket: 3, Limit: 10},
		&AnnotateObject{Header: h, Bucket: "b", Key: "k", VersionID: "7", SetTags: true, Tags: map[string]string{"a": "b"}, SetACL: true, ACL: "public-read"},
		&CreateKey{Header: h, Key: AccessKey{ID: "AK", Sealed: []byte{1, 2}, Buckets: []KeyBucket{{ID: 3, Name: "b"}},
			Prefix: "p/", ReadOnly: true, Created: 5, Expires: 6, AllowForks: true, ForkPrefix: "b-"}},
		&DeleteKey{Header: h, ID: "AK"},
		&ResealKeys{Header: h, Items: []Reseal{{ID: "AK", Old: []byte{1}, New: []byte{2, 3}}}},
		&CreateForks{Header: h, Source: "s", ForkVersion: 3, ForkSnapshotName: "n", Region: "r", Names: []string{"a", "b"},
			Keys: []AccessKey{{ID: "K1", Sealed: []byte{1}}, {ID: "K2", Sealed: []byte{2}}}, Grant: "G", Expires: 9, MaxForkDepth: 4},
		&RenewLease{Header: h, Bucket: "b", Expires: 10, Now: 8},
		&ExpireLeases{Header: h, Now: 11},
		&MergeFork{Header: h, Fork: "f", Strategy: MergeParentWins, DeleteFork: true},
		&MergeContinue{Header: h, Fork: "f"},
		&SetBucketAccess{Header: h, Bucket: "b", SetOwnership: true, Ownership: OwnershipNone, SetACL: true, ACL: "public-read-write"},
		&SetBucketCORS{Header: h, Bucket: "b", Rules: []CORSRule{{ID: "r", AllowedOrigins: []string{"https://*.example.com"},
			AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: 300}}},
		&SetBucketEncryption{Header: h, Bucket: "b", Algorithm: SSEAES256, BucketKey: true},
		&SetObjectLockConfig{Header: h, Bucket: "b", Lock: ObjectLock{Enabled: true, Mode: LockCompliance, Days: 3, Years: 1}},
		&SetObjectLock{Header: h, Bucket: "b", Key: "k", VersionID: "7", SetRetention: true, Mode: LockGovernance, RetainUntil: 55,
			SetLegalHold: true, LegalHold: true, BypassGovernance: true},
		&SetBucketConfig{Header: h, Bucket: "b", SetPolicy: true, Policy: "{}", PolicyPublic: true, SetPAB: true,
			PAB: PABConfigured | PABIgnorePublicAcls, SetTags: true, Tags: map[string]string{"k": "v"}},
		&CreateUser{Header: h, Name: "alice", ID: "c1", DisplayName: "Alice", Key: AccessKey{ID: "K", Sealed: []byte{1}, AllowForks: true, ForkPrefix: "p"}},
		&CreateUser{Header: h, Name: "bob", ID: "c2", DisplayName: "Bob", Key: AccessKey{ID: "KB", Sealed: []byte{1}}, Email: "bob@example.com"},
		&DeleteUser{Header: h, Name: "alice", Force: true},
		&RotateUserKey{Header: h, Name: "alice", Key: AccessKey{ID: "K2", Sealed: []byte{2}}},
		&CreateUserKey{Header: h, User: "alice", Key: AccessKey{ID: "K3", Sealed: []byte{3}, Buckets: []KeyBucket{{Name: "b"}}, Prefix: "x/"}},
		&CreateOwnedBucket{Header: h, Owner: "alice", Bucket: CreateBucket{Header: h, Name: "b", Region: "r", ForkSource: "s",
			ForkVersion: 4, ForkSnapshotName: "n", MaxForkDepth: 3, Ownership: OwnershipObjectWriter, ACL: "public-read"}},
	}
}

// Commands of format 3 (before buckets had access settings) still decode:
// a CreateBucket of an older log makes a bucket with ACLs disabled.
func TestDecodeCommandFormat3(t *testing.T) {
	e := encoder{}
	e.u8(opCreateBucket)
	e.u8(3)
	e.str("rid")
	e.uvarint(7)
	e.str("b")
	e.str("r")
	e.str("")
	e.uvarint(0)
	e.str("")
	e.int(0)
	got, err := DecodeCommand(e.b)
	want := &CreateBucket{Header: Header{RequestID: "rid", Stamp: 7}, Name: "b", Region: "r"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("format 3 CreateBucket: %+v %v", got, err)
	}
}

// Bucket records of format 1 (written before buckets had access settings)
// still decode, as buckets with ACLs disabled and a private ACL; records
// of the current format round-trip with their ownership and ACL.
func TestDecodeBucketRecordFormats(t *testing.T) {
	b := Bucket{ID: 3, Name: "b", Region: "r", Created: 5, Versioning: VersioningSuspended, Parent: &Parent{1, 2}, State: BucketRetained}
	e := encoder{}
	e.u8(fmtV1)
	e.uvarint(b.ID)
	e.str(b.Name)
	e.str(b.Region)
	e.varint(b.Created)
	e.u8(byte(b.Versioning))
	e.boolean(true)
	e.uvarint(1)
	e.uvarint(2)
	e.u8(byte(b.State))
	got, err := decodeBucketRecord(e.b)
	if err != nil || !reflect.DeepEqual(*got, b) || got.Ownership != OwnershipEnforced || got.ACL != "" {
		t.Fatalf("format 1 bucket record: %+v %v", got, err)
	}
	b.Ownership, b.ACL = OwnershipObjectWriter, "public-read"
	b.Lock = ObjectLock{Enabled: true, Mode: LockCompliance, Years: 2}
	v := encodeBucketRecord(&b)
	if v[0] != fmtV5 {
		t.Fatalf("bucket records are written in format %d", v[0])
	}
	got, err = decodeBucketRecord(v)
	if err != nil || !reflect.DeepEqual(*got, b) {
		t.Fatalf("bucket record round trip: %+v %v", got, err)
	}
}

// Commands of format 1 (written before conditional deletes) still decode:
// a Raft log written by an older build replays.
func TestDecodeCommandFormat1(t *testing.T) {
	e := encoder{}
	e.u8(opDeleteObject)
	e.u8(1)
	e.str("rid")
	e.uvarint(7)
	e.str("b")
	e.str("k")
	e.str("")
	e.str(`"e"`)
	got, err := DecodeCommand(e.b)
	want := &DeleteObject{Header: Header{RequestID: "rid", Stamp: 7}, Bucket: "b", Key: "k", DeleteCondition: DeleteCondition{IfMatch: `"e"`}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("format 1 DeleteObject: %+v %v", got, err)
	}
	e = encoder{}
	e.u8(opDeleteObjects)
	e.u8(1)
	e.str("rid")
	e.uvarint(7)
	e.str("b")
	e.uvarint(1)
	e.str("k")
	e.str("1")
	got, err = DecodeCommand(e.b)
	wantMany := &DeleteObjects{Header: Header{RequestID: "rid", Stamp: 7}, Bucket: "b", Items: []DeleteItem{{Key: "k", VersionID: "1"}}}
	if err != nil || !reflect.DeepEqual(got, wantMany) {
		t.Fatalf("format 1 DeleteObjects: %+v %v", got, err)
	}
}

func TestCommandRoundTrip(t *testing.T) {
	for _, c := range sampleCommands() {
		t.Run(fmt.Sprintf("%T", c), func(t *testing.T) {
			b := EncodeCommand(c)
			got, err := DecodeCommand(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Fatalf("got %+v\nwant %+v", got, c)
			}
			// Values encode like pointers.
			if v := reflect.ValueOf(c).Elem().Interface(); !bytes.Equal(EncodeCommand(v), b) {
				t.Fatal("value and pointer encodings differ")
			}
			// Every strict prefix is an error, never a panic.
			for i := 0; i < len(b); i++ {
				if _, err := DecodeCommand(b[:i]); err == nil {
					t.Fatalf("prefix %d decoded", i)
				}
			}
		})
	}
}

// Map order must not change the bytes (replicas must write the same).
func TestObjectEncodingDeterministic(t *testing.T) {
	o := sampleObject()
	for i := 0; i < 20; i++ {
		o.UserMeta[fmt.Sprint("k", i)] = "v"
	}
	first := encodeObjectRecord(&o)
	for i := 0; i < 20; i++ {
		if !bytes.Equal(encodeObjectRecord(&o), first) {
			t.Fatal("encoding depends on map order")
		}
	}
	got, err := decodeObjectRecord(o.Key, o.Version, first, true)
	if err != nil || !reflect.DeepEqual(*got, o) {
		t.Fatalf("record round trip: %v\n%+v\n%+v", err, got, o)
	}
}

func TestResultRoundTrip(t *testing.T) {
	o := sampleObject()
	r := &Result{
		Version: 5,
		Bucket: &Bucket{ID: 1, Name: "b", Region: "r", Created: 3, Versioning: VersioningEnabled, Parent: &Parent{2, 3},
			Ownership: OwnershipObjectWriter, ACL: "public-read", ParentName: "p", IsForkParent: true},
		Object: &o, Snapshot: &Snapshot{BucketID: 1, Version: 2, Name: "s", Created: 2},
		Part:    &Part{Number: 1, Chunks: o.Chunks},
		Deleted: []DeleteOutcome{{Key: "k", VersionID: "1", DeleteMarker: true, MarkerVersion: 4}, {Key: "j", Err: ErrNoSuchVersion}},
		More:    true,
		Buckets: []Bucket{{ID: 4, Name: "f", Parent: &Parent{1, 2}, ParentName: "b", Expires: 77}},
		Keys:    []AccessKey{{ID: "AK", Buckets: []KeyBucket{{ID: 4, Name: "f"}}, Created: 3}},
		Merge: &MergeReport{Fork: "f", Parent: "b", ParentID: 1, Base: 2, Since: 3, Puts: 4, Deletes: 5, Kept: 6,
			ConflictCount: 7, Conflicts: []string{"a", "b"}, ForkDeleted: true, DryRun: true},
	}
	r.Bucket.Expires = 12
	got, err := DecodeResult(sm.Result{Value: codeOK, Data: encodeResult(r)})
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("%v\n%+v\n%+v", err, got, r)
	}
	got, err = DecodeResult(sm.Result{Value: codePreconditionFailed, Data: encodeResult(&Result{Version: 9})})
	if !errors.Is(err, ErrPreconditionFailed) || got.Version != 9 {
		t.Fatal(got, err)
	}
	if _, err := DecodeResult(sm.Result{Value: 9999}); !errors.Is(err, ErrCorrupt) {
		t.Fatal(err)
	}
	// A code inside a range with no sentinel assigned is corrupt, never OK.
	if _, err := DecodeResult(sm.Result{Value: 39}); !errors.Is(err, ErrCorrupt) {
		t.Fatal(err)
	}
	// Results stored before the fields of access keys, leases and merges
	// were added still decode.
	old := encodeResult(&Result{Version: 3, More: true})
	old = old[:len(old)-4] // no bucket expiry, no buckets, no keys, no merge
	if got, err := DecodeResult(sm.Result{Data: old}); err != nil || got.Version != 3 || !got.More {
		t.Fatal(got, err)
	}
}

// Every sentinel of errors.go except ErrCorrupt has a result code, and
// the table is append-only (these numbers never change).
func TestResultCodesStable(t *testing.T) {
	want := map[uint64]error{1: ErrNoSuchBucket, 2: ErrBucketExists, 3: ErrBucketNotEmpty, 4: ErrNoSuchKey,
		5: ErrNoSuchVersion, 6: ErrPreconditionFailed, 7: ErrNoSuchUpload, 8: ErrInvalidPart, 9: ErrNoSuchSnapshot,
		10: ErrSnapshotExists, 11: ErrForkDepthExceeded, 12: ErrVersionOutOfRetention, 13: ErrMethodNotAllowed, 14: ErrInvalidVersion,
		30: ErrNoSuchAccessKey, 31: ErrAccessKeyExists, 32: ErrNotAFork, 33: ErrMergeConflict, 34: ErrLeaseExpired, 35: ErrKeyLimit, 36: ErrMergeInProgress,
		20: ErrACLNotSupported, 21: ErrInvalidBucketACL, 28: ErrPublicPolicyBlocked, 40: ErrNodeRetired,
		50: ErrReadOnlyView, 51: ErrNotAView,
		60: ErrObjectLocked, 61: ErrInvalidLockRequest, 62: ErrInvalidBucketState, 63: ErrLockNeedsChecksum,
		70: ErrNoSuchUser, 71: ErrUserExists, 72: ErrUserOwnsBuckets, 73: ErrNotBucketOwner, 74: ErrEmailInUse,
		80: ErrShardCount, 81: ErrNameElsewhere,
		82: ErrForkAcrossShards, 83: ErrForkAborted, 84: ErrInvalidRemoteFork, 85: ErrRemoteParent, 86: ErrCrossShardMerge,
		90: ErrDefaultEncryptionChanged}
	for c, e := range want {
		if errOfCode(c) != e || codeOf(fmt.Errorf("%w: x", e)) != c {
			t.Fatalf("code %d", c)
		}
	}
	if len(resultCodes) != len(want)+1 { // and codeOK
		t.Fatalf("%d result codes, the test knows %d", len(resultCodes), len(want)+1)
	}
	// Codes in the gaps between ranges are not OK.
	for _, c := range []uint64{15, 19, 22, 29, 37, 39, 41} {
		if !errors.Is(errOfCode(c), ErrCorrupt) {
			t.Errorf("code %d decodes as %v", c, errOfCode(c))
		}
	}
}

func TestNameEncoding(t *testing.T) {
	for _, s := range []string{"", "a", "\x00", "a\x00b", "\xff", "\x00\x01", "a\x00\xff"} {
		enc := appendName(nil, s)
		got, rest, ok := readName(append(enc, 9, 9))
		if !ok || got != s || !bytes.Equal(rest, []byte{9, 9}) {
			t.Fatalf("%q: %q %v %v", s, got, rest, ok)
		}
	}
	k := keyObject(7, "k\x00", 42)
	b, key, v, ok := parseObjectKey(k)
	if !ok || b != 7 || key != "k\x00" || v != 42 {
		t.Fatal(b, key, v, ok)
	}
	if bytes.Compare(keyObject(1, "k", 5), keyObject(1, "k", 4)) >= 0 {
		t.Fatal("newer version must sort first")
	}
}

// FuzzKeyRoundTrip: the name encoding round-trips and preserves order,
// also when followed by more key bytes (as in object version keys).
func FuzzKeyRoundTrip(f *testing.F) {
	f.Add([]byte("a"), []byte("a\x00"), uint64(1), uint64(2))
	f.Add([]byte(""), []byte("\x00"), uint64(0), uint64(1<<63))
	f.Add([]byte("ab"), []byte("a\xff"), uint64(5), uint64(5))
	f.Fuzz(func(t *testing.T, a, b []byte, va, vb uint64) {
		ea, eb := appendName(nil, string(a)), appendName(nil, string(b))
		got, rest, ok := readName(ea)
		if !ok || got != string(a) || len(rest) != 0 {
			t.Fatalf("round trip %q: %q %v", a, got, ok)
		}
		if c := bytes.Compare(a, b); c != bytes.Compare(ea, eb) {
			t.Fatalf("order %q %q", a, b)
		}
		ka, kb := keyObject(1, string(a), va), keyObject(1, string(b), vb)
		want := bytes.Compare(a, b)
		if want == 0 {
			switch {
			case va > vb:
				want = -1
			case va < vb:
				want = 1
			}
		}
		if bytes.Compare(ka, kb) != want {
			t.Fatalf("object key order %q@%d %q@%d", a, va, b, vb)
		}
		_, key, v, ok := parseObjectKey(ka)
		if !ok || key != string(a) || v != va {
			t.Fatal("object key round trip")
		}
		// A prefix's escaped form is a byte prefix of the key's encoding
		// exactly when it is a prefix of the key.
		if bytes.HasPrefix(ea, appendEscaped(nil, string(b))) != bytes.HasPrefix(a, b) {
			t.Fatalf("prefix %q of %q", b, a)
		}
	})
}

// FuzzDecodeCommand: arbitrary bytes give an error or a command that
// re-encodes to a decodable command; never a panic.
func FuzzDecodeCommand(f *testing.F) {
	for _, c := range sampleCommands() {
		f.Add(EncodeCommand(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err != nil {
			return
		}
		c2, err := DecodeCommand(EncodeCommand(c))
		if err != nil {
			t.Fatalf("re-encoded command does not decode: %v", err)
		}
		if fmt.Sprintf("%T", c) != fmt.Sprintf("%T", c2) {
			t.Fatal("type changed")
		}
	})
}

// TestWriteFuzzCorpus regenerates the checked-in seed corpus
// (FORKSTORE_WRITE_CORPUS=1 go test ./meta -run TestWriteFuzzCorpus).
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("FORKSTORE_WRITE_CORPUS") == "" {
		t.Skip("set FORKSTORE_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeCommand")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range sampleCommands() {
		name := strings.TrimPrefix(fmt.Sprintf("%T", c), "*meta.")
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", EncodeCommand(c))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir = filepath.Join("testdata", "fuzz", "FuzzKeyRoundTrip")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := "go test fuzz v1\n[]byte(\"a\\x00\\xff\")\n[]byte(\"a\\x00\")\nuint64(3)\nuint64(3)\n"
	if err := os.WriteFile(filepath.Join(dir, "zero-bytes"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Access key records of format 1 (written before keys could fork) still
// decode, as keys that may not fork; records of the current format
// round-trip with the fork permission and prefix.
func TestDecodeAccessKeyRecordFormats(t *testing.T) {
	k := AccessKey{ID: "AK", Sealed: []byte{1}, Buckets: []KeyBucket{{ID: 3, Name: "b"}}, Prefix: "p/", Created: 5, Expires: 6}
	e := encoder{}
	e.u8(fmtV1)
	e.str(k.ID)
	e.bytes(k.Sealed)
	e.uvarint(1)
	e.uvarint(3)
	e.str("b")
	e.str(k.Prefix)
	e.boolean(false)
	e.varint(k.Created)
	e.varint(k.Expires)
	got, err := decodeAccessKeyRecord(e.b)
	if err != nil || !reflect.DeepEqual(*got, k) {
		t.Fatalf("format 1 access key record: %+v %v", got, err)
	}
	k.AllowForks, k.ForkPrefix = true, "b-"
	v := encodeAccessKeyRecord(&k)
	if v[0] != fmtV4 {
		t.Fatalf("access key records are written in format %d", v[0])
	}
	got, err = decodeAccessKeyRecord(v)
	if err != nil || !reflect.DeepEqual(*got, k) {
		t.Fatalf("access key record round trip: %+v %v", got, err)
	}
}
