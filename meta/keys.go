package meta

import (
	"encoding/binary"
	"fmt"
)

// The keyspace of a metadata shard. One Badger DB per shard replica holds
// every key below; the first byte of a key names its family and the byte
// values are stable forever (never renumber, only append).
//
//	family          key                                              value
//	--------------  -----------------------------------------------  -----------------------------------------
//	applied index   0x01                                             fmt | be64 raft index
//	counter         0x02 | id (1 next bucket id, 2 last version)     fmt | be64
//	bucket name     0x03 | name(bucket name)                         fmt | be64 bucket id         (live only)
//	bucket          0x04 | be64 bucket id                            fmt | bucket record (fmtV3: with ownership, ACL,
//	                                                                 and whether the bucket has annotations;
//	                                                                 fmtV5: with its Object Lock configuration)
//	snapshot        0x05 | be64 bucket id | be64 version             fmt | name | created
//	snapshot name   0x06 | be64 bucket id | name(snapshot name)      fmt | be64 version
//	fork index      0x07 | be64 parent id | be64 base | be64 child   fmt
//	object version  0x08 | be64 bucket id | name(key) | be64 ^version fmt | flags | deleted-at | record (fmtV5:
//	                                                                 with its Object Lock state)
//	upload          0x09 | be64 bucket id | name(key) | name(upload) fmt | upload record
//	upload by id    0x0A | name(upload id)                           fmt | be64 bucket id | key
//	part            0x0B | name(upload id) | be32 part number        fmt | part record
//	chunk refcount  0x0C | name(chunk id)                            fmt | uvarint count (> 0) [| uvarint size | be32 crc32c] (fmt 2)
//	gc queue        0x0D | be64 version | name(chunk id)             fmt
//	request         0x0E | name(request id)                          fmt | be64 version | uvarint code | result
//	request by age  0x0F | be64 version | name(request id)           fmt
//	gc pending      0x10 | be64 bucket id                            fmt | name(resume key)
//	node            0x20 | be64 node id                              fmt | raft addr | s3 addr | state
//	completed upload 0x28 | name(upload id)                          fmt | be64 bucket id | be64 version | parts digest | object
//	completed by age 0x29 | be64 version | name(upload id)           fmt
//	annotation      0x2A | be64 bucket id | name(key) | be64 ^object version | be64 ^stamp
//	                                                                 fmt | tags | acl
//	annotated       0x2B | be64 bucket id                            fmt  (the bucket has annotations; read
//	                                                                 only for bucket records older than fmtV3)
//	lease           0x30 | be64 bucket id                            fmt | be64 expires (lease clock, Unix ns)
//	lease by time   0x31 | be64 expires | be64 bucket id             fmt
//	access key      0x32 | name(access key id)                       fmt | access key record (secret sealed;
//	                                                                 fmtV4: with fork permission and prefix)
//	key by bucket   0x33 | be64 bucket id | name(access key id)      fmt
//	key by expiry   0x34 | be64 expires | name(access key id)        fmt
//	merge point     0x35 | be64 parent id | be64 fork id | be64 ver  fmt
//	step journal    0x36                                             fmt | be64 raft index | be64 version | state
//	merged key      0x37 | be64 fork id | name(key)                  fmt | be64 version of the last merge that applied it
//	bucket access   0x38 | be64 bucket id | be64 ^version            fmt | ownership | acl (the settings from that
//	                                                                 version on; acl.go) [| policy | public access
//	                                                                 block | tags] (fmtV2; bucketconfig.go)
//	user            0x3A | name(user name)                           fmt | canonical id | display name | created (user.go)
//	user key        0x3B | name(access key id)                       fmt | name(user) | main (the user's own key)
//	index floor     0x40 | prefix byte of an age index               fmt | key at or below every live key of that
//	                                                                 index (ageindex.go; also of the lifecycle
//	                                                                 family 0x48, lifecycle.go)
//	merge hold      0x41 | be64 bucket id                            fmt | be64 fork id (a merge of that fork under way
//	                                                                 holds this bucket, its parent or itself)
//	merge under way 0x42 | be64 fork id                              fmt | be64 parent id | be64 version of its last
//	                                                                 entry | merge state (merge.go)
//	lifecycle       0x48 | be64 bucket id                            fmt | rules | document (lifecycle.go)
//	lifecycle pass  0x49                                             fmt | be64 bucket id | bytes(seek key) | first
//	                                                                 key left (the cursor of the pass under way)
//	lifecycle floor 0x4A | be64 bucket id                            fmt | floor key | least key written since the
//	                                                                 pass entered the bucket (lifecycle.go)
//	bucket CORS     0x4C | be64 bucket id                            fmt | CORS rules (cors.go)
//	bucket SSE      0x4D | be64 bucket id                            fmt | default encryption (encryption.go)
//	snapshot view   0x50 | be64 bucket id                            fmt  (the bucket is a read-only snapshot view, view.go)
//	name claim      0x5C | name(bucket name)                         fmt | be64 shard | uvarint pending creations |
//	                                                                 be64 bucket id (directory shard only, directory.go)
//	placement       0x60 | be64 shard                                fmt | uvarint n | n * (uvarint node id | uvarint
//	                                                                 replica id) (directory shard only, placement.go)
//	leaving         0x61 | be64 node id                              fmt (the node is leaving, placement.go)
//	inherited annotation 0x68 | be64 bucket id | name(key) | be64 ^version of the parent's shard | be64 ^stamp
//	                                                                 fmt | tags | acl (a fork's annotation of a version
//	                                                                 it inherits from its parent on another shard)
//
// name(s) is the order-preserving, prefix-free encoding of arbitrary bytes:
// 0x00 becomes 0x00 0xFF and the string ends with 0x00 0x01. So
// name(a) < name(b) iff a < b, no encoding is a prefix of another, and the
// encoding of a prefix p (without terminator) is a byte prefix of name(k)
// exactly when p is a prefix of k. ^version is the bitwise complement of the
// version so that a key's versions sort newest first.
//
// Every value begins with a format-version byte (fmtV1); decoders of older
// formats are kept when a format changes.
const (
	pfxApplied      byte = 0x01
	pfxCounter      byte = 0x02
	pfxBucketName   byte = 0x03
	pfxBucket       byte = 0x04
	pfxSnapshot     byte = 0x05
	pfxSnapshotName byte = 0x06
	pfxFork         byte = 0x07
	pfxObject       byte = 0x08
	pfxUpload       byte = 0x09
	pfxUploadID     byte = 0x0A
	pfxPart         byte = 0x0B
	pfxChunkRef     byte = 0x0C
	pfxGCQueue      byte = 0x0D
	pfxRequest      byte = 0x0E
	pfxRequestAge   byte = 0x0F
	pfxGCPending    byte = 0x10
	pfxNode         byte = 0x20
	// 0x28-0x2F: S3 conformance state.
	pfxCompleted    byte = 0x28
	pfxCompletedAge byte = 0x29
	pfxAnnotation   byte = 0x2A
	pfxAnnotated    byte = 0x2B
	// 0x30-0x3F: access keys, leases, merges.
	pfxLease       byte = 0x30
	pfxLeaseByTime byte = 0x31
	pfxAccessKey   byte = 0x32
	pfxKeyByBucket byte = 0x33
	pfxKeyByExpiry byte = 0x34
	pfxMergePoint  byte = 0x35
	pfxJournal     byte = 0x36
	pfxMergedKey   byte = 0x37
	// 0x38-0x3F: authorization history.
	pfxBucketAccess byte = 0x38
	// 0x3A-0x3B: users (0x39 was the index floor of an earlier build).
	pfxUser    byte = 0x3A
	pfxUserKey byte = 0x3B
	// 0x40: queue bookkeeping.
	pfxIndexFloor byte = 0x40
	// 0x41-0x47: merges applied in several entries.
	pfxMergeHold  byte = 0x41
	pfxMergeUnder byte = 0x42
	// 0x48-0x4B: lifecycle.
	pfxLifecycle       byte = 0x48
	pfxLifecycleCursor byte = 0x49
	pfxLifecycleFloor  byte = 0x4A
	// 0x4C-0x4F: bucket configuration (CORS, default encryption).
	pfxBucketCORS       byte = 0x4C
	pfxBucketEncryption byte = 0x4D
	// 0x50-0x57: snapshot views.
	pfxView byte = 0x50
	// 0x5C-0x5F: the directory of metadata shards.
	pfxNameClaim byte = 0x5C
	// 0x5D-0x5E: forks on another shard than their parent (xfork.go):
	// pins not settled yet (parent's shard), aborted intents and pins to
	// release (fork's shard).
	pfxPinIntent  byte = 0x5D
	pfxRemoteFork byte = 0x5E
	// 0x5F: merges of forks into their parents on other shards
	// (xmerge.go): merges under way, ended and given up (parent's shard),
	// forks held (fork's shard).
	pfxRemoteMerge byte = 0x5F
	// 0x60-0x61: the placement of data shard replicas (placement.go,
	// directory shard only).
	pfxPlacement byte = 0x60
	pfxLeaving   byte = 0x61
	// 0x68: annotations a fork on another shard than its parent makes of
	// versions it inherits from there (xannotate.go).
	pfxRemoteAnnotation byte = 0x68
)

