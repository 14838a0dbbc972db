//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"
)

// CreateBucket, HeadBucket, ListBuckets, DeleteBucket and their errors.
func TestMinioBuckets(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	b := bucketName(t, "buckets")

	makeBucket(t, c, b)
	ok, err := c.BucketExists(ctx, b)
	if err != nil || !ok {
		t.Fatalf("BucketExists(%s) = %v, %v; want true", b, ok, describe(err))
	}
	missing := bucketName(t, "missing")
	ok, err = c.BucketExists(ctx, missing)
	if err != nil || ok {
		t.Errorf("BucketExists(%s) = %v, %v; want false, nil (HeadBucket 404)", missing, ok, describe(err))
	}

	list, err := c.ListBuckets(ctx)
	if err != nil {
		t.Fatalf("ListBuckets: %v", describe(err))
	}
	found := false
	for _, bi := range list {
		if bi.Name == b {
			found = true
			if bi.CreationDate.IsZero() || time.Since(bi.CreationDate) > time.Hour || time.Until(bi.CreationDate) > time.Minute {
				t.Errorf("ListBuckets: %s CreationDate %v, want about now", b, bi.CreationDate)
			}
		}
	}
	if !found {
		t.Errorf("ListBuckets: %s not listed in %v", b, list)
	}

	// GetBucketLocation (minio-go asks before the first request when no
	// region is configured) answers the server's region; "" means us-east-1.
	loc, err := c.GetBucketLocation(ctx, b)
	if err != nil {
		t.Errorf("GetBucketLocation: %v", describe(err))
	} else if loc != s.Region() && !(loc == "" && s.Region() == "us-east-1") {
		t.Errorf("GetBucketLocation = %q, want %q", loc, s.Region())
	}

	// CreateBucket on a bucket we own: 200 in us-east-1 (AWS's legacy
	// behaviour there), BucketAlreadyOwnedByYou in other regions
	// (TestCreateOwnedBucketOtherRegion).
	if err = c.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil && s.Region() == "us-east-1" {
		t.Errorf("CreateBucket on an owned bucket in us-east-1: %v", describe(err))
	} else if err == nil && s.Region() != "us-east-1" {
		t.Errorf("CreateBucket on an owned bucket in %s succeeded", s.Region())
	}

	// (Invalid names are checked over raw HTTP in TestBadInput: minio-go
	// refuses them before sending.)

	putBytes(t, c, b, "k", []byte("x"), minio.PutObjectOptions{})
	wantCode(t, "DeleteBucket on a non-empty bucket", c.RemoveBucket(ctx, b), "BucketNotEmpty")
	if err := c.RemoveObject(ctx, b, "k", minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("RemoveObject: %v", describe(err))
	}
	if err := c.RemoveBucket(ctx, b); err != nil {
		t.Fatalf("RemoveBucket(%s): %v", b, describe(err))
	}
	if ok, err := c.BucketExists(ctx, b); err != nil || ok {
		t.Errorf("BucketExists after delete = %v, %v; want false", ok, describe(err))
	}
	wantCode(t, "DeleteBucket on a missing bucket", c.RemoveBucket(ctx, b), "NoSuchBucket")
	_, err = c.PutObject(ctx, b, "k", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{})
	wantCode(t, "PutObject into a deleted bucket", err, "NoSuchBucket")
	// The name can be used again.
	makeBucket(t, c, b)
}

// PutObject/GetObject/StatObject/RemoveObject across the size classes:
// empty, inline, one chunk, several chunks, and multipart.
func TestMinioObjectSizes(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	b := bucketName(t, "sizes")
	makeBucket(t, c, b)

	cases := []struct {
		name     string
		size     int
		partSize uint64 // > 0 and < size: multipart upload
	}{
		{"0B", 0, 0},
		{"1B", 1, 0},
		{"100KiB", 100 << 10, 0},
		{"5MiB", 5 << 20, 0},
		{"70MiB-multipart", 70 << 20, 10 << 20},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			data := randBytes(uint64(100+i), tc.size)
			key := "sizes/" + tc.name
			before := time.Now().Add(-2 * time.Second)
			info := putBytes(t, c, b, key, data, minio.PutObjectOptions{PartSize: tc.partSize, ContentType: "application/x-forkstore-test"})
			want := md5Hex(data)
			if tc.partSize > 0 && uint64(tc.size) > tc.partSize {
				want = multipartETag(data, int(tc.partSize))
			}
			if info.ETag != want {
				t.Errorf("PutObject ETag = %q, want %q", info.ETag, want)
			}
			st, err := c.StatObject(ctx, b, key, minio.StatObjectOptions{})
			if err != nil {
				t.Fatalf("StatObject: %v", describe(err))
			}
			if st.Size != int64(tc.size) || st.ETag != want || st.ContentType != "application/x-forkstore-test" {
				t.Errorf("StatObject = size %d etag %q type %q; want %d %q %q", st.Size, st.ETag, st.ContentType, tc.size, want, "application/x-forkstore-test")
			}
			if st.LastModified.Before(before.Truncate(time.Second)) || st.LastModified.After(time.Now().Add(time.Minute)) {
				t.Errorf("StatObject LastModified %v, want about %v", st.LastModified, before)
			}
			got := getBytes(t, c, b, key, minio.GetObjectOptions{})
			sameBytes(t, "GetObject", got, data)

			var listed *minio.ObjectInfo
			for o := range c.ListObjects(ctx, b, minio.ListObjectsOptions{Prefix: key}) {
				if o.Err != nil {
					t.Fatalf("ListObjects: %v", describe(o.Err))
				}
				if o.Key == key {
					listed = &o
				}
			}
			if listed == nil {
				t.Errorf("ListObjects(prefix %q): key not listed", key)
			} else if listed.Size != int64(tc.size) || listed.ETag != want {
				t.Errorf("ListObjects entry: size %d etag %q, want %d %q", listed.Size, listed.ETag, tc.size, want)
			}

			if err := c.RemoveObject(ctx, b, key, minio.RemoveObjectOptions{}); err != nil {
				t.Fatalf("RemoveObject: %v", describe(err))
			}
			_, err = c.StatObject(ctx, b, key, minio.StatObjectOptions{})
			wantCode(t, "StatObject after delete", err, "NoSuchKey")
			// DeleteObject of a missing key succeeds (204), as on AWS.
			if err := c.RemoveObject(ctx, b, key, minio.RemoveObjectOptions{}); err != nil {
				t.Errorf("RemoveObject of a missing key: %v, want success", describe(err))
			}
		})
	}

	// Overwrite replaces the whole object.
	t.Run("overwrite", func(t *testing.T) {
		big := randBytes(7, 9<<20)
		putBytes(t, c, b, "ow", big, minio.PutObjectOptions{})
		small := []byte("now small")
		putBytes(t, c, b, "ow", small, minio.PutObjectOptions{})
		sameBytes(t, "GetObject after overwrite", getBytes(t, c, b, "ow", minio.GetObjectOptions{}), small)
	})
}

