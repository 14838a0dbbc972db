package gateway

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/forkstore/forkstore/block"
	"github.com/forkstore/forkstore/gateway/checksum"
	"github.com/forkstore/forkstore/meta"
)

// Defaults of IngestOptions.
const (
	DefaultChunkSize = 4 << 20
	DefaultInlineMax = 4 << 10
	DefaultMaxSize   = 5 << 30
)

// An inline body is written to the Raft log, then to Badger's memtable
// and its log, then once more by each compaction that moves it down the
// LSM tree; a chunked one is written once to a chunk file and fsynced. The
// compactions' cost grows with the body: measured on one node (8 writers,
// docs/benchmarks.md "Small bodies: inline or a chunk file"), a 16 KiB PUT
// took 2.4-3.1 ms of CPU inline and 1.0-1.1 ms as a chunk file, a 64 KiB
// one 13.4-15.7 ms against 1.1 ms, while at 4 KiB the two were within the
// noise (and an inline GET is no dearer than a chunk's). So bodies of up
// to 4 KiB are inline, larger ones go to chunk files.

// ingestBufSize is the unit in which bodies are read, hashed and written.
const ingestBufSize = 256 << 10

var ingestBufs = sync.Pool{New: func() any {
	b := make([]byte, ingestBufSize)
	return &b
}}

// IngestOptions configures Ingest.
type IngestOptions struct {
	// ChunkSize is the size of each chunk but the last (0: DefaultChunkSize).
	ChunkSize int64
	// InlineMax is the largest body returned inline instead of in chunks
	// (0: never inline, as for multipart parts; an empty body has neither).
	InlineMax int64
	// MaxSize bounds the body (0: DefaultMaxSize, 5 GiB).
	MaxSize int64
	// Algorithm is the additional checksum to compute alongside MD5 ("" for
	// none).
	Algorithm string
	// OnChunk, when set, is called with each chunk once it is durable
	// (from a background goroutine, in order; it must not block), so that
	// copying it elsewhere overlaps with reading the rest of the body.
	OnChunk func(meta.Chunk)
	// Stream, when set, is asked for the copies elsewhere of each chunk
	// whose exact size is known as it begins (a body of declared size,
	// not sealed), so that they travel while the body arrives: it is
	// told of every byte written here, then of the commit or of the
	// failure. OnChunk is not called for such a chunk.
	Stream func(id string, size int64) *block.Outgoing
	// Seal, when set, wraps what goes into chunks (encryption at rest,
	// sse.go): the body is hashed as it arrives, the chunks hold what the
	// returned writer writes to w, and Close flushes it. Inline bodies are
	// returned as they arrived.
	Seal func(w io.Writer) (io.WriteCloser, error)
}

// IngestResult is a body stored by Ingest: either Inline (which may be
// empty) or Chunks, in order.
type IngestResult struct {
	Size    int64
	Inline  []byte
	Chunks  []meta.Chunk
	Digests checksum.Digests
}

