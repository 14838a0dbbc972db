package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/forkstore/forkstore/gateway/checksum"
	"github.com/forkstore/forkstore/meta"
)

// MaxKeyLength is the longest object key S3 accepts, in bytes.
const MaxKeyLength = 1024

// defaultChecksum is what AWS stores for an object uploaded without one.
const defaultChecksum = "CRC64NVME"

func checkKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	case len(key) > MaxKeyLength:
		return fmt.Errorf("%w: %d bytes", ErrKeyTooLong, len(key))
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: key is not UTF-8", ErrInvalidKey)
	}
	return nil
}

func checkBucketKey(bucket, key string) error {
	if err := checkBucketName(bucket); err != nil {
		return err
	}
	return checkKey(key)
}

// PutObject streams a body to the chunk store and commits its manifest.
func (s *Service) PutObject(ctx context.Context, in *PutObjectInput) (*meta.Object, error) {
	if err := checkBucketKey(in.Bucket, in.Key); err != nil {
		return nil, err
	}
	if in.Size > s.node.cfg.MaxObjectSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrEntityTooLarge, in.Size)
	}
	// Before streaming a large body anywhere, make sure it has a home
	// (reading the bucket's default encryption checks that too).
	sse, assumed, err := s.putSSE(ctx, in)
	if err != nil {
		return nil, err
	}
	cmd, err := s.ingestPut(ctx, in, in.Body, in.Size, sse, in.Verify)
	if err != nil {
		return nil, err
	}
	if assumed != nil {
		cmd.CheckDefault, cmd.DefaultAssumed = true, *assumed
	}
	o, err := s.commitObject(ctx, cmd, cmd.Object.Chunks)
	if errors.Is(err, meta.ErrDefaultEncryptionChanged) {
		return s.putUnderDefault(ctx, in, &cmd.Object)
	}
	return o, err
}

// ingestPut stores the body of a PutObject under encryption sse and
// returns the command that commits it (verify, when set, checks the
// body's digests first).
func (s *Service) ingestPut(ctx context.Context, in *PutObjectInput, body io.Reader, size int64, sse meta.SSE,
	verify func(*checksum.Digests) error) (*meta.PutObject, error) {
	enc, err := s.newSSEWriter(sse, in.CustomerKey)
	if err != nil {
		return nil, err
	}
	alg := in.Object.Checksum.Algorithm
	if alg == "" {
		alg = defaultChecksum
	}
	opts := IngestOptions{
		ChunkSize: s.node.cfg.ChunkSize,
		InlineMax: s.node.cfg.InlineMax,
		MaxSize:   s.node.cfg.MaxObjectSize,
		Algorithm: alg,
	}
	if enc != nil {
		opts.Seal = enc.seal
	}
	ing, err := s.ingest(ctx, body, size, opts)
	if err != nil {
		return nil, err
	}
	if verify != nil {
		if err := verify(&ing.Digests); err != nil {
			s.node.chunks.Discard(ing.Chunks)
			return nil, err
		}
	}
	obj := in.Object
	obj.Key = in.Key
	if err := s.setIngested(&obj, enc, ing, alg); err != nil {
		return nil, err
	}
	return &meta.PutObject{Bucket: in.Bucket, Object: obj, IfMatch: in.IfMatch, IfNoneMatch: in.IfNoneMatch, Checked: in.Checked}, nil
}

// putUnderDefault writes again a PutObject that apply refused because
// the bucket's default encryption was not the one its writer had read
// without a leader round (putSSE): it reads the default linearizably,
// stores the body it had stored (first) again under that default, as
// copyReencrypt does, and commits it; then first's chunks go.
func (s *Service) putUnderDefault(ctx context.Context, in *PutObjectInput, first *meta.Object) (*meta.Object, error) {
	defer s.node.chunks.Discard(first.Chunks)
	sse, err := s.objectSSE(ctx, in.Bucket, in.Object.SSE)
	if err != nil {
		return nil, err
	}
	rc, err := s.OpenObject(ctx, first, 0, first.Size)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	cmd, err := s.ingestPut(ctx, in, rc, first.Size, sse, nil)
	if err != nil {
		return nil, err
	}
	return s.commitObject(ctx, cmd, cmd.Object.Chunks)
}