// GetObject with Range (RFC 9110 byte ranges, as S3 implements them).
func TestMinioRanges(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	core := minio.Core{Client: c}
	b := bucketName(t, "ranges")
	makeBucket(t, c, b)

	objects := map[string][]byte{
		"small": randBytes(1, 1000),     // inline
		"big":   randBytes(2, 9<<20+17), // several 4 MiB chunks
	}
	for k, v := range objects {
		putBytes(t, c, b, k, v, minio.PutObjectOptions{})
	}
	type rng struct {
		name       string
		key        string
		start, end int64 // minio-go SetRange arguments
		from, to   int64 // expected slice [from, to)
	}
	const chunk = 4 << 20
	bigLen := int64(len(objects["big"]))
	cases := []rng{
		{"first byte", "small", 0, 0, 0, 1},
		{"first 100", "small", 0, 99, 0, 100},
		{"middle", "small", 10, 19, 10, 20},
		{"suffix 10", "small", 0, -10, 990, 1000},
		{"from 900", "small", 900, 0, 900, 1000},
		{"end past size", "small", 990, 5000, 990, 1000},
		{"whole", "small", 0, 999, 0, 1000},
		{"across chunk boundary", "big", chunk - 10, chunk + 9, chunk - 10, chunk + 10},
		{"across two boundaries", "big", chunk - 1, 2*chunk + 1, chunk - 1, 2*chunk + 2},
		{"last chunk suffix", "big", 0, -100, bigLen - 100, bigLen},
		{"from second chunk", "big", chunk, 0, chunk, bigLen},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var o minio.GetObjectOptions
			if err := o.SetRange(tc.start, tc.end); err != nil {
				t.Fatal(err)
			}
			rc, _, h, err := core.GetObject(testCtx(t), b, tc.key, o)
			if err != nil {
				t.Fatalf("GetObject %s Range %s: %v", tc.key, o.Header().Get("Range"), describe(err))
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			data := objects[tc.key]
			sameBytes(t, "range body", got, data[tc.from:tc.to])
			wantCR := fmt.Sprintf("bytes %d-%d/%d", tc.from, tc.to-1, len(data))
			if cr := h.Get("Content-Range"); cr != wantCR {
				t.Errorf("Content-Range = %q, want %q", cr, wantCR)
			}
			if ar := h.Get("Accept-Ranges"); ar != "" && ar != "bytes" {
				t.Errorf("Accept-Ranges = %q", ar)
			}
		})
	}
	t.Run("InvalidRange", func(t *testing.T) {
		var o minio.GetObjectOptions
		o.SetRange(1000, 0) // bytes=1000- on a 1000-byte object
		_, _, _, err := core.GetObject(testCtx(t), b, "small", o)
		wantCode(t, "GetObject bytes=1000- of 1000 bytes", err, "InvalidRange")
		if r := minio.ToErrorResponse(err); err != nil && r.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("status %d, want 416", r.StatusCode)
		}
	})
}

// Conditional GET and HEAD: If-Match, If-None-Match, If-Modified-Since,
// If-Unmodified-Since (GetObject).
func TestMinioConditional(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	b := bucketName(t, "cond")
	makeBucket(t, c, b)
	data := []byte("conditional body")
	info := putBytes(t, c, b, "k", data, minio.PutObjectOptions{})
	st, err := c.StatObject(ctx, b, "k", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(describe(err))
	}
	past := st.LastModified.Add(-time.Hour)
	future := st.LastModified.Add(time.Hour)

	type cond struct {
		name   string
		set    func(o *minio.GetObjectOptions)
		status int // 200, 304 or 412
	}
	cases := []cond{
		{"If-Match equal", func(o *minio.GetObjectOptions) { o.SetMatchETag(info.ETag) }, 200},
		{"If-Match other", func(o *minio.GetObjectOptions) { o.SetMatchETag("0123456789abcdef0123456789abcdef") }, 412},
		{"If-None-Match equal", func(o *minio.GetObjectOptions) { o.SetMatchETagExcept(info.ETag) }, 304},
		{"If-None-Match other", func(o *minio.GetObjectOptions) { o.SetMatchETagExcept("0123456789abcdef0123456789abcdef") }, 200},
		{"If-Modified-Since past", func(o *minio.GetObjectOptions) { o.SetModified(past) }, 200},
		{"If-Modified-Since future", func(o *minio.GetObjectOptions) { o.SetModified(future) }, 304},
		{"If-Unmodified-Since past", func(o *minio.GetObjectOptions) { o.SetUnmodified(past) }, 412},
		{"If-Unmodified-Since future", func(o *minio.GetObjectOptions) { o.SetUnmodified(future) }, 200},
		// RFC 9110 13.2.2: If-Match true + If-Unmodified-Since false -> 200.
		{"If-Match equal and Unmodified-Since past", func(o *minio.GetObjectOptions) { o.SetMatchETag(info.ETag); o.SetUnmodified(past) }, 200},
		// If-None-Match false + If-Modified-Since true -> 304.
		{"If-None-Match equal and Modified-Since past", func(o *minio.GetObjectOptions) { o.SetMatchETagExcept(info.ETag); o.SetModified(past) }, 304},
	}
	core := minio.Core{Client: c}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var o minio.GetObjectOptions
			tc.set(&o)
			rc, _, _, err := core.GetObject(testCtx(t), b, "k", o)
			switch tc.status {
			case 200:
				if err != nil {
					t.Fatalf("GetObject: %v, want 200", describe(err))
				}
				got, _ := io.ReadAll(rc)
				rc.Close()
				sameBytes(t, "body", got, data)
			case 304:
				if r := minio.ToErrorResponse(err); err == nil || r.StatusCode != http.StatusNotModified {
					t.Errorf("GetObject: %v, want 304 Not Modified", describe(err))
				}
			case 412:
				wantCode(t, "GetObject", err, "PreconditionFailed")
			}
			if err == nil && tc.status != 200 {
				rc.Close()
			}
			// HeadObject evaluates the same conditions.
			_, err = c.StatObject(testCtx(t), b, "k", o)
			switch tc.status {
			case 200:
				if err != nil {
					t.Errorf("HeadObject: %v, want 200", describe(err))
				}
			default:
				if r := minio.ToErrorResponse(err); err == nil || r.StatusCode != tc.status {
					t.Errorf("HeadObject: %v, want status %d", describe(err), tc.status)
				}
			}
		})
	}
}

