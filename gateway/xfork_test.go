package gateway_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
	"github.com/forkstore/forkstore/meta"
)

const xShards = 4

func newXForkService(t *testing.T, hook func(step int) bool) *gateway.Service {
	t.Helper()
	cfg := gatewaytest.Config(t)
	cfg.InlineMax = 1 << 10
	cfg.MetaShards = xShards
	if hook != nil {
		gateway.SetForkStepHook(&cfg, hook)
		// Short, for the recovery of a creation cut short to come
		// soon, yet long enough that the recovery running in the
		// background does not abort a creation under way (a 1 ms
		// deadline made TestForkBatchAcrossShards fail under -race).
		cfg.ForkIntentTimeout = time.Second
	}
	return gatewaytest.NewNode(t, cfg).Service()
}

// remoteNames returns n fork names that the placement puts on another
// shard than shard.
func remoteNames(prefix string, shard uint64, n int) []string {
	var out []string
	for i := 0; len(out) < n && i < 1000; i++ {
		name := fmt.Sprintf("%s-%d", prefix, i)
		if gateway.PlaceBucket(name, xShards) != shard {
			out = append(out, name)
		}
	}
	return out
}

// listAll pages through a listing with page size page and returns its keys
// and common prefixes in order ("/"-suffixed entries are prefixes).
func listAll(t *testing.T, s *gateway.Service, bucket, prefix, delim string, page int) []string {
	t.Helper()
	var out []string
	after := ""
	for range 1000 {
		res, err := s.ListObjects(ctx(t), bucket, meta.ListOptions{Prefix: prefix, Delimiter: delim, After: after, MaxKeys: page})
		if err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
		// Keys and prefixes of one page come in key order together.
		var got []string
		for _, o := range res.Objects {
			got = append(got, o.Key)
		}
		got = append(got, res.CommonPrefixes...)
		sort.Strings(got)
		out = append(out, got...)
		if !res.IsTruncated {
			return out
		}
		if len(got) != page {
			t.Fatalf("a truncated page of %d entries, asked %d", len(got), page)
		}
		after = res.Next
	}
	t.Fatal("listing does not end")
	return nil
}

// expected lists a model of keys as ListObjects would.
func expected(keys []string, prefix, delim string) []string {
	seen := map[string]bool{}
	var out []string
	slices.Sort(keys)
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp := k[:len(prefix)+i+len(delim)]
				if !seen[cp] {
					seen[cp] = true
					out = append(out, cp)
				}
				continue
			}
		}
		out = append(out, k)
	}
	return out
}

