package meta

import (
	"errors"
	"fmt"
	"log/slog"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
)

// testFSM is an FSM over real Badger in t.TempDir, driven like Dragonboat
// drives it: encoded commands through Update, reads through Lookup.
type testFSM struct {
	t     testing.TB
	fsm   *FSM
	dir   string
	opts  Options
	index uint64
	shard uint64 // 0: shard 1
}

type tLogWriter struct{ t testing.TB }

func (w tLogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func openTestFSM(t testing.TB) *testFSM {
	t.Helper()
	return openTestFSMWith(t, Options{})
}

func openTestFSMWith(t testing.TB, opts Options) *testFSM {
	t.Helper()
	tf := &testFSM{t: t, dir: t.TempDir(), opts: opts}
	tf.open()
	t.Cleanup(func() { tf.fsm.Close() })
	return tf
}

func (tf *testFSM) open() {
	tf.t.Helper()
	fn := NewStateMachine(tf.dir, tf.opts, testLogger(tf.t))
	shard := tf.shard
	if shard == 0 {
		shard = 1
	}
	tf.fsm = fn(shard, 1).(*FSM)
	idx, err := tf.fsm.Open(make(chan struct{}))
	if err != nil {
		tf.t.Fatal(err)
	}
	tf.index = idx
}

func (tf *testFSM) reopen() uint64 {
	tf.t.Helper()
	if err := tf.fsm.Close(); err != nil {
		tf.t.Fatal(err)
	}
	tf.open()
	return tf.index
}

// update runs fn in a read-write transaction over the replica's keys and
// commits it.
func (tf *testFSM) update(fn func(txn *kvTxn) error) error {
	txn := tf.fsm.newTxn(true)
	defer txn.Discard()
	if err := fn(txn); err != nil {
		return err
	}
	return txn.Commit()
}

// view runs fn in a read-only transaction over the replica's keys.
func (tf *testFSM) view(fn func(txn *kvTxn) error) error {
	txn := tf.fsm.newTxn(false)
	defer txn.Discard()
	return fn(txn)
}

// applyBatch applies commands as one Update call and returns the results.
// A []byte is an encoded command (of an older format, say).
func (tf *testFSM) applyBatch(cmds ...any) []sm.Result {
	tf.t.Helper()
	es := make([]sm.Entry, len(cmds))
	for i, c := range cmds {
		tf.index++
		b, ok := c.([]byte)
		if !ok {
			b = EncodeCommand(c)
		}
		es[i] = sm.Entry{Index: tf.index, Cmd: b}
	}
	out, err := tf.fsm.Update(es)
	if err != nil {
		tf.t.Fatal(err)
	}
	res := make([]sm.Result, len(out))
	for i := range out {
		res[i] = out[i].Result
	}
	return res
}

// apply applies one command and decodes its result.
func (tf *testFSM) apply(c any) (*Result, error) {
	tf.t.Helper()
	r, err := DecodeResult(tf.applyBatch(c)[0])
	if err != nil && errors.Is(err, ErrCorrupt) {
		tf.t.Fatal(err)
	}
	return r, err
}

// must applies a command that must succeed.
func (tf *testFSM) must(c any) *Result {
	tf.t.Helper()
	r, err := tf.apply(c)
	if err != nil {
		tf.t.Fatalf("%T: %v", c, err)
	}
	return r
}

// mustFail applies a command that must fail with want.
func (tf *testFSM) mustFail(c any, want error) *Result {
	tf.t.Helper()
	r, err := tf.apply(c)
	if !errors.Is(err, want) {
		tf.t.Fatalf("%T: got %v, want %v", c, err, want)
	}
	return r
}

func (tf *testFSM) read(q Query) any {
	tf.t.Helper()
	v, err := tf.fsm.Lookup(q)
	if err != nil {
		tf.t.Fatal(err)
	}
	return v
}

func (tf *testFSM) readErr(q Query) (any, error) {
	tf.t.Helper()
	return tf.fsm.Lookup(q)
}

func (tf *testFSM) createBucket(name string) *Bucket {
	tf.t.Helper()
	return tf.must(&CreateBucket{Name: name}).Bucket
}

func (tf *testFSM) fork(name, src string) *Bucket {
	tf.t.Helper()
	return tf.must(&CreateBucket{Name: name, ForkSource: src}).Bucket
}

func (tf *testFSM) put(bucket, key, body string) *Object {
	tf.t.Helper()
	return tf.must(&PutObject{Bucket: bucket, Object: obj(key, body)}).Object
}

func (tf *testFSM) putChunks(bucket, key string, chunks ...string) *Object {
	tf.t.Helper()
	o := Object{Key: key, ETag: etag(key + fmt.Sprint(chunks))}
	for _, c := range chunks {
		o.Chunks = append(o.Chunks, Chunk{ID: c, Size: 10})
		o.Size += 10
	}
	return tf.must(&PutObject{Bucket: bucket, Object: o}).Object
}

func (tf *testFSM) del(bucket, key string) DeleteOutcome {
	tf.t.Helper()
	return tf.must(&DeleteObject{Bucket: bucket, Key: key}).Deleted[0]
}

// get returns the body of the latest visible version ("" + error if none).
func (tf *testFSM) get(bucket, key string, at uint64) (string, error) {
	tf.t.Helper()
	v, err := tf.readErr(func(r *Reader) (any, error) { return r.GetObject(bucket, key, "", at) })
	if err != nil {
		return "", err
	}
	return string(v.(*Object).Inline), nil
}

func (tf *testFSM) mustGet(bucket, key string, at uint64, want string) {
	tf.t.Helper()
	got, err := tf.get(bucket, key, at)
	if err != nil {
		tf.t.Fatalf("get %s/%s@%d: %v", bucket, key, at, err)
	}
	if got != want {
		tf.t.Fatalf("get %s/%s@%d = %q, want %q", bucket, key, at, got, want)
	}
}

func (tf *testFSM) mustMiss(bucket, key string, at uint64) {
	tf.t.Helper()
	got, err := tf.get(bucket, key, at)
	if !errors.Is(err, ErrNoSuchKey) {
		tf.t.Fatalf("get %s/%s@%d = %q, %v; want NoSuchKey", bucket, key, at, got, err)
	}
}

func (tf *testFSM) list(bucket string, o ListOptions) *ListResult {
	tf.t.Helper()
	return tf.read(func(r *Reader) (any, error) { return r.List(bucket, o) }).(*ListResult)
}

// listAll lists every key (no delimiter) through pages of size page.
func (tf *testFSM) listAll(bucket string, at uint64, page int) []string {
	tf.t.Helper()
	var keys []string
	after := ""
	for {
		res := tf.list(bucket, ListOptions{After: after, MaxKeys: page, At: at})
		for _, o := range res.Objects {
			keys = append(keys, o.Key)
		}
		if !res.IsTruncated {
			return keys
		}
		after = res.Next
	}
}

func (tf *testFSM) refs(chunk string) bool {
	tf.t.Helper()
	return tf.read(func(r *Reader) (any, error) { return r.ChunkReferenced(chunk), nil }).(bool)
}

func (tf *testFSM) gcQueue() map[string]bool {
	tf.t.Helper()
	es := tf.read(func(r *Reader) (any, error) { return r.GCQueue(0, 1<<30) }).([]GCEntry)
	m := map[string]bool{}
	for _, e := range es {
		m[e.ChunkID] = true
	}
	return m
}

// drainGC runs GCBucket until no bucket has a pass pending.
func (tf *testFSM) drainGC() {
	tf.t.Helper()
	for i := 0; i < 1000; i++ {
		ids := tf.read(func(r *Reader) (any, error) { return r.PendingGC() }).([]uint64)
		if len(ids) == 0 {
			return
		}
		for _, id := range ids {
			tf.must(&GCBucket{Bucket: id, Limit: 7})
		}
	}
	tf.t.Fatal("gc does not converge")
}

// objectCount counts the object version records of a bucket id.
func (tf *testFSM) objectCount(id uint64) int {
	tf.t.Helper()
	return tf.countKeys(keyObjectBucket(id))
}

// countKeys counts the keys under prefix.
func (tf *testFSM) countKeys(prefix []byte) int {
	tf.t.Helper()
	return tf.read(func(r *Reader) (any, error) {
		it := txnKeysOnly(r.txn, prefix)
		defer it.Close()
		n := 0
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return n, nil
	}).(int)
}

func obj(key, body string) Object {
	return Object{Key: key, Size: int64(len(body)), ETag: etag(body), Inline: []byte(body), ContentType: "text/plain"}
}

func etag(s string) string { return fmt.Sprintf("%q", fmt.Sprintf("%x", s)) }
