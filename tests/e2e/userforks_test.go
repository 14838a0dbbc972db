//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// Forks between users with the CLI (forkstore fork create, create-many,
// renew) signed by a user's key, and minio-go: bob forks alice's bucket
// once her policy lets him read it (s3:ListBucket and s3:GetObject on all
// of it), with a lease; the fork is bob's (his ListBuckets, not alice's);
// carol, whom nothing allows, is AccessDenied; an explicit Deny of part of
// the source refuses bob too; bob renews only his forks, and his sandbox
// keys use only their forks.
func TestUsersForkCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	create := func(name string) cliUser { return createCLIUser(t, s, name) }
	alice, bob, carol := create("alice"), create("bob"), create("carol")
	as := func(u cliUser, args ...string) cliResult {
		t.Helper()
		return forkstoreCLIEnv(t, []string{"FORKSTORE_ENDPOINT=" + s.URL(), "AWS_ACCESS_KEY_ID=" + u.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY=" + u.SecretAccessKey, "AWS_REGION=" + s.Region()}, args...)
	}
	denied := func(what string, r cliResult) {
		t.Helper()
		if r.Err == nil || !strings.Contains(r.Stderr, "AccessDenied") {
			t.Fatalf("%s: want AccessDenied, got %v\n%s%s", what, r.Err, r.Stdout, r.Stderr)
		}
	}
	ctx := testCtx(t)
	ca, cb := newClient(t, s, withCreds(alice.AccessKeyID, alice.SecretAccessKey)), newClient(t, s, withCreds(bob.AccessKeyID, bob.SecretAccessKey))
	src := bucketName(t, "alice-src")
	makeBucket(t, ca, src)
	putBytes(t, ca, src, "k", []byte("alice's"), minio.PutObjectOptions{})

	f1 := bucketName(t, "bob-f1")
	denied("bob's fork without a grant", as(bob, "fork", "create", src, f1))
	bobARN := "arn:aws:iam::" + bob.CanonicalID + ":user/bob"
	read := `{"Effect":"Allow","Principal":{"AWS":"` + bobARN + `"},"Action":["s3:ListBucket","s3:GetObject"],"Resource":["arn:aws:s3:::` + src + `","arn:aws:s3:::` + src + `/*"]}`
	if err := ca.SetBucketPolicy(ctx, src, `{"Version":"2012-10-17","Statement":[`+read+`]}`); err != nil {
		t.Fatalf("alice's SetBucketPolicy: %v", err)
	}
	var fb struct {
		Name    string `json:"name"`
		Expires string `json:"expires"`
	}
	r := as(bob, "fork", "create", src, f1, "--ttl", "1h", "--json")
	if r.Err != nil || json.Unmarshal([]byte(r.Stdout), &fb) != nil || fb.Name != f1 || fb.Expires == "" {
		t.Fatalf("bob's fork create --ttl: %v %+v\n%s%s", r.Err, fb, r.Stdout, r.Stderr)
	}
	sameBytes(t, "bob's fork", getBytes(t, cb, f1, "k", minio.GetObjectOptions{}), []byte("alice's"))
	if bs, err := cb.ListBuckets(ctx); err != nil || len(bs) != 1 || bs[0].Name != f1 {
		t.Fatalf("bob's ListBuckets: %v %v", bs, err)
	}
	if bs, err := ca.ListBuckets(ctx); err != nil || len(bs) != 1 || bs[0].Name != src {
		t.Fatalf("alice's ListBuckets: %v %v", bs, err)
	}
	_, err := tryGet(ctx, ca, f1, "k", minio.GetObjectOptions{})
	wantCode(t, "alice reading bob's fork", err, "AccessDenied")
	denied("carol's fork", as(carol, "fork", "create", src, bucketName(t, "carol-f")))
	denied("carol renewing bob's fork", as(carol, "fork", "renew", f1, "--ttl", "2h"))
	if r := as(bob, "fork", "renew", f1, "--ttl", "2h"); r.Err != nil {
		t.Fatalf("bob renewing his fork: %v\n%s", r.Err, r.Stderr)
	}
	// A batch with keys.
	prefix := bucketName(t, "bob-sb") + "-"
	var batch struct {
		Forks []struct {
			Bucket          string `json:"bucket"`
			AccessKeyID     string `json:"access_key_id"`
			SecretAccessKey string `json:"secret_access_key"`
		} `json:"forks"`
	}
	r = as(bob, "fork", "create-many", src, "--count", "2", "--prefix", prefix, "--with-keys", "--ttl", "1h", "--json")
	if r.Err != nil || json.Unmarshal([]byte(r.Stdout), &batch) != nil || len(batch.Forks) != 2 {
		t.Fatalf("bob's create-many: %v\n%s%s", r.Err, r.Stdout, r.Stderr)
	}
	k1 := newClient(t, s, withCreds(batch.Forks[0].AccessKeyID, batch.Forks[0].SecretAccessKey))
	sameBytes(t, "a sandbox key in its fork", getBytes(t, k1, batch.Forks[0].Bucket, "k", minio.GetObjectOptions{}), []byte("alice's"))
	_, err = tryGet(ctx, k1, batch.Forks[1].Bucket, "k", minio.GetObjectOptions{})
	wantCode(t, "a sandbox key in another fork", err, "AccessDenied")

	// An explicit Deny of part of the source.
	deny := `{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + src + `/private/*"}`
	if err := ca.SetBucketPolicy(ctx, src, `{"Version":"2012-10-17","Statement":[`+read+`,`+deny+`]}`); err != nil {
		t.Fatalf("alice's SetBucketPolicy: %v", err)
	}
	denied("bob's fork under a Deny", as(bob, "fork", "create", src, bucketName(t, "bob-f2")))
	mustCLI(t, s, "user", "delete", "bob", "--force")
}
