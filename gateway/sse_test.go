package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	mrand "math/rand/v2"
	"testing"

	"github.com/forkstore/forkstore/meta"
)

func sseKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// sealInPieces encrypts p written in pieces of the given size.
func sealInPieces(t *testing.T, key, p []byte, piece int) []byte {
	t.Helper()
	var out bytes.Buffer
	s, err := newBlockSealer(key, &out)
	if err != nil {
		t.Fatal(err)
	}
	for len(p) > 0 {
		k := min(piece, len(p))
		if _, err := s.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// openRange reads a plaintext range twice: through Read in small pieces
// and through WriteTo (what a GET uses); both must agree.
func openRange(key, stored []byte, size, off, n int64) ([]byte, error) {
	open := func() (io.ReadCloser, error) {
		return sseOpen(key, size, off, n, func(soff, sn int64) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(stored[soff : soff+sn])), nil
		})
	}
	rc, err := open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var small []byte
	buf := make([]byte, 1000)
	for {
		k, err := rc.Read(buf)
		small = append(small, buf[:k]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	rc2, err := open()
	if err != nil {
		return nil, err
	}
	defer rc2.Close()
	var whole bytes.Buffer
	if _, err := rc2.(io.WriterTo).WriteTo(&whole); err != nil {
		return nil, err
	}
	if !bytes.Equal(small, whole.Bytes()) {
		return nil, errors.New("Read and WriteTo disagree")
	}
	return small, nil
}

func TestSSEBlockRanges(t *testing.T) {
	key := sseKey(t)
	for _, size := range []int64{1, sseBlock - 1, sseBlock, sseBlock + 1, 3*sseBlock + 17, 4 * sseBlock} {
		plain := make([]byte, size)
		rand.Read(plain)
		stored := sealInPieces(t, key, plain, 7000)
		if int64(len(stored)) != sseStoredSize(size) {
			t.Fatalf("size %d: stored %d bytes, want %d", size, len(stored), sseStoredSize(size))
		}
		// (A body shorter than 16 bytes may turn up among 17 random
		// stored ones by chance.)
		if size >= 16 && bytes.Contains(stored, plain[:min(size, 64)]) {
			t.Fatalf("size %d: stored bytes contain the plaintext", size)
		}
		// Whole, and ranges starting/ending on and around block edges.
		edges := []int64{0, 1, sseBlock - 1, sseBlock, sseBlock + 1, 2*sseBlock - 1, 2 * sseBlock, size - 1, size}
		for _, off := range edges {
			for _, end := range edges {
				if off < 0 || end > size || off > end || off >= size && size > 0 {
					continue
				}
				got, err := openRange(key, stored, size, off, end-off)
				if err != nil {
					t.Fatalf("size %d [%d,%d): %v", size, off, end, err)
				}
				if !bytes.Equal(got, plain[off:end]) {
					t.Fatalf("size %d [%d,%d): wrong bytes", size, off, end)
				}
			}
		}
	}
}

func TestSSEBlockRangeReadsOnlyItsBlocks(t *testing.T) {
	key := sseKey(t)
	plain := make([]byte, 5*sseBlock)
	stored := sealInPieces(t, key, plain, 1<<20)
	var asked [2]int64
	rc, err := sseOpen(key, int64(len(plain)), 2*sseBlock+10, 100, func(soff, sn int64) (io.ReadCloser, error) {
		asked = [2]int64{soff, sn}
		return io.NopCloser(bytes.NewReader(stored[soff : soff+sn])), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(rc)
	if want := [2]int64{2 * (sseBlock + sseTag), sseBlock + sseTag}; asked != want {
		t.Fatalf("read stored range %v, want only block 2 %v", asked, want)
	}
}

func TestSSEBlockTamper(t *testing.T) {
	key := sseKey(t)
	size := int64(3*sseBlock + 5)
	plain := make([]byte, size)
	stored := sealInPieces(t, key, plain, 1<<20)

	flipped := bytes.Clone(stored)
	flipped[sseBlock+sseTag+3] ^= 1 // block 1
	if _, err := openRange(key, flipped, size, 0, size); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("flipped bit: %v, want ErrDecrypt", err)
	}
	// A range that avoids the damaged block still reads.
	if got, err := openRange(key, flipped, size, 2*sseBlock, sseBlock); err != nil || !bytes.Equal(got, plain[2*sseBlock:3*sseBlock]) {
		t.Fatalf("undamaged block: %v", err)
	}
	// Blocks swapped: each authenticates only at its own index.
	swapped := bytes.Clone(stored)
	b0 := bytes.Clone(swapped[:sseBlock+sseTag])
	copy(swapped[:sseBlock+sseTag], swapped[sseBlock+sseTag:2*(sseBlock+sseTag)])
	copy(swapped[sseBlock+sseTag:], b0)
	if _, err := openRange(key, swapped, size, 0, 10); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("swapped blocks: %v, want ErrDecrypt", err)
	}
	// Cut at a block boundary: the new last block was not sealed as last.
	cut := stored[:3*(sseBlock+sseTag)]
	if _, err := openRange(key, cut, 3*sseBlock, 0, 3*sseBlock); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("truncated body: %v, want ErrDecrypt", err)
	}
	// Another key.
	if _, err := openRange(sseKey(t), stored, size, 0, 10); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong key: %v, want ErrDecrypt", err)
	}
}

