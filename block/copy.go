package block

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// Copies of chunks that another node wrote (replication, repair, scrub)
// arrive under a temporary name in the chunk's own directory,
// ".<id>.<random>.tmp", are verified against the chunk's size and CRC32C,
// fsynced and renamed into place. Two copies of one chunk may arrive at
// once (a replication push and a repair pull): each writes its own
// temporary file and the renames replace identical bytes. A crash leaves
// only a temporary file, which Open and Walk never see and the sweeper
// removes.

// tmpSuffix ends the names of copies being received.
const tmpSuffix = ".tmp"

// copyBufs are the buffers copies are received through, aligned for
// O_DIRECT writes (direct.go).
var copyBufs = sync.Pool{New: func() any {
	b := alignedBuf(256 << 10)
	return &b
}}

// PutCopy stores a copy of chunk c read from r, unless a copy of the right
// size is already there. It fails with ErrChunkMissing (and stores
// nothing) when r does not hold exactly c's bytes. The copy is written
// through the page cache (repair's pulls: see direct.go).
func (s *Store) PutCopy(c meta.Chunk, r io.Reader) error {
	_, err := s.putCopy(c, r, nil, false)
	return err
}

// putCopy is PutCopy that, with m, reads a signed copy (bodymac.go): r
// holds c.Size bytes and their trailer, c.CRC32C is taken from the
// trailer, and the copy gets its name only once the trailer's tag and
// CRC32C match the bytes. With direct, the file is written with O_DIRECT
// if the store's filesystem allows it (direct.go). It returns the chunk
// stored.
func (s *Store) putCopy(c meta.Chunk, r io.Reader, m *bodyMAC, direct bool) (meta.Chunk, error) {
	if !validChunkID(c.ID) {
		return c, fmt.Errorf("%w: malformed chunk id %q", ErrChunkMissing, c.ID)
	}
	if s.hasSize(c) {
		if m != nil {
			// A signed copy of a chunk held already is not stored,
			// but a body that is not the signed one is still refused:
			// nothing forged is ever acknowledged.
			return checkCopy(c, r, m)
		}
		return c, nil
	}
	dirs, err := s.ensureDir(c.ID)
	if err != nil {
		return c, diskError("copy", err)
	}
	final := s.path(c.ID)
	f, err := os.CreateTemp(filepath.Dir(final), "."+c.ID+".*"+tmpSuffix)
	if err != nil {
		return c, diskError("copy", err)
	}
	tmp := f.Name()
	fail := func(err error) (meta.Chunk, error) {
		f.Close()
		os.Remove(tmp)
		return c, err
	}
	crc, n, err := receiveCopy(c, s.copyFile(f, direct), r, m)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) || errors.Is(err, syscall.ENOSPC) {
			return fail(diskError("copy", err))
		}
		return fail(fmt.Errorf("%w: receiving %s: %w", ErrChunkMissing, c.ID, err))
	}
	if m != nil {
		tcrc, err := readTrailer(c, r, m)
		if err != nil {
			return fail(err)
		}
		if n == c.Size {
			c.CRC32C = tcrc
		}
	}
	if n != c.Size || crc != c.CRC32C {
		return fail(fmt.Errorf("%w: copy of %s has %d bytes, crc32c %08x; want %d, %08x",
			ErrChunkMissing, c.ID, n, crc, c.Size, c.CRC32C))
	}
	if err := f.Sync(); err != nil {
		return fail(diskError("copy", err))
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return c, diskError("copy", err)
	}
	s.usage.begin()
	_, statErr := os.Stat(final)
	if err := os.Rename(tmp, final); err != nil {
		s.usage.end(0, 0)
		os.Remove(tmp)
		return c, diskError("copy", err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		s.usage.end(1, c.Size)
	} else {
		s.usage.end(0, 0)
	}
	s.verified.add(c, time.Now())
	if err := syncDir(filepath.Dir(final)); err != nil {
		return c, diskError("copy", err)
	}
	if err := s.finishDirs(dirs); err != nil {
		return c, diskError("copy", err)
	}
	return c, nil
}

