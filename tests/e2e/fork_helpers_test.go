//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// The Tigris-compatible headers of snapshots and forks.
const (
	hForkSource         = "X-Tigris-Fork-Source-Bucket"
	hForkSourceSnapshot = "X-Tigris-Fork-Source-Bucket-Snapshot"
	hSnapshot           = "X-Tigris-Snapshot"
	hSnapshotVersion    = "X-Tigris-Snapshot-Version"
	hIsForkParent       = "X-Tigris-Is-Fork-Parent"
)

// forkHeaderKey marks a context whose minio-go requests carry extra
// headers (minio-go has no way to add headers to MakeBucket, ListBuckets,
// RemoveBucket or CopyObject).
type forkHeaderKey struct{}

// withForkHeaders returns ctx whose requests carry the header pairs.
func withForkHeaders(ctx context.Context, kv ...string) context.Context {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return context.WithValue(ctx, forkHeaderKey{}, h)
}

// forkHeaderTransport adds the headers of a marked context to the
// request and signs it again, so that the signature covers them: the
// server refuses X-Tigris-* headers a signature does not cover (boto3's
// before-sign event signs them the same way).
type forkHeaderTransport struct {
	base http.RoundTripper
	s    *harness.Server
}

func (t forkHeaderTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if h, ok := req.Context().Value(forkHeaderKey{}).(http.Header); ok && len(h) > 0 {
		req = req.Clone(req.Context())
		for k, vs := range h {
			req.Header[k] = append([]string(nil), vs...)
		}
		req = signer.SignV4(*req, t.s.User(), t.s.Password(), "", t.s.Region())
	}
	return t.base.RoundTrip(req)
}

// newForkClient is newClient with the header transport and the region
// pinned (no GetBucketLocation probe carrying the headers).
func newForkClient(t testing.TB, s *harness.Server) *minio.Client {
	t.Helper()
	base, err := minio.DefaultTransport(false)
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, s, withRegion(s.Region()), func(o *minio.Options) {
		o.Transport = forkHeaderTransport{base: base, s: s}
	})
}

