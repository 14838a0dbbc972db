package meta

// Versioning is a bucket's S3 versioning state.
type Versioning uint8

const (
	// VersioningOff is a bucket that never had versioning enabled: every
	// write replaces the "null" version.
	VersioningOff Versioning = iota
	// VersioningEnabled keeps every version.
	VersioningEnabled
	// VersioningSuspended writes "null" versions but keeps older real ones.
	VersioningSuspended
)

// String returns the S3 spelling ("", "Enabled", "Suspended").
func (v Versioning) String() string {
	switch v {
	case VersioningEnabled:
		return "Enabled"
	case VersioningSuspended:
		return "Suspended"
	}
	return ""
}

// BucketState says whether a bucket is visible by name.
type BucketState uint8

const (
	// BucketLive is a normal bucket reachable by its name.
	BucketLive BucketState = iota
	// BucketRetained is a deleted bucket whose history is still needed by
	// forks or snapshots; its name is free and it is hidden from listings.
	BucketRetained
)

// Ownership is a bucket's S3 Object Ownership setting, which says whether
// ACLs are in force.
type Ownership uint8

const (
	// OwnershipEnforced (BucketOwnerEnforced, the default of new buckets)
	// disables ACLs: the bucket owner has full control of every object,
	// and only private ACLs are accepted.
	OwnershipEnforced Ownership = iota
	// OwnershipObjectWriter enables ACLs.
	OwnershipObjectWriter
	// OwnershipPreferred (BucketOwnerPreferred) enables ACLs.
	OwnershipPreferred
	// OwnershipNone is a bucket whose ownership controls were deleted:
	// ACLs are in force, and reading the controls finds none.
	OwnershipNone
)

// ParseOwnership parses the S3 spelling of an ownership setting.
func ParseOwnership(s string) (Ownership, bool) {
	switch s {
	case "BucketOwnerEnforced":
		return OwnershipEnforced, true
	case "ObjectWriter":
		return OwnershipObjectWriter, true
	case "BucketOwnerPreferred":
		return OwnershipPreferred, true
	}
	return 0, false
}

// String returns the S3 spelling ("" for OwnershipNone).
func (o Ownership) String() string {
	switch o {
	case OwnershipEnforced:
		return "BucketOwnerEnforced"
	case OwnershipObjectWriter:
		return "ObjectWriter"
	case OwnershipPreferred:
		return "BucketOwnerPreferred"
	}
	return ""
}

// ACLsEnabled reports whether ACLs take effect under o.
func (o Ownership) ACLsEnabled() bool { return o != OwnershipEnforced }

// Parent is the point a fork was made from: bucket id and version.
type Parent struct {
	BucketID uint64
	Version  uint64
}

// Bucket is a bucket record.
type Bucket struct {
	ID         uint64
	Name       string
	Region     string
	Created    int64 // Unix nanoseconds (the creating command's stamp)
	Versioning Versioning
	Parent     *Parent // nil unless the bucket is a fork
	State      BucketState
	// Ownership and ACL (a canned ACL, "" is private) are the bucket's
	// access settings; a fork starts with its source's.
	Ownership Ownership
	ACL       string
	// Lock is the bucket's Object Lock configuration (lock.go); a fork
	// starts with its source's.
	Lock ObjectLock
	// Filled by reads, not stored: the parent's current name ("" when the
	// parent was deleted), whether other buckets are forked from this one,
	// and the bucket's lease (Unix ns on the lease clock, 0 = none).
	ParentName   string
	IsForkParent bool
	Expires      int64
	// View says the bucket is a read-only snapshot view (view.go).
	View bool
	// AccessUnknown (BucketAt) says that the bucket's ownership and ACL
	// at the version read were not recorded (a bucket older than its
	// access records): Ownership and ACL are today's, and must not
	// decide a read at that version.
	AccessUnknown bool
	// Policy, PublicAccessBlock and Tags are the bucket's configuration
	// (bucketconfig.go), filled by BucketAt from its access records: as
	// of the version read.
	Policy            string
	PublicAccessBlock PublicAccessBlock
	Tags              map[string]string
	// Owner is the user that owns the bucket ("" the root account;
	// user.go), filled by BucketAt and BucketsOwnedBy.
	Owner string
	// Encryption is the bucket's default encryption (its own or its
	// nearest ancestor's, nil for none, as BucketEncryption reads it),
	// filled only by reads that ask for it; EncryptionRead says one did.
	Encryption     *BucketEncryption
	EncryptionRead bool

	// annotations says whether the bucket's own layer may hold
	// annotations (annotation.go); kept in the record only.
	annotations annotationState
}

