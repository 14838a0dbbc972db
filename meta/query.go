package meta

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
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
	gob.Register(q)
	queryTypes = append(queryTypes, reflect.TypeOf(q))
	for _, r := range results {
		if r != nil {
			gob.Register(r)
			resultTypes = append(resultTypes, reflect.TypeOf(r))
		}
	}
}

// queryTypes and resultTypes are the registered types (for the tests).
var queryTypes, resultTypes []reflect.Type

// queryEnvelope carries a query (an interface value, for gob).
type queryEnvelope struct{ Q Q }

// resultEnvelope carries a query's result (an interface value).
type resultEnvelope struct{ V any }

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
	b.WriteByte(wireGob)
	if err := gob.NewEncoder(&b).Encode(queryEnvelope{Q: q}); err != nil {
		return nil, fmt.Errorf("meta: encode query %T: %w", q, err)
	}
	return b.Bytes(), nil
}

// The first byte of an encoded query, and of an encoded result's value:
// gob, or the binary form of the hottest read (GetObjectQuery and its
// ObjectRead, querycodec.go), which gob would encode with the
// description of its types every time.
const (
	wireGob        = 0
	wireGetObject  = 1
	wireObjectRead = 1
)

// DecodeQuery decodes what EncodeQuery made.
func DecodeQuery(b []byte) (Q, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty query", ErrCorrupt)
	}
	switch b[0] {
	case wireGob:
	case wireGetObject:
		return decodeGetObjectQuery(b[1:])
	default:
		return nil, fmt.Errorf("%w: query form %d", ErrCorrupt, b[0])
	}
	var e queryEnvelope
	if err := gob.NewDecoder(bytes.NewReader(b[1:])).Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: query: %v", ErrCorrupt, err)
	}
	if e.Q == nil {
		return nil, fmt.Errorf("%w: empty query", ErrCorrupt)
	}
	return e.Q, nil
}

// EncodeQueryResult encodes what a query returned: a *RemoteRead (a
// read that goes on on another shard) with its fields, a business error
// (a sentinel of this package) by its result code and message, any other
// error by its message, a value with gob.
//
// Layout: uvarint code (0: no error, codeQueryFailed: an error without a
// code, codeRemoteRead: a *RemoteRead), uvarint message length, message;
// for codeRemoteRead uvarint BucketID, At and Annotated (0 or 1); then the gob of the value.
func EncodeQueryResult(v any, err error) ([]byte, error) {
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
	} else if err == nil && !isNil(v) {
		b.WriteByte(wireGob)
		if err := gob.NewEncoder(&b).Encode(resultEnvelope{V: v}); err != nil {
			return nil, fmt.Errorf("meta: encode query result %T: %w", v, err)
		}
	}
	return b.Bytes(), nil
}

// isNil reports whether v is nil or a nil pointer, map or slice: sent as
// no value (gob cannot send a nil pointer; it sends an empty slice or map
// as nil anyway), which the caller reads as its type's zero value.
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
	case wireGob:
	case wireObjectRead:
		return decodeObjectRead(b[len(b)-r.Len():])
	default:
		return nil, fmt.Errorf("%w: query result form %d", ErrCorrupt, form)
	}
	var e resultEnvelope
	if err := gob.NewDecoder(r).Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: query result: %v", ErrCorrupt, err)
	}
	return e.V, nil
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
