package s3api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

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
	if st := ls.admin(t, "POST", "keys", map[string]any{"buckets": []string{"mine"}}, &k); st != 201 || k.SecretAccessKey == "" {
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

	// A writable key may fork its bucket, and may then use the fork.
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