// receiveCopy reads at most c.Size bytes of a copy from r into w (nil:
// nowhere), with their CRC32C and, with m, their MAC, in one pass over
// each buffer. A short body is not an error here: n says how much came.
// Every write to w is over when it returns; an error writing w is returned
// rather than one reading r.
func receiveCopy(c meta.Chunk, w *copyFile, r io.Reader, m *bodyMAC) (crc uint32, n int64, err error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	bufs := [2][]byte{*bp, *bp}
	if w != nil && w.direct {
		// A direct write runs while the next buffer fills (direct.go).
		bp2 := copyBufs.Get().(*[]byte)
		defer copyBufs.Put(bp2)
		bufs[1] = *bp2
	}
	if w != nil {
		defer func() {
			if werr := w.wait(); werr != nil {
				err = werr
			}
		}()
	}
	for i := 0; n < c.Size; i++ {
		buf := bufs[i%2]
		want := int(min(int64(len(buf)), c.Size-n))
		k, rerr := io.ReadFull(r, buf[:want])
		p := buf[:k]
		if w != nil {
			if err := w.write(p); err != nil {
				return crc, n, err
			}
		}
		crc = crc32.Update(crc, castagnoli, p)
		if m != nil {
			m.Write(p)
		}
		n += int64(k)
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return crc, n, nil
		}
		if rerr != nil {
			return crc, n, rerr
		}
	}
	if m == nil {
		// An unsigned copy ends with its bytes: one more is too many.
		var probe [1]byte
		if k, _ := io.ReadFull(r, probe[:]); k > 0 {
			n++
		}
	}
	return crc, n, nil
}

// readTrailer reads and checks a signed copy's trailer (the body must end
// there) and returns the CRC32C it carries.
func readTrailer(c meta.Chunk, r io.Reader, m *bodyMAC) (uint32, error) {
	var tr [macTrailerSize + 1]byte
	k, err := io.ReadFull(r, tr[:])
	if k != macTrailerSize || (err != io.ErrUnexpectedEOF && err != io.EOF) {
		if err == nil {
			return 0, fmt.Errorf("%w: copy of %s is longer than signed", ErrChunkMissing, c.ID)
		}
		return 0, fmt.Errorf("%w: receiving %s: no trailer: %v", ErrChunkMissing, c.ID, err)
	}
	crc, ok := m.check(tr[:macTrailerSize])
	if !ok {
		return 0, errBadTrailer(c.ID)
	}
	return crc, nil
}

// hasSize reports whether a file of c's size is stored under c's id.
func (s *Store) hasSize(c meta.Chunk) bool {
	fi, err := os.Stat(s.path(c.ID))
	return err == nil && fi.Size() == c.Size
}

// trailer reads the whole local copy of c and returns the trailer of its
// copies under m, checking its CRC32C on the way (a bad copy is never
// sent to another node).
func (s *Store) trailer(c meta.Chunk, m *bodyMAC) ([macTrailerSize]byte, error) {
	var out [macTrailerSize]byte
	f, err := s.openChunk(c)
	if err != nil {
		return out, err
	}
	defer f.Close()
	crc, n, err := receiveCopy(c, nil, f, m)
	if err != nil {
		return out, fmt.Errorf("block: chunk store: read %s: %w", c.ID, err)
	}
	if n != c.Size || crc != c.CRC32C {
		s.verified.forget(c.ID)
		return out, fmt.Errorf("%w: %s fails its checksum (crc32c %08x, want %08x)", ErrChunkMissing, c.ID, crc, c.CRC32C)
	}
	return m.trailer(crc), nil
}

// Verify reads the whole local copy of c and checks its size and CRC32C.
// It returns ErrChunkMissing when the copy is absent, short or corrupt.
func (s *Store) Verify(c meta.Chunk) error {
	f, err := s.openChunk(c)
	if err != nil {
		return err
	}
	defer f.Close()
	h := crc32.New(castagnoli)
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("block: chunk store: read %s: %w", c.ID, err)
	}
	if h.Sum32() != c.CRC32C {
		s.verified.forget(c.ID)
		return fmt.Errorf("%w: %s fails its checksum (crc32c %08x, want %08x)", ErrChunkMissing, c.ID, h.Sum32(), c.CRC32C)
	}
	return nil
}

// sweepTemp removes copies whose receipt was interrupted: temporary files
// older than age.
func (s *Store) sweepTemp(age time.Duration) {
	cutoff := time.Now().Add(-age)
	_ = s.chunkDirs(func(dir, _ string) error {
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			if !strings.HasPrefix(f.Name(), ".") || !strings.HasSuffix(f.Name(), tmpSuffix) {
				continue
			}
			if info, err := f.Info(); err == nil && info.ModTime().Before(cutoff) {
				os.Remove(filepath.Join(dir, f.Name()))
			}
		}
		return nil
	})
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// checkCopy reads a signed copy's body and trailer without storing it
// and checks them.
func checkCopy(c meta.Chunk, r io.Reader, m *bodyMAC) (meta.Chunk, error) {
	crc, n, err := receiveCopy(c, nil, r, m)
	if err != nil {
		return c, fmt.Errorf("%w: receiving %s: %w", ErrChunkMissing, c.ID, err)
	}
	tcrc, err := readTrailer(c, r, m)
	if err != nil {
		return c, err
	}
	if n != c.Size || crc != tcrc {
		return c, fmt.Errorf("%w: copy of %s does not have the signed size and CRC32C", ErrChunkMissing, c.ID)
	}
	c.CRC32C = crc
	return c, nil
}
