package certs_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/forkstore/forkstore/gateway/certs"
	"github.com/forkstore/forkstore/gateway/certs/certstest"
)

// A TLS listener serving the Reloader's certificate: a reload changes the
// certificate new connections get, a connection opened before keeps
// working, and a failed reload keeps the certificate in use.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	ca := certstest.NewCA(t, "test CA")
	first := ca.Issue(t, "127.0.0.1", "localhost").WriteFiles(t, dir, "node")
	r, err := certs.Load(first.CertFile, first.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if r.Certificate().Leaf.SerialNumber.Cmp(first.Cert.SerialNumber) != 0 {
		t.Fatal("Load: wrong certificate")
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", r.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	dial := func() *tls.Conn {
		t.Helper()
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	get := func(c *tls.Conn) {
		t.Helper()
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request on a connection: %v", err)
		}
		resp.Body.Close()
	}
	served := func(c *tls.Conn) *x509.Certificate { return c.ConnectionState().PeerCertificates[0] }

	old := dial()
	get(old)
	second := ca.Issue(t, "127.0.0.1", "localhost").WriteFiles(t, dir, "node")
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if c := dial(); served(c).SerialNumber.Cmp(second.Cert.SerialNumber) != 0 {
		t.Errorf("a new connection after the reload got serial %v, want %v", served(c).SerialNumber, second.Cert.SerialNumber)
	}
	get(old) // the connection from before the reload still serves requests
	get(old)
	if served(old).SerialNumber.Cmp(first.Cert.SerialNumber) != 0 {
		t.Error("the old connection changed certificates")
	}

	// A broken key file: the reload fails, the certificate stays.
	os.WriteFile(filepath.Join(dir, "node-key.pem"), []byte("not a key"), 0o600)
	if err := r.Reload(); err == nil {
		t.Fatal("reloading a broken key succeeded")
	}
	if c := dial(); served(c).SerialNumber.Cmp(second.Cert.SerialNumber) != 0 {
		t.Error("a failed reload changed the certificate")
	}
	if _, err := certs.Load(filepath.Join(dir, "missing.pem"), first.KeyFile); err == nil {
		t.Error("loading a missing file succeeded")
	}
	if _, err := certs.Load(first.CertFile, ""); err == nil {
		t.Error("loading without a key file succeeded")
	}
}
