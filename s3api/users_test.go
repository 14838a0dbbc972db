package s3api

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
)

// TestLiveUsers (admin API users; CreateBucket, ListBuckets, forks and
// bucket policies of users): a user owns the buckets it creates and lists
// only those; another user gets AccessDenied on them unless a policy
// names it; a taken name is BucketAlreadyExists; a user forks and makes
// scoped keys of its own buckets only; only the root manages users; a
// user that owns buckets is deleted only with force; a rotated key stops
// working.
func TestLiveUsers(t *testing.T) {
	ls := newLiveServer(t)
	var alice, bob UserJSON
	if st := ls.admin(t, "POST", "users", map[string]any{"name": "alice", "display_name": "Alice"}, &alice); st != 201 || alice.SecretAccessKey == "" || len(alice.CanonicalID) != 64 {
		t.Fatalf("create alice: %d %+v", st, alice)
	}
	if st := ls.admin(t, "POST", "users", map[string]any{"name": "bob"}, &bob); st != 201 {
		t.Fatalf("create bob: %d", st)
	}
	var e adminError
	if st := ls.admin(t, "POST", "users", map[string]any{"name": "bob"}, &e); st != 409 || e.Code != "UserAlreadyExists" {
		t.Fatalf("create bob again: %d %+v", st, e)
	}
	as := func(u UserJSON, method, target string, body []byte, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		return ls.rawWith(t, u.AccessKeyID, u.SecretAccessKey, method, target, body, hdr)
	}
	status := func(want int, resp *http.Response, body []byte) {
		t.Helper()
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", resp.Request.Method, resp.Request.URL, resp.StatusCode, want, body)
		}
	}
	listed := func(u UserJSON) []string {
		t.Helper()
		resp, body := as(u, "GET", "/", nil, nil)
		status(200, resp, body)
		var res struct {
			Owner   Owner
			Buckets []struct{ Name string } `xml:"Buckets>Bucket"`
		}
		if err := xml.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		if res.Owner.ID != u.CanonicalID {
			t.Errorf("ListBuckets of %s: owner %q", u.Name, res.Owner.ID)
		}
		var names []string
		for _, b := range res.Buckets {
			names = append(names, b.Name)
		}
		return names
	}

	r, b := ls.raw(t, "PUT", "/root-b", nil, nil)
	status(200, r, b)
	r, b = as(alice, "PUT", "/alice-b", nil, nil)
	status(200, r, b)
	r, b = as(alice, "PUT", "/alice-b/k", []byte("alice's"), nil)
	status(200, r, b)
	if got := listed(alice); len(got) != 1 || got[0] != "alice-b" {
		t.Fatalf("alice lists %v", got)
	}
	if got := listed(bob); len(got) != 0 {
		t.Fatalf("bob lists %v", got)
	}
	// Documents show alice as the owner of her bucket, and the owner-only
	// ACL they show is accepted back (what s3cmd does after a copy).
	r, b = as(alice, "GET", "/alice-b?acl", nil, nil)
	status(200, r, b)
	var acl AccessControlPolicy
	if err := xml.Unmarshal(b, &acl); err != nil || acl.Owner.ID != alice.CanonicalID || acl.Grants[0].Grantee.ID != alice.CanonicalID {
		t.Fatalf("GetBucketAcl of alice's bucket: %s %v", b, err)
	}
	r, b = as(alice, "PUT", "/alice-b/k?acl", nil, map[string]string{"X-Amz-Grant-Full-Control": `id="` + alice.CanonicalID + `"`})
	status(200, r, b)
	r, b = as(alice, "GET", "/alice-b", nil, nil)
	status(200, r, b)
	if !strings.Contains(string(b), "<ID>"+alice.CanonicalID+"</ID>") {
		t.Fatalf("ListObjects of alice's bucket shows another owner: %s", b)
	}
	r, b = ls.raw(t, "GET", "/root-b?acl", nil, nil)
	status(200, r, b)
	if strings.Contains(string(b), alice.CanonicalID) {
		t.Fatalf("the root's bucket shows alice: %s", b)
	}
	// x-amz-expected-bucket-owner.
	r, b = as(alice, "GET", "/alice-b/k", nil, map[string]string{"X-Amz-Expected-Bucket-Owner": alice.CanonicalID})
	status(200, r, b)
	r, b = as(alice, "GET", "/alice-b/k", nil, map[string]string{"X-Amz-Expected-Bucket-Owner": bob.CanonicalID})
	status(403, r, b)
	// The root sees and reads everything.
	r, b = ls.raw(t, "GET", "/alice-b/k", nil, nil)
	status(200, r, b)

	// Bob: nothing of alice's, nor of the root's.
	for _, tc := range []struct{ method, target string }{
		{"GET", "/alice-b/k"}, {"PUT", "/alice-b/x"}, {"GET", "/alice-b"}, {"DELETE", "/alice-b"}, {"GET", "/root-b"},
		{"PUT", "/alice-b?policy"},
	} {
		r, b = as(bob, tc.method, tc.target, []byte("x"), nil)
		status(403, r, b)
	}
	// A taken name.
	r, b = as(bob, "PUT", "/alice-b", nil, nil)
	if r.StatusCode != 409 || !strings.Contains(string(b), "BucketAlreadyExists") {
		t.Fatalf("bob creating alice-b: %d %s", r.StatusCode, b)
	}
	r, b = as(alice, "PUT", "/alice-b", nil, nil)
	status(200, r, b)

	// Alice's policy lets bob read (named by his user ARN).
	pol := `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::` + bob.CanonicalID + `:user/bob"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::alice-b/*"}]}`
	r, b = as(alice, "PUT", "/alice-b?policy", []byte(pol), nil)
	status(204, r, b)
	r, b = as(bob, "GET", "/alice-b/k", nil, nil)
	status(200, r, b)
	r, b = as(bob, "PUT", "/alice-b/k", []byte("bob's"), nil)
	status(403, r, b)

	// Forks: of one's own buckets only; the fork is the user's.
	r, b = as(alice, "PUT", "/alice-f", nil, map[string]string{hdrForkSource: "alice-b"})
	status(200, r, b)
	r, b = as(bob, "PUT", "/bob-f", nil, map[string]string{hdrForkSource: "alice-b"})
	status(403, r, b)
	if got := listed(alice); len(got) != 2 || got[1] != "alice-f" {
		t.Fatalf("alice lists %v", got)
	}

	// Scoped keys of one's own buckets only; users are the root's.
	adminAs := func(u UserJSON, method, path string, body any, out any) int {
		t.Helper()
		data, _ := json.Marshal(body)
		resp, got := as(u, method, "/_forkstore/v1/"+path, data, map[string]string{"Content-Type": "application/json"})
		if out != nil {
			json.Unmarshal(got, out)
		}
		return resp.StatusCode
	}
	var k KeyJSON
	if st := adminAs(alice, "POST", "keys", map[string]any{"buckets": []string{"alice-b"}, "read_only": true}, &k); st != 201 || k.AccessKeyID == "" {
		t.Fatalf("alice's scoped key: %d %+v", st, k)
	}
	r, b = ls.rawWith(t, k.AccessKeyID, k.SecretAccessKey, "GET", "/alice-b/k", nil, nil)
	status(200, r, b)
	r, b = ls.rawWith(t, k.AccessKeyID, k.SecretAccessKey, "PUT", "/alice-b/k", []byte("x"), nil)
	status(403, r, b)
	if st := adminAs(alice, "POST", "keys", map[string]any{"buckets": []string{"root-b"}}, nil); st != 403 {
		t.Fatalf("alice's key of the root's bucket: %d", st)
	}
	if st := adminAs(alice, "GET", "users", nil, nil); st != 403 {
		t.Fatalf("alice listing users: %d", st)
	}
	if st := adminAs(alice, "GET", "keys", nil, nil); st != 403 {
		t.Fatalf("alice listing keys: %d", st)
	}

	// Deleting and rotating.
	if st := ls.admin(t, "DELETE", "users/alice", nil, &e); st != 409 || e.Code != "UserOwnsBuckets" {
		t.Fatalf("delete alice: %d %+v", st, e)
	}
	var rot UserJSON
	if st := ls.admin(t, "POST", "users/alice/rotate-key", nil, &rot); st != 200 || rot.AccessKeyID == alice.AccessKeyID {
		t.Fatalf("rotate: %d %+v", st, rot)
	}
	r, b = as(alice, "GET", "/alice-b/k", nil, nil)
	status(403, r, b)
	r, b = as(rot, "GET", "/alice-b/k", nil, nil)
	status(200, r, b)
	var list struct{ Users []UserJSON }
	if st := ls.admin(t, "GET", "users", nil, &list); st != 200 || len(list.Users) != 2 || list.Users[0].Name != "alice" || list.Users[0].SecretAccessKey != "" {
		t.Fatalf("users: %d %+v", st, list)
	}
	if st := ls.admin(t, "DELETE", "users/alice?force=true", nil, nil); st != 200 {
		t.Fatalf("forced delete: %d", st)
	}
	r, b = as(rot, "GET", "/alice-b/k", nil, nil)
	status(403, r, b)
	r, b = ls.rawWith(t, k.AccessKeyID, k.SecretAccessKey, "GET", "/alice-b/k", nil, nil)
	status(403, r, b)
	// The root account has her buckets now.
	r, b = ls.raw(t, "GET", "/alice-b/k", nil, nil)
	status(200, r, b)
	if st := ls.admin(t, "DELETE", "users/alice", nil, &e); st != 404 || e.Code != "NoSuchUser" {
		t.Fatalf("delete a deleted user: %d %+v", st, e)
	}
}

