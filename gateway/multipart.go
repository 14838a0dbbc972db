package gateway

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/forkstore/forkstore/gateway/checksum"
	"github.com/forkstore/forkstore/meta"
)

// MinPartSize is the smallest size of every part but the last (S3's 5 MiB).
const MinPartSize = 5 << 20

// maxMultipartSize is the largest object S3 allows (5 TiB).
const maxMultipartSize = 5 << 40

// MaxParts is the largest part number S3 accepts.
const MaxParts = 10000

// CreateMultipartUpload starts an upload and returns its id.
func (s *Service) CreateMultipartUpload(ctx context.Context, bucket string, template meta.Object) (string, error) {
	id, _, err := s.CreateMultipartUploadKey(ctx, bucket, template, nil)
	return id, err
}

// CreateMultipartUploadKey is CreateMultipartUpload with encryption: a
// template.SSE asks for it (else the bucket's default applies) and
// customerKey is the SSE-C key (nil: none). It also returns the upload's
// encryption.
func (s *Service) CreateMultipartUploadKey(ctx context.Context, bucket string, template meta.Object, customerKey []byte) (string, meta.SSE, error) {
	if err := checkBucketKey(bucket, template.Key); err != nil {
		return "", meta.SSE{}, err
	}
	sse, err := s.objectSSE(ctx, bucket, template.SSE)
	if err != nil {
		return "", meta.SSE{}, err
	}
	enc, err := s.newSSEWriter(sse, customerKey)
	if err != nil {
		return "", meta.SSE{}, err
	}
	t := template
	t.SSE = meta.SSE{}
	if enc != nil {
		// The upload's data key, sealed; its parts are encrypted under
		// keys derived from it (sse.go).
		t.SSE = enc.sse
	}
	if t.Checksum.Algorithm == "" {
		// AWS gives objects uploaded without a checksum a full-object
		// CRC64NVME; parts then carry their CRCs so it can be combined.
		t.Checksum = meta.Checksum{Algorithm: defaultChecksum, Type: "FULL_OBJECT"}
	}
	if t.Checksum.Type == "" {
		t.Checksum.Type = defaultChecksumType(t.Checksum.Algorithm)
	}
	id := newID()
	if _, err := s.proposeB(ctx, bucket, &meta.CreateUpload{Bucket: bucket, UploadID: id, Template: t}); err != nil {
		return "", meta.SSE{}, err
	}
	return id, t.SSE, nil
}

// partSeal is IngestOptions.Seal for a part of up: nil when the upload is
// not encrypted. An SSE-C upload needs its key with every part.
func (s *Service) partSeal(up *meta.Upload, customerKey []byte) (func(io.Writer) (io.WriteCloser, error), error) {
	if err := CheckCustomerKey(&up.Template, customerKey); err != nil {
		return nil, err
	}
	if !up.Template.SSE.Encrypted() {
		return nil, nil
	}
	key, err := s.dataKey(&up.Template, customerKey)
	if err != nil {
		return nil, err
	}
	return sealPart(key), nil
}

// defaultChecksumType is the multipart checksum type AWS uses when the
// client names only the algorithm.
func defaultChecksumType(alg string) string {
	if alg == "CRC64NVME" {
		return "FULL_OBJECT"
	}
	return "COMPOSITE"
}

func (s *Service) upload(ctx context.Context, bucket, key, uploadID string) (*meta.Upload, error) {
	if err := checkBucketKey(bucket, key); err != nil {
		return nil, err
	}
	return readAsB[*meta.Upload](ctx, s, bucket, meta.UploadQuery{Bucket: bucket, Key: key, UploadID: uploadID})
}

// partUpload reads the upload a part is for. On a node that may have
// peers (a cluster key) it reads a replica as it stands (readStale),
// without a leader round per part: an upload's record does not change
// while it exists, and PutPart's apply refuses a part of an upload that
// is gone (completed, aborted, or its bucket deleted), so a replica that
// still shows such an upload costs the part's ingest, whose chunks are
// then dropped, and the answer is NoSuchUpload as from a linearizable
// read. A replica that does not show the upload (it may not have applied
// its creation yet), and any failure of that read, fall back to the
// linearizable read. A node alone reads its replica linearizably anyway
// (soloReads).
func (s *Service) partUpload(ctx context.Context, bucket, key, uploadID string) (*meta.Upload, error) {
	if err := checkBucketKey(bucket, key); err != nil {
		return nil, err
	}
	q := meta.UploadQuery{Bucket: bucket, Key: key, UploadID: uploadID}
	if !s.node.solo.alone {
		if up, err := typed[*meta.Upload](s.readStale(ctx, bucket, q)); err == nil && up != nil {
			return up, nil
		}
	}
	return readAsB[*meta.Upload](ctx, s, bucket, q)
}

