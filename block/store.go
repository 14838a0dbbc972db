package block

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// The chunk store keeps each chunk as one immutable file,
//
//	<dir>/ab/<id>       id = 32 lower-case hex digits (128 random bits)
//
// created under its final name, written, fsynced, and made durable by
// fsyncing its directory before Commit returns. Nothing refers to a chunk
// until the manifest naming it is committed, after Commit, so a file left
// half-written by a crash is unreferenced: the orphan sweeper removes it
// after its grace period, and reads verify every chunk's CRC32C anyway.
// Writing in place rather than through a shared temporary directory and a
// rename saves two directory operations per chunk and the contention of
// every upload on one directory. A chunk id is never reused, so readers
// need no locks and garbage collection can never race with an upload.
// Older versions wrote through <dir>/tmp; leftovers there are removed at
// open. One process owns a directory at a time.
//
// Layouts. A store made since layout 2 holds an empty directory
// "layout-2" (a directory, so that every file under the store stays a
// chunk or a copy being received) and keeps its chunks in 256 fan-out
// directories. A store made before it has no such directory and keeps its
// layout 1, <dir>/ab/cd/<id>. Fan-out directories are made as chunks need
// them, and layout 1 has 65,536 of them: a young store made one (a mkdir
// and a directory fsync, on every holder) for nearly every chunk it took,
// where layout 2 has made all of its own within its first two thousand
// chunks or so (docs/benchmarks.md, "Chunk files in 256 directories").
const layoutFlat = "layout-2"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Store is the node's local store of chunk files. It is safe for
// concurrent use.
type Store struct {
	dir string
	tmp string

	// flat: layout 2, chunks in <dir>/ab/ (else <dir>/ab/cd/).
	flat bool

	mkdirMu sync.Mutex
	dirs    sync.Map // "ab" and "ab/cd" -> *fanDir: fan-out directories that exist

	verified verifiedCache

	usage usage

	// direct: received copies are written with O_DIRECT (direct.go),
	// which the filesystem was found to allow when the store was opened.
	direct bool
}

// verifiedTTL is how long a chunk that passed its CRC32C check is served
// without checking again. Chunks never change, so within that time the
// bytes are those just verified (normally still in the page cache); a
// popular chunk is re-verified every few minutes rather than on every GET,
// which costs a quarter of a 1 MiB GET's CPU.
const verifiedTTL = 5 * time.Minute

// verifiedSlots bounds the cache: a direct-mapped table indexed by the
// chunk id's leading bits (ids are random), a collision simply evicts.
// With n chunks read in turn, a read finds its slot taken by another with
// a chance of about 1-e^(-n/verifiedSlots): 2,000 chunks (TestBench's GET
// 1 MiB) missed 39% of the time with 4,096 slots, 11% with 16,384. A slot
// holds no pointer (40 bytes), so the collector never scans the table.
const verifiedSlots = 16384

// verifiedCache remembers chunks recently verified in full.
type verifiedCache struct {
	mu    sync.Mutex
	slots []verifiedSlot // made at the first add
}

type verifiedSlot struct {
	id    [16]byte // the id's bytes (ids are 32 hex digits)
	crc   uint32
	size  int64
	until int64 // Unix nanoseconds
}

// verifiedKey returns id's bytes and its slot (ok false for an id that is
// not 32 hex digits: never cached).
func verifiedKey(id string) (key [16]byte, slot int, ok bool) {
	if len(id) != 2*len(key) {
		return key, 0, false
	}
	if _, err := hex.Decode(key[:], []byte(id)); err != nil {
		return key, 0, false
	}
	return key, (int(key[0])<<8 | int(key[1])) % verifiedSlots, true
}

