package s3api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// byteRange is one parsed "bytes=" range: first-last, first- (last < 0),
// or the suffix -n.
type byteRange struct {
	first, last int64
	suffix      int64 // > 0 or -1
}

// parseRange parses a Range header. ok is false for anything S3 ignores
// (and answers with the whole object): syntax errors, other units, and
// multiple ranges.
func parseRange(h string) (br byteRange, ok bool) {
	h = strings.TrimSpace(h)
	if len(h) < 6 || !strings.EqualFold(h[:6], "bytes=") {
		return br, false
	}
	spec := strings.TrimSpace(h[6:])
	if strings.Contains(spec, ",") {
		return br, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return br, false
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	br.suffix = -1
	if a == "" {
		n, err := parseDigits(b)
		if err != nil {
			return br, false
		}
		br.suffix = n
		return br, true
	}
	first, err := parseDigits(a)
	if err != nil {
		return br, false
	}
	br.first, br.last = first, -1
	if b != "" {
		last, err := parseDigits(b)
		if err != nil || last < first {
			return br, false
		}
		br.last = last
	}
	return br, true
}

// parseDigits parses a non-negative decimal without sign or spaces.
func parseDigits(s string) (int64, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(s, 10, 64)
}

// resolve returns the offset and length of br in an object of size bytes;
// ok is false when the range is not satisfiable (416 InvalidRange).
func (br byteRange) resolve(size int64) (offset, length int64, ok bool) {
	if br.suffix >= 0 {
		if br.suffix == 0 || size == 0 {
			return 0, 0, false
		}
		n := min(br.suffix, size)
		return size - n, n, true
	}
	if br.first >= size {
		return 0, 0, false
	}
	last := size - 1
	if br.last >= 0 && br.last < last {
		last = br.last
	}
	return br.first, last - br.first + 1, true
}

// etagMatches reports whether a comma-separated If-Match/If-None-Match
// list names etag ("*" matches any).
func etagMatches(list, etag string) bool {
	want := strings.Trim(etag, `"`)
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		t = strings.TrimPrefix(t, "W/")
		if strings.Trim(t, `"`) == want {
			return true
		}
	}
	return false
}

// modifiedSince compares an object's LastModified, at the one-second
// precision of HTTP dates, with an HTTP date header. ok is false when the
// header is absent or unparsable (ignored, as RFC 7232 says).
func modifiedSince(o *meta.Object, date string) (modified, ok bool) {
	if date == "" {
		return false, false
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return false, false
	}
	lm := time.Unix(0, o.LastModified).Truncate(time.Second)
	return lm.After(t), true
}

// readConditions evaluates GET/HEAD preconditions with S3's precedence:
// If-Match true makes If-Unmodified-Since irrelevant; If-None-Match false
// (the ETag matches) gives 304 whatever If-Modified-Since says, and
// If-None-Match true makes If-Modified-Since irrelevant.
func readConditions(h http.Header, o *meta.Object) error {
	if im := h.Get("If-Match"); im != "" {
		if !etagMatches(im, o.ETag) {
			return preconditionFailed("If-Match")
		}
	} else if mod, ok := modifiedSince(o, h.Get("If-Unmodified-Since")); ok && mod {
		return preconditionFailed("If-Unmodified-Since")
	}
	if inm := h.Get("If-None-Match"); inm != "" {
		if etagMatches(inm, o.ETag) {
			return errNotModified
		}
	} else if mod, ok := modifiedSince(o, h.Get("If-Modified-Since")); ok && !mod {
		return errNotModified
	}
	return nil
}

// copySourceConditions evaluates the x-amz-copy-source-if-* headers of
// CopyObject and UploadPartCopy; any failure is 412 PreconditionFailed.
func copySourceConditions(h http.Header, o *meta.Object) error {
	if im := h.Get("X-Amz-Copy-Source-If-Match"); im != "" {
		if !etagMatches(im, o.ETag) {
			return preconditionFailed("x-amz-copy-source-If-Match")
		}
	} else if mod, ok := modifiedSince(o, h.Get("X-Amz-Copy-Source-If-Unmodified-Since")); ok && mod {
		return preconditionFailed("x-amz-copy-source-If-Unmodified-Since")
	}
	if inm := h.Get("X-Amz-Copy-Source-If-None-Match"); inm != "" {
		if etagMatches(inm, o.ETag) {
			return preconditionFailed("x-amz-copy-source-If-None-Match")
		}
	} else if mod, ok := modifiedSince(o, h.Get("X-Amz-Copy-Source-If-Modified-Since")); ok && !mod {
		return preconditionFailed("x-amz-copy-source-If-Modified-Since")
	}
	return nil
}
