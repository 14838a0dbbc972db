package s3api

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway/certs/certstest"
)

// TestPlainHTTPOnTLSPort: a plain HTTP request sent to the HTTPS port is
// answered 400 with a short plain-text hint (as nginx does), not an
// empty reply; the port still serves TLS clients afterwards.
func TestPlainHTTPOnTLSPort(t *testing.T) {
	ca := certstest.NewCA(t, "plain http CA")
	issued := ca.Issue(t, "127.0.0.1")
	cert, err := tls.X509KeyPair(issued.CertPEM, issued.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	_, addr, _ := servedTestServer(t, func(c *Config) {
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}, nil)

	for _, line := range []string{"GET /health/live", "PUT /bucket/key", "HEAD /bucket", "DELETE /bucket/key"} {
		c := dial(t, addr)
		if _, err := c.Write([]byte(line + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: curl/8\r\nContent-Length: 0\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, body := readResponse(t, br)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s over plain HTTP: status %d, want 400", line, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("%s: Content-Type %q, want text/plain", line, ct)
		}
		if !strings.Contains(string(body), "HTTPS") || !strings.Contains(string(body), "https://") {
			t.Errorf("%s: body %q does not say the port speaks HTTPS", line, body)
		}
		wantClosed(t, br, 5*time.Second)
	}

	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + addr + "/health/live")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("TLS client after plain HTTP: status %d", resp.StatusCode)
	}
}
