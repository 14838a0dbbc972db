package meta

import (
	"encoding/json"
	"errors"
	"fmt"
)

// The queries the gateway runs through a linearizable read (query.go): one
// type per Reader call, and a type whose Run holds the logic of a read
// that makes several calls on one transaction. Each is a value with
// exported fields, registered with what it returns, so that a node that
// holds no replica of a shard can send it to one that does.
//
// A result crosses the wire with gob: no unexported fields that a caller
// reads, no nil pointers inside slices or maps (a slice of structs with a
// pointer field instead), and nil and empty slices and maps mean the same
// (gob sends an empty one as nil). TestQueryResultsCrossTheWire checks the
// result types.

func init() {
	// Directory and cluster.
	RegisterQuery(NodesQuery{}, []Node(nil))
	RegisterQuery(MetaShardsQuery{}, int(0))
	RegisterQuery(NameShardQuery{}, NameShardResult{})
	RegisterQuery(PingQuery{})
	RegisterQuery(UsersQuery{}, []User(nil))
	RegisterQuery(UserQuery{}, &User{})
	RegisterQuery(BucketOwnerQuery{}, &User{})
	RegisterQuery(AccessKeysQuery{}, []AccessKey(nil))
	RegisterQuery(KeyLookupQuery{}, KeyLookup{})
	RegisterQuery(BucketsQuery{}, []Bucket(nil))
	RegisterQuery(BucketsOwnedByQuery{}, []Bucket(nil))

	// Buckets.
	RegisterQuery(BucketQuery{}, &Bucket{})
	RegisterQuery(BucketAtQuery{}, &Bucket{})
	RegisterQuery(BucketByIDQuery{}, &Bucket{})
	RegisterQuery(BucketLiveQuery{}, false)
	RegisterQuery(LiveBucketsByIDQuery{}, map[uint64]Bucket(nil))
	RegisterQuery(SnapshotsQuery{}, []Snapshot(nil))
	RegisterQuery(LineageQuery{}, &Lineage{})
	RegisterQuery(DiffQuery{}, &DiffResult{})
	RegisterQuery(BucketCORSQuery{}, []CORSRule(nil))
	RegisterQuery(BucketEncryptionQuery{}, &BucketEncryption{})
	RegisterQuery(LifecycleQuery{}, &Lifecycle{})

	// Objects.
	RegisterQuery(GetObjectQuery{}, &ObjectRead{})
	RegisterQuery(BucketObjectQuery{}, &BucketObject{})
	RegisterQuery(ListQuery{}, &ListResult{})
	RegisterQuery(ListVersionsQuery{}, &VersionListResult{})

	// Multipart uploads.
	RegisterQuery(UploadQuery{}, &Upload{})
	RegisterQuery(CompletedUploadQuery{}, &Object{})
	RegisterQuery(PartsQuery{}, &PartListResult{})
	RegisterQuery(UploadsQuery{}, &UploadListResult{})

	// Merges.
	RegisterQuery(MergePlanQuery{}, &MergePlanResult{})
	RegisterQuery(RemoteMergeChangesQuery{}, &RemoteChangePage{})
	RegisterQuery(RemoteMergePlanQuery{}, &MergePlanResult{})

	// Forks whose parent lives on another shard.
	RegisterQuery(GetInheritedQuery{}, &Object{})
	RegisterQuery(InheritedReadsQuery{}, []FoundObject(nil))
	RegisterQuery(InheritedObjectsQuery{}, map[string]*Object(nil))
	RegisterQuery(InheritedEntriesQuery{}, &EntryPage{})
	RegisterQuery(LocalEntriesQuery{}, &EntryPage{})
	RegisterQuery(LocalVersionEntriesQuery{}, &VersionEntryPage{})
	RegisterQuery(RemoteOfQuery{}, &RemoteRead{})
	RegisterQuery(ForkDepthQuery{}, 0)
	RegisterQuery(InheritedAnnotationQuery{}, &InheritedAnnotation{})
	RegisterQuery(PinIntentsQuery{}, []PinIntent(nil))
	RegisterQuery(PinReleasesQuery{}, []PinRef(nil))
	RegisterQuery(PinReleaseQuery{}, &PinRef{})
}

// --- directory and cluster ---

