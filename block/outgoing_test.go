package block

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A streamed chunk reaches its other holders while it is written here:
// they have read its first half before the second is written, and hold
// verified copies once it is committed here. A chunk whose write fails
// here midway ends its copies unfinished: the holders store nothing, and
// the upload does not get its copies.
func TestStreamedCopy(t *testing.T) {
	store := openTestStore(t)
	c := New(Config{Self: 1, Replicas: 3, Store: store, Peer: NewPeer(1, testClusterKey, nil)}, Member{ID: 1})
	peers := []*peerNode{newPeerNode(t), newPeerNode(t)}
	ms := []Member{{ID: 1}}
	for i, p := range peers {
		ms = append(ms, Member{ID: uint64(i + 2), Addr: strings.TrimPrefix(p.srv.URL, "http://")})
	}
	const size = 1<<20 + 12345
	data := randBytes(7, size)
	half := size / 2
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("committed", func(t *testing.T) {
		rep := &Replication{c: c, ms: ms}
		w, err := store.Create()
		if err != nil {
			t.Fatal(err)
		}
		o := rep.Stream(w.ID(), size)
		before := [2]int64{peers[0].got.Load(), peers[1].got.Load()}
		sent := fileSent.Load()
		w.Write(data[:half])
		o.Write(data[:half])
		for i, p := range peers {
			waitFor(t, "the first half at a holder", func() bool { return p.got.Load()-before[i] >= int64(half) })
		}
		for p := data[half:]; len(p) > 0; {
			// Uneven pieces: frames split between writes.
			k := min(len(p), 1000+len(p)%4099)
			w.Write(p[:k])
			o.Write(p[:k])
			p = p[k:]
		}
		ch, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		o.Commit(ch)
		if err := rep.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		// Acknowledged: a majority of the 3 holders (this node and at
		// least one other) have durable, verified copies now.
		held := 0
		for _, p := range peers {
			if p.m.Store().Verify(ch) == nil {
				held++
			}
		}
		if held < 1 {
			t.Fatal("Wait returned before another holder had its copy")
		}
		rep.wg.Wait()
		for i, p := range peers {
			if err := p.m.Store().Verify(ch); err != nil {
				t.Errorf("holder %d: %v", i+2, err)
			}
		}
		// Both copies left from the file (sendfile.go), all but what the
		// HTTP client's buffer took behind the request's head.
		if n := fileSent.Load() - sent; n < 2*(size-8<<10) {
			t.Errorf("%d bytes of the two copies were sent from the file, want at least %d", n, 2*(size-8<<10))
		}
	})

	t.Run("from the file", func(t *testing.T) {
		// A committed chunk (repair, a spare holder) goes out from its
		// file too.
		w, err := store.Create()
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		ch, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		sent := fileSent.Load()
		rep := &Replication{c: c, ms: ms}
		rep.Add(ch)
		if err := rep.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		rep.wg.Wait()
		for i, p := range peers {
			if err := p.m.Store().Verify(ch); err != nil {
				t.Errorf("holder %d: %v", i+2, err)
			}
		}
		if n := fileSent.Load() - sent; n < 2*(size-8<<10) {
			t.Errorf("%d bytes of the two copies were sent from the file, want at least %d", n, 2*(size-8<<10))
		}
	})

	t.Run("holder full", func(t *testing.T) {
		// A holder whose disk is low answers 507 before reading the
		// copy; the other holder's copy still makes the majority.
		peers[0].low.Store(true)
		defer peers[0].low.Store(false)
		defer func() {
			c.fullMu.Lock()
			clear(c.full)
			c.fullMu.Unlock()
		}()
		rep := &Replication{c: c, ms: ms}
		ch := writeStreamed(t, store, rep, data, len(data))
		if err := rep.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		rep.wg.Wait()
		if peers[0].m.Store().Has(ch.ID) {
			t.Error("the full holder stored a copy")
		}
		if err := peers[1].m.Store().Verify(ch); err != nil {
			t.Errorf("the other holder: %v", err)
		}
		if !c.isFull(2) {
			t.Error("the holder that answered 507 is not marked full")
		}
	})

	t.Run("aborted", func(t *testing.T) {
		rep := &Replication{c: c, ms: ms}
		w, err := store.Create()
		if err != nil {
			t.Fatal(err)
		}
		id := w.ID()
		o := rep.Stream(id, size)
		before := [2]int64{peers[0].got.Load(), peers[1].got.Load()}
		files := [2]int64{}
		for i, p := range peers {
			files[i], _ = p.m.Store().Usage()
		}
		w.Write(data[:half])
		o.Write(data[:half])
		for i, p := range peers {
			waitFor(t, "the first half at a holder", func() bool { return p.got.Load()-before[i] >= int64(half) })
		}
		w.Abort()
		o.Abort()
		if err := rep.Wait(ctx); !errors.Is(err, ErrTooFewCopies) {
			t.Fatalf("copies of an aborted chunk: got %v, want ErrTooFewCopies", err)
		}
		rep.wg.Wait()
		for i, p := range peers {
			if p.m.Store().Has(id) {
				t.Errorf("holder %d stored a copy of an aborted chunk", i+2)
			}
			if n, _ := p.m.Store().Usage(); n != files[i] {
				t.Errorf("holder %d: %d chunk files, want %d", i+2, n, files[i])
			}
			// Nor is a temporary file left behind once the holder has
			// seen the copy end.
			waitFor(t, "no temporary file at a holder", func() bool { return tempFiles(t, p.m.Store()) == 0 })
		}
	})
}

// writeStreamed writes data as a new chunk of store in pieces of piece
// bytes, streaming it to rep's holders, and commits it.
func writeStreamed(tb testing.TB, store *Store, rep *Replication, data []byte, piece int) meta.Chunk {
	tb.Helper()
	w, err := store.Create()
	if err != nil {
		tb.Fatal(err)
	}
	o := rep.Stream(w.ID(), int64(len(data)))
	for p := data; len(p) > 0; {
		k := min(piece, len(p))
		w.Write(p[:k])
		o.Write(p[:k])
		p = p[k:]
	}
	ch, err := w.Commit()
	if err != nil {
		tb.Fatal(err)
	}
	o.Commit(ch)
	return ch
}

// tempFiles counts the copies being received (or left unfinished) in s.
func tempFiles(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), tmpSuffix) {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// BenchmarkStreamedCopy is a writer's side of a 1 MiB chunk and its two
// streamed copies: the chunk written here in 256 KiB pieces and
// committed, each copy sent to a holder that reads and drops it. cpu-ns/op
// is the whole process's CPU, the holders' reads included.
func BenchmarkStreamedCopy(b *testing.B) {
	store, err := OpenStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	c := New(Config{Self: 1, Replicas: 3, Store: store, Peer: NewPeer(1, testClusterKey, nil)}, Member{ID: 1})
	ms := []Member{{ID: 1}}
	for i := range 2 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusNoContent)
		}))
		b.Cleanup(srv.Close)
		ms = append(ms, Member{ID: uint64(i + 2), Addr: strings.TrimPrefix(srv.URL, "http://")})
	}
	data := randBytes(3, 1<<20)
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	cpu0 := processCPU(b)
	for b.Loop() {
		rep := &Replication{c: c, ms: ms}
		ch := writeStreamed(b, store, rep, data, 256<<10)
		if err := rep.Wait(ctx); err != nil {
			b.Fatal(err)
		}
		rep.wg.Wait()
		if err := store.Delete(ch.ID); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}
