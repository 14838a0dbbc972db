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

// openLarge opens n large streams hashed with crypto/md5 and closes them
// at the end of the test.
func openLarge(t *testing.T, n int) {
	t.Helper()
	big := make([]byte, 128<<10)
	for range n {
		m, _ := checksum.NewMultiMode("", checksum.MD5Std)
		m.Write(big)
		t.Cleanup(m.Close)
	}
}

// TestMD5ChoiceByLoad checks when md5-simd is chosen: never for a small
// first write, and for a large one only with enough large streams under
// way and md5-simd rounds full enough of late.
func TestMD5ChoiceByLoad(t *testing.T) {
	if !checksum.SIMDMD5() {
		t.Skip("no AVX2/AVX-512 on this CPU")
	}
	big := make([]byte, 128<<10)
	want := md5.Sum(big)
	tests := []struct {
		name   string
		others int // large streams already under way
		lanes  float64
		first  int
		simd   bool
	}{
		{"small body", checksum.SIMDMinStreams, checksum.SIMDMinLanes + 4, 4 << 10, false},
		{"few streams", checksum.SIMDMinStreams - 2, checksum.SIMDMinLanes + 4, len(big), false},
		{"thin rounds", checksum.SIMDMinStreams, checksum.SIMDMinLanes - 0.5, len(big), false},
		{"busy", checksum.SIMDMinStreams - 1, checksum.SIMDMinLanes, len(big), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			openLarge(t, tt.others)
			restore := checksum.SetLanes(tt.lanes)
			defer restore()
			m, _ := checksum.NewMulti("")
			defer m.Close()
			m.Write(big[:tt.first])
			if checksum.UsesSIMD(m) != tt.simd {
				t.Fatalf("md5-simd %v, want %v", checksum.UsesSIMD(m), tt.simd)
			}
			m.Write(big[tt.first:])
			if got := m.Digests().MD5; !bytes.Equal(got, want[:]) {
				t.Fatalf("md5 %x, want %x", got, want)
			}
		})
	}
}

// TestMD5LanesFollowLoad checks the average the choice follows: md5-simd
// writes fed one at a time bring it below the threshold, many at once
// above it.
func TestMD5LanesFollowLoad(t *testing.T) {
	if !checksum.SIMDMD5() {
		t.Skip("no AVX2/AVX-512 on this CPU")
	}
	big := make([]byte, 256<<10)
	hash := func(streams int) {
		var wg sync.WaitGroup
		for range streams {
			wg.Go(func() {
				for range 8 {
					m, _ := checksum.NewMultiMode("", checksum.MD5SIMD)
					writeIn(m, big, 128<<10)
					m.Digests()
					m.Close()
				}
			})
		}
		wg.Wait()
	}
	restore := checksum.SetLanes(checksum.SIMDMinLanes + 4)
	defer restore()
	hash(1)
	one := checksum.Lanes()
	if one >= checksum.SIMDMinLanes {
		t.Fatalf("%.1f lanes per round on average after streams hashed one at a time", one)
	}
	// How full the rounds of 16 streams get depends on the scheduler (2
	// cores shared with other work): they must be fuller than one stream's.
	hash(16)
	if l := checksum.Lanes(); l <= one {
		t.Fatalf("%.1f lanes per round on average after 16 streams hashed at once, %.1f after one", l, one)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMD5 is the MD5 (and CRC64NVME, the default checksum) of 1 MiB
// bodies written in 256 KiB pieces as ingest does, by 1 to 32 streams at
// once, with crypto/md5, md5-simd, and the choice by load (from how many
// streams md5-simd pays depends on the CPU). Run with
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
	for _, streams := range []int{1, 2, 4, 8, 16, 32} {
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