// Snapshot is a named or unnamed read-only point in time of a bucket.
type Snapshot struct {
	BucketID uint64
	Version  uint64
	Name     string
	Created  int64 // Unix nanoseconds
}

// Checksum is an S3 additional checksum of an object or a part.
type Checksum struct {
	Algorithm string // "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256" or ""
	Type      string // "FULL_OBJECT" or "COMPOSITE" ("" when Algorithm is "")
	Value     string // base64, with "-N" suffix for composite multipart values
}

// Chunk is one immutable piece of object data in the chunk store.
type Chunk struct {
	ID     string // unique, never reused (hex)
	Size   int64
	CRC32C uint32 // of the chunk's bytes, verified on read
}

// PartInfo describes one part of a multipart object, kept so that
// GET/HEAD with partNumber and composite checksums work.
type PartInfo struct {
	Number   int
	Size     int64
	ETag     string // quoted MD5 hex of the part
	Checksum string // base64 of the part's checksum in the object's algorithm
}

// Object is one version of a key. A delete marker has DeleteMarker set and
// no data.
type Object struct {
	Key          string
	Version      uint64 // assigned by apply; the S3 VersionId
	Null         bool   // the S3 "null" version (written while unversioned/suspended)
	DeleteMarker bool
	// DeletedAt is the version at which this record was permanently deleted
	// (DELETE ?versionId) while a snapshot, a fork or history still needed
	// it: reads at T >= DeletedAt do not see it. 0 means not deleted.
	DeletedAt uint64

	Size         int64
	ETag         string // quoted, e.g. "\"9b2cf535f27731c974343645a3985328\"" or "\"...-3\""
	LastModified int64  // Unix nanoseconds
	Checksum     Checksum

	ContentType        string
	CacheControl       string
	ContentDisposition string
	ContentEncoding    string
	ContentLanguage    string
	Expires            string
	UserMeta           map[string]string // lower-case names without the x-amz-meta- prefix
	Tags               map[string]string // object tags (x-amz-tagging); an annotation may replace them
	// ACL is the version's canned ACL ("" is private); an annotation may
	// replace it.
	ACL string
	// The version's Object Lock state (lock.go): its retention mode and
	// date (Unix ns; LockNone and 0 when none) and its legal hold.
	LockMode    LockMode
	RetainUntil int64
	LegalHold   bool
	// SSE is the version's server-side encryption (encryption.go); the
	// zero value is a plaintext body.
	SSE SSE

	Inline []byte     // the whole body when small; nil otherwise
	Chunks []Chunk    // the body's chunks in order when not inline
	Parts  []PartInfo // non-nil for multipart objects

	// ChunkShard, filled by the gateway and not stored, is the metadata
	// shard whose records reference the chunks when it is not the shard
	// of the bucket read (a version a fork inherits from its parent on
	// another shard); 0 otherwise.
	ChunkShard uint64
}

// Upload is an in-progress multipart upload.
type Upload struct {
	BucketID  uint64
	Key       string
	UploadID  string
	Initiated int64 // Unix nanoseconds
	// Template carries the metadata (content type, user metadata, checksum
	// algorithm and type) that the completed object will have.
	Template Object
}

// Part is an uploaded part of a multipart upload.
type Part struct {
	Number       int
	Size         int64
	ETag         string // quoted MD5 hex
	Checksum     string // base64 value in the upload's algorithm ("" if none)
	LastModified int64
	Chunks       []Chunk
}

// ListOptions selects a page of a listing (ListObjects v1/v2).
type ListOptions struct {
	Prefix    string
	Delimiter string
	// After is the exclusive lower bound: a key (marker / start-after) or a
	// decoded continuation token.
	After   string
	MaxKeys int
	// At reads the bucket as of this version (0 = latest).
	At uint64
}

// ListResult is a page of a listing.
type ListResult struct {
	Objects        []Object // latest visible version of each key (never delete markers)
	CommonPrefixes []string
	IsTruncated    bool
	// Next is the last key or common prefix returned; pass it as After to
	// get the next page.
	Next string
}

// VersionListOptions selects a page of ListObjectVersions.
type VersionListOptions struct {
	Prefix          string
	Delimiter       string
	KeyMarker       string
	VersionIDMarker string
	MaxKeys         int
	At              uint64
}

// VersionListResult is a page of ListObjectVersions. Versions are ordered by
// key, then newest first; IsLatest marks the newest visible version of a key.
type VersionListResult struct {
	Versions            []ObjectVersion
	CommonPrefixes      []string
	IsTruncated         bool
	NextKeyMarker       string
	NextVersionIDMarker string
}

