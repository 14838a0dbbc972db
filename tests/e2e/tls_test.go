//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/forkstore/forkstore/gateway/certs/certstest"
	"github.com/forkstore/forkstore/tests/harness"
)

// tlsServer starts a server with a certificate for 127.0.0.1 and localhost
// from a CA made for the test. It returns the server and the CA's PEM file.
func tlsServer(t *testing.T, opts ...harness.Option) (*harness.Server, *certstest.CA, string) {
	t.Helper()
	if os.Getenv("FORKSTORE_E2E_ENDPOINT") != "" {
		t.Skip("needs a server started by the harness")
	}
	dir := t.TempDir()
	ca := certstest.NewCA(t, "forkstore e2e CA")
	leaf := ca.Issue(t, "127.0.0.1", "localhost").WriteFiles(t, dir, "node")
	caFile := filepath.Join(dir, "ca.pem")
	certstest.WriteFile(t, caFile, ca.PEM)
	s := startServer(t, append(opts, harness.WithTLS(leaf.CertFile, leaf.KeyFile, ca.PEM))...)
	return s, ca, caFile
}

// tlsMinio is a minio-go client over HTTPS trusting roots (nil: the
// system's).
func tlsMinio(t *testing.T, s *harness.Server, roots *x509.CertPool) *minio.Client {
	t.Helper()
	tr, err := minio.DefaultTransport(true)
	if err != nil {
		t.Fatal(err)
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	c, err := minio.New(s.S3Addr, &minio.Options{
		Creds:     credentials.NewStaticV4(s.User(), s.Password(), ""),
		Secure:    true,
		Transport: tr,
		Region:    s.Region(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// S3 and the admin API over HTTPS with a private CA: minio-go with the CA
// as root, the aws CLI with --ca-bundle and AWS_CA_BUNDLE, boto3 with
// verify=, the forkstore CLI with --ca-bundle and AWS_CA_BUNDLE, and a
// metrics scrape; each refuses the certificate without the CA.
func TestTLS(t *testing.T) {
	t.Parallel()
	const token = "tls-metrics-token"
	s, ca, caFile := tlsServer(t, harness.WithEnv("FORKSTORE_METRICS_TOKEN="+token))
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL %s", s.URL())
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.PEM)

	t.Run("minio-go", func(t *testing.T) {
		t.Parallel()
		if _, err := tlsMinio(t, s, nil).ListBuckets(testCtx(t)); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("minio-go without the CA: %v, want a certificate error", err)
		}
		c := tlsMinio(t, s, roots)
		b := bucketName(t, "tls-minio")
		makeBucket(t, c, b)
		body := randBytes(11, 9<<20) // several chunks, streamed back over TLS
		putBytes(t, c, b, "big", body, minio.PutObjectOptions{})
		sameBytes(t, "GET over TLS", getBytes(t, c, b, "big", minio.GetObjectOptions{}), body)
		rng := minio.GetObjectOptions{}
		rng.SetRange(5<<20-3, 5<<20+3)
		sameBytes(t, "ranged GET over TLS", getBytes(t, c, b, "big", rng), body[5<<20-3:5<<20+4])
		u, err := c.PresignedGetObject(testCtx(t), b, "big", time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.HTTPClient(time.Minute).Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		got.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(u.String(), "https://") {
			t.Errorf("presigned GET over TLS: %s %s", u, resp.Status)
		}
		sameBytes(t, "presigned GET over TLS", got.Bytes(), body)
	})

	t.Run("aws CLI", func(t *testing.T) {
		t.Parallel()
		clis := findAWSCLIs()
		requireClient(t, len(clis) > 0, "the aws CLI")
		for _, cli := range clis {
			t.Run(cli.label, func(t *testing.T) {
				t.Parallel()
				a := &awsRunner{t: t, cli: cli, s: s, env: clientEnv(t, s), dir: t.TempDir()}
				b := bucketName(t, "tls-aws-"+cli.label)
				// Without the CA (and without retries): refused.
				env := a.env
				a.env = append(env, "AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard")
				if _, errOut, err := a.try("s3", "ls"); err == nil || !strings.Contains(strings.ToLower(errOut), "certificate") {
					t.Errorf("without --ca-bundle: %v %q, want a certificate error", err, tail(errOut, 500))
				}
				a.env = env
				body := randBytes(12, 9<<20)
				src := a.writeFile("src.bin", body)
				a.run("--ca-bundle", caFile, "s3", "mb", "s3://"+b)
				a.run("--ca-bundle", caFile, "s3", "cp", src, "s3://"+b+"/big.bin")
				// AWS_CA_BUNDLE instead of the flag.
				a.env = append(a.env, "AWS_CA_BUNDLE="+caFile)
				a.run("s3", "cp", "s3://"+b+"/big.bin", a.path("back.bin"))
				sameBytes(t, "s3 cp over TLS", a.readFile("back.bin"), body)
			})
		}
	})

	t.Run("boto3", func(t *testing.T) {
		t.Parallel()
		py := findPython()
		requireClient(t, py != "", "python3 with boto3")
		env := append(clientEnv(t, s), "FORKSTORE_CA_BUNDLE="+caFile, "FORKSTORE_BUCKET="+bucketName(t, "tls-boto3"))
		script := filepath.Join(clientsDir(t), "tls", "boto3_tls.py")
		if out, errOut, err := tryClient(t, env, t.TempDir(), 5*time.Minute, py, script); err != nil {
			t.Errorf("%s: %v\n%s\n%s", script, err, tail(out, 2000), tail(errOut, 4000))
		}
	})

	t.Run("forkstore CLI", func(t *testing.T) {
		t.Parallel()
		c := tlsMinio(t, s, roots)
		b := bucketName(t, "tls-cli")
		makeBucket(t, c, b)
		env := []string{"FORKSTORE_ENDPOINT=" + s.URL(), "AWS_ACCESS_KEY_ID=" + s.User(), "AWS_SECRET_ACCESS_KEY=" + s.Password()}
		r := forkstoreCLIEnv(t, env, "snapshot", "list", b)
		if exitCode(t, r) != 1 || !strings.Contains(r.Stderr, "--ca-bundle") {
			t.Errorf("without a CA bundle: exit %d, %q; want a hint naming --ca-bundle", exitCode(t, r), r.Stderr)
		}
		r = forkstoreCLIEnv(t, env, "snapshot", "create", b, "--name", "over-tls", "--ca-bundle", caFile, "--json")
		var sn adminSnapshot
		if err := json.Unmarshal([]byte(r.Stdout), &sn); exitCode(t, r) != 0 || err != nil || sn.Name != "over-tls" {
			t.Errorf("snapshot create --ca-bundle: exit %d %v\n%s%s", exitCode(t, r), err, r.Stdout, r.Stderr)
		}
		r = forkstoreCLIEnv(t, append(env, "AWS_CA_BUNDLE="+caFile), "snapshot", "list", b)
		if exitCode(t, r) != 0 || !strings.Contains(r.Stdout, "over-tls") {
			t.Errorf("snapshot list with AWS_CA_BUNDLE: exit %d\n%s%s", exitCode(t, r), r.Stdout, r.Stderr)
		}
		plain := []string{"FORKSTORE_ENDPOINT=http://" + s.S3Addr, "AWS_ACCESS_KEY_ID=" + s.User(), "AWS_SECRET_ACCESS_KEY=" + s.Password()}
		r = forkstoreCLIEnv(t, plain, "snapshot", "list", b)
		if exitCode(t, r) != 1 || !strings.Contains(r.Stderr, "https://") {
			t.Errorf("http:// against the TLS port: exit %d, %q; want a hint naming https://", exitCode(t, r), r.Stderr)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		t.Parallel()
		req, _ := http.NewRequestWithContext(testCtx(t), http.MethodGet, s.URL()+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := s.HTTPClient(time.Minute).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("scrape over TLS: %s", resp.Status)
		}
	})

	t.Run("plain HTTP to the HTTPS port", func(t *testing.T) {
		t.Parallel()
		// As curl http://... sends it: a 400 with a hint, not an empty reply.
		resp, err := http.Get("http://" + s.S3Addr + "/health/live")
		if err != nil {
			t.Fatalf("plain HTTP to the HTTPS port: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "https://") {
			t.Errorf("plain HTTP to the HTTPS port: %s %q", resp.Status, body)
		}
	})

	t.Run("rclone", func(t *testing.T) {
		t.Parallel()
		rclone := lookTool(t, "rclone")
		b := bucketName(t, "tls-rclone")
		makeBucket(t, tlsMinio(t, s, roots), b)
		env := rcloneEnv(t, s, s.User(), s.Password())
		// docs/cli.md: rclone refuses to start with AWS_CA_BUNDLE set...
		if out, errOut, err := toolOutput(t, append(env, "AWS_CA_BUNDLE="+caFile), rclone, "lsf", "fs:"+b); err == nil {
			t.Logf("rclone ran with AWS_CA_BUNDLE set (a newer rclone?): %s%s", out, errOut)
		}
		// ...and takes the CA with --ca-cert.
		src := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(src, []byte("over tls"), 0o600); err != nil {
			t.Fatal(err)
		}
		runTool(t, env, rclone, "--ca-cert", caFile, "copyto", src, "fs:"+b+"/f")
		if got := runTool(t, env, rclone, "--ca-cert", caFile, "cat", "fs:"+b+"/f"); got != "over tls" {
			t.Errorf("rclone cat over TLS: %q", got)
		}
	})
}

// SIGHUP reloads the certificate: new connections get the new one while a
// keep-alive connection opened before goes on serving requests; a broken
// certificate is refused and the one in use stays.
func TestTLSReload(t *testing.T) {
	t.Parallel()
	s, ca, _ := tlsServer(t)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.PEM)
	dial := func() *tls.Conn {
		t.Helper()
		c, err := tls.Dial("tcp", s.S3Addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatalf("TLS dial: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	serial := func(c *tls.Conn) string { return c.ConnectionState().PeerCertificates[0].SerialNumber.String() }
	live := func(c *tls.Conn, r *bufio.Reader) {
		t.Helper()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write([]byte("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")); err != nil {
			t.Fatalf("writing on the kept connection: %v", err)
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("reading on the kept connection: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /health/live: %s", resp.Status)
		}
	}

	old := dial()
	oldR := bufio.NewReader(old)
	live(old, oldR)
	before := serial(old)

	// Replace the certificate and key files (new key, new serial) and
	// send SIGHUP.
	next := ca.Issue(t, "127.0.0.1", "localhost")
	certDir := filepath.Dir(s.TLSCertFile())
	certstest.WriteFile(t, filepath.Join(certDir, "node.pem"), next.CertPEM)
	certstest.WriteFile(t, filepath.Join(certDir, "node-key.pem"), next.KeyPEM)
	s.Signal(syscall.SIGHUP)
	harness.WaitFor(t, 30*time.Second, "new connections to get the new certificate", func() bool {
		c := dial()
		defer c.Close()
		return serial(c) == next.Cert.SerialNumber.String()
	})
	live(old, oldR) // the connection from before the reload still serves
	live(old, oldR)
	if serial(old) != before {
		t.Error("the kept connection's certificate changed")
	}

	// A broken key: logged, the certificate in use stays.
	certstest.WriteFile(t, filepath.Join(certDir, "node-key.pem"), []byte("not a key"))
	s.Signal(syscall.SIGHUP)
	harness.WaitFor(t, 30*time.Second, "the failed reload to be logged", func() bool {
		return strings.Contains(s.LogTail(64<<10), "TLS certificate not reloaded")
	})
	if c := dial(); serial(c) != next.Cert.SerialNumber.String() {
		t.Errorf("after a failed reload the server presents serial %s, want %s", serial(c), next.Cert.SerialNumber)
	}
	live(old, oldR)
}