func (v *verifiedCache) has(c meta.Chunk, now time.Time) bool {
	key, i, ok := verifiedKey(c.ID)
	if !ok {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.slots == nil {
		return false
	}
	sl := &v.slots[i]
	return sl.id == key && sl.crc == c.CRC32C && sl.size == c.Size && now.UnixNano() < sl.until
}

func (v *verifiedCache) add(c meta.Chunk, now time.Time) {
	key, i, ok := verifiedKey(c.ID)
	if !ok {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.slots == nil {
		v.slots = make([]verifiedSlot, verifiedSlots)
	}
	v.slots[i] = verifiedSlot{id: key, crc: c.CRC32C, size: c.Size, until: now.Add(verifiedTTL).UnixNano()}
}

func (v *verifiedCache) forget(id string) {
	key, i, ok := verifiedKey(id)
	if !ok {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.slots != nil && v.slots[i].id == key {
		v.slots[i] = verifiedSlot{}
	}
}

// OpenStore opens (creating if needed) the chunk store rooted at dir,
// removes temporary files left by a previous process and counts the chunk
// files (Usage).
func OpenStore(dir string) (*Store, error) {
	s := &Store{dir: dir, tmp: filepath.Join(dir, "tmp")}
	if err := os.MkdirAll(s.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("block: chunk store: %w", err)
	}
	ents, err := os.ReadDir(s.tmp)
	if err != nil {
		return nil, fmt.Errorf("block: chunk store: %w", err)
	}
	for _, e := range ents {
		if err := os.Remove(filepath.Join(s.tmp, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("block: chunk store: removing leftover %s: %w", e.Name(), err)
		}
	}
	if err := s.openLayout(); err != nil {
		return nil, fmt.Errorf("block: chunk store: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("block: chunk store: %w", err)
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return nil, fmt.Errorf("block: chunk store: %w", err)
	}
	// Once per store, not per copy: a filesystem either has direct
	// I/O or not. (The probe's file, if a crash leaves it, goes with
	// tmp's other leftovers at the next open.)
	s.direct = probeDirect(s.tmp)
	// Usage is true from the start: a restarted node reports the chunk
	// files it holds, not 0 until its first periodic recount.
	if err := s.Recount(nil); err != nil {
		return nil, err
	}
	return s, nil
}

// newChunkID returns a fresh random 128-bit id in hex.
func newChunkID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics rather than return short)
	return hex.EncodeToString(b[:])
}

// validChunkID reports whether id has the shape newChunkID produces, so
// that no id read from metadata or a directory can address a path outside
// the store.
func validChunkID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Dir returns the directory the store is rooted at.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(id string) string {
	if s.flat {
		return filepath.Join(s.dir, id[0:2], id)
	}
	return filepath.Join(s.dir, id[0:2], id[2:4], id)
}

// ChunkPath returns where the store at dir keeps chunk id, for tools and
// tests that look at a store's files (a Store finds its own).
func ChunkPath(dir, id string) string {
	s := &Store{dir: dir}
	if fi, err := os.Stat(filepath.Join(dir, layoutFlat)); err == nil && fi.IsDir() {
		s.flat = true
	}
	return s.path(id)
}

// openLayout reads the store's layout, giving a store without chunks
// layout 2. Its directory is in place before the store is used: OpenStore
// fsyncs the store's directory after this.
func (s *Store) openLayout() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	nested := false // layout 1: fan-out directories without the layout's
	for _, e := range ents {
		switch name := e.Name(); {
		case name == layoutFlat:
			s.flat = true
		case strings.HasPrefix(name, "layout-"):
			return fmt.Errorf("%s: unknown layout %q (a newer version's store?)", s.dir, name)
		case e.IsDir() && isHex2(name):
			nested = true
		}
	}
	if s.flat || nested {
		return nil
	}
	if err := os.Mkdir(filepath.Join(s.dir, layoutFlat), 0o700); err != nil {
		return err
	}
	s.flat = true
	return nil
}

// fanDir is a fan-out directory that exists; durable once its entry in
// its parent is (the parent fsynced after its mkdir).
type fanDir struct{ durable atomic.Bool }

// dirSyncs are the directory fsyncs a new chunk still needs after its
// own directory's, to be durable: the entries of fan-out directories
// created (by it or by a writer that has not finished yet) but not yet
// made durable, deepest first.
type dirSyncs struct {
	dirs  []string
	marks []*fanDir
}

// ensureDir creates the fan-out directories of id and returns the
// directory fsyncs that the chunk needs after its own directory's
// (finishDirs). A new directory's entry is made durable after the chunk
// is written rather than before: on a journaling filesystem the chunk's
// own fsyncs commit the mkdirs too, so the later directory fsyncs find
// nothing left to write, where fsyncing the parent first cost a journal
// commit of its own for nearly every chunk of a young store.
func (s *Store) ensureDir(id string) (dirSyncs, error) {
	top, leaf := id[0:2], id[0:4]
	if durableDir(&s.dirs, top) && (s.flat || durableDir(&s.dirs, leaf)) {
		return dirSyncs{}, nil
	}
	s.mkdirMu.Lock()
	defer s.mkdirMu.Unlock()
	topPath := filepath.Join(s.dir, top)
	// Outermost first; each with the directory that holds its entry.
	levels := []struct{ key, path, parent string }{{top, topPath, s.dir}}
	if !s.flat {
		levels = append(levels, struct{ key, path, parent string }{leaf, filepath.Join(topPath, id[2:4]), topPath})
	}
	for _, d := range levels {
		if _, ok := s.dirs.Load(d.key); ok {
			continue
		}
		fd := &fanDir{}
		switch err := os.Mkdir(d.path, 0o700); {
		case errors.Is(err, fs.ErrExist):
			// Made by an earlier run: taken as durable, as its
			// chunks were.
			fd.durable.Store(true)
		case err != nil:
			return dirSyncs{}, err
		}
		s.dirs.Store(d.key, fd)
	}
	// Deepest first: the leaf's entry is in the top directory, the top
	// directory's in the store's.
	var out dirSyncs
	for i := len(levels) - 1; i >= 0; i-- {
		v, _ := s.dirs.Load(levels[i].key)
		if fd := v.(*fanDir); !fd.durable.Load() {
			out.dirs, out.marks = append(out.dirs, levels[i].parent), append(out.marks, fd)
		}
	}
	return out, nil
}

// durableDir reports whether fan-out directory key is known durable.
func durableDir(dirs *sync.Map, key string) bool {
	v, ok := dirs.Load(key)
	return ok && v.(*fanDir).durable.Load()
}

// finishDirs makes durable the fan-out directories a chunk needs (after
// the fsync of its own directory).
func (s *Store) finishDirs(ds dirSyncs) error {
	for i, dir := range ds.dirs {
		if ds.marks[i].durable.Load() {
			continue // another chunk's writer did it since
		}
		if err := syncDir(dir); err != nil {
			return err
		}
		ds.marks[i].durable.Store(true)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// diskError classifies a write failure: a full disk is ErrStorageFull.
func diskError(op string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %s: %v", ErrStorageFull, op, err)
	}
	return fmt.Errorf("block: chunk store: %s: %w", op, err)
}

// Writer writes one new chunk. It is not safe for concurrent use.
// Exactly one of Commit or Abort ends it (Abort after Commit does nothing).
type Writer struct {
	s    *Store
	dirs dirSyncs // fan-out directories to make durable at Commit
	id   string
	f    *os.File
	crc  uint32
	size int64
	done bool
}

// Create starts a new chunk with a fresh id.
func (s *Store) Create() (*Writer, error) {
	id := newChunkID()
	dirs, err := s.ensureDir(id)
	if err != nil {
		return nil, diskError("create", err)
	}
	s.usage.begin()
	f, err := os.OpenFile(s.path(id), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		s.usage.end(0, 0)
		return nil, diskError("create", err)
	}
	return &Writer{s: s, dirs: dirs, id: id, f: f}, nil
}

// ID returns the chunk's id.
func (w *Writer) ID() string { return w.id }

// Size returns the number of bytes written so far.
func (w *Writer) Size() int64 { return w.size }

// Write appends p to the chunk, updating its CRC32C.
func (w *Writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("block: chunk writer already finished")
	}
	n, err := w.f.Write(p)
	w.crc = crc32.Update(w.crc, castagnoli, p[:n])
	w.size += int64(n)
	if err != nil {
		return n, diskError("write", err)
	}
	return n, nil
}

// Commit makes the chunk durable: fsync of the file, then of its
// directory (which holds the new name), then of the directories holding
// fan-out directories created for it and not yet durable. On failure the
// file is removed.
func (w *Writer) Commit() (meta.Chunk, error) {
	if w.done {
		return meta.Chunk{}, errors.New("block: chunk writer already finished")
	}
	w.done = true
	name := w.f.Name()
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(name))
	}
	if err == nil {
		err = w.s.finishDirs(w.dirs)
	}
	if err != nil {
		os.Remove(name)
		w.s.usage.end(0, 0)
		return meta.Chunk{}, diskError("commit", err)
	}
	w.s.usage.end(1, w.size)
	return meta.Chunk{ID: w.id, Size: w.size, CRC32C: w.crc}, nil
}

