package checksum_test

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/forkstore/forkstore/gateway/checksum"
)

func sumOf(t *testing.T, alg string, data []byte) []byte {
	t.Helper()
	h, err := checksum.New(alg)
	if err != nil {
		t.Fatalf("New(%q): %v", alg, err)
	}
	h.Write(data)
	return h.Sum(nil)
}

// Vectors: the "hello world" values are the ones the AWS SDK for Go v2
// checks its flexible-checksum implementation against (x-amz-checksum-*
// headers of PutObject); "123456789" values are the CRC catalogue check
// values.
func TestNewKnownVectors(t *testing.T) {
	tests := []struct {
		name string
		alg  string
		in   string
		want string // base64
	}{
		{"crc32 hello", "CRC32", "hello world", "DUoRhQ=="},
		{"crc32 Hello", "crc32", "Hello world", "i9aeUg=="},
		{"crc32 empty", "CRC32", "", "AAAAAA=="},
		{"crc32c hello", "CRC32C", "hello world", "yZRlqg=="},
		{"crc64nvme hello", "CRC64NVME", "hello world", "jSnVw/bqjr4="},
		{"sha1 hello", "SHA1", "hello world", "Kq5sNclPz7QV2+lfQIuc6R7oRu0="},
		{"sha256 hello", "sha256", "hello world", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="},
		{"md5 empty", "MD5", "", "1B2M2Y8AsgTpgAmY7PhCfg=="},
		{"md5 hello", "md5", "hello world", "XrY7u+Ae7tCTyyK7j1rNww=="},
		{"crc32 check", "CRC32", "123456789", b64u32(0xCBF43926)},
		{"crc32c check", "Crc32c", "123456789", b64u32(0xE3069283)},
		{"crc64nvme check", "crc64nvme", "123456789", b64u64(0xAE8B14860A799888)},
		{"crc64nvme 10a", "CRC64NVME", "aaaaaaaaaa", b64u64(0x0C1A80036D65C555)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checksum.Encode(sumOf(t, tt.alg, []byte(tt.in))); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func b64u32(v uint32) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, v))
}

func b64u64(v uint64) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, v))
}

func TestValidAndCanonical(t *testing.T) {
	tests := []struct {
		name  string
		alg   string
		canon string
	}{
		{"upper", "CRC32", "CRC32"},
		{"lower", "crc32c", "CRC32C"},
		{"mixed", "Crc64Nvme", "CRC64NVME"},
		{"sha1", "sha1", "SHA1"},
		{"sha256", "SHA256", "SHA256"},
		{"md5 is not an S3 checksum", "MD5", ""},
		{"empty", "", ""},
		{"unknown", "CRC16", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checksum.Canonical(tt.alg); got != tt.canon {
				t.Fatalf("Canonical(%q) = %q, want %q", tt.alg, got, tt.canon)
			}
			if got := checksum.Valid(tt.alg); got != (tt.canon != "") {
				t.Fatalf("Valid(%q) = %v", tt.alg, got)
			}
		})
	}
	if _, err := checksum.New("CRC16"); !errors.Is(err, checksum.ErrUnknownAlgorithm) {
		t.Fatalf("New(CRC16) err = %v", err)
	}
}

func TestDecode(t *testing.T) {
	if b, err := checksum.Decode("crc32", "DUoRhQ=="); err != nil || len(b) != 4 {
		t.Fatalf("Decode = %x, %v", b, err)
	}
	for _, bad := range []string{"DUoRhQ", "jSnVw/bqjr4=", "!!!!", "DUoRhQ==-2"} {
		if _, err := checksum.Decode("CRC32", bad); err == nil {
			t.Errorf("Decode(%q) succeeded", bad)
		}
	}
}

func TestETag(t *testing.T) {
	sum := md5.Sum([]byte("hello world"))
	if got, want := checksum.ETag(sum[:]), `"5eb63bbbe01eeed093cb22bb8f5acdc3"`; got != want {
		t.Fatalf("ETag = %s, want %s", got, want)
	}
}

// CompleteMultipartUpload: the ETag is md5 of the concatenated binary part
// MD5s, hex, "-" number of parts.
func TestMultipartETag(t *testing.T) {
	p1 := md5.Sum([]byte("part one"))
	p2 := md5.Sum([]byte("part two"))
	cat := append(append([]byte{}, p1[:]...), p2[:]...)
	whole := md5.Sum(cat)
	want := `"` + hex.EncodeToString(whole[:]) + `-2"`
	if got := checksum.MultipartETag([][]byte{p1[:], p2[:]}); got != want {
		t.Fatalf("MultipartETag = %s, want %s", got, want)
	}
}