// TestLiveUserACLGrants (PutObjectAcl, PutBucketAcl with x-amz-grant-*
// and AccessControlPolicy naming a user): a grant to another user's
// canonical id is stored as given, shown by GetObjectAcl, and lets that
// user read (READ) or write (WRITE on the bucket), nobody else;
// IgnorePublicAcls leaves it in force; a grant to an id that is nobody's
// stays InvalidArgument.
func TestLiveUserACLGrants(t *testing.T) {
	ls := newLiveServer(t)
	alice, bob, carol := ls.user(t, "alice"), ls.user(t, "bob"), ls.user(t, "carol")
	as := func(u UserJSON, method, target string, body []byte, hdr map[string]string) int {
		t.Helper()
		r, _ := ls.rawWith(t, u.AccessKeyID, u.SecretAccessKey, method, target, body, hdr)
		return r.StatusCode
	}
	if st := as(alice, "PUT", "/alice-acl", nil, map[string]string{"X-Amz-Object-Ownership": "ObjectWriter"}); st != 200 {
		t.Fatalf("create: %d", st)
	}
	if st := as(alice, "PUT", "/alice-acl/k", []byte("v"), map[string]string{"X-Amz-Grant-Read": `id="` + bob.CanonicalID + `"`,
		"X-Amz-Grant-Full-Control": `id="` + alice.CanonicalID + `"`}); st != 200 {
		t.Fatalf("PutObject granting bob READ: %d", st)
	}
	r, body := ls.rawWith(t, alice.AccessKeyID, alice.SecretAccessKey, "GET", "/alice-acl/k?acl", nil, nil)
	var acl AccessControlPolicy
	if err := xml.Unmarshal(body, &acl); err != nil || r.StatusCode != 200 || len(acl.Grants) != 2 {
		t.Fatalf("GetObjectAcl: %d %s", r.StatusCode, body)
	}
	found := false
	for _, g := range acl.Grants {
		found = found || g.Grantee.ID == bob.CanonicalID && g.Permission == "READ"
	}
	if !found {
		t.Fatalf("GetObjectAcl lacks bob's READ: %s", body)
	}
	if st := as(bob, "GET", "/alice-acl/k", nil, nil); st != 200 {
		t.Fatalf("bob reading with a READ grant: %d", st)
	}
	if st := as(carol, "GET", "/alice-acl/k", nil, nil); st != 403 {
		t.Fatalf("carol reading: %d", st)
	}
	// WRITE on the bucket for carol.
	if st := as(carol, "PUT", "/alice-acl/c", []byte("x"), nil); st != 403 {
		t.Fatalf("carol writing without a grant: %d", st)
	}
	if st := as(alice, "PUT", "/alice-acl?acl", nil, map[string]string{"X-Amz-Grant-Write": `id="` + carol.CanonicalID + `"`,
		"X-Amz-Grant-Full-Control": `id="` + alice.CanonicalID + `"`}); st != 200 {
		t.Fatalf("PutBucketAcl granting carol WRITE: %d", st)
	}
	if st := as(carol, "PUT", "/alice-acl/c", []byte("x"), nil); st != 200 {
		t.Fatalf("carol writing with a WRITE grant: %d", st)
	}
	// IgnorePublicAcls: grants to users stay.
	pab := []byte(`<PublicAccessBlockConfiguration><IgnorePublicAcls>true</IgnorePublicAcls></PublicAccessBlockConfiguration>`)
	if st := as(alice, "PUT", "/alice-acl?publicAccessBlock", pab, nil); st != 200 {
		t.Fatalf("PutPublicAccessBlock: %d", st)
	}
	if st := as(bob, "GET", "/alice-acl/k", nil, nil); st != 200 {
		t.Fatalf("bob reading under IgnorePublicAcls: %d", st)
	}
	// An id that is nobody's.
	r, body = ls.rawWith(t, alice.AccessKeyID, alice.SecretAccessKey, "PUT", "/alice-acl/k?acl", nil,
		map[string]string{"X-Amz-Grant-Read": `id="` + strings.Repeat("0", 64) + `"`, "X-Amz-Grant-Full-Control": `id="` + alice.CanonicalID + `"`})
	if r.StatusCode != 400 || !strings.Contains(string(body), "InvalidArgument") {
		t.Fatalf("grant to nobody: %d %s", r.StatusCode, body)
	}
}

