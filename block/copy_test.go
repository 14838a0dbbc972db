package block

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"syscall"
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
	key := []byte("cluster key")
	signed := func(body []byte) []byte { return signedCopy(key, body) }
	if _, err := s.putCopy(meta.Chunk{ID: c.ID, Size: c.Size}, bytes.NewReader(signed(data)), newBodyMAC(key, testSalt), true); err != nil {
		t.Fatalf("signed copy of a present chunk: %v", err)
	}
	forged := append(bad, signed(data)[len(data):]...)
	if _, err := s.putCopy(meta.Chunk{ID: c.ID, Size: c.Size}, bytes.NewReader(forged), newBodyMAC(key, testSalt), true); !errors.Is(err, ErrChunkMissing) {
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

// testSalt is a chunk copy's salt in tests.
const testSalt = "00112233445566778899aabbccddeeff"

// A signed copy (body, then CRC32C and tag) is stored only when every
// byte, the CRC32C and the tag are those signed: a truncated body, a
// flipped byte, a trailer from another salt, a changed CRC32C, bytes
// beyond the trailer or a missing trailer all store nothing.
func TestPutSignedCopy(t *testing.T) {
	key := []byte("cluster key")
	data := make([]byte, 3*macFrame+1234)
	for i := range data {
		data[i] = byte(i * 31)
	}
	crc := crc32.Checksum(data, castagnoli)
	wire := func(salt string, body []byte, crc uint32) []byte {
		m := newBodyMAC(key, salt)
		// Uneven writes: frames split between writes are tagged alike.
		for p := body; len(p) > 0; {
			k := min(len(p), 1000+len(p)%7777)
			m.Write(p[:k])
			p = p[k:]
		}
		tr := m.trailer(crc)
		return append(bytes.Clone(body), tr[:]...)
	}
	good := wire(testSalt, data, crc)
	flipped := bytes.Clone(good)
	flipped[macFrame+5] ^= 1
	badCRC := bytes.Clone(good)
	badCRC[len(data)] ^= 1
	otherSalt := wire("ffeeddccbbaa99887766554433221100", data, crc)
	wrongCRCsigned := wire(testSalt, data, crc^1)
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"truncated body", good[:len(data)-10]},
		{"no trailer", good[:len(data)]},
		{"truncated trailer", good[:len(good)-1]},
		{"flipped byte", flipped},
		{"changed crc32c", badCRC},
		{"another salt", otherSalt},
		{"signed crc32c that is not the bytes'", wrongCRCsigned},
		{"bytes after the trailer", append(bytes.Clone(good), 'x')},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			id := newChunkID()
			_, err = s.putCopy(meta.Chunk{ID: id, Size: int64(len(data))}, bytes.NewReader(tc.body), newBodyMAC(key, testSalt), true)
			if !errors.Is(err, ErrChunkMissing) {
				t.Fatalf("got %v, want ErrChunkMissing", err)
			}
			if s.Has(id) {
				t.Fatal("a refused copy was stored")
			}
			if files, _ := s.Usage(); files != 0 {
				t.Fatalf("%d files after a refused copy", files)
			}
		})
	}
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := newChunkID()
	c, err := s.putCopy(meta.Chunk{ID: id, Size: int64(len(data))}, bytes.NewReader(good), newBodyMAC(key, testSalt), true)
	if err != nil {
		t.Fatal(err)
	}
	if c.CRC32C != crc {
		t.Fatalf("stored with crc32c %08x, want %08x", c.CRC32C, crc)
	}
	if err := s.Verify(c); err != nil {
		t.Fatalf("stored copy: %v", err)
	}
	// The sender's trailer, read from the file, is the one computed as
	// the bytes were written.
	tr, err := s.trailer(c, newBodyMAC(key, testSalt))
	if err != nil || !bytes.Equal(tr[:], good[len(data):]) {
		t.Fatalf("trailer from the file: %x, %v; want %x", tr, err, good[len(data):])
	}
}

// BenchmarkReceiveCopy is a holder's side of a 1 MiB chunk copy: read,
// CRC32C and tag checked in one pass, temporary file, fsync, rename;
// "gmac" writes it as the store does (O_DIRECT where the filesystem has
// it), "gmac buffered" through the page cache (the fallback). The
// "sha256" case hashes the same bytes with SHA-256 on top, which is what
// the v2 format's signed body digest cost each holder (and the sender).
func BenchmarkReceiveCopy(b *testing.B) {
	key := []byte("cluster key")
	data := randBytes(1, 1<<20)
	m := newBodyMAC(key, testSalt)
	m.Write(data)
	tr := m.trailer(crc32.Checksum(data, castagnoli))
	wire := append(bytes.Clone(data), tr[:]...)
	s, err := OpenStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	direct := s.direct
	for _, mode := range []struct {
		name   string
		direct bool
	}{{"gmac", direct}, {"gmac buffered", false}} {
		b.Run(mode.name, func(b *testing.B) {
			s.direct = mode.direct
			b.SetBytes(int64(len(data)))
			cpu0 := processCPU(b)
			for b.Loop() {
				if _, err := s.putCopy(meta.Chunk{ID: newChunkID(), Size: int64(len(data))}, bytes.NewReader(wire), newBodyMAC(key, testSalt), true); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
	s.direct = direct
	b.Run("mac only", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			m := newBodyMAC(key, testSalt)
			m.Write(data)
			m.trailer(0)
		}
	})
	b.Run("sha256 only", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			sha256.Sum256(data)
		}
	})
}

// processCPU is the CPU time (user and system, all threads) the process
// has used, in ns: the kernel's share of a copy (the write into the page
// cache, or not) does not show in ns/op, which the fsync's wait dominates.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// signedCopy is body as a signed copy's request body: the bytes, then
// their trailer under key and testSalt.
func signedCopy(key, body []byte) []byte {
	m := newBodyMAC(key, testSalt)
	m.Write(body)
	tr := m.trailer(crc32.Checksum(body, castagnoli))
	return append(bytes.Clone(body), tr[:]...)
}
