package block

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/forkstore/forkstore/meta"
)

// Outgoing is one chunk's copies on their way to its other holders. A
// chunk of known size is streamed (Replication.Stream): each holder's
// request reads the bytes back from the local file as they are written
// here, so the copies travel while the body arrives, and the trailer
// (bodymac.go) follows once the chunk is committed here. A chunk handed
// over committed (Replication.Add) is sent from its file, with the
// trailer computed by one read of it for all the holders.
type Outgoing struct {
	c    *Manager
	id   string
	size int64
	salt string

	mu      sync.Mutex
	cond    *sync.Cond
	mac     *bodyMAC // streamed: fed by Write
	written int64
	chunk   meta.Chunk // once committed
	trailer *[macTrailerSize]byte
	err     error // the chunk failed here: nothing more will come

	// fromFile computes the trailer of a committed chunk from its file,
	// once (Add, and a streamed chunk's copy to a spare holder).
	fromFile func() ([macTrailerSize]byte, error)
}

func newOutgoing(c *Manager, id string, size int64) *Outgoing {
	o := &Outgoing{c: c, id: id, size: size, salt: NewNonce()}
	o.cond = sync.NewCond(&o.mu)
	o.fromFile = sync.OnceValues(func() ([macTrailerSize]byte, error) {
		ch, err := o.committed()
		if err != nil {
			return [macTrailerSize]byte{}, err
		}
		o.mu.Lock()
		tr := o.trailer
		o.mu.Unlock()
		if tr != nil {
			return *tr, nil
		}
		return c.store.trailer(ch, newBodyMAC(c.peer.key, o.salt))
	})
	return o
}

// Write tells o that p was appended to the chunk here. It never blocks on
// the holders: each reads at its own pace.
func (o *Outgoing) Write(p []byte) {
	if o == nil {
		return
	}
	o.mac.Write(p) // the MAC is only touched by the writer until Commit
	o.mu.Lock()
	o.written += int64(len(p))
	o.mu.Unlock()
	o.cond.Broadcast()
}

// Commit tells o that the chunk is durable here as ch: the trailer goes
// out and the copies can complete. A chunk of another size than the one
// announced fails its copies.
func (o *Outgoing) Commit(ch meta.Chunk) {
	if o == nil {
		return
	}
	o.mu.Lock()
	if ch.Size != o.size || o.written != o.size {
		o.err = fmt.Errorf("block: chunk %s committed with %d bytes, %d announced", o.id, ch.Size, o.size)
	} else {
		o.chunk = ch
		if o.mac != nil {
			tr := o.mac.trailer(ch.CRC32C)
			o.trailer = &tr
		}
	}
	o.mu.Unlock()
	o.cond.Broadcast()
}

// errChunkAborted ends the copies of a chunk whose write failed here.
var errChunkAborted = errors.New("block: the chunk was not written here")

// Abort tells o that the chunk will not be committed here: its copies
// end unfinished, and their receivers store nothing.
func (o *Outgoing) Abort() {
	if o == nil {
		return
	}
	o.mu.Lock()
	if o.err == nil && o.chunk.ID == "" {
		o.err = errChunkAborted
	}
	o.mu.Unlock()
	o.cond.Broadcast()
}

// committed waits until the chunk is committed here (or has failed).
func (o *Outgoing) committed() (meta.Chunk, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.chunk.ID == "" && o.err == nil {
		o.cond.Wait()
	}
	return o.chunk, o.err
}

// aborted reports whether the chunk failed here.
func (o *Outgoing) aborted() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err != nil
}

// streamBody is the body of one streamed copy: the chunk's bytes read
// back from the local file as they are written, then the trailer.
type streamBody struct {
	o   *Outgoing
	f   *os.File
	off int64
	tr  []byte // what is left of the trailer, once known
	end bool   // the trailer is known
}

func (b *streamBody) Read(p []byte) (int, error) {
	o := b.o
	if b.off < o.size {
		o.mu.Lock()
		for o.written <= b.off && o.err == nil {
			o.cond.Wait()
		}
		avail, err := o.written, o.err
		o.mu.Unlock()
		if err != nil {
			return 0, err
		}
		n := int(min(int64(len(p)), avail-b.off))
		k, err := b.f.ReadAt(p[:n], b.off)
		b.off += int64(k)
		if k > 0 {
			return k, nil
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	if !b.end {
		o.mu.Lock()
		for o.trailer == nil && o.err == nil {
			o.cond.Wait()
		}
		tr, err := o.trailer, o.err
		o.mu.Unlock()
		if err != nil {
			return 0, err
		}
		b.tr, b.end = tr[:], true
	}
	if len(b.tr) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.tr)
	b.tr = b.tr[n:]
	return n, nil
}
