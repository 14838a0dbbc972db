//go:build cgo && linux

package main

/*
#include <malloc.h>

// With cgo, the Raft log store (Pebble) allocates its memtables (megabytes
// each) with C malloc. glibc raises its mmap threshold to the size of each
// mapped block freed, so after the first memtable is flushed the next ones
// come from its heaps: calloc then clears them (all their pages resident at
// once) and a freed one stays in the process. A fixed threshold keeps large
// blocks mapped on their own: touched only as they fill, unmapped when
// freed. Other C libraries (musl) have no such threshold.
static void forkstore_tune_malloc(void) {
#ifdef M_MMAP_THRESHOLD
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
}
*/
import "C"

func init() { C.forkstore_tune_malloc() }
