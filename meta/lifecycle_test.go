package meta

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

const day = nsPerDay

// ExpiryAfter: S3 adds the days to the creation time and rounds up to the
// next midnight UTC (Lifecycle "Days" and "NoncurrentDays").
func TestExpiryAfter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		t        int64
		days     int
		want     int64
		wantDays int64
	}{
		{name: "mid-day rounds up", t: 10*day + day/3, days: 3, want: 14 * day},
		{name: "midnight stays", t: 10 * day, days: 3, want: 13 * day},
		{name: "one ns after midnight", t: 10*day + 1, days: 1, want: 12 * day},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExpiryAfter(tc.t, tc.days); got != tc.want {
				t.Fatalf("ExpiryAfter(%d, %d) = %d days + %d, want day %d", tc.t, tc.days, got/day, got%day, tc.want/day)
			}
		})
	}
}

// Filter: Prefix, Tag, And (all of them), ObjectSizeGreaterThan and
// ObjectSizeLessThan (strict); a delete marker has no tags and no size.
func TestLifecycleRuleMatches(t *testing.T) {
	tags := map[string]string{"class": "tmp", "team": "a"}
	for _, tc := range []struct {
		name   string
		rule   LifecycleRule
		key    string
		size   int64
		tags   map[string]string
		marker bool
		want   bool
	}{
		{name: "empty filter", rule: LifecycleRule{}, key: "x", want: true},
		{name: "prefix", rule: LifecycleRule{Prefix: "logs/"}, key: "logs/1", want: true},
		{name: "other prefix", rule: LifecycleRule{Prefix: "logs/"}, key: "log", want: false},
		{name: "tag", rule: LifecycleRule{Tags: map[string]string{"class": "tmp"}}, key: "x", tags: tags, want: true},
		{name: "tag other value", rule: LifecycleRule{Tags: map[string]string{"class": "keep"}}, key: "x", tags: tags, want: false},
		{name: "and: all tags and prefix", rule: LifecycleRule{Prefix: "x", Tags: tags}, key: "xy", tags: tags, want: true},
		{name: "and: one tag missing", rule: LifecycleRule{Tags: map[string]string{"class": "tmp", "owner": "b"}}, key: "x", tags: tags, want: false},
		{name: "size greater", rule: LifecycleRule{SizeGreaterThan: 10}, key: "x", size: 11, want: true},
		{name: "size equal is not greater", rule: LifecycleRule{SizeGreaterThan: 10}, key: "x", size: 10, want: false},
		{name: "size less", rule: LifecycleRule{SizeLessThan: 10}, key: "x", size: 9, want: true},
		{name: "size equal is not less", rule: LifecycleRule{SizeLessThan: 10}, key: "x", size: 10, want: false},
		{name: "size range", rule: LifecycleRule{SizeGreaterThan: 5, SizeLessThan: 10}, key: "x", size: 7, want: true},
		{name: "marker with prefix rule", rule: LifecycleRule{Prefix: "x"}, key: "x", marker: true, want: true},
		{name: "marker with tag rule", rule: LifecycleRule{Tags: map[string]string{"class": "tmp"}}, key: "x", marker: true, want: false},
		{name: "marker with size rule", rule: LifecycleRule{SizeLessThan: 10}, key: "x", marker: true, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rule.matches(tc.key, tc.size, tc.tags, tc.marker); got != tc.want {
				t.Fatalf("matches = %v, want %v", got, tc.want)
			}
		})
	}
}

