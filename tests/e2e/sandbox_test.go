//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// Agent sandboxes from the command line; the boto3 side (20 agents, one
// create-many, isolation, a merge) is tests/clients/sandbox.py.

type sandboxBatch struct {
	Source  string `json:"source"`
	Version string `json:"version"`
	Forks   []struct {
		Bucket          string `json:"bucket"`
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		Expires         string `json:"expires"`
	} `json:"forks"`
}

// createMany runs fork create-many --json and decodes the batch.
func createMany(t *testing.T, s *harness.Server, args ...string) sandboxBatch {
	t.Helper()
	var b sandboxBatch
	out := mustCLI(t, s, append([]string{"fork", "create-many", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatalf("create-many --json: %v\n%s", err, out)
	}
	return b
}

// waitGone waits until HeadBucket of bucket answers 404.
func waitGone(t *testing.T, s *harness.Server, bucket string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for headBucket(t, s, bucket).Status != 404 {
		if time.Now().After(deadline) {
			t.Fatalf("%s is still there", bucket)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// keyCode is the error code of a GetObject with a scoped key ("" when it
// works).
func keyCode(t *testing.T, s *harness.Server, id, secret, bucket, key string) string {
	t.Helper()
	c := newClient(t, s, withCreds(id, secret))
	o, err := c.GetObject(testCtx(t), bucket, key, minio.GetObjectOptions{})
	if err == nil {
		_, err = o.Stat()
		o.Close()
	}
	if err == nil {
		return ""
	}
	return minio.ToErrorResponse(err).Code
}

// Leases: a short one runs out by itself; long ones run out when the
// lease clock moves three hours on (FORKSTORE_LEASE_CLOCK_OFFSET, over a
// restart): their keys stop at once, the collector deletes the forks, a
// renewed fork stays.
func TestSandboxLeases(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	if s.IsExternal() {
		t.Skip("moves the server's lease clock")
	}
	c := newClient(t, s)
	base := bucketName(t, "lease-base")
	makeBucket(t, c, base)
	putBytes(t, c, base, "k", []byte("v"), minio.PutObjectOptions{})

	short := createMany(t, s, base, "--count", "2", "--prefix", base+"-s", "--with-keys", "--ttl", "2s")
	long := createMany(t, s, base, "--count", "3", "--prefix", base+"-l", "--with-keys", "--ttl", "2h")
	if len(long.Forks) != 3 || long.Forks[0].Expires == "" || long.Version == "" {
		t.Fatalf("batch %+v", long)
	}
	// A single fork with a lease, over S3.
	solo := base + "-solo"
	r := raw{t, s}.do("PUT", "/"+solo, nil, forkHeaders("X-Tigris-Fork-Source-Bucket", base, "X-Forkstore-Fork-TTL", "2h"), nil)
	if r.Status != 200 || r.Header.Get("X-Forkstore-Expires") == "" {
		t.Fatalf("fork with X-Forkstore-Fork-TTL: %d %s", r.Status, r.Body)
	}
	if exp := headBucket(t, s, solo).Header.Get("X-Forkstore-Expires"); exp == "" {
		t.Fatal("HeadBucket of a fork with a lease has no X-Forkstore-Expires")
	}
	if out := mustCLI(t, s, "fork", "list", base); !strings.Contains(out, "EXPIRES") || !strings.Contains(out, long.Forks[0].Bucket) {
		t.Fatalf("fork list:\n%s", out)
	}
	for _, f := range long.Forks {
		if code := keyCode(t, s, f.AccessKeyID, f.SecretAccessKey, f.Bucket, "k"); code != "" {
			t.Fatalf("key of %s: %s", f.Bucket, code)
		}
	}

	// The short lease runs out: its keys stop, its forks go.
	for _, f := range short.Forks {
		waitGone(t, s, f.Bucket)
		if code := keyCode(t, s, f.AccessKeyID, f.SecretAccessKey, f.Bucket, "k"); code != "InvalidAccessKeyId" {
			t.Fatalf("key of the expired %s: %q", f.Bucket, code)
		}
	}

	// Renew one long fork, then move the lease clock three hours on.
	mustCLI(t, s, "fork", "renew", long.Forks[0].Bucket, "--ttl", "10h")
	s.RestartWith(harness.WithEnv("FORKSTORE_LEASE_CLOCK_OFFSET=3h"))
	for _, f := range long.Forks[1:] {
		// At once, whether or not the collector ran yet.
		if code := keyCode(t, s, f.AccessKeyID, f.SecretAccessKey, f.Bucket, "k"); code != "InvalidAccessKeyId" && code != "AccessDenied" {
			t.Fatalf("key of %s after its lease: %q", f.Bucket, code)
		}
	}
	for _, f := range long.Forks[1:] {
		waitGone(t, s, f.Bucket)
	}
	waitGone(t, s, solo)
	renewed := long.Forks[0]
	if code := keyCode(t, s, renewed.AccessKeyID, renewed.SecretAccessKey, renewed.Bucket, "k"); code != "" {
		t.Fatalf("key of the renewed fork: %s", code)
	}
	wantContent(t, c, base, "", map[string]string{"k": "v"})
}

// The key and fork commands: JSON for scripts, tables for people, clear
// errors and exit codes for bad input, nothing changed by a refused merge.
func TestSandboxCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	base := bucketName(t, "cli-base")
	makeBucket(t, c, base)
	objectsOf(t, c, base, map[string]string{"a": "a0", "b": "b0"})

	var k struct {
		AccessKeyID     string   `json:"access_key_id"`
		SecretAccessKey string   `json:"secret_access_key"`
		Buckets         []string `json:"buckets"`
		ReadOnly        bool     `json:"read_only"`
	}
	out := mustCLI(t, s, "key", "create", "--bucket", base, "--read-only", "--expires", "1h", "--json")
	if err := json.Unmarshal([]byte(out), &k); err != nil || k.SecretAccessKey == "" || !k.ReadOnly || k.Buckets[0] != base {
		t.Fatalf("key create: %v %s", err, out)
	}
	if code := keyCode(t, s, k.AccessKeyID, k.SecretAccessKey, base, "a"); code != "" {
		t.Fatalf("read-only key reads: %s", code)
	}
	ro := newClient(t, s, withCreds(k.AccessKeyID, k.SecretAccessKey))
	_, err := ro.PutObject(testCtx(t), base, "x", strings.NewReader("x"), 1, minio.PutObjectOptions{})
	wantCode(t, "PutObject with a read-only key", err, "AccessDenied")
	if out := mustCLI(t, s, "key", "list"); !strings.Contains(out, k.AccessKeyID) || strings.Contains(out, k.SecretAccessKey) {
		t.Fatalf("key list:\n%s", out)
	}
	mustCLI(t, s, "key", "delete", k.AccessKeyID)
	if r := forkstoreCLI(t, s, "key", "delete", k.AccessKeyID); exitCode(t, r) != 1 || !strings.Contains(r.Stderr, "NoSuchAccessKey") {
		t.Fatalf("deleting a deleted key: %+v", r)
	}

	b := createMany(t, s, base, "--count", "2", "--prefix", base+"-f")
	f1 := b.Forks[0].Bucket
	putBytes(t, c, f1, "a", []byte("a1"), minio.PutObjectOptions{})
	putBytes(t, c, f1, "new", []byte("n1"), minio.PutObjectOptions{})
	putBytes(t, c, base, "a", []byte("a-base"), minio.PutObjectOptions{})

	if out := mustCLI(t, s, "fork", "merge", f1, "--dry-run"); !strings.Contains(out, "would be refused: 1 conflicts") || !strings.Contains(out, "CONFLICTING KEY") {
		t.Fatalf("merge --dry-run:\n%s", out)
	}
	r := forkstoreCLI(t, s, "fork", "merge", f1)
	if exitCode(t, r) != 1 || !strings.Contains(r.Stderr, "MergeConflict") || !strings.Contains(r.Stdout, "CONFLICTING KEY") {
		t.Fatalf("conflicting merge: %+v", r)
	}
	wantContent(t, c, base, "", map[string]string{"a": "a-base", "b": "b0"})
	var m struct {
		Puts          int  `json:"puts"`
		ConflictCount int  `json:"conflict_count"`
		ForkDeleted   bool `json:"fork_deleted"`
	}
	out = mustCLI(t, s, "fork", "merge", f1, "--strategy", "fork-wins", "--delete-fork", "--json")
	if err := json.Unmarshal([]byte(out), &m); err != nil || m.Puts != 2 || m.ConflictCount != 1 || !m.ForkDeleted {
		t.Fatalf("merge: %v %s", err, out)
	}
	wantContent(t, c, base, "", map[string]string{"a": "a1", "b": "b0", "new": "n1"})

	// Bad input: usage errors exit 2, the server's refusals exit 1 with
	// its code; nothing is created.
	for _, bad := range []struct {
		args []string
		exit int
		want string
	}{
		{[]string{"key", "create"}, 2, "--bucket is required"},
		{[]string{"key", "create", "--bucket", "nosuchbucket-" + base}, 1, "NoSuchBucket"},
		{[]string{"key", "create", "--bucket", base, "--expires", "soon"}, 1, "InvalidArgument"},
		{[]string{"fork", "create-many", base, "--prefix", "z-"}, 2, "--count is required"},
		{[]string{"fork", "create-many", base, "--count", "0", "--prefix", base + "-z"}, 1, "InvalidArgument"},
		{[]string{"fork", "create-many", base, "--count", "1001", "--prefix", base + "-z"}, 1, "InvalidArgument"},
		{[]string{"fork", "create-many", base, "--count", "2", "--prefix", base + "-z", "--ttl", "-1h"}, 1, "InvalidArgument"},
		{[]string{"fork", "merge", base}, 1, "not a fork"},
		{[]string{"fork", "merge", b.Forks[1].Bucket, "--strategy", "sideways"}, 1, "InvalidArgument"},
		{[]string{"fork", "renew", b.Forks[1].Bucket}, 2, "--ttl is required"},
		{[]string{"fork", "renew", b.Forks[1].Bucket, "--ttl", "garbage"}, 1, "InvalidArgument"},
		{[]string{"fork", "renew", base, "--ttl", "1h"}, 1, "not a fork"},
	} {
		r := forkstoreCLI(t, s, bad.args...)
		if got := exitCode(t, r); got != bad.exit || !strings.Contains(r.Stderr, bad.want) {
			t.Errorf("forkstore %s: exit %d, stderr %q; want exit %d mentioning %q", strings.Join(bad.args, " "), got, r.Stderr, bad.exit, bad.want)
		}
	}
	if headBucket(t, s, base+"-z1").Status != 404 {
		t.Error("a refused create-many created a fork")
	}
}

// The README's agent sandbox example runs as written (boto3).
func TestReadmeSandboxExample(t *testing.T) {
	t.Parallel()
	py := findPython()
	requireClient(t, py != "", "python3 with boto3")
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Agent sandboxes\n")
	_, code, ok2 := strings.Cut(section, "```python\n")
	code, _, ok3 := strings.Cut(code, "```\n")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no python example under \"## Agent sandboxes\"")
	}
	script := filepath.Join(t.TempDir(), "agents.py")
	if err := os.WriteFile(script, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t)
	env := append(clientEnv(t, s), "FORKSTORE_ENDPOINT="+s.URL(), "BASE_BUCKET="+bucketName(t, "datasets"))
	out := runClient(t, env, t.TempDir(), 3*time.Minute, py, script)
	if !strings.Contains(out, "merged ") || !strings.Contains(out, "b'1 2 3'") {
		t.Fatalf("README example output:\n%s", out)
	}
}

// Sandbox keys and forks, on the binary through the CLI and signed
// requests: the key of a create-many fork cannot fork it (no bucket that
// outlives the lease, no squatting of a runner's next names); a key made
// with --allow-forks --fork-prefix forks under its prefix only, and the
// fork has the lease of the key's sandbox; a batch made with
// --keys-allow-forks gives each key that permission under "<fork>-".
func TestSandboxKeyForks(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	base := bucketName(t, "kf")
	makeBucket(t, c, base)
	putBytes(t, c, base, "k", []byte("v"), minio.PutObjectOptions{})
	fork := func(id, secret, name, source string) rawResp {
		t.Helper()
		r := raw{t, s}
		req := r.unsigned(http.MethodPut, "/"+name, nil, forkHeaders("X-Tigris-Fork-Source-Bucket", source), nil)
		return r.send(signer.SignV4(*req, id, secret, "", s.Region()))
	}

	lease := createMany(t, s, base, "--count", "1", "--prefix", base+"-l", "--with-keys", "--ttl", "1h").Forks[0]
	for _, name := range []string{base + "-escape", base + "-l2"} {
		if r := fork(lease.AccessKeyID, lease.SecretAccessKey, name, lease.Bucket); r.Status != 403 || headBucket(t, s, name).Status != 404 {
			t.Fatalf("fork %s by a sandbox key: %v", name, r)
		}
	}

	var k struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		AllowForks      bool   `json:"allow_forks"`
		ForkPrefix      string `json:"fork_prefix"`
	}
	out := mustCLI(t, s, "key", "create", "--bucket", lease.Bucket, "--allow-forks", "--fork-prefix", lease.Bucket+"-", "--json")
	if err := json.Unmarshal([]byte(out), &k); err != nil || !k.AllowForks || k.ForkPrefix != lease.Bucket+"-" {
		t.Fatalf("key create --allow-forks: %v %s", err, out)
	}
	if r := fork(k.AccessKeyID, k.SecretAccessKey, base+"-squat", lease.Bucket); r.Status != 403 {
		t.Fatalf("fork outside the prefix: %v", r)
	}
	try := lease.Bucket + "-try"
	if r := fork(k.AccessKeyID, k.SecretAccessKey, try, lease.Bucket); r.Status != 200 {
		t.Fatalf("fork under the prefix: %v", r)
	}
	want := headBucket(t, s, lease.Bucket).Header.Get("X-Forkstore-Expires")
	if got := headBucket(t, s, try).Header.Get("X-Forkstore-Expires"); want == "" || got != want {
		t.Fatalf("the key's fork expires %q, want the sandbox's lease %q", got, want)
	}
	if code := keyCode(t, s, k.AccessKeyID, k.SecretAccessKey, try, "k"); code != "" {
		t.Fatalf("the key on its fork: %s", code)
	}
	if out := mustCLI(t, s, "key", "list", "--bucket", lease.Bucket); !strings.Contains(out, "FORKS") || !strings.Contains(out, lease.Bucket+"-*") {
		t.Fatalf("key list:\n%s", out)
	}

	g := createMany(t, s, base, "--count", "1", "--prefix", base+"-k", "--with-keys", "--keys-allow-forks", "--ttl", "1h").Forks[0]
	if r := fork(g.AccessKeyID, g.SecretAccessKey, base+"-y", g.Bucket); r.Status != 403 {
		t.Fatalf("fork outside <fork>- by a --keys-allow-forks key: %v", r)
	}
	if r := fork(g.AccessKeyID, g.SecretAccessKey, g.Bucket+"-x", g.Bucket); r.Status != 200 {
		t.Fatalf("fork under <fork>- by a --keys-allow-forks key: %v", r)
	}

	// Bad input: a usage error, and the server's refusal.
	if r := forkstoreCLI(t, s, "fork", "create-many", base, "--count", "1", "--prefix", base+"-z", "--keys-allow-forks"); exitCode(t, r) != 2 {
		t.Fatalf("--keys-allow-forks without --with-keys: %+v", r)
	}
	if r := forkstoreCLI(t, s, "key", "create", "--bucket", base, "--allow-forks"); exitCode(t, r) != 1 || !strings.Contains(r.Stderr, "InvalidRequest") {
		t.Fatalf("--allow-forks without --fork-prefix: %+v", r)
	}
}
