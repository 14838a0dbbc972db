package block

import (
	"io/fs"
	"os"
	"unsafe"
)

// Copies pushed by the node that took an upload (Manager.Receive) are
// written with O_DIRECT where the filesystem allows it: a holder that only
// stores a copy has no use for its bytes in the page cache, and copying
// every received MiB into it was most of a holder's CPU. Each direct write
// waits for the device; a push hides that behind its receipt (copyFile),
// which arrives as fast as the upload's body. Repair's pulls cannot: a
// node catching up writes chunks already in memory from 4 workers and its
// rate is bound by how fast they land, about a quarter lower with direct
// writes of 256 KiB (docs/benchmarks.md), so PutCopy writes through the
// page cache. The chunks this node writes itself (Create) keep the page
// cache too: their copies to the other holders are read back out of it as
// the ingest writes them.
//
// O_DIRECT asks that a write's buffer address, file offset and length be
// multiples of the device's logical block size; directAlign (4096) is a
// multiple of every usual one. The receive buffers are allocated aligned
// and a copy is written in whole buffers from offset 0, so every write
// but a copy's last is aligned; the last one's aligned prefix goes direct
// and its remaining bytes (fewer than directAlign) through the page cache,
// after O_DIRECT is cleared on the file. The fsyncs are those of a
// buffered copy: the file's data and size, then its directory.

// directAlign is the alignment of direct writes.
const directAlign = 4096

// alignedBuf returns a buffer of n bytes whose address is a multiple of
// directAlign.
func alignedBuf(n int) []byte {
	b := make([]byte, n+directAlign)
	off := 0
	if r := int(uintptr(unsafe.Pointer(unsafe.SliceData(b))) % directAlign); r != 0 {
		off = directAlign - r
	}
	return b[off : off+n : off+n]
}

// isAligned reports whether p starts at a multiple of directAlign.
func isAligned(p []byte) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(p)))%directAlign == 0
}

// probeDirect reports whether files in dir can be written with O_DIRECT:
// it sets the flag on a new file there and writes one aligned block.
// Some filesystems refuse the flag (EINVAL), others only the writes.
func probeDirect(dir string) bool {
	f, err := os.CreateTemp(dir, "direct-probe-*")
	if err != nil {
		return false
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if setDirect(f, true) != nil {
		return false
	}
	_, err = f.Write(alignedBuf(directAlign))
	return err == nil
}

// copyFile is the file a received copy is written to. While direct, its
// writes go through O_DIRECT; they must then start at an offset that is a
// multiple of directAlign, which holds as long as every earlier write was
// aligned. The first write that is not aligned (a copy's last piece, or a
// piece of a body cut short) writes its aligned prefix direct, clears
// O_DIRECT and writes the rest through the page cache, as the file's later
// writes.
//
// A direct write waits for the device; so that the copy's receipt does not
// wait for it too, a direct write of whole blocks runs on its own goroutine
// while receiveCopy fills its other buffer. One write at most is in flight:
// each write, and wait, first waits for it, so the file's writes stay in
// order and a buffer is reused only once its write is over.
type copyFile struct {
	*os.File
	direct  bool
	pending chan error // the result of the write in flight; nil: none
}

// copyFile returns f as a copy's file, with O_DIRECT set when direct is
// asked and s's filesystem has it (f stays buffered if the flag cannot be
// set).
func (s *Store) copyFile(f *os.File, direct bool) *copyFile {
	return &copyFile{File: f, direct: direct && s.direct && setDirect(f, true) == nil}
}

// write writes p, which the caller leaves untouched until its next write
// or wait has returned. An error of a write in flight is returned by the
// next write or wait.
func (f *copyFile) write(p []byte) error {
	if err := f.wait(); err != nil {
		return err
	}
	if !f.direct {
		_, err := f.File.Write(p)
		return err
	}
	k := 0
	if isAligned(p) {
		k = len(p) &^ (directAlign - 1)
	}
	if k == len(p) {
		if k > 0 {
			f.pending = make(chan error, 1)
			go func(done chan<- error) {
				_, err := f.File.Write(p)
				done <- err
			}(f.pending)
		}
		return nil
	}
	if k > 0 {
		if _, err := f.File.Write(p[:k]); err != nil {
			return err
		}
	}
	if err := setDirect(f.File, false); err != nil {
		return &fs.PathError{Op: "fcntl", Path: f.Name(), Err: err}
	}
	f.direct = false
	_, err := f.File.Write(p[k:])
	return err
}

// wait waits for the write in flight, if any, and returns its error.
func (f *copyFile) wait() error {
	if f.pending == nil {
		return nil
	}
	err := <-f.pending
	f.pending = nil
	return err
}
