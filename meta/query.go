package meta

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// Q is a read of one shard's state machine, run on one consistent
// read-only transaction (through Raft's linearizable read, or on the local
// replica through a Handle).
//
// A node that holds no replica of a shard sends the shard's reads to a
// node that does. So a query that may cross nodes is a value: a struct
// with exported fields whose Run calls the Reader, registered with
// RegisterQuery along with what it returns. A Query (a closure) runs
// only where it was made: EncodeQuery refuses it with ErrLocalQuery.
type Q interface {
	Run(r *Reader) (any, error)
}

// Run runs the closure.
func (q Query) Run(r *Reader) (any, error) { return q(r) }

// ErrLocalQuery: a query that cannot be sent to another node.
var ErrLocalQuery = errors.New("meta: the query is a closure and runs only on a node holding the shard")

// RegisterQuery registers a query type and the concrete types of what it
// returns, so that both cross the wire. Call it from init.
func RegisterQuery(q Q, results ...any) {
	queryTypes = append(queryTypes, registerWire(q))
	for _, r := range results {
		if r != nil {
			resultTypes = append(resultTypes, registerWire(r))
		}
	}
}

// queryTypes and resultTypes are the registered types (for the tests).
var queryTypes, resultTypes []reflect.Type

// wireTypes maps the name a value crosses the wire under to its type, and
// wireNames back.
var (
	wireTypes = map[string]reflect.Type{}
	wireNames = map[reflect.Type]string{}
)

// registerWire registers v's type under its name (e.g. "*meta.Bucket").
func registerWire(v any) reflect.Type {
	t := reflect.TypeOf(v)
	name := t.String()
	if prev, ok := wireTypes[name]; ok && prev != t {
		panic(fmt.Sprintf("meta: two wire types named %s", name))
	}
	wireTypes[name], wireNames[t] = t, name
	return t
}

// appendValue appends a registered value: uvarint name length, name, then
// its JSON. JSON rather than gob: gob describes the types in every
// message, which made a small read cost ten times its JSON
// (docs/benchmarks.md, "Reads that cross nodes").
func appendValue(b *bytes.Buffer, v any) error {
	name, ok := wireNames[reflect.TypeOf(v)]
	if !ok {
		return fmt.Errorf("meta: %T is not registered for the wire", v)
	}
	var hdr [binary.MaxVarintLen64]byte
	b.Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(name)))])
	b.WriteString(name)
	return json.NewEncoder(b).Encode(v)
}

// readValue reads what appendValue wrote.
func readValue(b []byte) (any, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, fmt.Errorf("%w: wire value name", ErrCorrupt)
	}
	name := string(b[k : k+int(n)])
	t, ok := wireTypes[name]
	if !ok {
		return nil, fmt.Errorf("%w: unknown wire type %q", ErrCorrupt, name)
	}
	p := reflect.New(t)
	if err := json.Unmarshal(b[k+int(n):], p.Interface()); err != nil {
		return nil, fmt.Errorf("%w: wire value %s: %v", ErrCorrupt, name, err)
	}
	return p.Elem().Interface(), nil
}

// EncodeQuery encodes a registered query value.
func EncodeQuery(q Q) ([]byte, error) {
	switch q.(type) {
	case Query, nil:
		return nil, ErrLocalQuery
	}
	if g, ok := q.(GetObjectQuery); ok {
		return encodeGetObjectQuery(g), nil
	}
	var b bytes.Buffer
	b.WriteByte(wireJSON)
	if err := appendValue(&b, q); err != nil {
		return nil, fmt.Errorf("meta: encode query %T: %w", q, err)
	}
	return b.Bytes(), nil
}

// The first byte of an encoded query, and of an encoded result's value:
// a registered value in JSON (appendValue), the binary form of the
// hottest read (GetObjectQuery and its ObjectRead, querycodec.go), or an
// *Object result in its binary form (Object.GobEncode; only when asked,
// EncodeQueryResultBinary: nodes before it read JSON only).
const (
	wireJSON       = 2
	wireGetObject  = 1
	wireObjectRead = 1
	wireObject     = 3
)

// DecodeQuery decodes what EncodeQuery made.
func DecodeQuery(b []byte) (Q, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty query", ErrCorrupt)
	}
	switch b[0] {
	case wireJSON:
	case wireGetObject:
		return decodeGetObjectQuery(b[1:])
	default:
		return nil, fmt.Errorf("%w: query form %d", ErrCorrupt, b[0])
	}
	v, err := readValue(b[1:])
	if err != nil {
		return nil, err
	}
	q, ok := v.(Q)
	if !ok {
		return nil, fmt.Errorf("%w: %T is not a query", ErrCorrupt, v)
	}
	return q, nil
}

