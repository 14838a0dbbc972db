package block

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/meta"
)

func openTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := OpenStore(filepath.Join(t.TempDir(), "chunks"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openLegacyStore opens a new store of layout 1 (<dir>/ab/cd/<id>), as a
// store made by an older version is: its directory already holds a
// fan-out directory.
func openLegacyStore(t *testing.T) *Store {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "chunks")
	if err := os.MkdirAll(filepath.Join(dir, "00", "00"), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.flat {
		t.Fatal("a store with a layout 1 fan-out directory opened as layout 2")
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

func putChunk(t *testing.T, s *Store, data []byte) meta.Chunk {
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

func readChunk(s *Store, c meta.Chunk, off, n int64) ([]byte, error) {
	r, err := s.Open(c, off, n)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// storedIDs lists the committed chunks.
func storedIDs(t *testing.T, s *Store) []string {
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
func assertEmpty(t *testing.T, s *Store) {
	t.Helper()
	if ids := storedIDs(t, s); len(ids) != 0 {
		t.Fatalf("chunks left behind: %v", ids)
	}
	ents, err := os.ReadDir(s.tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Fatalf("%d temporary files left behind", len(ents))
	}
}

func TestChunkRoundTrip(t *testing.T) {
	s := openTestStore(t)
	data := randBytes(1, 100_000)
	c := putChunk(t, s, data)
	if !validChunkID(c.ID) || c.Size != int64(len(data)) {
		t.Fatalf("chunk %+v", c)
	}
	want := filepath.Join(s.dir, c.ID[:2], c.ID)
	if _, err := os.Stat(want); err != nil {
		t.Fatalf("chunk file not at %s: %v", want, err)
	}
	if !s.Has(c.ID) {
		t.Fatal("Has = false")
	}
	got, err := readChunk(s, c, 0, c.Size)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("whole read: %d bytes, %v", len(got), err)
	}
	for _, r := range [][2]int64{{0, 1}, {1, 10}, {99_999, 1}, {5000, 0}, {0, 99_999}, {50_000, 50_000}} {
		got, err := readChunk(s, c, r[0], r[1])
		if err != nil || !bytes.Equal(got, data[r[0]:r[0]+r[1]]) {
			t.Fatalf("range %v: %d bytes, %v", r, len(got), err)
		}
	}
	if _, err := s.Open(c, 99_999, 2); !errors.Is(err, ErrInvalidRange) {
		t.Fatalf("range past the end: %v", err)
	}
	if err := s.Delete(c.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(c.ID); err != nil {
		t.Fatalf("deleting a missing chunk: %v", err)
	}
	if _, err := s.Open(c, 0, c.Size); !errors.Is(err, ErrChunkMissing) {
		t.Fatalf("open after delete: %v", err)
	}
	assertEmpty(t, s)
}

func TestChunkIDsAreFresh(t *testing.T) {
	s := openTestStore(t)
	seen := map[string]bool{}
	for range 200 {
		w, err := s.Create()
		if err != nil {
			t.Fatal(err)
		}
		if seen[w.ID()] {
			t.Fatalf("id %s reused", w.ID())
		}
		seen[w.ID()] = true
		w.Abort()
		w.Abort() // idempotent
	}
	assertEmpty(t, s)
}

func TestChunkCorruptionDetected(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"bit flip", func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0x10
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated", func(t *testing.T, path string) {
			if err := os.Truncate(path, 1000); err != nil {
				t.Fatal(err)
			}
		}},
		{"extended", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("x"))
			f.Close()
		}},
		{"removed", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	// Over smallSend the GET path verifies over a mapping, under it in
	// memory.
	for _, tt := range tests {
		for _, size := range []int{20_000, 300_000} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, size), func(t *testing.T) {
				testChunkDamage(t, size, tt.damage)
			})
		}
	}
}

func testChunkDamage(t *testing.T, size int, damage func(t *testing.T, path string)) {
	s := openTestStore(t)
	data := randBytes(2, size)
	c := putChunk(t, s, data)
	damage(t, s.path(c.ID))
	if _, err := readChunk(s, c, 0, c.Size); !errors.Is(err, ErrChunkMissing) {
		t.Fatalf("whole read of damaged chunk: %v", err)
	}
	// Through an object reader, too.
	_, err := io.ReadAll(s.NewObjectReader(nil, []meta.Chunk{c}, 0, c.Size))
	if !errors.Is(err, ErrChunkMissing) {
		t.Fatalf("object read of damaged chunk: %v", err)
	}
	// WriteTo (the GET path) refuses before sending a byte of it.
	var sent bytes.Buffer
	_, err = s.NewObjectReader(nil, []meta.Chunk{c}, 0, c.Size).(io.WriterTo).WriteTo(&sent)
	if !errors.Is(err, ErrChunkMissing) || sent.Len() != 0 {
		t.Fatalf("WriteTo of damaged chunk: sent %d bytes, %v", sent.Len(), err)
	}
}

// TestSmallChunkVerifiedOnEveryGET: a chunk of up to smallSend bytes is
// verified on every GET (WriteTo), not once per verifiedTTL, so a chunk
// damaged after a first read is refused at the next, before a byte of it
// is sent; it is sent whole otherwise.
func TestSmallChunkVerifiedOnEveryGET(t *testing.T) {
	s := openTestStore(t)
	for _, size := range []int{1, 16 << 10, 64 << 10, 64<<10 + 1, smallSend} {
		data := randBytes(uint64(size), size)
		c := putChunk(t, s, data)
		var sent bytes.Buffer
		if _, err := s.NewObjectReader(nil, []meta.Chunk{c}, 0, c.Size).(io.WriterTo).WriteTo(&sent); err != nil || !bytes.Equal(sent.Bytes(), data) {
			t.Fatalf("%d bytes: sent %d bytes, %v", size, sent.Len(), err)
		}
		b, err := os.ReadFile(s.path(c.ID))
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0x01
		if err := os.WriteFile(s.path(c.ID), b, 0o600); err != nil {
			t.Fatal(err)
		}
		sent.Reset()
		_, err = s.NewObjectReader(nil, []meta.Chunk{c}, 0, c.Size).(io.WriterTo).WriteTo(&sent)
		if !errors.Is(err, ErrChunkMissing) || sent.Len() != 0 {
			t.Fatalf("%d bytes, damaged after a first GET: sent %d bytes, %v", size, sent.Len(), err)
		}
	}
}

func TestChunkMalformedIDs(t *testing.T) {
	s := openTestStore(t)
	for _, id := range []string{"", "../../../../etc/passwd", "0123456789abcdef0123456789ABCDEF", "0123456789abcdef0123456789abcde/"} {
		if err := s.Delete(id); err == nil {
			t.Errorf("Delete(%q) accepted", id)
		}
		if _, err := s.Open(meta.Chunk{ID: id, Size: 1}, 0, 1); !errors.Is(err, ErrChunkMissing) {
			t.Errorf("Open(%q): %v", id, err)
		}
		if s.Has(id) {
			t.Errorf("Has(%q)", id)
		}
	}
}

// A chunk being written when the process dies is left under its own name,
// unreferenced: Walk reports it (so the orphan sweeper removes it once it
// is older than the grace period), and files of the old temporary
// directory are removed at open.
func TestUncommittedChunkIsLeftForTheSweeper(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chunks")
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	kept := putChunk(t, s, []byte("kept"))
	w, err := s.Create()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("never committed"))
	if err := os.WriteFile(filepath.Join(s.tmp, newChunkID()), []byte("old layout"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The process "dies" here: reopen without Abort.
	s2, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{kept.ID, w.ID()}
	sort.Strings(want)
	if ids := storedIDs(t, s2); len(ids) != 2 || ids[0] != want[0] || ids[1] != want[1] {
		t.Fatalf("chunks after reopen: %v, want %v", ids, want)
	}
	if ents, _ := os.ReadDir(s2.tmp); len(ents) != 0 {
		t.Fatalf("%d temporary files survived reopening", len(ents))
	}
	w.Abort()
	if ids := storedIDs(t, s2); len(ids) != 1 || ids[0] != kept.ID {
		t.Fatalf("chunks after abort: %v", ids)
	}
}

func TestWalk(t *testing.T) {
	for _, layout := range []struct {
		name string
		open func(*testing.T) *Store
		dir  func(id string) string // where id's file is, under the store
	}{
		{"layout 2", openTestStore, func(id string) string { return id[:2] }},
		{"layout 1", openLegacyStore, func(id string) string { return filepath.Join(id[:2], id[2:4]) }},
	} {
		t.Run(layout.name, func(t *testing.T) {
			s := layout.open(t)
			var want []string
			for i := range 20 {
				want = append(want, putChunk(t, s, []byte(fmt.Sprint(i))).ID)
			}
			sort.Strings(want)
			// Foreign files are ignored.
			os.WriteFile(filepath.Join(s.dir, "README"), []byte("x"), 0o644)
			os.MkdirAll(filepath.Join(s.dir, "zz", "00"), 0o755)
			os.WriteFile(filepath.Join(s.dir, layout.dir(want[0]), "stray"), []byte("x"), 0o644)
			// A chunk file in the wrong fan-out directory is not reported.
			wrong := "ffff" + want[0][4:]
			os.WriteFile(filepath.Join(s.dir, layout.dir(want[0]), wrong), []byte("x"), 0o644)

			got := storedIDs(t, s)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("Walk found %v, want %v", got, want)
			}
			stop := errors.New("stop")
			n := 0
			err := s.Walk(func(id string, mod time.Time) error {
				if time.Since(mod) > time.Hour || mod.After(time.Now().Add(time.Minute)) {
					t.Errorf("odd modification time %v", mod)
				}
				n++
				if n == 3 {
					return stop
				}
				return nil
			})
			if !errors.Is(err, stop) || n != 3 {
				t.Fatalf("Walk did not stop: %v after %d", err, n)
			}
		})
	}
}

// GetObject with Range over chunked and inline objects: every range
// (including ones crossing chunk boundaries) returns exactly those bytes.
func TestObjectReaderRanges(t *testing.T) {
	s := openTestStore(t)
	data := randBytes(3, 2500)
	var chunks []meta.Chunk
	for _, sz := range []int{1000, 1000, 1, 499} {
		off := 0
		for _, c := range chunks {
			off += int(c.Size)
		}
		chunks = append(chunks, putChunk(t, s, data[off:off+sz]))
	}
	inline := data[:700]
	points := []int64{0, 1, 2, 499, 500, 999, 1000, 1001, 1999, 2000, 2001, 2002, 2499, 2500}
	for _, layout := range []struct {
		name   string
		inline []byte
		chunks []meta.Chunk
		data   []byte
	}{
		{"chunks", nil, chunks, data},
		{"inline", inline, nil, inline},
		{"empty", nil, nil, nil},
	} {
		t.Run(layout.name, func(t *testing.T) {
			size := int64(len(layout.data))
			for _, a := range points {
				for _, b := range points {
					if a > size || b > size || a > b {
						continue
					}
					r := s.NewObjectReader(layout.inline, layout.chunks, a, b-a)
					got, err := io.ReadAll(r)
					r.Close()
					if err != nil || !bytes.Equal(got, layout.data[a:b]) {
						t.Fatalf("[%d, %d): %d bytes, %v", a, b, len(got), err)
					}
					var buf bytes.Buffer
					r = s.NewObjectReader(layout.inline, layout.chunks, a, b-a)
					n, err := r.(io.WriterTo).WriteTo(&buf)
					r.Close()
					if err != nil || n != b-a || !bytes.Equal(buf.Bytes(), layout.data[a:b]) {
						t.Fatalf("WriteTo [%d, %d): %d bytes, %v", a, b, n, err)
					}
				}
				// n < 0 reads to the end.
				if a <= size {
					got, err := io.ReadAll(s.NewObjectReader(layout.inline, layout.chunks, a, -1))
					if err != nil || !bytes.Equal(got, layout.data[a:]) {
						t.Fatalf("[%d, end): %d bytes, %v", a, len(got), err)
					}
				}
			}
			for _, r := range [][2]int64{{-1, 1}, {0, size + 1}, {size + 1, -1}, {size, 1}} {
				_, err := io.ReadAll(s.NewObjectReader(layout.inline, layout.chunks, r[0], r[1]))
				if !errors.Is(err, ErrInvalidRange) {
					t.Fatalf("range %v: %v", r, err)
				}
			}
		})
	}
	// A chunk is opened only when the reader reaches it: reading the first
	// chunk of an object whose second chunk is gone works until then.
	s.Delete(chunks[1].ID)
	r := s.NewObjectReader(nil, chunks, 0, 2500)
	defer r.Close()
	buf := make([]byte, 1000)
	if _, err := io.ReadFull(r, buf); err != nil || !bytes.Equal(buf, data[:1000]) {
		t.Fatalf("first chunk: %v", err)
	}
	if _, err := r.Read(buf); !errors.Is(err, ErrChunkMissing) {
		t.Fatalf("second chunk: %v", err)
	}
}

// WriteTo to a TCP connection takes the sendfile path; the bytes that
// arrive are the object's, across chunk boundaries and from an offset.
func TestObjectReaderWriteToTCP(t *testing.T) {
	s := openTestStore(t)
	data := randBytes(8, 3<<20)
	var chunks []meta.Chunk
	for off := 0; off < len(data); off += 1 << 20 {
		chunks = append(chunks, putChunk(t, s, data[off:off+1<<20]))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(c)
		c.Close()
		got <- b
	}()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	const off = 12345
	r := s.NewObjectReader(nil, chunks, off, int64(len(data)-off))
	n, err := io.Copy(conn, r)
	r.Close()
	conn.Close()
	if err != nil || n != int64(len(data)-off) {
		t.Fatalf("copy: %d bytes, %v", n, err)
	}
	if b := <-got; !bytes.Equal(b, data[off:]) {
		t.Fatalf("received %d bytes that differ from the object", len(b))
	}
}

// The verified-chunk cache answers only for the same chunk (id, size and
// CRC), only until its time runs out, and forgets deleted chunks.
func TestVerifiedCache(t *testing.T) {
	var v verifiedCache
	now := time.Now()
	c := meta.Chunk{ID: newChunkID(), Size: 10, CRC32C: 7}
	if v.has(c, now) {
		t.Fatal("empty cache answers")
	}
	v.add(c, now)
	if !v.has(c, now.Add(verifiedTTL-time.Second)) {
		t.Fatal("verified chunk not remembered")
	}
	if v.has(c, now.Add(verifiedTTL+time.Second)) {
		t.Fatal("remembered past its time")
	}
	other := c
	other.CRC32C = 8
	if v.has(other, now) {
		t.Fatal("same id with another checksum answers")
	}
	// Another chunk of the same slot (same leading bytes) evicts it.
	rival := c
	rival.ID = c.ID[:4] + strings.Repeat("0", 28)
	if rival.ID == c.ID {
		rival.ID = c.ID[:4] + strings.Repeat("1", 28)
	}
	if v.has(rival, now) {
		t.Fatal("another id of the same slot answers")
	}
	v.add(rival, now)
	if v.has(c, now) || !v.has(rival, now) {
		t.Fatal("the slot's last chunk is not the one remembered")
	}
	v.add(c, now)
	v.forget(c.ID)
	if v.has(c, now) {
		t.Fatal("forgotten chunk still remembered")
	}
}

// Usage follows commits and deletes (a chunk deleted twice, or never
// there, counts once); opening a store counts what a previous process
// left, and so does Recount.
func TestChunkUsage(t *testing.T) {
	s := openTestStore(t)
	a := putChunk(t, s, randBytes(1, 1000))
	putChunk(t, s, randBytes(2, 3000))
	w, err := s.Create()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("aborted"))
	w.Abort()
	if f, b := s.Usage(); f != 2 || b != 4000 {
		t.Fatalf("usage after two commits: %d files, %d bytes", f, b)
	}
	for range 2 {
		if err := s.Delete(a.ID); err != nil {
			t.Fatal(err)
		}
	}
	if f, b := s.Usage(); f != 1 || b != 3000 {
		t.Fatalf("usage after a delete: %d files, %d bytes", f, b)
	}
	// A store opened again (a restarted node) counts what is on disk at
	// once: cluster status must not show 0 chunk files for it.
	again, err := OpenStore(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if f, b := again.Usage(); f != 1 || b != 3000 {
		t.Fatalf("usage of a reopened store: %d files, %d bytes", f, b)
	}
	if err := again.Recount(nil); err != nil {
		t.Fatal(err)
	}
	if f, b := again.Usage(); f != 1 || b != 3000 {
		t.Fatalf("usage after a recount: %d files, %d bytes", f, b)
	}
	stop := make(chan struct{})
	close(stop)
	if err := again.Recount(stop); !errors.Is(err, ErrStopped) {
		t.Fatalf("recount after stop: %v", err)
	}
}

// In a store of layout 1, a new fan-out directory's entry is made durable
// when the first chunk in it commits (after the chunk's own fsyncs), and a
// directory whose entry is not durable yet is fsynced by every chunk that
// needs it until one has.
func TestFanOutDirsDurableAtCommit(t *testing.T) {
	s := openLegacyStore(t)
	w, err := s.Create()
	if err != nil {
		t.Fatal(err)
	}
	id := w.ID()
	top := filepath.Join(s.dir, id[:2])
	if want := []string{top, s.dir}; !slices.Equal(w.dirs.dirs, want) {
		t.Fatalf("a chunk in new directories syncs %q, want %q", w.dirs.dirs, want)
	}
	if durableDir(&s.dirs, id[:4]) || durableDir(&s.dirs, id[:2]) {
		t.Fatal("new directories durable before any chunk in them committed")
	}
	// A second chunk in the same new leaf, begun before the first
	// commits, needs the same syncs.
	other := id[:4] + strings.Repeat("0", 28)
	if ds, err := s.ensureDir(other); err != nil || !slices.Equal(ds.dirs, w.dirs.dirs) {
		t.Fatalf("second chunk in the new leaf syncs %q (%v), want %q", ds.dirs, err, w.dirs.dirs)
	}
	w.Write([]byte("x"))
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if !durableDir(&s.dirs, id[:4]) || !durableDir(&s.dirs, id[:2]) {
		t.Fatal("directories not durable after the first chunk in them committed")
	}
	if ds, _ := s.ensureDir(other); len(ds.dirs) != 0 {
		t.Fatalf("after the commit a chunk there still syncs %q", ds.dirs)
	}
	// A copy received into a new leaf under a durable top directory
	// syncs that top directory only.
	leaf := "ff"
	if id[2:4] == leaf {
		leaf = "fe"
	}
	cid := id[:2] + leaf + strings.Repeat("1", 28)
	if ds, _ := s.ensureDir(cid); !slices.Equal(ds.dirs, []string{top}) {
		t.Fatalf("a copy in a new leaf syncs %q, want %q", ds.dirs, []string{top})
	}
	data := []byte("copy")
	if err := s.PutCopy(meta.Chunk{ID: cid, Size: int64(len(data)), CRC32C: crc32c(data)}, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if !durableDir(&s.dirs, cid[:4]) {
		t.Fatal("the copy's new leaf is not durable after the copy")
	}
}

// A recount while a chunk is being written does not count it twice: the
// periodic recount of a node under load saw the writer's file and the
// commit then added it again, so the gauge stayed high until the next.
func TestRecountDuringWrite(t *testing.T) {
	s := openTestStore(t)
	putChunk(t, s, randBytes(1, 1000))
	w, err := s.Create()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(randBytes(2, 3000)); err != nil {
		t.Fatal(err)
	}
	if err := s.Recount(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if f, b := s.Usage(); f != 2 || b != 4000 {
		t.Fatalf("usage after a recount during a write: %d files, %d bytes; want 2, 4000", f, b)
	}
	// Once nothing is being written, a recount corrects what the counts
	// missed (a file removed behind the store's back).
	c := putChunk(t, s, randBytes(3, 500))
	if err := os.Remove(s.path(c.ID)); err != nil {
		t.Fatal(err)
	}
	if err := s.Recount(nil); err != nil {
		t.Fatal(err)
	}
	if f, b := s.Usage(); f != 2 || b != 4000 {
		t.Fatalf("usage after a quiet recount: %d files, %d bytes; want 2, 4000", f, b)
	}
}

// A new store has layout 2: its layout directory, and chunks in 256 fan-out
// directories made as chunks need them. A store of layout 1 keeps it, and
// a store of a layout this version does not know is not opened.
func TestStoreLayout(t *testing.T) {
	t.Run("new", func(t *testing.T) {
		s := openTestStore(t)
		if fi, err := os.Stat(filepath.Join(s.dir, "layout-2")); err != nil || !fi.IsDir() {
			t.Fatalf("layout directory: %v", err)
		}
		w, err := s.Create()
		if err != nil {
			t.Fatal(err)
		}
		id := w.ID()
		top := filepath.Join(s.dir, id[:2])
		if want := []string{s.dir}; !slices.Equal(w.dirs.dirs, want) {
			t.Fatalf("a chunk in a new fan-out directory syncs %q, want %q", w.dirs.dirs, want)
		}
		w.Write([]byte("flat"))
		c, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(top, c.ID)); err != nil {
			t.Fatal(err)
		}
		if got := ChunkPath(s.dir, c.ID); got != filepath.Join(top, c.ID) {
			t.Fatalf("ChunkPath = %s", got)
		}
		// Any later chunk under the same two digits needs no directory
		// of its own.
		if ds, err := s.ensureDir(id[:2] + strings.Repeat("7", 30)); err != nil || len(ds.dirs) != 0 {
			t.Fatalf("a chunk in a durable fan-out directory syncs %q (%v)", ds.dirs, err)
		}
		again, err := OpenStore(s.dir)
		if err != nil {
			t.Fatal(err)
		}
		if !again.flat {
			t.Fatal("reopened as layout 1")
		}
		if ids := storedIDs(t, again); len(ids) != 1 || ids[0] != c.ID {
			t.Fatalf("reopened store holds %v, want [%s]", ids, c.ID)
		}
		if err := again.Verify(c); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("layout 1", func(t *testing.T) {
		s := openLegacyStore(t)
		c := putChunk(t, s, []byte("nested"))
		want := filepath.Join(s.dir, c.ID[:2], c.ID[2:4], c.ID)
		if _, err := os.Stat(want); err != nil {
			t.Fatal(err)
		}
		again, err := OpenStore(s.dir)
		if err != nil {
			t.Fatal(err)
		}
		if again.flat {
			t.Fatal("a store of layout 1 reopened as layout 2")
		}
		if _, err := os.Stat(filepath.Join(s.dir, "layout-2")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a store of layout 1 got layout 2's directory: %v", err)
		}
		if err := again.Verify(c); err != nil {
			t.Fatal(err)
		}
		if got := ChunkPath(s.dir, c.ID); got != want {
			t.Fatalf("ChunkPath = %s, want %s", got, want)
		}
	})

	t.Run("unknown", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "chunks")
		os.MkdirAll(filepath.Join(dir, "layout-3"), 0o700)
		if _, err := OpenStore(dir); err == nil || !strings.Contains(err.Error(), "unknown layout") {
			t.Fatalf("a store of layout 3 opened: %v", err)
		}
	})
}
