package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
)

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkServicePut is a PutObject through a real single-node Service:
// ingest (MD5 and the default CRC64NVME), chunks fsynced when not inline,
// the command proposed to Dragonboat, its Raft log entry fsynced and
// applied to Badger. What is left out is HTTP and SigV4 (s3api's
// benchmarks). 8 concurrent writers overwrite a ring of 256 keys, as the
// system benchmark does; cpu-ms/op is the whole process's CPU per PUT,
// the figure to compare between builds (the machine's load moves ns/op).
func BenchmarkServicePut(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			n := gatewaytest.NewNode(b, gatewaytest.Config(b))
			s := n.Service()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			if _, err := s.CreateBucket(ctx, gateway.CreateBucketInput{Name: "bench"}); err != nil {
				b.Fatal(err)
			}
			body := make([]byte, size)
			rand.NewChaCha8([32]byte{4}).Read(body)
			b.SetBytes(int64(size))
			b.SetParallelism(4) // x GOMAXPROCS (2) = 8 writers
			start := processCPU()
			var next atomicCounter
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					key := fmt.Sprintf("k%03d", next.add()%256)
					_, err := s.PutObject(ctx, &gateway.PutObjectInput{Bucket: "bench", Key: key, Body: bytes.NewReader(body), Size: int64(size)})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64((processCPU()-start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) add() int64 { return c.n.Add(1) - 1 }

// BenchmarkServicePutAuthorized is BenchmarkServicePut/4KiB as a request
// signed by a scoped key or a user runs it: the bucket read that
// authorizes it (ObjectAccess) first, then the PutObject. "two-reads"
// is the write reading the bucket's default encryption again (as before
// PutObjectInput.Read); "one-read" has the authorization's read fetch
// it and the write take it from there.
func BenchmarkServicePutAuthorized(b *testing.B) {
	for _, fold := range []bool{false, true} {
		name := "two-reads"
		if fold {
			name = "one-read"
		}
		b.Run(name, func(b *testing.B) {
			n := gatewaytest.NewNode(b, gatewaytest.Config(b))
			s := n.Service()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			if _, err := s.CreateBucket(ctx, gateway.CreateBucketInput{Name: "bench"}); err != nil {
				b.Fatal(err)
			}
			body := make([]byte, 4<<10)
			rand.NewChaCha8([32]byte{4}).Read(body)
			b.SetBytes(int64(len(body)))
			b.SetParallelism(4)
			start := processCPU()
			var next atomicCounter
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					key := fmt.Sprintf("k%03d", next.add()%256)
					bk, _, err := s.ObjectAccess(ctx, gateway.GetObjectInput{Bucket: "bench", Encryption: fold})
					if err != nil {
						b.Error(err)
						return
					}
					in := &gateway.PutObjectInput{Bucket: "bench", Key: key, Body: bytes.NewReader(body), Size: int64(len(body))}
					if fold {
						in.Read = bk
					}
					if _, err := s.PutObject(ctx, in); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64((processCPU()-start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