// The decision for one key's versions (newest first): current expiry by
// Days or Date (the earliest rule wins and names x-amz-expiration's
// rule-id), lone delete markers, noncurrent versions by age since they
// became noncurrent, keeping NewerNoncurrentVersions.
func TestLifecycleDecide(t *testing.T) {
	l := &Lifecycle{Rules: []LifecycleRule{
		{ID: "days", Enabled: true, Prefix: "a", ExpirationDays: 2},
		{ID: "date", Enabled: true, Prefix: "ab", ExpirationDate: 5 * day},
		{ID: "off", Enabled: false, ExpirationDays: 1},
	}}
	o := &Object{Key: "ab", LastModified: 4*day + 1}
	at, id, ok := l.CurrentExpiry(o)
	if !ok || at != 5*day || id != "date" {
		t.Fatalf("CurrentExpiry = %d %q %v, want day 5 by \"date\"", at/day, id, ok)
	}
	o.LastModified = day / 2
	if at, id, _ = l.CurrentExpiry(o); at != 3*day || id != "days" {
		t.Fatalf("CurrentExpiry = day %d %q, want day 3 by \"days\"", at/day, id)
	}
	if _, _, ok := l.CurrentExpiry(&Object{Key: "b"}); ok {
		t.Fatal("a disabled rule expires")
	}
	if d := l.decide("ab", []lcVersion{{version: 1, lastModified: day / 2}}, 3*day-1); d.expireCurrent {
		t.Fatal("expired before its day")
	}
	if d := l.decide("ab", []lcVersion{{version: 1, lastModified: day / 2}}, 3*day); !d.expireCurrent {
		t.Fatal("not expired on its day")
	}

	nc := &Lifecycle{Rules: []LifecycleRule{
		{ID: "nc", Enabled: true, NoncurrentDays: 1, NewerNoncurrentVersions: 1},
		{ID: "dm", Enabled: true, ExpiredObjectDeleteMarker: true},
	}}
	// v4 current, v3 noncurrent since day 10 (kept: the newest one), v2
	// since day 8, v1 since day 2 (v2 was written then).
	vs := []lcVersion{{version: uint64(12 * day)}, {version: uint64(10 * day)}, {version: uint64(8 * day)}, {version: uint64(2 * day)}}
	d := nc.decide("k", vs, 9*day)
	if d.expireCurrent || d.removeMarker || len(d.remove) != 1 || d.remove[0].version != uint64(2*day) {
		t.Fatalf("day 9: %+v, want v1 removed only", d)
	}
	d = nc.decide("k", vs, 20*day)
	if len(d.remove) != 2 || d.remove[0].version != uint64(8*day) {
		t.Fatalf("day 20: %+v, want v2 and v1 removed, v3 kept", d)
	}
	if d := nc.decide("k", []lcVersion{{version: 5, marker: true}}, 0); !d.removeMarker {
		t.Fatal("a lone delete marker is not removed")
	}
	if d := nc.decide("k", []lcVersion{{version: 5, marker: true}, {version: 4}}, 0); d.removeMarker {
		t.Fatal("a delete marker with a noncurrent version is removed")
	}
	if !nc.abortsUpload("k", 0, day) == (&Lifecycle{}).abortsUpload("k", 0, day) {
		t.Fatal("abortsUpload without a rule")
	}
	up := &Lifecycle{Rules: []LifecycleRule{{ID: "mp", Enabled: true, Prefix: "m", AbortUploadDays: 2}}}
	if up.abortsUpload("m1", day/2, 3*day-1) || !up.abortsUpload("m1", day/2, 3*day) || up.abortsUpload("x", 0, 10*day) {
		t.Fatal("AbortIncompleteMultipartUpload days or prefix")
	}
}

// lifecycleRun applies ApplyLifecycle steps at now until the pass is
// over and returns how many steps it took and what they expired.
func (tf *testFSM) lifecycleRun(now int64, limit int) (int, []DeleteOutcome) {
	tf.t.Helper()
	var out []DeleteOutcome
	for i := 1; i < 10000; i++ {
		res := tf.must(&ApplyLifecycle{Header: Header{Stamp: uint64(now)}, Now: now, Limit: limit})
		out = append(out, res.Deleted...)
		if !res.More {
			return i, out
		}
	}
	tf.t.Fatal("lifecycle pass does not end")
	return 0, nil
}