// Counter ids under pfxCounter.
const (
	ctrNextBucketID byte = 1
	ctrLastVersion  byte = 2
	// ctrKeysGeneration is the version of the last command that changed an
	// access key or the lease of a bucket in a key's scope: nodes drop
	// their cached keys when it moves.
	ctrKeysGeneration byte = 30
	// ctrMetaShards is the number of metadata shards of the cluster
	// (directory shard only; directory.go).
	ctrMetaShards byte = 31
	// ctrMetaReplicas is the number of replicas of each data shard
	// (directory shard only; placement.go). Absent: 0.
	ctrMetaReplicas byte = 32
)

// Value formats. fmtV1 is the first; fmtV2 marks values that embed object
// bodies (object versions, uploads, results, completed uploads) carrying
// the object's ACL; fmtV3 marks values that embed bucket fields (bucket
// records, results) carrying the bucket's ownership and ACL, as well as
// object bodies with their ACL; fmtV4 marks values that embed access keys
// (access key records, results) carrying the key's fork permission and
// fork prefix, as well as everything fmtV3 carries; fmtV5 marks values
// that embed object bodies (with their Object Lock state) or bucket fields
// (with the bucket's Object Lock configuration), as well as everything
// fmtV4 carries; fmtV6 marks values that embed object bodies with their
// server-side encryption (algorithm, sealed data key, SSE-C key check,
// stored size), as well as everything fmtV5 carries. Decoders read all
// six.
const (
	fmtV1 byte = 1
	fmtV2 byte = 2
	fmtV3 byte = 3
	fmtV4 byte = 4
	fmtV5 byte = 5
	fmtV6 byte = 6
)