func body(t *testing.T, s *gateway.Service, bucket, key string) string {
	t.Helper()
	b, err := get(t, s, gateway.GetObjectInput{Bucket: bucket, Key: key})
	if err != nil {
		t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	return string(b)
}

// A fork placed on another shard than its parent reads through to the
// parent at the fork point; its own writes and deletes override the
// parent's keys in GET and in listings (pages, delimiters, markers);
// merging it is refused; deleting it releases its pin; deleting the
// parent leaves what the fork reads.
func TestForksAcrossShards(t *testing.T) {
	s := newXForkService(t, nil)
	reg := prometheus.NewRegistry()
	if err := gateway.RegisterMetrics(s, reg); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	baseShard, _ := s.BucketShard(ctx(t), "base")
	model := map[string]string{}
	for i := range 12 {
		for _, k := range []string{fmt.Sprintf("k%02d", i), fmt.Sprintf("dir/%02d", i), fmt.Sprintf("d%d/x", i%3)} {
			put(t, s, "base", k, []byte("base:"+k))
			model[k] = "base:" + k
		}
	}
	names := remoteNames("agent", baseShard, 2)
	for _, n := range names {
		b, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: n, ForkSource: "base"})
		if err != nil {
			t.Fatal(err)
		}
		if b.Parent == nil || b.ParentName != "base" {
			t.Fatalf("fork %s: %+v", n, b)
		}
		if sh, _ := s.BucketShard(ctx(t), n); sh == baseShard {
			t.Fatalf("fork %s on its parent's shard %d", n, sh)
		}
	}
	fork := names[0]
	// The parent moves on; the fork keeps the fork point.
	put(t, s, "base", "k00", []byte("later"))
	if _, err := s.DeleteObject(ctx(t), "base", "k01", "", meta.DeleteCondition{}, false); err != nil {
		t.Fatal(err)
	}
	put(t, s, "base", "k99", []byte("later"))
	if got := body(t, s, fork, "k00"); got != "base:k00" {
		t.Fatalf("fork k00 = %q", got)
	}
	if got := body(t, s, fork, "k01"); got != "base:k01" {
		t.Fatalf("fork k01 = %q", got)
	}
	// The parent's shard has its replica on this node, applied past the
	// fork point: each of the two reads there is served by it, without a
	// leader round (with wire reads, each goes the linearizable way).
	served, notServed := "local", "linearizable"
	if os.Getenv("FORKSTORE_TEST_WIRE_READS") == "1" {
		served, notServed = notServed, served
	}
	g := gauges(t, reg)
	reads := func(how string) float64 { return g["forkstore_fork_point_reads_total{served="+how+"}"] }
	if reads(served) < 2 || reads(notServed) != 0 {
		t.Fatalf("reads at the fork point: %v %s, %v %s; want them all %s", reads(served), served, reads(notServed), notServed, served)
	}
	if _, err := get(t, s, gateway.GetObjectInput{Bucket: fork, Key: "k99"}); !errors.Is(err, meta.ErrNoSuchKey) {
		t.Fatalf("fork k99 (after the fork point): %v", err)
	}
	// The fork's writes and deletes.
	put(t, s, fork, "k02", []byte("fork"))
	put(t, s, fork, "k50", []byte("fork"))
	put(t, s, fork, "dir/50", []byte("fork"))
	model["k02"], model["k50"], model["dir/50"] = "fork", "fork", "fork"
	for _, k := range []string{"k03", "dir/04", "d1/x", "k50"} {
		if _, err := s.DeleteObject(ctx(t), fork, k, "", meta.DeleteCondition{}, false); err != nil {
			t.Fatal(err)
		}
		delete(model, k)
	}
	if _, err := get(t, s, gateway.GetObjectInput{Bucket: fork, Key: "k03"}); !errors.Is(err, meta.ErrNoSuchKey) {
		t.Fatalf("deleted k03: %v", err)
	}
	for k, want := range model {
		if got := body(t, s, fork, k); got != want {
			t.Fatalf("fork %s = %q, want %q", k, got, want)
		}
	}
	var keys []string
	for k := range model {
		keys = append(keys, k)
	}
	for _, c := range []struct {
		prefix, delim string
	}{{"", ""}, {"", "/"}, {"dir/", ""}, {"d", "/"}, {"k0", "/"}, {"zz", ""}} {
		want := expected(keys, c.prefix, c.delim)
		for _, page := range []int{1, 2, 3, 7, 1000} {
			if got := listAll(t, s, fork, c.prefix, c.delim, page); !slices.Equal(got, want) {
				t.Fatalf("list prefix %q delim %q page %d:\n got %v\nwant %v", c.prefix, c.delim, page, got, want)
			}
		}
	}
	// Diff against the parent at the fork point, in pages.
	var diff []string
	after := ""
	for range 100 {
		d, err := s.Diff(ctx(t), fork, "", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range d.Entries {
			diff = append(diff, e.Key+":"+e.Change)
		}
		if !d.IsTruncated {
			break
		}
		after = d.Next
	}
	wantDiff := []string{"d1/x:deleted", "dir/04:deleted", "dir/50:added", "k02:changed", "k03:deleted"}
	if !slices.Equal(diff, wantDiff) {
		t.Fatalf("diff %v, want %v", diff, wantDiff)
	}
	// Lineage names the fork from the parent's side and the parent from
	// the fork's, across shards.
	l, err := s.Lineage(ctx(t), "base")
	if err != nil {
		t.Fatal(err)
	}
	var forkNames []string
	for _, f := range l.Forks {
		forkNames = append(forkNames, f.Name)
	}
	slices.Sort(forkNames)
	if !slices.Equal(forkNames, slices.Sorted(slices.Values(names))) {
		t.Fatalf("lineage forks %v, want %v", forkNames, names)
	}
	if fl, err := s.Lineage(ctx(t), fork); err != nil || fl.Parent == nil || fl.Parent.Name != "base" {
		t.Fatalf("fork's lineage %+v %v", fl, err)
	}
	if b := mustBucket(t, s, fork); b.ParentName != "base" {
		t.Fatalf("HeadBucket of the fork: parent %q", b.ParentName)
	}
	all, err := s.ListBuckets(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range all {
		if slices.Contains(names, b.Name) && b.ParentName != "base" {
			t.Fatalf("ListBuckets: %s's parent %q", b.Name, b.ParentName)
		}
	}
	// Forks of the fork stay on its shard (one shard hop per chain), and
	// so do forks of those.
	sub := remoteNames("sub", mustShard(t, s, fork), 1)[0]
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: sub, ForkSource: fork}); err != nil {
		t.Fatal(err)
	}
	subsub := remoteNames("subsub", mustShard(t, s, fork), 1)[0]
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: subsub, ForkSource: sub}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{sub, subsub} {
		if mustShard(t, s, n) != mustShard(t, s, fork) {
			t.Fatalf("%s is not on its source's shard", n)
		}
		if got := body(t, s, n, "k00"); got != "base:k00" {
			t.Fatalf("%s k00 = %q", n, got)
		}
		if got := listAll(t, s, n, "", "/", 3); !slices.Equal(got, expected(keys, "", "/")) {
			t.Fatalf("%s lists %v", n, got)
		}
	}
	for _, n := range []string{subsub, sub} {
		if err := s.DeleteBucket(ctx(t), n); err != nil {
			t.Fatal(err)
		}
	}
	// A dry run of a merge into the parent on another shard reports and
	// changes nothing (merges themselves: xmerge_test.go).
	if rep, _, err := s.MergeFork(ctx(t), gateway.MergeInput{Fork: fork, DryRun: true}); err != nil || !rep.DryRun || rep.Puts == 0 {
		t.Fatalf("dry run of a merge across shards: %+v, %v", rep, err)
	}
	// Conditions see the parent's objects at the fork point.
	condPut := func(key, ifMatch, ifNoneMatch string) error {
		_, err := s.PutObject(ctx(t), &gateway.PutObjectInput{Bucket: fork, Key: key, Body: strings.NewReader("x"), Size: 1,
			IfMatch: ifMatch, IfNoneMatch: ifNoneMatch})
		return err
	}
	if err := condPut("k05", "", "*"); !errors.Is(err, meta.ErrPreconditionFailed) {
		t.Fatalf("create-only put over an inherited key: %v", err)
	}
	if err := condPut("k99", "", "*"); err != nil { // written in the parent after the fork point only
		t.Fatalf("create-only put of a new key: %v", err)
	}
	inh, err := s.HeadObject(ctx(t), gateway.GetObjectInput{Bucket: fork, Key: "k06"})
	if err != nil {
		t.Fatal(err)
	}
	if err := condPut("k06", `"nope"`, ""); !errors.Is(err, meta.ErrPreconditionFailed) {
		t.Fatalf("put if-match another etag: %v", err)
	}
	if err := condPut("k06", inh.ETag, ""); err != nil {
		t.Fatalf("put if-match the inherited etag: %v", err)
	}
	if _, err := s.DeleteObject(ctx(t), fork, "k07", "", meta.DeleteCondition{IfMatch: `"nope"`}, false); !errors.Is(err, meta.ErrPreconditionFailed) {
		t.Fatalf("delete if-match another etag: %v", err)
	}
	if err := condPut("k03", "", "*"); err != nil { // deleted in the fork
		t.Fatalf("create-only put of a key the fork deleted: %v", err)
	}
	// A create-only multipart completion too.
	complete := func(key string) error {
		id, err := s.CreateMultipartUpload(ctx(t), fork, meta.Object{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.UploadPart(ctx(t), &gateway.UploadPartInput{Bucket: fork, Key: key, UploadID: id, Number: 1, Body: strings.NewReader("part"), Size: 4})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.CompleteMultipartUpload(ctx(t), &gateway.CompleteInput{Bucket: fork, Key: key, UploadID: id,
			Parts: []gateway.CompletePartInput{{Number: 1, ETag: p.ETag}}, IfNoneMatch: "*"})
		return err
	}
	if err := complete("k08"); !errors.Is(err, meta.ErrPreconditionFailed) {
		t.Fatalf("create-only completion over an inherited key: %v", err)
	}
	if err := complete("mp-new"); err != nil {
		t.Fatalf("create-only completion of a new key: %v", err)
	}
	if _, err := s.DeleteObject(ctx(t), fork, "mp-new", "", meta.DeleteCondition{}, false); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k99", "k06", "k03"} {
		if _, err := s.DeleteObject(ctx(t), fork, k, "", meta.DeleteCondition{}, false); err != nil {
			t.Fatal(err)
		}
	}
	delete(model, "k06")

	// Deleting the fork releases its pin on the parent's shard.
	for _, k := range []string{"k02", "dir/50"} {
		if _, err := s.DeleteObject(ctx(t), fork, k, "", meta.DeleteCondition{}, false); err != nil {
			t.Fatal(err)
		}
	}
	forkID := mustBucket(t, s, fork).ID
	if err := s.DeleteBucket(ctx(t), fork); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deleted fork's pin released", func() bool {
		l, err := s.Lineage(ctx(t), "base")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range l.Forks {
			if f.BucketID == forkID {
				return false
			}
		}
		return true
	})

	// Deleting the parent (emptied) as with a local fork: the other fork
	// still reads the parent's objects at its fork point.
	other := names[1]
	if err := deleteAll(t, s, "base"); err != nil { // and the bucket
		t.Fatal(err)
	}
	if got := body(t, s, other, "k00"); got != "base:k00" {
		t.Fatalf("after the parent's deletion, k00 = %q", got)
	}
	if got := listAll(t, s, other, "dir/", "", 5); len(got) != 12 {
		t.Fatalf("after the parent's deletion, dir/ lists %v", got)
	}
}