// Composite checksums (ChecksumType COMPOSITE): base64 of the algorithm over
// the concatenated raw part checksums, "-" number of parts.
func TestComposite(t *testing.T) {
	parts := [][]byte{[]byte("first part"), []byte("second"), []byte("3")}
	for _, alg := range []string{"CRC32", "CRC32C", "SHA1", "SHA256"} {
		t.Run(alg, func(t *testing.T) {
			var sums [][]byte
			var cat []byte
			for _, p := range parts {
				s := sumOf(t, alg, p)
				sums = append(sums, s)
				cat = append(cat, s...)
			}
			want := checksum.Encode(sumOf(t, alg, cat)) + "-3"
			got, err := checksum.Composite(strings.ToLower(alg), sums)
			if err != nil || got != want {
				t.Fatalf("Composite = %q, %v; want %q", got, err, want)
			}
		})
	}
	// A known value: CRC32 of the two CRC32s of "hello world" and "Hello world".
	a, _ := base64.StdEncoding.DecodeString("DUoRhQ==")
	b, _ := base64.StdEncoding.DecodeString("i9aeUg==")
	want := b64u32(crc32.ChecksumIEEE(append(append([]byte{}, a...), b...))) + "-2"
	if got, _ := checksum.Composite("CRC32", [][]byte{a, b}); got != want {
		t.Fatalf("Composite = %q, want %q", got, want)
	}
	if _, err := checksum.Composite("CRC64NVME", [][]byte{make([]byte, 8)}); err == nil {
		t.Fatal("CRC64NVME composite accepted")
	}
	if _, err := checksum.Composite("CRC32", [][]byte{make([]byte, 3)}); err == nil {
		t.Fatal("short digest accepted")
	}
}

// Full-object checksums of multipart uploads (ChecksumType FULL_OBJECT):
// combining part CRCs must equal hashing the whole object, for every CRC.
func TestCombineEqualsCompute(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, alg := range []string{"CRC32", "CRC32C", "CRC64NVME"} {
		t.Run(alg, func(t *testing.T) {
			for iter := range 50 {
				nparts := 1 + rng.IntN(8)
				var whole []byte
				var sums [][]byte
				var sizes []int64
				for range nparts {
					n := rng.IntN(5000)
					if rng.IntN(10) == 0 {
						n = 0
					}
					if rng.IntN(10) == 0 {
						n = 1 << 20
					}
					p := make([]byte, n)
					for i := range p {
						p[i] = byte(rng.Uint32())
					}
					whole = append(whole, p...)
					sums = append(sums, sumOf(t, alg, p))
					sizes = append(sizes, int64(n))
				}
				got, err := checksum.Combine(alg, sums, sizes)
				if err != nil {
					t.Fatal(err)
				}
				want := sumOf(t, alg, whole)
				if hex.EncodeToString(got) != hex.EncodeToString(want) {
					t.Fatalf("iter %d (%d parts, sizes %v): combined %x, computed %x", iter, nparts, sizes, got, want)
				}
			}
		})
	}
}

func TestCombineHugeLength(t *testing.T) {
	// Combining with a zero-length B is the identity, and lengths near the
	// 5 TiB object limit must not misbehave.
	a := sumOf(t, "CRC64NVME", []byte("abc"))
	got, err := checksum.Combine("CRC64NVME", [][]byte{a, make([]byte, 8)}, []int64{3, 0})
	if err != nil || hex.EncodeToString(got) != hex.EncodeToString(a) {
		t.Fatalf("identity: %x %v", got, err)
	}
	if _, err := checksum.Combine("CRC32C", [][]byte{make([]byte, 4), make([]byte, 4)}, []int64{0, 5 << 40}); err != nil {
		t.Fatal(err)
	}
}

func TestCombineErrors(t *testing.T) {
	tests := []struct {
		name  string
		alg   string
		sums  [][]byte
		sizes []int64
	}{
		{"sha256 has no combination", "SHA256", [][]byte{make([]byte, 32)}, []int64{1}},
		{"length mismatch", "CRC32", [][]byte{make([]byte, 4)}, nil},
		{"short digest", "CRC64NVME", [][]byte{make([]byte, 4)}, []int64{1}},
		{"negative size", "CRC32", [][]byte{make([]byte, 4)}, []int64{-1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := checksum.Combine(tt.alg, tt.sums, tt.sizes); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestMulti(t *testing.T) {
	data := []byte(strings.Repeat("forkstore ", 1000))
	for _, alg := range []string{"", "CRC32", "crc32c", "CRC64NVME", "SHA1", "SHA256"} {
		t.Run("alg="+alg, func(t *testing.T) {
			m, err := checksum.NewMulti(alg)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(data); i += 777 {
				m.Write(data[i:min(i+777, len(data))])
			}
			d := m.Digests()
			md := md5.Sum(data)
			if string(d.MD5) != string(md[:]) {
				t.Fatalf("md5 %x", d.MD5)
			}
			if d.ETag() != checksum.ETag(md[:]) {
				t.Fatalf("etag %s", d.ETag())
			}
			if m.Len() != int64(len(data)) {
				t.Fatalf("len %d", m.Len())
			}
			if alg == "" {
				if d.Algorithm != "" || d.Sum != nil || d.Value() != "" {
					t.Fatalf("unexpected extra digest %+v", d)
				}
				return
			}
			if d.Algorithm != checksum.Canonical(alg) {
				t.Fatalf("algorithm %q", d.Algorithm)
			}
			if want := checksum.Encode(sumOf(t, alg, data)); d.Value() != want {
				t.Fatalf("value %s, want %s", d.Value(), want)
			}
			m.Reset()
			if m.Len() != 0 || m.Digests().Value() != checksum.Encode(sumOf(t, alg, nil)) {
				t.Fatal("reset did not restart")
			}
		})
	}
	if _, err := checksum.NewMulti("MD4"); err == nil {
		t.Fatal("NewMulti(MD4) succeeded")
	}
}