// Expiration in an unversioned bucket removes the object; a snapshot and
// a fork made before still show it (retention keeps what they pin), and
// the fork's own configuration (none) leaves the fork alone.
func TestLifecycleExpirationKeepsSnapshotsAndForks(t *testing.T) {
	tf := openTestFSM(t)
	tf.must(&CreateBucket{Header: Header{Stamp: uint64(day / 2)}, Name: "b"})
	tf.put("b", "tmp/a", "A")
	tf.put("b", "keep", "K")
	snap := tf.must(&CreateSnapshot{Bucket: "b", Name: "s"}).Snapshot.Version
	tf.fork("f", "b")
	tf.must(&SetLifecycle{Bucket: "b", Config: &Lifecycle{Rules: []LifecycleRule{{ID: "r", Enabled: true, Prefix: "tmp/", ExpirationDays: 1}}}})
	if v := tf.read(func(r *Reader) (any, error) { return r.Lifecycle("f") }).(*Lifecycle); v != nil {
		t.Fatalf("a fork inherits its parent's lifecycle: %+v", v)
	}

	if _, out := tf.lifecycleRun(day+day/2, 0); len(out) != 0 {
		t.Fatalf("expired before its day: %+v", out)
	}
	tf.mustGet("b", "tmp/a", 0, "A")
	_, out := tf.lifecycleRun(2*day, 0)
	if len(out) != 1 || out[0].Key != "tmp/a" {
		t.Fatalf("expired %+v, want tmp/a", out)
	}
	tf.mustMiss("b", "tmp/a", 0)
	tf.mustGet("b", "keep", 0, "K")
	tf.mustGet("b", "tmp/a", snap, "A")
	tf.mustGet("f", "tmp/a", 0, "A")
	// Applied once: a second pass finds nothing more.
	if _, out := tf.lifecycleRun(3*day, 0); len(out) != 0 {
		t.Fatalf("second pass expired %+v", out)
	}

	// The fork's own rule acts on what the fork wrote, not on what it
	// inherits.
	tf.put("f", "tmp/own", "O")
	tf.must(&SetLifecycle{Bucket: "f", Config: &Lifecycle{Rules: []LifecycleRule{{ID: "fr", Enabled: true, ExpirationDays: 1}}}})
	_, out = tf.lifecycleRun(10*day, 0)
	if len(out) != 1 || out[0].Key != "tmp/own" {
		t.Fatalf("fork pass expired %+v, want tmp/own only", out)
	}
	tf.mustMiss("f", "tmp/own", 0)
	tf.mustGet("f", "tmp/a", 0, "A")
	tf.mustGet("f", "keep", 0, "K")

	// DeleteLifecycle: nothing more expires.
	tf.must(&SetLifecycle{Bucket: "b"})
	tf.put("b", "tmp/z", "Z")
	if _, out := tf.lifecycleRun(100*day, 0); len(out) != 0 && out[0].Key != "tmp/own" {
		t.Fatalf("expired without a configuration: %+v", out)
	}
	tf.mustGet("b", "tmp/z", 0, "Z")
	tf.mustFail(&SetLifecycle{Bucket: "nope"}, ErrNoSuchBucket)
}

