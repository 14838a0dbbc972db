package block

import (
	"io"
	"net"
	"sync/atomic"
)

// A streamed copy's bytes leave this node by sendfile(2), from the chunk
// file to the socket: the kernel hands the page-cache pages the writer has
// just filled to the connection, where reading them back into a buffer
// and writing that buffer out would copy every byte twice per holder
// (docs/benchmarks.md, "Chunk copies sent from the file").
//
// The HTTP client reaches that path for a body of known length: it copies
// the body into its connection with io.Copy, which hands a peerConn the
// (length-limited) streamBody through ReadFrom. Over TLS the connection
// is the TLS client's, and the body is read and written as before.

// peerConn is a plain TCP connection of the peer client.
type peerConn struct{ *net.TCPConn }

// fileSent counts the bytes of chunk copies sent from their files (for
// tests: a copy that silently fell back to reads and writes would still
// arrive whole).
var fileSent atomic.Int64

// ReadFrom sends a streamed copy's body from its file; anything else goes
// the TCP connection's own way.
func (c peerConn) ReadFrom(r io.Reader) (int64, error) {
	if lr, ok := r.(*io.LimitedReader); ok {
		if b, ok := lr.R.(*streamBody); ok {
			n, err := b.sendTo(c.TCPConn, lr.N)
			lr.N -= n
			return n, err
		}
	}
	return c.TCPConn.ReadFrom(r)
}

// Close does nothing: the file is push's to close. A body that closes
// itself is not wrapped by the HTTP client, which would hide it from
// ReadFrom.
func (b *streamBody) Close() error { return nil }

// sendTo writes up to limit bytes of the rest of the body to c as they
// become available: the chunk's bytes from the file (sendfile, where the
// TCP connection's ReadFrom takes a file), then the trailer.
func (b *streamBody) sendTo(c *net.TCPConn, limit int64) (int64, error) {
	var total int64
	if b.off < b.o.size {
		// The body may have been read from (Read uses ReadAt): sendfile
		// starts at the file's offset.
		if _, err := b.f.Seek(b.off, io.SeekStart); err != nil {
			return 0, err
		}
	}
	for b.off < b.o.size && total < limit {
		avail, err := b.o.wait(b.off)
		if err != nil {
			return total, err
		}
		n := min(avail-b.off, limit-total)
		k, err := c.ReadFrom(&io.LimitedReader{R: b.f, N: n})
		b.off += k
		total += k
		fileSent.Add(k)
		if err != nil {
			return total, err
		}
		if k < n {
			return total, io.ErrUnexpectedEOF
		}
	}
	if total == limit {
		return total, nil
	}
	if err := b.knowTrailer(); err != nil {
		return total, err
	}
	k, err := c.Write(b.tr[:min(int64(len(b.tr)), limit-total)])
	b.tr = b.tr[k:]
	return total + int64(k), err
}
