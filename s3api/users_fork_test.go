package s3api

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
)

// TestLiveUserForks (CreateBucket with X-Tigris-Fork-Source-Bucket, admin
// API forks and batches of a user): a user forks another user's bucket
// when the source's policy allows s3:ListBucket on it and s3:GetObject on
// every object, or its bucket ACL grants the user READ; not without
// (AccessDenied), nor when an explicit Deny of the policy names any of
// its objects; the fork is the user's, with a policy and ACLs of its own
// (a new bucket's: private, ACLs disabled); a user gives its forks leases,
// renews only its own, and its sandbox keys use only their forks.
func TestLiveUserForks(t *testing.T) {
	ls := newLiveServer(t)
	alice, bob, carol := ls.user(t, "alice"), ls.user(t, "bob"), ls.user(t, "carol")
	call := func(u UserJSON, method, target string, body []byte, hdr map[string]string) (int, []byte) {
		t.Helper()
		r, b := ls.rawWith(t, u.AccessKeyID, u.SecretAccessKey, method, target, body, hdr)
		return r.StatusCode, b
	}
	must := func(want int, u UserJSON, method, target string, body []byte, hdr map[string]string) []byte {
		t.Helper()
		st, b := call(u, method, target, body, hdr)
		if st != want {
			t.Fatalf("%s %s %s: %d, want %d: %s", u.Name, method, target, st, want, b)
		}
		if want == 403 && !strings.Contains(string(b), "AccessDenied") {
			t.Fatalf("%s %s %s: %s, want AccessDenied", u.Name, method, target, b)
		}
		return b
	}
	fork := func(src string) map[string]string { return map[string]string{hdrForkSource: src} }
	adminAs := func(u UserJSON, method, path string, body any, out any) int {
		t.Helper()
		data, _ := json.Marshal(body)
		st, got := call(u, method, "/_forkstore/v1/"+path, data, map[string]string{"Content-Type": "application/json"})
		if out != nil {
			json.Unmarshal(got, out)
		}
		return st
	}

	must(200, alice, "PUT", "/alice-src", nil, nil)
	must(200, alice, "PUT", "/alice-src/k", []byte("alice's"), nil)
	must(200, alice, "PUT", "/alice-src/secret/s", []byte("hidden"), nil)

	// No grant: AccessDenied, over S3 and the admin API.
	must(403, bob, "PUT", "/bob-f0", nil, fork("alice-src"))
	if st := adminAs(bob, "POST", "buckets/alice-src/forks", map[string]any{"name": "bob-f0"}, nil); st != 403 {
		t.Fatalf("bob's admin fork without a grant: %d", st)
	}

	bobARN := "arn:aws:iam::" + bob.CanonicalID + ":user/bob"
	readPolicy := func(objects string, extra string) []byte {
		return []byte(`{"Version":"2012-10-17","Statement":[` +
			`{"Effect":"Allow","Principal":{"AWS":"` + bobARN + `"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::alice-src"},` +
			`{"Effect":"Allow","Principal":{"AWS":"` + bobARN + `"},"Action":"s3:GetObject","Resource":"` + objects + `"}` + extra + `]}`)
	}
	// Reading only part of the source is not enough.
	must(204, alice, "PUT", "/alice-src?policy", readPolicy("arn:aws:s3:::alice-src/secret/*", ""), nil)
	must(403, bob, "PUT", "/bob-f0", nil, fork("alice-src"))
	// Listing alone is not enough either.
	must(204, alice, "PUT", "/alice-src?policy", []byte(`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"`+bobARN+`"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::alice-src"}]}`), nil)
	must(403, bob, "PUT", "/bob-f0", nil, fork("alice-src"))

	// Allowed by the policy: the fork is bob's.
	must(204, alice, "PUT", "/alice-src?policy", readPolicy("arn:aws:s3:::alice-src/*", ""), nil)
	must(200, bob, "PUT", "/bob-f1", nil, fork("alice-src"))
	if got := string(must(200, bob, "GET", "/bob-f1/k", nil, nil)); got != "alice's" {
		t.Fatalf("bob's fork reads %q", got)
	}
	must(200, bob, "PUT", "/bob-f1/mine", []byte("bob's"), nil)
	must(403, alice, "GET", "/bob-f1/mine", nil, nil)
	must(403, alice, "GET", "/bob-f1/k", nil, nil)
	must(403, carol, "GET", "/bob-f1/k", nil, nil)
	if b := must(404, bob, "GET", "/bob-f1?policy", nil, nil); !strings.Contains(string(b), "NoSuchBucketPolicy") {
		t.Fatalf("the fork's policy: %s", b)
	}
	var buckets struct {
		Owner   Owner
		Buckets []struct{ Name string } `xml:"Buckets>Bucket"`
	}
	if err := xml.Unmarshal(must(200, bob, "GET", "/", nil, nil), &buckets); err != nil || len(buckets.Buckets) != 1 || buckets.Buckets[0].Name != "bob-f1" {
		t.Fatalf("bob lists %+v %v", buckets, err)
	}
	// The source is untouched and still alice's alone.
	must(404, alice, "GET", "/alice-src/mine", nil, nil)
	must(403, carol, "PUT", "/carol-f", nil, fork("alice-src"))

	// An explicit Deny naming any object of the source refuses the fork,
	// to everyone but the root, its owner included.
	deny := `,{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::alice-src/secret/*"}`
	must(204, alice, "PUT", "/alice-src?policy", readPolicy("arn:aws:s3:::alice-src/*", deny), nil)
	must(403, bob, "PUT", "/bob-f2", nil, fork("alice-src"))
	must(403, alice, "PUT", "/alice-f", nil, fork("alice-src"))
	if st := adminAs(bob, "POST", "buckets/alice-src/forks", map[string]any{"name": "bob-f2"}, nil); st != 403 {
		t.Fatalf("bob's admin fork under a Deny: %d", st)
	}
	if r, b := ls.raw(t, "PUT", "/root-f", nil, fork("alice-src")); r.StatusCode != 200 {
		t.Fatalf("the root's fork: %d %s", r.StatusCode, b)
	}
	must(204, alice, "DELETE", "/alice-src?policy", nil, nil)
	must(200, alice, "PUT", "/alice-f", nil, fork("alice-src"))

	// A bucket ACL granting bob READ.
	must(200, alice, "PUT", "/alice-acl", nil, map[string]string{"X-Amz-Object-Ownership": "ObjectWriter"})
	must(200, alice, "PUT", "/alice-acl/k", []byte("v"), map[string]string{"X-Amz-Acl": "public-read"})
	must(403, bob, "PUT", "/bob-acl-f", nil, fork("alice-acl"))
	must(200, alice, "PUT", "/alice-acl?acl", nil, map[string]string{"X-Amz-Grant-Full-Control": `id="` + alice.CanonicalID + `"`,
		"X-Amz-Grant-Read": `id="` + bob.CanonicalID + `"`})
	// A READ grant lists the bucket; a fork also reads every object.
	must(403, bob, "PUT", "/bob-acl-f", nil, fork("alice-acl"))
	objPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + bob.CanonicalID +
		`"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::alice-acl/*"}]}`
	must(204, alice, "PUT", "/alice-acl?policy", []byte(objPolicy), nil)
	must(200, bob, "PUT", "/bob-acl-f", nil, fork("alice-acl"))
	must(403, carol, "PUT", "/carol-acl-f", nil, fork("alice-acl"))
	// The fork has a new bucket's access settings: bob's, ACLs disabled
	// (the inherited public-read object is not public in it).
	var acl AccessControlPolicy
	if err := xml.Unmarshal(must(200, bob, "GET", "/bob-acl-f?acl", nil, nil), &acl); err != nil || acl.Owner.ID != bob.CanonicalID ||
		len(acl.Grants) != 1 || acl.Grants[0].Grantee.ID != bob.CanonicalID {
		t.Fatalf("the fork's ACL: %+v %v", acl, err)
	}
	if b := must(200, bob, "GET", "/bob-acl-f?ownershipControls", nil, nil); !strings.Contains(string(b), "BucketOwnerEnforced") {
		t.Fatalf("the fork's ownership: %s", b)
	}
	if r, err := http.Get("http://" + ls.addr + "/bob-acl-f/k"); err != nil || r.StatusCode != 403 {
		t.Fatalf("anonymous read of the fork: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	// (It is public in the source.)
	if r, err := http.Get("http://" + ls.addr + "/alice-acl/k"); err != nil || r.StatusCode != 200 {
		t.Fatalf("anonymous read of the source: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	must(403, alice, "GET", "/bob-acl-f", nil, nil)
	// alice's own fork keeps her bucket's settings.
	must(200, alice, "PUT", "/alice-acl-f", nil, fork("alice-acl"))
	if b := must(200, alice, "GET", "/alice-acl-f?acl", nil, nil); !strings.Contains(string(b), bob.CanonicalID) {
		t.Fatalf("alice's fork lost her grants: %s", b)
	}

	// The admin API: a fork with a lease, renewed by its owner only.
	var fb BucketJSON
	if st := adminAs(bob, "POST", "buckets/alice-acl/forks", map[string]any{"name": "bob-lease", "ttl": "1h"}, &fb); st != 201 || fb.Expires == "" {
		t.Fatalf("bob's fork with a lease: %d %+v", st, fb)
	}
	if st := adminAs(bob, "POST", "buckets/bob-lease/renew", map[string]any{"ttl": "2h"}, &fb); st != 200 {
		t.Fatalf("bob renewing his fork: %d", st)
	}
	if st := adminAs(carol, "POST", "buckets/bob-lease/renew", map[string]any{"ttl": "2h"}, nil); st != 403 {
		t.Fatalf("carol renewing bob's fork: %d", st)
	}
	must(200, bob, "GET", "/bob-lease/k", nil, nil)
	// Over S3 headers too (X-Forkstore-Fork-TTL).
	st, _ := call(bob, "PUT", "/bob-lease2", nil, map[string]string{hdrForkSource: "alice-acl", hdrForkTTL: "1h"})
	if st != 200 {
		t.Fatalf("bob's fork with a lease over S3: %d", st)
	}
	// A batch with keys: each key uses its fork alone; they are bob's.
	var batch ForkBatchJSON
	if st := adminAs(bob, "POST", "buckets/alice-acl/forks/batch", map[string]any{"count": 2, "prefix": "bob-sb-", "with_keys": true, "ttl": "1h"}, &batch); st != 201 || len(batch.Forks) != 2 {
		t.Fatalf("bob's batch: %d %+v", st, batch)
	}
	k1 := UserJSON{Name: "sandbox key", AccessKeyID: batch.Forks[0].AccessKeyID, SecretAccessKey: batch.Forks[0].SecretAccessKey}
	must(200, k1, "GET", "/bob-sb-1/k", nil, nil)
	must(200, k1, "PUT", "/bob-sb-1/w", []byte("x"), nil)
	must(403, k1, "GET", "/bob-sb-2/k", nil, nil)
	must(403, k1, "GET", "/alice-acl/k?acl", nil, nil)
	if st := adminAs(bob, "POST", "buckets/alice-acl/forks/batch", map[string]any{"count": 1, "prefix": "bob-sc-", "with_keys": true, "keys_allow_forks": true}, nil); st != 400 {
		t.Fatalf("bob's batch with forking keys: %d", st)
	}
	if st := adminAs(carol, "POST", "buckets/alice-acl/forks/batch", map[string]any{"count": 1, "prefix": "carol-sb-"}, nil); st != 403 {
		t.Fatalf("carol's batch: %d", st)
	}
	// Scoped keys: of bob's own buckets (his forks) only, not of a bucket
	// he may only read or fork.
	var sk KeyJSON
	if st := adminAs(bob, "POST", "keys", map[string]any{"buckets": []string{"bob-lease"}, "read_only": true}, &sk); st != 201 {
		t.Fatalf("bob's key of his fork: %d", st)
	}
	must(200, UserJSON{Name: "bob's key", AccessKeyID: sk.AccessKeyID, SecretAccessKey: sk.SecretAccessKey}, "GET", "/bob-lease/k", nil, nil)
	if st := adminAs(bob, "POST", "keys", map[string]any{"buckets": []string{"alice-acl"}, "read_only": true}, nil); st != 403 {
		t.Fatalf("bob's key of a bucket he may read: %d", st)
	}
	// Still no merge, snapshot or key listing for a user.
	if st := adminAs(bob, "POST", "buckets/bob-lease/merge", map[string]any{"strategy": "fork-wins"}, nil); st != 403 {
		t.Fatalf("bob merging: %d", st)
	}
	if st := adminAs(bob, "GET", "keys", nil, nil); st != 403 {
		t.Fatalf("bob listing keys: %d", st)
	}
	// The sandbox keys are bob's: they go with him.
	if st := ls.admin(t, "DELETE", "users/bob?force=true", nil, nil); st != http.StatusOK {
		t.Fatalf("delete bob: %d", st)
	}
	if st, b := call(k1, "GET", "/bob-sb-1/k", nil, nil); st != 403 || !strings.Contains(string(b), "InvalidAccessKeyId") {
		t.Fatalf("a sandbox key of a deleted user: %d %s", st, b)
	}
	if r, _ := ls.raw(t, "GET", "/bob-sb-1/w", nil, nil); r.StatusCode != 200 {
		t.Fatalf("the root reading bob's former fork: %d", r.StatusCode)
	}
}

// TestLiveUserForkAtSnapshot (CreateBucket with
// X-Tigris-Fork-Source-Bucket-Snapshot): a fork of a snapshot reads the
// source as of the snapshot, so the source's policy of then decides, as
// for any read at a snapshot.
func TestLiveUserForkAtSnapshot(t *testing.T) {
	ls := newLiveServer(t)
	alice, bob := ls.user(t, "alice"), ls.user(t, "bob")
	must := func(want int, u UserJSON, method, target string, body []byte, hdr map[string]string) {
		t.Helper()
		if r, b := ls.rawWith(t, u.AccessKeyID, u.SecretAccessKey, method, target, body, hdr); r.StatusCode != want {
			t.Fatalf("%s %s %s: %d, want %d: %s", u.Name, method, target, r.StatusCode, want, b)
		}
	}
	forkAt := func(snap string) map[string]string {
		h := map[string]string{hdrForkSource: "src"}
		if snap != "" {
			h[hdrForkSourceSnapshot] = snap
		}
		return h
	}
	pol := []byte(`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + bob.CanonicalID + `:user/bob"},` +
		`"Action":["s3:ListBucket","s3:GetObject"],"Resource":["arn:aws:s3:::src","arn:aws:s3:::src/*"]}]}`)
	must(200, alice, "PUT", "/src", nil, nil)
	must(200, alice, "PUT", "/src/k", []byte("v"), nil)
	must(204, alice, "PUT", "/src?policy", pol, nil)
	must(200, alice, "PUT", "/src", nil, map[string]string{hdrSnapshot: "true; name=open"})
	must(204, alice, "DELETE", "/src?policy", nil, nil)
	must(200, alice, "PUT", "/src", nil, map[string]string{hdrSnapshot: "true; name=closed"})
	must(204, alice, "PUT", "/src?policy", pol, nil)
	must(200, alice, "PUT", "/src", nil, map[string]string{hdrSnapshot: "true; name=reopened"})
	must(204, alice, "DELETE", "/src?policy", nil, nil)

	must(403, bob, "PUT", "/f-now", nil, forkAt(""))
	must(200, bob, "PUT", "/f-open", nil, forkAt("open"))
	must(403, bob, "PUT", "/f-closed", nil, forkAt("closed"))
	must(200, bob, "PUT", "/f-reopened", nil, forkAt("reopened"))
	must(403, bob, "PUT", "/f-none", nil, forkAt("no-such-snapshot"))
	// The owner forks every snapshot of her bucket.
	must(200, alice, "PUT", "/a-closed", nil, forkAt("closed"))
	must(404, alice, "PUT", "/a-none", nil, forkAt("no-such-snapshot"))
}