// pushSource is a stored stream whose WriteTo pushes it in pieces of
// random sizes, alternately through the writer's ReadFrom (as the chunk
// store sends a file) and its Write (as it sends a peer's copy).
type pushSource struct {
	data []byte
	rng  *mrand.Rand
}

func (p *pushSource) Read([]byte) (int, error) { return 0, errors.New("pull read of a push source") }
func (p *pushSource) Close() error             { return nil }

func (p *pushSource) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for i := 0; len(p.data) > 0; i++ {
		k := min(len(p.data), 1+p.rng.IntN(3*(sseBlock+sseTag)))
		var err error
		var m int64
		if rf, ok := w.(io.ReaderFrom); ok && i%2 == 0 {
			m, err = rf.ReadFrom(bytes.NewReader(p.data[:k]))
		} else {
			var mm int
			mm, err = w.Write(p.data[:k])
			m = int64(mm)
		}
		n += m
		p.data = p.data[k:]
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// A GET's WriteTo with a source that pushes the stored bytes in any
// pieces (a chunk ends anywhere in a block) serves the same bytes as
// Read, for ranges on and around block edges; a damaged block fails it.
func TestSSEOpenerPushed(t *testing.T) {
	key := sseKey(t)
	rng := mrand.New(mrand.NewPCG(1, 2))
	size := int64(9*sseBlock + 333)
	plain := make([]byte, size)
	rand.Read(plain)
	stored := sealInPieces(t, key, plain, 1<<20)
	read := func(stored []byte, off, n int64) ([]byte, error) {
		rc, err := sseOpen(key, size, off, n, func(soff, sn int64) (io.ReadCloser, error) {
			if soff+sn > int64(len(stored)) {
				sn = int64(len(stored)) - soff
			}
			return &pushSource{data: stored[soff : soff+sn], rng: rng}, nil
		})
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		var out bytes.Buffer
		_, err = rc.(io.WriterTo).WriteTo(struct{ io.Writer }{&out})
		return out.Bytes(), err
	}
	edges := []int64{0, 1, sseBlock - 1, sseBlock, 4*sseBlock + 1, 5 * sseBlock, size - 1, size}
	for _, off := range edges {
		for _, end := range edges {
			if off >= end {
				continue
			}
			for range 3 {
				got, err := read(stored, off, end-off)
				if err != nil || !bytes.Equal(got, plain[off:end]) {
					t.Fatalf("[%d,%d): %d bytes, %v", off, end, len(got), err)
				}
			}
		}
	}
	flipped := bytes.Clone(stored)
	flipped[6*(sseBlock+sseTag)+100] ^= 1
	got, err := read(flipped, 0, size)
	if !errors.Is(err, ErrDecrypt) || len(got) > 6*sseBlock {
		t.Fatalf("damaged block 6: %d bytes served, %v", len(got), err)
	}
	if _, err := read(bytes.Clone(stored[:len(stored)-1]), 0, size); err == nil {
		t.Fatal("a stored body one byte short was read without an error")
	}
}

// The GET path over a real chunk store whose chunks end inside blocks:
// WriteTo, alone and after part of the body was read with Read, serves
// the body; the buffer goes back to the pool at Close only once.
func TestSSEOpenerChunkStore(t *testing.T) {
	cs := openTestChunkStore(t)
	key := sseKey(t)
	size := int64(20*sseBlock + 4321)
	plain := randBytes(3, int(size))
	stored := sealInPieces(t, key, plain, 1<<20)
	var chunks []meta.Chunk
	for rest := stored; len(rest) > 0; {
		k := min(len(rest), 100_003)
		chunks = append(chunks, putChunk(t, cs, rest[:k]))
		rest = rest[k:]
	}
	open := func(off, n int64) io.ReadCloser {
		rc, err := sseOpen(key, size, off, n, func(soff, sn int64) (io.ReadCloser, error) {
			return cs.NewObjectReader(nil, chunks, soff, sn), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return rc
	}
	for _, r := range [][2]int64{{0, size}, {100_000, 300_000}, {sseBlock - 3, 7}, {size - 5, 5}} {
		rc := open(r[0], r[1])
		var out bytes.Buffer
		if _, err := rc.(io.WriterTo).WriteTo(struct{ io.Writer }{&out}); err != nil || !bytes.Equal(out.Bytes(), plain[r[0]:r[0]+r[1]]) {
			t.Fatalf("range %v: %d bytes, %v", r, out.Len(), err)
		}
		rc.Close()
		rc.Close()
	}
	rc := open(0, size)
	head := make([]byte, 3*sseBlock+10)
	if _, err := io.ReadFull(rc, head); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.Write(head)
	if _, err := rc.(io.WriterTo).WriteTo(struct{ io.Writer }{&out}); err != nil || !bytes.Equal(out.Bytes(), plain) {
		t.Fatalf("Read then WriteTo: %d bytes, %v", out.Len(), err)
	}
	rc.Close()
	if _, err := rc.Read(head); err == nil {
		t.Fatal("read after Close")
	}
}

func TestKeyringRotation(t *testing.T) {
	k1, k2 := sseKey(t), sseKey(t)
	b64 := base64.StdEncoding.EncodeToString
	old, err := ParseKeyring(b64(k1) + "\n")
	if err != nil {
		t.Fatal(err)
	}
	dk, sealed, err := old.newDataKey()
	if err != nil {
		t.Fatal(err)
	}
	// Rotated: k2 seals, k1 still opens what it sealed.
	rotated, err := ParseKeyring("# current first\n" + b64(k2) + "\n" + b64(k1) + "\n")
	if err != nil {
		t.Fatal(err)
	}
	got, err := rotated.openDataKey(sealed)
	if err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("old data key after rotation: %v", err)
	}
	_, sealed2, _ := rotated.newDataKey()
	if _, err := old.openDataKey(sealed2); !errors.Is(err, ErrKMSKeyUnknown) {
		t.Fatalf("key sealed by the new master with the old ring: %v, want ErrKMSKeyUnknown", err)
	}
	bad := bytes.Clone(sealed)
	bad[len(bad)-1] ^= 1
	if _, err := rotated.openDataKey(bad); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("tampered sealed key: %v", err)
	}
	for _, text := range []string{"", "bm90IDMyIGJ5dGVz", "!!!", b64(k1) + "," + b64(k1)} {
		if _, err := ParseKeyring(text); err == nil {
			t.Fatalf("ParseKeyring(%q) accepted", text)
		}
	}
}

// A multipart body: each part has its own salt and key; ranges across
// part edges read the right bytes, and a part re-sealed with another salt
// has other ciphertext for the same plaintext.
func TestSSEParts(t *testing.T) {
	key := sseKey(t)
	sizes := []int64{3*sseBlock + 5, sseBlock, 17, 0}
	var parts []meta.PartInfo
	var plain, stored []byte
	for i, n := range sizes {
		p := make([]byte, n)
		rand.Read(p)
		var out bytes.Buffer
		if n > 0 { // an empty part is stored as nothing
			w, err := sealPart(key)(&out)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(p)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if int64(out.Len()) != ssePartStoredSize(n) {
			t.Fatalf("part %d: stored %d, want %d", i+1, out.Len(), ssePartStoredSize(n))
		}
		parts = append(parts, meta.PartInfo{Number: i + 1, Size: n})
		plain = append(plain, p...)
		stored = append(stored, out.Bytes()...)
	}
	read := func(off, n int64) []byte {
		rc := sseOpenParts(key, parts, off, n, func(soff, sn int64) io.ReadCloser {
			return io.NopCloser(bytes.NewReader(stored[soff : soff+sn]))
		})
		defer rc.Close()
		var b bytes.Buffer
		if _, err := rc.(io.WriterTo).WriteTo(&b); err != nil {
			t.Fatalf("[%d,+%d): %v", off, n, err)
		}
		return b.Bytes()
	}
	total := int64(len(plain))
	for _, r := range [][2]int64{{0, total}, {3*sseBlock + 4, 2}, {3 * sseBlock, sseBlock + 6}, {total - 17, 17}, {5, 0}} {
		if got := read(r[0], r[1]); !bytes.Equal(got, plain[r[0]:r[0]+r[1]]) {
			t.Fatalf("range [%d,+%d): wrong bytes", r[0], r[1])
		}
	}
	var again bytes.Buffer
	w, _ := sealPart(key)(&again)
	w.Write(plain[:17])
	w.Close()
	var once bytes.Buffer
	w, _ = sealPart(key)(&once)
	w.Write(plain[:17])
	w.Close()
	if bytes.Equal(again.Bytes()[ssePartSalt:], once.Bytes()[ssePartSalt:]) {
		t.Fatal("a part sealed twice has the same ciphertext: its key does not change")
	}
}

// The cost of the framing alone, per MiB: sealing (PUT) and opening
// (GET) 1 MiB in 64 KiB blocks.
func BenchmarkSSESeal1MiB(b *testing.B) {
	key := make([]byte, 32)
	plain := make([]byte, 1<<20)
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		s, _ := newBlockSealer(key, io.Discard)
		s.Write(plain)
		s.Close()
	}
}

func BenchmarkSSEOpen1MiB(b *testing.B) {
	key := make([]byte, 32)
	plain := make([]byte, 1<<20)
	var out bytes.Buffer
	s, _ := newBlockSealer(key, &out)
	s.Write(plain)
	s.Close()
	stored := out.Bytes()
	size := int64(len(plain))
	b.SetBytes(size)
	for b.Loop() {
		rc, _ := sseOpen(key, size, 0, size, func(soff, sn int64) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(stored[soff : soff+sn])), nil
		})
		rc.(io.WriterTo).WriteTo(io.Discard)
		rc.Close()
	}
}
