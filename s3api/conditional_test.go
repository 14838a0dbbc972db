package s3api

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// TestParseRange checks GetObject's Range handling (RFC 7233 as S3
// applies it): malformed or multiple ranges are ignored (whole object),
// unsatisfiable ones are 416 InvalidRange.
func TestParseRange(t *testing.T) {
	tests := []struct {
		name   string
		header string
		size   int64
		parsed bool // false: ignored, whole object
		sat    bool
		offset int64
		length int64
	}{
		{"first-last", "bytes=0-9", 100, true, true, 0, 10},
		{"middle", "bytes=10-19", 100, true, true, 10, 10},
		{"last beyond end is clamped", "bytes=90-200", 100, true, true, 90, 10},
		{"open ended", "bytes=95-", 100, true, true, 95, 5},
		{"suffix", "bytes=-10", 100, true, true, 90, 10},
		{"suffix longer than object", "bytes=-500", 100, true, true, 0, 100},
		{"single byte", "bytes=0-0", 1, true, true, 0, 1},
		{"spaces and case", " Bytes= 1 - 2 ", 10, true, true, 1, 2},
		{"first beyond end", "bytes=100-", 100, true, false, 0, 0},
		{"suffix zero", "bytes=-0", 100, true, false, 0, 0},
		{"empty object", "bytes=0-", 0, true, false, 0, 0},
		{"empty object suffix", "bytes=-1", 0, true, false, 0, 0},
		{"multiple ranges ignored", "bytes=0-1,5-6", 100, false, false, 0, 0},
		{"inverted ignored", "bytes=9-1", 100, false, false, 0, 0},
		{"other unit ignored", "items=0-1", 100, false, false, 0, 0},
		{"garbage ignored", "bytes=a-b", 100, false, false, 0, 0},
		{"negative ignored", "bytes=--1", 100, false, false, 0, 0},
		{"no dash ignored", "bytes=5", 100, false, false, 0, 0},
		{"overflow ignored", "bytes=0-99999999999999999999", 100, false, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br, ok := parseRange(tt.header)
			if ok != tt.parsed {
				t.Fatalf("parseRange(%q) ok = %v, want %v", tt.header, ok, tt.parsed)
			}
			if !ok {
				return
			}
			off, n, sat := br.resolve(tt.size)
			if sat != tt.sat || off != tt.offset || n != tt.length {
				t.Errorf("resolve(%d) = %d, %d, %v; want %d, %d, %v", tt.size, off, n, sat, tt.offset, tt.length, tt.sat)
			}
		})
	}
}

// FuzzRange: parsing never panics and a satisfiable range lies inside the
// object.
func FuzzRange(f *testing.F) {
	f.Add("bytes=0-9", int64(10))
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
			if size < 0 {
				size = 0
			}
		}
		br, ok := parseRange(h)
		if !ok {
			return
		}
		off, n, sat := br.resolve(size)
		if !sat {
			return
		}
		if off < 0 || n < 1 || off+n > size || off+n < off {
			t.Fatalf("range %q of %d: offset %d length %d", h, size, off, n)
		}
	})
}