func checkPartNumber(n int) error {
	if n < 1 || n > MaxParts {
		return fmt.Errorf("%w: %d", ErrInvalidPartNumber, n)
	}
	return nil
}

// UploadPart stores a part.
func (s *Service) UploadPart(ctx context.Context, in *UploadPartInput) (*meta.Part, error) {
	if err := checkPartNumber(in.Number); err != nil {
		return nil, err
	}
	up, err := s.partUpload(ctx, in.Bucket, in.Key, in.UploadID)
	if err != nil {
		return nil, err
	}
	alg := up.Template.Checksum.Algorithm
	body := in.Body
	// The client may checksum the part with another algorithm than the
	// upload's; compute that one too, alongside.
	var extra hash.Hash
	if in.Algorithm != "" && !strings.EqualFold(in.Algorithm, alg) {
		if extra, err = checksum.New(in.Algorithm); err != nil {
			return nil, fmt.Errorf("%w: checksum algorithm %q", ErrMalformedRequest, in.Algorithm)
		}
		body = io.TeeReader(body, extra)
	}
	seal, err := s.partSeal(up, in.CustomerKey)
	if err != nil {
		return nil, err
	}
	ing, err := s.ingest(ctx, body, in.Size, IngestOptions{
		ChunkSize: s.node.cfg.ChunkSize,
		InlineMax: 0,
		MaxSize:   s.node.cfg.MaxObjectSize,
		Algorithm: alg,
		Seal:      seal,
	})
	if err != nil {
		return nil, err
	}
	if in.Verify != nil {
		d := ing.Digests
		if extra != nil {
			d.Algorithm = strings.ToUpper(in.Algorithm)
			d.Sum = extra.Sum(nil)
		}
		if err := in.Verify(&d); err != nil {
			s.node.chunks.Discard(ing.Chunks)
			return nil, err
		}
	}
	in.SSE = up.Template.SSE
	return s.commitPart(ctx, in.Bucket, in.Key, in.UploadID, in.Number, ing)
}

func (s *Service) commitPart(ctx context.Context, bucket, key, uploadID string, number int, ing *IngestResult) (*meta.Part, error) {
	part := meta.Part{
		Number:   number,
		Size:     ing.Size,
		ETag:     checksum.ETag(ing.Digests.MD5),
		Checksum: checksum.Encode(ing.Digests.Sum),
		Chunks:   ing.Chunks,
	}
	res, err := s.proposeB(ctx, bucket, &meta.PutPart{Bucket: bucket, Key: key, UploadID: uploadID, Part: part})
	if err != nil {
		if !isUnavailable(err) {
			s.node.chunks.Discard(ing.Chunks)
		}
		return nil, err
	}
	if res.Part != nil {
		return res.Part, nil
	}
	return &part, nil
}

// UploadPartCopy stores a part copied from an existing object's range.
func (s *Service) UploadPartCopy(ctx context.Context, in *UploadPartCopyInput) (*meta.Part, error) {
	if err := checkPartNumber(in.Number); err != nil {
		return nil, err
	}
	up, err := s.partUpload(ctx, in.Bucket, in.Key, in.UploadID)
	if err != nil {
		return nil, err
	}
	seal, err := s.partSeal(up, in.CustomerKey)
	if err != nil {
		return nil, err
	}
	rc, err := s.OpenObjectKey(ctx, in.Source, in.SourceCustomerKey, in.Offset, in.Length)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	ing, err := s.ingest(ctx, rc, in.Length, IngestOptions{
		ChunkSize: s.node.cfg.ChunkSize,
		MaxSize:   s.node.cfg.MaxObjectSize,
		Algorithm: up.Template.Checksum.Algorithm,
		Seal:      seal,
	})
	if err != nil {
		return nil, err
	}
	in.SSE = up.Template.SSE
	return s.commitPart(ctx, in.Bucket, in.Key, in.UploadID, in.Number, ing)
}