// NodesQuery reads the cluster's members (Reader.Nodes).
type NodesQuery struct{}

func (NodesQuery) Run(r *Reader) (any, error) { return r.Nodes() }

// MetaShardsQuery reads the cluster's shard count (Reader.MetaShards).
type MetaShardsQuery struct{}

func (MetaShardsQuery) Run(r *Reader) (any, error) { return r.MetaShards() }

// NameShardQuery reads the shard a bucket name lives on (Reader.NameShard).
type NameShardQuery struct{ Name string }

// NameShardResult is what NameShardQuery returns; OK is false when no
// shard holds the name.
type NameShardResult struct {
	Shard uint64
	OK    bool
}

func (q NameShardQuery) Run(r *Reader) (any, error) {
	sh, ok, err := r.NameShard(q.Name)
	return NameShardResult{sh, ok}, err
}

// PingQuery reads nothing: a linearizable read that answers shows that a
// shard has a leader and applies.
type PingQuery struct{}

func (PingQuery) Run(*Reader) (any, error) { return nil, nil }

// UsersQuery reads every user (Reader.Users).
type UsersQuery struct{}

func (UsersQuery) Run(r *Reader) (any, error) { return r.Users() }

// UserQuery reads one user (Reader.User).
type UserQuery struct{ Name string }

func (q UserQuery) Run(r *Reader) (any, error) { return r.User(q.Name) }

// BucketOwnerQuery reads the user owning a live bucket, nil for the root
// account's; for a bucket on the directory shard (its owner's record is
// there too).
type BucketOwnerQuery struct{ Bucket string }

func (q BucketOwnerQuery) Run(r *Reader) (any, error) {
	b, err := r.BucketAt(q.Bucket, 0)
	if err != nil || b.Owner == "" {
		return nil, err
	}
	return r.User(b.Owner)
}

// AccessKeysQuery reads the access keys of a bucket, every key for ""
// (Reader.AccessKeys).
type AccessKeysQuery struct{ Bucket string }

func (q AccessKeysQuery) Run(r *Reader) (any, error) { return r.AccessKeys(q.Bucket) }

// KeyLookupQuery reads an access key with the keys' generation and, on
// the directory shard (Directory), the user the key belongs to; on
// another shard only the key's owner (UserKey), whose record is in the
// directory.
type KeyLookupQuery struct {
	ID        string
	Directory bool
}

// KeyLookup is what KeyLookupQuery returns.
type KeyLookup struct {
	Key     *AccessKey
	Gen     uint64
	User    *User // nil: the root account's key (off the directory: not read)
	UserKey UserKey
}

func (q KeyLookupQuery) Run(r *Reader) (any, error) {
	gen, err := r.KeysGeneration()
	if err != nil {
		return nil, err
	}
	k, err := r.AccessKey(q.ID)
	if err != nil {
		return nil, err
	}
	if !q.Directory {
		uk, _, err := r.KeyOwner(q.ID)
		return KeyLookup{Key: k, Gen: gen, UserKey: uk}, err
	}
	u, uk, _, err := r.KeyUser(q.ID)
	if err != nil {
		return nil, err
	}
	return KeyLookup{Key: k, Gen: gen, User: u, UserKey: uk}, nil
}

// BucketsQuery reads the live buckets of a shard (Reader.Buckets).
type BucketsQuery struct{}

func (BucketsQuery) Run(r *Reader) (any, error) { return r.Buckets() }

// BucketsOwnedByQuery reads the buckets of a shard that a user owns
// (Reader.BucketsOwnedBy).
type BucketsOwnedByQuery struct{ Owner string }

func (q BucketsOwnedByQuery) Run(r *Reader) (any, error) { return r.BucketsOwnedBy(q.Owner) }

// --- buckets ---

// BucketQuery reads a live bucket (Reader.Bucket).
type BucketQuery struct{ Name string }

func (q BucketQuery) Run(r *Reader) (any, error) { return r.Bucket(q.Name) }

// BucketAtQuery reads a bucket as of a version (Reader.BucketAt).
type BucketAtQuery struct {
	Name string
	At   uint64
}

func (q BucketAtQuery) Run(r *Reader) (any, error) { return r.BucketAt(q.Name, q.At) }

// BucketByIDQuery reads a bucket by id (Reader.BucketByID).
type BucketByIDQuery struct{ ID uint64 }

