package gateway

import "fmt"

// Memory budget: the resident memory a node aims to stay within under
// load (--memory-budget). It sizes what grows with the load rather than
// with the data: Badger's memtables (and so the arenas that write them
// out as tables) and its index cache, the Raft log store's memtables, and
// the Go heap's soft limit. Memory-mapped table and value-log pages and
// the ingest buffers (256 KiB per upload in progress) come on top, which
// is why the Go limit is well under the budget. docs/operations.md
// ("Memory") lists what each part takes.
const (
	DefaultMemoryBudget = 160 << 20
	MinMemoryBudget     = 64 << 20
	MaxMemoryBudget     = 1 << 40
)

// SizeMemory sizes c's caches and buffers for budget bytes and returns the
// soft limit of the Go heap that goes with it.
func (c *Config) SizeMemory(budget int64) (goLimit int64, err error) {
	if budget < MinMemoryBudget || budget > MaxMemoryBudget {
		return 0, fmt.Errorf("gateway: memory budget %d out of range [%d, %d]", budget, int64(MinMemoryBudget), int64(MaxMemoryBudget))
	}
	unit := budget / 40 // 4 MiB for the default budget
	c.Meta.BadgerMemTableSize = clamp(unit, 2<<20, 64<<20)
	c.Meta.IndexCacheSize = clamp(unit, 2<<20, 256<<20)
	c.Meta.BaseTableSize = clamp(unit/4, 1<<20, 8<<20)
	// Below 8 MiB the Raft log store stalls its writes under load (its
	// memtables fill faster than they are flushed) and proposals fail as
	// busy.
	c.Raft.LogDBWriteBuffer = uint64(clamp(2*unit, 8<<20, 64<<20))
	return budget * 3 / 4, nil
}

func clamp(v, lo, hi int64) int64 {
	return min(max(v, lo), hi)
}
