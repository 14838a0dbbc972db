package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// Client defaults.
const (
	defaultEndpoint = "http://127.0.0.1:9000"
	defaultRegion   = "us-east-1"
	// requestTimeout bounds each admin call (a paged listing makes several).
	requestTimeout = 60 * time.Second
	// maxAnswer caps what the client reads of one answer.
	maxAnswer = 64 << 20
)

// adminPrefix is the path of the admin API.
const adminPrefix = "/_forkstore/v1/"

// adminClient calls the admin API of one server, signing every request
// with SigV4 like an S3 request.
type adminClient struct {
	endpoint string // scheme://host[:port], no trailing slash
	access   string
	secret   string
	region   string
	http     *http.Client
}

// client builds the admin client from the global flags and the
// environment. Commands call it only when they run, so --help needs no
// credentials.
func (a *app) client() (*adminClient, error) {
	ep, err := a.endpointURL()
	if err != nil {
		return nil, err
	}
	c := &adminClient{
		endpoint: ep,
		access:   firstSet(a.accessKey, a.env("AWS_ACCESS_KEY_ID")),
		secret:   firstSet(a.secretKey, a.env("AWS_SECRET_ACCESS_KEY")),
		region:   firstSet(a.region, a.env("AWS_REGION", "AWS_DEFAULT_REGION"), defaultRegion),
	}
	if c.access == "" || c.secret == "" {
		return nil, hintError{
			err:  errors.New("no credentials"),
			hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or --access-key and --secret-key)",
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if bundle := firstSet(a.caBundle, a.env("AWS_CA_BUNDLE")); bundle != "" {
		pool, err := loadCABundle(bundle)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	c.http = &http.Client{Transport: tr}
	return c, nil
}

// endpointURL is --endpoint, FORKSTORE_ENDPOINT or the default, with
// http:// added when no scheme is given.
func (a *app) endpointURL() (string, error) {
	raw := firstSet(a.endpoint, a.env("FORKSTORE_ENDPOINT"), defaultEndpoint)
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return "", usagef("--endpoint: want http://host:port or https://host:port, got %q", raw)
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// loadCABundle reads PEM certificates, as the aws CLI's --ca-bundle: they
// replace the system's roots.
func loadCABundle(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--ca-bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca-bundle: no PEM certificate in %s", path)
	}
	return pool, nil
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// adminPath joins escaped path segments under the admin prefix:
// adminPath("buckets", b, "snapshots").
func adminPath(segments ...string) string {
	esc := make([]string, len(segments))
	for i, s := range segments {
		esc[i] = url.PathEscape(s)
	}
	return adminPrefix + strings.Join(esc, "/")
}

// do sends one signed admin request and returns the JSON answer, or an
// error that says what went wrong and what to do about it.
func (c *adminClient) do(ctx context.Context, method, path string, query url.Values, body any) (json.RawMessage, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	data, err := c.send(ctx, method, path, query, payload)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		data = []byte("{}")
	}
	if !json.Valid(data) {
		return nil, hintError{
			err:  fmt.Errorf("%s %s: the answer is not JSON", method, path),
			hint: "is " + c.endpoint + " a forkstore server?",
		}
	}
	return data, nil
}

// send sends one signed request (admin or S3) and returns the body of a
// successful answer.
func (c *adminClient) send(ctx context.Context, method, path string, query url.Values, payload []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	target := c.endpoint + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.ContentLength = int64(len(payload))
	sum := sha256.Sum256(payload)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	req = signer.SignV4(*req, c.access, c.secret, "", c.region)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &transportError{endpoint: c.endpoint, err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, &transportError{endpoint: c.endpoint, err: err}
	}
	if resp.StatusCode >= 300 {
		return nil, answerError(c.endpoint, resp, data)
	}
	return data, nil
}

// apiError is an error answer: the admin API's {"code","message"}, or an
// S3 XML error from something that is not a forkstore server.
type apiError struct {
	endpoint  string
	status    int
	code      string
	message   string
	requestID string
	foreign   bool   // not the admin API's JSON
	body      []byte // the answer as sent (some errors carry details)
}

func answerError(endpoint string, resp *http.Response, data []byte) *apiError {
	e := &apiError{endpoint: endpoint, status: resp.StatusCode, requestID: resp.Header.Get("X-Amz-Request-Id"), body: data}
	var js struct{ Code, Message string }
	var xe struct{ Code, Message string }
	switch {
	case json.Unmarshal(data, &js) == nil && js.Code != "":
		e.code, e.message = js.Code, js.Message
	case xml.Unmarshal(data, &xe) == nil && xe.Code != "":
		e.code, e.message, e.foreign = xe.Code, xe.Message, true
	default:
		e.foreign = true
	}
	return e
}

func (e *apiError) Error() string {
	if e.code == "" {
		return fmt.Sprintf("HTTP %d %s", e.status, http.StatusText(e.status))
	}
	if e.message == "" {
		return e.code
	}
	return e.code + ": " + strings.TrimSuffix(e.message, ".")
}

// Code is the S3/admin error code.
func (e *apiError) Code() string { return e.code }

func (e *apiError) Hint() string {
	switch e.code {
	case "InvalidAccessKeyId":
		return "check the access key (AWS_ACCESS_KEY_ID or --access-key)"
	case "SignatureDoesNotMatch":
		return "check the secret key (AWS_SECRET_ACCESS_KEY or --secret-key)"
	case "AuthorizationHeaderMalformed", "AuthorizationQueryParametersError":
		return "check the region (--region, AWS_REGION): sign for the server's region"
	case "RequestTimeTooSkewed":
		return "this machine's clock is too far from the server's"
	case "AccessDenied":
		return "these credentials may not do this"
	case "MergeConflict":
		return "merge with --strategy fork-wins or parent-wins, or see the keys with --dry-run"
	case "LeaseExpired":
		return "the fork is being deleted; fork its source again"
	}
	switch {
	case e.status == http.StatusBadRequest && e.foreign && bytes.Contains(e.body, []byte("speaks HTTPS")):
		// The server's answer to plain HTTP on its TLS port.
		return "the server uses TLS: use an https:// endpoint"
	case e.status == http.StatusServiceUnavailable:
		return "the server is not ready (starting, or without a Raft leader): retry in a moment; GET " + e.endpoint + "/health/ready says when it is"
	case e.foreign || e.code == "NotFound":
		return "is " + e.endpoint + " a forkstore server?"
	case e.status >= 500 && e.requestID != "":
		return "the server's log has the details under request_id=" + e.requestID
	}
	return ""
}

// transportError is a request that got no answer.
type transportError struct {
	endpoint string
	err      error
}

func (e *transportError) Error() string {
	return "no answer from " + e.endpoint + ": " + rootCause(e.err)
}

func (e *transportError) Unwrap() error { return e.err }

func (e *transportError) Hint() string {
	var (
		unknownCA  x509.UnknownAuthorityError
		hostname   x509.HostnameError
		invalid    x509.CertificateInvalidError
		dnsErr     *net.DNSError
		tlsErr     *tls.CertificateVerificationError
		recordErr  tls.RecordHeaderError
		https      = strings.HasPrefix(e.endpoint, "https://")
		plainReply = strings.Contains(e.err.Error(), "HTTP response to HTTPS client")
	)
	switch {
	case errors.As(e.err, &unknownCA):
		return "the server's certificate is not signed by a CA this client trusts: pass the CA with --ca-bundle or AWS_CA_BUNDLE"
	case errors.As(e.err, &hostname):
		return "the server's certificate does not name this host: use a host name the certificate lists"
	case errors.As(e.err, &invalid), errors.As(e.err, &tlsErr):
		return "the server's certificate is not valid here (expired, or not for serving)"
	case plainReply, errors.As(e.err, &recordErr):
		return "the server speaks plain HTTP: use an http:// endpoint"
	case https && strings.Contains(e.err.Error(), "TLS handshake timeout"):
		return "the server did not start TLS: if it speaks plain HTTP, use an http:// endpoint"
	case errors.Is(e.err, context.DeadlineExceeded):
		return fmt.Sprintf("the server did not answer within %v: is it overloaded, or paused?", requestTimeout)
	case errors.Is(e.err, syscall.ECONNREFUSED), errors.As(e.err, &dnsErr):
		return "is forkstore running there? Set the endpoint with --endpoint or FORKSTORE_ENDPOINT"
	case !https && (errors.Is(e.err, io.EOF) || errors.Is(e.err, io.ErrUnexpectedEOF) || errors.Is(e.err, syscall.ECONNRESET)):
		return "if the server uses TLS, use an https:// endpoint"
	}
	return ""
}

// rootCause drops the "Get \"url\": " prefix net/http puts on errors; the
// endpoint is already in the message.
func rootCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// hintError is an error with a hint.
type hintError struct {
	err  error
	hint string
}

func (e hintError) Error() string { return e.err.Error() }
func (e hintError) Unwrap() error { return e.err }
func (e hintError) Hint() string  { return e.hint }
