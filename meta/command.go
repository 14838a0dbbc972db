package meta

// Commands are the replicated mutations. The gateway builds them, stamping
// wall-clock time and ids; apply (fsm.go) executes them deterministically.
// Every command carries a RequestID so a retried proposal applies once.
//
// Encoding: EncodeCommand / DecodeCommand (an op byte, then the body).

// Header is common to every command.
type Header struct {
	RequestID string // unique per logical request (retries reuse it)
	Stamp     uint64 // proposer's wall clock, Unix nanoseconds
}

// CreateBucket creates a bucket, or a fork when ForkSource is set, or takes
// a snapshot of an existing bucket when Snapshot is set.
type CreateBucket struct {
	Header
	Name   string
	Region string
	// ForkSource makes the new bucket a fork of this live bucket, at
	// ForkVersion (a snapshot version of the source, or any version within
	// the history window) or, when ForkVersion is 0 and ForkSnapshotName is
	// empty, at the version of this command.
	ForkSource       string
	ForkVersion      uint64
	ForkSnapshotName string
	MaxForkDepth     int // 0 means the default (32)
}

// DeleteBucket deletes an empty bucket (or a fork, whatever its parent holds;
// only the fork's own live objects make it non-empty).
type DeleteBucket struct {
	Header
	Name string
}

// CreateSnapshot records a snapshot of Bucket at the command's version.
type CreateSnapshot struct {
	Header
	Bucket string
	Name   string // optional; unique among the bucket's snapshots when set
}

// DeleteSnapshot removes a snapshot of Bucket.
type DeleteSnapshot struct {
	Header
	Bucket  string
	Version uint64
}

// SetVersioning sets a bucket's versioning state (Enabled or Suspended).
type SetVersioning struct {
	Header
	Bucket string
	Status Versioning
}

// PutObject writes a new version of Object.Key. Object.Version,
// LastModified are set by apply. Conditions are evaluated in apply against
// the key's current visible version (with fork read-through).
type PutObject struct {
	Header
	Bucket      string
	Object      Object
	IfMatch     string // quoted ETag or "*"; "" for none
	IfNoneMatch string // quoted ETag or "*"; "" for none
	// SharedChunks says Object.Chunks already exist (CopyObject): apply
	// fails with ErrNoSuchKey if any of them has no reference left (it may
	// be being collected), instead of resurrecting it.
	SharedChunks bool
}

// DeleteObject deletes a key (writing a delete marker when the bucket is
// versioned or is a fork or has dependants) or, with VersionID, one version.
type DeleteObject struct {
	Header
	Bucket    string
	Key       string
	VersionID string // "" = current; "null" = the null version; else a decimal version
	IfMatch   string
}

// DeleteObjects is a batch of DeleteObject in one command.
type DeleteObjects struct {
	Header
	Bucket string
	Items  []DeleteItem
}

// DeleteItem is one entry of DeleteObjects.
type DeleteItem struct {
	Key       string
	VersionID string
}

// CreateUpload starts a multipart upload.
type CreateUpload struct {
	Header
	Bucket   string
	UploadID string // chosen by the gateway, unique
	Template Object // Key, content headers, user metadata, Checksum.Algorithm/Type
}

// PutPart records an uploaded part, replacing an earlier part with the
// same number (whose chunks lose a reference).
type PutPart struct {
	Header
	Bucket   string
	Key      string
	UploadID string
	Part     Part
}

// CompleteUpload turns an upload into an object. The gateway has validated
// the part list and computed Object (ETag, size, checksum, chunks, parts);
// apply checks that the upload still exists and that each listed part still
// has the ETag given, then writes Object like PutObject.
type CompleteUpload struct {
	Header
	Bucket      string
	UploadID    string
	Parts       []CompletedPart
	Object      Object
	IfMatch     string
	IfNoneMatch string
}

// CompletedPart is a part number and the ETag the client named.
type CompletedPart struct {
	Number int
	ETag   string
}

// AbortUpload discards an upload and its parts.
type AbortUpload struct {
	Header
	Bucket   string
	Key      string
	UploadID string
}

// TrimGC removes chunk GC queue entries with version <= UpTo (every node has
// deleted its copies by then).
type TrimGC struct {
	Header
	UpTo uint64
}
