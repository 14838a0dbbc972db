//go:build e2e

package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
)

// Encryption at rest on one HTTPS server with a master key: the boto3
// script tests/clients/sse/boto3_sse.py (SSE-S3, bucket default
// encryption, SSE-C, copies between modes, range reads, a fork reading an
// inherited encrypted object), the aws CLI, and then the chunk files on
// disk: they hold the marker of a plaintext object but never the marker
// every encrypted body carries.
func TestSSE(t *testing.T) {
	t.Parallel()
	if os.Getenv("FORKSTORE_E2E_ENDPOINT") != "" {
		t.Skip("needs a server started by the harness")
	}
	py := findPython()
	requireClient(t, py != "", "python3 with boto3")
	master := make([]byte, 32)
	rand.Read(master)
	marker := func(what string) string {
		b := make([]byte, 8)
		rand.Read(b)
		return "FORKSTORE-" + what + "-" + hex.EncodeToString(b) + "|"
	}
	secret, plain := marker("SECRET"), marker("PLAIN")
	dataDir := t.TempDir()
	s, _, caFile := tlsServer(t, harness.WithEnv("FORKSTORE_KMS_KEY="+base64.StdEncoding.EncodeToString(master)),
		harness.WithDataDir(dataDir))

	t.Run("boto3", func(t *testing.T) {
		env := append(clientEnv(t, s), "AWS_CA_BUNDLE="+caFile, "FORKSTORE_BUCKET="+bucketName(t, "sse-boto3"),
			"FORKSTORE_SSE_SECRET="+secret, "FORKSTORE_SSE_PLAIN="+plain)
		script := filepath.Join(clientsDir(t), "sse", "boto3_sse.py")
		out, errOut, err := tryClient(t, env, filepath.Dir(script), 5*time.Minute, py, script)
		if err != nil {
			t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", script, err, tail(out, 4000), tail(errOut, 8000))
		}
		t.Logf("%s", strings.TrimSpace(out))
	})
	t.Run("awscli", func(t *testing.T) {
		clis := findAWSCLIs()
		requireClient(t, len(clis) > 0, "the aws CLI")
		for _, cli := range clis {
			t.Run(cli.label, func(t *testing.T) { sseAWSCLI(t, s, cli, caFile, secret) })
		}
	})

	// The chunk files: the plaintext object's marker is there (the scan
	// works), the encrypted bodies' marker is not.
	var foundPlain, foundSecret []string
	var files int
	err := filepath.WalkDir(filepath.Join(dataDir, "chunks"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		if bytes.Contains(b, []byte(plain)) {
			foundPlain = append(foundPlain, p)
		}
		if bytes.Contains(b, []byte(secret)) {
			foundSecret = append(foundSecret, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(foundPlain) == 0 {
		t.Fatalf("the plaintext object's marker is in none of %d chunk files: the scan proves nothing", files)
	}
	if len(foundSecret) > 0 {
		t.Fatalf("plaintext of encrypted objects on disk in %v", foundSecret)
	}
}

// sseAWSCLI: put-object/cp with --sse AES256, head-object and a ranged
// get-object reporting it, put/get/delete-bucket-encryption.
func sseAWSCLI(t *testing.T, s *harness.Server, cli awsCLI, caFile, secret string) {
	a := &awsRunner{t: t, cli: cli, s: s, env: append(clientEnv(t, s), "AWS_CA_BUNDLE="+caFile), dir: t.TempDir()}
	b := bucketName(t, "sse-aws-"+cli.label)
	a.run("s3api", "create-bucket", "--bucket", b)
	data := []byte(strings.Repeat(secret, 300<<10/len(secret)))
	src := a.writeFile("src", data)

	var put struct{ ServerSideEncryption string }
	a.json(&put, "s3api", "put-object", "--bucket", b, "--key", "k", "--body", src, "--server-side-encryption", "AES256")
	if put.ServerSideEncryption != "AES256" {
		t.Fatalf("put-object: ServerSideEncryption %q", put.ServerSideEncryption)
	}
	var head struct {
		ServerSideEncryption string
		ContentLength        int64
	}
	a.json(&head, "s3api", "head-object", "--bucket", b, "--key", "k")
	if head.ServerSideEncryption != "AES256" || head.ContentLength != int64(len(data)) {
		t.Fatalf("head-object %+v", head)
	}
	var get struct{ ServerSideEncryption, ContentRange string }
	a.json(&get, "s3api", "get-object", "--bucket", b, "--key", "k", "--range", "bytes=65530-131080", a.path("range"))
	if got := a.readFile("range"); !bytes.Equal(got, data[65530:131081]) || get.ServerSideEncryption != "AES256" {
		t.Fatalf("ranged get-object: %d bytes, SSE %q", len(got), get.ServerSideEncryption)
	}
	a.run("s3", "cp", "--sse", "AES256", src, "s3://"+b+"/cp")
	a.run("s3", "cp", "s3://"+b+"/cp", a.path("back"))
	if !bytes.Equal(a.readFile("back"), data) {
		t.Fatal("aws s3 cp --sse round trip changed the bytes")
	}

	_, stderr, err := a.try("s3api", "get-bucket-encryption", "--bucket", b)
	if err == nil || !strings.Contains(stderr, "ServerSideEncryptionConfigurationNotFoundError") {
		t.Fatalf("get-bucket-encryption without one: %v %s", err, stderr)
	}
	a.run("s3api", "put-bucket-encryption", "--bucket", b, "--server-side-encryption-configuration",
		`{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}`)
	var cfg struct {
		ServerSideEncryptionConfiguration struct {
			Rules []struct{ ApplyServerSideEncryptionByDefault struct{ SSEAlgorithm string } }
		}
	}
	a.json(&cfg, "s3api", "get-bucket-encryption", "--bucket", b)
	if r := cfg.ServerSideEncryptionConfiguration.Rules; len(r) != 1 || r[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != "AES256" {
		t.Fatalf("get-bucket-encryption %+v", cfg)
	}
	a.run("s3", "cp", src, "s3://"+b+"/by-default")
	a.json(&head, "s3api", "head-object", "--bucket", b, "--key", "by-default")
	if head.ServerSideEncryption != "AES256" {
		t.Fatalf("object written under default encryption: %+v", head)
	}
	a.run("s3api", "delete-bucket-encryption", "--bucket", b)
	_, stderr, err = a.try("s3api", "get-bucket-encryption", "--bucket", b)
	if err == nil || !strings.Contains(stderr, "ServerSideEncryptionConfigurationNotFoundError") {
		t.Fatalf("get-bucket-encryption after delete: %v %s", err, stderr)
	}
}

// Without a master key, SSE-S3 requests are refused with a clear error
// and nothing is stored; a plain PUT still works.
func TestSSEWithoutMasterKey(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := raw{t, s}
	if r := c.do("PUT", "/nokms", nil, nil, nil); r.Status != 200 {
		t.Fatalf("create bucket: %s", r)
	}
	hdr := http.Header{"X-Amz-Server-Side-Encryption": {"AES256"}}
	r := c.do("PUT", "/nokms/k", nil, hdr, []byte("secret"))
	wantErr(t, "PUT with SSE-S3 and no master key", r, 400, "InvalidArgument")
	if !strings.Contains(string(r.Body), "master key") {
		t.Fatalf("error message does not say why: %s", r.Body)
	}
	if r := c.do("GET", "/nokms/k", nil, nil, nil); r.Status != 404 {
		t.Fatalf("refused object stored anyway: %s", r)
	}
	r = c.do("PUT", "/nokms", url.Values{"encryption": {""}}, nil,
		[]byte(`<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`))
	wantErr(t, "PutBucketEncryption with no master key", r, 400, "InvalidArgument")
	if r := c.do("PUT", "/nokms/plain", nil, nil, []byte("x")); r.Status != 200 {
		t.Fatalf("plain PUT: %s", r)
	}
}