// appendEscaped appends s with every 0x00 turned into 0x00 0xFF.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 {
			dst = append(dst, 0, 0xFF)
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// appendName appends the order-preserving encoding of s (escaped, then the
// 0x00 0x01 terminator).
func appendName(dst []byte, s string) []byte {
	return append(appendEscaped(dst, s), 0, 1)
}

// readName decodes a name at the start of b and returns it with the rest of
// b. ok is false when b does not start with a well-formed name.
func readName(b []byte) (s string, rest []byte, ok bool) {
	// Fast path: no escapes.
	for i := 0; i < len(b); i++ {
		if b[i] != 0 {
			continue
		}
		if i+1 >= len(b) {
			return "", nil, false
		}
		if b[i+1] == 1 {
			return string(b[:i]), b[i+2:], true
		}
		break
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != 0 {
			out = append(out, c)
			continue
		}
		if i+1 >= len(b) {
			return "", nil, false
		}
		switch b[i+1] {
		case 0xFF:
			out = append(out, 0)
			i++
		case 1:
			return string(out), b[i+2:], true
		default:
			return "", nil, false
		}
	}
	return "", nil, false
}

// prefixSuccessor returns the smallest byte string greater than every
// string that starts with p, or nil when there is none (p is all 0xFF).
func prefixSuccessor(p []byte) []byte {
	s := append([]byte(nil), p...)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] != 0xFF {
			s[i]++
			return s[:i+1]
		}
	}
	return nil
}

func appendU64(dst []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(dst, v) }

func keyApplied() []byte { return []byte{pfxApplied} }

func keyCounter(id byte) []byte { return []byte{pfxCounter, id} }

func keyIndexFloor(prefix byte) []byte { return []byte{pfxIndexFloor, prefix} }

func keyBucketName(name string) []byte { return appendName([]byte{pfxBucketName}, name) }

func keyBucket(id uint64) []byte { return appendU64([]byte{pfxBucket}, id) }

func keySnapshotPrefix(bucket uint64) []byte { return appendU64([]byte{pfxSnapshot}, bucket) }

func keySnapshot(bucket, version uint64) []byte {
	return appendU64(keySnapshotPrefix(bucket), version)
}

func keySnapshotName(bucket uint64, name string) []byte {
	return appendName(appendU64([]byte{pfxSnapshotName}, bucket), name)
}

func keyForkPrefix(parent uint64) []byte { return appendU64([]byte{pfxFork}, parent) }