// forkHeaders returns an http.Header of the pairs, for raw requests.
func forkHeaders(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// forkBucket forks src (at snapshot, when not empty) into name with
// CreateBucket and the Tigris headers, and returns the fork's base
// version from the response.
func forkBucket(t testing.TB, s *harness.Server, src, name, snapshot string) string {
	t.Helper()
	h := forkHeaders(hForkSource, src)
	if snapshot != "" {
		h.Set(hForkSourceSnapshot, snapshot)
	}
	r := raw{t, s}.do(http.MethodPut, "/"+name, nil, h, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("fork %s -> %s (snapshot %q): %s", src, name, snapshot, r)
	}
	return r.Header.Get(hForkSourceSnapshot)
}

// snapshotBucket takes a snapshot (named when name is not empty) with
// CreateBucket and X-Tigris-Snapshot, and returns its version.
func snapshotBucket(t testing.TB, s *harness.Server, bucket, name string) string {
	t.Helper()
	v := "true"
	if name != "" {
		v += "; name=" + name
	}
	r := raw{t, s}.do(http.MethodPut, "/"+bucket, nil, forkHeaders(hSnapshot, v), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("snapshot %s (%q): %s", bucket, name, r)
	}
	ver := r.Header.Get(hSnapshotVersion)
	if ver == "" {
		t.Fatalf("snapshot %s: no %s in the response (headers %v)", bucket, hSnapshotVersion, r.Header)
	}
	return ver
}

// listSnapshotNames lists a bucket's snapshots with ListBuckets and
// X-Tigris-Snapshot: the Bucket Names, "{version}" or "{version}; name=N".
func listSnapshotNames(t testing.TB, s *harness.Server, bucket string) []string {
	t.Helper()
	r := raw{t, s}.do(http.MethodGet, "/", nil, forkHeaders(hSnapshot, bucket), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list snapshots of %s: %s", bucket, r)
	}
	var res struct {
		Buckets []struct {
			Name         string
			CreationDate string
		} `xml:"Buckets>Bucket"`
	}
	if err := xml.Unmarshal(r.Body, &res); err != nil {
		t.Fatalf("list snapshots of %s: %v\n%s", bucket, err, r.Body)
	}
	out := []string{}
	for _, b := range res.Buckets {
		out = append(out, b.Name)
	}
	return out
}

// headBucket sends a signed HEAD /bucket and returns the response.
func headBucket(t testing.TB, s *harness.Server, bucket string) rawResp {
	t.Helper()
	return raw{t, s}.do(http.MethodHead, "/"+bucket, nil, nil, nil)
}

// objectsOf puts key -> body and fails the test on error.
func objectsOf(t testing.TB, c *minio.Client, bucket string, objs map[string]string) {
	t.Helper()
	for _, k := range sortedKeys(objs) {
		putBytes(t, c, bucket, k, []byte(objs[k]), minio.PutObjectOptions{})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// wantContent checks that bucket holds exactly objs (key -> body): the
// listing and every body. at, when not empty, reads at that version.
func wantContent(t testing.TB, c *minio.Client, bucket, at string, objs map[string]string) {
	t.Helper()
	ctx := testCtx(t)
	lo := minio.ListObjectsOptions{Recursive: true}
	if at != "" {
		lo.Set(hSnapshotVersion, at)
	}
	got := listKeys(t, c, bucket, lo)
	diffLists(t, fmt.Sprintf("listing of %s at %q", bucket, at), got, sortedKeys(objs))
	for _, k := range sortedKeys(objs) {
		o := minio.GetObjectOptions{}
		if at != "" {
			o.Set(hSnapshotVersion, at)
		}
		b, err := tryGet(ctx, c, bucket, k, o)
		if err != nil {
			t.Errorf("GetObject %s/%s at %q: %s", bucket, k, at, describe(err))
			continue
		}
		if string(b) != objs[k] {
			t.Errorf("GetObject %s/%s at %q = %q, want %q", bucket, k, at, b, objs[k])
		}
	}
}

// cloneMap returns a copy of m.
func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// adminResp is an admin API answer.
type adminResp struct {
	Status int
	Body   []byte
	Code   string // the error code of a JSON error body
}

func (r adminResp) String() string {
	return fmt.Sprintf("HTTP %d %s", r.Status, bytes.TrimSpace(r.Body))
}

// admin calls the admin API with a SigV4-signed request; in (when not
// nil) is sent as JSON and out (when not nil) receives the answer.
func admin(t testing.TB, s *harness.Server, method, path string, in, out any) adminResp {
	t.Helper()
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			t.Fatal(err)
		}
	}
	return adminSend(t, s, method, path, body, out)
}

// adminSend is admin with the request body as is.
func adminSend(t testing.TB, s *harness.Server, method, path string, body []byte, out any) adminResp {
	t.Helper()
	h := http.Header{}
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	p, q, _ := strings.Cut(path, "?")
	var query url.Values
	if q != "" {
		var err error
		if query, err = url.ParseQuery(q); err != nil {
			t.Fatal(err)
		}
	}
	r := raw{t, s}.do(method, "/_forkstore/v1/"+strings.TrimPrefix(p, "/"), query, h, body)
	out2 := adminResp{Status: r.Status, Body: r.Body}
	if r.Status >= 300 {
		var e struct{ Code string }
		json.Unmarshal(r.Body, &e)
		out2.Code = e.Code
		return out2
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			t.Fatalf("%s %s: decode %T: %v\n%s", method, path, out, err, r.Body)
		}
	}
	return out2
}

// wantAdminErr asserts an admin API error with status and code.
func wantAdminErr(t testing.TB, what string, r adminResp, status int, code string) {
	t.Helper()
	if r.Status != status || r.Code != code {
		t.Errorf("%s: %s; want HTTP %d %s", what, r, status, code)
	}
}

// cliResult is the outcome of one forkstore CLI invocation.
type cliResult struct {
	Stdout, Stderr string
	Err            error
}

// forkstoreCLI runs the built binary as a client of s, which it names
// through FORKSTORE_ENDPOINT and the AWS_* credential variables.
func forkstoreCLI(t testing.TB, s *harness.Server, args ...string) cliResult {
	t.Helper()
	return forkstoreCLIEnv(t, []string{
		"FORKSTORE_ENDPOINT=" + s.URL(),
		"AWS_ACCESS_KEY_ID=" + s.User(),
		"AWS_SECRET_ACCESS_KEY=" + s.Password(),
		"AWS_REGION=" + s.Region(),
	}, args...)
}

// forkstoreCLIEnv runs the built binary with exactly env for FORKSTORE_*
// and AWS_* variables.
func forkstoreCLIEnv(t testing.TB, env []string, args ...string) cliResult {
	t.Helper()
	if binPath == "" {
		t.Skip("the forkstore CLI needs the built binary (FORKSTORE_E2E_ENDPOINT is set)")
	}
	ctx, cancel := context.WithTimeout(testCtx(t), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(cleanForkEnv(os.Environ()), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return cliResult{Stdout: out.String(), Stderr: errb.String(), Err: err}
}

// mustCLI runs the CLI and fails the test when it exits non-zero.
func mustCLI(t testing.TB, s *harness.Server, args ...string) string {
	t.Helper()
	r := forkstoreCLI(t, s, args...)
	if r.Err != nil {
		t.Fatalf("forkstore %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Err, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// cleanForkEnv drops variables that would point a client elsewhere.
func cleanForkEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "FORKSTORE_") || strings.HasPrefix(k, "AWS_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
