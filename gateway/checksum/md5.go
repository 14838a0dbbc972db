package checksum

import (
	"crypto/md5"
	"hash"
	"sync"
	"sync/atomic"
	"time"

	md5simd "github.com/minio/md5-simd"
	"golang.org/x/sys/cpu"
)

// MD5 of bodies (the ETag) is the one hash every upload pays for every
// byte, and crypto/md5 runs one stream at a time (about 500-700 MB/s per
// core). When several large bodies are hashed at once, they share one
// github.com/minio/md5-simd server instead: it hashes up to 16 streams in
// the lanes of one AVX-512 (or 2x8 on AVX2) register set, so concurrent
// uploads cost a fraction of the CPU per byte. It gains nothing for one or
// two streams (it then runs the same scalar code as crypto/md5, plus a copy
// and hand-offs to its goroutine), so a stream uses it only when its first
// write is large and at least simdMinStreams large streams are being hashed
// at that moment, itself included; small bodies and lone uploads keep
// crypto/md5. The digests are the same either way.
//
// md5-simd's server hashes whatever lanes have data the moment it is free,
// and on this kind of CPU (AMD Zen, slow vector gathers) a round costs
// about what 3 to 4 scalar lanes do: uploads whose bytes trickle in from
// the network would mostly get rounds of one or two lanes, which cost more
// than crypto/md5. So writes to md5-simd pass a gate that lets them in
// together: a write waits until simdBatch writes (or all the md5-simd
// streams, if fewer) are waiting, or at most simdWait.

const (
	// simdMinWrite is the smallest first write that makes a stream large
	// (md5-simd hashes each lane 32 KiB at a time; inline bodies are at
	// most 64 KiB and are hashed in one write).
	simdMinWrite = 64<<10 + 1
	// simdMinStreams is how many large streams must be under way for a new
	// one to use md5-simd (it runs fewer than 3 lanes with scalar code).
	simdMinStreams = 6
	// simdBatch is how many writes the gate lets into md5-simd together.
	simdBatch = 8
	// simdWait bounds how long a write waits at the gate.
	simdWait = 500 * time.Microsecond
	// simdIdleMax bounds the md5-simd hashers kept for reuse. md5-simd
	// v1.1.2 never forgets a closed hasher (its server keeps it in a map it
	// walks on every round), so hashers are reset and reused rather than
	// closed; only a burst beyond this many concurrent streams closes some.
	simdIdleMax = 64
)

var md5simdState struct {
	once sync.Once
	srv  md5simd.Server // nil when the CPU has neither AVX-512 nor AVX2
	idle chan md5simd.Hasher
}

// largeStreams counts the large MD5 streams under way, either kind;
// simdStreams those of them on md5-simd.
var largeStreams, simdStreams atomic.Int64

// simdGate lets writes into md5-simd in batches.
var simdGate gate

type gate struct {
	mu      sync.Mutex
	waiters []chan struct{}
	timer   *time.Timer
	gen     uint64 // bumped by each release, so a stale timer does nothing
}

// enter returns once the caller's write may go to md5-simd.
func (g *gate) enter() {
	want := min(simdBatch, int(simdStreams.Load()))
	g.mu.Lock()
	if len(g.waiters)+1 >= want {
		g.releaseLocked()
		g.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	g.waiters = append(g.waiters, ch)
	if len(g.waiters) == 1 {
		gen := g.gen
		g.timer = time.AfterFunc(simdWait, func() {
			g.mu.Lock()
			if g.gen == gen {
				g.releaseLocked()
			}
			g.mu.Unlock()
		})
	}
	g.mu.Unlock()
	<-ch
}

func (g *gate) releaseLocked() {
	for _, ch := range g.waiters {
		close(ch)
	}
	clear(g.waiters)
	g.waiters = g.waiters[:0]
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	g.gen++
}

// simdServer returns the process's md5-simd server, or nil if this CPU
// would only get md5-simd's fallback to crypto/md5.
func simdServer() md5simd.Server {
	s := &md5simdState
	s.once.Do(func() {
		if !SIMDMD5() {
			return
		}
		s.srv = md5simd.NewServer()
		s.idle = make(chan md5simd.Hasher, simdIdleMax)
	})
	return s.srv
}

// SIMDMD5 reports whether this CPU has the vector instructions md5-simd
// uses (AVX-512F and DQ, or AVX2); without them only crypto/md5 is used.
// (md5-simd makes the same check and otherwise falls back to crypto/md5
// behind its own hand-offs.)
func SIMDMD5() bool { return cpu.X86.HasAVX2 || (cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ) }

func getSIMDHasher() md5simd.Hasher {
	srv := simdServer()
	if srv == nil {
		return nil
	}
	select {
	case h := <-md5simdState.idle:
		return h
	default:
		return srv.NewHash()
	}
}

func putSIMDHasher(h md5simd.Hasher) {
	h.Reset()
	select {
	case md5simdState.idle <- h:
	default:
		h.Close()
	}
}

// md5Stream is the MD5 of one body: crypto/md5 until the first write
// decides, md5-simd from then on if that write chose it.
type md5Stream struct {
	h       hash.Hash
	simd    md5simd.Hasher // h, when md5-simd was chosen
	decided bool
	large   bool // counted in largeStreams
	// mode forces the choice (tests and benchmarks): 0 by load, 1 always
	// crypto/md5, 2 always md5-simd when available.
	mode int
}

const (
	md5ByLoad = iota
	md5Std
	md5SIMD
)

func (s *md5Stream) Write(p []byte) {
	if !s.decided {
		s.decide(len(p))
	}
	if s.simd != nil && len(p) >= simdMinWrite {
		simdGate.enter()
	}
	s.h.Write(p)
}

func (s *md5Stream) decide(n int) {
	s.decided = true
	if n >= simdMinWrite {
		s.large = true
		under := largeStreams.Add(1)
		if s.mode == md5SIMD || (s.mode == md5ByLoad && under >= simdMinStreams) {
			if h := getSIMDHasher(); h != nil {
				s.simd, s.h = h, h
				simdStreams.Add(1)
				return
			}
		}
	}
	s.h = md5.New()
}

func (s *md5Stream) Sum() []byte {
	if !s.decided {
		return md5.New().Sum(nil)
	}
	return s.h.Sum(nil)
}

func (s *md5Stream) Reset() {
	s.release()
}

// release ends the stream: it leaves the count of large ones and hands an
// md5-simd hasher back for reuse. The next write decides again.
func (s *md5Stream) release() {
	if s.large {
		largeStreams.Add(-1)
		s.large = false
	}
	if s.simd != nil {
		simdStreams.Add(-1)
		putSIMDHasher(s.simd)
		s.simd = nil
	}
	s.h, s.decided = nil, false
}
