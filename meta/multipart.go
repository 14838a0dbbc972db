package meta

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// completedWindow is how long (in versions, i.e. nanoseconds) the outcome
// of a CompleteMultipartUpload is kept, so that a retry whose first answer
// was lost gets the same answer (S3 answers 200 with the same ETag "for a
// while"). A constant: apply must not depend on node-local configuration.
const completedWindow = uint64(60 * 60 * 1e9)

// Apply of multipart upload commands.

func (a *applier) createUpload(c *CreateUpload) (*Result, error) {
	b, err := a.writableBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	if err := checkACL(b, c.Template.ACL); err != nil {
		return nil, err
	}
	// The lock headers of the upload are checked now; the default
	// retention is given at completion.
	if t := c.Template; true {
		if err := a.applyDefaultLock(b, &t, true); err != nil {
			return nil, err
		}
	}
	u := &Upload{BucketID: b.ID, Key: c.Template.Key, UploadID: c.UploadID, Initiated: int64(a.version), Template: c.Template}
	if err := a.set(keyUpload(b.ID, u.Key, u.UploadID), encodeUploadRecord(u)); err != nil {
		return nil, err
	}
	e := encoder{}
	e.u8(fmtV1)
	e.u64(b.ID)
	e.str(u.Key)
	return nil, a.set(keyUploadID(u.UploadID), e.b)
}

func (a *applier) putPart(c *PutPart) (*Result, error) {
	b, err := a.writableBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	if _, err := a.r.upload(b.ID, c.Key, c.UploadID); err != nil {
		return nil, err
	}
	p := c.Part
	p.LastModified = int64(a.version)
	if err := a.ref(p.Chunks); err != nil {
		return nil, err
	}
	old, ok, err := getValue(a.txn, keyPart(c.UploadID, p.Number))
	if err != nil {
		return nil, err
	}
	if ok {
		op, err := decodePartRecord(old)
		if err != nil {
			return nil, err
		}
		if err := a.unref(op.Chunks); err != nil {
			return nil, err
		}
	}
	if err := a.set(keyPart(c.UploadID, p.Number), encodePartRecord(&p)); err != nil {
		return nil, err
	}
	return &Result{Part: &p}, nil
}

// uploadByID finds an upload of bucket by id alone.
func (a *applier) uploadByID(bucket uint64, uploadID string) (*Upload, error) {
	v, ok, err := getValue(a.txn, keyUploadID(uploadID))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchUpload, uploadID)
	}
	d := decoder{b: v}
	d.fmtByte()
	id := d.u64()
	key := d.str()
	if err := d.done(); err != nil {
		return nil, err
	}
	if id != bucket {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchUpload, uploadID)
	}
	return a.r.upload(bucket, key, uploadID)
}

