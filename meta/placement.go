package meta

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// The placement of the data shards' replicas (gateway --meta-replicas R >
// 0), kept in the directory shard next to the shard count:
//
//   - R itself, recorded with the shard count when the cluster is created
//     (InitShards.Replicas) and never changed: every node places with the
//     same R;
//   - per data shard, its replicas (node id and replica id), written by the
//     shard's leader after each membership change it makes, always
//     re-derived from the shard's Raft membership (SetPlacement): a crash
//     between a change and its record is repaired by the next write;
//   - the nodes leaving the cluster (SetLeaving): placement moves every
//     data shard replica off them before they are removed.
//
// With R = 0 (every cluster made before placement) nothing of this is
// written: every member holds every shard.

// ShardReplica is one replica of a data shard: the node holding it and
// its Raft replica id (epoch<<32 | node id).
type ShardReplica struct {
	Node uint64
	ID   uint64
}

// SetPlacement records the replicas of a data shard (directory shard
// only), replacing the previous record; no replicas removes it.
type SetPlacement struct {
	Header
	Shard    uint64
	Replicas []ShardReplica
}

// SetLeaving marks a node as leaving the cluster (Leaving) or no longer
// leaving (directory shard only).
type SetLeaving struct {
	Header
	Node    uint64
	Leaving bool
}

func keyPlacement(shard uint64) []byte { return appendU64([]byte{pfxPlacement}, shard) }
func keyLeaving(node uint64) []byte    { return appendU64([]byte{pfxLeaving}, node) }

func encodeShardReplicas(e *encoder, rs []ShardReplica) {
	e.uvarint(uint64(len(rs)))
	for _, r := range rs {
		e.uvarint(r.Node)
		e.uvarint(r.ID)
	}
}

func decodeShardReplicas(d *decoder) []ShardReplica {
	var out []ShardReplica
	for i, n := 0, d.count(); i < n && d.err == nil; i++ {
		out = append(out, ShardReplica{Node: d.uvarint(), ID: d.uvarint()})
	}
	return out
}

func (a *applier) setPlacement(c *SetPlacement) (*Result, error) {
	if c.Shard <= DirectoryShard || c.Shard > MaxMetaShards {
		return nil, fmt.Errorf("%w: no placement for shard %d", ErrShardCount, c.Shard)
	}
	if len(c.Replicas) == 0 {
		return nil, a.del(keyPlacement(c.Shard))
	}
	rs := slices.Clone(c.Replicas)
	slices.SortFunc(rs, func(x, y ShardReplica) int { return cmp.Compare(x.Node, y.Node) })
	e := encoder{b: []byte{fmtV1}}
	encodeShardReplicas(&e, rs)
	return nil, a.set(keyPlacement(c.Shard), e.b)
}

func (a *applier) setLeaving(c *SetLeaving) (*Result, error) {
	if !c.Leaving {
		return nil, a.del(keyLeaving(c.Node))
	}
	return nil, a.set(keyLeaving(c.Node), []byte{fmtV1})
}

// MetaReplicas returns the replicas of each data shard recorded when the
// cluster was created (0: every member holds every shard).
func (r *Reader) MetaReplicas() (int, error) {
	n, err := getCounter(r.txn, ctrMetaReplicas)
	return int(n), err
}

// Placements returns the recorded replicas of every data shard that has a
// record, by shard id, each list in node order.
func (r *Reader) Placements() (map[uint64][]ShardReplica, error) {
	out := map[uint64][]ShardReplica{}
	p := []byte{pfxPlacement}
	it := r.txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) != 9 {
			return nil, fmt.Errorf("%w: placement key", ErrCorrupt)
		}
		shard, _ := beU64(k[1:])
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		d := decoder{b: v}
		d.fmtByte()
		rs := decodeShardReplicas(&d)
		if err := d.done(); err != nil {
			return nil, fmt.Errorf("%w: placement of shard %d: %w", ErrCorrupt, shard, err)
		}
		out[shard] = rs
	}
	return out, nil
}

// Leaving returns the nodes marked as leaving, in id order.
func (r *Reader) Leaving() ([]uint64, error) {
	var out []uint64
	p := []byte{pfxLeaving}
	it := r.txn.NewIterator(badger.IteratorOptions{Prefix: p})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) != 9 {
			return nil, fmt.Errorf("%w: leaving key", ErrCorrupt)
		}
		id, _ := beU64(k[1:])
		out = append(out, id)
	}
	return out, nil
}

// ReplicaDir is the directory a replica's Badger DB is kept in under the
// meta dir of NewStateMachine.
func ReplicaDir(dir string, shardID, replicaID uint64) string {
	return filepath.Join(dir, fmt.Sprintf("shard-%d-replica-%d", shardID, replicaID))
}

// RemoveReplicaData deletes the keys of a replica that was removed from
// its shard: its range of the node's store, or its own Badger DB. The
// replica's state machine must be closed (its shard stopped here); an open
// one is refused.
func (h *Handle) RemoveReplicaData(dir string, shardID, replicaID uint64) error {
	if h.fsm(shardID, replicaID) != nil {
		return fmt.Errorf("meta: replica %d of shard %d is still open", replicaID, shardID)
	}
	if err := os.RemoveAll(ReplicaDir(dir, shardID, replicaID)); err != nil {
		return err
	}
	return h.store.ifCreated(func(db *badger.DB) error {
		return deleteRange(db, replicaPrefix(shardID, replicaID))
	})
}

// Replicas lists the replicas whose keys are in this node's meta dir: in
// its store, or in DBs of their own.
func (h *Handle) Replicas(dir string) ([][2]uint64, error) {
	var out [][2]uint64
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, e := range ents {
		var shard, replica uint64
		if !e.IsDir() {
			continue
		}
		if n, _ := fmt.Sscanf(e.Name(), "shard-%d-replica-%d", &shard, &replica); n == 2 && ReplicaDir(dir, shard, replica) == filepath.Join(dir, e.Name()) {
			out = append(out, [2]uint64{shard, replica})
		}
	}
	err = h.store.ifCreated(func(db *badger.DB) error {
		in, err := storeReplicas(db)
		out = append(out, in...)
		return err
	})
	return out, err
}

// PlacementState is the whole placement record: R, each data shard's
// replicas, the nodes leaving.
type PlacementState struct {
	Replicas int
	Records  map[uint64][]ShardReplica
	Leaving  []uint64
}

// PlacementQuery reads the placement record (MetaReplicas, Placements,
// Leaving) on one transaction.
type PlacementQuery struct{}

// Run runs the query.
func (PlacementQuery) Run(r *Reader) (any, error) {
	rep, err := r.MetaReplicas()
	if err != nil {
		return nil, err
	}
	recs, err := r.Placements()
	if err != nil {
		return nil, err
	}
	l, err := r.Leaving()
	return PlacementState{Replicas: rep, Records: recs, Leaving: l}, err
}

func init() { RegisterQuery(PlacementQuery{}, PlacementState{}) }
