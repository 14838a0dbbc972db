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
// uploads cost a fraction of the CPU per byte. The digests are the same.
//
// md5-simd pays only with many lanes per round. Its server hashes
// whatever lanes have data the moment it is free, 32 KiB per lane and
// round, and runs rounds of one or two lanes with the scalar code
// crypto/md5 uses, plus a copy and hand-offs; and on this kind of CPU
// (AMD Zen, slow vector gathers) a 16-lane round costs about what 3 to 4
// scalar lanes do. So:
//   - a stream uses md5-simd only when its first write is large, at least
//     simdMinStreams large streams are under way, itself included, and
//     md5-simd's rounds have had at least simdMinLanes lanes on average of
//     late. Uploads whose bytes trickle in, or whose time goes to fsync,
//     rarely hash at the same moment: then rounds are thin, new streams
//     keep crypto/md5, and md5-simd is tried again only briefly now and
//     then. Small bodies and lone uploads always keep crypto/md5.
//   - writes do not go to md5-simd from each upload's goroutine (the server
//     would run as soon as the first block arrived, with one lane) but
//     through one feeder goroutine: it waits up to simdWait for simdBatch
//     writes (or as many as there are md5-simd streams), then hands the
//     server 32 KiB of each in turn, so that every round finds all of them
//     queued. A write returns once its bytes are copied into md5-simd.

const (
	// simdMinWrite is the smallest first write that makes a stream large
	// (inline bodies are at most 64 KiB and are hashed in one write).
	simdMinWrite = 64<<10 + 1
	// simdMinStreams is how many large streams must be under way for a new
	// one to use md5-simd.
	simdMinStreams = 6
	// simdMinLanes is the fewest lanes per round, on average, for which
	// md5-simd stays the choice.
	simdMinLanes = 4
	// While rounds are thinner, md5-simd is tried again for simdProbeFor
	// every simdProbeEvery.
	simdProbeEvery = 500 * time.Millisecond
	simdProbeFor   = 20 * time.Millisecond
	// simdBatch is how many writes the feeder waits for.
	simdBatch = 8
	// simdWait bounds how long the feeder waits for them.
	simdWait = 500 * time.Microsecond
	// simdPiece is what md5-simd hashes per lane and round.
	simdPiece = 32 << 10
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
	jobs chan *simdJob
}

// largeStreams counts the large MD5 streams under way, either kind;
// simdStreams those of them on md5-simd.
var largeStreams, simdStreams atomic.Int64

// lanes is the average number of writes per feeder pass (lanes per
// md5-simd round) over about the last 16 passes, times 256 (fixed point).
// It starts at simdBatch. probeAt is when (unix nanoseconds) md5-simd is
// next tried again after lanes fell below simdMinLanes.
var lanes, probeAt atomic.Int64

func init() { lanes.Store(simdBatch << 8) }

// sampleLanes folds one pass of n writes into lanes. (Concurrent updates
// cannot happen: only the feeder calls it.)
func sampleLanes(n int) {
	avg := lanes.Load()
	lanes.Store(avg + (int64(n)<<8-avg)/16)
}

// simdPays reports whether a new large stream should use md5-simd, now
// that under large streams are under way.
func simdPays(under int64) bool {
	if under < simdMinStreams {
		return false
	}
	if lanes.Load() >= simdMinLanes<<8 {
		return true
	}
	// Rounds were thin of late; try again for a moment now and then, in
	// case the load has changed.
	now := time.Now().UnixNano()
	at := probeAt.Load()
	switch {
	case at == 0:
		probeAt.CompareAndSwap(0, now+int64(simdProbeEvery))
		return false
	case now < at:
		return false
	case now < at+int64(simdProbeFor):
		return true
	default:
		probeAt.CompareAndSwap(at, now+int64(simdProbeEvery))
		return false
	}
}

// simdServer returns the process's md5-simd server, or nil if this CPU
// would only get md5-simd's fallback to crypto/md5. The first call starts
// it and the feeder; both live as long as the process.
func simdServer() md5simd.Server {
	s := &md5simdState
	s.once.Do(func() {
		if !SIMDMD5() {
			return
		}
		s.srv = md5simd.NewServer()
		s.idle = make(chan md5simd.Hasher, simdIdleMax)
		s.jobs = make(chan *simdJob, simdIdleMax)
		go feed(s.jobs)
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

// simdJob is one write handed to the feeder.
type simdJob struct {
	h    md5simd.Hasher
	p    []byte
	done chan struct{} // receives once p has been copied into md5-simd
}

// feed writes the jobs' bytes to their hashers, simdPiece of each in turn.
func feed(jobs <-chan *simdJob) {
	var (
		active []*simdJob
		timer  = time.NewTimer(time.Hour)
	)
	timer.Stop()
	for {
		if len(active) == 0 {
			active = append(active, <-jobs)
			// Wait for the others of a batch, briefly.
			want := min(simdBatch, int(simdStreams.Load()))
			timer.Reset(simdWait)
		wait:
			for len(active) < want {
				select {
				case j := <-jobs:
					active = append(active, j)
				case <-timer.C:
					break wait
				}
			}
			timer.Stop()
		}
		sampleLanes(len(active))
		for i := 0; i < len(active); {
			j := active[i]
			k := min(len(j.p), simdPiece)
			j.h.Write(j.p[:k])
			if j.p = j.p[k:]; len(j.p) > 0 {
				i++
				continue
			}
			j.done <- struct{}{}
			active[i] = active[len(active)-1]
			active[len(active)-1] = nil
			active = active[:len(active)-1]
		}
		// Writes that arrived meanwhile join the next pass.
	more:
		for {
			select {
			case j := <-jobs:
				active = append(active, j)
			default:
				break more
			}
		}
	}
}

// md5Stream is the MD5 of one body: crypto/md5 or md5-simd, chosen by its
// first write.
type md5Stream struct {
	h       hash.Hash
	simd    *simdJob // when md5-simd was chosen: its hasher (h) and job
	decided bool
	large   bool // counted in largeStreams
	// mode forces the choice (tests and benchmarks).
	mode int
}

// md5Stream modes: the choice by load, or forced.
const (
	md5ByLoad = iota
	md5Std
	md5SIMD
)

func (s *md5Stream) Write(p []byte) {
	if !s.decided {
		s.decide(len(p))
	}
	if s.simd == nil {
		s.h.Write(p)
		return
	}
	s.simd.p = p
	md5simdState.jobs <- s.simd
	<-s.simd.done
}

func (s *md5Stream) decide(n int) {
	s.decided = true
	if n >= simdMinWrite {
		s.large = true
		under := largeStreams.Add(1)
		if s.mode == md5SIMD || (s.mode == md5ByLoad && simdPays(under)) {
			if h := getSIMDHasher(); h != nil {
				s.simd = &simdJob{h: h, done: make(chan struct{}, 1)}
				s.h = h
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

// Reset ends the stream: it leaves the count of large ones and hands an
// md5-simd hasher back for reuse. The next write decides again.
func (s *md5Stream) Reset() {
	if s.large {
		largeStreams.Add(-1)
		s.large = false
	}
	if s.simd != nil {
		simdStreams.Add(-1)
		putSIMDHasher(s.simd.h)
		s.simd = nil
	}
	s.h, s.decided = nil, false
}
