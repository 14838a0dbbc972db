//go:build linux

package gateway

import (
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// allocated is the space the file at p has on disk.
func allocated(t *testing.T, p string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

// sparse creates a file of size bytes without blocks, as Badger's
// truncate does.
func sparse(t *testing.T, p string, size int64) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// TestAfterApplyAllocatesNewFiles: after a batch is written into one
// replica's Badger, a memtable file Badger created there gets its blocks,
// with only that replica's directory looked at; a directory not seen yet
// is found by looking at all of them.
func TestAfterApplyAllocatesNewFiles(t *testing.T) {
	dir := t.TempDir()
	g := newDiskGuard(dir, MinFreeSpace{}, slog.New(slog.DiscardHandler))
	r2 := filepath.Join(dir, "meta", "shard-2-replica-1")
	r3 := filepath.Join(dir, "meta", "shard-3-replica-1")
	for _, d := range []string{r2, r3} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	probe := filepath.Join(dir, "probe")
	sparse(t, probe, 1<<20)
	if f, err := os.OpenFile(probe, os.O_RDWR, 0); err != nil {
		t.Fatal(err)
	} else if err := allocate(f, 1<<20, true); err != nil {
		f.Close()
		t.Skipf("fallocate is not supported here: %v", err)
	} else {
		f.Close()
	}
	if err := g.preallocate(); err != nil {
		t.Fatal(err)
	}
	// A new memtable file in r2, after the directory times were taken
	// (its time is set ahead: a coarse file system clock may not have
	// moved).
	mem := filepath.Join(r2, "00002.mem")
	sparse(t, mem, 1<<20)
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(r2, later, later); err != nil {
		t.Fatal(err)
	}
	if got := allocated(t, mem); got >= 1<<20 {
		t.Fatalf("the new file has %d bytes allocated before the apply", got)
	}
	g.afterApply(r3) // another replica's batch: r3 did not change
	if got := allocated(t, mem); got >= 1<<20 {
		t.Fatalf("a batch of another replica allocated the file (%d bytes)", got)
	}
	g.afterApply(r2)
	if got := allocated(t, mem); got < 1<<20 {
		t.Fatalf("after the batch the new file has %d bytes allocated, want 1 MiB", got)
	}
	// A replica directory made after the last look: found by looking at
	// every directory.
	r4 := filepath.Join(dir, "meta", "shard-4-replica-1")
	if err := os.MkdirAll(r4, 0o755); err != nil {
		t.Fatal(err)
	}
	mem4 := filepath.Join(r4, "00001.mem")
	sparse(t, mem4, 1<<20)
	g.afterApply(r4)
	if got := allocated(t, mem4); got < 1<<20 {
		t.Fatalf("a new replica's file has %d bytes allocated, want 1 MiB", got)
	}
}
