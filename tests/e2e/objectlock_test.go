//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// Object Lock through the aws CLI (each installed major version, one
// server): create-bucket --object-lock-enabled-for-bucket,
// put/get-object-lock-configuration, put/get-object-retention,
// put/get-object-legal-hold, delete-object of a locked version refused
// (AccessDenied) and allowed with --bypass-governance-retention once no
// legal hold is left.
func TestObjectLockAWSCLI(t *testing.T) {
	t.Parallel()
	clis := findAWSCLIs()
	requireClient(t, len(clis) > 0, "the aws CLI")
	s := startServer(t)
	for _, cli := range clis {
		t.Run(cli.label, func(t *testing.T) {
			t.Parallel()
			a := &awsRunner{t: t, cli: cli, s: s, env: clientEnv(t, s), dir: t.TempDir()}
			b := bucketName(t, "lock-"+cli.label)
			a.run("s3api", "create-bucket", "--bucket", b, "--object-lock-enabled-for-bucket")
			a.run("s3api", "put-object-lock-configuration", "--bucket", b, "--object-lock-configuration",
				`{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":1}}}`)
			var cfg struct {
				ObjectLockConfiguration struct {
					ObjectLockEnabled string
					Rule              struct{ DefaultRetention struct{ Mode string } }
				}
			}
			a.json(&cfg, "s3api", "get-object-lock-configuration", "--bucket", b)
			if c := cfg.ObjectLockConfiguration; c.ObjectLockEnabled != "Enabled" || c.Rule.DefaultRetention.Mode != "GOVERNANCE" {
				t.Fatalf("configuration %+v", c)
			}

			body := a.writeFile("f", []byte("locked bytes"))
			var put struct{ VersionId string }
			a.json(&put, "s3api", "put-object", "--bucket", b, "--key", "k", "--body", body)
			var head struct {
				ObjectLockMode            string
				ObjectLockRetainUntilDate string
			}
			a.json(&head, "s3api", "head-object", "--bucket", b, "--key", "k", "--version-id", put.VersionId)
			if head.ObjectLockMode != "GOVERNANCE" || head.ObjectLockRetainUntilDate == "" {
				t.Fatalf("head-object %+v", head)
			}
			refusedWith := func(code, what string, args ...string) {
				t.Helper()
				_, stderr, err := a.try(args...)
				if err == nil || !strings.Contains(stderr, "("+code+")") {
					t.Fatalf("%s: want %s, got %v\n%s", what, code, err, stderr)
				}
			}
			refused := func(what string, args ...string) {
				t.Helper()
				refusedWith("AccessDenied", what, args...)
			}
			refused("delete of a retained version", "s3api", "delete-object", "--bucket", b, "--key", "k", "--version-id", put.VersionId)

			// Retention: extended freely, shortened only with a bypass.
			later := time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)
			sooner := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
			a.run("s3api", "put-object-retention", "--bucket", b, "--key", "k", "--version-id", put.VersionId,
				"--retention", "Mode=GOVERNANCE,RetainUntilDate="+later)
			refused("shortening governance", "s3api", "put-object-retention", "--bucket", b, "--key", "k", "--version-id", put.VersionId,
				"--retention", "Mode=GOVERNANCE,RetainUntilDate="+sooner)
			a.run("s3api", "put-object-retention", "--bucket", b, "--key", "k", "--version-id", put.VersionId,
				"--retention", "Mode=GOVERNANCE,RetainUntilDate="+sooner, "--bypass-governance-retention")
			var ret struct {
				Retention struct{ Mode, RetainUntilDate string }
			}
			a.json(&ret, "s3api", "get-object-retention", "--bucket", b, "--key", "k", "--version-id", put.VersionId)
			if got, err := time.Parse(time.RFC3339, ret.Retention.RetainUntilDate); err != nil || got.Format(time.RFC3339) != sooner {
				t.Fatalf("get-object-retention %+v (%v), want %s", ret.Retention, err, sooner)
			}

			// A legal hold beats the bypass; released, the bypass works.
			a.run("s3api", "put-object-legal-hold", "--bucket", b, "--key", "k", "--version-id", put.VersionId, "--legal-hold", "Status=ON")
			var hold struct{ LegalHold struct{ Status string } }
			a.json(&hold, "s3api", "get-object-legal-hold", "--bucket", b, "--key", "k", "--version-id", put.VersionId)
			if hold.LegalHold.Status != "ON" {
				t.Fatalf("legal hold %+v", hold)
			}
			refused("delete of a held version", "s3api", "delete-object", "--bucket", b, "--key", "k", "--version-id", put.VersionId,
				"--bypass-governance-retention")
			refusedWith("BucketNotEmpty", "delete-bucket of a bucket with a locked version", "s3api", "delete-bucket", "--bucket", b)
			a.run("s3api", "put-object-legal-hold", "--bucket", b, "--key", "k", "--version-id", put.VersionId, "--legal-hold", "Status=OFF")
			a.run("s3api", "delete-object", "--bucket", b, "--key", "k", "--version-id", put.VersionId, "--bypass-governance-retention")
			// (An empty listing prints nothing.)
			if out := a.run("s3api", "list-object-versions", "--bucket", b, "--output", "json"); strings.Contains(out, "VersionId") {
				t.Fatalf("versions left: %s", out)
			}
			a.run("s3api", "delete-bucket", "--bucket", b)
		})
	}
}