// TestLiveSourceExpectedBucketOwner (CopyObject, UploadPartCopy):
// x-amz-source-expected-bucket-owner must name the source bucket's owner
// (a user's canonical id, or the root account's); another id is
// AccessDenied and copies nothing.
func TestLiveSourceExpectedBucketOwner(t *testing.T) {
	ls := newLiveServer(t)
	alice, bob := ls.user(t, "alice"), ls.user(t, "bob")
	as := func(method, target string, hdr map[string]string) (int, []byte) {
		t.Helper()
		r, b := ls.rawWith(t, alice.AccessKeyID, alice.SecretAccessKey, method, target, nil, hdr)
		return r.StatusCode, b
	}
	for _, target := range []string{"/src-a", "/dst-a"} {
		if st, b := as("PUT", target, nil); st != 200 {
			t.Fatalf("create %s: %d %s", target, st, b)
		}
	}
	if r, b := ls.rawWith(t, alice.AccessKeyID, alice.SecretAccessKey, "PUT", "/src-a/k", []byte("v"), nil); r.StatusCode != 200 {
		t.Fatalf("put: %d %s", r.StatusCode, b)
	}
	const hdr = "X-Amz-Source-Expected-Bucket-Owner"
	for _, tc := range []struct {
		name, owner string
		want        int
	}{{"the owner", alice.CanonicalID, 200}, {"another user", bob.CanonicalID, 403}, {"the root", ls.s.owner.ID, 403}} {
		st, b := as("PUT", "/dst-a/c", map[string]string{"X-Amz-Copy-Source": "src-a/k", hdr: tc.owner})
		if st != tc.want || (st == 403 && !strings.Contains(string(b), "AccessDenied")) {
			t.Fatalf("CopyObject naming %s: %d %s", tc.name, st, b)
		}
	}
	// The refused copies left nothing: only the first one wrote.
	if st, _ := as("DELETE", "/dst-a/c", nil); st != 204 {
		t.Fatalf("delete copy: %d", st)
	}
	if st, _ := as("PUT", "/dst-a/c2", map[string]string{"X-Amz-Copy-Source": "src-a/k", hdr: bob.CanonicalID}); st != 403 {
		t.Fatalf("copy naming bob: %d", st)
	}
	if st, _ := as("HEAD", "/dst-a/c2", nil); st != 404 {
		t.Fatalf("a refused copy wrote: %d", st)
	}
	// The root's bucket as the source: the root account's id.
	if r, b := ls.raw(t, "PUT", "/root-src", nil, nil); r.StatusCode != 200 {
		t.Fatalf("create: %d %s", r.StatusCode, b)
	}
	if r, b := ls.raw(t, "PUT", "/root-src/k", []byte("v"), nil); r.StatusCode != 200 {
		t.Fatalf("put: %d %s", r.StatusCode, b)
	}
	if r, b := ls.raw(t, "PUT", "/root-src/c", nil, map[string]string{"X-Amz-Copy-Source": "root-src/k", hdr: ls.s.owner.ID}); r.StatusCode != 200 {
		t.Fatalf("root copy naming the root: %d %s", r.StatusCode, b)
	}
	if r, b := ls.raw(t, "PUT", "/root-src/c", nil, map[string]string{"X-Amz-Copy-Source": "root-src/k", hdr: alice.CanonicalID}); r.StatusCode != 403 {
		t.Fatalf("root copy naming alice: %d %s", r.StatusCode, b)
	}
	// UploadPartCopy.
	st, b := as("POST", "/dst-a/mp?uploads", nil)
	var init struct{ UploadId string }
	if err := xml.Unmarshal(b, &init); st != 200 || err != nil || init.UploadId == "" {
		t.Fatalf("CreateMultipartUpload: %d %s", st, b)
	}
	part := "/dst-a/mp?partNumber=1&uploadId=" + init.UploadId
	if st, b := as("PUT", part, map[string]string{"X-Amz-Copy-Source": "src-a/k", hdr: bob.CanonicalID}); st != 403 {
		t.Fatalf("UploadPartCopy naming bob: %d %s", st, b)
	}
	if st, b := as("PUT", part, map[string]string{"X-Amz-Copy-Source": "src-a/k", hdr: alice.CanonicalID}); st != 200 {
		t.Fatalf("UploadPartCopy naming alice: %d %s", st, b)
	}
}

