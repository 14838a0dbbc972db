package gateway

import (
	"bytes"
	"fmt"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"time"
)

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

	// DefaultReleaseStep is Config.ReleaseStep for the default budget.
	DefaultReleaseStep = DefaultMemoryBudget / 32
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
	c.Meta.HotKeysBytes = clamp(unit/2, 256<<10, 64<<20)
	// Below 8 MiB the Raft log store stalls its writes under load (its
	// memtables fill faster than they are flushed) and proposals fail as
	// busy.
	c.Raft.LogDBWriteBuffer = uint64(clamp(2*unit, 8<<20, 64<<20))
	if c.ReleaseStep >= 0 {
		c.ReleaseStep = clamp(budget/32, 2<<20, 256<<20)
	}
	// 5/8 of the budget: 100 MiB for the default. It was 3/4 before the
	// metadata store kept 2 table-building arenas instead of 8
	// (meta/arenas.go), 30 MiB less live heap; at 9/16, as low as that,
	// the 15-minute soaks slowed down more (benchmarks.md, "Badger's
	// arenas and the Go heap's limit").
	return budget * 5 / 8, nil
}

// shardedLogBuffer is the size of the Raft log's memtables for a node of
// more than one shard, given the size for one (NewNode says why): a
// quarter, at least 2 MiB. 0 (Dragonboat's default) stays 0.
func shardedLogBuffer(one uint64) uint64 {
	if one == 0 {
		return 0
	}
	return max(2<<20, one/4)
}

// shardReplicaMemory is what a shard replica keeps in the Go heap whatever
// the load: Dragonboat allocates its receive, proposal and read-index
// queues up front, about 1.1 MiB per replica (a heap profile of a node of
// 16 shards under writes: 19.8 MB for its 16 replicas).
const shardReplicaMemory = 5 << 18 // 1.25 MiB

// goLimitForShards is the Go heap's soft limit of a node of shards
// metadata shards, given the limit for one: the budget's limit plus what
// the further replicas keep (at most one per shard on a node). Without
// it, the budget's headroom for the load went to the replicas' queues: a
// node of 16 shards kept 86-91 MB live against a collector's goal of 102,
// and under the cluster soak its collections went from 116 to 290 a
// minute as its live heap crept up (benchmarks.md, "The Go heap's limit
// of a node of many shards").
func goLimitForShards(limit int64, shards int) int64 {
	if limit <= 0 || shards <= 1 {
		return limit
	}
	return limit + int64(shards-1)*shardReplicaMemory
}

// setGoLimit sets the Go heap's soft limit for a node of shards metadata
// shards, when the node owns the limit (Config.GoMemoryLimit).
func (n *Node) setGoLimit(shards int) {
	if n.cfg.GoMemoryLimit > 0 {
		debug.SetMemoryLimit(goLimitForShards(n.cfg.GoMemoryLimit, shards))
	}
}

func clamp(v, lo, hi int64) int64 {
	return min(max(v, lo), hi)
}

// Releasing memory. Two parts of a node's resident memory stay after the
// load that brought them in, though nothing needs them resident:
//
//   - the pages of the metadata store's memory-mapped tables (Badger
//     writes and reads its tables through shared file mappings): every
//     table written, compacted or read stays in the process's RSS, which
//     so grows with the data written. The node watches its file-backed
//     RSS and, when it has grown by ReleaseStep (and at most every
//     releaseEvery while it grows more slowly, and once when it has held
//     still for idleFor after moving), releases those pages
//     (meta.Handle.ReleaseMapped: they stay in the page cache, a later
//     read maps them again with a minor fault);
//   - the Go heap a burst grew and the garbage collector has not yet given
//     back (its scavenger returns memory slowly, and not at all while
//     nothing allocates). Once the node has gone idle after a burst
//     (allocating less than idleAllocRate for idleFor), it returns it
//     (debug.FreeOSMemory: one collection), at most every freeEvery.
const (
	memoryTick     = 100 * time.Millisecond
	memoryIdleTick = time.Second // while nothing allocates and the file RSS holds
	releaseEvery   = 10 * time.Second
	idleAllocRate  = 2 << 20 // bytes per second
	idleFor        = 2 * time.Second
	burstAlloc     = 64 << 20 // bytes allocated since the last FreeOSMemory
	freeEvery      = 15 * time.Second
	statmSharedCol = 2 // resident shared (file-backed) pages in /proc/self/statm
)

// releaseMemory is the node's loop that gives memory back (see above).
func (n *Node) releaseMemory() {
	defer n.wg.Done()
	step := n.cfg.ReleaseStep
	if step == 0 {
		step = DefaultReleaseStep
	}
	// Every memoryTick while the node allocates or its file-backed RSS
	// moves, every memoryIdleTick once a look found neither: an idle
	// node wakes for this once a second.
	t := time.NewTimer(memoryTick)
	defer t.Stop()
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	readAllocs := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	now := time.Now()
	lastFile, _ := fileRSS()
	prevFile := lastFile
	lastRelease, lastFree, busy := now, now, now
	// settled: the mapped tables were released since the file RSS last
	// moved (at lastMoved).
	settled, lastMoved := false, now
	prevAllocs := readAllocs()
	freedAllocs := prevAllocs
	prev := now
	for {
		select {
		case <-n.stop:
			return
		case now = <-t.C:
		}
		allocs := readAllocs()
		allocating := allocs-prevAllocs > uint64(float64(idleAllocRate)*now.Sub(prev).Seconds())
		if allocating {
			busy = now
		}
		prevAllocs, prev = allocs, now
		moved := false
		if step > 0 {
			file, ok := fileRSS()
			moved = ok && file != prevFile
			prevFile = file
			if moved {
				settled, lastMoved = false, now
			}
			// Besides on growth, once when the file RSS has held still for
			// idleFor after moving: pages a burst made resident while other
			// mapped pages went (a memtable's, once flushed) leave the file
			// RSS where it was, and would otherwise stay until the next
			// burst.
			quiet := !settled && now.Sub(lastMoved) >= idleFor
			if ok && (file >= lastFile+step || file > lastFile && now.Sub(lastRelease) >= releaseEvery || quiet) {
				start := time.Now()
				advised, err := n.local.ReleaseMapped()
				if err != nil {
					n.log.Warn("release mapped tables", "err", err)
				}
				lastFile, _ = fileRSS()
				prevFile = lastFile
				settled = quiet
				n.log.Debug("released mapped tables", "advised", advised, "file_rss_before", file, "file_rss_after", lastFile, "took", time.Since(start))
				lastRelease = now
			} else if ok && file < lastFile {
				lastFile = file
			}
		}
		if now.Sub(busy) >= idleFor && allocs-freedAllocs >= burstAlloc && now.Sub(lastFree) >= freeEvery {
			debug.FreeOSMemory()
			lastFree = time.Now()
			freedAllocs = readAllocs()
		}
		if allocating || moved {
			t.Reset(memoryTick)
		} else {
			t.Reset(memoryIdleTick)
		}
	}
}

// fileRSS returns the process's resident file-backed (and shared) memory
// in bytes, from /proc/self/statm; false where there is none.
func fileRSS() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) <= statmSharedCol {
		return 0, false
	}
	pages, err := strconv.ParseInt(string(f[statmSharedCol]), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