func (q BucketByIDQuery) Run(r *Reader) (any, error) { return r.BucketByID(q.ID) }

// BucketLiveQuery says whether a bucket is live on the shard read.
type BucketLiveQuery struct{ Name string }

func (q BucketLiveQuery) Run(r *Reader) (any, error) {
	_, err := r.Bucket(q.Name)
	if errors.Is(err, ErrNoSuchBucket) {
		return false, nil
	}
	return err == nil, err
}

// LiveBucketsByIDQuery reads the buckets of IDs that are live, by id
// (the others are left out).
type LiveBucketsByIDQuery struct{ IDs []uint64 }

func (q LiveBucketsByIDQuery) Run(r *Reader) (any, error) {
	out := map[uint64]Bucket{}
	for _, id := range q.IDs {
		b, err := r.BucketByID(id)
		if errors.Is(err, ErrNoSuchBucket) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if b.State == BucketLive {
			out[id] = *b
		}
	}
	return out, nil
}

// SnapshotsQuery reads a bucket's snapshots (Reader.Snapshots).
type SnapshotsQuery struct{ Bucket string }

func (q SnapshotsQuery) Run(r *Reader) (any, error) { return r.Snapshots(q.Bucket) }

// LineageQuery reads a bucket's lineage (Reader.Lineage).
type LineageQuery struct{ Bucket string }

func (q LineageQuery) Run(r *Reader) (any, error) { return r.Lineage(q.Bucket) }

// DiffQuery reads what a fork changed (Reader.Diff).
type DiffQuery struct {
	Bucket, Prefix, After string
	Max                   int
}

func (q DiffQuery) Run(r *Reader) (any, error) { return r.Diff(q.Bucket, q.Prefix, q.After, q.Max) }

// BucketCORSQuery reads a bucket's CORS rules (Reader.BucketCORS).
type BucketCORSQuery struct{ Bucket string }

func (q BucketCORSQuery) Run(r *Reader) (any, error) { return r.BucketCORS(q.Bucket) }

// BucketEncryptionQuery reads a bucket's default encryption
// (Reader.BucketEncryption).
type BucketEncryptionQuery struct{ Bucket string }

func (q BucketEncryptionQuery) Run(r *Reader) (any, error) { return r.BucketEncryption(q.Bucket) }

// LifecycleQuery reads a bucket's lifecycle configuration
// (Reader.Lifecycle).
type LifecycleQuery struct{ Bucket string }

func (q LifecycleQuery) Run(r *Reader) (any, error) { return r.Lifecycle(q.Bucket) }

// --- objects ---

// GetObjectQuery reads an object (Reader.GetObject). Its result is an
// ObjectRead, which keeps what GetObject returns beside an error (the
// delete marker of ErrNoSuchKey and ErrMethodNotAllowed) and where the
// read goes on for a key inherited from another shard (the *RemoteRead
// error), so that BucketObjectQuery returns its bucket with them and with
// a business error (ErrNoSuchKey: authorization needs the bucket);
// ObjectRead.Result gives them back.
type GetObjectQuery struct {
	Bucket, Key, VersionID string
	At                     uint64
}

func (q GetObjectQuery) Run(r *Reader) (any, error) {
	return objectRead(r.GetObject(q.Bucket, q.Key, q.VersionID, q.At))
}

// ObjectRead is the outcome of Reader.GetObject as a value: the object,
// and for an error that comes with one, the error's result code and
// message; or where the read goes on (Remote).
type ObjectRead struct {
	Object *Object
	Remote *RemoteRead
	Code   uint64
	Msg    string
}

// objectRead makes GetObject's outcome a value: the object, a business
// error (with the object that comes with it: a delete marker) or a
// RemoteRead; any other error stays an error.
func objectRead(o *Object, err error) (*ObjectRead, error) {
	if err == nil {
		return &ObjectRead{Object: o}, nil
	}
	var rr *RemoteRead
	if errors.As(err, &rr) {
		return &ObjectRead{Remote: rr}, nil
	}
	if code, ok := businessCode(err); ok {
		return &ObjectRead{Object: o, Code: code, Msg: err.Error()}, nil
	}
	return nil, err
}