// Abort discards an uncommitted chunk.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.f.Name())
	w.s.usage.end(0, 0)
}

// Open returns a reader of c's bytes [off, off+n). A read of the whole
// chunk verifies its CRC32C as the bytes stream and fails with
// ErrChunkMissing at the end on a mismatch; a missing file or one of the
// wrong size fails at once with ErrChunkMissing. (Partial reads are not
// verified; the scrubber re-verifies whole chunks.)
func (s *Store) Open(c meta.Chunk, off, n int64) (io.ReadCloser, error) {
	if !validChunkID(c.ID) {
		return nil, fmt.Errorf("%w: malformed chunk id %q", ErrChunkMissing, c.ID)
	}
	if off < 0 || n < 0 || off+n > c.Size {
		return nil, fmt.Errorf("%w: [%d, %d) of chunk %s (%d bytes)", ErrInvalidRange, off, off+n, c.ID, c.Size)
	}
	f, err := s.openChunk(c)
	if err != nil {
		return nil, err
	}
	if off == 0 && n == c.Size {
		return &verifyingReader{f: f, c: c, left: n}, nil
	}
	return &sectionReader{SectionReader: io.NewSectionReader(f, off, n), f: f}, nil
}

// openChunk opens c's file and checks its size.
func (s *Store) openChunk(c meta.Chunk) (*os.File, error) {
	f, err := os.Open(s.path(c.ID))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrChunkMissing, c.ID)
		}
		return nil, fmt.Errorf("block: chunk store: open %s: %w", c.ID, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("block: chunk store: stat %s: %w", c.ID, err)
	}
	if fi.Size() != c.Size {
		f.Close()
		return nil, fmt.Errorf("%w: %s has %d bytes, want %d", ErrChunkMissing, c.ID, fi.Size(), c.Size)
	}
	return f, nil
}

