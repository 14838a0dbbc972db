package meta

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Binary encoding of stored values, commands and results: uvarint lengths
// and integers, no reflection. Small PUTs go through this twice (command,
// then record), so it avoids allocations beyond the output buffer.

type encoder struct{ b []byte }

func (e *encoder) u8(v byte)         { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)    { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) u64(v uint64)      { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *encoder) str(s string)      { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bytes(b []byte)    { e.uvarint(uint64(len(b))); e.b = append(e.b, b...) }
func (e *encoder) int(v int)         { e.varint(int64(v)) }
func (e *encoder) boolean(v bool)    { e.u8(boolByte(v)) }
func (e *encoder) nilBytes(b []byte) { e.boolean(b != nil); e.bytes(b) }

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

var errShort = errors.New("truncated")

// decoder reads what encoder wrote. The first failure sticks in err and
// every later read returns a zero value, so callers check err once.
type decoder struct {
	b   []byte
	err error
	// v2 says object bodies carry their ACL (values of format fmtV2 and
	// later, commands of format 3 and later); v3 says bucket fields carry
	// the bucket's ownership and ACL (values of format fmtV3, commands of
	// format 4 and later); v4 says access keys carry their fork
	// permission and fork prefix (values of format fmtV4, commands of
	// format 5 and later); v5 says object bodies carry their Object Lock
	// state and bucket fields their Object Lock configuration (values of
	// format fmtV5, commands of format 6 and later); v6 says object bodies
	// carry their server-side encryption (values of format fmtV6, commands
	// of format 7 and later).
	v2, v3, v4, v5, v6 bool
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
}

func (d *decoder) u8() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail(errShort)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errors.New("bad uvarint"))
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errors.New("bad varint"))
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) u64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail(errShort)
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) raw() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string { return string(d.raw()) }

func (d *decoder) bytes() []byte {
	v := d.raw()
	if len(v) == 0 {
		return nil
	}
	return append([]byte(nil), v...)
}

func (d *decoder) nilBytes() []byte {
	present := d.boolean()
	v := d.bytes()
	if present && v == nil {
		v = []byte{}
	}
	return v
}

func (d *decoder) int() int { return int(d.varint()) }

func (d *decoder) boolean() bool {
	switch d.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail(errors.New("bad bool"))
	return false
}

// count reads a slice length; every element takes at least one byte, so a
// length beyond the remaining input is corrupt (and never allocated).
func (d *decoder) count() int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.b)) {
		d.fail(errors.New("bad count"))
		return 0
	}
	return int(n)
}

// fmtByte checks the leading format-version byte of a stored value.
func (d *decoder) fmtByte() {
	switch v := d.u8(); {
	case d.err != nil:
	case v == fmtV1:
	case v == fmtV2:
		d.v2 = true
	case v == fmtV3:
		d.v2, d.v3 = true, true
	case v == fmtV4:
		d.v2, d.v3, d.v4 = true, true, true
	case v == fmtV5:
		d.v2, d.v3, d.v4, d.v5 = true, true, true, true
	case v == fmtV6:
		d.v2, d.v3, d.v4, d.v5, d.v6 = true, true, true, true, true
	default:
		d.fail(fmt.Errorf("unknown format %d", v))
	}
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Errorf("%d trailing bytes", len(d.b)))
	}
	return d.err
}

// --- objects ---

// Object record flags (first byte after the format byte of an object
// version value, so that visibility checks decode only the header).
const (
	flagDeleteMarker byte = 1 << 0
	flagNull         byte = 1 << 1
)

