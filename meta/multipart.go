package meta

import (
	"fmt"
)

// Apply of multipart upload commands.

func (a *applier) createUpload(c *CreateUpload) (*Result, error) {
	b, err := a.r.liveBucket(c.Bucket)
	if err != nil {
		return nil, err
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
	b, err := a.r.liveBucket(c.Bucket)
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

func (a *applier) completeUpload(c *CompleteUpload) (*Result, error) {
	b, err := a.r.liveBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	u, err := a.uploadByID(b.ID, c.UploadID)
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
	return &Result{Object: o}, nil
}

func (a *applier) abortUpload(c *AbortUpload) (*Result, error) {
	b, err := a.r.liveBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	u, err := a.r.upload(b.ID, c.Key, c.UploadID)
	if err != nil {
		return nil, err
	}
	return nil, a.dropUpload(u)
}