// sendChunk writes c's bytes [off, off+n) to w. A whole chunk is verified
// against its CRC32C BEFORE any byte is sent, over a read-only mapping of
// the file (no copy); the bytes then go out through io.Copy, which for a
// TCP connection is sendfile: the page cache is never copied through user
// space. Chunks are immutable, so the verified bytes are the bytes sent.
//
// A whole chunk of up to smallSend bytes is read into memory instead,
// verified there and written from there, on every read: a mapping's
// munmap (a TLB shootdown on every CPU the process ran on) cost more than
// the copy, and the bytes sent are then exactly the bytes verified.
func (s *Store) sendChunk(w io.Writer, c meta.Chunk, off, n int64) (int64, error) {
	f, err := s.openChunk(c)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if off == 0 && n == c.Size && n > 0 && n <= smallSend {
		return sendSmall(w, f, c)
	}
	if off == 0 && n == c.Size && n > 0 && !s.verified.has(c, time.Now()) {
		data, err := syscall.Mmap(int(f.Fd()), 0, int(n), syscall.PROT_READ, syscall.MAP_SHARED|mapPopulate)
		if err != nil {
			return 0, fmt.Errorf("block: chunk store: map %s: %w", c.ID, err)
		}
		sum := crc32.Checksum(data, castagnoli)
		syscall.Munmap(data)
		if sum != c.CRC32C {
			return 0, fmt.Errorf("%w: %s fails its checksum (crc32c %08x, want %08x)", ErrChunkMissing, c.ID, sum, c.CRC32C)
		}
		s.verified.add(c, time.Now())
	}
	if off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return 0, fmt.Errorf("block: chunk store: seek %s: %w", c.ID, err)
		}
	}
	written, err := io.Copy(w, &io.LimitedReader{R: f, N: n})
	if err == nil && written < n {
		err = fmt.Errorf("%w: %s truncated", ErrChunkMissing, c.ID)
	}
	return written, err
}

// smallSend is the largest chunk sendChunk reads into memory (measured on
// 16 KiB objects: munmap was 14% of a GET's CPU, docs/benchmarks.md).
const smallSend = 256 << 10

// sendBufs are sendSmall's buffers: of 64 KiB (the chunks of small
// objects) and of smallSend bytes, so that many GETs of small objects at
// once do not each hold a large one.
var sendBufs = [2]sync.Pool{
	{New: func() any { b := make([]byte, 64<<10); return &b }},
	{New: func() any { b := make([]byte, smallSend); return &b }},
}