// restic backs up into a bucket with Object Lock and a default retention
// (every pack it writes is retained), checks the repository and restores
// it; its files cannot be removed while retained.
func TestObjectLockRestic(t *testing.T) {
	t.Parallel()
	restic, err := exec.LookPath("restic")
	requireClient(t, err == nil, "restic")
	s := startServer(t)
	clis := findAWSCLIs()
	requireClient(t, len(clis) > 0, "the aws CLI")
	a := &awsRunner{t: t, cli: clis[0], s: s, env: clientEnv(t, s), dir: t.TempDir()}
	b := bucketName(t, "restic-lock")
	a.run("s3api", "create-bucket", "--bucket", b, "--object-lock-enabled-for-bucket")
	a.run("s3api", "put-object-lock-configuration", "--bucket", b, "--object-lock-configuration",
		`{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","Days":1}}}`)

	src := t.TempDir()
	for i, name := range []string{"a.txt", "dir/b.bin", "dir/sub/c.txt"} {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, randBytes(uint64(i+1), 1000+i*300_000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := append(clientEnv(t, s),
		"RESTIC_REPOSITORY=s3:"+s.URL()+"/"+b,
		"RESTIC_PASSWORD=forkstore-restic-test",
		"RESTIC_CACHE_DIR="+t.TempDir(),
		"HOME="+t.TempDir(),
	)
	run := func(args ...string) string {
		t.Helper()
		return runClient(t, env, a.dir, 3*time.Minute, restic, args...)
	}
	run("init")
	run("backup", src)
	run("check", "--read-data")
	dst := t.TempDir()
	run("restore", "latest", "--target", dst)
	for _, name := range []string{"a.txt", "dir/b.bin", "dir/sub/c.txt"} {
		want, _ := os.ReadFile(filepath.Join(src, name))
		got, err := os.ReadFile(filepath.Join(dst, src, name))
		if err != nil {
			t.Fatal(err)
		}
		sameBytes(t, "restored "+name, got, want)
	}
	// Every object restic wrote is retained: its versions cannot go.
	var vs struct {
		Versions []struct{ Key, VersionId string }
	}
	a.json(&vs, "s3api", "list-object-versions", "--bucket", b)
	if len(vs.Versions) == 0 {
		t.Fatal("restic wrote nothing")
	}
	for _, v := range vs.Versions[:1] {
		var head struct{ ObjectLockMode string }
		a.json(&head, "s3api", "head-object", "--bucket", b, "--key", v.Key, "--version-id", v.VersionId)
		if head.ObjectLockMode != "COMPLIANCE" {
			t.Fatalf("%s: lock %+v", v.Key, head)
		}
		_, stderr, err := a.try("s3api", "delete-object", "--bucket", b, "--key", v.Key, "--version-id", v.VersionId, "--bypass-governance-retention")
		if err == nil || !strings.Contains(stderr, "AccessDenied") {
			t.Fatalf("delete of a retained restic file: %v\n%s", err, stderr)
		}
	}
	t.Logf("restic wrote %d versions, retained", len(vs.Versions))
}

// The x-amz-object-lock-* headers are validated (InvalidArgument), and a
// scoped key, even one that may write the bucket, cannot bypass
// GOVERNANCE retention (AccessDenied) while the root key can.
func TestObjectLockHeadersAndBypass(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	b := bucketName(t, "lock-hdr")
	if err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		t.Fatal(describe(err))
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	rc := raw{t, s}
	for _, h := range []http.Header{
		{"X-Amz-Object-Lock-Mode": {"GOVERNANCE"}},
		{"X-Amz-Object-Lock-Retain-Until-Date": {future}},
		{"X-Amz-Object-Lock-Mode": {"FOREVER"}, "X-Amz-Object-Lock-Retain-Until-Date": {future}},
		{"X-Amz-Object-Lock-Mode": {"GOVERNANCE"}, "X-Amz-Object-Lock-Retain-Until-Date": {"tomorrow"}},
		{"X-Amz-Object-Lock-Mode": {"GOVERNANCE"}, "X-Amz-Object-Lock-Retain-Until-Date": {past}},
		{"X-Amz-Object-Lock-Legal-Hold": {"MAYBE"}},
	} {
		h.Set("Content-Md5", "ndTkYSaMgDT1yFZOFVxnpg==")
		if r := rc.do(http.MethodPut, "/"+b+"/bad", nil, h, []byte("x")); r.Status != http.StatusBadRequest || r.Err.Code != "InvalidArgument" {
			t.Fatalf("PUT with %v: %s", h, r)
		}
	}
	// Without Content-MD5 or a checksum, a write with lock headers is
	// refused (a signed body is not a checksum the client asked for).
	h := http.Header{"X-Amz-Object-Lock-Legal-Hold": {"ON"}}
	if r := rc.do(http.MethodPut, "/"+b+"/bare", nil, h, []byte("x")); r.Status != http.StatusBadRequest || r.Err.Code != "InvalidRequest" {
		t.Fatalf("PUT with a legal hold and no Content-MD5: %s", r)
	}

	body := []byte("governed")
	info, err := c.PutObject(ctx, b, "k", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
		Mode: minio.Governance, RetainUntilDate: time.Now().Add(time.Hour), SendContentMd5: true})
	if err != nil {
		t.Fatal(describe(err))
	}
	st, err := c.StatObject(ctx, b, "k", minio.StatObjectOptions{VersionID: info.VersionID})
	if err != nil || st.Metadata.Get("X-Amz-Object-Lock-Mode") != "GOVERNANCE" {
		t.Fatalf("HEAD: %v %v", st.Metadata, err)
	}
	var k struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
	}
	out := mustCLI(t, s, "key", "create", "--bucket", b, "--json")
	if err := json.Unmarshal([]byte(out), &k); err != nil {
		t.Fatalf("key create: %v %s", err, out)
	}
	scoped := newClient(t, s, withCreds(k.AccessKeyID, k.SecretAccessKey))
	err = scoped.RemoveObject(ctx, b, "k", minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true})
	wantCode(t, "bypass with a scoped key", err, "AccessDenied")
	err = scoped.RemoveObject(ctx, b, "k", minio.RemoveObjectOptions{VersionID: info.VersionID})
	wantCode(t, "delete of a retained version with a scoped key", err, "AccessDenied")
	if err := c.RemoveObject(ctx, b, "k", minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true}); err != nil {
		t.Fatalf("bypass with the root key: %s", describe(err))
	}
}
