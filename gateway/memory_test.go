package gateway

import "testing"

func TestSizeMemory(t *testing.T) {
	c := DefaultConfig()
	limit, err := c.SizeMemory(DefaultMemoryBudget)
	if err != nil {
		t.Fatal(err)
	}
	// The default budget sizes down from the previous fixed settings
	// (8 MiB memtables, 16 MiB Raft log buffers, 2 MiB tables).
	if c.Meta.BadgerMemTableSize != 4<<20 || c.Meta.IndexCacheSize != 4<<20 || c.Meta.BaseTableSize != 1<<20 {
		t.Errorf("badger: memtable %d, index cache %d, table %d", c.Meta.BadgerMemTableSize, c.Meta.IndexCacheSize, c.Meta.BaseTableSize)
	}
	if c.Raft.LogDBWriteBuffer != 8<<20 {
		t.Errorf("raft log write buffer %d", c.Raft.LogDBWriteBuffer)
	}
	if c.Meta.HotKeysBytes != 2<<20 {
		t.Errorf("bucket keys in memory: %d", c.Meta.HotKeysBytes)
	}
	// With many shards, the Raft log's memtables are a quarter of that:
	// Pebble keeps about ten flushed ones reachable while a LogDB shard
	// is not written, which at 4 MiB kept a node of 16 shards' heap at the
	// soft limit through a read load (benchmarks.md).
	if got := shardedLogBuffer(c.Raft.LogDBWriteBuffer); got != 2<<20 {
		t.Errorf("raft log write buffer with many shards %d", got)
	}
	if got := shardedLogBuffer(64 << 20); got != 16<<20 {
		t.Errorf("raft log write buffer with many shards, large budget %d", got)
	}
	if got := shardedLogBuffer(0); got != 0 {
		t.Errorf("raft log write buffer with many shards, default %d", got)
	}
	// The Go limit of a node of many shards adds what each further
	// replica keeps whatever the load (Dragonboat's queues): without it a
	// node of 16 shards collected its heap several times a second.
	if got := goLimitForShards(limit, 16); got != 100<<20+15*(5<<18) {
		t.Errorf("go limit with 16 shards %d", got)
	}
	for _, shards := range []int{0, 1} {
		if got := goLimitForShards(limit, shards); got != limit {
			t.Errorf("go limit with %d shards %d, want %d", shards, got, limit)
		}
	}
	if got := goLimitForShards(0, 16); got != 0 {
		t.Errorf("go limit left to the runtime, with 16 shards: %d", got)
	}
	if c.ReleaseStep != DefaultReleaseStep || DefaultReleaseStep != 5<<20 {
		t.Errorf("release step %d", c.ReleaseStep)
	}
	if limit != 100<<20 {
		t.Errorf("go limit %d", limit)
	}

	// A large budget grows them, within bounds.
	big := DefaultConfig()
	limit, err = big.SizeMemory(4 << 30)
	if err != nil {
		t.Fatal(err)
	}
	if big.Meta.BadgerMemTableSize != 64<<20 || big.Raft.LogDBWriteBuffer != 64<<20 || limit != 5<<29 || big.ReleaseStep != 128<<20 {
		t.Errorf("4 GiB: memtable %d, raft buffer %d, limit %d", big.Meta.BadgerMemTableSize, big.Raft.LogDBWriteBuffer, limit)
	}
	if err := big.Raft.Validate(); err != nil {
		t.Errorf("validate: %v", err)
	}

	// The smallest budget keeps the floors that avoid write stalls.
	small := DefaultConfig()
	if _, err := small.SizeMemory(MinMemoryBudget); err != nil {
		t.Fatal(err)
	}
	if small.Raft.LogDBWriteBuffer < 8<<20 || small.Meta.BadgerMemTableSize < 2<<20 {
		t.Errorf("min budget: raft buffer %d, memtable %d", small.Raft.LogDBWriteBuffer, small.Meta.BadgerMemTableSize)
	}
	// Releasing mapped pages stays off when it was turned off.
	off := DefaultConfig()
	off.ReleaseStep = -1
	if _, err := off.SizeMemory(DefaultMemoryBudget); err != nil || off.ReleaseStep != -1 {
		t.Errorf("release step %d, %v; want -1", off.ReleaseStep, err)
	}
	for _, b := range []int64{0, MinMemoryBudget - 1, MaxMemoryBudget + 1} {
		c := DefaultConfig()
		if _, err := c.SizeMemory(b); err == nil {
			t.Errorf("budget %d accepted", b)
		}
	}
}

func TestSharedSnapshotEntries(t *testing.T) {
	for _, c := range []struct {
		entries, overhead uint64
		shards            int
		wantE, wantO      uint64
	}{
		{10000, 5000, 1, 10000, 5000},  // one shard keeps the node's
		{10000, 5000, 0, 10000, 5000},  // a count not known yet
		{10000, 5000, 4, 2500, 1250},   // divided
		{10000, 5000, 16, 1000, 500},   // with a floor
		{100000, 5000, 16, 6250, 3125}, // the overhead at most half
		{500, 250, 16, 500, 250},       // a small interval is kept
		{0, 0, 16, 0, 0},               // no periodic snapshots
	} {
		e, o := sharedSnapshotEntries(c.entries, c.overhead, c.shards)
		if e != c.wantE || o != c.wantO {
			t.Errorf("sharedSnapshotEntries(%d, %d, %d) = %d, %d; want %d, %d", c.entries, c.overhead, c.shards, e, o, c.wantE, c.wantO)
		}
	}
}