// sendSmall reads all of c from f (opened by openChunk, which checked its
// size), verifies it and writes it to w.
func sendSmall(w io.Writer, f *os.File, c meta.Chunk) (int64, error) {
	pool := &sendBufs[1]
	if c.Size <= 64<<10 {
		pool = &sendBufs[0]
	}
	bp := pool.Get().(*[]byte)
	defer pool.Put(bp)
	buf := (*bp)[:c.Size]
	if _, err := io.ReadFull(f, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("%w: %s truncated", ErrChunkMissing, c.ID)
		}
		return 0, fmt.Errorf("block: chunk store: read %s: %w", c.ID, err)
	}
	if sum := crc32.Checksum(buf, castagnoli); sum != c.CRC32C {
		return 0, fmt.Errorf("%w: %s fails its checksum (crc32c %08x, want %08x)", ErrChunkMissing, c.ID, sum, c.CRC32C)
	}
	written, err := w.Write(buf)
	return int64(written), err
}

// verifyingReader streams a whole chunk and checks its CRC32C at the end.
type verifyingReader struct {
	f    *os.File
	c    meta.Chunk
	crc  uint32
	left int64
}

func (r *verifyingReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.f.Read(p)
	r.crc = crc32.Update(r.crc, castagnoli, p[:n])
	r.left -= int64(n)
	if r.left == 0 {
		if r.crc != r.c.CRC32C {
			return n, fmt.Errorf("%w: %s fails its checksum (crc32c %08x, want %08x)", ErrChunkMissing, r.c.ID, r.crc, r.c.CRC32C)
		}
		return n, nil
	}
	if err == io.EOF {
		return n, fmt.Errorf("%w: %s truncated", ErrChunkMissing, r.c.ID)
	}
	if err != nil {
		return n, fmt.Errorf("block: chunk store: read %s: %w", r.c.ID, err)
	}
	return n, nil
}

func (r *verifyingReader) Close() error { return r.f.Close() }

type sectionReader struct {
	*io.SectionReader
	f *os.File
}

func (r *sectionReader) Close() error { return r.f.Close() }

// Delete removes a chunk. A chunk that is not there is not an error.
func (s *Store) Delete(id string) error {
	if !validChunkID(id) {
		return fmt.Errorf("block: chunk store: malformed chunk id %q", id)
	}
	s.verified.forget(id)
	s.usage.begin()
	fi, statErr := os.Stat(s.path(id))
	if err := os.Remove(s.path(id)); err != nil {
		s.usage.end(0, 0)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("block: chunk store: delete %s: %w", id, err)
	}
	if statErr == nil {
		s.usage.end(-1, -fi.Size())
	} else {
		s.usage.end(0, 0)
	}
	return nil
}

// usage counts the committed chunk files. Commits, received copies and
// deletes move it; a recount replaces it with what a walk of the store
// finds, but only when no change to the store's files was under way when
// the walk began and none began during it. (A walk that saw a chunk
// being written and then its commit counted it twice; one that missed a
// file committed behind it would count it not at all.)
type usage struct {
	mu           sync.Mutex
	files, bytes int64
	changes      uint64 // changes begun so far
	pending      int    // changes begun and not ended
}

// begin is called before a change to the store's files: a chunk file
// created, renamed into place or removed.
func (u *usage) begin() {
	u.mu.Lock()
	u.changes++
	u.pending++
	u.mu.Unlock()
}

// end is called once the change begun is done, with what it added.
func (u *usage) end(files, bytes int64) {
	u.mu.Lock()
	u.files += files
	u.bytes += bytes
	u.pending--
	u.mu.Unlock()
}

// Usage returns the number of chunk files and their bytes. Between two
// Recounts it follows this process's commits, copies and deletes.
func (s *Store) Usage() (files, bytes int64) {
	s.usage.mu.Lock()
	defer s.usage.mu.Unlock()
	return max(s.usage.files, 0), max(s.usage.bytes, 0)
}

// Recount walks the store and sets Usage from what it finds, if no chunk
// file was being written, copied or deleted meanwhile; otherwise Usage
// stays as the store's own changes moved it, and the next recount tries
// again. Closing stop ends the walk early (ErrStopped) without changing
// Usage.
func (s *Store) Recount(stop <-chan struct{}) error {
	s.usage.mu.Lock()
	since, busy := s.usage.changes, s.usage.pending > 0
	s.usage.mu.Unlock()
	if busy {
		return nil
	}
	var files, bytes int64
	err := s.walk(func(id string, info fs.FileInfo) error {
		select {
		case <-stop:
			return ErrStopped
		default:
		}
		files++
		bytes += info.Size()
		return nil
	})
	if err != nil {
		return err
	}
	s.usage.mu.Lock()
	if s.usage.changes == since {
		s.usage.files, s.usage.bytes = files, bytes
	}
	s.usage.mu.Unlock()
	return nil
}

