package meta

import (
	"reflect"
	"unsafe"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/ristretto/v2/z"
)

// Table-building arenas. Badger builds every table (a memtable flush, each
// part of a compaction) in an arena it takes from a pool of its DB, and
// puts the arena back afterwards, grown to the largest table it built (a
// memtable flush: about one and a half memtables). The pool keeps up to 8
// and, under a steady write load, stays full: with the default budget 8
// arenas of about 5.3 MB, 42 MB of the Go heap, which its soft limit had
// to leave room for. No option sets the pool's size, so the store, once
// open, replaces the pool by one that keeps tableArenas; the builders
// beyond those (a compaction runs several at once) take arenas that the
// collector gets back. The Go heap's limit went down by two thirds as much
// (gateway.SizeMemory; benchmarks.md, "Badger's arenas and the Go heap's
// limit").
//
// The pool is an unexported field of badger.DB, set by Open, which also
// starts the goroutines that read it (the flush of memtables replayed from
// the log, the compactors). Replacing it after Open races with them in
// the race detector's terms only: it is a pointer, so a reader sees the
// old pool or the new one (the Go memory model: a read of a word observes
// some write of it), and either serves it; the old pool is never released,
// so an arena taken from it can be put back. Race-enabled builds, whose
// detector would report it, keep Badger's pool (raceEnabled).

// tableArenas is how many table-building arenas a DB keeps between builds.
const tableArenas = 2

// arenaPool returns the address of db's pool of table-building arenas,
// or false when Badger's DB no longer has one where this code expects it
// (TestArenaPool fails then).
func arenaPool(db *badger.DB) (**z.AllocatorPool, bool) {
	v := reflect.ValueOf(db).Elem().FieldByName("allocPool")
	if !v.IsValid() || v.Type() != reflect.TypeFor[*z.AllocatorPool]() {
		return nil, false
	}
	return (**z.AllocatorPool)(unsafe.Pointer(v.UnsafeAddr())), true
}

// shrinkArenaPool gives db a pool that keeps tableArenas arenas (not in
// race-enabled builds, nor when arenaPool finds no pool).
func shrinkArenaPool(db *badger.DB) {
	if raceEnabled {
		return
	}
	if p, ok := arenaPool(db); ok {
		*p = z.NewAllocatorPool(tableArenas)
	}
}