// Result returns what Reader.GetObject returned: the object and the
// error (a sentinel keeps its identity for errors.Is, a RemoteRead is
// the *RemoteRead).
func (x *ObjectRead) Result() (*Object, error) {
	switch {
	case x == nil:
		return nil, nil
	case x.Remote != nil:
		return nil, x.Remote
	case x.Code != codeOK:
		return x.Object, remoteError{sentinel: errOfCode(x.Code), msg: x.Msg}
	}
	return x.Object, nil
}

// BucketObjectQuery reads a bucket as of At (Reader.BucketAt), with its
// default encryption when Encryption is set and At is 0 (left unread on
// an error), and when Key is set the object (Reader.GetObject), on one
// transaction.
type BucketObjectQuery struct {
	Bucket, Key, VersionID string
	At                     uint64
	Encryption             bool
}

// BucketObject is what BucketObjectQuery returns; Object is nil when no
// key was asked for.
type BucketObject struct {
	Bucket *Bucket
	Object *ObjectRead
}

func (q BucketObjectQuery) Run(r *Reader) (any, error) {
	b, err := r.BucketAt(q.Bucket, q.At)
	if err != nil {
		return nil, err
	}
	if q.Encryption && q.At == 0 {
		if enc, err := r.BucketEncryption(q.Bucket); err == nil {
			b.Encryption, b.EncryptionRead = enc, true
		}
	}
	out := &BucketObject{Bucket: b}
	if q.Key == "" {
		return out, nil
	}
	if out.Object, err = objectRead(r.GetObject(q.Bucket, q.Key, q.VersionID, q.At)); err != nil {
		return nil, err
	}
	return out, nil
}

// ListQuery lists a bucket (Reader.List).
type ListQuery struct {
	Bucket string
	Opts   ListOptions
}

func (q ListQuery) Run(r *Reader) (any, error) { return r.List(q.Bucket, q.Opts) }

// ListVersionsQuery lists a bucket's versions (Reader.ListVersions).
type ListVersionsQuery struct {
	Bucket string
	Opts   VersionListOptions
}

func (q ListVersionsQuery) Run(r *Reader) (any, error) { return r.ListVersions(q.Bucket, q.Opts) }

// --- multipart uploads ---

// UploadQuery reads a multipart upload (Reader.Upload).
type UploadQuery struct{ Bucket, Key, UploadID string }

func (q UploadQuery) Run(r *Reader) (any, error) { return r.Upload(q.Bucket, q.Key, q.UploadID) }

// CompletedUploadQuery reads the object an upload's completion made
// (Reader.CompletedUpload).
type CompletedUploadQuery struct {
	Bucket, Key, UploadID string
	Parts                 []CompletedPart
}

func (q CompletedUploadQuery) Run(r *Reader) (any, error) {
	return r.CompletedUpload(q.Bucket, q.Key, q.UploadID, q.Parts)
}

// PartsQuery lists an upload's parts (Reader.Parts).
type PartsQuery struct {
	UploadID    string
	Marker, Max int
}

func (q PartsQuery) Run(r *Reader) (any, error) { return r.Parts(q.UploadID, q.Marker, q.Max) }

// UploadsQuery lists a bucket's uploads (Reader.Uploads).
type UploadsQuery struct {
	Bucket string
	Opts   UploadListOptions
}

func (q UploadsQuery) Run(r *Reader) (any, error) { return r.Uploads(q.Bucket, q.Opts) }

// --- merges ---

// MergePlanResult is a merge's dry run and the shard's last applied
// version when it was read.
type MergePlanResult struct {
	Report  *MergeReport
	Version uint64
}

// MergePlanQuery plans the merge of a fork into its parent on the same
// shard (Reader.MergePlan); conflicts are in the report, not an error.
type MergePlanQuery struct {
	Fork     string
	Strategy MergeStrategy
}

func (q MergePlanQuery) Run(r *Reader) (any, error) {
	version := r.LastVersion()
	rep, err := r.MergePlan(q.Fork, q.Strategy)
	if errors.Is(err, ErrMergeConflict) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return &MergePlanResult{Report: rep, Version: version}, nil
}

// RemoteMergeChangesQuery reads a page of a fork's changes for a merge
// across shards (Reader.RemoteMergeChanges).
type RemoteMergeChangesQuery struct {
	ID, Hold uint64
	After    string
	Limit    int
	KeysOnly bool
}