// HasCopy reports whether a copy of chunk id of the given size is here
// (false for a malformed id).
func (s *Store) HasCopy(id string, size int64) bool {
	return validChunkID(id) && s.hasSize(meta.Chunk{ID: id, Size: size})
}

// Has reports whether the chunk file exists.
func (s *Store) Has(id string) bool {
	if !validChunkID(id) {
		return false
	}
	_, err := os.Stat(s.path(id))
	return err == nil
}

// Walk calls fn for every committed chunk with its file's modification
// time, in no particular order, for orphan sweeping. Chunks deleted during
// the walk may or may not be visited; an error from fn stops the walk and is
// returned.
func (s *Store) Walk(fn func(id string, modTime time.Time) error) error {
	return s.walk(func(id string, info fs.FileInfo) error { return fn(id, info.ModTime()) })
}

// walk calls fn for every committed chunk file with its FileInfo.
func (s *Store) walk(fn func(id string, info fs.FileInfo) error) error {
	return s.chunkDirs(func(dir, prefix string) error {
		files, err := os.ReadDir(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("block: chunk store: %w", err)
		}
		for _, f := range files {
			id := f.Name()
			if !f.Type().IsRegular() || !validChunkID(id) || id[:len(prefix)] != prefix {
				continue
			}
			info, err := f.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return fmt.Errorf("block: chunk store: %w", err)
			}
			if err := fn(id, info); err != nil {
				return err
			}
		}
		return nil
	})
}

// chunkDirs calls fn for every directory that holds chunk files, with the
// hex digits every chunk id in it starts with; an error from fn stops
// the walk and is returned.
func (s *Store) chunkDirs(fn func(dir, prefix string) error) error {
	tops, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("block: chunk store: %w", err)
	}
	for _, top := range tops {
		if !top.IsDir() || !isHex2(top.Name()) {
			continue
		}
		topPath := filepath.Join(s.dir, top.Name())
		if s.flat {
			if err := fn(topPath, top.Name()); err != nil {
				return err
			}
			continue
		}
		leaves, err := os.ReadDir(topPath)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("block: chunk store: %w", err)
		}
		for _, leaf := range leaves {
			if !leaf.IsDir() || !isHex2(leaf.Name()) {
				continue
			}
			if err := fn(filepath.Join(topPath, leaf.Name()), top.Name()+leaf.Name()); err != nil {
				return err
			}
		}
	}
	return nil
}

func isHex2(s string) bool {
	return len(s) == 2 && validChunkID(s+"000000000000000000000000000000")
}

// NewObjectReader returns a reader of an object's bytes [off, off+n) held
// inline or in chunks (in order); n < 0 reads to the end. Chunks are opened
// lazily, one at a time, as the reader reaches them; a chunk read whole is
// verified (see Open). A range outside the object fails on the first Read
// with ErrInvalidRange.
func (s *Store) NewObjectReader(inline []byte, chunks []meta.Chunk, off, n int64) io.ReadCloser {
	return s.newObjectReader(inline, chunks, off, n, nil)
}

// newObjectReader is NewObjectReader that, with remote, reads a chunk that
// is missing here (or fails its check before any of its bytes was
// returned) from remote instead.
func (s *Store) newObjectReader(inline []byte, chunks []meta.Chunk, off, n int64, remote func(meta.Chunk) ([]byte, error)) io.ReadCloser {
	var size int64
	if len(chunks) == 0 {
		size = int64(len(inline))
	} else {
		for _, c := range chunks {
			size += c.Size
		}
	}
	if n < 0 && off >= 0 && off <= size {
		n = size - off
	}
	if off < 0 || n < 0 || off+n > size {
		return &objectReader{err: fmt.Errorf("%w: [%d, %d) of %d bytes", ErrInvalidRange, off, off+n, size)}
	}
	if len(chunks) == 0 {
		return io.NopCloser(bytes.NewReader(inline[off : off+n]))
	}
	r := &objectReader{s: s, remote: remote, chunks: chunks, left: n}
	for len(r.chunks) > 0 && off >= r.chunks[0].Size {
		off -= r.chunks[0].Size
		r.chunks = r.chunks[1:]
	}
	r.off = off
	return r
}