// ObjectVersion is an entry of ListObjectVersions.
type ObjectVersion struct {
	Object
	IsLatest bool
}

// UploadListOptions selects a page of ListMultipartUploads.
type UploadListOptions struct {
	Prefix         string
	Delimiter      string
	KeyMarker      string
	UploadIDMarker string
	MaxUploads     int
}

// UploadListResult is a page of ListMultipartUploads.
type UploadListResult struct {
	Uploads            []Upload
	CommonPrefixes     []string
	IsTruncated        bool
	NextKeyMarker      string
	NextUploadIDMarker string
}

// PartListResult is a page of ListParts.
type PartListResult struct {
	Parts                []Part
	IsTruncated          bool
	NextPartNumberMarker int
}

// Lineage is a bucket's place in the fork tree.
type Lineage struct {
	Bucket    Bucket
	Parent    *LineageRef // nil for a root bucket
	Snapshots []Snapshot
	Forks     []LineageRef // buckets forked directly from this one
}

// LineageRef names a related bucket and the version it relates at.
type LineageRef struct {
	BucketID uint64
	Name     string // "" if that bucket was deleted
	Version  uint64
	Expires  int64 // the bucket's lease (Unix ns, lease clock), 0 = none
}

// DiffEntry is one key a fork changed relative to its base.
type DiffEntry struct {
	Key    string
	Change string  // "added", "changed" or "deleted"
	Object *Object // the fork's version (nil for deleted)
}

// DiffResult is a page of a fork's diff against its base.
type DiffResult struct {
	Entries     []DiffEntry
	IsTruncated bool
	Next        string // pass as After for the next page
}

// AccessKey is a scoped access key: it may use only the buckets it names
// (and, with Prefix, only the object keys under it). The root key is not
// stored. Its secret is sealed by the gateway before it is proposed: meta
// and the Raft log never hold it in the clear.
type AccessKey struct {
	ID       string
	Sealed   []byte
	Buckets  []KeyBucket
	Prefix   string
	ReadOnly bool
	Created  int64 // Unix ns (the creating command's version)
	Expires  int64 // Unix ns on the lease clock; 0 = never
	// AllowForks lets the key fork the buckets of its scope (never
	// granted by default); the forks it makes are named with ForkPrefix
	// (when set) and inherit its earliest expiry (batch.go).
	AllowForks bool
	ForkPrefix string
}

// KeyBucket is one bucket of a key's scope. Commands name buckets by Name;
// apply resolves the ID. Expires (filled by reads) is the bucket's lease.
type KeyBucket struct {
	ID      uint64
	Name    string
	Expires int64
}

// MergeStrategy says what a merge does with conflicting keys.
type MergeStrategy uint8

const (
	// MergeFail refuses a merge with any conflict; nothing changes.
	MergeFail MergeStrategy = iota
	// MergeForkWins applies the fork's version of conflicting keys.
	MergeForkWins
	// MergeParentWins keeps the parent's version of conflicting keys.
	MergeParentWins
)

// String returns the strategy's name as the API spells it.
func (s MergeStrategy) String() string {
	switch s {
	case MergeForkWins:
		return "fork-wins"
	case MergeParentWins:
		return "parent-wins"
	}
	return "fail"
}

// ParseMergeStrategy parses "fail", "fork-wins" or "parent-wins".
func ParseMergeStrategy(s string) (MergeStrategy, bool) {
	switch s {
	case "fail", "":
		return MergeFail, true
	case "fork-wins":
		return MergeForkWins, true
	case "parent-wins":
		return MergeParentWins, true
	}
	return 0, false
}

// MaxMergeConflictsReported bounds the conflicting keys a merge lists.
const MaxMergeConflictsReported = 1000

// MergeReport is what a merge did (or, dry, would do).
type MergeReport struct {
	Fork     string
	Parent   string
	ParentID uint64
	// Base is the fork's base version: the parent's changes after it
	// conflict. Since is the fork's previous merge (0 if none): only what
	// the fork changed after it is applied.
	Base    uint64
	Since   uint64
	Puts    int // keys written in the parent
	Deletes int // keys deleted in the parent
	// Kept counts conflicting keys left as the parent has them
	// (parent-wins).
	Kept          int
	ConflictCount int
	Conflicts     []string // sorted, at most MaxMergeConflictsReported
	ForkDeleted   bool
	DryRun        bool
	// UnderWay says the merge goes on in MergeContinue entries; the counts
	// are those applied so far.
	UnderWay bool
}