// Ingest streams r into inline bytes or into committed chunks, computing
// the MD5 and opts.Algorithm in the same pass. size is the declared length
// or -1 when unknown. A body shorter or longer than a declared size fails
// with ErrIncompleteBody, one beyond opts.MaxSize with ErrEntityTooLarge;
// an error reading r is returned unchanged. On any error, every chunk
// written is deleted before Ingest returns. The chunks are durable when it
// returns; nothing references them until the caller commits a manifest.
//
// A chunked body is hashed on a second goroutine while this one reads and
// writes, so a single large upload runs at about the speed of MD5 alone;
// full chunks are committed (fsynced) in the background as the next fills.
func (s *ChunkStore) Ingest(ctx context.Context, r io.Reader, size int64, opts IngestOptions) (*IngestResult, error) {
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if size < 0 {
		size = -1
	}
	if size > opts.MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrEntityTooLarge, size, opts.MaxSize)
	}
	m, err := checksum.NewMulti(opts.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedRequest, err)
	}
	defer m.Close()
	if size >= 0 && size <= opts.InlineMax {
		return ingestInline(r, size, m)
	}
	// A CRC32C of a chunked body is combined from the chunks' own, which
	// the chunk store computes as it writes them, rather than computed
	// twice (not when sealed: the chunks then hold ciphertext). hm is what
	// the chunked body is hashed with.
	hm, crcOfChunks := m, m.Algorithm() == checksum.CRC32C && opts.Seal == nil
	if crcOfChunks {
		hm, _ = checksum.NewMulti("")
		defer hm.Close()
	}

	bufA := ingestBufs.Get().(*[]byte)
	bufB := ingestBufs.Get().(*[]byte)
	defer ingestBufs.Put(bufA)
	defer ingestBufs.Put(bufB)
	free := [][]byte{*bufA, *bufB}

	// With an unknown size the body may still turn out small enough to be
	// inline: read its head first. (An InlineMax beyond the pooled buffer
	// needs a buffer of its own.)
	var (
		head        []byte
		headEOF     bool
		headPooled  bool
		total       int64
		inlineMaybe = size < 0 && opts.InlineMax > 0
	)
	if inlineMaybe {
		buf := free[0]
		if opts.InlineMax >= int64(len(buf)) {
			buf = make([]byte, opts.InlineMax+1)
		} else {
			free, headPooled = free[1:], true
		}
		n, rerr := readFull(r, buf)
		if rerr != nil && rerr != io.EOF {
			return nil, rerr
		}
		head, headEOF, total = buf[:n], rerr == io.EOF, int64(n)
		if headEOF && total <= opts.InlineMax {
			m.Write(head)
			var inline []byte
			if n > 0 {
				inline = bytes.Clone(head)
			}
			return &IngestResult{Size: total, Inline: inline, Digests: m.Digests()}, nil
		}
		if total > opts.MaxSize {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrEntityTooLarge, opts.MaxSize)
		}
	}

	in := ingest{s: s, chunkSize: opts.ChunkSize, onChunk: opts.OnChunk}
	if opts.Stream != nil && size >= 0 && opts.Seal == nil {
		in.stream, in.size = opts.Stream, size
	}
	var out io.Writer = chunkWriterFunc(in.write)
	var sealer io.WriteCloser
	if opts.Seal != nil {
		if sealer, err = opts.Seal(out); err != nil {
			return nil, err
		}
		out = sealer
	}
	h := startHasher(hm, free)
	defer h.stop()
	fail := func(err error) (*IngestResult, error) {
		h.stop()
		in.fail()
		return nil, err
	}
	for {
		var (
			p       []byte
			recycle []byte
			eof     bool
		)
		if head != nil {
			p, eof = head, headEOF
			if headPooled {
				recycle = head[:cap(head)]
			}
			head = nil
		} else {
			if err := ctx.Err(); err != nil {
				return fail(err)
			}
			buf := h.next()
			n, rerr := readFull(r, buf)
			if rerr != nil && rerr != io.EOF {
				return fail(rerr)
			}
			p, recycle, eof = buf[:n], buf, rerr == io.EOF
			total += int64(n)
		}
		if size >= 0 && total > size {
			return fail(fmt.Errorf("%w: body longer than the declared %d bytes", ErrIncompleteBody, size))
		}
		if total > opts.MaxSize {
			return fail(fmt.Errorf("%w: more than %d bytes", ErrEntityTooLarge, opts.MaxSize))
		}
		// The hasher reads p while it is written out here; it hands the
		// buffer back for reuse only once it is done with it.
		h.hash(p, recycle)
		if _, err := out.Write(p); err != nil {
			return fail(err)
		}
		if eof {
			break
		}
	}
	if size >= 0 && total < size {
		return fail(fmt.Errorf("%w: got %d of %d bytes", ErrIncompleteBody, total, size))
	}
	if sealer != nil {
		if err := sealer.Close(); err != nil {
			return fail(err)
		}
	}
	// The last chunk is committed (fsynced) while the hasher finishes,
	// which gives a batched MD5 (checksum.Multi) time to fill its lanes.
	chunks, err := in.finish()
	h.stop()
	if err != nil {
		return nil, err
	}
	d := hm.Digests()
	if crcOfChunks {
		if d, err = withChunksCRC(d, chunks); err != nil {
			s.Discard(chunks)
			return nil, err
		}
	}
	return &IngestResult{Size: total, Chunks: chunks, Digests: d}, nil
}

