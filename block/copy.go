package block

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
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

// copyBufs are the buffers copies are received through.
var copyBufs = sync.Pool{New: func() any {
	b := make([]byte, 256<<10)
	return &b
}}

// PutCopy stores a copy of chunk c read from r, unless a copy of the right
// size is already there. It fails with ErrChunkMissing (and stores
// nothing) when r does not hold exactly c's bytes.
func (s *Store) PutCopy(c meta.Chunk, r io.Reader) error {
	return s.putCopy(c, r, nil)
}

// putCopy is PutCopy that, with sum, also checks the bytes' SHA-256
// (computed as they stream, before the copy gets its name).
func (s *Store) putCopy(c meta.Chunk, r io.Reader, sum *[sha256.Size]byte) error {
	if !validChunkID(c.ID) {
		return fmt.Errorf("%w: malformed chunk id %q", ErrChunkMissing, c.ID)
	}
	if s.hasSize(c) {
		if sum != nil {
			// A signed copy of a chunk held already is not stored,
			// but a body that is not the signed one is still refused:
			// nothing forged is ever acknowledged.
			return checkCopy(c, r, sum)
		}
		return nil
	}
	if err := s.ensureDir(c.ID); err != nil {
		return diskError("copy", err)
	}
	final := s.path(c.ID)
	f, err := os.CreateTemp(filepath.Dir(final), "."+c.ID+".*"+tmpSuffix)
	if err != nil {
		return diskError("copy", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	h := crc32.New(castagnoli)
	w := io.MultiWriter(f, h)
	var sh hash.Hash
	if sum != nil {
		sh = sha256.New()
		w = io.MultiWriter(f, h, sh)
	}
	buf := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(w, io.LimitReader(r, c.Size+1), *buf)
	copyBufs.Put(buf)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) || errors.Is(err, syscall.ENOSPC) {
			return fail(diskError("copy", err))
		}
		return fail(fmt.Errorf("%w: receiving %s: %w", ErrChunkMissing, c.ID, err))
	}
	if n != c.Size || h.Sum32() != c.CRC32C {
		return fail(fmt.Errorf("%w: copy of %s has %d bytes, crc32c %08x; want %d, %08x",
			ErrChunkMissing, c.ID, n, h.Sum32(), c.Size, c.CRC32C))
	}
	if sh != nil && !bytes.Equal(sh.Sum(nil), sum[:]) {
		return fail(fmt.Errorf("%w: copy of %s does not have the signed SHA-256", ErrChunkMissing, c.ID))
	}
	if err := f.Sync(); err != nil {
		return fail(diskError("copy", err))
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return diskError("copy", err)
	}
	_, statErr := os.Stat(final)
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return diskError("copy", err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		s.files.Add(1)
		s.bytes.Add(c.Size)
	}
	s.verified.add(c, time.Now())
	if err := syncDir(filepath.Dir(final)); err != nil {
		return diskError("copy", err)
	}
	return nil
}

// hasSize reports whether a file of c's size is stored under c's id.
func (s *Store) hasSize(c meta.Chunk) bool {
	fi, err := os.Stat(s.path(c.ID))
	return err == nil && fi.Size() == c.Size
}

// sha256 reads the whole local copy of c and returns its SHA-256, checking
// its CRC32C on the way (a bad copy is never sent to another node).
func (s *Store) sha256(c meta.Chunk) ([sha256.Size]byte, error) {
	var out [sha256.Size]byte
	f, err := s.openChunk(c)
	if err != nil {
		return out, err
	}
	defer f.Close()
	h, sh := crc32.New(castagnoli), sha256.New()
	if _, err := io.Copy(io.MultiWriter(h, sh), f); err != nil {
		return out, fmt.Errorf("block: chunk store: read %s: %w", c.ID, err)
	}
	if h.Sum32() != c.CRC32C {
		s.verified.forget(c.ID)
		return out, fmt.Errorf("%w: %s fails its checksum (crc32c %08x, want %08x)", ErrChunkMissing, c.ID, h.Sum32(), c.CRC32C)
	}
	sh.Sum(out[:0])
	return out, nil
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
	tops, _ := os.ReadDir(s.dir)
	for _, top := range tops {
		if !top.IsDir() || !isHex2(top.Name()) {
			continue
		}
		leaves, _ := os.ReadDir(filepath.Join(s.dir, top.Name()))
		for _, leaf := range leaves {
			dir := filepath.Join(s.dir, top.Name(), leaf.Name())
			files, _ := os.ReadDir(dir)
			for _, f := range files {
				if !strings.HasPrefix(f.Name(), ".") || !strings.HasSuffix(f.Name(), tmpSuffix) {
					continue
				}
				if info, err := f.Info(); err == nil && info.ModTime().Before(cutoff) {
					os.Remove(filepath.Join(dir, f.Name()))
				}
			}
		}
	}
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// checkCopy reads a copy's body without storing it and checks its size
// and signed SHA-256.
func checkCopy(c meta.Chunk, r io.Reader, sum *[sha256.Size]byte) error {
	sh := sha256.New()
	buf := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(sh, io.LimitReader(r, c.Size+1), *buf)
	copyBufs.Put(buf)
	if err != nil {
		return fmt.Errorf("%w: receiving %s: %w", ErrChunkMissing, c.ID, err)
	}
	if n != c.Size || !bytes.Equal(sh.Sum(nil), sum[:]) {
		return fmt.Errorf("%w: copy of %s does not have the signed size and SHA-256", ErrChunkMissing, c.ID)
	}
	return nil
}
