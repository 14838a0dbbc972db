package gateway

import (
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// Shared by the tests that write through the chunk store (ingest_test.go);
// the store's own tests are in package block.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func openTestChunkStore(t *testing.T) *ChunkStore {
	t.Helper()
	s, err := OpenChunkStore(filepath.Join(t.TempDir(), "chunks"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 99))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// storedIDs lists the committed chunks.
func storedIDs(t *testing.T, s *ChunkStore) []string {
	t.Helper()
	var ids []string
	if err := s.Walk(func(id string, _ time.Time) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(ids)
	return ids
}

// assertEmpty checks that no chunk and no temporary file is left.
func assertEmpty(t *testing.T, s *ChunkStore) {
	t.Helper()
	if ids := storedIDs(t, s); len(ids) != 0 {
		t.Fatalf("chunks left behind: %v", ids)
	}
	ents, err := os.ReadDir(filepath.Join(s.Dir(), "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Fatalf("%d temporary files left behind", len(ents))
	}
}

// putChunk stores data as one chunk.
func putChunk(t *testing.T, s *ChunkStore, data []byte) meta.Chunk {
	t.Helper()
	w, err := s.Create()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	c, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return c
}
