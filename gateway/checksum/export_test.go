package checksum

// Forcing the MD5 implementation, for tests and benchmarks.
const (
	MD5ByLoad = md5ByLoad
	MD5Std    = md5Std
	MD5SIMD   = md5SIMD
)

// NewMultiMode is NewMulti with the MD5 implementation forced by mode.
func NewMultiMode(alg string, mode int) (*Multi, error) {
	m, err := NewMulti(alg)
	if m != nil {
		m.md5.mode = mode
	}
	return m, err
}

// LargeStreams is the number of large MD5 streams under way.
func LargeStreams() int64 { return largeStreams.Load() }

// UsesSIMD reports whether m's MD5 runs on md5-simd.
func UsesSIMD(m *Multi) bool { return m.md5.simd != nil }

// SetLanes sets the average lanes per md5-simd round (the choice by
// load follows it) and returns a function restoring it.
func SetLanes(n float64) (restore func()) {
	old := lanes.Swap(int64(n * 256))
	probeAt.Store(0)
	return func() { lanes.Store(old) }
}

// Lanes is the average lanes per md5-simd round.
func Lanes() float64 { return float64(lanes.Load()) / 256 }

// SIMDMinLanes and SIMDMinStreams are the thresholds of the choice.
const (
	SIMDMinLanes   = simdMinLanes
	SIMDMinStreams = simdMinStreams
)