// commitObject proposes a write of fresh chunks. When the command was
// applied and refused (a business outcome), the chunks are deleted at
// once, unless the refusal was the bucket's default encryption
// (putUnderDefault reads them back); when its fate is unknown (timeout),
// they are left for the sweeper.
func (s *Service) commitObject(ctx context.Context, cmd *meta.PutObject, fresh []meta.Chunk) (*meta.Object, error) {
	res, err := s.proposePut(ctx, cmd)
	if err != nil {
		if !isUnavailable(err) && !errors.Is(err, meta.ErrDefaultEncryptionChanged) {
			s.node.chunks.Discard(fresh)
		}
		return nil, err
	}
	return resultObject(res, &cmd.Object), nil
}

// resultObject is the written record as the caller sees it.
func resultObject(res *meta.Result, sent *meta.Object) *meta.Object {
	if res.Object != nil {
		return res.Object
	}
	o := *sent
	o.Version = res.Version
	return &o
}

// HeadObject returns an object version's record (read-through for forks).
// A delete marker as the latest version yields meta.ErrNoSuchKey; asking
// for a delete marker by VersionID yields the record with DeleteMarker set
// together with meta.ErrMethodNotAllowed.
func (s *Service) HeadObject(ctx context.Context, in GetObjectInput) (*meta.Object, error) {
	if err := checkBucketKey(in.Bucket, in.Key); err != nil {
		if errors.Is(err, ErrInvalidBucketName) {
			return nil, fmt.Errorf("%w: %q", meta.ErrNoSuchBucket, in.Bucket)
		}
		return nil, err
	}
	x, err := readAsB[*meta.ObjectRead](ctx, s, in.Bucket, meta.GetObjectQuery{Bucket: in.Bucket, Key: in.Key, VersionID: in.VersionID, At: in.At})
	if err != nil {
		return nil, err
	}
	obj, err := x.Result()
	return s.readInherited(ctx, in.Bucket, in.At, obj, err, in.Key, in.VersionID)
}

// OpenObject returns a reader of obj's bytes [offset, offset+length)
// (decrypted, for an object stored with SSE-S3).
func (s *Service) OpenObject(ctx context.Context, obj *meta.Object, offset, length int64) (ReadCloser, error) {
	return s.OpenObjectKey(ctx, obj, nil, offset, length)
}

// OpenObjectKey is OpenObject with the SSE-C key a request sent (nil:
// none).
func (s *Service) OpenObjectKey(ctx context.Context, obj *meta.Object, customerKey []byte, offset, length int64) (ReadCloser, error) {
	if offset < 0 || length < 0 || offset+length > obj.Size {
		return nil, fmt.Errorf("%w: [%d, %d) of %d", ErrInvalidRange, offset, offset+length, obj.Size)
	}
	if err := CheckCustomerKey(obj, customerKey); err != nil {
		return nil, err
	}
	if !obj.SSE.Encrypted() {
		return primed(s.openStored(obj, offset, length))
	}
	key, err := s.dataKey(obj, customerKey)
	if err != nil {
		return nil, err
	}
	if obj.Parts != nil {
		return sseOpenParts(key, obj.Parts, offset, length, func(soff, sn int64) io.ReadCloser {
			return s.openStored(obj, soff, sn)
		}), nil
	}
	return sseOpen(key, obj.Size, offset, length, func(soff, sn int64) (io.ReadCloser, error) {
		return primed(s.openStored(obj, soff, sn))
	})
}

// primed returns rc once the first chunk it reads is known to be readable
// (block's Prime): a chunk that neither this node nor another member can
// serve is then an error answer, not a body cut short.
func primed(rc ReadCloser) (ReadCloser, error) {
	if p, ok := rc.(interface{ Prime() error }); ok {
		if err := p.Prime(); err != nil {
			rc.Close()
			return nil, err
		}
	}
	return rc, nil
}

// openStored reads the stored bytes [offset, offset+length) of obj.
func (s *Service) openStored(obj *meta.Object, offset, length int64) ReadCloser {
	rc := s.newObjectReader(obj.Inline, obj.Chunks, offset, length)
	return rc
}