func mustBucket(t *testing.T, s *gateway.Service, name string) *meta.Bucket {
	t.Helper()
	b, err := s.HeadBucket(ctx(t), name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A creation cut short after the pin leaves no fork and, after recovery,
// no pin; one cut short after the fork's record is settled by recovery:
// the fork stays and its pin with it.
func TestForksAcrossShardsCrash(t *testing.T) {
	stopAt := 0
	s := newXForkService(t, func(step int) bool { return step != stopAt })
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "base", "k", []byte("v1"))
	baseShard, _ := s.BucketShard(ctx(t), "base")
	names := remoteNames("crash", baseShard, 2)

	stopAt = 1
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: names[0], ForkSource: "base"}); err == nil {
		t.Fatal("a creation stopped after its pin succeeded")
	}
	stopAt = 2
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: names[1], ForkSource: "base"}); err != nil {
		t.Fatal(err)
	}
	stopAt = 0
	intents := func() []meta.PinIntent {
		v, err := gateway.ReadOn(ctx(t), s, baseShard, meta.PinIntentsQuery{Max: 100})
		if err != nil {
			t.Fatal(err)
		}
		ins, _ := v.([]meta.PinIntent) // none: nil after the wire
		return ins
	}
	// Recovery (the leader's pass also runs it in the background).
	waitFor(t, "the intents resolved", func() bool {
		gateway.ResolveRemoteForks(s, baseShard)
		return len(intents()) == 0
	})
	if _, err := s.HeadBucket(ctx(t), names[0]); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Fatalf("half fork %s: %v", names[0], err)
	}
	l, err := s.Lineage(ctx(t), "base")
	if err != nil {
		t.Fatal(err)
	}
	made := mustBucket(t, s, names[1])
	if len(l.Forks) != 1 || l.Forks[0].BucketID != made.ID {
		t.Fatalf("pins after recovery %+v (want only %d's)", l.Forks, made.ID)
	}
	if got := body(t, s, names[1], "k"); got != "v1" {
		t.Fatalf("settled fork reads %q", got)
	}
	// The name of the fork never made can be used again.
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: names[0], ForkSource: "base"}); err != nil {
		t.Fatalf("creating %s again: %v", names[0], err)
	}
	if got := body(t, s, names[0], "k"); got != "v1" {
		t.Fatalf("recreated fork reads %q", got)
	}
}

