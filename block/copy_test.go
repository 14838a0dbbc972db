package block

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/forkstore/forkstore/meta"
)

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
	// A signed copy of a chunk held already is checked all the same: a
	// body other than the signed one is refused, never acknowledged.
	sum := sha256.Sum256(data)
	if err := s.putCopy(c, bytes.NewReader(data), &sum); err != nil {
		t.Fatalf("signed copy of a present chunk: %v", err)
	}
	if err := s.putCopy(c, bytes.NewReader(bad), &sum); !errors.Is(err, ErrChunkMissing) {
		t.Fatalf("forged signed copy of a present chunk: got %v, want ErrChunkMissing", err)
	}
	if err := s.Verify(c); err != nil {
		t.Fatalf("the held copy after a forged one: %v", err)
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
