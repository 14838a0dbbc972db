package meta

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

func badgerIterAll() badger.IteratorOptions { return badger.IteratorOptions{PrefetchValues: false} }

func keysOf(res *ListResult) []string {
	var out []string
	for _, o := range res.Objects {
		out = append(out, o.Key)
	}
	return out
}

// ListObjectsV2 on a plain bucket: prefix, delimiter (any string),
// start-after, MaxKeys with common prefixes counted, truncation.
func TestListPlain(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	for _, k := range []string{"a", "a/1", "a/2", "b/x/1", "b/y", "c", "c--d--e", "c--f", "d\x00z", "d\xff"} {
		tf.put("b", k, k)
	}
	cases := []struct {
		name  string
		opts  ListOptions
		keys  []string
		cps   []string
		trunc bool
		next  string
	}{
		{name: "all", opts: ListOptions{MaxKeys: 100}, keys: []string{"a", "a/1", "a/2", "b/x/1", "b/y", "c", "c--d--e", "c--f", "d\x00z", "d\xff"}},
		{name: "delim", opts: ListOptions{Delimiter: "/", MaxKeys: 100}, keys: []string{"a", "c", "c--d--e", "c--f", "d\x00z", "d\xff"}, cps: []string{"a/", "b/"}},
		{name: "prefix delim", opts: ListOptions{Prefix: "b/", Delimiter: "/", MaxKeys: 100}, keys: []string{"b/y"}, cps: []string{"b/x/"}},
		{name: "multi-char delim", opts: ListOptions{Prefix: "c", Delimiter: "--", MaxKeys: 100}, keys: []string{"c"}, cps: []string{"c--"}},
		{name: "max counts prefixes", opts: ListOptions{Delimiter: "/", MaxKeys: 2}, keys: []string{"a"}, cps: []string{"a/"}, trunc: true, next: "a/"},
		{name: "after prefix group", opts: ListOptions{Delimiter: "/", After: "a/", MaxKeys: 2}, keys: []string{"c"}, cps: []string{"b/"}, trunc: true, next: "c"},
		{name: "after inside group", opts: ListOptions{Delimiter: "/", After: "b/x/1", MaxKeys: 1}, keys: []string{"c"}, trunc: true, next: "c"},
		{name: "max 0", opts: ListOptions{MaxKeys: 0}},
		{name: "exact fit", opts: ListOptions{Prefix: "a/", MaxKeys: 2}, keys: []string{"a/1", "a/2"}},
		{name: "zero byte", opts: ListOptions{Prefix: "d\x00", MaxKeys: 5}, keys: []string{"d\x00z"}},
		{name: "delim zero", opts: ListOptions{Prefix: "d", Delimiter: "\x00", MaxKeys: 5}, keys: []string{"d\xff"}, cps: []string{"d\x00"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := tf.list("b", c.opts)
			if !reflect.DeepEqual(keysOf(res), c.keys) || !reflect.DeepEqual(res.CommonPrefixes, c.cps) || res.IsTruncated != c.trunc || res.Next != c.next {
				t.Fatalf("got keys %q cps %q trunc %v next %q", keysOf(res), res.CommonPrefixes, res.IsTruncated, res.Next)
			}
			for _, o := range res.Objects {
				if o.Inline != nil {
					t.Fatal("listing carries inline bytes")
				}
			}
		})
	}
	// Paging with every page size yields the full listing.
	for page := 1; page < 12; page++ {
		if got := tf.listAll("b", 0, page); !reflect.DeepEqual(got, cases[0].keys) {
			t.Fatalf("page %d: %q", page, got)
		}
	}
	// Delimiter paging: every page size yields the same keys + prefixes.
	for page := 1; page < 8; page++ {
		var got []string
		after := ""
		for {
			res := tf.list("b", ListOptions{Delimiter: "/", After: after, MaxKeys: page})
			got = append(got, keysOf(res)...)
			got = append(got, res.CommonPrefixes...)
			if !res.IsTruncated {
				break
			}
			after = res.Next
		}
		sort.Strings(got)
		if strings.Join(got, ",") != "a,a/,b/,c,c--d--e,c--f,d\x00z,d\xff" {
			t.Fatalf("page %d: %q", page, got)
		}
	}
}
