package s3api

import (
	"strings"
	"testing"
)

// FuzzDecodeCompleteMultipart: decoding never panics, and an accepted
// document has 1..10000 parts in strictly ascending order with quoted
// ETags (CompleteMultipartUpload).
func FuzzDecodeCompleteMultipart(f *testing.F) {
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"a"</ETag></Part></CompleteMultipartUpload>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		parts, err := decodeCompleteMultipart(data)
		if err != nil {
			return
		}
		if len(parts) == 0 || len(parts) > 10000 {
			t.Fatalf("%d parts accepted", len(parts))
		}
		prev := 0
		for _, p := range parts {
			if p.Number <= prev || p.Number > 10000 {
				t.Fatalf("part numbers not ascending in range: %+v", parts)
			}
			prev = p.Number
			if len(p.ETag) < 3 || !strings.HasPrefix(p.ETag, `"`) || !strings.HasSuffix(p.ETag, `"`) {
				t.Fatalf("etag %q not quoted", p.ETag)
			}
		}
	})
}

// FuzzDecodeDelete: decoding never panics, and an accepted DeleteObjects
// document names 1..1000 non-empty keys.
func FuzzDecodeDelete(f *testing.F) {
	f.Add([]byte(`<Delete><Object><Key>k</Key></Object></Delete>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := decodeDelete(data)
		if err != nil {
			return
		}
		if len(d.Objects) == 0 || len(d.Objects) > maxDeleteObjects {
			t.Fatalf("%d objects accepted", len(d.Objects))
		}
		for _, o := range d.Objects {
			if o.Key == "" {
				t.Fatal("empty key accepted")
			}
		}
	})
}