// Versioned bucket: Expiration adds a delete marker, noncurrent versions
// go NoncurrentDays after they became noncurrent (the newest
// NewerNoncurrentVersions stay), a lone marker goes with
// ExpiredObjectDeleteMarker; a snapshot still reads what it showed (as
// for a delete by version id, a snapshot pins each key's view, not the
// noncurrent versions behind it).
func TestLifecycleVersioned(t *testing.T) {
	tf := openTestFSM(t)
	tf.must(&CreateBucket{Header: Header{Stamp: uint64(day)}, Name: "b"})
	tf.must(&SetVersioning{Bucket: "b", Status: VersioningEnabled})
	put := func(stamp int64, key, body string) *Object {
		o := obj(key, body)
		return tf.must(&PutObject{Header: Header{Stamp: uint64(stamp)}, Bucket: "b", Object: o}).Object
	}
	v1 := put(day+1, "k", "1")
	put(2*day+1, "k", "2") // v1 noncurrent from day 2
	put(3*day+1, "k", "3") // v2 noncurrent from day 3
	snap := tf.must(&CreateSnapshot{Header: Header{Stamp: uint64(3*day + 2)}, Bucket: "b"}).Snapshot.Version
	tf.must(&SetLifecycle{Bucket: "b", Config: &Lifecycle{Rules: []LifecycleRule{
		{ID: "cur", Enabled: true, ExpirationDays: 10},
		{ID: "nc", Enabled: true, NoncurrentDays: 1, NewerNoncurrentVersions: 1},
		{ID: "dm", Enabled: true, ExpiredObjectDeleteMarker: true},
	}}})
	_, out := tf.lifecycleRun(5*day, 0)
	if len(out) != 1 || out[0].VersionID != VersionID(v1) {
		t.Fatalf("day 5 expired %+v, want v1 only", out)
	}
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.GetObject("b", "k", VersionID(v1), 0) }); !errors.Is(err, ErrNoSuchVersion) {
		t.Fatalf("v1 after expiry: %v", err)
	}
	tf.mustGet("b", "k", snap, "3")
	// Day 15: the current version expires (a marker), then its versions
	// age out, then the lone marker goes.
	_, out = tf.lifecycleRun(15*day, 0)
	if len(out) != 1 || !out[0].DeleteMarker {
		t.Fatalf("day 15 %+v, want a delete marker", out)
	}
	tf.mustMiss("b", "k", 0)
	// v3, the newest noncurrent version, stays (NewerNoncurrentVersions).
	tf.lifecycleRun(30*day, 0)
	vl := tf.read(func(r *Reader) (any, error) { return r.ListVersions("b", VersionListOptions{MaxKeys: 100}) }).(*VersionListResult)
	if len(vl.Versions) != 2 || !vl.Versions[0].DeleteMarker || string(vl.Versions[1].ETag) != `"33"` {
		t.Fatalf("versions left: %+v", vl.Versions)
	}
	tf.must(&SetLifecycle{Bucket: "b", Config: &Lifecycle{Rules: []LifecycleRule{
		{ID: "nc", Enabled: true, NoncurrentDays: 1},
		{ID: "dm", Enabled: true, ExpiredObjectDeleteMarker: true},
	}}})
	tf.lifecycleRun(31*day, 0) // v3 goes
	tf.lifecycleRun(31*day, 0) // then the marker, alone
	vl = tf.read(func(r *Reader) (any, error) { return r.ListVersions("b", VersionListOptions{MaxKeys: 100}) }).(*VersionListResult)
	if len(vl.Versions) != 0 {
		t.Fatalf("versions left: %+v", vl.Versions)
	}
	tf.mustGet("b", "k", snap, "3")
}

// A pass is made of bounded steps that resume where the previous one
// stopped: with a limit of 10 records, 100 keys take about 10 steps, and
// each key is expired once.
func TestLifecycleStepsResume(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("a")
	tf.createBucket("b")
	for i := 0; i < 50; i++ {
		tf.put("a", fmt.Sprintf("k%03d", i), "x")
		tf.put("b", fmt.Sprintf("k%03d", i), "x")
	}
	tf.must(&CreateUpload{Bucket: "b", UploadID: "u1", Template: Object{Key: "m"}})
	rule := &Lifecycle{Rules: []LifecycleRule{{ID: "r", Enabled: true, ExpirationDays: 1, AbortUploadDays: 1}}}
	tf.must(&SetLifecycle{Bucket: "a", Config: rule})
	tf.must(&SetLifecycle{Bucket: "b", Config: rule})
	steps, out := tf.lifecycleRun(5*day, 10)
	if steps < 10 || steps > 13 {
		t.Fatalf("%d steps for 100 records with a limit of 10", steps)
	}
	seen := map[string]int{}
	for _, o := range out {
		seen[o.Key]++
	}
	if len(out) != 101 || seen["m"] != 1 {
		t.Fatalf("expired %d (%d keys), want 100 objects and 1 upload", len(out), len(seen))
	}
	if n := len(tf.listAll("a", 0, 1000)) + len(tf.listAll("b", 0, 1000)); n != 0 {
		t.Fatalf("%d keys left", n)
	}
	if ok := tf.read(func(r *Reader) (any, error) { return r.LifecyclePassUnderWay() }).(bool); ok {
		t.Fatal("cursor left after the pass")
	}
	// Deleting the bucket drops its configuration.
	tf.must(&DeleteBucket{Name: "a"})
	tf.must(&DeleteBucket{Name: "b"})
	if ok := tf.read(func(r *Reader) (any, error) { return r.HasLifecycle() }).(bool); ok {
		t.Fatal("a deleted bucket keeps its lifecycle configuration")
	}
}

