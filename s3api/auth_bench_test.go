package s3api

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// Benchmarks of authenticating and reading a request: the cost the
// front end adds to every S3 call.

var benchNow = time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)

// drain reads a body to its end with a handler-sized buffer.
func drain(b *testing.B, r io.Reader, buf []byte) {
	for {
		_, err := r.Read(buf)
		if err == io.EOF {
			return
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// benchPut authenticates req and reads its body in a loop.
func benchPut(b *testing.B, req *AuthRequest, body []byte, payload int) {
	a := testAuthenticator("us-east-1", benchNow)
	buf := make([]byte, 128<<10)
	b.SetBytes(int64(payload))
	b.ReportAllocs()
	for b.Loop() {
		r := *req
		r.Body = bytes.NewReader(body)
		res, err := a.Authenticate(&r)
		if err != nil {
			b.Fatal(err)
		}
		drain(b, res.Body, buf)
	}
}

// BenchmarkPutSHA256 is a 1 MiB PUT signed with its literal SHA-256 (what
// the aws CLI and boto3 send over plain HTTP).
func BenchmarkPutSHA256(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	req := &AuthRequest{Method: "PUT", Host: "127.0.0.1:9000", RawPath: "/bucket/some/key.bin", ContentLength: int64(len(data)),
		Header: header("Content-Type", "application/octet-stream", "X-Amz-Content-Sha256", sha256Hex(data), "X-Amz-Meta-A", "b")}
	signHeaderV4(req, benchNow, "us-east-1")
	benchPut(b, req, data, len(data))
}

// BenchmarkPutStreamingSigned is a 1 MiB PUT in signed 64 KiB aws-chunked
// chunks (what minio-go sends over plain HTTP).
func BenchmarkPutStreamingSigned(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	req := &AuthRequest{Method: "PUT", Host: "127.0.0.1:9000", RawPath: "/bucket/some/key.bin", ContentLength: -1,
		Header: header("Content-Encoding", "aws-chunked", "X-Amz-Content-Sha256", streamingPayload,
			"X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)))}
	signHeaderV4(req, benchNow, "us-east-1")
	p, _ := parseAuthorization(req.Header.Get("Authorization"))
	s := newChunkSigner(signingKey(exampleSecret, p.cred.date, "us-east-1"), benchNow.Format(iso8601Basic), p.cred.scope(), p.signature)
	body := signedChunks(s, data, []int{64 << 10, 64 << 10, 64 << 10, 64 << 10, 64 << 10, 64 << 10, 64 << 10, 64 << 10,
		64 << 10, 64 << 10, 64 << 10, 64 << 10, 64 << 10, 64 << 10, 64 << 10})
	benchPut(b, req, body, len(data))
}

// BenchmarkPutUnsignedTrailer is a 1 MiB PUT as
// STREAMING-UNSIGNED-PAYLOAD-TRAILER (what the aws CLI sends over HTTPS).
func BenchmarkPutUnsignedTrailer(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	req := &AuthRequest{Method: "PUT", Host: "127.0.0.1:9000", RawPath: "/bucket/some/key.bin", ContentLength: -1,
		Header: header("Content-Encoding", "aws-chunked", "X-Amz-Content-Sha256", streamingUnsignedTrailer,
			"X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)), "X-Amz-Trailer", "x-amz-checksum-crc32")}
	signHeaderV4(req, benchNow, "us-east-1")
	body := append([]byte(strconv.FormatInt(int64(len(data)), 16)+"\r\n"), data...)
	body = append(body, "\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"...)
	benchPut(b, req, body, len(data))
}

// BenchmarkGet is a GET without a body: the fixed cost of SigV4.
func BenchmarkGet(b *testing.B) {
	req := &AuthRequest{Method: "GET", Host: "127.0.0.1:9000", RawPath: "/bucket/some/key.bin", RawQuery: "versionId=3&partNumber=1",
		Header: header("Range", "bytes=0-99", "X-Amz-Content-Sha256", emptySHA256)}
	signHeaderV4(req, benchNow, "us-east-1")
	benchPut(b, req, nil, 0)
}

// BenchmarkPresignedGet is a GET on a SigV4 presigned URL.
func BenchmarkPresignedGet(b *testing.B) {
	req := &AuthRequest{Method: "GET", Host: "127.0.0.1:9000", RawPath: "/bucket/some/key.bin", Header: http.Header{}}
	presignV4(req, benchNow, 3600, "host", nil)
	benchPut(b, req, nil, 0)
}