// encodeObjectBody writes every field of o except Key, Version, Null,
// DeleteMarker and DeletedAt.
func encodeObjectBody(e *encoder, o *Object, inline bool) {
	e.varint(o.Size)
	e.str(o.ETag)
	e.varint(o.LastModified)
	e.str(o.Checksum.Algorithm)
	e.str(o.Checksum.Type)
	e.str(o.Checksum.Value)
	e.str(o.ContentType)
	e.str(o.CacheControl)
	e.str(o.ContentDisposition)
	e.str(o.ContentEncoding)
	e.str(o.ContentLanguage)
	e.str(o.Expires)
	e.stringMap(o.UserMeta)
	e.stringMap(o.Tags)
	if inline {
		e.nilBytes(o.Inline)
	} else {
		e.nilBytes(nil)
	}
	e.uvarint(uint64(len(o.Chunks)))
	for _, c := range o.Chunks {
		encodeChunk(e, c)
	}
	e.boolean(o.Parts != nil)
	e.uvarint(uint64(len(o.Parts)))
	for _, p := range o.Parts {
		e.int(p.Number)
		e.varint(p.Size)
		e.str(p.ETag)
		e.str(p.Checksum)
	}
	e.str(o.ACL)
	e.u8(byte(o.LockMode))
	e.varint(o.RetainUntil)
	e.boolean(o.LegalHold)
	e.str(o.SSE.Algorithm)
	e.nilBytes(o.SSE.SealedKey)
	e.str(o.SSE.CustomerKeyMD5)
	e.varint(o.SSE.StoredSize)
}