// TestLiveUserACPGrants (READ_ACP, WRITE_ACP to users): READ_ACP on a
// bucket or an object lets that user read its ACL, WRITE_ACP lets it
// replace it, and neither gives anything else (not the other ACL
// operation, not the objects, not the bucket's objects' ACLs).
func TestLiveUserACPGrants(t *testing.T) {
	ls := newLiveServer(t)
	alice, bob, carol := ls.user(t, "alice"), ls.user(t, "bob"), ls.user(t, "carol")
	id := func(u UserJSON) string { return `id="` + u.CanonicalID + `"` }
	check := func(u UserJSON, method, target string, hdr map[string]string, want int) {
		t.Helper()
		r, b := ls.rawWith(t, u.AccessKeyID, u.SecretAccessKey, method, target, nil, hdr)
		if r.StatusCode != want {
			t.Fatalf("%s %s %s: %d, want %d: %s", u.Name, method, target, r.StatusCode, want, b)
		}
	}
	check(alice, "PUT", "/acp", map[string]string{"X-Amz-Object-Ownership": "ObjectWriter"}, 200)
	if r, b := ls.rawWith(t, alice.AccessKeyID, alice.SecretAccessKey, "PUT", "/acp/k", []byte("v"), nil); r.StatusCode != 200 {
		t.Fatalf("put: %d %s", r.StatusCode, b)
	}
	// No grants yet.
	for _, target := range []string{"/acp?acl", "/acp/k?acl"} {
		check(bob, "GET", target, nil, 403)
		check(carol, "PUT", target, map[string]string{"X-Amz-Grant-Full-Control": id(alice)}, 403)
	}
	// The bucket's ACL: READ_ACP for bob, WRITE_ACP for carol.
	check(alice, "PUT", "/acp?acl", map[string]string{"X-Amz-Grant-Full-Control": id(alice),
		"X-Amz-Grant-Read-Acp": id(bob), "X-Amz-Grant-Write-Acp": id(carol)}, 200)
	check(bob, "GET", "/acp?acl", nil, 200)
	check(bob, "PUT", "/acp?acl", map[string]string{"X-Amz-Grant-Full-Control": id(alice)}, 403)
	check(bob, "GET", "/acp", nil, 403)
	check(bob, "GET", "/acp/k?acl", nil, 403)
	check(bob, "GET", "/acp/k", nil, 403)
	check(carol, "GET", "/acp?acl", nil, 403)
	check(carol, "GET", "/acp", nil, 403)
	if r, b := ls.rawWith(t, carol.AccessKeyID, carol.SecretAccessKey, "PUT", "/acp/c", []byte("x"), nil); r.StatusCode != 403 {
		t.Fatalf("carol writing with WRITE_ACP only: %d %s", r.StatusCode, b)
	}
	check(carol, "PUT", "/acp/k?acl", map[string]string{"X-Amz-Grant-Full-Control": id(alice)}, 403)
	// carol rewrites the bucket's ACL: she may list now, bob lost READ_ACP.
	check(carol, "PUT", "/acp?acl", map[string]string{"X-Amz-Grant-Full-Control": id(alice),
		"X-Amz-Grant-Read": id(carol)}, 200)
	check(carol, "GET", "/acp", nil, 200)
	check(bob, "GET", "/acp?acl", nil, 403)
	check(carol, "PUT", "/acp?acl", map[string]string{"X-Amz-Grant-Full-Control": id(alice)}, 403)

	// The object's ACL.
	check(alice, "PUT", "/acp/k?acl", map[string]string{"X-Amz-Grant-Full-Control": id(alice),
		"X-Amz-Grant-Read-Acp": id(bob), "X-Amz-Grant-Write-Acp": id(carol)}, 200)
	check(bob, "GET", "/acp/k?acl", nil, 200)
	check(bob, "GET", "/acp/k", nil, 403)
	check(bob, "PUT", "/acp/k?acl", map[string]string{"X-Amz-Grant-Full-Control": id(alice)}, 403)
	check(carol, "GET", "/acp/k?acl", nil, 403)
	check(carol, "GET", "/acp/k", nil, 403)
	check(carol, "PUT", "/acp/k?acl", map[string]string{"X-Amz-Grant-Full-Control": id(alice),
		"X-Amz-Grant-Read": id(carol)}, 200)
	check(carol, "GET", "/acp/k", nil, 200)
	check(bob, "GET", "/acp/k?acl", nil, 403)
}

