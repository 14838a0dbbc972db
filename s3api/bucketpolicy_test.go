package s3api

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"
	"testing"

	"github.com/forkstore/forkstore/gateway"
)

// TestLiveBucketPolicy (PutBucketPolicy, GetBucketPolicy,
// DeleteBucketPolicy, GetBucketPolicyStatus, Put/Get/DeletePublicAccessBlock)
// on a real node: what a policy lets anonymous requests and scoped keys
// do, that an explicit Deny beats a key's scope, what the public access
// block's four settings do, that a read at a snapshot is decided by the
// policy of then, and that a fork's policy is its own.
func TestLiveBucketPolicy(t *testing.T) {
	ls := newLiveServer(t)
	ctx := context.Background()
	anon := func(method, target string, body []byte) int {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+ls.addr+target, strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	must := func(want int) func(*http.Response, []byte) []byte {
		return func(resp *http.Response, body []byte) []byte {
			t.Helper()
			if resp.StatusCode != want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, want, body)
			}
			return body
		}
	}
	code := func(body []byte) string {
		var e ErrorXML
		xml.Unmarshal(body, &e)
		return e.Code
	}
	const b = "pol"
	must(200)(ls.raw(t, "PUT", "/"+b, nil, nil))
	must(200)(ls.raw(t, "PUT", "/"+b+"/pub/a", []byte("public"), nil))
	must(200)(ls.raw(t, "PUT", "/"+b+"/priv/a", []byte("private"), nil))

	// No policy yet.
	resp, body := ls.raw(t, "GET", "/"+b+"?policy", nil, nil)
	if resp.StatusCode != 404 || code(body) != "NoSuchBucketPolicy" {
		t.Fatalf("GetBucketPolicy without one: %d %s", resp.StatusCode, body)
	}
	if got := anon("GET", "/"+b+"/pub/a", nil); got != 403 {
		t.Fatalf("anonymous GET without a policy: %d", got)
	}
	// A malformed policy is refused with a reason.
	resp, body = ls.raw(t, "PUT", "/"+b+"?policy", []byte(`{"Statement":[{"Effect":"Allow"}]}`), nil)
	if resp.StatusCode != 400 || code(body) != "MalformedPolicy" || !strings.Contains(string(body), "Principal") {
		t.Fatalf("malformed policy: %d %s", resp.StatusCode, body)
	}

	// Public read of pub/*, and a deny of everything under priv/ for
	// everyone but the root key.
	pol := `{"Version":"2012-10-17","Statement":[
		{"Sid":"read","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pol/pub/*"},
		{"Sid":"deny","Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:*","Resource":"arn:aws:s3:::pol/priv/*"}]}`
	must(204)(ls.raw(t, "PUT", "/"+b+"?policy", []byte(pol), nil))
	snap, _ := ls.raw(t, "PUT", "/"+b, nil, map[string]string{hdrSnapshot: "true; name=withpolicy"})
	if snap.StatusCode != 200 {
		t.Fatalf("snapshot: %d", snap.StatusCode)
	}
	if got := must(200)(ls.raw(t, "GET", "/"+b+"?policy", nil, nil)); string(got) != strings.TrimSpace(pol) {
		t.Fatalf("GetBucketPolicy: %s", got)
	}
	if got := must(200)(ls.raw(t, "GET", "/"+b+"?policyStatus", nil, nil)); !strings.Contains(string(got), "<IsPublic>true</IsPublic>") {
		t.Fatalf("GetBucketPolicyStatus: %s", got)
	}
	if got := anon("GET", "/"+b+"/pub/a", nil); got != 200 {
		t.Fatalf("anonymous GET allowed by the policy: %d", got)
	}
	for _, tc := range []struct{ method, target string }{{"GET", "/" + b + "/priv/a"}, {"PUT", "/" + b + "/pub/b"}, {"GET", "/" + b}} {
		if got := anon(tc.method, tc.target, nil); got != 403 {
			t.Errorf("anonymous %s %s: %d, want 403", tc.method, tc.target, got)
		}
	}
	// A scoped key of the bucket: its scope allows everything, the
	// policy's Deny still refuses priv/.
	key, err := ls.node.Service().CreateKey(ctx, gateway.KeyInput{Buckets: []string{b}})
	if err != nil {
		t.Fatal(err)
	}
	ak, sk := key.Key.ID, key.Secret
	must(200)(ls.rawWith(t, ak, sk, "GET", "/"+b+"/pub/a", nil, nil))
	resp, _ = ls.rawWith(t, ak, sk, "GET", "/"+b+"/priv/a", nil, nil)
	if resp.StatusCode != 403 {
		t.Fatalf("scoped key reading under an explicit Deny: %d", resp.StatusCode)
	}
	// The root key is not bound by policies.
	must(200)(ls.raw(t, "GET", "/"+b+"/priv/a", nil, nil))

	// A fork's policy is its own: none.
	must(200)(ls.raw(t, "PUT", "/polfork", nil, map[string]string{hdrForkSource: b}))
	resp, body = ls.raw(t, "GET", "/polfork?policy", nil, nil)
	if resp.StatusCode != 404 || code(body) != "NoSuchBucketPolicy" {
		t.Fatalf("fork's policy: %d %s", resp.StatusCode, body)
	}
	if got := anon("GET", "/polfork/pub/a", nil); got != 403 {
		t.Fatalf("anonymous GET in the fork: %d", got)
	}

	// The public access block.
	resp, body = ls.raw(t, "GET", "/"+b+"?publicAccessBlock", nil, nil)
	if resp.StatusCode != 404 || code(body) != "NoSuchPublicAccessBlockConfiguration" {
		t.Fatalf("GetPublicAccessBlock without one: %d %s", resp.StatusCode, body)
	}
	pab := func(acls, ignore, policy, restrict bool) []byte {
		f := func(v bool) string {
			if v {
				return "true"
			}
			return "false"
		}
		return []byte(`<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><BlockPublicAcls>` + f(acls) +
			`</BlockPublicAcls><IgnorePublicAcls>` + f(ignore) + `</IgnorePublicAcls><BlockPublicPolicy>` + f(policy) +
			`</BlockPublicPolicy><RestrictPublicBuckets>` + f(restrict) + `</RestrictPublicBuckets></PublicAccessBlockConfiguration>`)
	}
	// RestrictPublicBuckets: the public statement grants nobody.
	must(200)(ls.raw(t, "PUT", "/"+b+"?publicAccessBlock", pab(false, false, false, true), nil))
	if got := must(200)(ls.raw(t, "GET", "/"+b+"?publicAccessBlock", nil, nil)); !strings.Contains(string(got), "<RestrictPublicBuckets>true</RestrictPublicBuckets>") ||
		!strings.Contains(string(got), "<BlockPublicAcls>false</BlockPublicAcls>") {
		t.Fatalf("GetPublicAccessBlock: %s", got)
	}
	if got := anon("GET", "/"+b+"/pub/a", nil); got != 403 {
		t.Fatalf("anonymous GET under RestrictPublicBuckets: %d", got)
	}
	// BlockPublicPolicy: a public policy is refused, the current one stays.
	must(200)(ls.raw(t, "PUT", "/"+b+"?publicAccessBlock", pab(false, false, true, false), nil))
	resp, body = ls.raw(t, "PUT", "/"+b+"?policy", []byte(pol), nil)
	if resp.StatusCode != 403 || code(body) != "AccessDenied" {
		t.Fatalf("public policy under BlockPublicPolicy: %d %s", resp.StatusCode, body)
	}
	private := `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"` + ak + `"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pol/*"}]}`
	must(204)(ls.raw(t, "PUT", "/"+b+"?policy", []byte(private), nil))
	if got := must(200)(ls.raw(t, "GET", "/"+b+"?policyStatus", nil, nil)); !strings.Contains(string(got), "<IsPublic>false</IsPublic>") {
		t.Fatalf("GetBucketPolicyStatus of a private policy: %s", got)
	}
	// The snapshot is read by the policy of then: public read of pub/.
	if got := anon("GET", "/"+b+"/pub/a", nil); got != 403 {
		t.Fatalf("anonymous GET now: %d", got)
	}
	// (Unsigned requests cannot name a snapshot; a key outside the
	// scope can, and the policy of then grants everyone pub/.)
	other, err := ls.node.Service().CreateKey(ctx, gateway.KeyInput{Buckets: []string{"polfork"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, _ = ls.rawWith(t, other.Key.ID, other.Secret, "GET", "/"+b+"/pub/a", nil, map[string]string{hdrSnapshotVersion: "withpolicy"})
	if resp.StatusCode != 200 {
		t.Fatalf("read at the snapshot, allowed by the policy of then: %d", resp.StatusCode)
	}
	resp, _ = ls.rawWith(t, other.Key.ID, other.Secret, "GET", "/"+b+"/pub/a", nil, nil)
	if resp.StatusCode != 403 {
		t.Fatalf("read now by a key outside the scope: %d", resp.StatusCode)
	}

	// BlockPublicAcls and IgnorePublicAcls, on a bucket with ACLs.
	must(200)(ls.raw(t, "PUT", "/polacl", nil, map[string]string{"X-Amz-Acl": "public-read"}))
	must(200)(ls.raw(t, "PUT", "/polacl/k", []byte("x"), map[string]string{"X-Amz-Acl": "public-read"}))
	if got := anon("GET", "/polacl/k", nil); got != 200 {
		t.Fatalf("anonymous GET of a public-read object: %d", got)
	}
	must(200)(ls.raw(t, "PUT", "/polacl?publicAccessBlock", pab(true, false, false, false), nil))
	resp, _ = ls.raw(t, "PUT", "/polacl/k2", []byte("x"), map[string]string{"X-Amz-Acl": "public-read"})
	if resp.StatusCode != 403 {
		t.Fatalf("public ACL under BlockPublicAcls: %d", resp.StatusCode)
	}
	resp, _ = ls.raw(t, "PUT", "/polacl?acl", nil, map[string]string{"X-Amz-Acl": "public-read-write"})
	if resp.StatusCode != 403 {
		t.Fatalf("public bucket ACL under BlockPublicAcls: %d", resp.StatusCode)
	}
	must(200)(ls.raw(t, "PUT", "/polacl/k3", []byte("x"), map[string]string{"X-Amz-Acl": "private"}))
	if got := anon("GET", "/polacl/k", nil); got != 200 {
		t.Fatalf("existing public ACL under BlockPublicAcls only: %d", got)
	}
	must(200)(ls.raw(t, "PUT", "/polacl?publicAccessBlock", pab(false, true, false, false), nil))
	if got := anon("GET", "/polacl/k", nil); got != 403 {
		t.Fatalf("public ACL under IgnorePublicAcls: %d", got)
	}
	must(204)(ls.raw(t, "DELETE", "/polacl?publicAccessBlock", nil, nil))
	if got := anon("GET", "/polacl/k", nil); got != 200 {
		t.Fatalf("public ACL after DeletePublicAccessBlock: %d", got)
	}

	// DeleteBucketPolicy.
	must(204)(ls.raw(t, "DELETE", "/"+b+"?policy", nil, nil))
	resp, _ = ls.raw(t, "GET", "/"+b+"?policy", nil, nil)
	if resp.StatusCode != 404 {
		t.Fatalf("GetBucketPolicy after delete: %d", resp.StatusCode)
	}
	resp, body = ls.raw(t, "PUT", "/absent?policy", []byte(pol), nil)
	if resp.StatusCode != 404 || code(body) != "NoSuchBucket" {
		t.Fatalf("PutBucketPolicy of a missing bucket: %d %s", resp.StatusCode, body)
	}
}