// User metadata and the stored content headers round-trip through
// PutObject, HeadObject and GetObject.
func TestMinioMetadata(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	b := bucketName(t, "meta")
	makeBucket(t, c, b)

	expires := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	opts := minio.PutObjectOptions{
		UserMetadata:       map[string]string{"color": "blue", "Mixed-Case": "Some Value", "empty-ish": "-"},
		ContentType:        "text/plain; charset=utf-8",
		ContentEncoding:    "deflate",
		ContentDisposition: `attachment; filename="report.txt"`,
		ContentLanguage:    "en-GB",
		CacheControl:       "max-age=60, private",
		Expires:            expires,
	}
	for _, size := range []int{10, 6 << 20} { // inline and chunked
		key := fmt.Sprintf("meta-%d", size)
		data := randBytes(uint64(size), size)
		putBytes(t, c, b, key, data, opts)
		check := func(what string, oi minio.ObjectInfo) {
			t.Helper()
			if oi.ContentType != opts.ContentType {
				t.Errorf("%s %s: Content-Type %q, want %q", what, key, oi.ContentType, opts.ContentType)
			}
			for h, want := range map[string]string{
				"Content-Encoding":    opts.ContentEncoding,
				"Content-Disposition": opts.ContentDisposition,
				"Content-Language":    opts.ContentLanguage,
				"Cache-Control":       opts.CacheControl,
			} {
				if got := oi.Metadata.Get(h); got != want {
					t.Errorf("%s %s: %s %q, want %q", what, key, h, got, want)
				}
			}
			if !oi.Expires.Equal(expires) {
				t.Errorf("%s %s: Expires %v, want %v", what, key, oi.Expires, expires)
			}
			for k, want := range opts.UserMetadata {
				if got := oi.Metadata.Get("X-Amz-Meta-" + k); got != want {
					t.Errorf("%s %s: x-amz-meta-%s %q, want %q", what, key, k, got, want)
				}
			}
		}
		st, err := c.StatObject(ctx, b, key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("StatObject: %v", describe(err))
		}
		check("HeadObject", st)
		obj, err := c.GetObject(ctx, b, key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(describe(err))
		}
		oi, err := obj.Stat()
		if err != nil {
			t.Fatalf("GetObject: %v", describe(err))
		}
		check("GetObject", oi)
		got, _ := io.ReadAll(obj)
		obj.Close()
		sameBytes(t, "body", got, data)
	}
}

// CopyObject with the COPY and REPLACE metadata directives, across
// buckets, onto itself, and its errors.
func TestMinioCopyObject(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	b := bucketName(t, "copy")
	b2 := bucketName(t, "copy-dst")
	makeBucket(t, c, b)
	makeBucket(t, c, b2)

	small := randBytes(11, 3000)
	srcInfo := putBytes(t, c, b, "src", small, minio.PutObjectOptions{ContentType: "text/x-src", UserMetadata: map[string]string{"origin": "src"}})
	big := randBytes(12, 20<<20)
	putBytes(t, c, b, "src-mp", big, minio.PutObjectOptions{PartSize: 5 << 20})

	t.Run("COPY", func(t *testing.T) {
		if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "dst"}, minio.CopySrcOptions{Bucket: b, Object: "src"}); err != nil {
			t.Fatalf("CopyObject: %v", describe(err))
		}
		st, err := c.StatObject(ctx, b, "dst", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(describe(err))
		}
		if st.ETag != srcInfo.ETag || st.ContentType != "text/x-src" || st.Metadata.Get("X-Amz-Meta-Origin") != "src" {
			t.Errorf("copy: etag %q type %q origin %q; want %q text/x-src src", st.ETag, st.ContentType, st.Metadata.Get("X-Amz-Meta-Origin"), srcInfo.ETag)
		}
		sameBytes(t, "copy body", getBytes(t, c, b, "dst", minio.GetObjectOptions{}), small)
	})
	t.Run("REPLACE", func(t *testing.T) {
		dst := minio.CopyDestOptions{Bucket: b2, Object: "dst", ReplaceMetadata: true, UserMetadata: map[string]string{"fresh": "yes"}, ContentType: "application/x-new"}
		if _, err := c.CopyObject(ctx, dst, minio.CopySrcOptions{Bucket: b, Object: "src"}); err != nil {
			t.Fatalf("CopyObject REPLACE: %v", describe(err))
		}
		st, err := c.StatObject(ctx, b2, "dst", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(describe(err))
		}
		if st.ContentType != "application/x-new" || st.Metadata.Get("X-Amz-Meta-Fresh") != "yes" || st.Metadata.Get("X-Amz-Meta-Origin") != "" {
			t.Errorf("copy REPLACE: type %q fresh %q origin %q; want application/x-new, yes, none", st.ContentType, st.Metadata.Get("X-Amz-Meta-Fresh"), st.Metadata.Get("X-Amz-Meta-Origin"))
		}
		sameBytes(t, "copy body", getBytes(t, c, b2, "dst", minio.GetObjectOptions{}), small)
	})
	t.Run("multipart source", func(t *testing.T) {
		if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b2, Object: "mp-copy"}, minio.CopySrcOptions{Bucket: b, Object: "src-mp"}); err != nil {
			t.Fatalf("CopyObject: %v", describe(err))
		}
		sameBytes(t, "copy of multipart", getBytes(t, c, b2, "mp-copy", minio.GetObjectOptions{}), big)
		// The source is untouched by deleting the copy.
		if err := c.RemoveObject(ctx, b2, "mp-copy", minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(describe(err))
		}
		sameBytes(t, "source after deleting the copy", getBytes(t, c, b, "src-mp", minio.GetObjectOptions{}), big)
	})
	t.Run("onto itself", func(t *testing.T) {
		putBytes(t, c, b, "self", small, minio.PutObjectOptions{UserMetadata: map[string]string{"v": "1"}})
		// Without REPLACE, copying an object onto itself is InvalidRequest.
		core := minio.Core{Client: c}
		_, err := core.CopyObject(ctx, b, "self", b, "self", nil, minio.CopySrcOptions{}, minio.PutObjectOptions{})
		wantCode(t, "CopyObject onto itself with COPY", err, "InvalidRequest")
		dst := minio.CopyDestOptions{Bucket: b, Object: "self", ReplaceMetadata: true, UserMetadata: map[string]string{"v": "2"}}
		if _, err := c.CopyObject(ctx, dst, minio.CopySrcOptions{Bucket: b, Object: "self"}); err != nil {
			t.Fatalf("CopyObject onto itself with REPLACE: %v", describe(err))
		}
		st, err := c.StatObject(ctx, b, "self", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(describe(err))
		}
		if st.Metadata.Get("X-Amz-Meta-V") != "2" {
			t.Errorf("metadata after self-copy: v=%q, want 2", st.Metadata.Get("X-Amz-Meta-V"))
		}
		sameBytes(t, "body after self-copy", getBytes(t, c, b, "self", minio.GetObjectOptions{}), small)
	})
	t.Run("errors", func(t *testing.T) {
		_, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "x"}, minio.CopySrcOptions{Bucket: b, Object: "no-such-source"})
		wantCode(t, "CopyObject from a missing key", err, "NoSuchKey")
		_, err = c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "x"}, minio.CopySrcOptions{Bucket: b, Object: "src", MatchETag: "0123456789abcdef0123456789abcdef"})
		wantCode(t, "CopyObject with x-amz-copy-source-if-match mismatch", err, "PreconditionFailed")
		if _, err := c.StatObject(ctx, b, "x", minio.StatObjectOptions{}); err == nil {
			t.Errorf("failed copies created the destination")
		}
	})
}