// DeleteObject deletes a key or one version of it, if the key's current
// version meets cond (checked in apply, so it holds under concurrency).
// bypassGovernance lets it remove a version under GOVERNANCE retention
// (x-amz-bypass-governance-retention, for a principal allowed to).
func (s *Service) DeleteObject(ctx context.Context, bucket, key, versionID string, cond meta.DeleteCondition, bypassGovernance bool) (DeleteResult, error) {
	if err := checkBucketKey(bucket, key); err != nil {
		return DeleteResult{}, err
	}
	cmd := &meta.DeleteObject{Bucket: bucket, Key: key, VersionID: versionID, DeleteCondition: cond,
		BypassGovernance: bypassGovernance}
	res, err := s.proposeB(ctx, bucket, cmd)
	if errors.Is(err, meta.ErrRemoteParent) {
		// The condition, or the tombstone of an unversioned fork, needs
		// the view of the fork's parent on another shard (xfork.go).
		var v *meta.InheritedView
		if v, err = s.inheritedView(ctx, bucket, key); err == nil {
			cmd.Header = meta.Header{}
			if v == nil {
				res, err = s.proposeB(ctx, bucket, cmd)
			} else {
				res, err = s.proposeB(ctx, bucket, &meta.DeleteObjectInherited{DeleteObject: *cmd, Inherited: *v})
			}
		}
	}
	if err != nil {
		return DeleteResult{}, err
	}
	if len(res.Deleted) == 0 {
		return DeleteResult{Key: key}, nil
	}
	return deleteResult(res.Deleted[0]), nil
}

func deleteResult(d meta.DeleteOutcome) DeleteResult {
	r := DeleteResult{Key: d.Key, VersionID: d.VersionID, DeleteMarker: d.DeleteMarker, Err: d.Err}
	if d.MarkerVersion != 0 {
		r.DeleteMarkerVersionID = fmt.Sprint(d.MarkerVersion)
	}
	return r
}

// deleteObjectsPerCommand is how many keys of a multi-object delete one
// command deletes. S3 deletes each key on its own, so a request of 1,000
// keys is proposed as several commands at once: one command of 1,000 keys
// made apply sort its thousands of pending writes for every key (45% of
// the CPU while buckets were being emptied).
const deleteObjectsPerCommand = 32