// Commands round-trip through the codec.
func TestLifecycleCommandCodec(t *testing.T) {
	c := &SetLifecycle{Header: Header{RequestID: "r", Stamp: 7}, Bucket: "b", Config: &Lifecycle{
		Rules:    []LifecycleRule{{ID: "x", Enabled: true, Prefix: "p", Tags: map[string]string{"a": "b"}, SizeGreaterThan: 1, SizeLessThan: 9, ExpirationDays: 3, NoncurrentDays: 4, NewerNoncurrentVersions: 2, AbortUploadDays: 5}},
		Document: []byte("<LifecycleConfiguration/>"),
	}}
	got, err := DecodeCommand(EncodeCommand(c))
	if err != nil {
		t.Fatal(err)
	}
	g := got.(*SetLifecycle)
	if g.Bucket != "b" || g.Config == nil || len(g.Config.Rules) != 1 || g.Config.Rules[0].Tags["a"] != "b" ||
		g.Config.Rules[0].AbortUploadDays != 5 || string(g.Config.Document) != "<LifecycleConfiguration/>" {
		t.Fatalf("round trip: %+v", g)
	}
	got, err = DecodeCommand(EncodeCommand(&SetLifecycle{Bucket: "b"}))
	if err != nil || got.(*SetLifecycle).Config != nil {
		t.Fatalf("delete round trip: %+v %v", got, err)
	}
	got, err = DecodeCommand(EncodeCommand(&ApplyLifecycle{Now: 5, Limit: 3}))
	if err != nil || got.(*ApplyLifecycle).Now != 5 || got.(*ApplyLifecycle).Limit != 3 {
		t.Fatalf("apply round trip: %+v %v", got, err)
	}
}

// A merge under way holds its parent and its fork: a lifecycle step
// changes neither (nothing may observe or change them between the merge's
// entries); the pass after the merge expires what is due.
func TestLifecycleSkipsBucketsAMergeHolds(t *testing.T) {
	withMergeEntryChanges(t, 2)
	tf := openTestFSM(t)
	tf.createBucket("base")
	tf.put("base", "old", "o")
	tf.fork("f", "base")
	for i := range 10 {
		tf.put("f", fmt.Sprintf("k%02d", i), "f")
	}
	all := &Lifecycle{Rules: []LifecycleRule{{ID: "all", Enabled: true, ExpirationDays: 1}}}
	tf.must(&SetLifecycle{Bucket: "base", Config: all})
	tf.must(&SetLifecycle{Bucket: "f", Config: all})
	if res := tf.must(&MergeFork{Fork: "f", Strategy: MergeForkWins}); !res.Merge.UnderWay {
		t.Fatal("the merge fit one entry")
	}
	if _, out := tf.lifecycleRun(100*day, 0); len(out) != 0 {
		t.Fatalf("expired during the merge: %+v", out)
	}
	for res := tf.must(&MergeContinue{Fork: "f"}); res.Merge.UnderWay; res = tf.must(&MergeContinue{Fork: "f"}) {
	}
	tf.mustGet("base", "k09", 0, "f")
	// (The step above moved versions, hence LastModified, to day 100.)
	if _, out := tf.lifecycleRun(200*day, 0); len(out) != 21 {
		t.Fatalf("expired %d after the merge, want 11 in base and 10 in the fork: %+v", len(out), out)
	}
	tf.mustMiss("base", "old", 0)
	tf.mustMiss("f", "k00", 0)
}