// withChunksCRC returns d with the CRC32C of the body the chunks hold,
// combined from theirs.
func withChunksCRC(d checksum.Digests, chunks []meta.Chunk) (checksum.Digests, error) {
	sums, sizes := make([][]byte, len(chunks)), make([]int64, len(chunks))
	for i, c := range chunks {
		sums[i], sizes[i] = binary.BigEndian.AppendUint32(nil, c.CRC32C), c.Size
	}
	sum, err := checksum.Combine(checksum.CRC32C, sums, sizes)
	if err != nil {
		return d, err
	}
	d.Algorithm, d.Sum = checksum.CRC32C, sum
	return d, nil
}

// hasher feeds buffers to a checksum.Multi on its own goroutine, in order,
// and hands each buffer back for reuse once hashed.
type hasher struct {
	m       *checksum.Multi
	jobs    chan hashJob
	free    chan []byte
	done    chan struct{}
	stopped bool
}

type hashJob struct {
	p       []byte
	recycle []byte // returned to free after hashing (nil: not a pooled buffer)
}

func startHasher(m *checksum.Multi, bufs [][]byte) *hasher {
	h := &hasher{
		m:    m,
		jobs: make(chan hashJob, 2),
		free: make(chan []byte, 2),
		done: make(chan struct{}),
	}
	for _, b := range bufs {
		h.free <- b
	}
	go func() {
		defer close(h.done)
		for j := range h.jobs {
			h.m.Write(j.p)
			if j.recycle != nil {
				h.free <- j.recycle
			}
		}
	}()
	return h
}

// next returns a buffer the hasher is done with.
func (h *hasher) next() []byte { return <-h.free }

func (h *hasher) hash(p, recycle []byte) { h.jobs <- hashJob{p, recycle} }

// stop waits until everything sent has been hashed. It is idempotent.
func (h *hasher) stop() {
	if !h.stopped {
		h.stopped = true
		close(h.jobs)
		<-h.done
	}
}

