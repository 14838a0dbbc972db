package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
	"github.com/forkstore/forkstore/meta"
)

// connWriter stands for s3api's connection over TLS: it takes the bytes
// and its ReadFrom copies a file through io.Copy's buffer, as s3api's
// does when the connection below (tls.Conn) has no sendfile.
type connWriter struct{ n int64 }

func (w *connWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

func (w *connWriter) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{w}, r)
}

// BenchmarkServiceGet1MiB is the server side of a GET of a 1 MiB object
// (GetObject), plain and SSE-S3, through a real single-node Service and
// its chunk store: the reader OpenObject returns is written the way the
// HTTP server writes a body (its WriteTo, into a 4 KiB bufio.Writer over
// the connection, as fasthttp does) to a connection without sendfile, as
// over HTTPS. What is left out is HTTP, SigV4 and TLS's own sealing.
// cpu-ms/op is the process's CPU per GET.
func BenchmarkServiceGet1MiB(b *testing.B) {
	for _, enc := range []bool{false, true} {
		name := "plain"
		if enc {
			name = "SSE-S3"
		}
		b.Run(name, func(b *testing.B) {
			cfg := gatewaytest.Config(b)
			withMasterKey(b, &cfg)
			s := gatewaytest.NewNode(b, cfg).Service()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			if _, err := s.CreateBucket(ctx, gateway.CreateBucketInput{Name: "bench"}); err != nil {
				b.Fatal(err)
			}
			const size = 1 << 20
			body := make([]byte, size)
			rand.Read(body)
			in := &gateway.PutObjectInput{Bucket: "bench", Key: "k", Body: bytes.NewReader(body), Size: size}
			if enc {
				in.Object.SSE.Algorithm = meta.SSEAES256
			}
			obj, err := s.PutObject(ctx, in)
			if err != nil {
				b.Fatal(err)
			}
			conn := &connWriter{}
			bw := bufio.NewWriterSize(conn, 4096)
			b.SetBytes(size)
			b.ReportAllocs()
			start := processCPU()
			for b.Loop() {
				rc, err := s.OpenObject(ctx, obj, 0, size)
				if err != nil {
					b.Fatal(err)
				}
				n, err := rc.(io.WriterTo).WriteTo(bw)
				if err != nil || n != size {
					b.Fatalf("wrote %d: %v", n, err)
				}
				bw.Flush()
				rc.Close()
			}
			b.ReportMetric(float64((processCPU()-start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
