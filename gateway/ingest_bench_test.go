package gateway

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway/checksum"
)

// Run with
//
//	go test ./gateway -run '^$' -bench 'Ingest|Hash' -benchtime 2s
//
// Besides wall-clock MB/s each benchmark reports the process CPU time per
// operation (cpu-ms/op) and the bytes ingested per CPU-second (MB/cpu-s),
// which stay meaningful on a shared machine.

func benchStore(b *testing.B) *ChunkStore {
	b.Helper()
	s, err := OpenChunkStore(filepath.Join(b.TempDir(), "chunks"))
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// cpuUsage is the process's CPU time so far: user and system.
type cpuUsage struct{ user, sys time.Duration }

func cpuTime() cpuUsage {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return cpuUsage{time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())}
}

// reportCPU reports CPU time per op since start for ops of size bytes,
// and the user part of it alone (hashing and copying; the system part is
// mostly writes and fsyncs, which the disk's other users move).
func reportCPU(b *testing.B, start cpuUsage, size int64) {
	now := cpuTime()
	user := now.user - start.user
	cpu := user + now.sys - start.sys
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(user.Microseconds())/1000/float64(b.N), "user-ms/op")
	b.ReportMetric(math.Round(float64(size)*float64(b.N)/cpu.Seconds()/1e6), "MB/cpu-s")
}

// sizeName names a body size for a sub-benchmark: 4KiB, 1MiB.
func sizeName(size int) string {
	if size < 1<<20 {
		return fmt.Sprintf("%dKiB", size>>10)
	}
	return fmt.Sprintf("%dMiB", size>>20)
}

// BenchmarkIngest is one PutObject's data path (MD5 + CRC64NVME, the
// default checksum, fsynced chunks), one request at a time.
func BenchmarkIngest(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20, 64 << 20} {
		b.Run(sizeName(size), func(b *testing.B) {
			s := benchStore(b)
			body := randBytes(1, size)
			opts := IngestOptions{InlineMax: DefaultInlineMax, Algorithm: "CRC64NVME"}
			b.SetBytes(int64(size))
			r := bytes.NewReader(body)
			start := cpuTime()
			for b.Loop() {
				r.Reset(body)
				res, err := s.Ingest(context.Background(), r, int64(size), opts)
				if err != nil {
					b.Fatal(err)
				}
				s.Discard(res.Chunks)
			}
			reportCPU(b, start, int64(size))
		})
	}
}

// BenchmarkIngestParallel is PUTs from 8 concurrent clients.
func BenchmarkIngestParallel(b *testing.B) {
	for _, size := range []int{1 << 20, 16 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			s := benchStore(b)
			body := randBytes(2, size)
			opts := IngestOptions{InlineMax: DefaultInlineMax, Algorithm: "CRC64NVME"}
			b.SetBytes(int64(size))
			b.SetParallelism(4) // x GOMAXPROCS (2) = 8 clients
			start := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				r := bytes.NewReader(body)
				for pb.Next() {
					r.Reset(body)
					res, err := s.Ingest(context.Background(), r, int64(size), opts)
					if err != nil {
						b.Error(err)
						return
					}
					s.Discard(res.Chunks)
				}
			})
			reportCPU(b, start, int64(size))
		})
	}
}

// BenchmarkHash is the CPU cost of the one-pass hashing alone.
func BenchmarkHash(b *testing.B) {
	body := randBytes(3, 1<<20)
	for _, alg := range []string{"", "CRC32C", "CRC64NVME", "SHA256"} {
		b.Run("md5+"+alg, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			start := cpuTime()
			for b.Loop() {
				m, _ := checksum.NewMulti(alg)
				m.Write(body)
				m.Digests()
			}
			reportCPU(b, start, int64(len(body)))
		})
	}
}
