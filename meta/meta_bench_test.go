package meta

import (
	"fmt"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
)

// BenchmarkGetReadThrough measures a GET of a key that only the root
// bucket holds, from a fork at the end of a chain of the given depth.
func BenchmarkGetReadThrough(b *testing.B) {
	for _, depth := range []int{0, 1, 8, 32} {
		b.Run(fmt.Sprint("depth=", depth), func(b *testing.B) {
			tf := openTestFSM(b)
			tf.createBucket("b0")
			for i := 0; i < 1000; i++ {
				tf.put("b0", fmt.Sprintf("key-%04d", i), "body")
			}
			name := "b0"
			for d := 1; d <= depth; d++ {
				next := fmt.Sprint("b", d)
				tf.must(&CreateBucket{Name: next, ForkSource: name, MaxForkDepth: 64})
				for i := 0; i < 10; i++ {
					tf.put(next, fmt.Sprintf("own-%d-%d", d, i), "x")
				}
				name = next
			}
			q := Query(func(r *Reader) (any, error) { return r.GetObject(name, "key-0500", "", 0) })
			for b.Loop() {
				if _, err := tf.fsm.Lookup(q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApplyBatch measures Update of 64 small inline PUTs (1 KiB).
func BenchmarkApplyBatch(b *testing.B) {
	tf := openTestFSM(b)
	tf.createBucket("b")
	body := make([]byte, 1024)
	es := make([]sm.Entry, 64)
	n := 0
	for b.Loop() {
		for i := range es {
			n++
			tf.index++
			o := Object{Key: fmt.Sprintf("k%08d", n), Size: 1024, ETag: `"e"`, Inline: body}
			es[i] = sm.Entry{Index: tf.index, Cmd: EncodeCommand(&PutObject{Header: Header{RequestID: fmt.Sprint("r", n)}, Bucket: "b", Object: o})}
		}
		if _, err := tf.fsm.Update(es); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(es))/b.Elapsed().Seconds(), "puts/s")
}

// BenchmarkKeyCodec measures building and parsing an object version key.
func BenchmarkKeyCodec(b *testing.B) {
	key := "photos/2024/01/img\x00001.jpg"
	for b.Loop() {
		k := keyObject(42, key, 1234567890)
		if _, _, _, ok := parseObjectKey(k); !ok {
			b.Fatal("parse")
		}
	}
}

// BenchmarkList measures one page of 1000 keys from a fork of depth 1.
func BenchmarkList(b *testing.B) {
	tf := openTestFSM(b)
	tf.createBucket("p")
	for i := 0; i < 2000; i++ {
		tf.put("p", fmt.Sprintf("k%05d", i), "x")
	}
	tf.fork("f", "p")
	for i := 0; i < 2000; i += 3 {
		tf.del("f", fmt.Sprintf("k%05d", i))
	}
	q := Query(func(r *Reader) (any, error) { return r.List("f", ListOptions{MaxKeys: 1000}) })
	for b.Loop() {
		if _, err := tf.fsm.Lookup(q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyPut measures apply of 4 KiB inline overwrites of a ring of
// 256 keys in an unversioned bucket (what PUT load does: each supersedes
// the previous null version), in batches of 1 and 8 commands per Update
// (Badger transaction), with request ids and stamps as the gateway sends.
func BenchmarkApplyPut(b *testing.B) {
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprint("batch=", batch), func(b *testing.B) {
			tf := openTestFSM(b)
			tf.must(&CreateBucket{Header: Header{Stamp: 1e18}, Name: "b"})
			body := make([]byte, 4096)
			es := make([]sm.Entry, batch)
			n := 0
			for b.Loop() {
				for i := range es {
					n++
					tf.index++
					o := Object{Key: fmt.Sprintf("k%03d", n%256), Size: 4096, ETag: `"e"`, Inline: body}
					h := Header{RequestID: fmt.Sprint("r", n), Stamp: 1e18 + uint64(n)*1e5}
					es[i] = sm.Entry{Index: tf.index, Cmd: EncodeCommand(&PutObject{Header: h, Bucket: "b", Object: o})}
				}
				if _, err := tf.fsm.Update(es); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch)/1000, "µs/put")
		})
	}
}