// TestLiveUserEmailGrants (users with an e-mail address): a grant by
// e-mail address, in an x-amz-grant-* header or an AccessControlPolicy
// body (AmazonCustomerByEmail), is a grant to the user with that address
// (its case aside), stored and shown by canonical id; an address that is
// no user's stays UnresolvableGrantByEmailAddress; two users cannot share
// an address.
func TestLiveUserEmailGrants(t *testing.T) {
	ls := newLiveServer(t)
	var alice, bob, carol UserJSON
	for _, u := range []struct {
		name, email string
		out         *UserJSON
	}{{"alice", "", &alice}, {"bob", "bob@example.com", &bob}, {"carol", "carol@example.com", &carol}} {
		if st := ls.admin(t, "POST", "users", map[string]any{"name": u.name, "email": u.email}, u.out); st != 201 || u.out.Email != u.email {
			t.Fatalf("create %s: %d %+v", u.name, st, *u.out)
		}
	}
	var e adminError
	if st := ls.admin(t, "POST", "users", map[string]any{"name": "dave", "email": "BOB@example.com"}, &e); st != 409 || e.Code != "EmailAlreadyInUse" {
		t.Fatalf("a second user with bob's address: %d %+v", st, e)
	}
	if st := ls.admin(t, "POST", "users", map[string]any{"name": "dave", "email": "not an address"}, &e); st != 400 {
		t.Fatalf("a malformed address: %d %+v", st, e)
	}
	var list struct{ Users []UserJSON }
	if st := ls.admin(t, "GET", "users", nil, &list); st != 200 || len(list.Users) != 3 || list.Users[1].Email != "bob@example.com" {
		t.Fatalf("users: %d %+v", st, list)
	}
	call := func(u UserJSON, method, target string, body []byte, hdr map[string]string) (int, []byte) {
		t.Helper()
		r, b := ls.rawWith(t, u.AccessKeyID, u.SecretAccessKey, method, target, body, hdr)
		return r.StatusCode, b
	}
	if st, b := call(alice, "PUT", "/mail", nil, map[string]string{"X-Amz-Object-Ownership": "ObjectWriter"}); st != 200 {
		t.Fatalf("create: %d %s", st, b)
	}
	own := `id="` + alice.CanonicalID + `"`
	if st, b := call(alice, "PUT", "/mail/k", []byte("v"), map[string]string{"X-Amz-Grant-Full-Control": own,
		"X-Amz-Grant-Read": `emailAddress="Bob@Example.com"`}); st != 200 {
		t.Fatalf("PutObject granting bob by e-mail: %d %s", st, b)
	}
	if st, _ := call(bob, "GET", "/mail/k", nil, nil); st != 200 {
		t.Fatalf("bob reading: %d", st)
	}
	if st, _ := call(carol, "GET", "/mail/k", nil, nil); st != 403 {
		t.Fatalf("carol reading: %d", st)
	}
	st, b := call(alice, "GET", "/mail/k?acl", nil, nil)
	if st != 200 || !strings.Contains(string(b), "<ID>"+bob.CanonicalID+"</ID>") {
		t.Fatalf("GetObjectAcl: %d %s", st, b)
	}
	// An AccessControlPolicy body naming carol by e-mail.
	doc := `<AccessControlPolicy><Owner><ID>` + alice.CanonicalID + `</ID></Owner><AccessControlList>` +
		`<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>` + alice.CanonicalID + `</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>` +
		`<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="AmazonCustomerByEmail"><EmailAddress>carol@example.com</EmailAddress></Grantee><Permission>WRITE</Permission></Grant>` +
		`</AccessControlList></AccessControlPolicy>`
	if st, b := call(alice, "PUT", "/mail?acl", []byte(doc), nil); st != 200 {
		t.Fatalf("PutBucketAcl granting carol by e-mail: %d %s", st, b)
	}
	if st, _ := call(carol, "PUT", "/mail/c", []byte("x"), nil); st != 200 {
		t.Fatalf("carol writing: %d", st)
	}
	if st, _ := call(bob, "PUT", "/mail/b", []byte("x"), nil); st != 403 {
		t.Fatalf("bob writing: %d", st)
	}
	// Nobody's address.
	st, b = call(alice, "PUT", "/mail/k?acl", nil, map[string]string{"X-Amz-Grant-Full-Control": own,
		"X-Amz-Grant-Read": `emailAddress="nobody@example.com"`})
	if st != 400 || !strings.Contains(string(b), "UnresolvableGrantByEmailAddress") {
		t.Fatalf("grant to nobody's address: %d %s", st, b)
	}
}

// user creates a user through the admin API.
func (ls *liveServer) user(t *testing.T, name string) UserJSON {
	t.Helper()
	var u UserJSON
	if st := ls.admin(t, "POST", "users", map[string]any{"name": name}, &u); st != 201 {
		t.Fatalf("create %s: %d", name, st)
	}
	return u
}
