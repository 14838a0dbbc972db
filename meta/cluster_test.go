package meta

import (
	"errors"
	"testing"
)

// Node records: registered, updated, retired, and a retired id refused.
func TestNodeRegistry(t *testing.T) {
	tf := openTestFSM(t)
	tf.must(&RegisterNode{Node: Node{ID: 1, RaftAddr: "127.0.0.1:7001", S3Addr: "127.0.0.1:9001"}})
	tf.must(&RegisterNode{Node: Node{ID: 2, RaftAddr: "127.0.0.1:7002", S3Addr: "127.0.0.1:9002"}})
	tf.must(&RegisterNode{Node: Node{ID: 2, RaftAddr: "127.0.0.1:7002", S3Addr: "127.0.0.2:9002"}})
	tf.must(&RegisterNode{Node: Node{ID: 3, RaftAddr: "127.0.0.1:7003", S3Addr: "127.0.0.1:9003", Zone: "rack-b"}})
	tf.must(&RetireNode{ID: 1})
	tf.mustFail(&RegisterNode{Node: Node{ID: 1, RaftAddr: "127.0.0.1:7001", S3Addr: "127.0.0.1:9001"}}, ErrNodeRetired)
	nodes := tf.read(func(r *Reader) (any, error) { return r.Nodes() }).([]Node)
	want := []Node{
		{ID: 1, RaftAddr: "127.0.0.1:7001", S3Addr: "127.0.0.1:9001", State: NodeRetired},
		{ID: 2, RaftAddr: "127.0.0.1:7002", S3Addr: "127.0.0.2:9002", State: NodeActive},
		{ID: 3, RaftAddr: "127.0.0.1:7003", S3Addr: "127.0.0.1:9003", State: NodeActive, Zone: "rack-b"},
	}
	if len(nodes) != len(want) {
		t.Fatalf("nodes = %+v, want %+v", nodes, want)
	}
	for i := range want {
		if nodes[i] != want[i] {
			t.Errorf("node %d = %+v, want %+v", i, nodes[i], want[i])
		}
	}
}

// The reference table lists every referenced chunk with its size and
// CRC32C (what repair verifies copies against), and drops it with its last
// reference.
func TestChunksListing(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	o := Object{Key: "k", ETag: etag("k"), Size: 30,
		Chunks: []Chunk{{ID: "aa", Size: 10, CRC32C: 1}, {ID: "bb", Size: 20, CRC32C: 2}}}
	tf.must(&PutObject{Bucket: "b", Object: o})
	o.Key = "k2"
	o.Chunks = o.Chunks[1:]
	o.Size = 20
	tf.must(&PutObject{Bucket: "b", Object: o})
	list := func(after string, limit int) []ChunkInfo {
		return tf.read(func(r *Reader) (any, error) { return r.Chunks(after, limit) }).([]ChunkInfo)
	}
	got := list("", 10)
	want := []ChunkInfo{{ID: "aa", Size: 10, CRC32C: 1, Refs: 1}, {ID: "bb", Size: 20, CRC32C: 2, Refs: 2}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("chunks = %+v, want %+v", got, want)
	}
	if got := list("aa", 10); len(got) != 1 || got[0] != want[1] {
		t.Fatalf("chunks after aa = %+v", got)
	}
	if got := list("", 1); len(got) != 1 || got[0].ID != "aa" {
		t.Fatalf("chunks limit 1 = %+v", got)
	}
	tf.del("b", "k")
	tf.drainGC()
	if got := list("", 10); len(got) != 1 || got[0] != (ChunkInfo{ID: "bb", Size: 20, CRC32C: 2, Refs: 1}) {
		t.Fatalf("after delete: chunks = %+v", got)
	}
}

// Old reference records (format 1, count only) still decode.
func TestChunkRefFormat1(t *testing.T) {
	r, err := decodeChunkRef([]byte{fmtV1, 3})
	if err != nil || r.n != 3 || r.known {
		t.Fatalf("decode v1 = %+v, %v", r, err)
	}
	v2 := encodeChunkRef(chunkRef{n: 2, size: 1 << 22, crc: 0xdeadbeef, known: true})
	r, err = decodeChunkRef(v2)
	if err != nil || r != (chunkRef{n: 2, size: 1 << 22, crc: 0xdeadbeef, known: true}) {
		t.Fatalf("round trip v2 = %+v, %v", r, err)
	}
	if _, err := decodeChunkRef(v2[:len(v2)-1]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated v2: %v", err)
	}
}

// Two replicas applying the same log have equal digests at each Digest
// command, batched differently; a replica whose state differs does not.
func TestDigestEqualAcrossReplicas(t *testing.T) {
	a, b, c := openTestFSM(t), openTestFSM(t), openTestFSM(t)
	cmds := []any{
		&CreateBucket{Header: Header{RequestID: "r1", Stamp: 10}, Name: "base"},
		&PutObject{Header: Header{RequestID: "r2", Stamp: 20}, Bucket: "base", Object: obj("k", "v")},
		&CreateSnapshot{Header: Header{RequestID: "r3", Stamp: 30}, Bucket: "base", Name: "s"},
		&CreateBucket{Header: Header{RequestID: "r4", Stamp: 40}, Name: "fork", ForkSource: "base"},
		&Digest{Header: Header{Stamp: 50}},
	}
	a.applyBatch(cmds...)
	for _, cmd := range cmds {
		b.applyBatch(cmd)
	}
	c.applyBatch(cmds[:3]...)
	c.applyBatch(&PutObject{Header: Header{RequestID: "x", Stamp: 35}, Bucket: "base", Object: obj("k", "other")})
	c.applyBatch(cmds[3:]...)
	da, okA := a.fsm.Digest(50)
	db, okB := b.fsm.Digest(50)
	if !okA || !okB || da != db {
		t.Fatalf("digests at version 50: %q (%v) and %q (%v), want equal", da, okA, db, okB)
	}
	// c applied one more command, so its Digest has a later version.
	var dc string
	for v := uint64(50); v < 60; v++ {
		if d, ok := c.fsm.Digest(v); ok {
			dc = d
		}
	}
	if dc == "" || dc == da {
		t.Fatalf("diverged replica digest %q, healthy %q: want present and different", dc, da)
	}
}