// A copy, inside a fork on another shard, of a version the fork inherits
// writes new chunks (the parent's shard references the inherited ones);
// once the parent and its pin are gone, the copy reads whole and the
// parent's chunks are collected.
func TestForksAcrossShardsCopy(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.InlineMax = 1 << 10
	cfg.ChunkSize = 64 << 10
	cfg.MetaShards = xShards
	s := gatewaytest.NewNode(t, cfg).Service()
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	data := randBytes(3, 200<<10)
	src := put(t, s, "base", "big", data)
	baseShard, _ := s.BucketShard(ctx(t), "base")
	fork := remoteNames("copier", baseShard, 1)[0]
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: fork, ForkSource: "base"}); err != nil {
		t.Fatal(err)
	}
	inh, err := s.HeadObject(ctx(t), gateway.GetObjectInput{Bucket: fork, Key: "big"})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := s.CopyObject(ctx(t), &gateway.CopyObjectInput{Source: inh, SourceBucket: fork, DstBucket: fork, DstKey: "copy"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cp.Chunks {
		for _, o := range src.Chunks {
			if c.ID == o.ID {
				t.Fatalf("the copy shares chunk %s with the parent on another shard", c.ID)
			}
		}
	}
	if err := deleteAll(t, s, "base"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteObject(ctx(t), fork, "big", "", meta.DeleteCondition{}, false); err != nil {
		t.Fatal(err)
	}
	got, err := get(t, s, gateway.GetObjectInput{Bucket: fork, Key: "copy"})
	if err != nil || string(got) != string(data) {
		t.Fatalf("copy: %v", err)
	}
	// Deleting the fork releases the pin: the parent (deleted) goes, and
	// its chunks with it.
	if _, err := s.DeleteObject(ctx(t), fork, "copy", "", meta.DeleteCondition{}, false); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBucket(ctx(t), fork); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every chunk collected", func() bool { return chunkFiles(t, cfg) == 0 })
}

// localName returns a fork name that the placement keeps on shard.
func localName(prefix string, shard uint64) string {
	for i := 0; i < 1000; i++ {
		name := fmt.Sprintf("%s-%d", prefix, i)
		if gateway.PlaceBucket(name, xShards) == shard {
			return name
		}
	}
	return ""
}

// listVersionsAll pages through ListObjectVersions and returns one line
// per entry: key, etag, marker, latest (version ids differ between
// shards), or a common prefix.
func listVersionsAll(t *testing.T, s *gateway.Service, bucket, prefix, delim string, page int) []string {
	t.Helper()
	var out []string
	opts := meta.VersionListOptions{Prefix: prefix, Delimiter: delim, MaxKeys: page}
	for range 1000 {
		res, err := s.ListObjectVersions(ctx(t), bucket, opts)
		if err != nil {
			t.Fatalf("list versions %s: %v", bucket, err)
		}
		var got []string
		for _, v := range res.Versions {
			got = append(got, fmt.Sprintf("%s %s marker=%v latest=%v", v.Key, v.ETag, v.DeleteMarker, v.IsLatest))
		}
		for _, cp := range res.CommonPrefixes {
			got = append(got, cp+" (prefix)")
		}
		out = append(out, got...)
		if !res.IsTruncated {
			return out
		}
		opts.KeyMarker, opts.VersionIDMarker = res.NextKeyMarker, res.NextVersionIDMarker
	}
	t.Fatalf("listing versions of %s does not end: %+v, listed %v", bucket, opts, out[:min(len(out), 20)])
	return nil
}

// A fork on another shard lists what the same fork on its parent's shard
// lists, versions included, whatever the page size, prefix or delimiter.
func TestForksAcrossShardsListsAsLocal(t *testing.T) {
	s := newXForkService(t, nil)
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetVersioning(ctx(t), "base", meta.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	baseShard, _ := s.BucketShard(ctx(t), "base")
	for i := range 8 {
		for _, k := range []string{fmt.Sprintf("k%d", i), fmt.Sprintf("p/%d", i), fmt.Sprintf("q%d/x", i%2)} {
			put(t, s, "base", k, []byte("v1"))
			if i%3 == 0 {
				put(t, s, "base", k, []byte("v2"))
			}
		}
	}
	if _, err := s.DeleteObject(ctx(t), "base", "k5", "", meta.DeleteCondition{}, false); err != nil {
		t.Fatal(err)
	}
	remote, local := remoteNames("far", baseShard, 1)[0], localName("near", baseShard)
	for _, n := range []string{remote, local} {
		if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: n, ForkSource: "base"}); err != nil {
			t.Fatal(err)
		}
	}
	if sh, _ := s.BucketShard(ctx(t), local); sh != baseShard {
		t.Fatalf("local fork on shard %d", sh)
	}
	put(t, s, "base", "k1", []byte("after")) // after the fork point
	for _, n := range []string{remote, local} {
		put(t, s, n, "k0", []byte("own"))
		put(t, s, n, "k0", []byte("own2"))
		put(t, s, n, "p/9", []byte("own"))
		put(t, s, n, "z", []byte("own"))
		for _, k := range []string{"k3", "p/2", "q1/x", "nothing"} {
			if _, err := s.DeleteObject(ctx(t), n, k, "", meta.DeleteCondition{}, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []struct{ prefix, delim string }{{"", ""}, {"", "/"}, {"p/", ""}, {"q", "/"}, {"k", ""}} {
		for _, page := range []int{1, 2, 3, 1000} {
			want := listVersionsAll(t, s, local, c.prefix, c.delim, page)
			if got := listVersionsAll(t, s, remote, c.prefix, c.delim, page); !slices.Equal(got, want) {
				t.Fatalf("versions prefix %q delim %q page %d:\n got %v\nwant %v", c.prefix, c.delim, page, got, want)
			}
			want = listAll(t, s, local, c.prefix, c.delim, page)
			if got := listAll(t, s, remote, c.prefix, c.delim, page); !slices.Equal(got, want) {
				t.Fatalf("objects prefix %q delim %q page %d:\n got %v\nwant %v", c.prefix, c.delim, page, got, want)
			}
		}
	}
	// Reads by version id: the inherited version, not an older one of the parent.
	lv, err := s.ListObjectVersions(ctx(t), remote, meta.VersionListOptions{Prefix: "k6", MaxKeys: 10})
	if err != nil || len(lv.Versions) != 1 {
		t.Fatalf("k6 versions %+v %v", lv, err)
	}
	if _, err := get(t, s, gateway.GetObjectInput{Bucket: remote, Key: "k6", VersionID: meta.VersionID(&lv.Versions[0].Object)}); err != nil {
		t.Fatalf("inherited version by id: %v", err)
	}
	old, err := s.ListObjectVersions(ctx(t), "base", meta.VersionListOptions{Prefix: "k6", MaxKeys: 10})
	if err != nil || len(old.Versions) != 2 {
		t.Fatalf("base k6 versions %+v %v", old, err)
	}
	if _, err := get(t, s, gateway.GetObjectInput{Bucket: remote, Key: "k6", VersionID: meta.VersionID(&old.Versions[1].Object)}); !errors.Is(err, meta.ErrNoSuchVersion) {
		t.Fatalf("an older version of the parent through the fork: %v", err)
	}
}

func mustShard(t *testing.T, s *gateway.Service, name string) uint64 {
	t.Helper()
	sh, err := s.BucketShard(ctx(t), name)
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

// A fork on another shard deleted by a node that dies before releasing
// its pin: the fork's shard recorded the release, and the recovery pass
// of its leader sends it; the parent's versions only that pin kept go.
// A fork made from a snapshot of its parent reads the snapshot.
func TestForksAcrossShardsDeleteCrash(t *testing.T) {
	s := newXForkService(t, nil)
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "base", "k", []byte("v1"))
	if _, err := s.CreateSnapshot(ctx(t), "base", "s1"); err != nil {
		t.Fatal(err)
	}
	put(t, s, "base", "k", []byte("v2"))
	baseShard := mustShard(t, s, "base")
	fork := remoteNames("snapfork", baseShard, 1)[0]
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: fork, ForkSource: "base", ForkSnapshot: "s1"}); err != nil {
		t.Fatal(err)
	}
	if got := body(t, s, fork, "k"); got != "v1" {
		t.Fatalf("fork of snapshot s1 reads %q", got)
	}
	// A snapshot of the fork reads through to the parent too.
	sn, err := s.CreateSnapshot(ctx(t), fork, "")
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, fork, "k", []byte("mine"))
	put(t, s, fork, "n", []byte("mine"))
	if got, err := get(t, s, gateway.GetObjectInput{Bucket: fork, Key: "k", At: sn.Version}); err != nil || string(got) != "v1" {
		t.Fatalf("k at the fork's snapshot: %q %v", got, err)
	}
	if got := body(t, s, fork, "k"); got != "mine" {
		t.Fatalf("k now %q", got)
	}
	res, err := s.ListObjects(ctx(t), fork, meta.ListOptions{MaxKeys: 10, At: sn.Version})
	if err != nil || len(res.Objects) != 1 || res.Objects[0].Key != "k" || res.Objects[0].Size != 2 {
		t.Fatalf("listing at the fork's snapshot: %+v %v", res, err)
	}
	for _, k := range []string{"k", "n"} {
		if _, err := s.DeleteObject(ctx(t), fork, k, "", meta.DeleteCondition{}, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteSnapshot(ctx(t), fork, sn.Version); err != nil {
		t.Fatal(err)
	}
	forkShard, forkID := mustShard(t, s, fork), mustBucket(t, s, fork).ID
	// The DELETE applied on the fork's shard, then the node "dies": no
	// release sent.
	if _, err := gateway.ProposeOn(ctx(t), s, forkShard, &meta.DeleteBucket{Name: fork}); err != nil {
		t.Fatal(err)
	}
	pinned := func() bool {
		l, err := s.Lineage(ctx(t), "base")
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(l.Forks, func(r meta.LineageRef) bool { return r.BucketID == forkID })
	}
	if !pinned() {
		t.Fatal("the pin went with no release sent")
	}
	waitFor(t, "the pin released by recovery", func() bool {
		gateway.ResolveRemoteForks(s, forkShard)
		return !pinned()
	})
	v, err := gateway.ReadOn(ctx(t), s, forkShard, meta.PinReleasesQuery{Max: 10})
	if pins, _ := v.([]meta.PinRef); err != nil || len(pins) != 0 {
		t.Fatalf("releases left %v %v", v, err)
	}
}

// Seeded random operations on two forks of one base, one on the base's
// shard and one on another, must read and list alike (bounded: 300
// operations; the seed is in the failure).
func TestForksAcrossShardsRandomAsLocal(t *testing.T) {
	s := newXForkService(t, nil)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d: "+format, append([]any{seed}, args...)...)
	}
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	versioned := rng.IntN(2) == 0
	if versioned {
		if err := s.SetVersioning(ctx(t), "base", meta.VersioningEnabled); err != nil {
			t.Fatal(err)
		}
	}
	keys := []string{"a", "a/b", "a/c", "a/b/c", "b", "b/", "c/x", "c/y/z", "d", "e/f"}
	for _, k := range keys {
		if rng.IntN(3) > 0 {
			put(t, s, "base", k, []byte("base "+k))
		}
	}
	baseShard := mustShard(t, s, "base")
	remote, local := remoteNames("rnd", baseShard, 1)[0], localName("lcl", baseShard)
	for _, n := range []string{remote, local} {
		if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: n, ForkSource: "base"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 300 {
		k := keys[rng.IntN(len(keys))]
		switch op := rng.IntN(10); {
		case op < 3:
			body := fmt.Sprintf("v%d", i)
			for _, n := range []string{remote, local} {
				put(t, s, n, k, []byte(body))
			}
		case op < 4:
			for _, n := range []string{remote, local} {
				if _, err := s.DeleteObject(ctx(t), n, k, "", meta.DeleteCondition{}, false); err != nil {
					fail("delete %s/%s: %v", n, k, err)
				}
			}
		case op < 5:
			k2 := keys[rng.IntN(len(keys))]
			for _, n := range []string{remote, local} {
				res, err := s.DeleteObjects(ctx(t), n, []meta.DeleteItem{{Key: k}, {Key: k2}}, false)
				if err != nil {
					fail("delete objects %s: %v", n, err)
				}
				for _, r := range res {
					if r.Err != nil {
						fail("delete objects %s/%s: %v", n, r.Key, r.Err)
					}
				}
			}
		case op < 6:
			put(t, s, "base", k, []byte(fmt.Sprintf("late%d", i))) // after the fork point: seen by neither
		case op < 8:
			var got [2]string
			for j, n := range []string{remote, local} {
				b, err := get(t, s, gateway.GetObjectInput{Bucket: n, Key: k})
				got[j] = fmt.Sprintf("%s %v", b, err != nil)
			}
			if got[0] != got[1] {
				fail("get %s: remote %q, local %q", k, got[0], got[1])
			}
		default:
			prefix := []string{"", "a", "a/", "c/", "b"}[rng.IntN(5)]
			delim := []string{"", "/"}[rng.IntN(2)]
			page := 1 + rng.IntN(4)
			if g, w := listAll(t, s, remote, prefix, delim, page), listAll(t, s, local, prefix, delim, page); !slices.Equal(g, w) {
				fail("list %q %q %d: remote %v, local %v", prefix, delim, page, g, w)
			}
			if g, w := listVersionsAll(t, s, remote, prefix, delim, page), listVersionsAll(t, s, local, prefix, delim, page); !slices.Equal(g, w) {
				fail("versions %q %q %d: remote %v, local %v", prefix, delim, page, g, w)
			}
		}
	}
}

// fork create-many spreads its forks over the shards other than its
// source's, at one fork point, all or none: stopped after the forks were
// made on their shards but before the commit (a crash there), recovery
// rolls the whole batch back: no fork, no pin, no intent, and the names
// can be used again.
func TestForkBatchAcrossShards(t *testing.T) {
	stop := false
	s := newXForkService(t, func(step int) bool { return !stop || step != 2 })
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "base", "k", []byte("v1"))
	baseShard := mustShard(t, s, "base")
	batch, err := s.CreateForks(ctx(t), gateway.CreateForksInput{Source: "base", Count: 12, Prefix: "agent-"})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, "base", "k", []byte("v2")) // after the fork point
	shards := map[uint64]bool{}
	for _, f := range batch.Forks {
		sh := mustShard(t, s, f.Bucket.Name)
		if sh == baseShard || f.Bucket.Parent == nil || f.Bucket.Parent.Version != batch.Base {
			t.Fatalf("fork %s on shard %d (base's %d), parent %+v, batch base %d", f.Bucket.Name, sh, baseShard, f.Bucket.Parent, batch.Base)
		}
		shards[sh] = true
		if got := body(t, s, f.Bucket.Name, "k"); got != "v1" {
			t.Fatalf("%s reads %q", f.Bucket.Name, got)
		}
	}
	if len(shards) < 2 {
		t.Fatalf("12 forks on %d shards", len(shards))
	}
	l, err := s.Lineage(ctx(t), "base")
	if err != nil || len(l.Forks) != 12 {
		t.Fatalf("pins of the batch: %+v %v", l, err)
	}

	stop = true
	if _, err := s.CreateForks(ctx(t), gateway.CreateForksInput{Source: "base", Count: 6, Prefix: "crash-"}); err == nil {
		t.Fatal("a batch stopped before its commit succeeded")
	}
	stop = false
	intents := func() []meta.PinIntent {
		v, err := gateway.ReadOn(ctx(t), s, baseShard, meta.PinIntentsQuery{Max: 100})
		if err != nil {
			t.Fatal(err)
		}
		ins, _ := v.([]meta.PinIntent) // none: nil after the wire
		return ins
	}
	waitFor(t, "the batch rolled back", func() bool {
		gateway.ResolveRemoteForks(s, baseShard)
		if len(intents()) != 0 {
			return false
		}
		for i := 1; i <= 6; i++ {
			if _, err := s.HeadBucket(ctx(t), fmt.Sprintf("crash-%d", i)); !errors.Is(err, meta.ErrNoSuchBucket) {
				return false
			}
		}
		l, err := s.Lineage(ctx(t), "base")
		return err == nil && len(l.Forks) == 12
	})
	// The names can be used again. (Should this batch take longer than
	// this node's deadline, its recovery rolls it back before its
	// commit, which refuses the whole batch.)
	var again *gateway.ForkBatch
	for i := 0; again == nil; i++ {
		again, err = s.CreateForks(ctx(t), gateway.CreateForksInput{Source: "base", Count: 6, Prefix: "crash-"})
		if err != nil && (i == 50 || !errors.Is(err, meta.ErrForkAborted)) {
			t.Fatalf("the batch again: %v", err)
		}
	}
	if got := body(t, s, again.Forks[5].Bucket.Name, "k"); got != "v2" {
		t.Fatalf("a fork of the second batch reads %q", got)
	}
}

// A batch spread over shards with a lease, keys and an owner: each key
// lives on its fork's shard and may use its fork alone, the forks belong
// to the user, and when the lease runs out the forks go (on their shards)
// and so do their keys and the pins on the source's shard.
func TestForkBatchAcrossShardsLeaseKeysOwner(t *testing.T) {
	s := newXForkService(t, nil)
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "base", "k", []byte("v1"))
	if _, err := s.CreateUser(ctx(t), "alice", "Alice", ""); err != nil {
		t.Fatal(err)
	}
	baseShard := mustShard(t, s, "base")
	batch, err := s.CreateForks(ctx(t), gateway.CreateForksInput{Source: "base", Count: 6, Prefix: "sbx-",
		WithKeys: true, TTL: time.Second, Owner: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range batch.Forks {
		sh := mustShard(t, s, f.Bucket.Name)
		v, err := gateway.ReadOn(ctx(t), s, sh, meta.BucketAtQuery{Name: f.Bucket.Name})
		if err != nil {
			t.Fatal(err)
		}
		if b := v.(*meta.Bucket); sh == baseShard || b.Owner != "alice" || b.Ownership != meta.OwnershipEnforced {
			t.Fatalf("fork %s on shard %d (base's %d), owner %q, ownership %v", b.Name, sh, baseShard, b.Owner, b.Ownership)
		}
		p, ok := s.Principal(ctx(t), f.KeyID)
		if !ok || !p.CanUse(f.Bucket.Name, s.LeaseNow()) || p.CanUse("base", s.LeaseNow()) {
			t.Fatalf("key of %s: %+v %v", f.Bucket.Name, p, ok)
		}
		if sec, ok := s.SecretKey(f.KeyID); !ok || sec != f.Secret {
			t.Fatalf("the secret of the key of %s", f.Bucket.Name)
		}
	}
	waitFor(t, "the forks collected and their pins released", func() bool {
		for _, f := range batch.Forks {
			if _, err := s.HeadBucket(ctx(t), f.Bucket.Name); !errors.Is(err, meta.ErrNoSuchBucket) {
				return false
			}
		}
		l, err := s.Lineage(ctx(t), "base")
		return err == nil && len(l.Forks) == 0
	})
	for _, f := range batch.Forks {
		if p, ok := s.Principal(ctx(t), f.KeyID); ok && p.CanUse(f.Bucket.Name, s.LeaseNow()) {
			t.Fatalf("the key of the expired fork %s still works", f.Bucket.Name)
		}
	}
}

// Deleting a fork on another shard releases its own pin at once and only
// its own: a release another delete left (its node stopped before sending
// it) stays for the leader's recovery round, which sends it; none is left
// behind.
func TestForksAcrossShardsDeleteReleasesOwnPin(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.InlineMax = 1 << 10
	cfg.MetaShards = xShards
	// The leader's recovery round runs only when the test calls it: run
	// every 50 ms, it may send the release left behind before the test
	// looks at it.
	cfg.GCInterval = time.Hour
	s := gatewaytest.NewNode(t, cfg).Service()
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	baseShard := mustShard(t, s, "base")
	// Two forks on one shard other than the base's.
	var a, b string
	byShard := map[uint64]string{}
	for _, n := range remoteNames("del", baseShard, 20) {
		sh := gateway.PlaceBucket(n, xShards)
		if byShard[sh] != "" {
			a, b = byShard[sh], n
			break
		}
		byShard[sh] = n
	}
	for _, n := range []string{a, b} {
		if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: n, ForkSource: "base"}); err != nil {
			t.Fatal(err)
		}
	}
	forkShard, aID, bID := mustShard(t, s, a), mustBucket(t, s, a).ID, mustBucket(t, s, b).ID
	pinned := func(id uint64) bool {
		l, err := s.Lineage(ctx(t), "base")
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(l.Forks, func(r meta.LineageRef) bool { return r.BucketID == id })
	}
	releases := func() []meta.PinRef {
		v, err := gateway.ReadOn(ctx(t), s, forkShard, meta.PinReleasesQuery{Max: 10})
		if err != nil {
			t.Fatal(err)
		}
		pins, _ := v.([]meta.PinRef)
		return pins
	}
	// a's DELETE applied, its release never sent.
	if _, err := gateway.ProposeOn(ctx(t), s, forkShard, &meta.DeleteBucket{Name: a}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBucket(ctx(t), b); err != nil {
		t.Fatal(err)
	}
	if pinned(bID) {
		t.Fatal("the deleted fork's pin was not released")
	}
	if rs := releases(); len(rs) != 1 || rs[0].Child != aID || !pinned(aID) {
		t.Fatalf("the delete of %s touched another delete's release: releases %+v, pinned %v", b, rs, pinned(aID))
	}
	waitFor(t, "the release left behind sent by recovery", func() bool {
		gateway.ResolveRemoteForks(s, forkShard)
		return !pinned(aID)
	})
	if rs := releases(); len(rs) != 0 {
		t.Fatalf("releases left %+v", rs)
	}
}

// TestForkDepthAcrossShards: the fork depth limit holds for a chain that
// moves to another shard in its middle. The shard a fork's chain hopped to
// counts the hop as one ancestor and cannot read past it, so it must be
// told of the ancestors on the other side (they count too).
func TestForkDepthAcrossShards(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.MetaShards = xShards
	cfg.Meta.MaxForkDepth = 4
	s := gatewaytest.NewNode(t, cfg).Service()
	// root and f1 on one shard, f2 on another; f3, f4, f5 stay with f2
	// (a chain crosses shards once).
	pick := func(prefix string, want func(uint64) bool) string {
		for i := 0; i < 1000; i++ {
			name := fmt.Sprintf("%s-%d", prefix, i)
			if want(gateway.PlaceBucket(name, xShards)) {
				return name
			}
		}
		t.Fatalf("no name for %s", prefix)
		return ""
	}
	root := pick("depth-root", func(uint64) bool { return true })
	a := gateway.PlaceBucket(root, xShards)
	f1 := pick("depth-f1", func(sh uint64) bool { return sh == a })
	f2 := pick("depth-f2", func(sh uint64) bool { return sh != a })
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: root}); err != nil {
		t.Fatal(err)
	}
	prev := root
	for _, name := range []string{f1, f2, "depth-f3", "depth-f4"} {
		if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: name, ForkSource: prev}); err != nil {
			t.Fatalf("fork %s of %s: %v", name, prev, err)
		}
		prev = name
	}
	if sh, _ := s.BucketShard(ctx(t), f2); sh == a {
		t.Fatalf("%s on its parent's shard %d: the chain does not cross shards", f2, sh)
	}
	// depth-f4 has 4 ancestors (f3, f2, f1, root): a fork of it would have 5.
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "depth-f5", ForkSource: prev}); !errors.Is(err, meta.ErrForkDepthExceeded) {
		t.Fatalf("a fork with 5 ancestors, limit 4: %v, want ErrForkDepthExceeded", err)
	}
	if _, err := s.CreateForks(ctx(t), gateway.CreateForksInput{Source: prev, Names: []string{"depth-f5b"}}); !errors.Is(err, meta.ErrForkDepthExceeded) {
		t.Fatalf("a batch of forks with 5 ancestors, limit 4: %v, want ErrForkDepthExceeded", err)
	}
	// One level up is within the limit.
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "depth-f4b", ForkSource: "depth-f3"}); err != nil {
		t.Fatalf("a fork with 4 ancestors, limit 4: %v", err)
	}
}