// DeleteObjects deletes a batch of keys, in commands of at most
// deleteObjectsPerCommand keys proposed together; per-key errors are in the
// results.
func (s *Service) DeleteObjects(ctx context.Context, bucket string, items []meta.DeleteItem, bypassGovernance bool) ([]DeleteResult, error) {
	if err := checkBucketName(bucket); err != nil {
		return nil, err
	}
	out := make([]DeleteResult, len(items))
	valid := make([]meta.DeleteItem, 0, len(items))
	idx := make([]int, 0, len(items))
	for i, it := range items {
		if err := checkKey(it.Key); err != nil {
			out[i] = DeleteResult{Key: it.Key, VersionID: it.VersionID, Err: err}
			continue
		}
		valid = append(valid, it)
		idx = append(idx, i)
	}
	if len(valid) == 0 {
		return out, nil
	}
	var wg sync.WaitGroup
	errs := make([]error, (len(valid)+deleteObjectsPerCommand-1)/deleteObjectsPerCommand)
	for c := range errs {
		from := c * deleteObjectsPerCommand
		to := min(from+deleteObjectsPerCommand, len(valid))
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.proposeB(ctx, bucket, &meta.DeleteObjects{Bucket: bucket, Items: valid[from:to], BypassGovernance: bypassGovernance})
			if err != nil {
				errs[c] = err
				return
			}
			for j, d := range res.Deleted {
				if from+j < to {
					out[idx[from+j]] = deleteResult(d)
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for i, r := range out {
		if !errors.Is(r.Err, meta.ErrRemoteParent) {
			continue
		}
		// A key a fork on another shard than its parent inherits (or
		// not): deleted on its own, with the parent's view (xfork.go).
		it := items[i]
		d, err := s.DeleteObject(ctx, bucket, it.Key, it.VersionID, it.DeleteCondition, bypassGovernance)
		if err != nil {
			if isUnavailable(err) {
				return nil, err
			}
			d = DeleteResult{Key: it.Key, VersionID: it.VersionID, Err: err}
		}
		out[i] = d
	}
	return out, nil
}

// setIngested fills obj's data fields from what ingest stored (a single
// PUT's: no parts), sealing it first when enc encrypts it; on failure the
// stored chunks are discarded.
func (s *Service) setIngested(obj *meta.Object, enc *sseWriter, ing *IngestResult, alg string) error {
	obj.SSE = meta.SSE{}
	if enc != nil {
		var err error
		if obj.SSE, err = enc.finish(ing); err != nil {
			s.node.chunks.Discard(ing.Chunks)
			return err
		}
	}
	obj.Size = ing.Size
	obj.ETag = checksum.ETag(ing.Digests.MD5)
	obj.Checksum = meta.Checksum{Algorithm: alg, Type: "FULL_OBJECT", Value: checksum.Encode(ing.Digests.Sum)}
	obj.Inline = ing.Inline
	obj.Chunks = ing.Chunks
	obj.Parts = nil
	return nil
}

// CopyObject writes Source under the destination, sharing its data.
func (s *Service) CopyObject(ctx context.Context, in *CopyObjectInput) (*meta.Object, error) {
	if err := checkBucketKey(in.DstBucket, in.DstKey); err != nil {
		return nil, err
	}
	src := in.Source
	obj := meta.Object{}
	if in.Replace {
		obj = in.Object
	} else {
		obj.ContentType = src.ContentType
		obj.CacheControl = src.CacheControl
		obj.ContentDisposition = src.ContentDisposition
		obj.ContentEncoding = src.ContentEncoding
		obj.ContentLanguage = src.ContentLanguage
		obj.Expires = src.Expires
		obj.UserMeta = src.UserMeta
	}
	obj.Tags = src.Tags
	if in.ReplaceTags {
		obj.Tags = in.Tags
	}
	obj.ACL = in.ACL
	obj.LockMode, obj.RetainUntil, obj.LegalHold = in.Lock.LockMode, in.Lock.RetainUntil, in.Lock.LegalHold
	obj.Key = in.DstKey
	sse, err := s.objectSSE(ctx, in.DstBucket, in.SSE)
	if err != nil {
		return nil, err
	}
	if reencrypt(src, sse, in.SourceCustomerKey) {
		return s.copyReencrypt(ctx, in, obj, sse)
	}
	if len(src.Chunks) > 0 && (in.SourceBucket != in.DstBucket || src.ChunkShard != 0) && s.node.shards.count() > 1 {
		// Chunk references are counted per shard: a copy into another
		// shard's bucket, or of a version a fork inherits from its
		// parent on another shard, shares no chunk.
		same := false
		if in.SourceBucket != "" {
			var err error
			if same, err = s.sameChunkShard(ctx, in.SourceBucket, src.ChunkShard, in.DstBucket); err != nil {
				return nil, err
			}
		}
		if !same {
			return s.copyReencrypt(ctx, in, obj, src.SSE)
		}
	}
	obj.SSE = src.SSE
	obj.Size = src.Size
	obj.ETag = src.ETag
	obj.Checksum = src.Checksum
	obj.Inline = src.Inline
	obj.Chunks = src.Chunks
	obj.Parts = src.Parts
	if alg := checksum.Canonical(in.ChecksumAlgorithm); alg != "" && alg != src.Checksum.Algorithm {
		sum, err := s.digest(ctx, src, alg)
		if err != nil {
			return nil, err
		}
		obj.Checksum = meta.Checksum{Algorithm: alg, Type: "FULL_OBJECT", Value: checksum.Encode(sum)}
	} else if in.ChecksumAlgorithm != "" && alg == "" {
		return nil, fmt.Errorf("%w: checksum algorithm %q", ErrMalformedRequest, in.ChecksumAlgorithm)
	}
	res, err := s.proposePut(ctx, &meta.PutObject{
		Bucket: in.DstBucket, Object: obj, IfMatch: in.IfMatch, IfNoneMatch: in.IfNoneMatch,
		SharedChunks: len(obj.Chunks) > 0, Checked: true,
	})
	if err != nil {
		return nil, err
	}
	return resultObject(res, &obj), nil
}

// reencrypt reports whether a copy must rewrite the source's bytes: it
// shares them only when both are plaintext or both SSE-S3 (the sealed
// data key is shared with the chunks).
func reencrypt(src *meta.Object, dst meta.SSE, srcCustomerKey []byte) bool {
	if src.SSE.Algorithm == meta.SSECustomer || dst.Algorithm == meta.SSECustomer || srcCustomerKey != nil {
		return true
	}
	return src.SSE.Algorithm != dst.Algorithm
}

// copyReencrypt is CopyObject between encryption modes: it reads the
// source's plaintext and stores it again under the destination's
// encryption (a fresh data key, fresh chunks).
func (s *Service) copyReencrypt(ctx context.Context, in *CopyObjectInput, obj meta.Object, sse meta.SSE) (*meta.Object, error) {
	src := in.Source
	enc, err := s.newSSEWriter(sse, in.CustomerKey)
	if err != nil {
		return nil, err
	}
	alg := checksum.Canonical(in.ChecksumAlgorithm)
	if in.ChecksumAlgorithm != "" && alg == "" {
		return nil, fmt.Errorf("%w: checksum algorithm %q", ErrMalformedRequest, in.ChecksumAlgorithm)
	}
	if alg == "" && src.Checksum.Type == "FULL_OBJECT" {
		alg = src.Checksum.Algorithm
	}
	if alg == "" {
		alg = defaultChecksum
	}
	rc, err := s.OpenObjectKey(ctx, src, in.SourceCustomerKey, 0, src.Size)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	opts := IngestOptions{
		ChunkSize: s.node.cfg.ChunkSize,
		InlineMax: s.node.cfg.InlineMax,
		MaxSize:   s.node.cfg.MaxObjectSize,
		Algorithm: alg,
	}
	if enc != nil {
		opts.Seal = enc.seal
	}
	ing, err := s.ingest(ctx, rc, src.Size, opts)
	if err != nil {
		return nil, err
	}
	if err := s.setIngested(&obj, enc, ing, alg); err != nil {
		return nil, err
	}
	return s.commitObject(ctx, &meta.PutObject{
		Bucket: in.DstBucket, Object: obj, IfMatch: in.IfMatch, IfNoneMatch: in.IfNoneMatch, Checked: true,
	}, ing.Chunks)
}

// digest computes alg over an object's bytes.
func (s *Service) digest(ctx context.Context, obj *meta.Object, alg string) ([]byte, error) {
	h, err := checksum.New(alg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedRequest, err)
	}
	rc, err := s.OpenObject(ctx, obj, 0, obj.Size)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if _, err := io.Copy(h, rc); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// ListObjects pages through a bucket's keys (v1 and v2).
func (s *Service) ListObjects(ctx context.Context, bucket string, opts meta.ListOptions) (*meta.ListResult, error) {
	if !ValidBucketName(bucket) {
		return nil, fmt.Errorf("%w: %q", meta.ErrNoSuchBucket, bucket)
	}
	res, err := readAsB[*meta.ListResult](ctx, s, bucket, meta.ListQuery{Bucket: bucket, Opts: opts})
	var rr *meta.RemoteRead
	if errors.As(err, &rr) {
		return s.listMerged(ctx, bucket, rr, opts)
	}
	return res, err
}

// ListObjectVersions pages through a bucket's versions.
func (s *Service) ListObjectVersions(ctx context.Context, bucket string, opts meta.VersionListOptions) (*meta.VersionListResult, error) {
	if !ValidBucketName(bucket) {
		return nil, fmt.Errorf("%w: %q", meta.ErrNoSuchBucket, bucket)
	}
	res, err := readAsB[*meta.VersionListResult](ctx, s, bucket, meta.ListVersionsQuery{Bucket: bucket, Opts: opts})
	var rr *meta.RemoteRead
	if errors.As(err, &rr) {
		return s.listVersionsMerged(ctx, bucket, rr, opts)
	}
	return res, err
}

// AnnotateObjectInput changes what S3 lets a client change on an object
// version after the write: its tags and its ACL.
type AnnotateObjectInput struct {
	Bucket, Key string
	VersionID   string // "" is the latest version
	SetTags     bool
	Tags        map[string]string
	SetACL      bool
	ACL         string
}

// AnnotateObject sets the tags and/or the ACL of an object version (one
// inherited from a fork's parent included, changed in the fork only).
// Snapshots keep the values they saw.
func (s *Service) AnnotateObject(ctx context.Context, in AnnotateObjectInput) (*meta.Object, error) {
	if err := checkBucketKey(in.Bucket, in.Key); err != nil {
		return nil, err
	}
	cmd := meta.AnnotateObject{
		Bucket: in.Bucket, Key: in.Key, VersionID: in.VersionID,
		SetTags: in.SetTags, Tags: in.Tags, SetACL: in.SetACL, ACL: in.ACL,
	}
	res, err := s.proposeChangeOfVersion(ctx, in.Bucket, in.Key, in.VersionID, &cmd, &cmd.Header, func(v meta.InheritedVersion) any {
		return &meta.AnnotateObjectInherited{AnnotateObject: cmd, Inherited: v}
	})
	if err != nil {
		return nil, err
	}
	return res.Object, nil
}