func (q RemoteMergeChangesQuery) Run(r *Reader) (any, error) {
	return r.RemoteMergeChanges(q.ID, q.Hold, q.After, q.Limit, q.KeysOnly)
}

// RemoteMergePlanQuery adds a page of changes to the dry run of a merge
// across shards, on the parent's shard (Reader.RemoteMergePlan): the
// result is a copy of Report with the page counted.
type RemoteMergePlanQuery struct {
	Parent, Fork, Base uint64
	Strategy           MergeStrategy
	Changes            []RemoteChange
	Report             MergeReport
}

func (q RemoteMergePlanQuery) Run(r *Reader) (any, error) {
	version := r.LastVersion()
	rep := q.Report
	rep.Conflicts = append(rep.Conflicts[:0:0], q.Report.Conflicts...)
	if err := r.RemoteMergePlan(q.Parent, q.Fork, q.Base, q.Strategy, q.Changes, &rep); err != nil {
		return nil, err
	}
	return &MergePlanResult{Report: &rep, Version: version}, nil
}

// --- forks whose parent lives on another shard ---

// GetInheritedQuery reads a key of bucket ID as of At for a fork on
// another shard (Reader.GetInherited).
type GetInheritedQuery struct {
	ID             uint64
	Key, VersionID string
	At             uint64
}

func (q GetInheritedQuery) Run(r *Reader) (any, error) {
	return r.GetInherited(q.ID, q.Key, q.VersionID, q.At)
}

// InheritedRead is one read of InheritedReadsQuery.
type InheritedRead struct {
	BucketID uint64
	Key      string
	At       uint64
}

// InheritedReadsQuery reads keys of buckets on this shard as of versions
// (Reader.GetInherited, no version id), one FoundObject each, in order.
type InheritedReadsQuery struct{ Reads []InheritedRead }

// FoundObject is an object found, or none (nil: no record, or a delete
// marker).
type FoundObject struct{ Object *Object }

func (q InheritedReadsQuery) Run(r *Reader) (any, error) {
	out := make([]FoundObject, len(q.Reads))
	for i, a := range q.Reads {
		o, err := r.GetInherited(a.BucketID, a.Key, "", a.At)
		if errors.Is(err, ErrNoSuchKey) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[i].Object = o
	}
	return out, nil
}

// InheritedObjectsQuery reads keys of bucket ID as of At
// (Reader.InheritedObjects).
type InheritedObjectsQuery struct {
	ID, At uint64
	Keys   []string
}

func (q InheritedObjectsQuery) Run(r *Reader) (any, error) {
	return r.InheritedObjects(q.ID, q.At, q.Keys)
}

// InheritedEntriesQuery reads a page of what bucket ID shows as of At to
// a fork on another shard (Reader.InheritedEntries).
type InheritedEntriesQuery struct {
	ID, At       uint64
	Prefix, From string
	Limit        int
}

func (q InheritedEntriesQuery) Run(r *Reader) (any, error) {
	return r.InheritedEntries(q.ID, q.At, q.Prefix, q.From, q.Limit)
}

// LocalEntriesQuery reads a page of a fork's own entries
// (Reader.LocalEntries).
type LocalEntriesQuery struct {
	Bucket       string
	At           uint64
	Prefix, From string
	Limit        int
}

func (q LocalEntriesQuery) Run(r *Reader) (any, error) {
	return r.LocalEntries(q.Bucket, q.At, q.Prefix, q.From, q.Limit)
}

// LocalVersionEntriesQuery reads a page of a fork's own versions
// (Reader.LocalVersionEntries); it asks what LocalEntriesQuery asks.
type LocalVersionEntriesQuery LocalEntriesQuery

func (q LocalVersionEntriesQuery) Run(r *Reader) (any, error) {
	return r.LocalVersionEntries(q.Bucket, q.At, q.Prefix, q.From, q.Limit)
}

// InheritedAnnotationQuery reads the tags and ACL a bucket's chain gives
// a version of key it inherits from its parent on another shard
// (Reader.InheritedAnnotation).
type InheritedAnnotationQuery struct {
	Bucket, Key string
	Version, At uint64
}

