package block

import (
	"bytes"
	"hash/crc32"
	"os"
	"testing"
	"unsafe"

	"github.com/forkstore/forkstore/meta"
	"golang.org/x/sys/unix"
)

// residentPages reports which of the file's pages are in the page cache.
func residentPages(t *testing.T, path string) []bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(b)
	page := os.Getpagesize()
	vec := make([]byte, (len(b)+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), uintptr(unsafe.Pointer(unsafe.SliceData(vec)))); errno != 0 {
		t.Fatal(errno)
	}
	in := make([]bool, len(vec))
	for i, v := range vec {
		in[i] = v&1 != 0
	}
	return in
}

// A copy written direct leaves its aligned part out of the page cache
// (only the unaligned tail, written through it, is there); the fallback
// writes through the page cache. This is what tells the two paths apart.
func TestPutCopyDirectSkipsPageCache(t *testing.T) {
	if os.Getpagesize() != directAlign {
		t.Skipf("page size %d", os.Getpagesize())
	}
	data := randBytes(7, 1<<20+13)
	for _, direct := range []bool{false, true} {
		s := openCopyStore(t, direct)
		c := meta.Chunk{ID: newChunkID(), Size: int64(len(data)), CRC32C: crc32.Checksum(data, castagnoli)}
		if err := s.PutCopy(c, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		in := residentPages(t, s.path(c.ID))
		last := len(in) - 1
		cached := 0
		for _, r := range in[:last] {
			if r {
				cached++
			}
		}
		switch {
		case direct && cached != 0:
			t.Errorf("direct: %d of the %d aligned pages are in the page cache", cached, last)
		case direct && !in[last]:
			t.Errorf("direct: the tail page, written buffered, is not in the page cache")
		case !direct && cached < last/2:
			t.Errorf("buffered: only %d of %d pages in the page cache", cached, last)
		}
	}
}