func keyFork(parent, base, child uint64) []byte {
	return appendU64(appendU64(keyForkPrefix(parent), base), child)
}

// parseForkKey returns (base, child) of a fork index key.
func parseForkKey(k []byte) (base, child uint64, ok bool) {
	if len(k) != 25 || k[0] != pfxFork {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(k[9:]), binary.BigEndian.Uint64(k[17:]), true
}

// keyObjectBucket is the prefix of all of a bucket's object versions.
func keyObjectBucket(bucket uint64) []byte { return appendU64([]byte{pfxObject}, bucket) }

// keyObjectKey is the prefix of all versions of one key.
func keyObjectKey(bucket uint64, key string) []byte {
	return appendName(keyObjectBucket(bucket), key)
}

func keyObject(bucket uint64, key string, version uint64) []byte {
	return appendU64(keyObjectKey(bucket, key), ^version)
}

// parseObjectKey splits an object version key into its parts.
func parseObjectKey(k []byte) (bucket uint64, key string, version uint64, ok bool) {
	if len(k) < 1+8+2+8 || k[0] != pfxObject {
		return 0, "", 0, false
	}
	bucket = binary.BigEndian.Uint64(k[1:9])
	key, rest, ok := readName(k[9:])
	if !ok || len(rest) != 8 {
		return 0, "", 0, false
	}
	return bucket, key, ^binary.BigEndian.Uint64(rest), true
}

func keyUploadBucket(bucket uint64) []byte { return appendU64([]byte{pfxUpload}, bucket) }

func keyUpload(bucket uint64, key, uploadID string) []byte {
	return appendName(appendName(keyUploadBucket(bucket), key), uploadID)
}

func parseUploadKey(k []byte) (bucket uint64, key, uploadID string, ok bool) {
	if len(k) < 1+8+4 || k[0] != pfxUpload {
		return 0, "", "", false
	}
	bucket = binary.BigEndian.Uint64(k[1:9])
	key, rest, ok := readName(k[9:])
	if !ok {
		return 0, "", "", false
	}
	uploadID, rest, ok = readName(rest)
	if !ok || len(rest) != 0 {
		return 0, "", "", false
	}
	return bucket, key, uploadID, true
}

func keyUploadID(uploadID string) []byte { return appendName([]byte{pfxUploadID}, uploadID) }

func keyPartPrefix(uploadID string) []byte { return appendName([]byte{pfxPart}, uploadID) }

func keyPart(uploadID string, number int) []byte {
	return binary.BigEndian.AppendUint32(keyPartPrefix(uploadID), uint32(number))
}

func keyChunkRef(chunkID string) []byte { return appendName([]byte{pfxChunkRef}, chunkID) }

func keyGCQueue(version uint64, chunkID string) []byte {
	return appendName(appendU64([]byte{pfxGCQueue}, version), chunkID)
}

func parseGCQueueKey(k []byte) (version uint64, chunkID string, ok bool) {
	if len(k) < 1+8+2 || k[0] != pfxGCQueue {
		return 0, "", false
	}
	version = binary.BigEndian.Uint64(k[1:9])
	chunkID, rest, ok := readName(k[9:])
	if !ok || len(rest) != 0 {
		return 0, "", false
	}
	return version, chunkID, true
}

func keyRequest(id string) []byte { return appendName([]byte{pfxRequest}, id) }

func keyRequestAge(version uint64, id string) []byte {
	return appendName(appendU64([]byte{pfxRequestAge}, version), id)
}

func keyNode(id uint64) []byte            { return appendU64([]byte{pfxNode}, id) }
func keyCompleted(uploadID string) []byte { return appendName([]byte{pfxCompleted}, uploadID) }

func keyCompletedAge(version uint64, uploadID string) []byte {
	return appendName(appendU64([]byte{pfxCompletedAge}, version), uploadID)
}

func keyAnnotationBucket(bucket uint64) []byte { return appendU64([]byte{pfxAnnotation}, bucket) }

// keyAnnotationVersion is the prefix of the annotations of one object
// version (newest stamp first).
func keyAnnotationVersion(bucket uint64, key string, version uint64) []byte {
	return appendU64(appendName(keyAnnotationBucket(bucket), key), ^version)
}

func keyAnnotation(bucket uint64, key string, version, stamp uint64) []byte {
	return appendU64(keyAnnotationVersion(bucket, key, version), ^stamp)
}

// parseAnnotationKey splits an annotation key into its parts.
func parseAnnotationKey(k []byte) (bucket uint64, key string, version, stamp uint64, ok bool) {
	if len(k) < 1+8+2+16 || k[0] != pfxAnnotation {
		return 0, "", 0, 0, false
	}
	bucket = binary.BigEndian.Uint64(k[1:9])
	key, rest, ok := readName(k[9:])
	if !ok || len(rest) != 16 {
		return 0, "", 0, 0, false
	}
	return bucket, key, ^binary.BigEndian.Uint64(rest[:8]), ^binary.BigEndian.Uint64(rest[8:]), true
}

func keyRemoteAnnotationBucket(bucket uint64) []byte {
	return appendU64([]byte{pfxRemoteAnnotation}, bucket)
}

// keyRemoteAnnotationVersion is the prefix of a fork's annotations of
// one version it inherits from its parent on another shard (a version of
// that shard, so a family of its own: it may equal one of the fork's).
func keyRemoteAnnotationVersion(bucket uint64, key string, version uint64) []byte {
	return appendU64(appendName(keyRemoteAnnotationBucket(bucket), key), ^version)
}

func keyRemoteAnnotation(bucket uint64, key string, version, stamp uint64) []byte {
	return appendU64(keyRemoteAnnotationVersion(bucket, key, version), ^stamp)
}

func keyAnnotated(bucket uint64) []byte { return appendU64([]byte{pfxAnnotated}, bucket) }

func keyGCPending(bucket uint64) []byte { return appendU64([]byte{pfxGCPending}, bucket) }

func keyLease(bucket uint64) []byte { return appendU64([]byte{pfxLease}, bucket) }

func keyLeaseByTime(expires int64, bucket uint64) []byte {
	return appendU64(appendU64([]byte{pfxLeaseByTime}, uint64(expires)), bucket)
}

func keyAccessKey(id string) []byte { return appendName([]byte{pfxAccessKey}, id) }

func keyKeyByBucketPrefix(bucket uint64) []byte { return appendU64([]byte{pfxKeyByBucket}, bucket) }

func keyKeyByBucket(bucket uint64, id string) []byte {
	return appendName(keyKeyByBucketPrefix(bucket), id)
}

func keyKeyByExpiry(expires int64, id string) []byte {
	return appendName(appendU64([]byte{pfxKeyByExpiry}, uint64(expires)), id)
}

// keyMergePointsOf is the prefix of the merge points of the forks of
// parent (or, with a fork id, of that fork).
func keyMergePointsOf(parent uint64, fork ...uint64) []byte {
	k := appendU64([]byte{pfxMergePoint}, parent)
	for _, f := range fork {
		k = appendU64(k, f)
	}
	return k
}

func keyMergePoint(parent, fork, version uint64) []byte {
	return appendU64(keyMergePointsOf(parent, fork), version)
}

func keyJournal() []byte { return []byte{pfxJournal} }

func keyBucketAccessPrefix(bucket uint64) []byte { return appendU64([]byte{pfxBucketAccess}, bucket) }

func keyBucketAccess(bucket, version uint64) []byte {
	return appendU64(keyBucketAccessPrefix(bucket), ^version)
}

func keyUser(name string) []byte { return appendName([]byte{pfxUser}, name) }

func keyUserKey(id string) []byte { return appendName([]byte{pfxUserKey}, id) }

func keyMergedKeys(fork uint64) []byte { return appendU64([]byte{pfxMergedKey}, fork) }

func keyMergedKey(fork uint64, key string) []byte { return appendName(keyMergedKeys(fork), key) }

func keyMergeHold(bucket uint64) []byte { return appendU64([]byte{pfxMergeHold}, bucket) }

func keyMergeUnderWay(fork uint64) []byte { return appendU64([]byte{pfxMergeUnder}, fork) }

func keyView(bucket uint64) []byte      { return appendU64([]byte{pfxView}, bucket) }
func keyLifecycle(bucket uint64) []byte { return appendU64([]byte{pfxLifecycle}, bucket) }

func keyLifecycleCursor() []byte { return []byte{pfxLifecycleCursor} }

func keyLifecycleFloor(bucket uint64) []byte { return appendU64([]byte{pfxLifecycleFloor}, bucket) }

// beU64 decodes a big-endian uint64 value body, checking its length.
func beU64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: want 8 bytes, have %d", ErrCorrupt, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

func keyBucketCORS(bucket uint64) []byte { return appendU64([]byte{pfxBucketCORS}, bucket) }

func keyBucketEncryption(bucket uint64) []byte {
	return appendU64([]byte{pfxBucketEncryption}, bucket)
}
