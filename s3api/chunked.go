package s3api

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strings"
	"sync"
)

// The aws-chunked content coding of S3 streaming uploads: "Signature
// Calculations for the Authorization Header: Transferring Payload in
// Multiple Chunks" and "Signature calculations for trailing headers" of the
// Amazon S3 API reference.
//
//	chunk   = hex-size [";chunk-signature=" 64*HEXDIG] CRLF data CRLF
//	last    = "0" [";chunk-signature=" 64*HEXDIG] CRLF
//	trailer = *(name ":" value CRLF) ["x-amz-trailer-signature:" 64*HEXDIG CRLF] CRLF
//
// Chunk data streams through to the caller while it is hashed; a chunk's
// signature is checked when its data ends, so a forged chunk surfaces as
// an error before io.EOF and a handler that commits only at io.EOF never
// commits it. Only the line buffer (a pooled 4 KiB bufio.Reader) is held,
// whatever the chunk size.

const (
	chunkedBufSize = 4096 // also the longest chunk-size or trailer line
	// maxChunkSize bounds one chunk (S3 objects and parts are at most 5 GiB).
	maxChunkSize = 1 << 40
	// minSignedChunk is the smallest data chunk but the last that signed
	// streaming allows.
	minSignedChunk = 8192
	maxTrailers    = 16
	// maxTrailerLines bounds the trailer section: trailers, signature and
	// blank lines.
	maxTrailerLines = 2*maxTrailers + 4
	// maxTail bounds the CR/LF bytes tolerated after the end of the stream.
	maxTail               = 16
	chunkSignatureExt     = ";chunk-signature="
	trailerSignatureName  = "x-amz-trailer-signature"
	signV4PayloadAlgoLine = "AWS4-HMAC-SHA256-PAYLOAD\n"
	signV4TrailerAlgoLine = "AWS4-HMAC-SHA256-TRAILER\n"
)

var (
	bufReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, chunkedBufSize) }}
	// emptyHashLine is the "hash of the empty string" line of a chunk's
	// string to sign.
	emptyHashLine = []byte("\n" + emptySHA256 + "\n")
	emptySum      = sha256.Sum256(nil)
)

// chunkSigner computes the chain of chunk signatures that starts at the
// seed signature of the request.
type chunkSigner struct {
	mac           hash.Hash // HMAC-SHA256 under the signing key
	payloadPrefix []byte    // "AWS4-HMAC-SHA256-PAYLOAD\n" timestamp "\n" scope "\n"
	trailerPrefix []byte
	prev          [64]byte // previous signature, hex
	sum           [sha256.Size]byte
	hexSum        [64]byte
}

func newChunkSigner(key []byte, amzDate, scope, seed string) *chunkSigner {
	s := &chunkSigner{
		mac:           hmac.New(sha256.New, key),
		payloadPrefix: []byte(signV4PayloadAlgoLine + amzDate + "\n" + scope + "\n"),
		trailerPrefix: []byte(signV4TrailerAlgoLine + amzDate + "\n" + scope + "\n"),
	}
	copy(s.prev[:], seed)
	return s
}

// nextChunk verifies the signature claimed for a chunk whose data hashes
// to sum, and makes it the previous signature.
func (s *chunkSigner) nextChunk(sum []byte, claimed []byte) bool {
	s.mac.Reset()
	s.mac.Write(s.payloadPrefix)
	s.mac.Write(s.prev[:])
	s.mac.Write(emptyHashLine)
	hex.Encode(s.hexSum[:], sum)
	s.mac.Write(s.hexSum[:])
	return s.finish(claimed)
}

// trailer verifies the signature of the trailing headers whose canonical
// form ("name:value\n" each) hashes to sum.
func (s *chunkSigner) trailer(sum []byte, claimed []byte) bool {
	s.mac.Reset()
	s.mac.Write(s.trailerPrefix)
	s.mac.Write(s.prev[:])
	s.mac.Write([]byte{'\n'})
	hex.Encode(s.hexSum[:], sum)
	s.mac.Write(s.hexSum[:])
	return s.finish(claimed)
}

func (s *chunkSigner) finish(claimed []byte) bool {
	hex.Encode(s.prev[:], s.mac.Sum(s.sum[:0]))
	return hmac.Equal(s.prev[:], claimed)
}