// ingestInline reads a body of known small size into its own slice (the
// slice the metadata record keeps) and checks that nothing follows.
func ingestInline(r io.Reader, size int64, m *checksum.Multi) (*IngestResult, error) {
	var inline []byte
	if size > 0 {
		inline = make([]byte, size)
	}
	n, err := readFull(r, inline)
	m.Write(inline[:n])
	if err != nil && err != io.EOF {
		return nil, err
	}
	if int64(n) < size {
		return nil, fmt.Errorf("%w: got %d of %d bytes", ErrIncompleteBody, n, size)
	}
	if err == nil {
		// The body must end here; reading to EOF also lets a wrapping
		// reader (aws-chunked decoding) check its trailer.
		var probe [1]byte
		k, err := readFull(r, probe[:])
		if k > 0 {
			return nil, fmt.Errorf("%w: body longer than the declared %d bytes", ErrIncompleteBody, size)
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
	}
	return &IngestResult{Size: size, Inline: inline, Digests: m.Digests()}, nil
}

// readFull reads into p until it is full or r fails; it returns io.EOF
// (never io.ErrUnexpectedEOF) when the body ended, possibly with n > 0.
func readFull(r io.Reader, p []byte) (int, error) {
	n, stalls := 0, 0
	for n < len(p) {
		k, err := r.Read(p[n:])
		n += k
		if err != nil {
			return n, err
		}
		if k == 0 {
			if stalls++; stalls > 100 {
				return n, io.ErrNoProgress
			}
			continue
		}
		stalls = 0
	}
	return n, nil
}

// chunkWriterFunc adapts ingest.write to an io.Writer.
type chunkWriterFunc func(p []byte) error

func (f chunkWriterFunc) Write(p []byte) (int, error) {
	if err := f(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ingest cuts a stream into chunks. A full chunk is committed (fsync,
// rename, directory fsync) in the background while the next one fills; at
// most one commit is in flight, which keeps the chunk order.
type ingest struct {
	s         *ChunkStore
	chunkSize int64
	onChunk   func(meta.Chunk)
	stream    func(id string, size int64) *block.Outgoing
	size      int64           // the body's size, with stream
	begun     int64           // bytes in the chunks before w
	w         *ChunkWriter    // chunk being filled, nil between chunks
	out       *block.Outgoing // w's copies in flight, nil if not streamed
	chunks    []meta.Chunk    // committed, in order
	pending   *pendingCommit
}

type pendingCommit struct {
	done  chan struct{}
	chunk meta.Chunk
	err   error
}

func (in *ingest) write(p []byte) error {
	for len(p) > 0 {
		if in.w == nil {
			w, err := in.s.Create()
			if err != nil {
				return err
			}
			in.w = w
			if in.stream != nil {
				in.out = in.stream(w.ID(), min(in.chunkSize, in.size-in.begun))
			}
		}
		k := int(min(int64(len(p)), in.chunkSize-in.w.Size()))
		if _, err := in.w.Write(p[:k]); err != nil {
			return err
		}
		in.out.Write(p[:k])
		p = p[k:]
		if in.w.Size() == in.chunkSize {
			if err := in.commitAsync(); err != nil {
				return err
			}
		}
	}
	return nil
}

// commitAsync hands the full chunk to a background commit after the
// previous commit has finished.
func (in *ingest) commitAsync() error {
	if err := in.wait(); err != nil {
		return err
	}
	w, out := in.w, in.out
	in.w, in.out = nil, nil
	in.begun += w.Size()
	pc := &pendingCommit{done: make(chan struct{})}
	in.pending = pc
	go func() {
		defer close(pc.done)
		pc.chunk, pc.err = w.Commit()
		in.committed(pc.chunk, pc.err, out)
	}()
	return nil
}

// committed passes a chunk's commit on to its copies.
func (in *ingest) committed(c meta.Chunk, err error, out *block.Outgoing) {
	switch {
	case err != nil:
		out.Abort()
	case out != nil:
		out.Commit(c)
	case in.onChunk != nil:
		in.onChunk(c)
	}
}

// wait collects the commit in flight, if any.
func (in *ingest) wait() error {
	pc := in.pending
	if pc == nil {
		return nil
	}
	<-pc.done
	in.pending = nil
	if pc.err != nil {
		return pc.err
	}
	in.chunks = append(in.chunks, pc.chunk)
	return nil
}

// finish commits the last chunk and returns all of them.
func (in *ingest) finish() ([]meta.Chunk, error) {
	if err := in.wait(); err != nil {
		in.fail()
		return nil, err
	}
	if in.w != nil {
		c, err := in.w.Commit()
		out := in.out
		in.w, in.out = nil, nil
		in.committed(c, err, out)
		if err != nil {
			in.fail()
			return nil, err
		}
		in.chunks = append(in.chunks, c)
	}
	return in.chunks, nil
}

// fail discards everything written: the chunk being filled, the commit in
// flight and the committed chunks.
func (in *ingest) fail() {
	in.wait() // a failed commit has already removed its file
	if in.w != nil {
		in.w.Abort()
		in.out.Abort()
		in.w, in.out = nil, nil
	}
	in.s.Discard(in.chunks)
	in.chunks = nil
}

// Discard deletes chunks that will not be referenced (a write that failed
// or was refused). Errors are ignored: the orphan sweeper removes what is
// left.
func (s *ChunkStore) Discard(chunks []meta.Chunk) {
	for _, c := range chunks {
		_ = s.Delete(c.ID)
	}
}