// What earlier passes expired is not walked again: expiring the oldest
// keys of a bucket (log-style names, expired in order) leaves Badger
// deletion markers at the front of its keyspace, and a pass starts at the
// bucket's lifecycle floor, past them. Writes below the floor lower it.
func TestLifecyclePassSkipsWhatItExpired(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	tf.must(&SetLifecycle{Bucket: "b", Config: &Lifecycle{Rules: []LifecycleRule{{ID: "logs", Enabled: true, Prefix: "log/", ExpirationDays: 1}}}})
	stamp := int64(day)
	put := func(key string) {
		stamp++
		tf.must(&PutObject{Header: Header{Stamp: uint64(stamp)}, Bucket: "b", Object: obj(key, "x")})
	}
	pass := func(now int64) (uint64, int) {
		before := tf.fsm.stats.lifecycleSteps
		_, out := tf.lifecycleRun(now, 0)
		return tf.fsm.stats.lifecycleSteps - before, len(out)
	}
	var rounds []float64
	for round := range 5 {
		for i := range 200 {
			put(fmt.Sprintf("log/%02d-%03d", round, i))
		}
		put("zz-keep")
		stamp = int64(day) * int64(10*(round+1))
		steps, n := pass(stamp)
		if n != 200 {
			t.Fatalf("round %d expired %d, want 200", round, n)
		}
		rounds = append(rounds, float64(steps))
	}
	flat(t, "lifecycle pass", rounds)
	// A write below the floor is still seen by the next pass.
	put("a-first")
	tf.must(&SetLifecycle{Bucket: "b", Config: &Lifecycle{Rules: []LifecycleRule{{ID: "all", Enabled: true, ExpirationDays: 1}}}})
	if _, n := pass(stamp + 10*day); n != 2 {
		t.Fatalf("expired %d, want a-first and zz-keep", n)
	}
	tf.mustMiss("b", "a-first", 0)
}

// Configurations of deleted buckets (agent forks come and go) leave
// deletion markers at the front of the lifecycle family: a pass starts at
// the family's floor, so it does not walk them, and a configuration set
// below the floor lowers it.
func TestLifecycleBucketsFloor(t *testing.T) {
	tf := openTestFSM(t)
	rule := &Lifecycle{Rules: []LifecycleRule{{ID: "r", Enabled: true, ExpirationDays: 1}}}
	tf.createBucket("early-b") // the lowest id, no configuration yet
	for i := range 300 {
		name := fmt.Sprintf("f%03d", i)
		tf.createBucket(name)
		tf.must(&SetLifecycle{Bucket: name, Config: rule})
	}
	tf.createBucket("last")
	tf.put("last", "k", "v")
	tf.must(&SetLifecycle{Bucket: "last", Config: rule})
	tf.lifecycleRun(day, 0)
	for i := range 300 {
		tf.must(&DeleteBucket{Name: fmt.Sprintf("f%03d", i)})
	}
	seen := func() int {
		return tf.read(func(r *Reader) (any, error) {
			floor, err := indexFloor(r.txn, pfxLifecycle)
			if err != nil {
				return nil, err
			}
			n, err := scanIndex(r.txn, pfxLifecycle, floor, func([]byte) (bool, error) { return true, nil })
			return n, err
		}).(int)
	}
	tf.lifecycleRun(2*day, 0) // finds "last" first and raises the floor to it
	if n := seen(); n > 2 {
		t.Fatalf("a pass from the floor steps over %d entries, want the one configuration", n)
	}
	if ok := tf.read(func(r *Reader) (any, error) { return r.HasLifecycle() }).(bool); !ok {
		t.Fatal("HasLifecycle with a configuration")
	}
	// A bucket older than the floor (a lower id) gets a configuration:
	// the floor comes down, and the pass sees it.
	tf.must(&DeleteBucket{Name: "last"})
	if ok := tf.read(func(r *Reader) (any, error) { return r.HasLifecycle() }).(bool); ok {
		t.Fatal("HasLifecycle without a configuration")
	}
	tf.lifecycleRun(3*day, 0)
	tf.put("early-b", "k", "v")
	tf.must(&SetLifecycle{Bucket: "early-b", Config: rule})
	if _, out := tf.lifecycleRun(10*day, 0); len(out) != 1 {
		t.Fatalf("expired %+v, want early-b/k", out)
	}
}

// With a history window, an expired object stays readable at the
// instants of the window before its expiry, like a deleted one.
func TestLifecycleKeepsHistoryWindow(t *testing.T) {
	tf := openTestFSMWith(t, Options{History: time.Hour})
	tf.must(&CreateBucket{Header: Header{Stamp: uint64(day)}, Name: "b"})
	tf.must(&PutObject{Header: Header{Stamp: uint64(day + 1)}, Bucket: "b", Object: obj("k", "v")})
	tf.must(&SetLifecycle{Header: Header{Stamp: uint64(day + 2)}, Bucket: "b", Config: &Lifecycle{Rules: []LifecycleRule{{ID: "r", Enabled: true, ExpirationDays: 1}}}})
	before := uint64(3*day - 1)
	tf.must(&PutObject{Header: Header{Stamp: before}, Bucket: "b", Object: obj("other", "o")})
	if _, out := tf.lifecycleRun(3*day, 0); len(out) != 1 {
		t.Fatalf("expired %+v, want k", out)
	}
	tf.mustMiss("b", "k", 0)
	tf.mustGet("b", "k", before, "v")
}