// chunkedConfig describes an aws-chunked body.
type chunkedConfig struct {
	signer        *chunkSigner // nil: chunks carry no signatures
	trailer       bool         // trailing headers follow the last chunk
	declared      []string     // trailer names from x-amz-trailer, lower case
	decodedLength int64        // x-amz-decoded-content-length, -1 if unknown
}

// chunkedReader decodes an aws-chunked body.
type chunkedReader struct {
	br       *bufio.Reader
	cfg      chunkedConfig
	total    int64    // data bytes so far
	left     int64    // data bytes left in the current chunk
	inChunk  bool     // a data chunk has started and its CRLF is pending
	claimed  [64]byte // signature claimed for the current chunk
	hasher   hash.Hash
	small    bool // the previous signed chunk was below minSignedChunk
	err      error
	trailers http.Header
	canon    []byte // canonical trailers, signed variant
}

func newChunkedReader(body io.Reader, cfg chunkedConfig) *chunkedReader {
	br := bufReaders.Get().(*bufio.Reader)
	br.Reset(body)
	c := &chunkedReader{br: br, cfg: cfg}
	if cfg.signer != nil {
		c.hasher = sha256.New()
	}
	return c
}

// Trailer returns the trailing headers once the body has been read to
// io.EOF.
func (c *chunkedReader) Trailer() http.Header {
	if c.err != io.EOF {
		return nil
	}
	return c.trailers
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for c.left == 0 {
		if c.inChunk {
			if err := c.endChunk(); err != nil {
				return 0, c.fail(err)
			}
		}
		size, err := c.readChunkHeader()
		if err != nil {
			return 0, c.fail(err)
		}
		if size == 0 {
			if err := c.finish(); err != nil {
				return 0, c.fail(err)
			}
			return 0, c.fail(io.EOF)
		}
		c.left, c.inChunk = size, true
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	if n > 0 {
		c.left -= int64(n)
		c.total += int64(n)
		if c.hasher != nil {
			c.hasher.Write(p[:n])
		}
	}
	if err != nil {
		return n, c.fail(readErr(err))
	}
	return n, nil
}

// fail records the terminal state of the stream and releases the buffer.
func (c *chunkedReader) fail(err error) error {
	c.err = err
	if c.br != nil {
		c.br.Reset(nil)
		bufReaders.Put(c.br)
		c.br = nil
	}
	return err
}

// readErr maps an error of the underlying body: the body ending early is
// IncompleteBody; other errors (a dropped connection) pass through.
func readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrIncompleteBody
	}
	return err
}

func malformedChunk(detail string) *APIError {
	return ErrMalformedChunkedEncoding.WithMessage(ErrMalformedChunkedEncoding.Message + " " + detail)
}

// readLine returns the next line without its CRLF. A missing CR is
// tolerated only when lax is set (trailer lines: minio-go ends them with a
// bare LF). At the clean end of the body it returns io.EOF.
func (c *chunkedReader) readLine(lax bool) ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return nil, malformedChunk("A line is too long.")
	case err == io.EOF && len(line) == 0:
		return nil, io.EOF
	case err != nil:
		return nil, readErr(err)
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1], nil
	}
	if !lax {
		return nil, malformedChunk("A line does not end with CRLF.")
	}
	return line, nil
}

// readChunkHeader reads "hex-size[;chunk-signature=sig]\r\n".
func (c *chunkedReader) readChunkHeader() (int64, error) {
	line, err := c.readLine(false)
	if err == io.EOF {
		return 0, ErrIncompleteBody
	}
	if err != nil {
		return 0, err
	}
	i := 0
	var size int64
	for ; i < len(line) && isHex(line[i]); i++ {
		// Checked at every digit, so the value never overflows.
		if size = size<<4 | int64(unhex(line[i])); size > maxChunkSize {
			return 0, malformedChunk("The chunk size is too large.")
		}
	}
	if i == 0 {
		return 0, malformedChunk("The chunk size is not hexadecimal.")
	}
	ext := line[i:]
	if c.cfg.signer != nil {
		sig, ok := strings.CutPrefix(string(ext), chunkSignatureExt)
		if !ok || len(sig) != len(c.claimed) {
			return 0, malformedChunk("A chunk has no chunk-signature.")
		}
		copy(c.claimed[:], sig)
		if size > 0 {
			if c.small {
				return 0, ErrInvalidChunkSizeError
			}
			c.small = size < minSignedChunk
		}
	} else if len(ext) > 0 && ext[0] != ';' {
		return 0, malformedChunk("The chunk size is not hexadecimal.")
	}
	if d := c.cfg.decodedLength; d >= 0 && size > d-c.total {
		return 0, ErrDecodedLengthExceeded
	}
	return size, nil
}