func (a *applier) uploadParts(uploadID string) ([]Part, error) {
	var out []Part
	it := keyIter(a.txn, keyPartPrefix(uploadID))
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		err := it.Item().Value(func(v []byte) error {
			p, err := decodePartRecord(v)
			if err == nil {
				out = append(out, *p)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// dropUpload deletes an upload and its parts, releasing their chunks.
func (a *applier) dropUpload(u *Upload) error {
	parts, err := a.uploadParts(u.UploadID)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if err := a.unref(p.Chunks); err != nil {
			return err
		}
		if err := a.del(keyPart(u.UploadID, p.Number)); err != nil {
			return err
		}
	}
	if err := a.del(keyUpload(u.BucketID, u.Key, u.UploadID)); err != nil {
		return err
	}
	return a.del(keyUploadID(u.UploadID))
}

// PartsDigest is the digest of a CompleteMultipartUpload's part list
// (numbers and quoted ETags, in order) by which a retry is recognised.
func PartsDigest(parts []CompletedPart) [32]byte {
	h := sha256.New()
	var b []byte
	for _, p := range parts {
		b = binary.AppendUvarint(b[:0], uint64(p.Number))
		b = binary.AppendUvarint(b, uint64(len(p.ETag)))
		b = append(b, p.ETag...)
		h.Write(b)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

func (a *applier) completeUpload(c *CompleteUpload) (*Result, error) {
	b, err := a.writableBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	u, err := a.uploadByID(b.ID, c.UploadID)
	if errors.Is(err, ErrNoSuchUpload) {
		// A retry of a completion that succeeded: the same answer.
		o, cerr := a.r.completed(b.ID, c.UploadID, c.Object.Key, PartsDigest(c.Parts))
		if cerr != nil {
			return nil, cerr
		}
		return &Result{Object: o}, nil
	}
	if err != nil {
		return nil, err
	}
	for _, cp := range c.Parts {
		v, ok, err := getValue(a.txn, keyPart(c.UploadID, cp.Number))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: part %d missing", ErrInvalidPart, cp.Number)
		}
		p, err := decodePartRecord(v)
		if err != nil {
			return nil, err
		}
		if !etagMatches(cp.ETag, p.ETag) || cp.ETag == "*" {
			return nil, fmt.Errorf("%w: part %d etag %s", ErrInvalidPart, cp.Number, cp.ETag)
		}
	}
	obj := c.Object
	obj.Key = u.Key
	if obj.LockMode == LockNone && obj.RetainUntil == 0 && !obj.LegalHold {
		obj.LockMode, obj.RetainUntil, obj.LegalHold = u.Template.LockMode, u.Template.RetainUntil, u.Template.LegalHold
	}
	if err := a.applyDefaultLock(b, &obj, true); err != nil {
		return nil, err
	}
	if err := a.checkConditions(b, obj.Key, c.IfMatch, c.IfNoneMatch); err != nil {
		return nil, err
	}
	o, err := a.writeObject(b, obj)
	if err != nil {
		return nil, err
	}
	// The object's chunks were referenced above, so releasing every part
	// (listed or not) leaves exactly the object's references.
	if err := a.dropUpload(u); err != nil {
		return nil, err
	}
	if err := a.recordCompleted(b.ID, c.UploadID, PartsDigest(c.Parts), o); err != nil {
		return nil, err
	}
	return &Result{Object: o}, nil
}

// recordCompleted keeps the outcome of a completion for completedWindow.
func (a *applier) recordCompleted(bucket uint64, uploadID string, digest [32]byte, o *Object) error {
	slim := Object{
		Key: o.Key, Version: o.Version, Null: o.Null, Size: o.Size, ETag: o.ETag,
		LastModified: o.LastModified, Checksum: o.Checksum,
		// The retried answer carries the encryption headers too (not
		// the sealed key: the answer needs only the algorithm and the
		// SSE-C key's MD5).
		SSE: SSE{Algorithm: o.SSE.Algorithm, CustomerKeyMD5: o.SSE.CustomerKeyMD5},
	}
	e := encoder{b: make([]byte, 0, 128)}
	e.u8(fmtV6)
	e.u64(bucket)
	e.u64(a.version)
	e.b = append(e.b, digest[:]...)
	encodeObjectFull(&e, &slim)
	if err := a.set(keyCompleted(uploadID), e.b); err != nil {
		return err
	}
	return a.set(keyCompletedAge(a.version, uploadID), []byte{fmtV1})
}

// pruneCompleted drops completion records older than completedWindow.
func (a *applier) pruneCompleted() error {
	return a.pruneByAge(pfxCompletedAge, completedWindow, func(id string) error { return a.del(keyCompleted(id)) })
}

// completed returns the object a recent completion of uploadID in bucket
// wrote, when key and the part list digest are those of that completion;
// else ErrNoSuchUpload.
func (r *Reader) completed(bucket uint64, uploadID, key string, digest [32]byte) (*Object, error) {
	v, ok, err := getValue(r.txn, keyCompleted(uploadID))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchUpload, uploadID)
	}
	d := decoder{b: v}
	d.fmtByte()
	id := d.u64()
	d.u64()
	var sum [32]byte
	if len(d.b) >= 32 {
		copy(sum[:], d.b[:32])
		d.b = d.b[32:]
	} else {
		d.fail(errShort)
	}
	o := decodeObjectFull(&d)
	if err := d.done(); err != nil {
		return nil, err
	}
	if id != bucket || o.Key != key || sum != digest {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchUpload, uploadID)
	}
	return &o, nil
}

// CompletedUpload returns the object written by a completion of uploadID
// in the last completedWindow, when the bucket, key and part list are
// those of that completion (a retried CompleteMultipartUpload); else
// ErrNoSuchUpload.
func (r *Reader) CompletedUpload(bucket, key, uploadID string, parts []CompletedPart) (*Object, error) {
	b, err := r.liveBucket(bucket)
	if err != nil {
		return nil, err
	}
	return r.completed(b.ID, uploadID, key, PartsDigest(parts))
}

// dropUploads removes a deleted bucket's in-progress uploads, spending
// one unit of *budget per upload and part; it reports whether some are
// left.
func (a *applier) dropUploads(bucket uint64, budget *int) (bool, error) {
	var ups []*Upload
	prefix := keyUploadBucket(bucket)
	it := a.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	for it.Seek(prefix); it.Valid(); it.Next() {
		if len(ups) >= *budget {
			it.Close()
			return a.dropUploadList(ups, budget, true)
		}
		var u *Upload
		err := it.Item().Value(func(v []byte) (err error) {
			u, err = decodeUploadRecord(v)
			return err
		})
		if err != nil {
			it.Close()
			return false, err
		}
		ups = append(ups, u)
	}
	it.Close()
	return a.dropUploadList(ups, budget, false)
}

func (a *applier) dropUploadList(ups []*Upload, budget *int, more bool) (bool, error) {
	for i, u := range ups {
		if *budget <= 0 {
			return i < len(ups) || more, nil
		}
		parts, err := a.uploadParts(u.UploadID)
		if err != nil {
			return false, err
		}
		*budget -= 1 + len(parts)
		if err := a.dropUpload(u); err != nil {
			return false, err
		}
	}
	return more, nil
}

func (a *applier) abortUpload(c *AbortUpload) (*Result, error) {
	b, err := a.writableBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	u, err := a.r.upload(b.ID, c.Key, c.UploadID)
	if err != nil {
		return nil, err
	}
	return nil, a.dropUpload(u)
}
