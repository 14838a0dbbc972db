package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/forkstore/forkstore/gateway/checksum"
)

const testChunk = 64 << 10

func testIngestOptions() IngestOptions {
	return IngestOptions{ChunkSize: testChunk, InlineMax: 1000, MaxSize: 10 << 20, Algorithm: "CRC32C"}
}

// checkIngested verifies a result against the body it came from: size,
// layout, digests, and the bytes read back.
func checkIngested(t *testing.T, s *ChunkStore, res *IngestResult, body []byte, opts IngestOptions) {
	t.Helper()
	if res.Size != int64(len(body)) {
		t.Fatalf("size %d, want %d", res.Size, len(body))
	}
	inline := len(body) <= int(opts.InlineMax)
	if inline {
		if len(res.Chunks) != 0 || !bytes.Equal(res.Inline, body) {
			t.Fatalf("want inline body, got %d inline bytes and %d chunks", len(res.Inline), len(res.Chunks))
		}
	} else {
		if res.Inline != nil {
			t.Fatalf("%d inline bytes for a %d-byte body", len(res.Inline), len(body))
		}
		wantChunks := (len(body) + int(opts.ChunkSize) - 1) / int(opts.ChunkSize)
		if len(res.Chunks) != wantChunks {
			t.Fatalf("%d chunks, want %d", len(res.Chunks), wantChunks)
		}
		for i, c := range res.Chunks {
			if i < len(res.Chunks)-1 && c.Size != opts.ChunkSize {
				t.Fatalf("chunk %d has %d bytes", i, c.Size)
			}
			lo := int64(i) * opts.ChunkSize
			if c.CRC32C != crc32.Checksum(body[lo:lo+c.Size], castagnoli) {
				t.Fatalf("chunk %d crc32c", i)
			}
		}
	}
	md := md5.Sum(body)
	if !bytes.Equal(res.Digests.MD5, md[:]) {
		t.Fatal("md5 differs")
	}
	if opts.Algorithm != "" {
		h, _ := checksum.New(opts.Algorithm)
		h.Write(body)
		if res.Digests.Algorithm != checksum.Canonical(opts.Algorithm) || !bytes.Equal(res.Digests.Sum, h.Sum(nil)) {
			t.Fatalf("%s digest differs", opts.Algorithm)
		}
	}
	r := s.NewObjectReader(res.Inline, res.Chunks, 0, res.Size)
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
}

// PutObject bodies of every interesting size, declared (Content-Length)
// or not (Transfer-Encoding: chunked), through readers that return short
// reads.
func TestIngestRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 999, 1000, 1001, testChunk - 1, testChunk, testChunk + 1, 3*testChunk + 17, 300 << 10}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"plain", func(r io.Reader) io.Reader { return r }},
		{"half", iotest.HalfReader},
		{"data+eof", iotest.DataErrReader},
	}
	for _, size := range sizes {
		body := randBytes(uint64(size), size)
		for _, known := range []bool{true, false} {
			for _, rd := range readers {
				t.Run(fmt.Sprintf("size=%d/known=%v/%s", size, known, rd.name), func(t *testing.T) {
					s := openTestChunkStore(t)
					declared := int64(size)
					if !known {
						declared = -1
					}
					opts := testIngestOptions()
					res, err := s.Ingest(t.Context(), rd.wrap(bytes.NewReader(body)), declared, opts)
					if err != nil {
						t.Fatal(err)
					}
					checkIngested(t, s, res, body, opts)
					if ids := storedIDs(t, s); len(ids) != len(res.Chunks) {
						t.Fatalf("%d chunk files for %d chunks", len(ids), len(res.Chunks))
					}
					s.Discard(res.Chunks)
					assertEmpty(t, s)
				})
			}
		}
	}
}

// A chunked body's CRC32C is combined from its chunks' CRC32Cs; with no
// inline limit (multipart parts) an empty body of unknown size has no
// chunks at all, and its CRC32C is that of nothing.
func TestIngestCRC32CFromChunks(t *testing.T) {
	for _, size := range []int{0, 1, testChunk, 5*testChunk + 3} {
		for _, declared := range []int64{int64(size), -1} {
			t.Run(fmt.Sprintf("size=%d/declared=%d", size, declared), func(t *testing.T) {
				s := openTestChunkStore(t)
				body := randBytes(uint64(size)+9, size)
				opts := testIngestOptions()
				opts.InlineMax = 0
				res, err := s.Ingest(t.Context(), bytes.NewReader(body), declared, opts)
				if err != nil {
					t.Fatal(err)
				}
				checkIngested(t, s, res, body, opts)
				s.Discard(res.Chunks)
			})
		}
	}
}

