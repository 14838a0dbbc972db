//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
)

// Tools that are not SDKs (rclone, s3cmd), on one server: what they send
// that the SDKs do not (rclone's CreateBucket check of the bucket it
// writes), and the way they read a snapshot (a snapshot view, since they
// cannot sign the X-Tigris-Snapshot-Version header).
func TestTools(t *testing.T) {
	s := startServer(t)
	c := newClient(t, s)
	ctx := testCtx(t)

	t.Run("RcloneCopytoWithScopedKey", func(t *testing.T) {
		rclone := lookTool(t, "rclone")
		b := bucketName(t, "sk-data")
		makeBucket(t, c, b)
		id, secret := scopedKey(t, s, b)
		src := filepath.Join(t.TempDir(), "file")
		body := randBytes(17, 3000)
		if err := os.WriteFile(src, body, 0o600); err != nil {
			t.Fatal(err)
		}
		// No --s3-no-check-bucket: rclone sends CreateBucket first.
		runTool(t, rcloneEnv(t, s, id, secret), rclone, "copyto", src, "fs:"+b+"/x")
		sameBytes(t, "object written by rclone", getBytes(t, c, b, "x", minio.GetObjectOptions{}), body)
		got := runTool(t, rcloneEnv(t, s, id, secret), rclone, "cat", "fs:"+b+"/x")
		sameBytes(t, "rclone cat", []byte(got), body)
	})

	t.Run("ConfigurationProbesOfMinioGo", func(t *testing.T) {
		// minio-go (and so mc) adds withUpdatedAt=true to ?lifecycle: a
		// read of a configuration is never 501 for an extra parameter.
		b := bucketName(t, "probes")
		makeBucket(t, c, b)
		_, err := c.GetBucketLifecycle(ctx, b)
		wantCode(t, "GetBucketLifecycle", err, "NoSuchLifecycleConfiguration")
		_, err = c.GetBucketEncryption(ctx, b)
		wantCode(t, "GetBucketEncryption", err, "ServerSideEncryptionConfigurationNotFoundError")
		_, _, _, _, err = c.GetObjectLockConfig(ctx, b)
		wantCode(t, "GetObjectLockConfig", err, "ObjectLockConfigurationNotFoundError")
		if _, err := c.GetBucketPolicy(ctx, b); err != nil {
			t.Errorf("GetBucketPolicy: %v", describe(err))
		}
		if _, err := c.GetBucketVersioning(ctx, b); err != nil {
			t.Errorf("GetBucketVersioning: %v", describe(err))
		}
	})

	t.Run("SnapshotViewReadByTools", func(t *testing.T) {
		rclone := lookTool(t, "rclone")
		s3cmd := lookTool(t, "s3cmd")
		b := bucketName(t, "views")
		makeBucket(t, c, b)
		putBytes(t, c, b, "a.txt", []byte("snapshot a"), minio.PutObjectOptions{})
		putBytes(t, c, b, "dir/b.txt", []byte("snapshot b"), minio.PutObjectOptions{})
		mustCLI(t, s, "snapshot", "create", b, "--name", "s1")
		putBytes(t, c, b, "a.txt", []byte("current a"), minio.PutObjectOptions{})
		putBytes(t, c, b, "late.txt", []byte("late"), minio.PutObjectOptions{})
		view := b + "-s1"
		mustCLI(t, s, "snapshot", "mount", b, "s1", "--as", view)

		cfg := s3cmdConfig(t, s, s.User(), s.Password())
		ls := runTool(t, nil, s3cmd, "-c", cfg, "ls", "--recursive", "s3://"+view+"/")
		if !strings.Contains(ls, "s3://"+view+"/a.txt") || !strings.Contains(ls, "s3://"+view+"/dir/b.txt") || strings.Contains(ls, "late.txt") {
			t.Fatalf("s3cmd ls of the view:\n%s", ls)
		}
		dst := filepath.Join(t.TempDir(), "a.txt")
		runTool(t, nil, s3cmd, "-c", cfg, "get", "s3://"+view+"/a.txt", dst)
		if got, err := os.ReadFile(dst); err != nil || string(got) != "snapshot a" {
			t.Fatalf("s3cmd get from the view: %q %v", got, err)
		}
		// A write through the view is refused, and says why.
		out, errOut, err := toolOutput(t, nil, s3cmd, "-c", cfg, "put", dst, "s3://"+view+"/new.txt")
		if err == nil || !strings.Contains(out+errOut, "AccessDenied") {
			t.Fatalf("s3cmd put into the view: %v\n%s%s", err, out, errOut)
		}

		env := rcloneEnv(t, s, s.User(), s.Password())
		lsf := runTool(t, env, rclone, "lsf", "-R", "fs:"+view)
		names := strings.Fields(lsf)
		slices.Sort(names)
		if strings.Join(names, ",") != "a.txt,dir/,dir/b.txt" {
			t.Fatalf("rclone lsf of the view:\n%s", lsf)
		}
		if got := runTool(t, env, rclone, "cat", "fs:"+view+"/dir/b.txt"); got != "snapshot b" {
			t.Fatalf("rclone cat from the view: %q", got)
		}

		mustCLI(t, s, "snapshot", "unmount", view)
		if ok, err := c.BucketExists(ctx, view); err != nil || ok {
			t.Fatalf("view exists after unmount: %v %v", ok, err)
		}
		if got := string(getBytes(t, c, b, "a.txt", minio.GetObjectOptions{})); got != "current a" {
			t.Fatalf("source after unmount: %q", got)
		}
	})
}

