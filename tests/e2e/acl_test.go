//go:build e2e

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// anonGet is an unsigned GET, as curl or a browser sends it.
func anonGet(t *testing.T, u string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// awsACL is the JSON of `aws s3api get-object-acl` / get-bucket-acl.
type awsACL struct {
	Owner  json.RawMessage
	Grants []struct {
		Grantee struct {
			ID   string
			URI  string
			Type string
		}
		Permission string
	}
}

func (p awsACL) has(uri, perm string) bool {
	for _, g := range p.Grants {
		if g.Grantee.URI == uri && g.Permission == perm {
			return true
		}
	}
	return false
}

// The aws CLI with ACLs, as on AWS S3 (a step of TestAWSCLI): `aws s3 cp
// --acl public-read` into a bucket whose ownership allows ACLs makes the
// object readable by an unsigned GET (small and multipart); into a new
// bucket (ACLs disabled) it fails with AccessControlListNotSupported and
// stores nothing; putting back the owner-only ACL that get-object-acl shows
// (what s3cmd does after every copy) succeeds in every mode.
func awsACLs(t *testing.T, a *awsRunner, b string) {
	s := a.s
	open, closed := b+"-open", b+"-closed"
	a.run("s3api", "create-bucket", "--bucket", open, "--object-ownership", "ObjectWriter")
	a.run("s3", "mb", "s3://"+closed)

	small := randBytes(301, 3000)
	big := randBytes(302, 9<<20) // beyond the CLI's 8 MiB multipart threshold
	a.writeFile("small", small)
	a.writeFile("big", big)
	a.run("s3", "cp", "--no-progress", "--acl", "public-read", a.path("small"), "s3://"+open+"/pub/small")
	a.run("s3", "cp", "--no-progress", "--acl", "public-read", a.path("big"), "s3://"+open+"/pub/big")
	a.run("s3", "cp", "--no-progress", a.path("small"), "s3://"+open+"/private")
	for key, want := range map[string][]byte{"pub/small": small, "pub/big": big} {
		st, got := anonGet(t, s.URL()+"/"+open+"/"+key)
		if st != http.StatusOK {
			t.Fatalf("unsigned GET of %s after cp --acl public-read: HTTP %d %s", key, st, tail(string(got), 300))
		}
		sameBytes(t, "unsigned GET of "+key, got, want)
	}
	if st, body := anonGet(t, s.URL()+"/"+open+"/private"); st != http.StatusForbidden || !strings.Contains(string(body), "AccessDenied") {
		t.Errorf("unsigned GET of a private object: HTTP %d %s", st, body)
	}
	if st, body := anonGet(t, s.URL()+"/"+open); st != http.StatusForbidden {
		t.Errorf("unsigned listing of a private bucket: HTTP %d %s", st, body)
	}
	var acl awsACL
	a.json(&acl, "s3api", "get-object-acl", "--bucket", open, "--key", "pub/big")
	if !acl.has("http://acs.amazonaws.com/groups/global/AllUsers", "READ") || len(acl.Grants) != 2 {
		t.Errorf("get-object-acl of a public-read object: %+v", acl)
	}
	a.run("s3api", "put-object-acl", "--bucket", open, "--key", "private", "--acl", "public-read")
	if st, _ := anonGet(t, s.URL()+"/"+open+"/private"); st != http.StatusOK {
		t.Errorf("unsigned GET after put-object-acl public-read: HTTP %d", st)
	}
	a.run("s3api", "put-bucket-acl", "--bucket", open, "--acl", "public-read")
	if st, body := anonGet(t, s.URL()+"/"+open+"?list-type=2"); st != http.StatusOK || !strings.Contains(string(body), "<Key>pub/big</Key>") {
		t.Errorf("unsigned listing of a public-read bucket: HTTP %d %s", st, tail(string(body), 300))
	}

	// ACLs disabled (the default): refused, nothing stored.
	_, errOut, err := a.try("s3", "cp", "--no-progress", "--acl", "public-read", a.path("small"), "s3://"+closed+"/k")
	if err == nil || !strings.Contains(errOut, "AccessControlListNotSupported") {
		t.Errorf("cp --acl public-read into a bucket without ACLs: %v\n%s", err, errOut)
	}
	if _, _, err := a.try("s3api", "head-object", "--bucket", closed, "--key", "k"); err == nil {
		t.Errorf("the refused upload was stored")
	}
	a.run("s3", "cp", "--no-progress", "--acl", "bucket-owner-full-control", a.path("small"), "s3://"+closed+"/k")
	var own awsACL
	a.json(&own, "s3api", "get-object-acl", "--bucket", closed, "--key", "k")
	if len(own.Grants) != 1 || own.Grants[0].Permission != "FULL_CONTROL" {
		t.Errorf("get-object-acl with ACLs disabled: %+v", own)
	}
	// The owner-only ACL goes back in every mode.
	body, err := json.Marshal(map[string]any{"Owner": own.Owner, "Grants": own.Grants})
	if err != nil {
		t.Fatal(err)
	}
	policy := a.writeFile("policy.json", body)
	for _, b := range []string{closed, open} {
		a.run("s3api", "put-object-acl", "--bucket", b, "--key", map[string]string{closed: "k", open: "pub/small"}[b],
			"--access-control-policy", "file://"+policy)
	}
	if st, _ := anonGet(t, s.URL()+"/"+open+"/pub/small"); st != http.StatusForbidden {
		t.Errorf("unsigned GET after the owner-only ACL went back: HTTP %d", st)
	}
}

// Unsigned writes only where the bucket's ACL is public-read-write.
func TestACLAnonymousWrite(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	r := raw{t, s}
	b := bucketName(t, "acl-rw")
	if got := r.do(http.MethodPut, "/"+b, nil, http.Header{"X-Amz-Object-Ownership": {"BucketOwnerPreferred"}, "X-Amz-Acl": {"public-read"}}, nil); got.Status != http.StatusOK {
		t.Fatalf("CreateBucket: %s", got)
	}
	put := func() (int, string) { return rawCode(t, http.MethodPut, s.URL()+"/"+b+"/anon", []byte("anonymous")) }
	if st, code := put(); st != http.StatusForbidden || code != "AccessDenied" {
		t.Fatalf("unsigned PUT into a public-read bucket: %d %s", st, code)
	}
	if got := r.do(http.MethodPut, "/"+b, url.Values{"acl": {""}}, http.Header{"X-Amz-Acl": {"public-read-write"}}, nil); got.Status != http.StatusOK {
		t.Fatalf("PutBucketAcl: %s", got)
	}
	if st, code := put(); st != http.StatusOK {
		t.Fatalf("unsigned PUT into a public-read-write bucket: %d %s", st, code)
	}
	if got := r.do(http.MethodGet, "/"+b+"/anon", nil, nil, nil); got.Status != http.StatusOK || string(got.Body) != "anonymous" {
		t.Fatalf("owner GET of the anonymous write: %s", got)
	}
	if st, code := rawCode(t, http.MethodDelete, s.URL()+"/"+b+"/anon", nil); st != http.StatusNoContent {
		t.Fatalf("unsigned DELETE in a public-read-write bucket: %d %s", st, code)
	}
	// A fork of it starts with its ACL, and changes it on its own.
	f := bucketName(t, "acl-rw-fork")
	if got := r.do(http.MethodPut, "/"+f, nil, forkHeaders(hForkSource, b), nil); got.Status != http.StatusOK {
		t.Fatalf("fork: %s", got)
	}
	if got := r.do(http.MethodPut, "/"+f, url.Values{"acl": {""}}, http.Header{"X-Amz-Acl": {"private"}}, nil); got.Status != http.StatusOK {
		t.Fatalf("PutBucketAcl on the fork: %s", got)
	}
	if st, code := rawCode(t, http.MethodPut, s.URL()+"/"+f+"/anon", []byte("x")); st != http.StatusForbidden || code != "AccessDenied" {
		t.Fatalf("unsigned PUT into the private fork: %d %s", st, code)
	}
	if st, code := put(); st != http.StatusOK {
		t.Fatalf("unsigned PUT into the parent after the fork's change: %d %s", st, code)
	}
	// Unsigned requests cannot name snapshots or forks.
	req, _ := http.NewRequestWithContext(testCtx(t), http.MethodGet, s.URL()+"/"+b+"/anon", nil)
	req.Header.Set(hSnapshotVersion, "1")
	wantErr(t, "unsigned GET with "+hSnapshotVersion, r.send(req), http.StatusForbidden, "AccessDenied")
}