// endChunk reads the CRLF after chunk data and checks the chunk signature.
func (c *chunkedReader) endChunk() error {
	c.inChunk = false
	var crlf [2]byte
	if _, err := io.ReadFull(c.br, crlf[:]); err != nil {
		return readErr(err)
	}
	if crlf != [2]byte{'\r', '\n'} {
		return malformedChunk("Chunk data does not end with CRLF.")
	}
	if s := c.cfg.signer; s != nil {
		var sum [sha256.Size]byte
		ok := s.nextChunk(c.hasher.Sum(sum[:0]), c.claimed[:])
		c.hasher.Reset()
		if !ok {
			return ErrSignatureDoesNotMatch
		}
	}
	return nil
}

// finish runs after the zero-size chunk header: it checks the final chunk
// signature, reads the trailers and the end of the body, and checks the
// decoded length.
func (c *chunkedReader) finish() error {
	if s := c.cfg.signer; s != nil && !s.nextChunk(emptySum[:], c.claimed[:]) {
		return ErrSignatureDoesNotMatch
	}
	if c.cfg.trailer {
		if err := c.readTrailers(); err != nil {
			return err
		}
	}
	if err := c.expectEnd(); err != nil {
		return err
	}
	if d := c.cfg.decodedLength; d >= 0 && c.total != d {
		return ErrIncompleteBody
	}
	return nil
}

// readTrailers reads the trailer section: "name:value" lines, then, when
// the chunks are signed, "x-amz-trailer-signature:sig", and a blank line.
// Blank lines before the signature are skipped (minio-go writes one).
func (c *chunkedReader) readTrailers() error {
	signed := c.cfg.signer != nil
	var sawSig bool
	for lines := 0; ; lines++ {
		if lines > maxTrailerLines {
			return ErrMalformedTrailer
		}
		line, err := c.readLine(true)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if len(line) == 0 {
			if signed && !sawSig {
				continue
			}
			break
		}
		if sawSig {
			return ErrMalformedTrailer
		}
		rawName, rawValue, ok := strings.Cut(string(line), ":")
		name := strings.ToLower(strings.TrimSpace(rawName))
		value := strings.TrimSpace(rawValue)
		if !ok || !validHeaderName(name) {
			return ErrMalformedTrailer
		}
		if name == trailerSignatureName {
			if !signed || len(value) != 64 {
				return ErrMalformedTrailer
			}
			sum := sha256.Sum256(c.canon)
			if !c.cfg.signer.trailer(sum[:], []byte(value)) {
				return ErrSignatureDoesNotMatch
			}
			sawSig = true
			continue
		}
		if err := c.addTrailer(name, value); err != nil {
			return err
		}
	}
	if signed && !sawSig {
		return ErrIncompleteBody
	}
	for _, name := range c.cfg.declared {
		if c.trailers.Get(name) == "" {
			return ErrMalformedTrailer
		}
	}
	return nil
}

// addTrailer records a trailing header, which x-amz-trailer must have
// declared.
func (c *chunkedReader) addTrailer(name, value string) error {
	declared := false
	for _, d := range c.cfg.declared {
		if d == name {
			declared = true
			break
		}
	}
	key := http.CanonicalHeaderKey(name)
	if !declared || value == "" {
		return ErrMalformedTrailer
	}
	if _, dup := c.trailers[key]; dup {
		return ErrMalformedTrailer
	}
	if c.trailers == nil {
		c.trailers = make(http.Header, len(c.cfg.declared))
	}
	c.trailers[key] = []string{value}
	if c.cfg.signer != nil {
		c.canon = append(c.canon, name...)
		c.canon = append(c.canon, ':')
		c.canon = append(c.canon, value...)
		c.canon = append(c.canon, '\n')
	}
	return nil
}

// expectEnd reads to the end of the body, which may hold only the final
// CRLFs.
func (c *chunkedReader) expectEnd() error {
	for i := 0; ; i++ {
		b, err := c.br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if (b != '\r' && b != '\n') || i >= maxTail {
			return malformedChunk("Data follows the last chunk.")
		}
	}
}
