package s3api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// admin sends a signed admin API request with a JSON body and decodes the
// JSON answer into out (when not nil).
func (ls *liveServer) admin(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	resp, got := ls.raw(t, method, "/_forkstore/v1/"+path, data, map[string]string{"Content-Type": "application/json"})
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, got, err)
		}
	}
	return resp.StatusCode
}

// client returns a minio-go client signing with a scoped key.
func (ls *liveServer) client(t *testing.T, id, secret string) *minio.Client {
	t.Helper()
	mc, err := minio.New(ls.addr, &minio.Options{Creds: credentials.NewStaticV4(id, secret, ""), Region: testRegion})
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

func put(t *testing.T, mc *minio.Client, bucket, key, body string) error {
	t.Helper()
	_, err := mc.PutObject(t.Context(), bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
	return err
}

func get(t *testing.T, mc *minio.Client, bucket, key string) (string, error) {
	t.Helper()
	o, err := mc.GetObject(t.Context(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return "", err
	}
	defer o.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(o)
	return b.String(), err
}

// TestLiveScopedKeys: a scoped key may use only its buckets, only under
// its prefix, only to read when read-only; ListBuckets shows only its
// buckets; it cannot manage keys or use the admin API beyond lineage and
// diff; a deleted key stops working. (AccessDenied, InvalidAccessKeyId.)
func TestLiveScopedKeys(t *testing.T) {
	ls := newLiveServer(t)
	ctx := t.Context()
	for _, b := range []string{"mine", "other"} {
		if err := ls.mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := put(t, ls.mc, b, "logs/a", "root"); err != nil {
			t.Fatal(err)
		}
	}
	var k KeyJSON
	if st := ls.admin(t, "POST", "keys", map[string]any{"buckets": []string{"mine"}, "allow_forks": true, "fork_prefix": "mine-"}, &k); st != 201 || k.SecretAccessKey == "" {
		t.Fatalf("create key: %d %+v", st, k)
	}
	mc := ls.client(t, k.AccessKeyID, k.SecretAccessKey)

	if err := put(t, mc, "mine", "x", "agent"); err != nil {
		t.Fatal(err)
	}
	if got, err := get(t, mc, "mine", "logs/a"); err != nil || got != "root" {
		t.Fatalf("read own bucket: %q %v", got, err)
	}
	_, err := get(t, mc, "other", "logs/a")
	mustCode(t, err, "AccessDenied")
	mustCode(t, put(t, mc, "other", "x", "no"), "AccessDenied")
	mustCode(t, mc.RemoveObject(ctx, "other", "logs/a", minio.RemoveObjectOptions{}), "AccessDenied")
	mustCode(t, mc.MakeBucket(ctx, "newbucket", minio.MakeBucketOptions{}), "AccessDenied")
	mustCode(t, mc.RemoveBucket(ctx, "other"), "AccessDenied")
	for o := range mc.ListObjects(ctx, "other", minio.ListObjectsOptions{}) {
		mustCode(t, o.Err, "AccessDenied")
	}
	// A missing bucket outside the scope is AccessDenied too (no probing).
	_, err = get(t, mc, "nosuchbucket", "k")
	mustCode(t, err, "AccessDenied")
	// Copying from a bucket outside the scope is refused.
	_, err = mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "mine", Object: "stolen"}, minio.CopySrcOptions{Bucket: "other", Object: "logs/a"})
	mustCode(t, err, "AccessDenied")
	buckets, err := mc.ListBuckets(ctx)
	if err != nil || len(buckets) != 1 || buckets[0].Name != "mine" {
		t.Fatalf("ListBuckets: %+v %v", buckets, err)
	}
	if got, err := get(t, ls.mc, "other", "logs/a"); err != nil || got != "root" {
		t.Fatalf("other bucket changed: %q %v", got, err)
	}

	// The admin API: only lineage and diff of its own buckets.
	do := func(method, target string, body string) int {
		t.Helper()
		return ls.rawAs(t, k, method, target, []byte(body), nil).StatusCode
	}
	if st := do("GET", "/_forkstore/v1/buckets/mine/lineage", ""); st != 200 {
		t.Fatalf("own lineage: %d", st)
	}
	if st := do("GET", "/_forkstore/v1/buckets/mine/diff", ""); st != 200 {
		t.Fatalf("own diff: %d", st)
	}
	for _, c := range []struct{ method, target, body string }{
		{"GET", "/_forkstore/v1/buckets/other/lineage", ""},
		{"GET", "/_forkstore/v1/keys", ""},
		{"POST", "/_forkstore/v1/keys", `{"buckets":["other"]}`},
		{"DELETE", "/_forkstore/v1/keys/" + k.AccessKeyID, ""},
		{"POST", "/_forkstore/v1/buckets/mine/snapshots", ""},
		{"POST", "/_forkstore/v1/buckets/mine/forks/batch", `{"count":2,"prefix":"x-"}`},
	} {
		if st := do(c.method, c.target, c.body); st != 403 {
			t.Fatalf("%s %s by a scoped key: %d, want 403", c.method, c.target, st)
		}
	}

	// SigV2 presigned URLs (boto3's default form for us-east-1) with the
	// scoped key: its bucket only.
	for bucket, want := range map[string]int{"mine": 200, "other": 403} {
		req, _ := http.NewRequest("GET", "http://"+ls.addr+"/"+bucket+"/logs/a", nil)
		req = signer.PreSignV2(*req, k.AccessKeyID, k.SecretAccessKey, 3600, false)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("SigV2 presigned GET of %s: %d, want %d", bucket, resp.StatusCode, want)
		}
	}

	// A writable key given the permission may fork its bucket, and may
	// then use the fork.
	if resp := ls.rawAs(t, k, "PUT", "/mine-sub", nil, map[string]string{"X-Tigris-Fork-Source-Bucket": "mine"}); resp.StatusCode != 200 {
		t.Fatalf("fork by a scoped key: %d", resp.StatusCode)
	}
	if got, err := get(t, mc, "mine-sub", "x"); err != nil || got != "agent" {
		t.Fatalf("the key's own fork: %q %v", got, err)
	}
	if resp := ls.rawAs(t, k, "PUT", "/other-sub", nil, map[string]string{"X-Tigris-Fork-Source-Bucket": "other"}); resp.StatusCode != 403 {
		t.Fatalf("fork of a bucket outside the scope: %d", resp.StatusCode)
	}
	if buckets, err := mc.ListBuckets(ctx); err != nil || len(buckets) != 2 {
		t.Fatalf("ListBuckets after the fork: %+v %v", buckets, err)
	}

	// Read-only and prefix keys.
	var ro, px KeyJSON
	ls.admin(t, "POST", "keys", map[string]any{"buckets": []string{"mine"}, "read_only": true}, &ro)
	ls.admin(t, "POST", "keys", map[string]any{"buckets": []string{"mine", "other"}, "prefix": "logs/"}, &px)
	rmc := ls.client(t, ro.AccessKeyID, ro.SecretAccessKey)
	if _, err := get(t, rmc, "mine", "x"); err != nil {
		t.Fatal(err)
	}
	mustCode(t, put(t, rmc, "mine", "y", "no"), "AccessDenied")
	mustCode(t, rmc.RemoveObject(ctx, "mine", "x", minio.RemoveObjectOptions{}), "AccessDenied")
	resp := ls.rawAs(t, ro, "PUT", "/mine-snap", nil, map[string]string{"X-Tigris-Fork-Source-Bucket": "mine"})
	if resp.StatusCode != 403 {
		t.Fatalf("fork by a read-only key: %d", resp.StatusCode)
	}
	resp = ls.rawAs(t, ro, "PUT", "/mine", nil, map[string]string{"X-Tigris-Snapshot": "true"})
	if resp.StatusCode != 403 {
		t.Fatalf("snapshot by a read-only key: %d", resp.StatusCode)
	}
	pmc := ls.client(t, px.AccessKeyID, px.SecretAccessKey)
	if err := put(t, pmc, "other", "logs/b", "p"); err != nil {
		t.Fatal(err)
	}
	mustCode(t, put(t, pmc, "other", "top", "p"), "AccessDenied")
	_, err = get(t, pmc, "mine", "x")
	mustCode(t, err, "AccessDenied")
	n := 0
	for o := range pmc.ListObjects(ctx, "other", minio.ListObjectsOptions{Prefix: "logs/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("listed %d keys under logs/", n)
	}
	for o := range pmc.ListObjects(ctx, "other", minio.ListObjectsOptions{Recursive: true}) {
		mustCode(t, o.Err, "AccessDenied")
	}
	// DeleteObjects: keys outside the prefix fail one by one.
	objs := make(chan minio.ObjectInfo, 2)
	objs <- minio.ObjectInfo{Key: "logs/b"}
	objs <- minio.ObjectInfo{Key: "logs-not/a"}
	close(objs)
	var errs []string
	for e := range pmc.RemoveObjects(ctx, "other", objs, minio.RemoveObjectsOptions{}) {
		errs = append(errs, e.ObjectName+":"+code(e.Err))
	}
	if len(errs) != 1 || errs[0] != "logs-not/a:AccessDenied" {
		t.Fatalf("DeleteObjects errors %v", errs)
	}

	// Deleting a key: it stops working within a second.
	if st := ls.admin(t, "DELETE", "keys/"+k.AccessKeyID, nil, nil); st != 200 {
		t.Fatalf("delete key: %d", st)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := get(t, mc, "mine", "x")
		if code(err) == "InvalidAccessKeyId" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deleted key still works: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var list struct{ Keys []KeyJSON }
	ls.admin(t, "GET", "keys", nil, &list)
	if len(list.Keys) != 2 {
		t.Fatalf("keys %+v", list.Keys)
	}
	for _, k := range list.Keys {
		if k.SecretAccessKey != "" {
			t.Fatal("list shows a secret")
		}
	}
}

// rawAs sends a request signed with a scoped key.
func (ls *liveServer) rawAs(t *testing.T, k KeyJSON, method, target string, body []byte, hdr map[string]string) *http.Response {
	t.Helper()
	resp, _ := ls.rawWith(t, k.AccessKeyID, k.SecretAccessKey, method, target, body, hdr)
	return resp
}

// TestLiveKeyForks: a scoped key forks only when it was given the
// permission, only into names under its fork prefix, and the forks it
// makes expire with its earliest expiry (its own, the leases of its
// buckets): an agent key of a leased fork cannot make a fork that
// outlives the lease, nor take a name a runner will need.
func TestLiveKeyForks(t *testing.T) {
	ls := newLiveServer(t)
	ctx := t.Context()
	svc := ls.node.Service()
	for _, b := range []string{"base", "plain"} {
		if err := ls.mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := put(t, ls.mc, "base", "k", "v"); err != nil {
		t.Fatal(err)
	}
	fork := func(k KeyJSON, name, source string) *http.Response {
		t.Helper()
		return ls.rawAs(t, k, "PUT", "/"+name, nil, map[string]string{hdrForkSource: source})
	}
	exists := func(name string) bool {
		t.Helper()
		_, err := svc.HeadBucket(ctx, name)
		return err == nil
	}

	// A sandbox key of a leased fork (fork create-many --with-keys) may
	// not fork at all: no escape from the lease, no squatting.
	batch, err := svc.CreateForks(ctx, gateway.CreateForksInput{Source: "base", Names: []string{"lease-1"}, WithKeys: true, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	agent := KeyJSON{AccessKeyID: batch.Forks[0].KeyID, SecretAccessKey: batch.Forks[0].Secret}
	for _, name := range []string{"escape-fork", "run2-agent-3", "lease-1-sub"} {
		if resp := fork(agent, name, "lease-1"); resp.StatusCode != 403 || exists(name) {
			t.Fatalf("fork %s by a sandbox key: %d (exists %v), want 403", name, resp.StatusCode, exists(name))
		}
	}
	if got, err := get(t, ls.client(t, agent.AccessKeyID, agent.SecretAccessKey), "lease-1", "k"); err != nil || got != "v" {
		t.Fatalf("the sandbox key's own fork: %q %v", got, err)
	}

	// The permission needs a fork prefix, and a key that writes its
	// whole buckets.
	for _, bad := range []map[string]any{
		{"buckets": []string{"plain"}, "allow_forks": true},
		{"buckets": []string{"plain"}, "fork_prefix": "plain-"},
		{"buckets": []string{"plain"}, "allow_forks": true, "fork_prefix": "plain-", "read_only": true},
		{"buckets": []string{"plain"}, "allow_forks": true, "fork_prefix": "Plain_"},
	} {
		if st := ls.admin(t, "POST", "keys", bad, nil); st != 400 {
			t.Fatalf("create key %v: %d, want 400", bad, st)
		}
	}

	// With the permission: forks under the prefix only. The fork joins
	// the key's scope and expires with the lease of lease-2 (earlier
	// than the key's own expiry).
	if _, err := svc.CreateForks(ctx, gateway.CreateForksInput{Source: "base", Names: []string{"lease-2"}, TTL: 4 * time.Second}); err != nil {
		t.Fatal(err)
	}
	var fk KeyJSON
	if st := ls.admin(t, "POST", "keys", map[string]any{"buckets": []string{"lease-2"}, "allow_forks": true,
		"fork_prefix": "lease-2-", "ttl": "2h"}, &fk); st != 201 || !fk.AllowForks || fk.ForkPrefix != "lease-2-" {
		t.Fatalf("create key: %d %+v", st, fk)
	}
	if resp := fork(fk, "run2-agent-3", "lease-2"); resp.StatusCode != 403 || exists("run2-agent-3") {
		t.Fatalf("fork outside the prefix: %d", resp.StatusCode)
	}
	resp := fork(fk, "lease-2-try", "lease-2")
	if resp.StatusCode != 200 {
		t.Fatalf("fork under the prefix: %d", resp.StatusCode)
	}
	lease2, err := svc.HeadBucket(ctx, "lease-2")
	if err != nil {
		t.Fatal(err)
	}
	try, err := svc.HeadBucket(ctx, "lease-2-try")
	if err != nil || try.Expires == 0 || try.Expires != lease2.Expires {
		t.Fatalf("the key's fork: %+v %v, want the lease of lease-2 (%d)", try, err, lease2.Expires)
	}
	if resp.Header.Get(hdrExpires) == "" {
		t.Fatal("no X-Forkstore-Expires on the key's fork")
	}
	if got, err := get(t, ls.client(t, fk.AccessKeyID, fk.SecretAccessKey), "lease-2-try", "k"); err != nil || got != "v" {
		t.Fatalf("the key's fork: %q %v", got, err)
	}

	// A key whose buckets have no lease: its forks expire with the key.
	var pk KeyJSON
	if st := ls.admin(t, "POST", "keys", map[string]any{"buckets": []string{"plain"}, "allow_forks": true,
		"fork_prefix": "plain-", "ttl": "1h"}, &pk); st != 201 {
		t.Fatalf("create key: %d", st)
	}
	if resp := fork(pk, "plain-x", "plain"); resp.StatusCode != 200 {
		t.Fatalf("fork by a key with an expiry: %d", resp.StatusCode)
	}
	p, ok := svc.Principal(ctx, pk.AccessKeyID)
	if !ok || p.Expires == 0 || !p.AllowForks {
		t.Fatalf("principal %+v", p)
	}
	if b, err := svc.HeadBucket(ctx, "plain-x"); err != nil || b.Expires != p.Expires {
		t.Fatalf("fork of a key with an expiry: %+v %v, want the key's expiry %d", b, err, p.Expires)
	}

	// A batch whose keys were asked to fork: the key of agent-1 forks it
	// under "agent-1-" only, and the fork has agent-1's lease.
	if st := ls.admin(t, "POST", "buckets/base/forks/batch", map[string]any{"count": 2, "prefix": "agent-", "keys_allow_forks": true}, nil); st != 400 {
		t.Fatalf("keys_allow_forks without with_keys: %d, want 400", st)
	}
	var ab ForkBatchJSON
	if st := ls.admin(t, "POST", "buckets/base/forks/batch", map[string]any{"count": 2, "prefix": "agent-", "with_keys": true,
		"keys_allow_forks": true, "ttl": "1h"}, &ab); st != 201 || len(ab.Forks) != 2 {
		t.Fatalf("batch: %d %+v", st, ab)
	}
	a1 := KeyJSON{AccessKeyID: ab.Forks[0].AccessKeyID, SecretAccessKey: ab.Forks[0].SecretAccessKey}
	for _, name := range []string{"agent-2-x", "agent-3"} {
		if resp := fork(a1, name, "agent-1"); resp.StatusCode != 403 || exists(name) {
			t.Fatalf("fork %s by the key of agent-1: %d", name, resp.StatusCode)
		}
	}
	if resp := fork(a1, "agent-1-x", "agent-1"); resp.StatusCode != 200 {
		t.Fatalf("fork agent-1-x by the key of agent-1: %d", resp.StatusCode)
	}
	agent1, err := svc.HeadBucket(ctx, "agent-1")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := svc.HeadBucket(ctx, "agent-1-x"); err != nil || b.Expires == 0 || b.Expires != agent1.Expires {
		t.Fatalf("fork of agent-1 by its key: %+v %v, want agent-1's lease %d", b, err, agent1.Expires)
	}

	// When the lease of lease-2 runs out, the fork the key made goes with
	// it (the collector deletes both) and the key may use neither.
	deadline := time.Now().Add(30 * time.Second)
	for exists("lease-2") || exists("lease-2-try") {
		if time.Now().After(deadline) {
			t.Fatalf("lease-2 (%v) or its key's fork (%v) outlived the lease", exists("lease-2"), exists("lease-2-try"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err = get(t, ls.client(t, fk.AccessKeyID, fk.SecretAccessKey), "lease-2-try", "k")
	if c := code(err); c != "AccessDenied" && c != "InvalidAccessKeyId" {
		t.Fatalf("the key on its expired fork: %v", err)
	}
}