// CompleteMultipartUpload validates the part list and commits the object.
func (s *Service) CompleteMultipartUpload(ctx context.Context, in *CompleteInput) (*meta.Object, error) {
	up, err := s.upload(ctx, in.Bucket, in.Key, in.UploadID)
	if errors.Is(err, meta.ErrNoSuchUpload) {
		// A retry after a completion whose answer was lost gets the same
		// answer while the completion is remembered (in forks too: the
		// record belongs to the bucket the upload was in).
		parts := make([]meta.CompletedPart, len(in.Parts))
		for i, p := range in.Parts {
			parts[i] = meta.CompletedPart{Number: p.Number, ETag: normalizeETag(p.ETag)}
		}
		return readAsB[*meta.Object](ctx, s, in.Bucket, meta.CompletedUploadQuery{Bucket: in.Bucket, Key: in.Key, UploadID: in.UploadID, Parts: parts})
	}
	if err != nil {
		return nil, err
	}
	if len(in.Parts) == 0 {
		return nil, fmt.Errorf("%w: no parts", ErrMalformedRequest)
	}
	stored, err := readAsB[*meta.PartListResult](ctx, s, in.Bucket, meta.PartsQuery{UploadID: in.UploadID, Max: MaxParts})
	if err != nil {
		return nil, err
	}
	byNum := make(map[int]*meta.Part, len(stored.Parts))
	for i := range stored.Parts {
		byNum[stored.Parts[i].Number] = &stored.Parts[i]
	}
	obj := up.Template
	obj.Key = in.Key
	alg := obj.Checksum.Algorithm
	md5s := make([][]byte, 0, len(in.Parts))
	sums := make([][]byte, 0, len(in.Parts))
	sizes := make([]int64, 0, len(in.Parts))
	cmdParts := make([]meta.CompletedPart, 0, len(in.Parts))
	obj.Parts = make([]meta.PartInfo, 0, len(in.Parts))
	obj.Chunks = nil
	obj.Size = 0
	// AWS checks the order of the whole list first, then each part.
	prev := 0
	for _, cp := range in.Parts {
		if err := checkPartNumber(cp.Number); err != nil {
			return nil, fmt.Errorf("%w: part %d", meta.ErrInvalidPart, cp.Number)
		}
		if cp.Number <= prev {
			return nil, ErrInvalidPartOrder
		}
		prev = cp.Number
	}
	for i, cp := range in.Parts {
		p, ok := byNum[cp.Number]
		if !ok || normalizeETag(cp.ETag) != p.ETag {
			return nil, fmt.Errorf("%w: part %d", meta.ErrInvalidPart, cp.Number)
		}
		if cp.Checksum != "" && p.Checksum != "" && cp.Checksum != p.Checksum {
			return nil, fmt.Errorf("%w: part %d checksum", meta.ErrInvalidPart, cp.Number)
		}
		if i < len(in.Parts)-1 && p.Size < MinPartSize {
			return nil, fmt.Errorf("%w: part %d is %d bytes", ErrEntityTooSmall, cp.Number, p.Size)
		}
		raw, err := hex.DecodeString(strings.Trim(p.ETag, `"`))
		if err != nil {
			return nil, fmt.Errorf("%w: part %d etag", meta.ErrCorrupt, cp.Number)
		}
		md5s = append(md5s, raw)
		sum, _ := base64.StdEncoding.DecodeString(p.Checksum)
		sums = append(sums, sum)
		sizes = append(sizes, p.Size)
		cmdParts = append(cmdParts, meta.CompletedPart{Number: cp.Number, ETag: p.ETag})
		obj.Parts = append(obj.Parts, meta.PartInfo{Number: p.Number, Size: p.Size, ETag: p.ETag, Checksum: p.Checksum})
		obj.Chunks = append(obj.Chunks, p.Chunks...)
		obj.Size += p.Size
	}
	if obj.Size > maxMultipartSize {
		return nil, ErrEntityTooLarge
	}
	if held := uploadChunks(stored.Parts); !s.manifestFits(held, len(stored.Parts)) {
		return nil, fmt.Errorf("%w: the upload holds %d chunks in %d parts, more than one metadata transaction of this node takes", ErrEntityTooLarge, held, len(stored.Parts))
	}
	if obj.SSE.Encrypted() {
		obj.SSE.StoredSize = 0
		for _, p := range obj.Parts {
			obj.SSE.StoredSize += ssePartStoredSize(p.Size)
		}
	}
	obj.ETag = checksum.MultipartETag(md5s)
	if alg != "" {
		if obj.Checksum.Type == "FULL_OBJECT" {
			v, err := checksum.Combine(alg, sums, sizes)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrMalformedRequest, err)
			}
			obj.Checksum.Value = checksum.Encode(v)
		} else {
			v, err := checksum.Composite(alg, sums)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrMalformedRequest, err)
			}
			obj.Checksum.Value = v
		}
	}
	if in.ObjectSize != nil && *in.ObjectSize != obj.Size {
		return nil, fmt.Errorf("%w: x-amz-mp-object-size %d, parts add up to %d", ErrMalformedRequest, *in.ObjectSize, obj.Size)
	}
	if in.Checksum != "" {
		if claimed := checksum.Canonical(in.ChecksumAlgorithm); claimed != alg {
			return nil, fmt.Errorf("%w: checksum %s given for an upload using %s", ErrMalformedRequest, in.ChecksumAlgorithm, alg)
		}
		if stripPartCount(in.Checksum) != stripPartCount(obj.Checksum.Value) {
			return nil, fmt.Errorf("%w: whole-object %s", ErrChecksumMismatch, alg)
		}
	}
	cmd := &meta.CompleteUpload{
		Bucket: in.Bucket, UploadID: in.UploadID, Parts: cmdParts, Object: obj,
		IfMatch: in.IfMatch, IfNoneMatch: in.IfNoneMatch,
	}
	res, err := s.proposeB(ctx, in.Bucket, cmd)
	if errors.Is(err, meta.ErrRemoteParent) {
		// The conditions need the view of the fork's parent on another
		// shard (xfork.go).
		var v *meta.InheritedView
		if v, err = s.inheritedView(ctx, in.Bucket, in.Key); err == nil {
			cmd.Header = meta.Header{}
			if v == nil {
				res, err = s.proposeB(ctx, in.Bucket, cmd)
			} else {
				res, err = s.proposeB(ctx, in.Bucket, &meta.CompleteUploadInherited{CompleteUpload: *cmd, Inherited: *v})
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return resultObject(res, &obj), nil
}

// stripPartCount drops the "-N" suffix of a composite checksum value.
func stripPartCount(v string) string {
	if i := strings.LastIndexByte(v, '-'); i > 0 {
		return v[:i]
	}
	return v
}

// normalizeETag quotes an ETag as stored.
func normalizeETag(e string) string {
	return `"` + strings.Trim(strings.TrimSpace(e), `"`) + `"`
}

// AbortMultipartUpload discards an upload.
func (s *Service) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	if err := checkBucketKey(bucket, key); err != nil {
		return err
	}
	_, err := s.proposeB(ctx, bucket, &meta.AbortUpload{Bucket: bucket, Key: key, UploadID: uploadID})
	return err
}

// ListParts pages through an upload's parts (after marker, at most max).
func (s *Service) ListParts(ctx context.Context, bucket, key, uploadID string, marker, max int) (*meta.Upload, *meta.PartListResult, error) {
	up, err := s.upload(ctx, bucket, key, uploadID)
	if err != nil {
		return nil, nil, err
	}
	parts, err := readAsB[*meta.PartListResult](ctx, s, bucket, meta.PartsQuery{UploadID: uploadID, Marker: marker, Max: max})
	if err != nil {
		return nil, nil, err
	}
	return up, parts, nil
}

// ListMultipartUploads pages through a bucket's uploads.
func (s *Service) ListMultipartUploads(ctx context.Context, bucket string, opts meta.UploadListOptions) (*meta.UploadListResult, error) {
	if !ValidBucketName(bucket) {
		return nil, fmt.Errorf("%w: %q", meta.ErrNoSuchBucket, bucket)
	}
	return readAsB[*meta.UploadListResult](ctx, s, bucket, meta.UploadsQuery{Bucket: bucket, Opts: opts})
}

// manifestFits reports whether an upload holding chunks chunks in parts
// parts can be completed by one metadata command: the completion
// references the object's chunks and releases every part's (two writes a
// chunk, listed or not) and drops every part's record; the object's
// deletion later releases its chunks (two writes a chunk at most). One
// that does not fit would fail at apply and stop every replica of the
// bucket's shard, so it is refused here (EntityTooLarge), checked against
// this node's store; docs/compatibility.md says what that is in bytes.
func (s *Service) manifestFits(chunks, parts int) bool {
	if s.node == nil {
		return true
	}
	const rest = 256 // the object's record, indexes, the upload's records
	return 2*chunks+parts+rest <= s.node.cfg.Meta.TxnWrites()
}

// uploadChunks counts the chunks of an upload's parts.
func uploadChunks(parts []meta.Part) int {
	n := 0
	for i := range parts {
		n += len(parts[i].Chunks)
	}
	return n
}