// EncodeQueryResult encodes what a query returned: a *RemoteRead (a
// read that goes on on another shard) with its fields, a business error
// (a sentinel of this package) by its result code and message, any other
// error by its message, a value as appendValue writes it.
//
// Layout: uvarint code (0: no error, codeQueryFailed: an error without a
// code, codeRemoteRead: a *RemoteRead), uvarint message length, message;
// for codeRemoteRead uvarint BucketID, At and Annotated (0 or 1); then
// the value's form and the value.
func EncodeQueryResult(v any, err error) ([]byte, error) {
	return encodeQueryResult(v, err, false)
}

// EncodeQueryResultBinary is EncodeQueryResult with an *Object result in
// its binary form instead of JSON: a third of the cost of a forwarded read
// of an object with a 4 KiB body was its JSON (base64) on both sides.
// DecodeQueryResult reads both.
func EncodeQueryResultBinary(v any, err error) ([]byte, error) {
	return encodeQueryResult(v, err, true)
}

func encodeQueryResult(v any, err error, binaryObject bool) ([]byte, error) {
	var b bytes.Buffer
	code := uint64(codeOK)
	msg := ""
	var rr *RemoteRead
	if err != nil {
		msg = err.Error()
		c, ok := businessCode(err)
		if !ok {
			c = codeQueryFailed
		}
		code = c
		if errors.As(err, &rr) {
			code = codeRemoteRead
		}
	}
	var hdr [4 * binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], code)
	n += binary.PutUvarint(hdr[n:], uint64(len(msg)))
	b.Write(hdr[:n])
	b.WriteString(msg)
	if rr != nil {
		n = binary.PutUvarint(hdr[:], rr.BucketID)
		n += binary.PutUvarint(hdr[n:], rr.At)
		n += binary.PutUvarint(hdr[n:], boolFlag(rr.Annotated))
		b.Write(hdr[:n])
	}
	if x, ok := v.(*ObjectRead); ok && err == nil && x != nil {
		b.WriteByte(wireObjectRead)
		b.Write(encodeObjectRead(x))
	} else if o, ok := v.(*Object); ok && binaryObject && err == nil && o != nil {
		ob, _ := o.GobEncode()
		b.WriteByte(wireObject)
		b.Write(ob)
	} else if err == nil && !isNil(v) {
		b.WriteByte(wireJSON)
		if err := appendValue(&b, v); err != nil {
			return nil, fmt.Errorf("meta: encode query result %T: %w", v, err)
		}
	}
	return b.Bytes(), nil
}

// isNil reports whether v is nil or a nil pointer, map or slice: sent as
// no value, which the caller reads as its type's zero value.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// ErrQueryFailed wraps an error that a query returned on another node and
// that is none of this package's sentinels.
var ErrQueryFailed = errors.New("meta: query failed")

// codeQueryFailed is the code of an error without a result code, and
// codeRemoteRead of a *RemoteRead; they are never a command's result code.
const (
	codeQueryFailed = 1<<32 - 1
	codeRemoteRead  = 1<<32 - 2
)

// DecodeQueryResult decodes what EncodeQueryResult made: the value, or
// the error (a sentinel of this package keeps its identity for errors.Is).
// A nil value (or a nil pointer, map or slice) comes back as nil.
func DecodeQueryResult(b []byte) (any, error) {
	r := bytes.NewReader(b)
	code, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, fmt.Errorf("%w: query result: %v", ErrCorrupt, err)
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || n > uint64(r.Len()) {
		return nil, fmt.Errorf("%w: query result message", ErrCorrupt)
	}
	msg := make([]byte, n)
	_, _ = r.Read(msg)
	switch code {
	case codeOK:
	case codeQueryFailed:
		return nil, fmt.Errorf("%w: %s", ErrQueryFailed, msg)
	case codeRemoteRead:
		id, err1 := binary.ReadUvarint(r)
		at, err2 := binary.ReadUvarint(r)
		flag, err3 := binary.ReadUvarint(r)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("%w: query result: remote read", ErrCorrupt)
		}
		return nil, &RemoteRead{BucketID: id, At: at, Annotated: flag == 1}
	default:
		return nil, remoteError{sentinel: errOfCode(code), msg: string(msg)}
	}
	if r.Len() == 0 {
		return nil, nil
	}
	switch form, _ := r.ReadByte(); form {
	case wireJSON:
		return readValue(b[len(b)-r.Len():])
	case wireObjectRead:
		return decodeObjectRead(b[len(b)-r.Len():])
	case wireObject:
		o := new(Object)
		if err := o.GobDecode(b[len(b)-r.Len():]); err != nil {
			return nil, fmt.Errorf("%w: query result object: %v", ErrCorrupt, err)
		}
		return o, nil
	default:
		return nil, fmt.Errorf("%w: query result form %d", ErrCorrupt, form)
	}
}

// remoteError is a business error that crossed the wire: its message as
// the other node wrote it, and its sentinel for errors.Is.
type remoteError struct {
	sentinel error
	msg      string
}

func (e remoteError) Error() string { return e.msg }
func (e remoteError) Unwrap() error { return e.sentinel }

func boolFlag(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