func (q InheritedAnnotationQuery) Run(r *Reader) (any, error) {
	return r.InheritedAnnotation(q.Bucket, q.Key, q.Version, q.At)
}

// RemoteOfQuery reads where a bucket's chain goes on on another shard
// (Reader.RemoteOf; nil when it stays on this one).
type RemoteOfQuery struct{ Bucket string }

func (q RemoteOfQuery) Run(r *Reader) (any, error) { return r.RemoteOf(q.Bucket) }

// ForkDepthQuery reads how many ancestors the bucket with id has
// (Reader.ForkDepth).
type ForkDepthQuery struct{ ID uint64 }

func (q ForkDepthQuery) Run(r *Reader) (any, error) { return r.ForkDepth(q.ID) }

// PinIntentsQuery reads the intents of forks on other shards
// (Reader.PinIntents).
type PinIntentsQuery struct{ Max int }

func (q PinIntentsQuery) Run(r *Reader) (any, error) { return r.PinIntents(q.Max) }

// PinReleaseQuery reads the release recorded for one purged fork
// (Reader.PinRelease; nil when there is none).
type PinReleaseQuery struct{ Child uint64 }

func (q PinReleaseQuery) Run(r *Reader) (any, error) { return r.PinRelease(q.Child) }

// PinReleasesQuery reads the pins to release on other shards
// (Reader.PinReleases).
type PinReleasesQuery struct{ Max int }

func (q PinReleasesQuery) Run(r *Reader) (any, error) { return r.PinReleases(q.Max) }

// MarshalJSON writes an Object for the wire as the command codec writes
// it (GobEncode), in a JSON string. Objects are most of what reads
// return: this keeps nil and empty Inline and Parts apart (Parts non-nil
// marks a multipart object), and costs a fraction of a field-by-field
// encoding (docs/benchmarks.md).
// A value receiver, so that an Object in a struct passed by value takes
// the same form as one behind a pointer.
func (o Object) MarshalJSON() ([]byte, error) { return binaryJSON(o.GobEncode()) }

// UnmarshalJSON reads what MarshalJSON wrote.
func (o *Object) UnmarshalJSON(b []byte) error { return fromBinaryJSON(b, o.GobDecode) }

// MarshalJSON writes an ObjectVersion as GobEncode does, in a JSON string.
// (It must be its own: the embedded Object's would stand for the whole.)
func (v ObjectVersion) MarshalJSON() ([]byte, error) { return binaryJSON(v.GobEncode()) }

// UnmarshalJSON reads what MarshalJSON wrote.
func (v *ObjectVersion) UnmarshalJSON(b []byte) error { return fromBinaryJSON(b, v.GobDecode) }

// binaryJSON is a binary form as a JSON string (base64).
func binaryJSON(b []byte, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return json.Marshal(b)
}

// fromBinaryJSON decodes a binary form from a JSON string.
func fromBinaryJSON(j []byte, decode func([]byte) error) error {
	var b []byte
	if err := json.Unmarshal(j, &b); err != nil {
		return err
	}
	return decode(b)
}

// GobEncode writes an Object as the command codec writes it
// (encodeObjectFull, codec.go), then ChunkShard.
func (o *Object) GobEncode() ([]byte, error) {
	e := encoder{b: make([]byte, 0, 128+len(o.Key)+len(o.Inline)+40*len(o.Chunks))}
	encodeObjectFull(&e, o)
	e.uvarint(o.ChunkShard)
	return e.b, nil
}

// GobDecode reads what GobEncode wrote.
func (o *Object) GobDecode(b []byte) error {
	d := decoder{b: b, v2: true, v3: true, v4: true, v5: true, v6: true}
	*o = decodeObjectFull(&d)
	o.ChunkShard = d.uvarint()
	return d.done()
}

// GobEncode writes an ObjectVersion (without it, the GobEncode of the
// embedded Object would stand for the whole and drop IsLatest).
func (v *ObjectVersion) GobEncode() ([]byte, error) {
	b, err := v.Object.GobEncode()
	return append(b, boolByte(v.IsLatest)), err
}

// GobDecode reads what GobEncode wrote.
func (v *ObjectVersion) GobDecode(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: object version", ErrCorrupt)
	}
	v.IsLatest = b[len(b)-1] != 0
	return v.Object.GobDecode(b[:len(b)-1])
}
