package s3api

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// decodeAll decodes an aws-chunked body with cfg.
func decodeAll(body io.Reader, cfg chunkedConfig) ([]byte, *chunkedReader, error) {
	cr := newChunkedReader(body, cfg)
	b, err := io.ReadAll(cr)
	return b, cr, err
}

// TestChunkedUnsigned decodes unsigned aws-chunked bodies
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER) as botocore and minio-go write them.
func TestChunkedUnsigned(t *testing.T) {
	crc := []string{"x-amz-checksum-crc32"}
	cases := []struct {
		name     string
		body     string
		cfg      chunkedConfig
		want     string
		trailers map[string]string
		code     string
	}{
		{name: "botocore", body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n",
			cfg: chunkedConfig{trailer: true, declared: crc, decodedLength: 5}, want: "hello", trailers: map[string]string{"X-Amz-Checksum-Crc32": "NhCmhg=="}},
		{name: "minio-go", body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\n\r\n\r\n",
			cfg: chunkedConfig{trailer: true, declared: crc, decodedLength: 5}, want: "hello", trailers: map[string]string{"X-Amz-Checksum-Crc32": "NhCmhg=="}},
		{name: "several chunks, upper-case hex, unknown length", body: "3\r\nabc\r\nA\r\n0123456789\r\n1\r\nz\r\n0\r\nx-amz-checksum-crc32 : v \r\n\r\n",
			cfg: chunkedConfig{trailer: true, declared: crc, decodedLength: -1}, want: "abc0123456789z", trailers: map[string]string{"X-Amz-Checksum-Crc32": "v"}},
		{name: "chunk extension", body: "5;name=value\r\nhello\r\n0\r\n\r\n", cfg: chunkedConfig{decodedLength: 5}, want: "hello"},
		{name: "two trailers", body: "0\r\nx-amz-checksum-crc32:a\r\nx-amz-meta-x:b\r\n\r\n",
			cfg: chunkedConfig{trailer: true, declared: []string{"x-amz-checksum-crc32", "x-amz-meta-x"}, decodedLength: 0}, trailers: map[string]string{"X-Amz-Checksum-Crc32": "a", "X-Amz-Meta-X": "b"}},
		{name: "no trailers", body: "2\r\nhi\r\n0\r\n\r\n", cfg: chunkedConfig{trailer: true, decodedLength: 2}, want: "hi"},
		{name: "final CRLF omitted", body: "2\r\nhi\r\n0\r\n", cfg: chunkedConfig{decodedLength: 2}, want: "hi"},
		{name: "trailer section ends at EOF", body: "0\r\nx-amz-checksum-crc32:a\r\n", cfg: chunkedConfig{trailer: true, declared: crc, decodedLength: 0}, trailers: map[string]string{"X-Amz-Checksum-Crc32": "a"}},

		{name: "empty body", body: "", cfg: chunkedConfig{decodedLength: -1}, code: "IncompleteBody"},
		{name: "no final chunk", body: "2\r\nhi\r\n", cfg: chunkedConfig{decodedLength: -1}, code: "IncompleteBody"},
		{name: "truncated data", body: "5\r\nhel", cfg: chunkedConfig{decodedLength: -1}, code: "IncompleteBody"},
		{name: "truncated size line", body: "5", cfg: chunkedConfig{decodedLength: -1}, code: "IncompleteBody"},
		{name: "truncated after data", body: "5\r\nhello", cfg: chunkedConfig{decodedLength: -1}, code: "IncompleteBody"},
		{name: "truncated trailer line", body: "0\r\nx-amz-checksum-crc32:a", cfg: chunkedConfig{trailer: true, declared: crc, decodedLength: 0}, code: "IncompleteBody"},
		{name: "bad hex", body: "x\r\nhello\r\n0\r\n\r\n", cfg: chunkedConfig{decodedLength: -1}, code: "InvalidRequest"},
		{name: "negative size", body: "-5\r\nhello\r\n0\r\n\r\n", cfg: chunkedConfig{decodedLength: -1}, code: "InvalidRequest"},
		{name: "leading space", body: " 5\r\nhello\r\n0\r\n\r\n", cfg: chunkedConfig{decodedLength: -1}, code: "InvalidRequest"},
		{name: "junk after size", body: "5 \r\nhello\r\n0\r\n\r\n", cfg: chunkedConfig{decodedLength: -1}, code: "InvalidRequest"},
		{name: "size overflows", body: "1ffffffffffffffff\r\n", cfg: chunkedConfig{decodedLength: -1}, code: "InvalidRequest"},
		{name: "size too large", body: "ffffffffffffff\r\n", cfg: chunkedConfig{decodedLength: -1}, code: "InvalidRequest"},
		{name: "size of 16 digits", body: "ffffffffffffffff\r\n", cfg: chunkedConfig{decodedLength: -1}, code: "InvalidRequest"},
		{name: "leading zeros", body: "0000000000000000000005\r\nhello\r\n0\r\n\r\n", cfg: chunkedConfig{decodedLength: 5}, want: "hello"},
		{name: "bare LF", body: "5\nhello\r\n0\r\n\r\n", cfg: chunkedConfig{decodedLength: -1}, code: "InvalidRequest"},
		{name: "no CRLF after data", body: "5\r\nhelloX\r\n0\r\n\r\n", cfg: chunkedConfig{decodedLength: -1}, code: "InvalidRequest"},
		{name: "size line too long", body: "5;" + strings.Repeat("x", 5000) + "\r\nhello\r\n0\r\n\r\n", cfg: chunkedConfig{decodedLength: -1}, code: "InvalidRequest"},
		{name: "data after the end", body: "0\r\n\r\nmore", cfg: chunkedConfig{decodedLength: 0}, code: "InvalidRequest"},
		{name: "too many CRLFs after the end", body: "0\r\n" + strings.Repeat("\r\n", 20), cfg: chunkedConfig{decodedLength: 0}, code: "InvalidRequest"},
		{name: "trailer without trailer mode", body: "0\r\nx-amz-checksum-crc32:a\r\n\r\n", cfg: chunkedConfig{decodedLength: 0}, code: "InvalidRequest"},
		{name: "longer than decoded length", body: "5\r\nhello\r\n0\r\n\r\n", cfg: chunkedConfig{decodedLength: 4}, code: "InvalidRequest"},
		{name: "shorter than decoded length", body: "5\r\nhello\r\n0\r\n\r\n", cfg: chunkedConfig{decodedLength: 6}, code: "IncompleteBody"},
		{name: "undeclared trailer", body: "0\r\nx-amz-meta-x:a\r\n\r\n", cfg: chunkedConfig{trailer: true, declared: crc, decodedLength: 0}, code: "MalformedTrailerError"},
		{name: "declared trailer missing", body: "0\r\n\r\n", cfg: chunkedConfig{trailer: true, declared: crc, decodedLength: 0}, code: "MalformedTrailerError"},
		{name: "repeated trailer", body: "0\r\nx-amz-checksum-crc32:a\r\nx-amz-checksum-crc32:a\r\n\r\n", cfg: chunkedConfig{trailer: true, declared: crc, decodedLength: 0}, code: "MalformedTrailerError"},
		{name: "empty trailer value", body: "0\r\nx-amz-checksum-crc32:\r\n\r\n", cfg: chunkedConfig{trailer: true, declared: crc, decodedLength: 0}, code: "MalformedTrailerError"},
		{name: "trailer without colon", body: "0\r\nx-amz-checksum-crc32\r\n\r\n", cfg: chunkedConfig{trailer: true, declared: crc, decodedLength: 0}, code: "MalformedTrailerError"},
		{name: "trailer signature when unsigned", body: "0\r\nx-amz-checksum-crc32:a\r\nx-amz-trailer-signature:" + strings.Repeat("0", 64) + "\r\n\r\n", cfg: chunkedConfig{trailer: true, declared: crc, decodedLength: 0}, code: "MalformedTrailerError"},
		{name: "too many trailer lines", body: "0\r\n" + strings.Repeat("x-amz-checksum-crc32:a\n", 100), cfg: chunkedConfig{trailer: true, declared: crc, decodedLength: 0}, code: "MalformedTrailerError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Whole reads, and one byte at a time on both sides.
			for _, oneByte := range []bool{false, true} {
				var body io.Reader = strings.NewReader(tc.body)
				if oneByte {
					body = iotest.OneByteReader(body)
				}
				cr := newChunkedReader(body, tc.cfg)
				var r io.Reader = cr
				if oneByte {
					r = iotest.OneByteReader(cr)
				}
				got, err := io.ReadAll(r)
				if tc.code != "" {
					wantAPIError(t, err, tc.code)
					if cr.Trailer() != nil {
						t.Fatal("trailer after an error")
					}
					continue
				}
				if err != nil || string(got) != tc.want {
					t.Fatalf("got %q, %v", got, err)
				}
				tr := cr.Trailer()
				if len(tr) != len(tc.trailers) {
					t.Fatalf("trailers %v", tr)
				}
				for k, v := range tc.trailers {
					if tr.Get(k) != v {
						t.Fatalf("trailers %v", tr)
					}
				}
			}
		})
	}
}