// listingKeys is the key set of the listing tests: 20 directories of 5
// subdirectories of 24 files, 96 top-level files and 4 awkward names.
func listingKeys() []string {
	var keys []string
	for d := 0; d < 20; d++ {
		for sd := 0; sd < 5; sd++ {
			for f := 0; f < 24; f++ {
				keys = append(keys, fmt.Sprintf("d%02d/s%d/f%02d", d, sd, f))
			}
		}
	}
	for i := 0; i < 96; i++ {
		keys = append(keys, fmt.Sprintf("top-%03d", i))
	}
	keys = append(keys, "with space.txt", "plus+sign", "100%.csv", "ünïcødé/ключ/名前")
	sort.Strings(keys)
	return keys
}

// putMany uploads small objects with 8 workers.
func putMany(t testing.TB, c *minio.Client, bucket string, keys []string) {
	t.Helper()
	ctx := testCtx(t)
	work := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				body := []byte("body of " + k)
				_, err := c.PutObject(ctx, bucket, k, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("PutObject(%q): %s", k, describe(err))
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

func listKeys(t testing.TB, c *minio.Client, bucket string, o minio.ListObjectsOptions) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var got []string
	for oi := range c.ListObjects(ctx, bucket, o) {
		if oi.Err != nil {
			t.Fatalf("ListObjects(%+v): %v", o, describe(oi.Err))
		}
		got = append(got, oi.Key)
		// A server whose pages never end (a marker or continuation
		// token that does not advance) must fail the test, not eat memory.
		if len(got) > 100_000 {
			t.Fatalf("ListObjects(%+v): more than 100000 entries: pagination does not advance (last %q)", o, oi.Key)
		}
	}
	return got
}

func diffLists(t testing.TB, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	g, w := "<end>", "<end>"
	if i < len(got) {
		g = got[i]
	}
	if i < len(want) {
		w = want[i]
	}
	t.Errorf("%s: got %d entries, want %d; first difference at %d: got %q, want %q", what, len(got), len(want), i, g, w)
}

// delimited computes the expected ListObjects result with delimiter "/".
func delimited(keys []string, prefix string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		rest := k[len(prefix):]
		if i := strings.Index(rest, "/"); i >= 0 {
			p := prefix + rest[:i+1]
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
			continue
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func filter(keys []string, keep func(string) bool) []string {
	var out []string
	for _, k := range keys {
		if keep(k) {
			out = append(out, k)
		}
	}
	return out
}

// ListObjectsV2 and V1 over 2,500 keys: prefixes, delimiter, pagination,
// start-after, and awkward characters (minio-go asks for encoding-type=url).
func TestMinioListing(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	b := bucketName(t, "list")
	makeBucket(t, c, b)
	keys := listingKeys()
	if len(keys) != 2500 {
		t.Fatalf("listingKeys: %d keys", len(keys))
	}
	putMany(t, c, b, keys)

	cases := []struct {
		name string
		opts minio.ListObjectsOptions
		want []string
	}{
		{"recursive", minio.ListObjectsOptions{Recursive: true}, keys},
		{"recursive pages of 97", minio.ListObjectsOptions{Recursive: true, MaxKeys: 97}, keys},
		{"root with delimiter", minio.ListObjectsOptions{}, delimited(keys, "")},
		{"root with delimiter pages of 7", minio.ListObjectsOptions{MaxKeys: 7}, delimited(keys, "")},
		{"prefix d07/ delimiter", minio.ListObjectsOptions{Prefix: "d07/"}, delimited(keys, "d07/")},
		{"prefix d07/s3/ recursive", minio.ListObjectsOptions{Prefix: "d07/s3/", Recursive: true}, filter(keys, func(k string) bool { return strings.HasPrefix(k, "d07/s3/") })},
		{"prefix without slash", minio.ListObjectsOptions{Prefix: "d1", Recursive: true}, filter(keys, func(k string) bool { return strings.HasPrefix(k, "d1") })},
		{"unicode prefix", minio.ListObjectsOptions{Prefix: "ünïcødé/"}, []string{"ünïcødé/ключ/"}},
		{"no match", minio.ListObjectsOptions{Prefix: "zzz", Recursive: true}, nil},
		{"start-after", minio.ListObjectsOptions{Recursive: true, StartAfter: "d10/s2/f10"}, filter(keys, func(k string) bool { return k > "d10/s2/f10" })},
		{"start-after with prefix and pages", minio.ListObjectsOptions{Recursive: true, Prefix: "d1", StartAfter: "d15", MaxKeys: 50}, filter(keys, func(k string) bool { return strings.HasPrefix(k, "d1") && k > "d15" })},
		{"V1 recursive pages of 300", minio.ListObjectsOptions{UseV1: true, Recursive: true, MaxKeys: 300}, keys},
		{"V1 delimiter pages of 7", minio.ListObjectsOptions{UseV1: true, MaxKeys: 7}, delimited(keys, "")},
		{"V1 prefix d03/ delimiter", minio.ListObjectsOptions{UseV1: true, Prefix: "d03/"}, delimited(keys, "d03/")},
		{"V1 marker", minio.ListObjectsOptions{UseV1: true, Recursive: true, StartAfter: "top-050"}, filter(keys, func(k string) bool { return k > "top-050" })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := listKeys(t, c, b, tc.opts)
			if !tc.opts.Recursive {
				// minio-go yields each page's keys before its common
				// prefixes, so only the set is the server's.
				sort.Strings(got)
			}
			diffLists(t, "ListObjects", got, tc.want)
		})
	}

	// Page-level checks that minio-go's iterator hides.
	t.Run("V2 pages", func(t *testing.T) {
		t.Parallel()
		core := minio.Core{Client: c}
		var all []string
		token := ""
		pages := 0
		for {
			res, err := core.ListObjectsV2(b, "", "", token, "", 1000)
			if err != nil {
				t.Fatalf("ListObjectsV2 page %d: %v", pages, describe(err))
			}
			pages++
			for _, o := range res.Contents {
				all = append(all, o.Key)
			}
			if res.IsTruncated != (len(all) < len(keys)) {
				t.Errorf("page %d: IsTruncated %v after %d of %d keys", pages, res.IsTruncated, len(all), len(keys))
			}
			if len(res.Contents) != 1000 && res.IsTruncated {
				t.Errorf("page %d: %d keys, want 1000 (max-keys) on a truncated page", pages, len(res.Contents))
			}
			if !res.IsTruncated {
				break
			}
			if res.NextContinuationToken == "" {
				t.Fatalf("page %d: truncated without NextContinuationToken", pages)
			}
			token = res.NextContinuationToken
			if pages > 10 {
				t.Fatalf("more than 10 pages of 1000 for %d keys", len(keys))
			}
		}
		if pages != 3 {
			t.Errorf("%d pages of max 1000 for 2500 keys, want 3", pages)
		}
		diffLists(t, "V2 pages", all, keys)
	})
	t.Run("V2 common prefixes count toward max-keys", func(t *testing.T) {
		t.Parallel()
		core := minio.Core{Client: c}
		res, err := core.ListObjectsV2(b, "", "", "", "/", 5)
		if err != nil {
			t.Fatal(describe(err))
		}
		n := len(res.Contents) + len(res.CommonPrefixes)
		if n != 5 || !res.IsTruncated {
			t.Errorf("max-keys 5 with delimiter: %d contents + %d prefixes, truncated %v; want 5 in all, truncated", len(res.Contents), len(res.CommonPrefixes), res.IsTruncated)
		}
		for _, p := range res.CommonPrefixes {
			if !strings.HasSuffix(p.Prefix, "/") {
				t.Errorf("common prefix %q does not end in the delimiter", p.Prefix)
			}
		}
	})
	t.Run("V1 NextMarker with delimiter", func(t *testing.T) {
		t.Parallel()
		core := minio.Core{Client: c}
		var all []string
		marker := ""
		for i := 0; ; i++ {
			res, err := core.ListObjects(b, "d0", marker, "/", 3)
			if err != nil {
				t.Fatalf("ListObjects V1: %v", describe(err))
			}
			for _, p := range res.CommonPrefixes {
				all = append(all, p.Prefix)
			}
			for _, o := range res.Contents {
				all = append(all, o.Key)
			}
			if !res.IsTruncated {
				break
			}
			if res.NextMarker == "" {
				t.Fatalf("V1 page %d truncated with a delimiter but no NextMarker", i)
			}
			marker = res.NextMarker
			if i > 20 {
				t.Fatal("too many pages")
			}
		}
		sort.Strings(all)
		diffLists(t, "V1 pages", all, delimited(keys, "d0"))
	})
}

// RemoveObjects (DeleteObjects, 1000 keys per request) including keys that
// do not exist.
func TestMinioRemoveObjects(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	b := bucketName(t, "rmobjs")
	makeBucket(t, c, b)
	var keys []string
	for i := 0; i < 1200; i++ {
		keys = append(keys, fmt.Sprintf("batch/%04d", i))
	}
	keys = append(keys, "keep-me")
	putMany(t, c, b, keys)

	ch := make(chan minio.ObjectInfo)
	go func() {
		defer close(ch)
		for _, k := range keys[:1200] {
			ch <- minio.ObjectInfo{Key: k}
		}
		for i := 0; i < 5; i++ {
			ch <- minio.ObjectInfo{Key: fmt.Sprintf("never-existed/%d", i)}
		}
	}()
	for e := range c.RemoveObjects(ctx, b, ch, minio.RemoveObjectsOptions{}) {
		t.Errorf("RemoveObjects: %s: %v", e.ObjectName, describe(e.Err))
	}
	diffLists(t, "after RemoveObjects", listKeys(t, c, b, minio.ListObjectsOptions{Recursive: true}), []string{"keep-me"})
}

// Versioning: enable, versions listing, GET by version, delete markers and
// deleting specific versions.
func TestMinioVersioning(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	b := bucketName(t, "versions")
	makeBucket(t, c, b)

	cfg, err := c.GetBucketVersioning(ctx, b)
	if err != nil {
		t.Fatalf("GetBucketVersioning: %v", describe(err))
	}
	if cfg.Status != "" {
		t.Errorf("new bucket versioning %q, want unset", cfg.Status)
	}
	if err := c.EnableVersioning(ctx, b); err != nil {
		t.Fatalf("EnableVersioning: %v", describe(err))
	}
	if cfg, err := c.GetBucketVersioning(ctx, b); err != nil || cfg.Status != "Enabled" {
		t.Fatalf("GetBucketVersioning = %q, %v; want Enabled", cfg.Status, describe(err))
	}

	v1 := []byte("version one")
	v2 := randBytes(3, 5<<20) // chunked
	i1 := putBytes(t, c, b, "doc", v1, minio.PutObjectOptions{})
	i2 := putBytes(t, c, b, "doc", v2, minio.PutObjectOptions{})
	if i1.VersionID == "" || i2.VersionID == "" || i1.VersionID == i2.VersionID {
		t.Fatalf("version ids %q, %q; want two distinct ids", i1.VersionID, i2.VersionID)
	}
	sameBytes(t, "latest", getBytes(t, c, b, "doc", minio.GetObjectOptions{}), v2)
	sameBytes(t, "GET versionId=v1", getBytes(t, c, b, "doc", minio.GetObjectOptions{VersionID: i1.VersionID}), v1)
	sameBytes(t, "GET versionId=v2", getBytes(t, c, b, "doc", minio.GetObjectOptions{VersionID: i2.VersionID}), v2)

	versions := func() []minio.ObjectInfo {
		t.Helper()
		var out []minio.ObjectInfo
		for o := range c.ListObjects(ctx, b, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
			if o.Err != nil {
				t.Fatalf("ListObjectVersions: %v", describe(o.Err))
			}
			out = append(out, o)
		}
		return out
	}
	vs := versions()
	if len(vs) != 2 || vs[0].VersionID != i2.VersionID || !vs[0].IsLatest || vs[1].VersionID != i1.VersionID || vs[1].IsLatest {
		t.Errorf("versions = %s; want [%s latest, %s]", fmtVersions(vs), i2.VersionID, i1.VersionID)
	}

	// A plain DELETE writes a delete marker.
	if err := c.RemoveObject(ctx, b, "doc", minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("RemoveObject: %v", describe(err))
	}
	_, err = tryGet(ctx, c, b, "doc", minio.GetObjectOptions{})
	wantCode(t, "GET after delete marker", err, "NoSuchKey")
	vs = versions()
	if len(vs) != 3 || !vs[0].IsDeleteMarker || !vs[0].IsLatest {
		t.Fatalf("versions after delete = %s; want a latest delete marker first and 3 entries", fmtVersions(vs))
	}
	marker := vs[0].VersionID
	sameBytes(t, "old version after delete marker", getBytes(t, c, b, "doc", minio.GetObjectOptions{VersionID: i2.VersionID}), v2)
	// GET of the delete marker's version: 405 MethodNotAllowed.
	_, err = tryGet(ctx, c, b, "doc", minio.GetObjectOptions{VersionID: marker})
	wantCode(t, "GET versionId=<delete marker>", err, "MethodNotAllowed")
	// Unversioned listing hides the key.
	diffLists(t, "ListObjects after delete marker", listKeys(t, c, b, minio.ListObjectsOptions{Recursive: true}), nil)

	// Deleting the marker brings back v2.
	if err := c.RemoveObject(ctx, b, "doc", minio.RemoveObjectOptions{VersionID: marker}); err != nil {
		t.Fatalf("RemoveObject(versionId=marker): %v", describe(err))
	}
	sameBytes(t, "latest after removing the marker", getBytes(t, c, b, "doc", minio.GetObjectOptions{}), v2)
	// Deleting a specific version removes it for good.
	if err := c.RemoveObject(ctx, b, "doc", minio.RemoveObjectOptions{VersionID: i1.VersionID}); err != nil {
		t.Fatalf("RemoveObject(versionId=v1): %v", describe(err))
	}
	_, err = tryGet(ctx, c, b, "doc", minio.GetObjectOptions{VersionID: i1.VersionID})
	if code := minio.ToErrorResponse(err).Code; code != "NoSuchVersion" && code != "InvalidArgument" {
		t.Errorf("GET deleted version: %v, want NoSuchVersion", describe(err))
	}
	vs = versions()
	if len(vs) != 1 || vs[0].VersionID != i2.VersionID {
		t.Errorf("versions at the end = %s; want only %s", fmtVersions(vs), i2.VersionID)
	}

	// Suspending keeps old versions and writes "null" versions.
	if err := c.SuspendVersioning(ctx, b); err != nil {
		t.Fatalf("SuspendVersioning: %v", describe(err))
	}
	i3 := putBytes(t, c, b, "doc", []byte("null version"), minio.PutObjectOptions{})
	if i3.VersionID != "" && i3.VersionID != "null" {
		t.Errorf("PutObject on a suspended bucket: version id %q, want none or null", i3.VersionID)
	}
	sameBytes(t, "v2 kept after suspend", getBytes(t, c, b, "doc", minio.GetObjectOptions{VersionID: i2.VersionID}), v2)
}

func fmtVersions(vs []minio.ObjectInfo) string {
	var parts []string
	for _, v := range vs {
		s := v.Key + "@" + v.VersionID
		if v.IsLatest {
			s += "(latest)"
		}
		if v.IsDeleteMarker {
			s += "(marker)"
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// Presigned URLs (SigV4 query auth) used by a plain HTTP client.
func TestMinioPresigned(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	b := bucketName(t, "presign")
	makeBucket(t, c, b)
	data := randBytes(5, 300<<10)
	key := "dir/pre signed+key.bin"

	u, err := c.PresignedPutObject(ctx, b, key, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), bytes.NewReader(data))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("presigned PUT: %s\n%s", resp.Status, body)
	}
	if et := trimETag(resp.Header.Get("ETag")); et != md5Hex(data) {
		t.Errorf("presigned PUT ETag %q, want %q", et, md5Hex(data))
	}

	u, err = c.PresignedGetObject(ctx, b, key, 15*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("presigned GET: %s\n%s", resp.Status, got)
	}
	sameBytes(t, "presigned GET", got, data)

	u, err = c.PresignedHeadObject(ctx, b, key, 15*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Head(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(data)) {
		t.Errorf("presigned HEAD: %s length %d, want 200 and %d", resp.Status, resp.ContentLength, len(data))
	}

	// A tampered signature is refused, a URL for another key is refused.
	u, _ = c.PresignedGetObject(ctx, b, key, 15*time.Minute, nil)
	q := u.Query()
	sig := []byte(q.Get("X-Amz-Signature"))
	sig[0] ^= 1
	if sig[0] > 'f' || (sig[0] > '9' && sig[0] < 'a') {
		sig[0] = '0'
	}
	q.Set("X-Amz-Signature", string(sig))
	u.RawQuery = q.Encode()
	status, code := rawCode(t, http.MethodGet, u.String(), nil)
	if status != 403 || code != "SignatureDoesNotMatch" {
		t.Errorf("presigned GET with a bad signature: %d %s, want 403 SignatureDoesNotMatch", status, code)
	}
	u, _ = c.PresignedGetObject(ctx, b, key, 15*time.Minute, nil)
	u.Path = u.Path + "-other"
	status, code = rawCode(t, http.MethodGet, u.String(), nil)
	if status != 403 || code != "SignatureDoesNotMatch" {
		t.Errorf("presigned GET for another key: %d %s, want 403 SignatureDoesNotMatch", status, code)
	}
}

// PutObject with an unknown size (-1): minio-go streams multipart parts.
func TestMinioUnknownSize(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	b := bucketName(t, "unknown")
	makeBucket(t, c, b)
	for _, size := range []int{0, 3 << 20, 12 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			data := randBytes(uint64(size), size)
			key := fmt.Sprintf("stream-%d", size)
			// io.MultiReader hides Seek/ReadAt/Len: a pure stream.
			_, err := c.PutObject(testCtx(t), b, key, io.MultiReader(bytes.NewReader(data)), -1, minio.PutObjectOptions{PartSize: 5 << 20})
			if err != nil {
				t.Fatalf("PutObject(size -1): %v", describe(err))
			}
			sameBytes(t, "GetObject", getBytes(t, c, b, key, minio.GetObjectOptions{}), data)
		})
	}
}

// minio-go's TrailingHeaders option: uploads carry a CRC32C trailer in
// signed aws-chunked bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER),
// or unsigned ones (STREAMING-UNSIGNED-PAYLOAD-TRAILER) without the
// content SHA-256.
func TestMinioTrailingHeaders(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s, withTrailingHeaders())
	b := bucketName(t, "trailer")
	makeBucket(t, c, b)
	crc32c := algoByName(t, "CRC32C")
	// Over plain HTTP minio-go only adds a trailer to a single PUT when a
	// checksum is asked for; parts always get one.
	cases := []struct {
		name     string
		size     int
		partSize uint64
		unsigned bool
		checksum minio.ChecksumType
	}{
		{"single signed", 1 << 20, 0, false, minio.ChecksumCRC32C},
		{"single unsigned", 1 << 20, 0, true, minio.ChecksumCRC32C},
		{"multipart signed", 12 << 20, 5 << 20, false, minio.ChecksumNone},
		{"multipart unsigned", 12 << 20, 5 << 20, true, minio.ChecksumNone},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			data := randBytes(uint64(40+i), tc.size)
			key := strings.ReplaceAll(tc.name, " ", "-")
			_, err := c.PutObject(ctx, b, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{PartSize: tc.partSize, DisableContentSha256: tc.unsigned, Checksum: tc.checksum})
			if err != nil {
				t.Fatalf("PutObject: %v", describe(err))
			}
			got, err := tryGet(ctx, c, b, key, minio.GetObjectOptions{Checksum: true})
			if err != nil {
				t.Fatalf("GetObject(checksum mode): %v", describe(err))
			}
			sameBytes(t, "GetObject", got, data)
			st, err := c.StatObject(ctx, b, key, minio.StatObjectOptions{Checksum: true})
			if err != nil {
				t.Fatal(describe(err))
			}
			want := crc32c.full(data)
			if tc.partSize > 0 {
				// minio-go asks for a COMPOSITE CRC32C on multipart uploads.
				want = crc32c.compositeOf(data, int(tc.partSize))
			}
			if st.ChecksumCRC32C != want {
				t.Errorf("HeadObject (checksum mode): x-amz-checksum-crc32c = %q, want %q", st.ChecksumCRC32C, want)
			}
		})
	}
	// AutoChecksum picks the algorithm of the part trailers: a FULL_OBJECT
	// CRC32 (combined from the parts) and a COMPOSITE SHA-256.
	for i, tc := range []struct {
		name      string
		auto      minio.ChecksumType
		algo      string
		composite bool
	}{
		{"AutoChecksum full-object CRC32", minio.ChecksumFullObjectCRC32, "CRC32", false},
		{"AutoChecksum SHA256", minio.ChecksumSHA256, "SHA256", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			a := algoByName(t, tc.algo)
			data := randBytes(uint64(90+i), 11<<20)
			key := strings.ReplaceAll(tc.name, " ", "-")
			_, err := c.PutObject(ctx, b, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{PartSize: 5 << 20, AutoChecksum: tc.auto})
			if err != nil {
				t.Fatalf("PutObject(AutoChecksum %s): %v", tc.algo, describe(err))
			}
			st, err := c.StatObject(ctx, b, key, minio.StatObjectOptions{Checksum: true})
			if err != nil {
				t.Fatal(describe(err))
			}
			want, wantType := a.full(data), "FULL_OBJECT"
			if tc.composite {
				want, wantType = a.compositeOf(data, 5<<20), "COMPOSITE"
			}
			if got := infoChecksum(tc.algo, st); got != want {
				t.Errorf("HeadObject (checksum mode) %s = %q, want %q", a.header(), got, want)
			}
			if st.ChecksumMode != wantType {
				t.Errorf("x-amz-checksum-type = %q, want %q", st.ChecksumMode, wantType)
			}
		})
	}
	// A trailer that does not match the body is refused and stores nothing.
	t.Run("bad trailer", func(t *testing.T) {
		ctx := testCtx(t)
		data := randBytes(99, 100<<10)
		_, err := c.PutObject(ctx, b, "bad-trailer", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
			UserMetadata: map[string]string{"x-amz-checksum-crc32c": crc32c.full([]byte("other"))},
		})
		wantCode(t, "PutObject with a wrong x-amz-checksum-crc32c", err, "BadDigest")
		_, err = c.StatObject(ctx, b, "bad-trailer", minio.StatObjectOptions{})
		wantCode(t, "StatObject after a refused upload", err, "NoSuchKey")
	})
}

