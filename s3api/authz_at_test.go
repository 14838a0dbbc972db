package s3api

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// readAtFixture is a server with a one-hour history window and buckets
// whose ACLs changed after a snapshot: root-only helpers to build it.
type readAtFixture struct {
	ls  *liveServer
	svc *gateway.Service
	t   *testing.T
}

func newReadAtFixture(t *testing.T) *readAtFixture {
	t.Helper()
	ls := newLiveServerNode(t, func(c *gateway.Config) { c.Meta.History = time.Hour }, nil)
	return &readAtFixture{ls: ls, svc: ls.node.Service(), t: t}
}

func (f *readAtFixture) mk(name string, o meta.Ownership, acl string) {
	f.t.Helper()
	if _, err := f.svc.CreateBucket(f.t.Context(), gateway.CreateBucketInput{Name: name, Ownership: o, ACL: acl}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *readAtFixture) put(bucket, key, acl, body string) uint64 {
	f.t.Helper()
	o, err := f.svc.PutObject(f.t.Context(), &gateway.PutObjectInput{Bucket: bucket, Key: key, Body: strings.NewReader(body),
		Size: int64(len(body)), Object: meta.Object{Key: key, ACL: acl}})
	if err != nil {
		f.t.Fatal(err)
	}
	return o.Version
}

func (f *readAtFixture) snapshot(bucket string) string {
	f.t.Helper()
	sn, err := f.svc.CreateSnapshot(f.t.Context(), bucket, "")
	if err != nil {
		f.t.Fatal(err)
	}
	return strconv.FormatUint(sn.Version, 10)
}

// anon sends an unsigned request.
func (f *readAtFixture) anon(method, target string, hdr map[string]string) int {
	f.t.Helper()
	req, err := http.NewRequest(method, "http://"+f.ls.addr+target, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestLiveReadAtAuthz: a read at a snapshot or at an instant of the
// history window is authorized by the bucket's and the object's ACLs as
// they were at that version. A scoped key of another bucket (and an
// anonymous request) cannot read, HEAD, copy or list at a snapshot what
// was private then, although today's ACLs make the bucket and the object
// public; what was public then stays readable at that version.
func TestLiveReadAtAuthz(t *testing.T) {
	f := newReadAtFixture(t)
	ctx := t.Context()
	f.mk("pub", meta.OwnershipObjectWriter, "public-read")
	f.mk("priv", meta.OwnershipObjectWriter, "")
	f.mk("mine", meta.OwnershipEnforced, "")
	f.put("pub", "doc.txt", "", "private original")
	f.put("pub", "gone.txt", "", "deleted since")
	instant := f.put("pub", "was-public.txt", "public-read", "public then")
	f.put("priv", "a", "", "listed")
	snapPub := f.snapshot("pub")
	snapPriv := f.snapshot("priv")
	f.put("pub", "doc.txt", "public-read", "public now")
	if _, err := f.svc.DeleteObject(ctx, "pub", "gone.txt", "", meta.DeleteCondition{}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AnnotateObject(ctx, gateway.AnnotateObjectInput{Bucket: "pub", Key: "was-public.txt", SetACL: true, ACL: ""}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetBucketAccess(ctx, "priv", gateway.BucketAccessInput{SetACL: true, ACL: "public-read"}); err != nil {
		t.Fatal(err)
	}
	var k KeyJSON
	if st := f.ls.admin(t, "POST", "keys", map[string]any{"buckets": []string{"mine"}}, &k); st != 201 {
		t.Fatalf("create key: %d", st)
	}
	at := func(v string) map[string]string { return map[string]string{hdrSnapshotVersion: v} }

	// Today's ACLs: the key reads doc.txt and lists priv.
	if resp, body := f.ls.rawWith(t, k.AccessKeyID, k.SecretAccessKey, "GET", "/pub/doc.txt", nil, nil); resp.StatusCode != 200 || string(body) != "public now" {
		t.Fatalf("GET now: %d %q", resp.StatusCode, body)
	}
	if resp := f.ls.rawAs(t, k, "GET", "/priv?list-type=2", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("list now: %d", resp.StatusCode)
	}

	// At the snapshot, and at an instant of the history window before
	// it, doc.txt was private and gone.txt was there.
	for _, ref := range []string{snapPub, strconv.FormatUint(instant, 10)} {
		for _, c := range []struct{ method, target string }{
			{"GET", "/pub/doc.txt"},
			{"HEAD", "/pub/doc.txt"},
			{"GET", "/pub/gone.txt"},
		} {
			resp, body := f.ls.rawWith(t, k.AccessKeyID, k.SecretAccessKey, c.method, c.target, nil, at(ref))
			if resp.StatusCode != 403 {
				t.Errorf("%s %s at %s by a key of another bucket: %d %q, want 403", c.method, c.target, ref, resp.StatusCode, body)
			}
			if st := f.anon(c.method, c.target, at(ref)); st != 403 {
				t.Errorf("anonymous %s %s at %s: %d, want 403", c.method, c.target, ref, st)
			}
		}
		// CopyObject with the source at the snapshot: no exfiltration
		// into the key's own bucket.
		resp, body := f.ls.rawWith(t, k.AccessKeyID, k.SecretAccessKey, "PUT", "/mine/stolen", nil,
			map[string]string{"X-Amz-Copy-Source": "/pub/doc.txt", hdrSnapshotVersion: ref})
		if resp.StatusCode != 403 {
			t.Errorf("copy at %s: %d %q, want 403", ref, resp.StatusCode, body)
		}
	}
	if _, err := f.svc.HeadObject(ctx, gateway.GetObjectInput{Bucket: "mine", Key: "stolen"}); err == nil {
		t.Error("the copy was stored")
	}

	// No probing for buckets or snapshots with a read at a version.
	for _, c := range []struct{ target, ref string }{
		{"/nosuchbucket/doc.txt", "some-name"}, {"/nosuchbucket/doc.txt", snapPub}, {"/nosuchbucket?list-type=2", "some-name"},
		{"/pub/doc.txt", "no-such-snapshot"}, {"/pub/doc.txt", "17"},
	} {
		if resp, body := f.ls.rawWith(t, k.AccessKeyID, k.SecretAccessKey, "GET", c.target, nil, at(c.ref)); resp.StatusCode != 403 {
			t.Errorf("GET %s at %s by a key of another bucket: %d %q, want 403", c.target, c.ref, resp.StatusCode, body)
		}
	}

	// The same decision for a caller without a principal (authorize
	// answers its ACL decision as is).
	for _, c := range []struct{ bucket, ref string }{{"nosuchbucket", "some-name"}, {"pub", "no-such-snapshot"}, {"pub", snapPub}} {
		a := access{op: OpGetObject, kind: accessRead, bucket: c.bucket, key: "doc.txt", hasKey: true, atRef: c.ref}
		if err := f.ls.s.authorize(ctx, nil, a); errCode(err) != "AccessDenied" {
			t.Errorf("anonymous read of %s at %s: %v, want AccessDenied", c.bucket, c.ref, err)
		}
	}

	// Listing at a snapshot taken while the bucket was private.
	for _, target := range []string{"/priv?list-type=2", "/priv", "/priv?versions"} {
		if resp := f.ls.rawAs(t, k, "GET", target, nil, at(snapPriv)); resp.StatusCode != 403 {
			t.Errorf("GET %s at the private snapshot: %d, want 403", target, resp.StatusCode)
		}
		if st := f.anon("GET", target, at(snapPriv)); st != 403 {
			t.Errorf("anonymous GET %s at the private snapshot: %d, want 403", target, st)
		}
	}

	// What was public at the snapshot stays readable at it (and only at
	// it: the object is private now).
	if resp, body := f.ls.rawWith(t, k.AccessKeyID, k.SecretAccessKey, "GET", "/pub/was-public.txt", nil, at(snapPub)); resp.StatusCode != 200 || string(body) != "public then" {
		t.Errorf("GET of an object public at the snapshot: %d %q", resp.StatusCode, body)
	}
	if resp := f.ls.rawAs(t, k, "GET", "/pub/was-public.txt", nil, nil); resp.StatusCode != 403 {
		t.Errorf("GET of an object private now: %d", resp.StatusCode)
	}
	// The root reads everything at the snapshot.
	if resp, body := f.ls.raw(t, "GET", "/pub/doc.txt", nil, at(snapPub)); resp.StatusCode != 200 || string(body) != "private original" {
		t.Errorf("root GET at the snapshot: %d %q", resp.StatusCode, body)
	}
}

// TestLiveForkPast: with a history window, a fork has no past before it
// was made. Its sandbox key, and the root alike, reading the fork (GET,
// HEAD, listings) at an instant before its fork point get NoSuchSnapshot,
// never the bytes its base had deleted before the fork point; forking it
// at such an instant is NoSuchSnapshot too. After the fork point the fork
// reads as usual.
func TestLiveForkPast(t *testing.T) {
	f := newReadAtFixture(t)
	ctx := t.Context()
	f.mk("base", meta.OwnershipEnforced, "")
	early := f.put("base", "old.txt", "", "deleted before the fork")
	if _, err := f.svc.DeleteObject(ctx, "base", "old.txt", "", meta.DeleteCondition{}, false); err != nil {
		t.Fatal(err)
	}
	f.put("base", "kept.txt", "", "kept")
	batch, err := f.svc.CreateForks(ctx, gateway.CreateForksInput{Source: "base", Names: []string{"f-1"}, WithKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	k := KeyJSON{AccessKeyID: batch.Forks[0].KeyID, SecretAccessKey: batch.Forks[0].Secret}
	after := strconv.FormatUint(f.put("f-1", "new.txt", "", "in the fork"), 10)
	before := strconv.FormatUint(early, 10)
	at := func(v string) map[string]string { return map[string]string{hdrSnapshotVersion: v} }

	for _, who := range []struct {
		name string
		k    KeyJSON
	}{{"the fork's key", k}, {"the root", KeyJSON{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}}} {
		for _, c := range []struct{ method, target string }{
			{"GET", "/f-1/old.txt"},
			{"HEAD", "/f-1/old.txt"},
			{"GET", "/f-1/kept.txt"},
			{"GET", "/f-1?list-type=2"},
			{"GET", "/f-1"},
			{"GET", "/f-1?versions"},
		} {
			resp, body := f.ls.rawWith(t, who.k.AccessKeyID, who.k.SecretAccessKey, c.method, c.target, nil, at(before))
			if resp.StatusCode != 404 || (c.method == "GET" && !strings.Contains(string(body), "<Code>NoSuchSnapshot</Code>")) {
				t.Errorf("%s: %s %s before the fork point: %d %q, want 404 NoSuchSnapshot", who.name, c.method, c.target, resp.StatusCode, body)
			}
		}
	}
	// A fork of the fork at that instant.
	resp, body := f.ls.raw(t, "PUT", "/f-2", nil, map[string]string{hdrForkSource: "f-1", hdrForkSourceSnapshot: before})
	if resp.StatusCode != 404 || !strings.Contains(string(body), "<Code>NoSuchSnapshot</Code>") {
		t.Errorf("fork of f-1 before its fork point: %d %q, want 404 NoSuchSnapshot", resp.StatusCode, body)
	}
	if _, err := f.svc.HeadBucket(ctx, "f-2"); err == nil {
		t.Error("the fork at an instant before f-1 existed was made")
	}

	// After the fork point: the fork's view.
	if resp, body := f.ls.rawWith(t, k.AccessKeyID, k.SecretAccessKey, "GET", "/f-1/kept.txt", nil, at(after)); resp.StatusCode != 200 || string(body) != "kept" {
		t.Errorf("GET after the fork point: %d %q", resp.StatusCode, body)
	}
	if resp, body := f.ls.rawWith(t, k.AccessKeyID, k.SecretAccessKey, "GET", "/f-1/old.txt", nil, at(after)); resp.StatusCode != 404 || !strings.Contains(string(body), "NoSuchKey") {
		t.Errorf("GET of a key deleted before the fork point: %d %q", resp.StatusCode, body)
	}
	if resp, body := f.ls.raw(t, "PUT", "/f-3", nil, map[string]string{hdrForkSource: "f-1", hdrForkSourceSnapshot: after}); resp.StatusCode != 200 {
		t.Errorf("fork of f-1 after its fork point: %d %q", resp.StatusCode, body)
	}
}
