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

// streamBody is the body of one copy: the chunk's bytes read back from
// the local file as they are written (or from the committed file), then
// the trailer. Over plain TCP it has a length and goes out from the file
// (sendTo, sendfile.go). Over TLS a streamed copy is sent with chunked
// transfer encoding, so that the HTTP client hands it the connection
// (WriteTo) and each write takes what has arrived, up to a buffer of
// 256 KiB, rather than the client's 32 KiB at a time.
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
		avail, err := o.wait(b.off)
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
	if err := b.knowTrailer(); err != nil {
		return 0, err
	}
	if len(b.tr) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.tr)
	b.tr = b.tr[n:]
	return n, nil
}

// wait returns how many bytes of the chunk are written here once it is
// more than off, or the failure.
func (o *Outgoing) wait(off int64) (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.written <= off && o.err == nil {
		o.cond.Wait()
	}
	return o.written, o.err
}

// waitTrailer returns the trailer once the chunk is committed here, or
// the failure.
func (o *Outgoing) waitTrailer() ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.trailer == nil && o.err == nil {
		o.cond.Wait()
	}
	if o.err != nil {
		return nil, o.err
	}
	return o.trailer[:], nil
}

// knowTrailer waits for the trailer (once the chunk is committed here)
// unless it is known already.
func (b *streamBody) knowTrailer() error {
	if b.end {
		return nil
	}
	tr, err := b.o.waitTrailer()
	if err != nil {
		return err
	}
	b.tr, b.end = tr, true
	return nil
}

// WriteTo writes the rest of the body to w as it becomes available.
func (b *streamBody) WriteTo(w io.Writer) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var total int64
	for b.off < b.o.size {
		avail, err := b.o.wait(b.off)
		if err != nil {
			return total, err
		}
		n := int(min(int64(len(buf)), avail-b.off))
		k, err := b.f.ReadAt(buf[:n], b.off)
		if k < n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return total, err
		}
		k, err = w.Write(buf[:n])
		b.off += int64(k)
		total += int64(k)
		if err != nil {
			return total, err
		}
	}
	if err := b.knowTrailer(); err != nil {
		return total, err
	}
	k, err := w.Write(b.tr)
	b.tr = b.tr[k:]
	return total + int64(k), err
}