// Additional checksums: PutObject with each algorithm, single and
// multipart; HEAD/GET with checksum mode return them. minio-go needs
// TrailingHeaders for PutObjectOptions.Checksum on multipart uploads.
func TestMinioChecksums(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s, withTrailingHeaders())
	plain := newClient(t, s)
	b := bucketName(t, "checksums")
	makeBucket(t, c, b)
	for i, a := range checksumAlgos {
		for _, mp := range []bool{false, true} {
			name := a.name + "/single"
			size, part := 1<<20+3, uint64(0)
			if mp {
				name = a.name + "/multipart"
				size, part = 11<<20, 5<<20
			}
			t.Run(name, func(t *testing.T) {
				ctx := testCtx(t)
				data := randBytes(uint64(60+i), size)
				key := strings.ReplaceAll(name, "/", "-")
				info, err := c.PutObject(ctx, b, key, bytes.NewReader(data), int64(size), minio.PutObjectOptions{Checksum: a.minio, PartSize: part})
				if err != nil {
					t.Fatalf("PutObject(Checksum %s): %v", a.name, describe(err))
				}
				want := a.full(data)
				if mp && a.composite {
					want = a.compositeOf(data, int(part))
				}
				if got := uploadChecksum(a.name, info); got != "" && got != want && got+"-3" != want {
					t.Errorf("PutObject response %s = %q, want %q", a.header(), got, want)
				}
				st, err := c.StatObject(ctx, b, key, minio.StatObjectOptions{Checksum: true})
				if err != nil {
					t.Fatalf("HeadObject: %v", describe(err))
				}
				if got := infoChecksum(a.name, st); got != want {
					t.Errorf("HeadObject (checksum mode) %s = %q, want %q", a.header(), got, want)
				}
				wantType := "FULL_OBJECT"
				if mp && a.composite {
					wantType = "COMPOSITE"
				}
				if got := st.ChecksumMode; got != "" && got != wantType {
					t.Errorf("x-amz-checksum-type = %q, want %q", got, wantType)
				}
				got, err := tryGet(ctx, c, b, key, minio.GetObjectOptions{Checksum: true})
				if err != nil {
					t.Fatalf("GetObject (checksum mode): %v", describe(err))
				}
				sameBytes(t, "GetObject", got, data)
				// Without checksum mode no checksum headers are sent.
				st, err = c.StatObject(ctx, b, key, minio.StatObjectOptions{})
				if err != nil {
					t.Fatal(describe(err))
				}
				if v := st.Metadata.Get(a.header()); v != "" {
					t.Errorf("HeadObject without checksum mode returned %s: %s", a.header(), v)
				}
			})
		}
	}
	// With no checksum requested, AWS stores CRC64NVME for new objects.
	t.Run("default CRC64NVME", func(t *testing.T) {
		ctx := testCtx(t)
		data := randBytes(77, 70<<10)
		putBytes(t, plain, b, "default", data, minio.PutObjectOptions{})
		st, err := plain.StatObject(ctx, b, "default", minio.StatObjectOptions{Checksum: true})
		if err != nil {
			t.Fatal(describe(err))
		}
		if want := algoByName(t, "CRC64NVME").full(data); st.ChecksumCRC64NVME != want {
			t.Errorf("default checksum: x-amz-checksum-crc64nvme = %q, want %q", st.ChecksumCRC64NVME, want)
		}
	})
}

