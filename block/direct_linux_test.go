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

// A pushed copy written direct leaves its aligned part out of the page
// cache (only the unaligned tail, written through it, is there); the
// fallback, and repair's pulls (PutCopy), write through the page cache.
// This is what tells the paths apart.
func TestPutCopyDirectSkipsPageCache(t *testing.T) {
	if os.Getpagesize() != directAlign {
		t.Skipf("page size %d", os.Getpagesize())
	}
	key := []byte("cluster key")
	data := randBytes(7, 1<<20+13)
	m := newBodyMAC(key, testSalt)
	m.Write(data)
	tr := m.trailer(crc32.Checksum(data, castagnoli))
	wire := append(bytes.Clone(data), tr[:]...)
	for _, tc := range []struct {
		name         string
		directStore  bool
		pull, direct bool
	}{
		{"pushed, direct", true, false, true},
		{"pushed, fallback", false, false, false},
		{"pulled", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openCopyStore(t, tc.directStore)
			c := meta.Chunk{ID: newChunkID(), Size: int64(len(data)), CRC32C: crc32.Checksum(data, castagnoli)}
			var err error
			if tc.pull {
				err = s.PutCopy(c, bytes.NewReader(data))
			} else {
				_, err = s.putCopy(meta.Chunk{ID: c.ID, Size: c.Size}, bytes.NewReader(wire), newBodyMAC(key, testSalt), true)
			}
			if err != nil {
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
			case tc.direct && cached != 0:
				t.Errorf("%d of the %d aligned pages are in the page cache", cached, last)
			case tc.direct && !in[last]:
				t.Errorf("the tail page, written buffered, is not in the page cache")
			case !tc.direct && cached < last/2:
				t.Errorf("only %d of %d pages in the page cache", cached, last)
			}
		})
	}
}