// TestReadConditions checks the GetObject/HeadObject precondition
// precedence of the S3 API reference (If-Match over If-Unmodified-Since,
// If-None-Match over If-Modified-Since; 304 only for the latter two).
func TestReadConditions(t *testing.T) {
	lm := time.Date(2024, 5, 1, 12, 0, 0, 500_000_000, time.UTC)
	o := &meta.Object{ETag: `"abc"`, LastModified: lm.UnixNano()}
	before := lm.Add(-time.Hour).Format(http.TimeFormat)
	after := lm.Add(time.Hour).Format(http.TimeFormat)
	same := lm.Format(http.TimeFormat) // the second LastModified falls in
	tests := []struct {
		name string
		hdr  map[string]string
		want error
	}{
		{"none", nil, nil},
		{"If-Match hit", map[string]string{"If-Match": `"abc"`}, nil},
		{"If-Match unquoted list", map[string]string{"If-Match": `x, abc`}, nil},
		{"If-Match star", map[string]string{"If-Match": `*`}, nil},
		{"If-Match miss", map[string]string{"If-Match": `"zzz"`}, errPreconditionFailed},
		{"If-Unmodified-Since passed", map[string]string{"If-Unmodified-Since": before}, errPreconditionFailed},
		{"If-Unmodified-Since same second", map[string]string{"If-Unmodified-Since": same}, nil},
		{"If-Match true beats If-Unmodified-Since false", map[string]string{"If-Match": `"abc"`, "If-Unmodified-Since": before}, nil},
		{"If-None-Match hit", map[string]string{"If-None-Match": `"abc"`}, errNotModified},
		{"If-None-Match weak hit", map[string]string{"If-None-Match": `W/"abc"`}, errNotModified},
		{"If-None-Match miss", map[string]string{"If-None-Match": `"zzz"`}, nil},
		{"If-Modified-Since not modified", map[string]string{"If-Modified-Since": after}, errNotModified},
		{"If-Modified-Since same second", map[string]string{"If-Modified-Since": same}, errNotModified},
		{"If-Modified-Since modified", map[string]string{"If-Modified-Since": before}, nil},
		{"If-None-Match false and If-Modified-Since true is 304", map[string]string{"If-None-Match": `"abc"`, "If-Modified-Since": before}, errNotModified},
		{"If-None-Match true beats If-Modified-Since false", map[string]string{"If-None-Match": `"zzz"`, "If-Modified-Since": after}, nil},
		{"bad date ignored", map[string]string{"If-Modified-Since": "yesterday"}, nil},
		{"412 before 304", map[string]string{"If-Match": `"zzz"`, "If-None-Match": `"abc"`}, errPreconditionFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.hdr {
				h.Set(k, v)
			}
			err := readConditions(h, o)
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestCopySourceConditions checks CopyObject's x-amz-copy-source-if-*
// (all failures are 412).
func TestCopySourceConditions(t *testing.T) {
	lm := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	o := &meta.Object{ETag: `"abc"`, LastModified: lm.UnixNano()}
	before := lm.Add(-time.Hour).Format(http.TimeFormat)
	after := lm.Add(time.Hour).Format(http.TimeFormat)
	tests := []struct {
		name string
		hdr  map[string]string
		fail string
	}{
		{"if-match hit", map[string]string{"X-Amz-Copy-Source-If-Match": `"abc"`}, ""},
		{"if-match miss", map[string]string{"X-Amz-Copy-Source-If-Match": `"x"`}, "x-amz-copy-source-If-Match"},
		{"if-match true and unmodified-since false copies", map[string]string{"X-Amz-Copy-Source-If-Match": `"abc"`, "X-Amz-Copy-Source-If-Unmodified-Since": before}, ""},
		{"unmodified-since false", map[string]string{"X-Amz-Copy-Source-If-Unmodified-Since": before}, "x-amz-copy-source-If-Unmodified-Since"},
		{"none-match hit", map[string]string{"X-Amz-Copy-Source-If-None-Match": `"abc"`}, "x-amz-copy-source-If-None-Match"},
		{"none-match false and modified-since true is 412", map[string]string{"X-Amz-Copy-Source-If-None-Match": `"abc"`, "X-Amz-Copy-Source-If-Modified-Since": before}, "x-amz-copy-source-If-None-Match"},
		{"modified-since false", map[string]string{"X-Amz-Copy-Source-If-Modified-Since": after}, "x-amz-copy-source-If-Modified-Since"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.hdr {
				h.Set(k, v)
			}
			err := copySourceConditions(h, o)
			if tt.fail == "" {
				if err != nil {
					t.Errorf("got %v", err)
				}
				return
			}
			var de *detailError
			if !errors.As(err, &de) || de.api != errPreconditionFailed || de.fields.Condition != tt.fail {
				t.Errorf("got %v, want PreconditionFailed on %s", err, tt.fail)
			}
		})
	}
}

// TestParseCopySource checks x-amz-copy-source forms sent by the SDKs.
func TestParseCopySource(t *testing.T) {
	tests := []struct {
		name, in         string
		bucket, key, vid string
		wantErr          bool
	}{
		{name: "leading slash", in: "/bucket/my-image.jpg", bucket: "bucket", key: "my-image.jpg"},
		{name: "no slash", in: "bucket/a/b.txt", bucket: "bucket", key: "a/b.txt"},
		{name: "encoded", in: "bucket/a%20b%2Bc%3Fd", bucket: "bucket", key: "a b+c?d"},
		{name: "version", in: "/bucket/k?versionId=1700000000000000001", bucket: "bucket", key: "k", vid: "1700000000000000001"},
		{name: "null version", in: "bucket/k?versionId=null", bucket: "bucket", key: "k", vid: "null"},
		{name: "bad version", in: "bucket/k?versionId=abc", wantErr: true},
		{name: "no key", in: "/bucket", wantErr: true},
		{name: "empty key", in: "/bucket/", wantErr: true},
		{name: "bad escape", in: "/bucket/%zz", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := parseCopySource(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err == nil && (cs.bucket != tt.bucket || cs.key != tt.key || cs.versionID != tt.vid) {
				t.Errorf("got %+v", cs)
			}
		})
	}
}

// TestParseSnapshotHeader checks X-Tigris-Snapshot values.
func TestParseSnapshotHeader(t *testing.T) {
	for in, want := range map[string]string{"true": "", "TRUE": "", "true; name=backup-1": "backup-1", "true;name=\"x y\"": "x y"} {
		got, err := parseSnapshotHeader(in)
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"false", "", "yes", "true; other=1"} {
		if _, err := parseSnapshotHeader(in); err == nil {
			t.Errorf("%q: want an error", in)
		}
	}
}

// TestStripAWSChunked checks that Content-Encoding: aws-chunked is not
// stored (PutObject).
func TestStripAWSChunked(t *testing.T) {
	for in, want := range map[string]string{
		"aws-chunked": "", "aws-chunked,gzip": "gzip", "gzip, aws-chunked": "gzip", "gzip": "gzip", "": "",
		// The client's remaining codings are kept as sent.
		"aws-chunked, deflate, gzip": "deflate, gzip", "deflate,  gzip": "deflate,  gzip",
		"deflate, AWS-CHUNKED, gzip": "deflate, gzip",
	} {
		if got := stripAWSChunked(in); got != want {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
	if !strings.Contains(stripAWSChunked("br,gzip"), "br") {
		t.Error("lost an encoding")
	}
}
