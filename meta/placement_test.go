package meta

import (
	"reflect"
	"testing"
)

// The replicas per data shard are recorded with the shard count and fixed
// as they are; a cluster recorded without them has 0.
func TestInitShardsReplicas(t *testing.T) {
	tf := openTestFSM(t)
	tf.must(&InitShards{Count: 4, Replicas: 3})
	tf.must(&InitShards{Count: 4, Replicas: 3})
	tf.mustFail(&InitShards{Count: 4, Replicas: 2}, ErrShardCount)
	tf.mustFail(&InitShards{Count: 4}, ErrShardCount)
	if n := tf.read(func(r *Reader) (any, error) { return r.MetaReplicas() }).(int); n != 3 {
		t.Fatalf("MetaReplicas = %d", n)
	}

	old := openTestFSM(t)
	old.must(&InitShards{Count: 4})
	old.mustFail(&InitShards{Count: 4, Replicas: 3}, ErrShardCount)
	if n := old.read(func(r *Reader) (any, error) { return r.MetaReplicas() }).(int); n != 0 {
		t.Fatalf("MetaReplicas of a cluster without placement = %d", n)
	}
}

// A placement record replaces the previous one; an empty one removes it.
// Leaving marks come and go.
func TestPlacementRecord(t *testing.T) {
	tf := openTestFSM(t)
	tf.mustFail(&SetPlacement{Shard: 1, Replicas: []ShardReplica{{Node: 1, ID: 1}}}, ErrShardCount)
	tf.must(&SetPlacement{Shard: 2, Replicas: []ShardReplica{{Node: 3, ID: 3}, {Node: 1, ID: 1}}})
	tf.must(&SetPlacement{Shard: 3, Replicas: []ShardReplica{{Node: 2, ID: 2}}})
	tf.must(&SetPlacement{Shard: 3, Replicas: []ShardReplica{{Node: 2, ID: 2}, {Node: 4, ID: 1<<32 | 4}}})
	tf.must(&SetPlacement{Shard: 4, Replicas: []ShardReplica{{Node: 2, ID: 2}}})
	tf.must(&SetPlacement{Shard: 4})
	got := tf.read(func(r *Reader) (any, error) { return r.Placements() }).(map[uint64][]ShardReplica)
	want := map[uint64][]ShardReplica{
		2: {{Node: 1, ID: 1}, {Node: 3, ID: 3}},
		3: {{Node: 2, ID: 2}, {Node: 4, ID: 1<<32 | 4}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("placements = %v, want %v", got, want)
	}
	tf.must(&SetLeaving{Node: 5, Leaving: true})
	tf.must(&SetLeaving{Node: 2, Leaving: true})
	tf.must(&SetLeaving{Node: 5})
	if l := tf.read(func(r *Reader) (any, error) { return r.Leaving() }).([]uint64); !reflect.DeepEqual(l, []uint64{2}) {
		t.Fatalf("leaving = %v", l)
	}
}