// S3 error codes that clients branch on.
func TestMinioErrorCodes(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	b := bucketName(t, "errors")
	missing := bucketName(t, "nosuch")
	makeBucket(t, c, b)
	info := putBytes(t, c, b, "k", []byte("0123456789"), minio.PutObjectOptions{})

	_, err := tryGet(ctx, c, b, "missing-key", minio.GetObjectOptions{})
	wantCode(t, "GetObject of a missing key", err, "NoSuchKey")
	_, err = c.StatObject(ctx, b, "missing-key", minio.StatObjectOptions{})
	wantCode(t, "HeadObject of a missing key", err, "NoSuchKey")
	_, err = tryGet(ctx, c, missing, "k", minio.GetObjectOptions{})
	wantCode(t, "GetObject in a missing bucket", err, "NoSuchBucket")
	_, err = c.PutObject(ctx, missing, "k", bytes.NewReader(nil), 0, minio.PutObjectOptions{})
	wantCode(t, "PutObject in a missing bucket", err, "NoSuchBucket")
	for o := range c.ListObjects(ctx, missing, minio.ListObjectsOptions{}) {
		wantCode(t, "ListObjectsV2 of a missing bucket", o.Err, "NoSuchBucket")
	}
	wantCode(t, "DeleteBucket of a non-empty bucket", c.RemoveBucket(ctx, b), "BucketNotEmpty")
	resp := raw{t, s}.do(http.MethodPut, "/Invalid_Name", nil, nil, nil)
	wantErr(t, "CreateBucket with an invalid name", resp, 400, "InvalidBucketName")

	var o minio.GetObjectOptions
	o.SetMatchETag("ffffffffffffffffffffffffffffffff")
	_, err = tryGet(ctx, c, b, "k", o)
	wantCode(t, "GetObject If-Match mismatch", err, "PreconditionFailed")
	o = minio.GetObjectOptions{}
	o.SetRange(50, 60)
	_, err = tryGet(ctx, c, b, "k", o)
	wantCode(t, "GetObject bytes=50-60 of 10 bytes", err, "InvalidRange")

	// Conditional writes: If-None-Match: * on an existing key.
	po := minio.PutObjectOptions{}
	po.SetMatchETagExcept("*")
	_, err = c.PutObject(ctx, b, "k", bytes.NewReader([]byte("new")), 3, po)
	wantCode(t, "PutObject If-None-Match: * on an existing key", err, "PreconditionFailed")
	po = minio.PutObjectOptions{}
	po.SetMatchETag("ffffffffffffffffffffffffffffffff")
	_, err = c.PutObject(ctx, b, "k", bytes.NewReader([]byte("new")), 3, po)
	wantCode(t, "PutObject If-Match mismatch", err, "PreconditionFailed")
	if st, err := c.StatObject(ctx, b, "k", minio.StatObjectOptions{}); err != nil || st.ETag != info.ETag {
		t.Errorf("object changed by refused conditional writes: %v %v", st.ETag, describe(err))
	}
}