// Lifecycle never removes a version Object Lock retains: a noncurrent
// version under COMPLIANCE retention outlives its NoncurrentDays and goes
// on the first pass after its retention ends.
func TestLifecycleKeepsLockedVersions(t *testing.T) {
	tf := openTestFSM(t)
	tf.must(&CreateBucket{Header: Header{Stamp: uint64(day)}, Name: "b", ObjectLock: true})
	o := obj("k", "1")
	o.LockMode, o.RetainUntil = LockCompliance, 20*day
	v1 := tf.must(&PutObject{Checked: true, Header: Header{Stamp: uint64(day + 1)}, Bucket: "b", Object: o}).Object
	tf.must(&PutObject{Checked: true, Header: Header{Stamp: uint64(2*day + 1)}, Bucket: "b", Object: obj("k", "2")})
	tf.must(&SetLifecycle{Bucket: "b", Config: &Lifecycle{Rules: []LifecycleRule{{ID: "nc", Enabled: true, NoncurrentDays: 1}}}})
	if _, out := tf.lifecycleRun(5*day, 0); len(out) != 0 {
		t.Fatalf("day 5 expired %+v, but v1 is retained until day 20", out)
	}
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.GetObject("b", "k", VersionID(v1), 0) }); err != nil {
		t.Fatalf("retained v1 after a lifecycle pass: %v", err)
	}
	if _, out := tf.lifecycleRun(25*day, 0); len(out) != 1 || out[0].VersionID != VersionID(v1) {
		t.Fatalf("day 25 expired %+v, want v1", out)
	}
}

// TestMayHaveLifecycle: a replica knows it holds no lifecycle
// configuration (so that reads of one can be skipped) only when it holds
// none: at Open, once one is set (before the write commits), after a
// snapshot recovery and a reopen; a drop leaves it conservative until the
// replica is opened again.
func TestMayHaveLifecycle(t *testing.T) {
	tf := openTestFSM(t)
	may := func(step string, want bool) {
		t.Helper()
		if got := tf.fsm.mayHaveLifecycle.Load(); got != want {
			t.Fatalf("%s: mayHaveLifecycle %v, want %v", step, got, want)
		}
		if got := tf.fsm.handle.MayHaveLifecycle(tf.fsm.shardID, tf.fsm.replicaID); got != want {
			t.Fatalf("%s: Handle.MayHaveLifecycle %v, want %v", step, got, want)
		}
	}
	may("new replica", false)
	if !tf.fsm.handle.MayHaveLifecycle(tf.fsm.shardID, tf.fsm.replicaID+1) {
		t.Fatal("a replica not open here is said to hold no lifecycle")
	}
	tf.createBucket("b")
	tf.put("b", "k", "v")
	may("objects only", false)

	cfg := &Lifecycle{Rules: []LifecycleRule{{ID: "r", Enabled: true, ExpirationDays: 1}}}
	tf.must(&SetLifecycle{Bucket: "b", Config: cfg})
	may("set", true)
	ctx, err := tf.fsm.PrepareSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	var withConfig bytes.Buffer
	if err := tf.fsm.SaveSnapshot(ctx, &withConfig, make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	tf.reopen()
	may("reopened with a configuration", true)
	tf.must(&SetLifecycle{Bucket: "b"})
	may("dropped", true)
	tf.reopen()
	may("reopened after the drop", false)

	ctx, err = tf.fsm.PrepareSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	var without bytes.Buffer
	if err := tf.fsm.SaveSnapshot(ctx, &without, make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	if err := tf.fsm.RecoverFromSnapshot(bytes.NewReader(withConfig.Bytes()), make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	may("recovered a state with a configuration", true)
	if err := tf.fsm.RecoverFromSnapshot(bytes.NewReader(without.Bytes()), make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	may("recovered a state without", false)
}
