package meta

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// The cluster's own replicated state: the nodes that serve it (their
// addresses, so that any node can reach any other for chunk traffic), and
// consistency digests.

// NodeState is a node record's state.
type NodeState byte

// Node states. A retired node was removed from the cluster; its id is
// never used again.
const (
	NodeActive  NodeState = 1
	NodeRetired NodeState = 2
)

// Node is a cluster member as recorded in the metadata.
type Node struct {
	ID       uint64
	RaftAddr string
	S3Addr   string // where peers and clients reach the node's HTTP API
	State    NodeState
	// Zone is the node's failure domain ("" none): chunk copies spread
	// over zones first (block placement).
	Zone string
}

// RegisterNode records (or updates) a node's addresses. A retired id is
// refused with ErrNodeRetired.
type RegisterNode struct {
	Header
	Node Node
}

// RetireNode marks a node removed: its id can never be registered again.
type RetireNode struct {
	Header
	ID uint64
}

// Digest asks every replica to hash its whole metadata state as it applies
// this command; FSM.Digest then returns the hash at the command's version
// (Result.Version). The version is the same on every replica, so replicas
// with equal digests at a version hold identical state at that point.
type Digest struct {
	Header
}

func (a *applier) registerNode(c *RegisterNode) (*Result, error) {
	old, ok, err := getNode(a.txn, c.Node.ID)
	if err != nil {
		return nil, err
	}
	if ok && old.State == NodeRetired {
		return nil, fmt.Errorf("%w: node %d", ErrNodeRetired, c.Node.ID)
	}
	n := c.Node
	n.State = NodeActive
	return &Result{}, a.set(keyNode(n.ID), encodeNode(&n))
}

func (a *applier) retireNode(c *RetireNode) (*Result, error) {
	n, _, err := getNode(a.txn, c.ID)
	if err != nil {
		return nil, err
	}
	n.ID, n.State = c.ID, NodeRetired
	return &Result{}, a.set(keyNode(n.ID), encodeNode(&n))
}

// digest hashes the state as it is before this command's own writes
// (the version counter aside) and remembers it by version.
func (a *applier) digest() (*Result, error) {
	sum, err := stateDigest(a.txn)
	if err != nil {
		return nil, err
	}
	if a.digests != nil {
		a.digests.add(a.version, sum)
	}
	return &Result{}, nil
}

// A node record is fmtV1 without a zone, fmtV2 with one (after the state).
func encodeNode(n *Node) []byte {
	e := encoder{b: make([]byte, 0, 48)}
	if n.Zone == "" {
		e.u8(fmtV1)
	} else {
		e.u8(fmtV2)
	}
	e.str(n.RaftAddr)
	e.str(n.S3Addr)
	e.u8(byte(n.State))
	if n.Zone != "" {
		e.str(n.Zone)
	}
	return e.b
}

func decodeNode(id uint64, v []byte) (Node, error) {
	d := decoder{b: v}
	d.fmtByte()
	n := Node{ID: id, RaftAddr: d.str(), S3Addr: d.str(), State: NodeState(d.u8())}
	if d.v2 {
		n.Zone = d.str()
	}
	if err := d.done(); err != nil {
		return Node{}, fmt.Errorf("%w: node %d: %w", ErrCorrupt, id, err)
	}
	return n, nil
}

func getNode(txn *kvTxn, id uint64) (Node, bool, error) {
	v, ok, err := getValue(txn, keyNode(id))
	if err != nil || !ok {
		return Node{}, false, err
	}
	n, err := decodeNode(id, v)
	return n, err == nil, err
}

// Nodes returns every node record, retired ones included, by id.
func (r *Reader) Nodes() ([]Node, error) {
	var out []Node
	it := r.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pfxNode}, PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) != 9 {
			return nil, fmt.Errorf("%w: node key", ErrCorrupt)
		}
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		n, err := decodeNode(binary.BigEndian.Uint64(k[1:]), v)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// ChunkInfo is a referenced chunk as the reference table knows it. Size
// and CRC32C are zero for references written before they were recorded.
type ChunkInfo struct {
	ID     string
	Size   int64
	CRC32C uint32
	Refs   uint64
}

// Chunks returns up to limit referenced chunks with ids > after, in id
// order: what every holder of the cluster must keep.
func (r *Reader) Chunks(after string, limit int) ([]ChunkInfo, error) {
	it := r.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pfxChunkRef}, PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	start := []byte{pfxChunkRef}
	if after != "" {
		start = append(keyChunkRef(after), 0)
	}
	var out []ChunkInfo
	for it.Seek(start); it.Valid() && len(out) < limit; it.Next() {
		id, rest, ok := readName(it.Item().Key()[1:])
		if !ok || len(rest) != 0 {
			return nil, fmt.Errorf("%w: chunk ref key", ErrCorrupt)
		}
		var ref chunkRef
		err := it.Item().Value(func(v []byte) error {
			var err error
			ref, err = decodeChunkRef(v)
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, ChunkInfo{ID: id, Size: ref.size, CRC32C: ref.crc, Refs: ref.n})
	}
	return out, nil
}

