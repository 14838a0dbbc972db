//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/forkstore/forkstore/tests/harness"
)

// Users through the CLI (forkstore user create|list|rotate-key|delete),
// minio-go and the aws CLI signing with a user's key: a user owns the
// buckets it creates and lists only those; another user is AccessDenied
// on them until a bucket policy names it (by canonical id); deleting a
// user that owns buckets needs --force.
func TestUsersClients(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	create := func(name string) cliUser { return createCLIUser(t, s, name) }
	alice, bob := create("alice"), create("bob")
	if out := mustCLI(t, s, "user", "list"); !strings.Contains(out, "alice") || !strings.Contains(out, bob.CanonicalID) {
		t.Fatalf("user list:\n%s", out)
	}
	ca, cb := newClient(t, s, withCreds(alice.AccessKeyID, alice.SecretAccessKey)), newClient(t, s, withCreds(bob.AccessKeyID, bob.SecretAccessKey))
	ctx := testCtx(t)
	b := bucketName(t, "alice")
	makeBucket(t, ca, b)
	putBytes(t, ca, b, "k", []byte("alice's"), minio.PutObjectOptions{})
	if bs, err := ca.ListBuckets(ctx); err != nil || len(bs) != 1 || bs[0].Name != b {
		t.Fatalf("alice's ListBuckets: %v %v", bs, err)
	}
	if bs, err := cb.ListBuckets(ctx); err != nil || len(bs) != 0 {
		t.Fatalf("bob's ListBuckets: %v %v", bs, err)
	}
	_, err := tryGet(ctx, cb, b, "k", minio.GetObjectOptions{})
	wantCode(t, "bob reading alice's object", err, "AccessDenied")
	wantCode(t, "bob taking alice's bucket name", cb.MakeBucket(ctx, b, minio.MakeBucketOptions{}), "BucketAlreadyExists")
	pol := `{"Statement":[{"Effect":"Allow","Principal":{"CanonicalUser":"` + bob.CanonicalID + `"},"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::` + b + `","arn:aws:s3:::` + b + `/*"]}]}`
	if err := ca.SetBucketPolicy(ctx, b, pol); err != nil {
		t.Fatalf("alice's SetBucketPolicy: %v", err)
	}
	sameBytes(t, "bob reading under alice's policy", getBytes(t, cb, b, "k", minio.GetObjectOptions{}), []byte("alice's"))
	wantCode(t, "bob writing under alice's policy", cb.RemoveObject(ctx, b, "k", minio.RemoveObjectOptions{}), "AccessDenied")

	// The aws CLI with alice's key.
	for _, cli := range findAWSCLIs() {
		env := append(clientEnv(t, s), "AWS_ACCESS_KEY_ID="+alice.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+alice.SecretAccessKey)
		a := &awsRunner{t: t, cli: cli, s: s, env: env, dir: t.TempDir()}
		var out struct {
			Buckets []struct{ Name string }
			Owner   struct{ ID string }
		}
		a.json(&out, "s3api", "list-buckets")
		if len(out.Buckets) != 1 || out.Buckets[0].Name != b || out.Owner.ID != alice.CanonicalID {
			t.Errorf("aws %s list-buckets as alice: %+v", cli.label, out)
		}
	}

	r := forkstoreCLI(t, s, "user", "delete", "alice")
	if r.Err == nil || !strings.Contains(r.Stderr, "UserOwnsBuckets") {
		t.Fatalf("user delete of an owner: %v\n%s", r.Err, r.Stderr)
	}
	var rot cliUser
	if err := json.Unmarshal([]byte(mustCLI(t, s, "user", "rotate-key", "alice", "--json")), &rot); err != nil || rot.AccessKeyID == alice.AccessKeyID {
		t.Fatalf("rotate-key: %+v %v", rot, err)
	}
	// The old key stops at once (the node drops its cached keys with
	// its own change).
	_, err = ca.ListBuckets(ctx)
	wantCode(t, "ListBuckets with alice's old key", err, "InvalidAccessKeyId")
	mustCLI(t, s, "user", "delete", "alice", "--force")
	mustCLI(t, s, "user", "delete", "bob")
	if out := mustCLI(t, s, "user", "list", "--json"); strings.Contains(out, "alice") {
		t.Fatalf("user list after deletes:\n%s", out)
	}
}

// cliUser is what forkstore user create --json prints.
type cliUser struct {
	Name            string `json:"name"`
	CanonicalID     string `json:"canonical_id"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

// createCLIUser creates a user with the CLI.
func createCLIUser(t *testing.T, s *harness.Server, name string) cliUser {
	t.Helper()
	var u cliUser
	if err := json.Unmarshal([]byte(mustCLI(t, s, "user", "create", name, "--json")), &u); err != nil || u.SecretAccessKey == "" {
		t.Fatalf("user create %s: %+v %v", name, u, err)
	}
	return u
}
