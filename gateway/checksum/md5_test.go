package checksum_test

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway/checksum"
)

// writeIn writes p to m in pieces of at most n bytes.
func writeIn(m *checksum.Multi, p []byte, n int) {
	for len(p) > 0 {
		k := min(n, len(p))
		m.Write(p[:k])
		p = p[k:]
	}
}

// TestMD5Implementations checks that both MD5 implementations, alone and
// with many streams hashed at once (all md5-simd lanes busy, streams
// ending at different times), give crypto/md5's digest, and that a Multi
// is reusable after Close.
func TestMD5Implementations(t *testing.T) {
	if !checksum.SIMDMD5() {
		t.Log("no AVX2/AVX-512: md5-simd is never chosen; checking crypto/md5 only")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	sizes := []int{0, 1, 63, 64, 65, 100 << 10, 256 << 10, 1<<20 + 17, 3<<20 + 5}
	bodies := make([][]byte, len(sizes))
	for i, n := range sizes {
		bodies[i] = make([]byte, n)
		for j := range bodies[i] {
			bodies[i][j] = byte(rng.Uint32())
		}
	}
	for _, mode := range []int{checksum.MD5Std, checksum.MD5SIMD, checksum.MD5ByLoad} {
		t.Run(fmt.Sprintf("mode%d", mode), func(t *testing.T) {
			const streams = 20 // more than md5-simd's 16 lanes
			var wg sync.WaitGroup
			errs := make(chan error, streams)
			for s := range streams {
				wg.Add(1)
				go func() {
					defer wg.Done()
					m, _ := checksum.NewMultiMode("CRC32C", mode)
					defer m.Close()
					// Each stream hashes every body, reusing m, in
					// pieces of a stream-specific size.
					piece := []int{1 << 10, 32 << 10, 100 << 10, 256 << 10, 1 << 20}[s%5]
					for i := range bodies {
						b := bodies[(i+s)%len(bodies)]
						writeIn(m, b, piece)
						want := md5.Sum(b)
						if got := m.Digests().MD5; !bytes.Equal(got, want[:]) {
							errs <- fmt.Errorf("stream %d, %d bytes in %d-byte writes: md5 %x, want %x", s, len(b), piece, got, want)
							return
						}
						m.Reset()
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if n := checksum.LargeStreams(); n != 0 {
				t.Errorf("%d large streams still counted after every Multi closed", n)
			}
		})
	}
}

// TestMD5ChoiceByLoad checks when md5-simd is chosen: never for a small
// first write, and for a large one only with enough large streams under
// way.
func TestMD5ChoiceByLoad(t *testing.T) {
	if !checksum.SIMDMD5() {
		t.Skip("no AVX2/AVX-512 on this CPU")
	}
	big := make([]byte, 128<<10)
	var ms []*checksum.Multi
	defer func() {
		for _, m := range ms {
			m.Close()
		}
	}()
	small, _ := checksum.NewMulti("")
	small.Write(big[:4<<10])
	ms = append(ms, small)
	if checksum.UsesSIMD(small) {
		t.Fatal("a 4 KiB first write chose md5-simd")
	}
	for i := range checksum.SIMDMinStreams + 1 {
		m, _ := checksum.NewMulti("")
		m.Write(big)
		ms = append(ms, m)
		if want := i+1 >= checksum.SIMDMinStreams; checksum.UsesSIMD(m) != want {
			t.Fatalf("large stream %d of %d under way: md5-simd %v, want %v", i+1, i+1, checksum.UsesSIMD(m), want)
		}
	}
	for _, m := range ms[1:] {
		want := md5.Sum(big)
		if got := m.Digests().MD5; !bytes.Equal(got, want[:]) {
			t.Fatalf("md5 %x, want %x", got, want)
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMD5 is the MD5 (and CRC64NVME, the default checksum) of 1 MiB
// bodies written in 256 KiB pieces as ingest does, by one stream and by 8
// at once, with crypto/md5, md5-simd, and the choice by load. Run with
//
//	go test ./gateway/checksum -run '^$' -bench MD5 -benchtime 2s
//
// cpu-us/op is the process CPU per body, the figure to compare.
func BenchmarkMD5(b *testing.B) {
	body := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{5}).Read(body)
	modes := []struct {
		name string
		mode int
	}{{"std", checksum.MD5Std}, {"simd", checksum.MD5SIMD}, {"byload", checksum.MD5ByLoad}}
	for _, streams := range []int{1, 8, 16, 32} {
		for _, md := range modes {
			b.Run(fmt.Sprintf("streams%d/%s", streams, md.name), func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				start := cpuTime()
				hashOne := func() {
					m, _ := checksum.NewMultiMode("CRC64NVME", md.mode)
					writeIn(m, body, 256<<10)
					m.Digests()
					m.Close()
				}
				if streams == 1 {
					for b.Loop() {
						hashOne()
					}
				} else {
					b.SetParallelism(streams / 2) // x GOMAXPROCS (2)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							hashOne()
						}
					})
				}
				cpu := cpuTime() - start
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/op")
				b.ReportMetric(math.Round(float64(len(body))*float64(b.N)/cpu.Seconds()/1e6), "MB/cpu-s")
			})
		}
	}
}
