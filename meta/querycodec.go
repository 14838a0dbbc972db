package meta

import "fmt"

// The binary form of GetObjectQuery and of its result, ObjectRead: the
// read of every GET and HEAD of an object. gob encodes a value with the
// description of its types each time and decodes it with an engine it
// compiles each time (one encoder and decoder per message): most of the
// cost of a small read (docs/benchmarks.md).

func encodeGetObjectQuery(q GetObjectQuery) []byte {
	e := encoder{b: make([]byte, 0, 8+len(q.Bucket)+len(q.Key)+len(q.VersionID))}
	e.u8(wireGetObject)
	e.str(q.Bucket)
	e.str(q.Key)
	e.str(q.VersionID)
	e.uvarint(q.At)
	return e.b
}

func decodeGetObjectQuery(b []byte) (Q, error) {
	d := decoder{b: b}
	q := GetObjectQuery{Bucket: d.str(), Key: d.str(), VersionID: d.str(), At: d.uvarint()}
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("%w: query: %v", ErrCorrupt, err)
	}
	return q, nil
}

func encodeObjectRead(x *ObjectRead) []byte {
	e := encoder{}
	if o := x.Object; o != nil {
		e.b = make([]byte, 0, 160+len(o.Key)+len(o.Inline)+40*len(o.Chunks))
		e.boolean(true)
		encodeObjectFull(&e, o)
		e.uvarint(o.ChunkShard)
	} else {
		e.boolean(false)
	}
	e.boolean(x.Remote != nil)
	if x.Remote != nil {
		e.uvarint(x.Remote.BucketID)
		e.uvarint(x.Remote.At)
		e.boolean(x.Remote.Annotated)
	}
	e.uvarint(x.Code)
	e.str(x.Msg)
	return e.b
}

func decodeObjectRead(b []byte) (*ObjectRead, error) {
	d := decoder{b: b, v2: true, v3: true, v4: true, v5: true, v6: true}
	x := &ObjectRead{}
	if d.boolean() {
		o := decodeObjectFull(&d)
		o.ChunkShard = d.uvarint()
		x.Object = &o
	}
	if d.boolean() {
		x.Remote = &RemoteRead{BucketID: d.uvarint(), At: d.uvarint(), Annotated: d.boolean()}
	}
	x.Code = d.uvarint()
	x.Msg = d.str()
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("%w: query result: %v", ErrCorrupt, err)
	}
	return x, nil
}

// MarshalJSON writes a page of a listing as GobEncode does, in a JSON
// string.
func (l ListResult) MarshalJSON() ([]byte, error) { return binaryJSON(l.GobEncode()) }

// UnmarshalJSON reads what MarshalJSON wrote.
func (l *ListResult) UnmarshalJSON(b []byte) error { return fromBinaryJSON(b, l.GobDecode) }

// GobEncode writes a page of a listing in one buffer (the Objects one
// after the other as commands carry them) rather than one GobEncode per
// Object.
func (l *ListResult) GobEncode() ([]byte, error) {
	n := 32 + len(l.Next)
	for i := range l.Objects {
		n += 128 + len(l.Objects[i].Key) + len(l.Objects[i].Inline) + 40*len(l.Objects[i].Chunks)
	}
	e := encoder{b: make([]byte, 0, n)}
	e.uvarint(uint64(len(l.Objects)))
	for i := range l.Objects {
		encodeObjectFull(&e, &l.Objects[i])
		e.uvarint(l.Objects[i].ChunkShard)
	}
	e.uvarint(uint64(len(l.CommonPrefixes)))
	for _, p := range l.CommonPrefixes {
		e.str(p)
	}
	e.boolean(l.IsTruncated)
	e.str(l.Next)
	return e.b, nil
}

// GobDecode reads what GobEncode wrote.
func (l *ListResult) GobDecode(b []byte) error {
	d := decoder{b: b, v2: true, v3: true, v4: true, v5: true, v6: true}
	*l = ListResult{}
	if n := d.count(); n > 0 {
		l.Objects = make([]Object, n)
		for i := 0; i < n && d.err == nil; i++ {
			l.Objects[i] = decodeObjectFull(&d)
			l.Objects[i].ChunkShard = d.uvarint()
		}
	}
	if n := d.count(); n > 0 {
		l.CommonPrefixes = make([]string, n)
		for i := 0; i < n && d.err == nil; i++ {
			l.CommonPrefixes[i] = d.str()
		}
	}
	l.IsTruncated = d.boolean()
	l.Next = d.str()
	return d.done()
}