// objectReader reads a byte range across chunks.
type objectReader struct {
	s      *Store
	remote func(meta.Chunk) ([]byte, error) // another node's copy, when set
	chunks []meta.Chunk                     // chunks[0] is the next to open (or the open one)
	off    int64                            // offset in chunks[0] to start at
	left   int64                            // bytes still to return
	cur    io.ReadCloser
	// primed is chunks[0]'s bytes of the range, read from another member
	// by Prime.
	primed []byte
	err    error
}

// Prime makes sure the first chunk of the range can be read before any
// byte is sent: a chunk missing here is read from another member now.
// So a chunk that no member can serve fails the request with an error
// instead of cutting its body short after the status line and headers.
// A copy here is checked as it is sent, as before.
func (r *objectReader) Prime() error {
	if r.err != nil || r.cur != nil || r.primed != nil || r.left == 0 || len(r.chunks) == 0 {
		return r.err
	}
	c := r.chunks[0]
	if r.s.Has(c.ID) {
		return nil
	}
	if r.remote == nil {
		r.err = fmt.Errorf("%w: %s is not on this node", ErrChunkMissing, c.ID)
		return r.err
	}
	data, err := r.remote(c)
	if err != nil {
		r.err = err
		return err
	}
	r.primed = data[r.off : r.off+min(c.Size-r.off, r.left)]
	return nil
}

func (r *objectReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for {
		if r.left == 0 {
			return 0, io.EOF
		}
		if r.cur == nil {
			if len(r.chunks) == 0 {
				r.err = fmt.Errorf("%w: object chunks end %d bytes early", ErrChunkMissing, r.left)
				return 0, r.err
			}
			c := r.chunks[0]
			n := min(c.Size-r.off, r.left)
			if r.primed != nil {
				r.cur, r.primed = io.NopCloser(bytes.NewReader(r.primed)), nil
				continue
			}
			cur, err := r.s.Open(c, r.off, n)
			if errors.Is(err, ErrChunkMissing) && r.remote != nil {
				var data []byte
				if data, err = r.remote(c); err == nil {
					cur = io.NopCloser(bytes.NewReader(data[r.off : r.off+n]))
				}
			}
			if err != nil {
				r.err = err
				return 0, err
			}
			r.cur = cur
		}
		if int64(len(p)) > r.left {
			p = p[:r.left]
		}
		n, err := r.cur.Read(p)
		r.left -= int64(n)
		if err == io.EOF {
			r.cur.Close()
			r.cur = nil
			r.chunks = r.chunks[1:]
			r.off = 0
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			r.err = err
		}
		return n, err
	}
}

// WriteTo streams the rest of the range to w chunk by chunk (sendChunk:
// verified before sending, then sendfile where w allows). It is what
// io.Copy, and so the HTTP server, uses.
func (r *objectReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if r.cur != nil {
		// Part of a chunk was already read through Read: finish it so.
		n, err := io.Copy(w, readerOnly{r})
		total += n
		if err != nil || r.cur != nil {
			return total, err
		}
	}
	for r.left > 0 {
		if r.err != nil {
			return total, r.err
		}
		if len(r.chunks) == 0 {
			r.err = fmt.Errorf("%w: object chunks end %d bytes early", ErrChunkMissing, r.left)
			return total, r.err
		}
		c := r.chunks[0]
		want := min(c.Size-r.off, r.left)
		if r.primed != nil {
			k, err := w.Write(r.primed)
			r.primed = nil
			total += int64(k)
			r.left -= int64(k)
			if err != nil {
				r.err = err
				return total, err
			}
			r.chunks = r.chunks[1:]
			r.off = 0
			continue
		}
		n, err := r.s.sendChunk(w, c, r.off, want)
		if n == 0 && errors.Is(err, ErrChunkMissing) && r.remote != nil {
			// Nothing was sent yet: serve another node's copy instead.
			var data []byte
			if data, err = r.remote(c); err == nil {
				var k int
				k, err = w.Write(data[r.off : r.off+want])
				n = int64(k)
			}
		}
		total += n
		r.left -= n
		if err != nil {
			r.err = err
			return total, err
		}
		r.chunks = r.chunks[1:]
		r.off = 0
	}
	return total, nil
}

// readerOnly hides a reader's WriteTo.
type readerOnly struct{ io.Reader }

func (r *objectReader) Close() error {
	if r.cur != nil {
		err := r.cur.Close()
		r.cur = nil
		return err
	}
	return nil
}