func decodeObjectBody(d *decoder, o *Object, inline bool) {
	o.Size = d.varint()
	o.ETag = d.str()
	o.LastModified = d.varint()
	o.Checksum.Algorithm = d.str()
	o.Checksum.Type = d.str()
	o.Checksum.Value = d.str()
	o.ContentType = d.str()
	o.CacheControl = d.str()
	o.ContentDisposition = d.str()
	o.ContentEncoding = d.str()
	o.ContentLanguage = d.str()
	o.Expires = d.str()
	o.UserMeta = d.stringMap()
	o.Tags = d.stringMap()
	if inline {
		o.Inline = d.nilBytes()
	} else {
		d.boolean()
		d.raw()
	}
	if n := d.count(); n > 0 {
		o.Chunks = make([]Chunk, n)
		for i := 0; i < n && d.err == nil; i++ {
			o.Chunks[i] = decodeChunk(d)
		}
	}
	hasParts := d.boolean()
	n := d.count()
	if hasParts {
		o.Parts = make([]PartInfo, n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		var p PartInfo
		p.Number = d.int()
		p.Size = d.varint()
		p.ETag = d.str()
		p.Checksum = d.str()
		if hasParts {
			o.Parts[i] = p
		}
	}
	if d.v2 {
		o.ACL = d.str()
	}
	if d.v5 {
		o.LockMode = LockMode(d.u8())
		o.RetainUntil = d.varint()
		o.LegalHold = d.boolean()
		if o.LockMode > LockCompliance {
			d.fail(fmt.Errorf("lock mode %d", o.LockMode))
		}
	}
	if d.v6 {
		o.SSE.Algorithm = d.str()
		o.SSE.SealedKey = d.nilBytes()
		o.SSE.CustomerKeyMD5 = d.str()
		o.SSE.StoredSize = d.varint()
	}
}

// stringMap writes a map sorted by key: map order is random, and every
// replica must write the same bytes.
func (e *encoder) stringMap(m map[string]string) {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	e.uvarint(uint64(len(names)))
	for _, k := range names {
		e.str(k)
		e.str(m[k])
	}
}

// stringMap reads what encoder.stringMap wrote (nil when empty).
func (d *decoder) stringMap() map[string]string {
	n := d.count()
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for i := 0; i < n && d.err == nil; i++ {
		k := d.str()
		m[k] = d.str()
	}
	return m
}

func encodeChunk(e *encoder, c Chunk) {
	e.str(c.ID)
	e.varint(c.Size)
	e.uvarint(uint64(c.CRC32C))
}

func decodeChunk(d *decoder) Chunk {
	return Chunk{ID: d.str(), Size: d.varint(), CRC32C: uint32(d.uvarint())}
}

// encodeObjectFull writes a whole Object (commands and results).
func encodeObjectFull(e *encoder, o *Object) {
	e.str(o.Key)
	e.uvarint(o.Version)
	e.u8(objectFlags(o))
	e.uvarint(o.DeletedAt)
	encodeObjectBody(e, o, true)
}

func decodeObjectFull(d *decoder) Object {
	var o Object
	o.Key = d.str()
	o.Version = d.uvarint()
	setObjectFlags(&o, d.u8())
	o.DeletedAt = d.uvarint()
	decodeObjectBody(d, &o, true)
	return o
}

func objectFlags(o *Object) byte {
	var f byte
	if o.DeleteMarker {
		f |= flagDeleteMarker
	}
	if o.Null {
		f |= flagNull
	}
	return f
}

func setObjectFlags(o *Object, f byte) {
	o.DeleteMarker = f&flagDeleteMarker != 0
	o.Null = f&flagNull != 0
}

// encodeObjectRecord is the stored value of an object version; Key and
// Version live in the key.
func encodeObjectRecord(o *Object) []byte {
	e := encoder{b: make([]byte, 0, 96+len(o.Inline)+len(o.ETag)+40*len(o.Chunks))}
	e.u8(fmtV6)
	e.u8(objectFlags(o))
	e.uvarint(o.DeletedAt)
	encodeObjectBody(&e, o, true)
	return e.b
}

// recordHeader is the cheap part of an object version value.
type recordHeader struct {
	deleteMarker bool
	null         bool
	deletedAt    uint64
}

func decodeRecordHeader(v []byte) (recordHeader, error) {
	d := decoder{b: v}
	d.fmtByte()
	f := d.u8()
	h := recordHeader{deleteMarker: f&flagDeleteMarker != 0, null: f&flagNull != 0, deletedAt: d.uvarint()}
	return h, d.err
}

// decodeObjectRecord decodes a stored object version; inline says whether
// to copy the inline body.
func decodeObjectRecord(key string, version uint64, v []byte, inline bool) (*Object, error) {
	d := decoder{b: v}
	d.fmtByte()
	o := &Object{Key: key, Version: version}
	setObjectFlags(o, d.u8())
	o.DeletedAt = d.uvarint()
	decodeObjectBody(&d, o, inline)
	if err := d.done(); err != nil {
		return nil, err
	}
	return o, nil
}

// --- buckets, snapshots, uploads, parts ---

func encodeBucketRecord(b *Bucket) []byte {
	e := encoder{b: make([]byte, 0, 48+len(b.Name)+len(b.ACL))}
	e.u8(fmtV5)
	encodeBucketFields(&e, b)
	e.u8(byte(b.annotations))
	return e.b
}

// encodeBucketFields writes the stored fields of a bucket record (also
// used inside results and written in values of format fmtV3);
// decodeBucketFields reads them back, and fields of older formats
// (no ownership or ACL: a bucket of those had ACLs disabled).
func encodeBucketFields(e *encoder, b *Bucket) {
	e.uvarint(b.ID)
	e.str(b.Name)
	e.str(b.Region)
	e.varint(b.Created)
	e.u8(byte(b.Versioning))
	e.boolean(b.Parent != nil)
	if b.Parent != nil {
		e.uvarint(b.Parent.BucketID)
		e.uvarint(b.Parent.Version)
	}
	e.u8(byte(b.State))
	e.u8(byte(b.Ownership))
	e.str(b.ACL)
	e.boolean(b.Lock.Enabled)
	e.u8(byte(b.Lock.Mode))
	e.int(b.Lock.Days)
	e.int(b.Lock.Years)
}

func decodeBucketRecord(v []byte) (*Bucket, error) {
	d := decoder{b: v}
	d.fmtByte()
	b := &Bucket{}
	decodeBucketFields(&d, b)
	if d.v3 {
		b.annotations = annotationState(d.u8())
	}
	if err := d.done(); err != nil {
		return nil, err
	}
	return b, nil
}

func decodeBucketFields(d *decoder, b *Bucket) {
	b.ID = d.uvarint()
	b.Name = d.str()
	b.Region = d.str()
	b.Created = d.varint()
	b.Versioning = Versioning(d.u8())
	if d.boolean() {
		b.Parent = &Parent{BucketID: d.uvarint(), Version: d.uvarint()}
	}
	b.State = BucketState(d.u8())
	if d.v3 {
		b.Ownership = Ownership(d.u8())
		b.ACL = d.str()
	}
	if d.v5 {
		b.Lock = ObjectLock{Enabled: d.boolean(), Mode: LockMode(d.u8()), Days: d.int(), Years: d.int()}
		if b.Lock.Mode > LockCompliance {
			d.fail(fmt.Errorf("lock mode %d", b.Lock.Mode))
		}
	}
}

func encodeSnapshotRecord(s *Snapshot) []byte {
	e := encoder{}
	e.u8(fmtV1)
	e.str(s.Name)
	e.varint(s.Created)
	return e.b
}

func decodeSnapshotRecord(bucket, version uint64, v []byte) (*Snapshot, error) {
	d := decoder{b: v}
	d.fmtByte()
	s := &Snapshot{BucketID: bucket, Version: version, Name: d.str(), Created: d.varint()}
	return s, d.done()
}

func encodeUploadRecord(u *Upload) []byte {
	e := encoder{}
	e.u8(fmtV6)
	encodeUpload(&e, u)
	return e.b
}

func encodeUpload(e *encoder, u *Upload) {
	e.uvarint(u.BucketID)
	e.str(u.Key)
	e.str(u.UploadID)
	e.varint(u.Initiated)
	encodeObjectFull(e, &u.Template)
}

func decodeUpload(d *decoder) Upload {
	var u Upload
	u.BucketID = d.uvarint()
	u.Key = d.str()
	u.UploadID = d.str()
	u.Initiated = d.varint()
	u.Template = decodeObjectFull(d)
	return u
}

func decodeUploadRecord(v []byte) (*Upload, error) {
	d := decoder{b: v}
	d.fmtByte()
	u := decodeUpload(&d)
	return &u, d.done()
}

func encodePart(e *encoder, p *Part) {
	e.int(p.Number)
	e.varint(p.Size)
	e.str(p.ETag)
	e.str(p.Checksum)
	e.varint(p.LastModified)
	e.uvarint(uint64(len(p.Chunks)))
	for _, c := range p.Chunks {
		encodeChunk(e, c)
	}
}

func decodePart(d *decoder) Part {
	var p Part
	p.Number = d.int()
	p.Size = d.varint()
	p.ETag = d.str()
	p.Checksum = d.str()
	p.LastModified = d.varint()
	if n := d.count(); n > 0 {
		p.Chunks = make([]Chunk, n)
		for i := 0; i < n && d.err == nil; i++ {
			p.Chunks[i] = decodeChunk(d)
		}
	}
	return p
}

func encodePartRecord(p *Part) []byte {
	e := encoder{}
	e.u8(fmtV1)
	encodePart(&e, p)
	return e.b
}

func decodePartRecord(v []byte) (*Part, error) {
	d := decoder{b: v}
	d.fmtByte()
	p := decodePart(&d)
	return &p, d.done()
}

// u64Value is a stored be64 value behind the format byte.
func u64Value(v uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{fmtV1}, v)
}

func decodeU64Value(v []byte) (uint64, error) {
	if len(v) != 9 || v[0] != fmtV1 {
		return 0, fmt.Errorf("%w: bad u64 value", ErrCorrupt)
	}
	return binary.BigEndian.Uint64(v[1:]), nil
}
