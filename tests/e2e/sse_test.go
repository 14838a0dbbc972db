//go:build e2e

package e2e

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
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
	s, ca, caFile := tlsServer(t, harness.WithEnv("FORKSTORE_KMS_KEY="+base64.StdEncoding.EncodeToString(master)),
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

	// Rotation: a new key first, the old one after it, over a restart:
	// old objects stay readable and new ones use the new key; once the old
	// key is removed, only its objects fail (a server error, not wrong
	// bytes).
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.PEM)
	mc := tlsMinio(t, s, roots)
	ctx := testCtx(t)
	if err := mc.MakeBucket(ctx, "sse-rotate", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	putSSE := func(key string, body []byte) {
		t.Helper()
		if _, err := mc.PutObject(ctx, "sse-rotate", key, bytes.NewReader(body), int64(len(body)),
			minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()}); err != nil {
			t.Fatalf("PUT %s: %v", key, err)
		}
	}
	getBody := func(key string) ([]byte, error) {
		o, err := mc.GetObject(ctx, "sse-rotate", key, minio.GetObjectOptions{})
		if err != nil {
			return nil, err
		}
		defer o.Close()
		return io.ReadAll(o)
	}
	oldBody := bytes.Repeat([]byte(secret), 5000)
	putSSE("old", oldBody)
	newKey := make([]byte, 32)
	rand.Read(newKey)
	b64 := base64.StdEncoding.EncodeToString
	s.RestartWith(harness.WithEnv("FORKSTORE_KMS_KEY=" + b64(newKey) + "," + b64(master)))
	if got, err := getBody("old"); err != nil || !bytes.Equal(got, oldBody) {
		t.Fatalf("GET after rotation, old key still listed: %v", err)
	}
	newBody := []byte("written under the new key")
	putSSE("new", newBody)
	s.RestartWith(harness.WithEnv("FORKSTORE_KMS_KEY=" + b64(newKey)))
	if got, err := getBody("new"); err != nil || !bytes.Equal(got, newBody) {
		t.Fatalf("GET of an object of the new key: %v", err)
	}
	tr, err := minio.DefaultTransport(true)
	if err != nil {
		t.Fatal(err)
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	mc1, err := minio.New(s.S3Addr, &minio.Options{Creds: credentials.NewStaticV4(s.User(), s.Password(), ""),
		Secure: true, Transport: tr, Region: s.Region(), MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	o, err := mc1.GetObject(ctx, "sse-rotate", "old", minio.GetObjectOptions{})
	if err == nil {
		_, err = io.ReadAll(o)
		o.Close()
	}
	if code := minio.ToErrorResponse(err).Code; code != "InternalError" {
		t.Fatalf("GET of an object whose master key was removed: %v (code %q), want InternalError", err, code)
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
	// SSE-C over plain HTTP is refused, as on AWS, before anything else.
	ck := bytes.Repeat([]byte{7}, 32)
	sum := md5.Sum(ck)
	r = c.do("PUT", "/nokms/ssec", nil, http.Header{
		"X-Amz-Server-Side-Encryption-Customer-Algorithm": {"AES256"},
		"X-Amz-Server-Side-Encryption-Customer-Key":       {base64.StdEncoding.EncodeToString(ck)},
		"X-Amz-Server-Side-Encryption-Customer-Key-Md5":   {base64.StdEncoding.EncodeToString(sum[:])},
	}, []byte("secret"))
	wantErr(t, "SSE-C over plain HTTP", r, 400, "InvalidRequest")
}
