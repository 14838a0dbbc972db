package s3api

import (
	"bytes"
	"testing"
)

// The cached signing key is the derived one, and differs whenever the
// secret, the date or the region does (a rotated secret is not answered
// with the old secret's key).
func TestCachedSigningKey(t *testing.T) {
	cases := [][3]string{
		{"secret-one", "20240203", "us-east-1"},
		{"secret-two", "20240203", "us-east-1"},
		{"secret-one", "20240204", "us-east-1"},
		{"secret-one", "20240203", "eu-west-1"},
		{"secret-one\x0020240203", "", "us-east-1"},
	}
	seen := map[string]bool{}
	for range 2 {
		for _, c := range cases {
			got := cachedSigningKey(c[0], c[1], c[2])
			if want := signingKey(c[0], c[1], c[2]); !bytes.Equal(got, want) {
				t.Fatalf("%q: cached key %x, derived %x", c, got, want)
			}
			seen[string(got)] = true
		}
	}
	if len(seen) != len(cases) {
		t.Fatalf("%d distinct keys for %d scopes", len(seen), len(cases))
	}
	// A full cache starts over instead of growing.
	c := signingKeyCache{max: 2}
	for _, s := range []string{"a", "b", "c"} {
		c.get(s, "20240203", "us-east-1")
	}
	if len(c.m) > 2 {
		t.Fatalf("cache holds %d keys, max 2", len(c.m))
	}
}