// lookTool returns the path of a client the tests drive, skipping the
// test when it is not installed (tests/install-deps.sh installs it).
func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (tests/install-deps.sh installs it)", name)
	}
	return p
}

// scopedKey makes an access key limited to bucket and returns it.
func scopedKey(t *testing.T, s *harness.Server, bucket string) (string, string) {
	t.Helper()
	var k struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
	}
	out := mustCLI(t, s, "key", "create", "--bucket", bucket, "--json")
	if err := json.Unmarshal([]byte(out), &k); err != nil || k.SecretAccessKey == "" {
		t.Fatalf("key create: %v %s", err, out)
	}
	return k.AccessKeyID, k.SecretAccessKey
}

// rcloneEnv configures the rclone remote "fs:" for s with a key, through
// environment variables only (no config file, no AWS_* variables: rclone
// refuses to start with AWS_CA_BUNDLE set).
func rcloneEnv(t *testing.T, s *harness.Server, id, secret string) []string {
	t.Helper()
	return []string{
		"HOME=" + t.TempDir(),
		"RCLONE_CONFIG=" + filepath.Join(t.TempDir(), "rclone.conf"),
		"RCLONE_CONFIG_FS_TYPE=s3",
		"RCLONE_CONFIG_FS_PROVIDER=Other",
		"RCLONE_CONFIG_FS_ENDPOINT=" + s.URL(),
		"RCLONE_CONFIG_FS_REGION=" + s.Region(),
		"RCLONE_CONFIG_FS_ACCESS_KEY_ID=" + id,
		"RCLONE_CONFIG_FS_SECRET_ACCESS_KEY=" + secret,
		"RCLONE_CONFIG_FS_FORCE_PATH_STYLE=true",
	}
}

// s3cmdConfig writes an s3cmd configuration for s (path-style, SigV4).
func s3cmdConfig(t *testing.T, s *harness.Server, id, secret string) string {
	t.Helper()
	host := strings.TrimPrefix(strings.TrimPrefix(s.URL(), "http://"), "https://")
	cfg := "[default]\naccess_key = " + id + "\nsecret_key = " + secret + "\nhost_base = " + host +
		"\nhost_bucket = " + host + "\nuse_https = " + map[bool]string{true: "True", false: "False"}[strings.HasPrefix(s.URL(), "https://")] +
		"\nbucket_location = " + s.Region() + "\nsignature_v2 = False\n"
	p := filepath.Join(t.TempDir(), "s3cfg")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// toolOutput runs a client with env added to a clean environment and
// returns its standard output and its standard error.
func toolOutput(t *testing.T, env []string, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(testCtx(t), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(cleanForkEnv(os.Environ()), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// runTool is toolOutput that fails the test when the client fails; it
// returns the standard output.
func runTool(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	out, errOut, err := toolOutput(t, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, out, errOut)
	}
	return out
}