func TestIngestOptionsDefaults(t *testing.T) {
	s := openTestChunkStore(t)
	// InlineMax 0 (multipart parts): never inline, even for one byte.
	res, err := s.Ingest(t.Context(), bytes.NewReader([]byte("x")), 1, IngestOptions{})
	if err != nil || len(res.Chunks) != 1 || res.Inline != nil || res.Digests.Algorithm != "" || res.Digests.Sum != nil {
		t.Fatalf("one-byte part: %+v, %v", res, err)
	}
	// An empty part has no data at all.
	res, err = s.Ingest(t.Context(), bytes.NewReader(nil), -1, IngestOptions{})
	if err != nil || len(res.Chunks) != 0 || len(res.Inline) != 0 || res.Size != 0 {
		t.Fatalf("empty part: %+v, %v", res, err)
	}
	// An InlineMax larger than the read buffer still inlines bodies of
	// unknown size up to it.
	body := randBytes(9, ingestBufSize+10)
	opts := IngestOptions{InlineMax: 1 << 20, Algorithm: "sha256"}
	res, err = s.Ingest(t.Context(), iotest.HalfReader(bytes.NewReader(body)), -1, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkIngested(t, s, res, body, opts)
	// The default chunk size is 4 MiB.
	body = randBytes(10, DefaultChunkSize+1)
	opts = IngestOptions{Algorithm: "crc64nvme"}
	res, err = s.Ingest(t.Context(), bytes.NewReader(body), int64(len(body)), opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.ChunkSize = DefaultChunkSize
	checkIngested(t, s, res, body, opts)
}

// IncompleteBody: the body is shorter, or longer, than Content-Length (or
// x-amz-decoded-content-length). Nothing may be left on disk.
func TestIngestWrongLengthLeavesNothing(t *testing.T) {
	tests := []struct {
		name     string
		actual   int
		declared int64
	}{
		{"inline short", 10, 11},
		{"inline long", 12, 11},
		{"empty declared one", 0, 1},
		{"one byte declared empty", 1, 0},
		{"chunked short by one", 3*testChunk + 5, 3*testChunk + 6},
		{"chunked short by chunks", testChunk, 4 * testChunk},
		{"chunked long by one", 3*testChunk + 7, 3*testChunk + 6},
		{"chunked long by chunks", 5 * testChunk, 2*testChunk + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTestChunkStore(t)
			body := randBytes(5, tt.actual)
			_, err := s.Ingest(t.Context(), bytes.NewReader(body), tt.declared, testIngestOptions())
			if !errors.Is(err, ErrIncompleteBody) {
				t.Fatalf("err = %v, want ErrIncompleteBody", err)
			}
			assertEmpty(t, s)
		})
	}
}

// EntityTooLarge: beyond MaxSize (5 GiB for a PUT), declared or streamed.
func TestIngestTooLarge(t *testing.T) {
	s := openTestChunkStore(t)
	opts := testIngestOptions()
	opts.MaxSize = 3*testChunk + 1
	body := randBytes(6, 4*testChunk)
	if _, err := s.Ingest(t.Context(), bytes.NewReader(body), int64(len(body)), opts); !errors.Is(err, ErrEntityTooLarge) {
		t.Fatalf("declared too large: %v", err)
	}
	if _, err := s.Ingest(t.Context(), bytes.NewReader(body), -1, opts); !errors.Is(err, ErrEntityTooLarge) {
		t.Fatalf("streamed too large: %v", err)
	}
	assertEmpty(t, s)
	// Exactly MaxSize is fine.
	res, err := s.Ingest(t.Context(), bytes.NewReader(body[:opts.MaxSize]), -1, opts)
	if err != nil || res.Size != opts.MaxSize {
		t.Fatalf("at the limit: %v", err)
	}
}

type authError struct{ code string }

func (e *authError) Error() string { return e.code }

// A body read error (for example a bad aws-chunked signature found by the
// authenticator mid-stream) reaches the caller unchanged.
func TestIngestReadErrorPassesThrough(t *testing.T) {
	for _, size := range []int{10, 2*testChunk + 3} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			s := openTestChunkStore(t)
			want := &authError{"SignatureDoesNotMatch"}
			body := io.MultiReader(bytes.NewReader(randBytes(7, size)), iotest.ErrReader(want))
			for _, declared := range []int64{int64(size) + 5, -1} {
				_, err := s.Ingest(t.Context(), body, declared, testIngestOptions())
				var ae *authError
				if !errors.As(err, &ae) || ae != want || err != error(want) {
					t.Fatalf("declared %d: err = %#v, want the reader's error", declared, err)
				}
				assertEmpty(t, s)
				body = io.MultiReader(bytes.NewReader(randBytes(7, size)), iotest.ErrReader(want))
			}
		})
	}
}

// cancelingReader cancels its context after n bytes.
type cancelingReader struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.n -= k; c.n <= 0 {
		c.cancel()
	}
	return k, err
}

func TestIngestCanceled(t *testing.T) {
	s := openTestChunkStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	body := randBytes(8, 10*testChunk)
	r := &cancelingReader{r: bytes.NewReader(body), n: 3 * testChunk, cancel: cancel}
	_, err := s.Ingest(ctx, r, int64(len(body)), testIngestOptions())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	assertEmpty(t, s)
}

func TestIngestUnknownAlgorithm(t *testing.T) {
	s := openTestChunkStore(t)
	opts := testIngestOptions()
	opts.Algorithm = "CRC16"
	if _, err := s.Ingest(t.Context(), bytes.NewReader(nil), 0, opts); !errors.Is(err, ErrMalformedRequest) {
		t.Fatalf("err = %v", err)
	}
}

func TestIngestConcurrent(t *testing.T) {
	s := openTestChunkStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			body := randBytes(uint64(100+i), 2*testChunk+i*1000)
			res, err := s.Ingest(context.Background(), bytes.NewReader(body), -1, testIngestOptions())
			if err != nil {
				errs <- err
				return
			}
			got, err := io.ReadAll(s.NewObjectReader(res.Inline, res.Chunks, 0, res.Size))
			if err != nil || !bytes.Equal(got, body) {
				errs <- fmt.Errorf("body %d read back wrong: %v", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
