package block

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// Rendezvous placement: every node computes the same holders for a chunk,
// chunks spread evenly, and adding a member moves only the chunks that the
// new member takes (about R/N of them), never between old members.
func TestPlacementStableAndBalanced(t *testing.T) {
	three := []Member{{ID: 1}, {ID: 2}, {ID: 3}}
	four := append(three[:3:3], Member{ID: 4})
	const n = 4000
	load := map[uint64]int{}
	moved := 0
	for i := range n {
		id := fmt.Sprintf("%032x", i*7919)
		before := placement(three, id)[:3]
		after := placement(four, id)[:3]
		for _, m := range after {
			load[m.ID]++
		}
		inAfter := map[uint64]bool{}
		for _, m := range after {
			inAfter[m.ID] = true
		}
		lost := 0
		for _, m := range before {
			if !inAfter[m.ID] {
				lost++
			}
		}
		if lost > 1 || (lost == 1 && !inAfter[4]) {
			t.Fatalf("chunk %s: holders %v -> %v: a move not caused by the new member", id, before, after)
		}
		moved += lost
		again := placement([]Member{{ID: 4}, {ID: 2}, {ID: 3}, {ID: 1}}, id)[:3]
		for j := range after {
			if after[j].ID != again[j].ID {
				t.Fatalf("placement depends on member order: %v vs %v", after, again)
			}
		}
	}
	for id, l := range load {
		if want := n * 3 / 4; l < want*9/10 || l > want*11/10 {
			t.Errorf("node %d holds %d chunks, want about %d", id, l, want)
		}
	}
	if want := n * 3 / 4; moved < want*8/10 || moved > want*12/10 {
		t.Errorf("%d chunk copies moved to the new node, want about %d", moved, want)
	}
}

// A received copy is stored only when it has exactly the signed size and
// CRC32C; a second copy of a present chunk is a no-op; interrupted copies
// are swept.
func TestPutCopy(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("chunk bytes "), 1000)
	c := meta.Chunk{ID: newChunkID(), Size: int64(len(data)), CRC32C: crc32.Checksum(data, castagnoli)}
	bad := append(bytes.Clone(data[:len(data)-1]), 'X')
	if err := s.PutCopy(c, bytes.NewReader(bad)); !errors.Is(err, ErrChunkMissing) {
		t.Fatalf("corrupt copy: got %v, want ErrChunkMissing", err)
	}
	if err := s.PutCopy(c, bytes.NewReader(data[:100])); !errors.Is(err, ErrChunkMissing) {
		t.Fatalf("short copy: got %v, want ErrChunkMissing", err)
	}
	if s.Has(c.ID) {
		t.Fatal("a refused copy was stored")
	}
	if err := s.PutCopy(c, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(c); err != nil {
		t.Fatalf("stored copy: %v", err)
	}
	if err := s.PutCopy(c, bytes.NewReader(nil)); err != nil {
		t.Fatalf("copy of a present chunk: %v", err)
	}
	// A received copy counts in Usage (cluster status's chunk_files)
	// once, like a chunk written here.
	if files, n := s.Usage(); files != 1 || n != c.Size {
		t.Fatalf("after one received copy Usage is %d files, %d bytes; want 1, %d", files, n, c.Size)
	}
	tmp := filepath.Join(filepath.Dir(s.path(c.ID)), "."+c.ID+".123"+tmpSuffix)
	if err := os.WriteFile(tmp, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(tmp, old, old)
	s.sweepTemp(time.Minute)
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("interrupted copy not swept: %v", err)
	}
	// Corruption at rest is found by Verify.
	if err := os.WriteFile(s.path(c.ID), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(c); !errors.Is(err, ErrChunkMissing) {
		t.Fatalf("corrupt file: got %v, want ErrChunkMissing", err)
	}
}
