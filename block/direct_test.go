package block

import (
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forkstore/forkstore/meta"
)

// copySizes are chunk sizes around the direct-write alignment and the
// receive buffer: empty, shorter than a block, exact blocks, a whole
// buffer, and several buffers with an unaligned tail.
var copySizes = []int{0, 1, directAlign - 1, directAlign, directAlign + 1, 256 << 10, 1<<20 + 13}

// openCopyStore opens a store that writes received copies direct or
// through the page cache, as asked; a filesystem without O_DIRECT skips
// the direct case.
func openCopyStore(t *testing.T, direct bool) *Store {
	t.Helper()
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if direct && !s.direct {
		t.Skip("this filesystem has no O_DIRECT")
	}
	s.direct = direct
	return s
}

// noTempFiles fails if a copy's temporary file was left in s.
func noTempFiles(t *testing.T, s *Store) {
	t.Helper()
	filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), tmpSuffix) {
			t.Errorf("temporary file left: %s", path)
		}
		return nil
	})
}

// Received copies of every size are stored with their exact bytes, both
// written direct and through the page cache (the fallback of a filesystem
// without O_DIRECT), unsigned and signed (replication's pushes):
// read back whole and in part, sent on as repair sends them, and signed
// again with the trailer the sender computed. A body cut short, a
// corrupt trailer or a wrong CRC32C stores nothing, as before.
func TestPutCopyDirectAndBuffered(t *testing.T) {
	key := []byte("cluster key")
	signed := func(body []byte) []byte { return signedCopy(key, body) }
	for _, mode := range []struct {
		name   string
		direct bool
	}{{"buffered", false}, {"direct", true}} {
		t.Run(mode.name, func(t *testing.T) {
			s := openCopyStore(t, mode.direct)
			// Unsigned copies are written as signed ones are, here:
			// both paths of putCopy run direct.
			put := func(c meta.Chunk, body []byte) error {
				_, err := s.putCopy(c, bytes.NewReader(body), nil, true)
				return err
			}
			for _, size := range copySizes {
				data := randBytes(uint64(size), size)
				c := meta.Chunk{ID: newChunkID(), Size: int64(size), CRC32C: crc32.Checksum(data, castagnoli)}
				if size > 0 {
					if err := put(c, data[:size-1]); !errors.Is(err, ErrChunkMissing) {
						t.Fatalf("size %d, body cut short: got %v, want ErrChunkMissing", size, err)
					}
					bad := bytes.Clone(data)
					bad[size-1] ^= 1
					if err := put(c, bad); !errors.Is(err, ErrChunkMissing) {
						t.Fatalf("size %d, corrupt body: got %v, want ErrChunkMissing", size, err)
					}
					wire := signed(data)
					if _, err := s.putCopy(meta.Chunk{ID: c.ID, Size: c.Size}, bytes.NewReader(wire[:size-1]), newBodyMAC(key, testSalt), true); !errors.Is(err, ErrChunkMissing) {
						t.Fatalf("size %d, signed body cut short: got %v, want ErrChunkMissing", size, err)
					}
				}
				forged := signed(data)
				forged[len(forged)-1] ^= 1
				if _, err := s.putCopy(meta.Chunk{ID: c.ID, Size: c.Size}, bytes.NewReader(forged), newBodyMAC(key, testSalt), true); !errors.Is(err, ErrChunkMissing) {
					t.Fatalf("size %d, bad tag: got %v, want ErrChunkMissing", size, err)
				}
				if s.Has(c.ID) {
					t.Fatalf("size %d: a refused copy was stored", size)
				}
				noTempFiles(t, s)

				if err := put(c, data); err != nil {
					t.Fatalf("size %d: %v", size, err)
				}
				sc, err := s.putCopy(meta.Chunk{ID: newChunkID(), Size: c.Size}, bytes.NewReader(signed(data)), newBodyMAC(key, testSalt), true)
				if err != nil {
					t.Fatalf("size %d, signed: %v", size, err)
				}
				if sc.CRC32C != c.CRC32C {
					t.Fatalf("size %d, signed: stored with crc32c %08x, want %08x", size, sc.CRC32C, c.CRC32C)
				}
				for _, ch := range []meta.Chunk{c, sc} {
					checkStored(t, s, ch, data)
					tr, err := s.trailer(ch, newBodyMAC(key, testSalt))
					if want := signed(data)[size:]; err != nil || !bytes.Equal(tr[:], want) {
						t.Fatalf("size %d: trailer from the file %x, %v; want %x", size, tr, err, want)
					}
				}
				noTempFiles(t, s)
			}
			if files, _ := s.Usage(); files != int64(2*len(copySizes)) {
				t.Fatalf("Usage counts %d files, want %d", files, 2*len(copySizes))
			}
		})
	}
}

// checkStored reads c back through the read paths a GET, the scrubber
// and repair use and compares the bytes with data.
func checkStored(t *testing.T, s *Store, c meta.Chunk, data []byte) {
	t.Helper()
	fi, err := os.Stat(s.path(c.ID))
	if err != nil || fi.Size() != c.Size {
		t.Fatalf("size %d: stat %v, %v", c.Size, fi, err)
	}
	if err := s.Verify(c); err != nil {
		t.Fatalf("size %d: Verify: %v", c.Size, err)
	}
	r, err := s.Open(c, 0, c.Size)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("size %d: read back %d bytes, %v", c.Size, len(got), err)
	}
	if c.Size > 2 {
		r, err := s.Open(c, 1, c.Size-2)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, data[1:c.Size-1]) {
			t.Fatalf("size %d: partial read back %d bytes, %v", c.Size, len(got), err)
		}
	}
	s.verified.forget(c.ID)
	var sent bytes.Buffer
	if _, err := s.sendChunk(&sent, c, 0, c.Size); err != nil || !bytes.Equal(sent.Bytes(), data) {
		t.Fatalf("size %d: sent %d bytes, %v", c.Size, sent.Len(), err)
	}
}

// The probe leaves nothing behind, and a directory it cannot write in has
// no direct I/O.
func TestProbeDirect(t *testing.T) {
	dir := t.TempDir()
	probeDirect(dir)
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("probe left %d files", len(ents))
	}
	if probeDirect(filepath.Join(dir, "absent")) {
		t.Fatal("direct writes reported in a directory that does not exist")
	}
}

// Aligned buffers are aligned, of the length asked, and cannot grow into
// their padding.
func TestAlignedBuf(t *testing.T) {
	for _, n := range []int{0, 1, directAlign, 256 << 10} {
		b := alignedBuf(n)
		if len(b) != n || cap(b) != n || (n > 0 && !isAligned(b)) {
			t.Fatalf("alignedBuf(%d): len %d, cap %d, aligned %v", n, len(b), cap(b), isAligned(b))
		}
	}
}