// Chunk returns one referenced chunk's record.
func (r *Reader) Chunk(id string) (ChunkInfo, bool, error) {
	v, ok, err := getValue(r.txn, keyChunkRef(id))
	if err != nil || !ok {
		return ChunkInfo{}, false, err
	}
	ref, err := decodeChunkRef(v)
	if err != nil {
		return ChunkInfo{}, false, err
	}
	return ChunkInfo{ID: id, Size: ref.size, CRC32C: ref.crc, Refs: ref.n}, true, nil
}

// chunkRef is a chunk reference count record. Format 1 holds the count
// only; format 2 adds the chunk's size and CRC32C, which repair and
// scrubbing need to verify a copy without an object manifest at hand.
type chunkRef struct {
	n     uint64
	size  int64
	crc   uint32
	known bool // size and crc are recorded
}

const fmtChunkRefV2 byte = 2

func encodeChunkRef(r chunkRef) []byte {
	if !r.known {
		return binary.AppendUvarint([]byte{fmtV1}, r.n)
	}
	b := binary.AppendUvarint([]byte{fmtChunkRefV2}, r.n)
	b = binary.AppendUvarint(b, uint64(r.size))
	return binary.BigEndian.AppendUint32(b, r.crc)
}

func decodeChunkRef(v []byte) (chunkRef, error) {
	if len(v) < 2 || (v[0] != fmtV1 && v[0] != fmtChunkRefV2) {
		return chunkRef{}, fmt.Errorf("%w: chunk ref value", ErrCorrupt)
	}
	n, k := binary.Uvarint(v[1:])
	if k <= 0 {
		return chunkRef{}, fmt.Errorf("%w: chunk ref value", ErrCorrupt)
	}
	r := chunkRef{n: n}
	if v[0] == fmtV1 {
		return r, nil
	}
	rest := v[1+k:]
	size, k := binary.Uvarint(rest)
	if k <= 0 || len(rest[k:]) != 4 {
		return chunkRef{}, fmt.Errorf("%w: chunk ref value", ErrCorrupt)
	}
	r.size, r.crc, r.known = int64(size), binary.BigEndian.Uint32(rest[k:]), true
	return r, nil
}

// digests remembers the state digests this replica computed, by version
// (the newest few).
type digests struct {
	mu sync.Mutex
	m  map[uint64][32]byte
}

const keptDigests = 64

func (d *digests) add(version uint64, sum [32]byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[uint64][32]byte{}
	}
	d.m[version] = sum
	if len(d.m) > keptDigests {
		idx := make([]uint64, 0, len(d.m))
		for i := range d.m {
			idx = append(idx, i)
		}
		sort.Slice(idx, func(i, j int) bool { return idx[i] < idx[j] })
		for _, i := range idx[:len(idx)-keptDigests] {
			delete(d.m, i)
		}
	}
}

func (d *digests) get(version uint64) ([32]byte, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.m[version]
	return s, ok
}

// Digest returns the hash of this replica's metadata state when it applied
// the Digest command of that version, if it did (and still remembers it).
func (f *FSM) Digest(version uint64) (string, bool) {
	s, ok := f.digests.get(version)
	if !ok {
		return "", false
	}
	return hex.EncodeToString(s[:]), true
}

// Applied returns the last Raft index this replica applied.
func (f *FSM) Applied() uint64 { return f.appliedIndex.Load() }

// stateDigest hashes every key and value visible in txn except the applied
// index (which depends on how entries were batched, not on the state).
func stateDigest(txn *kvTxn) ([32]byte, error) {
	h := sha256.New()
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	var hdr []byte
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		if len(k) == 1 && k[0] == pfxApplied {
			continue
		}
		hdr = binary.AppendUvarint(hdr[:0], uint64(len(k)))
		h.Write(hdr)
		h.Write(k)
		err := item.Value(func(v []byte) error {
			hdr = binary.AppendUvarint(hdr[:0], uint64(len(v)))
			h.Write(hdr)
			h.Write(v)
			return nil
		})
		if err != nil {
			return [32]byte{}, err
		}
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, nil
}

// fsm returns the open replica of (shardID, replicaID), or nil.
func (h *Handle) fsm(shardID, replicaID uint64) *FSM {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fsms[[2]uint64{shardID, replicaID}]
}

// Applied returns the last Raft index the local replica applied (0 when it
// is not open).
func (h *Handle) Applied(shardID, replicaID uint64) uint64 {
	if f := h.fsm(shardID, replicaID); f != nil {
		return f.Applied()
	}
	return 0
}

// Digest returns the local replica's state digest at a Digest command's
// version (see Digest).
func (h *Handle) Digest(shardID, replicaID, version uint64) (string, bool) {
	if f := h.fsm(shardID, replicaID); f != nil {
		return f.Digest(version)
	}
	return "", false
}