// Authentication failures: wrong secret, unknown key, anonymous request.
func TestMinioAuthErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	b := bucketName(t, "auth")
	makeBucket(t, c, b)
	putBytes(t, c, b, "k", []byte("secret data"), minio.PutObjectOptions{})

	// Region pinned so minio-go does not probe GetBucketLocation first.
	bad := newClient(t, s, withCreds(s.User(), s.Password()+"x"), withRegion(s.Region()))
	_, err := tryGet(ctx, bad, b, "k", minio.GetObjectOptions{})
	wantCode(t, "GetObject with a wrong secret", err, "SignatureDoesNotMatch")
	_, err = bad.PutObject(ctx, b, "k2", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{})
	wantCode(t, "PutObject with a wrong secret", err, "SignatureDoesNotMatch")
	_, err = bad.ListBuckets(ctx)
	wantCode(t, "ListBuckets with a wrong secret", err, "SignatureDoesNotMatch")

	unknown := newClient(t, s, withCreds("AKIANOSUCHKEY0000000", "whatever-secret"), withRegion(s.Region()))
	_, err = tryGet(ctx, unknown, b, "k", minio.GetObjectOptions{})
	wantCode(t, "GetObject with an unknown access key", err, "InvalidAccessKeyId")

	for _, u := range []string{s.URL() + "/" + b + "/k", s.URL() + "/" + b, s.URL() + "/"} {
		status, code := rawCode(t, http.MethodGet, u, nil)
		if status != 403 || code != "AccessDenied" {
			t.Errorf("unsigned GET %s: %d %s, want 403 AccessDenied", u, status, code)
		}
	}
	status, code := rawCode(t, http.MethodPut, s.URL()+"/"+b+"/anon", []byte("x"))
	if status != 403 || code != "AccessDenied" {
		t.Errorf("unsigned PUT: %d %s, want 403 AccessDenied", status, code)
	}
	if _, err := c.StatObject(ctx, b, "anon", minio.StatObjectOptions{}); err == nil {
		t.Errorf("unsigned PUT created an object")
	}
	if _, err := c.StatObject(ctx, b, "k2", minio.StatObjectOptions{}); err == nil {
		t.Errorf("PUT with a wrong secret created an object")
	}
}

