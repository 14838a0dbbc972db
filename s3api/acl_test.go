package s3api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// errCode is the S3 code err renders as.
func errCode(err error) string {
	if err == nil {
		return ""
	}
	api, _, _ := toAPIError(err)
	return api.Code
}

// The canned ACLs (AWS's list): what each stores, and which are owner-only
// (the ones a bucket with ACLs disabled accepts).
func TestCannedACL(t *testing.T) {
	for _, tc := range []struct {
		in, stored string
		ownerOnly  bool
		code       string
	}{
		{"private", "", true, ""},
		{"bucket-owner-full-control", "", true, ""},
		{"bucket-owner-read", "", false, ""},
		{"public-read", "public-read", false, ""},
		{"public-read-write", "public-read-write", false, ""},
		{"authenticated-read", "authenticated-read", false, ""},
		{"log-delivery-write", "log-delivery-write", false, ""},
		{"aws-exec-read", "", false, "NotImplemented"},
		{"Public-Read", "", false, "InvalidArgument"},
		{"", "", false, "InvalidArgument"},
	} {
		got, err := cannedACL(tc.in)
		if errCode(err) != tc.code || err == nil && (got.acl != tc.stored || got.ownerOnly != tc.ownerOnly || !got.given) {
			t.Errorf("cannedACL(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

// Grant lists (x-amz-grant-* headers, AccessControlPolicy bodies) equal to
// a canned ACL are stored as it; others answer S3's errors.
func TestACLOfGrants(t *testing.T) {
	s := &Server{owner: ownerOf("root")}
	own := grant{"id", s.owner.ID, permFullControl}
	all := func(p string) grant { return grant{"uri", groupAllUsers, p} }
	for _, tc := range []struct {
		name      string
		grants    []grant
		stored    string
		ownerOnly bool
		code      string
	}{
		{"owner full control (s3cmd)", []grant{own}, "", true, ""},
		{"owner twice", []grant{own, own}, "", true, ""},
		{"public-read", []grant{own, all(permRead)}, "public-read", false, ""},
		{"public-read-write", []grant{all(permWrite), own, all(permRead)}, "public-read-write", false, ""},
		{"authenticated-read", []grant{own, {"uri", groupAuthenticatedUsers, permRead}}, "authenticated-read", false, ""},
		{"log-delivery-write", []grant{own, {"uri", groupLogDelivery, permReadACP}, {"uri", groupLogDelivery, permWrite}}, "log-delivery-write", false, ""},
		{"no grants", nil, "", false, "NotImplemented"},
		{"AllUsers only", []grant{all(permRead)}, "", false, "NotImplemented"},
		{"AllUsers WRITE only", []grant{own, all(permWrite)}, "", false, "NotImplemented"},
		{"owner READ", []grant{{"id", s.owner.ID, permRead}}, "", false, "NotImplemented"},
		{"another user", []grant{own, {"id", strings.Repeat("a", 64), permRead}}, "", false, "InvalidArgument"},
		{"unknown group", []grant{own, {"uri", "http://acs.amazonaws.com/groups/global/Nobody", permRead}}, "", false, "InvalidArgument"},
		{"by e-mail", []grant{own, {"emailAddress", "a@example.com", permRead}}, "", false, "UnresolvableGrantByEmailAddress"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.aclOfGrants(tc.grants)
			if errCode(err) != tc.code || err == nil && (got.acl != tc.stored || got.ownerOnly != tc.ownerOnly) {
				t.Errorf("got %+v, %v", got, err)
			}
		})
	}
}

func TestParseGrantHeader(t *testing.T) {
	got, err := parseGrantHeader("X-Amz-Grant-Read", `uri="http://acs.amazonaws.com/groups/global/AllUsers", id="abc" ,emailAddress="a@b.c"`, permRead)
	want := []grant{{"uri", groupAllUsers, permRead}, {"id", "abc", permRead}, {"emailAddress", "a@b.c", permRead}}
	if err != nil || len(got) != len(want) {
		t.Fatalf("got %+v, %v", got, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("grant %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{`id`, `foo="x"`, `id=""`} {
		if _, err := parseGrantHeader("X-Amz-Grant-Read", bad, permRead); errCode(err) != "InvalidArgument" {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// The bodies real clients send: s3cmd's (what GetObjectAcl returned, with
// xsi:type), and a grant without xsi:type or its namespace.
func TestDecodeACLBody(t *testing.T) {
	s := &Server{owner: ownerOf("root")}
	doc, err := marshalXML(s.policyOf("public-read", true))
	if err != nil {
		t.Fatal(err)
	}
	grants, err := decodeACLBody(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.aclOfGrants(grants); err != nil || got.acl != "public-read" {
		t.Fatalf("round trip of GetObjectAcl's document: %+v %v", got, err)
	}
	plain := `<AccessControlPolicy><Owner><ID>` + s.owner.ID + `</ID></Owner><AccessControlList>` +
		`<Grant><Grantee xsi:type="CanonicalUser"><ID>` + s.owner.ID + `</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>` +
		`</AccessControlList></AccessControlPolicy>`
	grants, err = decodeACLBody([]byte(plain))
	if got, err2 := s.aclOfGrants(grants); err != nil || err2 != nil || !got.ownerOnly {
		t.Fatalf("owner-only body: %+v %v %v", got, err, err2)
	}
	for _, bad := range []string{
		"<AccessControlPolicy><AccessControlList><Grant><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>",
		"<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>x</ID></Grantee><Permission>ALL</Permission></Grant></AccessControlList></AccessControlPolicy>",
		"<AccessControlPolicy><AccessControlList><Grant><Grantee></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>",
		"<Tagging/>",
		"not xml",
	} {
		if _, err := decodeACLBody([]byte(bad)); errCode(err) != "MalformedACLError" {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// With ACLs disabled, GetBucketAcl/GetObjectAcl show the owner's
// FULL_CONTROL whatever is stored (AWS: "Requests to read ACLs always
// return a response that shows full control for the bucket owner").
func TestPolicyACLsDisabled(t *testing.T) {
	s := &Server{owner: ownerOf("root")}
	p := s.policyOf("public-read-write", false)
	if len(p.Grants) != 1 || p.Grants[0].Grantee.ID != s.owner.ID || p.Grants[0].Permission != permFullControl {
		t.Fatalf("%+v", p)
	}
	if p := s.policyOf("public-read-write", true); len(p.Grants) != 3 {
		t.Fatalf("%+v", p)
	}
}

// Unsigned requests are anonymous: their body is checked like an unsigned
// one; they may not carry snapshot or fork headers, nor claim a signed
// streaming body.
func TestAuthenticateAnonymous(t *testing.T) {
	a := testAuthenticator("us-east-1", exampleTime)
	body := "hello"
	sum := sha256.Sum256([]byte(body))
	res, err := a.Authenticate(&AuthRequest{Method: "PUT", RawPath: "/b/k", Header: header("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]), "X-Amz-Acl", "public-read"),
		Body: strings.NewReader(body), ContentLength: int64(len(body))})
	if err != nil || res.AccessKey != "" || res.Size != int64(len(body)) {
		t.Fatalf("%+v %v", res, err)
	}
	if b, err := readBody(t, res); err != nil || string(b) != body {
		t.Fatalf("body %q %v", b, err)
	}
	res, err = a.Authenticate(&AuthRequest{Method: "PUT", RawPath: "/b/k", Header: header("X-Amz-Content-Sha256", hex.EncodeToString(sum[:])),
		Body: strings.NewReader("other"), ContentLength: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readBody(t, res); !errors.Is(err, ErrXAmzContentSHA256Mismatch) {
		t.Fatalf("mismatched body: %v", err)
	}
	for _, h := range []http.Header{
		header("X-Tigris-Snapshot-Version", "1"),
		header("x-forkstore-anything", "1"),
		header("X-Amz-Content-Sha256", streamingPayload),
	} {
		_, err := a.Authenticate(&AuthRequest{Method: "GET", RawPath: "/b/k", Header: h})
		wantAPIError(t, err, "AccessDenied")
	}
}

// authorize: the root may do everything; an anonymous request only what
// the ACLs give everyone (AllUsers), a scoped key its scope and what the
// ACLs give every signed request (AuthenticatedUsers) too; object ACLs
// are in force only where the bucket's ownership setting enables them.
func TestAuthorize(t *testing.T) {
	ls := newLiveServer(t)
	ctx := t.Context()
	svc := ls.node.Service()
	mk := func(name string, o meta.Ownership, acl string) {
		t.Helper()
		if _, err := svc.CreateBucket(ctx, gateway.CreateBucketInput{Name: name, Ownership: o, ACL: acl}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(bucket, key, acl string) {
		t.Helper()
		body := strings.NewReader("x")
		if _, err := svc.PutObject(ctx, &gateway.PutObjectInput{Bucket: bucket, Key: key, Body: body, Size: 1, Object: meta.Object{Key: key, ACL: acl}}); err != nil {
			t.Fatal(err)
		}
	}
	mk("private", meta.OwnershipEnforced, "")
	mk("reader", meta.OwnershipObjectWriter, "public-read")
	mk("writer", meta.OwnershipNone, "public-read-write")
	mk("authread", meta.OwnershipPreferred, "authenticated-read")
	put("private", "k", "")
	put("reader", "k", "")
	put("reader", "pub", "public-read")
	put("writer", "pub", "public-read")
	put("authread", "pub", "authenticated-read")

	root := &gateway.Principal{AccessKey: testAccessKey, Root: true}
	scoped := &gateway.Principal{AccessKey: "AKIASCOPED", Buckets: map[string]int64{"private": 0}, Prefix: "own/"}
	var anon *gateway.Principal
	obj := func(op Operation, bucket, key, vid string) access {
		kind := accessWrite
		if readOps[op] {
			kind = accessRead
		}
		return access{op: op, kind: kind, bucket: bucket, key: key, hasKey: true, versionID: vid}
	}
	bkt := func(op Operation, bucket string) access {
		kind := accessBucketAdmin
		if readOps[op] {
			kind = accessRead
		}
		if op == OpDeleteObjects {
			kind = accessWrite
		}
		return access{op: op, kind: kind, bucket: bucket}
	}
	cases := []struct {
		p    *gateway.Principal
		a    access
		code string
	}{
		{root, bkt(OpDeleteBucket, "private"), ""},
		{root, access{op: OpAdmin, kind: accessAdmin}, ""},
		{anon, access{op: OpListBuckets, kind: accessService}, "AccessDenied"},
		{anon, access{op: OpAdmin, kind: accessAdmin}, "AccessDenied"},
		{anon, obj(OpGetObject, "private", "k", ""), "AccessDenied"},
		{anon, obj(OpGetObject, "private", "absent", ""), "AccessDenied"},
		{anon, bkt(OpListObjectsV2, "private"), "AccessDenied"},
		{anon, obj(OpGetObject, "nosuchbucket", "k", ""), "AccessDenied"},
		{anon, bkt(OpListObjectsV2, "nosuchbucket"), "AccessDenied"},
		{anon, bkt(OpListObjectsV2, "reader"), ""},
		{anon, bkt(OpHeadBucket, "reader"), ""},
		{anon, obj(OpGetObject, "reader", "pub", ""), ""},
		{anon, obj(OpHeadObject, "reader", "pub", ""), ""},
		{anon, obj(OpGetObject, "reader", "k", ""), "AccessDenied"},
		// Absent from a listable bucket: the handler answers NoSuchKey.
		{anon, obj(OpGetObject, "reader", "absent", ""), ""},
		{anon, obj(OpGetObjectAcl, "reader", "pub", ""), "AccessDenied"},
		{anon, obj(OpGetObjectTagging, "reader", "pub", ""), "AccessDenied"},
		{anon, bkt(OpGetBucketAcl, "reader"), "AccessDenied"},
		{anon, obj(OpPutObject, "reader", "new", ""), "AccessDenied"},
		{anon, obj(OpDeleteObject, "reader", "pub", ""), "AccessDenied"},
		{anon, obj(OpPutObject, "writer", "new", ""), ""},
		{anon, obj(OpCreateMultipartUpload, "writer", "new", ""), ""},
		{anon, obj(OpDeleteObject, "writer", "pub", ""), ""},
		{anon, obj(OpDeleteObject, "writer", "pub", "null"), "AccessDenied"},
		{anon, bkt(OpDeleteObjects, "writer"), ""},
		{anon, bkt(OpListObjects, "writer"), ""},
		{anon, obj(OpGetObject, "writer", "pub", ""), ""},
		{anon, bkt(OpPutBucketAcl, "writer"), "AccessDenied"},
		{anon, obj(OpPutObjectAcl, "writer", "pub", ""), "AccessDenied"},
		{anon, bkt(OpDeleteBucket, "writer"), "AccessDenied"},
		// authenticated-read gives nothing to anonymous requests...
		{anon, obj(OpGetObject, "authread", "pub", ""), "AccessDenied"},
		{anon, bkt(OpListObjects, "authread"), "AccessDenied"},
		// ...and to every signed one: a scoped key outside its scope may
		// do what the ACLs give everyone and every signed request.
		{scoped, obj(OpGetObject, "authread", "pub", ""), ""},
		{scoped, bkt(OpListObjects, "authread"), ""},
		{scoped, obj(OpGetObject, "reader", "pub", ""), ""},
		{scoped, obj(OpGetObject, "reader", "k", ""), "AccessDenied"},
		{scoped, obj(OpPutObject, "writer", "new", ""), ""},
		{scoped, obj(OpGetObject, "private", "own/x", ""), ""},
		{scoped, obj(OpGetObject, "private", "k", ""), "AccessDenied"},
		{scoped, bkt(OpPutBucketAcl, "reader"), "AccessDenied"},
	}
	for _, tc := range cases {
		err := ls.s.authorize(ctx, tc.p, tc.a)
		if errCode(err) != tc.code {
			t.Errorf("%+v %s %s/%s@%s: %v, want %q", tc.p, tc.a.op, tc.a.bucket, tc.a.key, tc.a.versionID, err, tc.code)
		}
	}

	// Disabling ACLs takes the object's ACL out of force, and enabling them
	// again brings it back.
	if err := svc.SetBucketAccess(ctx, "reader", gateway.BucketAccessInput{SetOwnership: true, Ownership: meta.OwnershipEnforced, SetACL: true}); err != nil {
		t.Fatal(err)
	}
	if err := ls.s.authorize(ctx, anon, obj(OpGetObject, "reader", "pub", "")); errCode(err) != "AccessDenied" {
		t.Errorf("public-read object with ACLs disabled: %v", err)
	}
	if err := svc.SetBucketAccess(ctx, "reader", gateway.BucketAccessInput{SetOwnership: true, Ownership: meta.OwnershipObjectWriter}); err != nil {
		t.Fatal(err)
	}
	if err := ls.s.authorize(ctx, anon, obj(OpGetObject, "reader", "pub", "")); err != nil {
		t.Errorf("public-read object with ACLs enabled again: %v", err)
	}
}