// TestChunkedSigned covers the signed chunk rules beyond the AWS examples.
func TestChunkedSigned(t *testing.T) {
	const seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	cases := []struct {
		name  string
		body  func() []byte
		cfg   chunkedConfig
		code  string
		check func(t *testing.T, got []byte, cr *chunkedReader)
	}{
		{name: "variable chunk sizes", body: func() []byte { return signedChunks(exampleSigner(seed), data, []int{8192, 40000, 9000}) }, cfg: chunkedConfig{decodedLength: int64(len(data))}},
		{name: "one small chunk", body: func() []byte { return signedChunks(exampleSigner(seed), data[:10], nil) }, cfg: chunkedConfig{decodedLength: 10}},
		{name: "empty payload", body: func() []byte { return signedChunks(exampleSigner(seed), nil, nil) }, cfg: chunkedConfig{decodedLength: 0}},
		{name: "small chunk not last", body: func() []byte { return signedChunks(exampleSigner(seed), data, []int{100, 70000}) }, cfg: chunkedConfig{decodedLength: -1}, code: "InvalidChunkSizeError"},
		{name: "no signature", body: func() []byte { return []byte("a\r\n0123456789\r\n0\r\n\r\n") }, cfg: chunkedConfig{decodedLength: -1}, code: "InvalidRequest"},
		{name: "short signature", body: func() []byte { return []byte("a;chunk-signature=abc\r\n0123456789\r\n") }, cfg: chunkedConfig{decodedLength: -1}, code: "InvalidRequest"},
		{name: "other extension", body: func() []byte { return []byte("a;chunk-signaturX=" + strings.Repeat("0", 64) + "\r\n0123456789\r\n") }, cfg: chunkedConfig{decodedLength: -1}, code: "InvalidRequest"},
		{name: "chunks reordered", body: func() []byte {
			b := signedChunks(exampleSigner(seed), data, []int{32768})
			i := bytes.Index(b[1:], []byte("8000;")) + 1 // the second chunk
			return append(append(append([]byte{}, b[i:2*i]...), b[:i]...), b[2*i:]...)
		}, cfg: chunkedConfig{decodedLength: -1}, code: "SignatureDoesNotMatch"},
		{name: "final chunk dropped and replayed", body: func() []byte {
			b := signedChunks(exampleSigner(seed), data, []int{32768})
			return b[:bytes.Index(b[1:], []byte("8000;"))+1]
		}, cfg: chunkedConfig{decodedLength: -1}, code: "IncompleteBody"},
		{name: "other seed", body: func() []byte { return signedChunks(exampleSigner(strings.Repeat("0", 64)), data, nil) }, cfg: chunkedConfig{decodedLength: -1}, code: "SignatureDoesNotMatch"},
		{name: "signed trailer with blank line before the signature (minio-go)", body: func() []byte {
			b := signedChunks(exampleSigner(seed), data, nil, "x-amz-checksum-crc32c:abc=")
			return bytes.Replace(b, []byte("abc=\r\n"), []byte("abc=\n\r\n"), 1)
		}, cfg: chunkedConfig{trailer: true, declared: []string{"x-amz-checksum-crc32c"}, decodedLength: -1}, check: func(t *testing.T, got []byte, cr *chunkedReader) {
			if cr.Trailer().Get("x-amz-checksum-crc32c") != "abc=" {
				t.Fatalf("trailer %v", cr.Trailer())
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.signer = exampleSigner(seed)
			got, cr, err := decodeAll(bytes.NewReader(tc.body()), cfg)
			if tc.code != "" {
				wantAPIError(t, err, tc.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.decodedLength >= 0 && int64(len(got)) != cfg.decodedLength || !bytes.Equal(got, data[:len(got)]) {
				t.Fatalf("decoded %d bytes", len(got))
			}
			if tc.check != nil {
				tc.check(t, got, cr)
			}
		})
	}
}

// TestChunkedReadErrors: errors of the underlying body pass through, except
// an early end, which is IncompleteBody; the error sticks.
func TestChunkedReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	body := io.MultiReader(strings.NewReader("5\r\nhe"), iotest.ErrReader(boom))
	cr := newChunkedReader(body, chunkedConfig{decodedLength: -1})
	got, err := io.ReadAll(cr)
	if !errors.Is(err, boom) || string(got) != "he" {
		t.Fatalf("%q, %v", got, err)
	}
	if _, err := cr.Read(make([]byte, 1)); !errors.Is(err, boom) {
		t.Fatalf("second read: %v", err)
	}
	body = io.MultiReader(strings.NewReader("5\r\nhe"), iotest.ErrReader(io.ErrUnexpectedEOF))
	_, _, err = decodeAll(body, chunkedConfig{decodedLength: -1})
	wantAPIError(t, err, "IncompleteBody")
	// A reader that returns data together with io.EOF.
	_, _, err = decodeAll(iotest.DataErrReader(strings.NewReader("2\r\nhi\r\n0\r\n\r\n")), chunkedConfig{decodedLength: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Zero-length reads are no-ops.
	cr = newChunkedReader(strings.NewReader("0\r\n\r\n"), chunkedConfig{decodedLength: 0})
	if n, err := cr.Read(nil); n != 0 || err != nil {
		t.Fatalf("%d, %v", n, err)
	}
	if err := iotest.TestReader(newChunkedReader(strings.NewReader("3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"), chunkedConfig{decodedLength: 7}), []byte("abcdefg")); err != nil {
		t.Fatal(err)
	}
}

// chunkGenerator writes an aws-chunked encoding of size bytes on the fly,
// with signatures when s is set, reusing one chunk of data: a body of any
// size costs it one chunk of memory.
type chunkGenerator struct {
	s       *chunkSigner
	data    []byte // one chunk
	left    int64
	pending [][]byte
	ended   bool
}

func newChunkGenerator(s *chunkSigner, size int64, chunk int) *chunkGenerator {
	data := make([]byte, chunk)
	for i := range data {
		data[i] = byte(i * 7)
	}
	return &chunkGenerator{s: s, data: data, left: size}
}

func (g *chunkGenerator) header(data []byte) []byte {
	h := strconv.AppendInt(nil, int64(len(data)), 16)
	if g.s != nil {
		sum := sha256.Sum256(data)
		g.s.nextChunk(sum[:], nil)
		h = append(append(h, chunkSignatureExt...), g.s.prev[:]...)
	}
	return append(h, '\r', '\n')
}

func (g *chunkGenerator) Read(p []byte) (int, error) {
	for len(g.pending) == 0 {
		switch {
		case g.left > 0:
			d := g.data[:min(int64(len(g.data)), g.left)]
			g.left -= int64(len(d))
			g.pending = [][]byte{g.header(d), d, []byte("\r\n")}
		case !g.ended:
			g.ended = true
			g.pending = [][]byte{g.header(nil), []byte("\r\n")}
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, g.pending[0])
	if g.pending[0] = g.pending[0][n:]; len(g.pending[0]) == 0 {
		g.pending = g.pending[1:]
	}
	return n, nil
}

// TestChunkedStreamsLargeBody decodes 64 MiB, signed and unsigned, and
// checks that the decoder did not hold the body: it allocates a small
// fraction of the payload (what it allocates does not grow with the size).
func TestChunkedStreamsLargeBody(t *testing.T) {
	const size = 64 << 20
	const seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	for _, signed := range []bool{false, true} {
		var gs, ds *chunkSigner
		if signed {
			gs, ds = exampleSigner(seed), exampleSigner(seed)
		}
		gen := newChunkGenerator(gs, size, 1<<20)
		cr := newChunkedReader(gen, chunkedConfig{signer: ds, decodedLength: size})
		buf := make([]byte, 32<<10)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var n int64
		for {
			m, err := cr.Read(buf)
			n += int64(m)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		if n != size {
			t.Fatalf("decoded %d bytes", n)
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("signed=%v: %d bytes allocated to decode %d", signed, alloc, size)
		if alloc > 4<<20 {
			t.Fatalf("signed=%v: %d bytes allocated to decode %d", signed, alloc, size)
		}
	}
}