// Sub-resources forkstore does not implement answer NotImplemented and
// never fall through to the plain object operation (S3-PITFALLS 6).
func TestMinioNotImplemented(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	b := bucketName(t, "notimpl")
	makeBucket(t, c, b)
	data := []byte("must stay unchanged")
	info := putBytes(t, c, b, "k", data, minio.PutObjectOptions{UserMetadata: map[string]string{"m": "1"}})

	// PutObjectTagging changes the tags only (pitfall 6: a sub-resource
	// must never reach PutObject); PutObjectRetention of a bucket without
	// Object Lock is InvalidRequest and never reaches PutObject either.
	tg, _ := tags.NewTags(map[string]string{"a": "b"}, true)
	if err := c.PutObjectTagging(ctx, b, "k", tg, minio.PutObjectTaggingOptions{}); err != nil {
		t.Fatalf("PutObjectTagging: %v", describe(err))
	}
	mode, until := minio.Governance, time.Now().Add(time.Hour)
	err := c.PutObjectRetention(ctx, b, "k", minio.PutObjectRetentionOptions{Mode: &mode, RetainUntilDate: &until})
	wantCode(t, "PutObjectRetention", err, "InvalidRequest")
	if r := minio.ToErrorResponse(err); err != nil && r.StatusCode != http.StatusBadRequest {
		t.Errorf("PutObjectRetention status %d, want 400", r.StatusCode)
	}
	st, err := c.StatObject(ctx, b, "k", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(describe(err))
	}
	if st.ETag != info.ETag || st.Size != int64(len(data)) || st.Metadata.Get("X-Amz-Meta-M") != "1" {
		t.Errorf("object changed by PutObjectTagging: etag %q size %d m=%q", st.ETag, st.Size, st.Metadata.Get("X-Amz-Meta-M"))
	}
	sameBytes(t, "body after PutObjectTagging", getBytes(t, c, b, "k", minio.GetObjectOptions{}), data)

	// PutBucketTagging changes the bucket's tags only.
	if err := c.SetBucketTagging(ctx, b, tg); err != nil {
		t.Fatalf("PutBucketTagging: %v", describe(err))
	}
	if ok, err := c.BucketExists(ctx, b); !ok || err != nil {
		t.Errorf("bucket gone after sub-resource calls: %v %v", ok, describe(err))
	}
	diffLists(t, "objects after sub-resource calls", listKeys(t, c, b, minio.ListObjectsOptions{Recursive: true}), []string{"k"})
}
