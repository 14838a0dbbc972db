package gateway_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// errKind names the meta sentinel err is, for comparing outcomes.
func errKind(err error) string {
	if err == nil {
		return "ok"
	}
	for _, s := range []error{meta.ErrNoSuchKey, meta.ErrNoSuchVersion, meta.ErrMethodNotAllowed,
		meta.ErrInvalidLockRequest, meta.ErrObjectLocked, meta.ErrRemoteParent} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return err.Error()
}

// Tag, ACL and lock changes of versions a fork inherits from its parent
// on another shard give what the same changes give in the same fork on
// its parent's shard: what reads of the fork, its snapshots and its own
// forks show afterwards, the errors, the version ids, and a parent left
// unchanged.
func TestForksAcrossShardsAnnotateAsLocal(t *testing.T) {
	s := newXForkService(t, nil)
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base", ObjectLock: true, Ownership: meta.OwnershipObjectWriter}); err != nil {
		t.Fatal(err)
	}
	baseShard := mustShard(t, s, "base")
	putTagged := func(bucket, key string, o meta.Object) *meta.Object {
		t.Helper()
		o.Key = key
		got, err := s.PutObject(ctx(t), &gateway.PutObjectInput{Bucket: bucket, Key: key, Body: bytes.NewReader([]byte(key)), Size: int64(len(key)), Object: o, Checked: true})
		if err != nil {
			t.Fatalf("put %s/%s: %v", bucket, key, err)
		}
		return got
	}
	old := putTagged("base", "t", meta.Object{Tags: map[string]string{"v": "old"}})
	putTagged("base", "t", meta.Object{Tags: map[string]string{"a": "1"}})
	until := time.Now().Add(time.Hour).UnixNano()
	locked := putTagged("base", "locked", meta.Object{LockMode: meta.LockGovernance, RetainUntil: until})
	putTagged("base", "gone", meta.Object{})
	if _, err := s.DeleteObject(ctx(t), "base", "gone", "", meta.DeleteCondition{}, false); err != nil {
		t.Fatal(err)
	}
	remote, local := remoteNames("far", baseShard, 1)[0], localName("near", baseShard)
	for _, n := range []string{remote, local} {
		if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: n, ForkSource: "base"}); err != nil {
			t.Fatal(err)
		}
	}
	if mustShard(t, s, remote) == baseShard || mustShard(t, s, local) != baseShard {
		t.Fatal("forks not placed as asked")
	}
	head := func(in gateway.GetObjectInput) string {
		t.Helper()
		o, err := s.HeadObject(ctx(t), in)
		if err != nil {
			return errKind(err)
		}
		return fmt.Sprintf("%s %v acl=%q lock=%s/%d hold=%v", meta.VersionID(o), o.Tags, o.ACL, o.LockMode, o.RetainUntil, o.LegalHold)
	}
	outcome := func(o *meta.Object, err error) string {
		if err != nil {
			return errKind(err)
		}
		return fmt.Sprintf("%s %v acl=%q lock=%s/%d hold=%v", meta.VersionID(o), o.Tags, o.ACL, o.LockMode, o.RetainUntil, o.LegalHold)
	}
	type step struct {
		name string
		do   func(fork string) string
	}
	var snaps = map[string]uint64{}
	steps := []step{
		{"snapshot", func(n string) string {
			sn, err := s.CreateSnapshot(ctx(t), n, "before")
			if err != nil {
				return errKind(err)
			}
			snaps[n] = sn.Version
			return "ok"
		}},
		{"tag latest", func(n string) string {
			return outcome(s.AnnotateObject(ctx(t), gateway.AnnotateObjectInput{Bucket: n, Key: "t", SetTags: true, Tags: map[string]string{"b": "2"}}))
		}},
		{"read latest", func(n string) string { return head(gateway.GetObjectInput{Bucket: n, Key: "t"}) }},
		{"read snapshot", func(n string) string { return head(gateway.GetObjectInput{Bucket: n, Key: "t", At: snaps[n]}) }},
		{"tag again", func(n string) string {
			return outcome(s.AnnotateObject(ctx(t), gateway.AnnotateObjectInput{Bucket: n, Key: "t", SetTags: true, Tags: map[string]string{"c": "3"}}))
		}},
		{"same tags", func(n string) string {
			return outcome(s.AnnotateObject(ctx(t), gateway.AnnotateObjectInput{Bucket: n, Key: "t", SetTags: true, Tags: map[string]string{"c": "3"}}))
		}},
		{"acl", func(n string) string {
			return outcome(s.AnnotateObject(ctx(t), gateway.AnnotateObjectInput{Bucket: n, Key: "t", SetACL: true, ACL: "public-read"}))
		}},
		{"read acl", func(n string) string { return head(gateway.GetObjectInput{Bucket: n, Key: "t"}) }},
		{"untag by version", func(n string) string {
			v, _ := s.HeadObject(ctx(t), gateway.GetObjectInput{Bucket: "base", Key: "t"})
			return outcome(s.AnnotateObject(ctx(t), gateway.AnnotateObjectInput{Bucket: n, Key: "t", VersionID: meta.VersionID(v), SetTags: true}))
		}},
		{"read untagged", func(n string) string { return head(gateway.GetObjectInput{Bucket: n, Key: "t"}) }},
		{"tag older version", func(n string) string {
			return outcome(s.AnnotateObject(ctx(t), gateway.AnnotateObjectInput{Bucket: n, Key: "t", VersionID: meta.VersionID(old), SetTags: true}))
		}},
		{"tag deleted", func(n string) string {
			return outcome(s.AnnotateObject(ctx(t), gateway.AnnotateObjectInput{Bucket: n, Key: "gone", SetTags: true}))
		}},
		{"tag missing", func(n string) string {
			return outcome(s.AnnotateObject(ctx(t), gateway.AnnotateObjectInput{Bucket: n, Key: "nothing", SetTags: true}))
		}},
		{"tag locked", func(n string) string {
			return outcome(s.AnnotateObject(ctx(t), gateway.AnnotateObjectInput{Bucket: n, Key: "locked", SetTags: true, Tags: map[string]string{"l": "1"}}))
		}},
		{"shorten retention", func(n string) string {
			return outcome(s.SetObjectLock(ctx(t), gateway.ObjectLockInput{Bucket: n, Key: "locked", SetRetention: true, Mode: meta.LockGovernance, RetainUntil: until - int64(time.Minute)}))
		}},
		{"shorten with bypass", func(n string) string {
			return outcome(s.SetObjectLock(ctx(t), gateway.ObjectLockInput{Bucket: n, Key: "locked", VersionID: meta.VersionID(locked), SetRetention: true, Mode: meta.LockGovernance, RetainUntil: until - int64(time.Minute), BypassGovernance: true}))
		}},
		{"legal hold", func(n string) string {
			return outcome(s.SetObjectLock(ctx(t), gateway.ObjectLockInput{Bucket: n, Key: "locked", SetLegalHold: true, LegalHold: true}))
		}},
		{"lock missing", func(n string) string {
			return outcome(s.SetObjectLock(ctx(t), gateway.ObjectLockInput{Bucket: n, Key: "nothing", SetLegalHold: true, LegalHold: true}))
		}},
		{"lock old version", func(n string) string {
			return outcome(s.SetObjectLock(ctx(t), gateway.ObjectLockInput{Bucket: n, Key: "t", VersionID: meta.VersionID(old), SetLegalHold: true, LegalHold: true}))
		}},
		{"read locked", func(n string) string { return head(gateway.GetObjectInput{Bucket: n, Key: "locked"}) }},
		{"delete locked by version", func(n string) string {
			_, err := s.DeleteObject(ctx(t), n, "locked", meta.VersionID(locked), meta.DeleteCondition{}, false)
			return errKind(err)
		}},
		{"fork of fork", func(n string) string {
			_, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: n + "-sub", ForkSource: n})
			return errKind(err)
		}},
		{"tag after sub-fork", func(n string) string {
			return outcome(s.AnnotateObject(ctx(t), gateway.AnnotateObjectInput{Bucket: n, Key: "t", SetTags: true, Tags: map[string]string{"d": "4"}}))
		}},
		{"sub-fork reads", func(n string) string { return head(gateway.GetObjectInput{Bucket: n + "-sub", Key: "t"}) }},
		{"sub-fork tags", func(n string) string {
			return outcome(s.AnnotateObject(ctx(t), gateway.AnnotateObjectInput{Bucket: n + "-sub", Key: "t", SetTags: true, Tags: map[string]string{"e": "5"}}))
		}},
		{"fork after sub-fork tags", func(n string) string { return head(gateway.GetObjectInput{Bucket: n, Key: "t"}) }},
		{"own version", func(n string) string {
			putTagged(n, "t", meta.Object{Tags: map[string]string{"own": "1"}})
			return head(gateway.GetObjectInput{Bucket: n, Key: "t"})[len("0"):] // version ids differ between shards
		}},
	}
	for _, st := range steps {
		want, got := st.do(local), st.do(remote)
		if st.name == "own version" {
			if o, err := s.HeadObject(ctx(t), gateway.GetObjectInput{Bucket: remote, Key: "t"}); err != nil || !maps.Equal(o.Tags, map[string]string{"own": "1"}) {
				t.Fatalf("own version: %+v %v", o, err)
			}
			continue
		}
		if got != want {
			t.Fatalf("%s: across shards %q, on one shard %q", st.name, got, want)
		}
		t.Logf("%s: %s", st.name, got)
	}
	// The parent is unchanged.
	if o, err := s.HeadObject(ctx(t), gateway.GetObjectInput{Bucket: "base", Key: "t"}); err != nil || !maps.Equal(o.Tags, map[string]string{"a": "1"}) || o.ACL == "public-read" {
		t.Fatalf("parent changed: %+v %v", o, err)
	}
	if o, err := s.HeadObject(ctx(t), gateway.GetObjectInput{Bucket: "base", Key: "locked"}); err != nil || o.RetainUntil != until || o.LegalHold {
		t.Fatalf("parent's lock changed: %+v %v", o, err)
	}
}
