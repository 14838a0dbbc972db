//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/cors"
)

// findChromium returns Debian's chromium (tests/install-deps.sh installs
// it), or "".
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// pageServer serves the test's pages on its own loopback port: another
// origin than the S3 server's.
type pageServer struct {
	origin string
	pages  map[string]string
	done   chan url.Values
}

func startPageServer(t *testing.T) *pageServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ps := &pageServer{origin: "http://" + ln.Addr().String(), pages: map[string]string{}, done: make(chan url.Values, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("/done", func(w http.ResponseWriter, r *http.Request) {
		select {
		case ps.done <- r.URL.Query():
		default:
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<html><body><div id="done">%s</div></body></html>`, template.HTMLEscapeString(r.URL.Query().Get("key")))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		page, ok := ps.pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ps
}

// TestBrowser drives headless Chromium: a page on another origin uploads
// with a presigned PUT (a preflighted request: its Content-Type is not a
// simple one) and reads the object back with fetch(), reading an exposed
// header; a page on an origin no rule allows cannot read; and a plain
// HTML form uploads with POST Object and a signed policy, redirected back
// to the page's origin.
func TestBrowser(t *testing.T) {
	t.Parallel()
	chromium := findChromium()
	requireClient(t, chromium != "", "chromium")
	s := startServer(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	b := bucketName(t, "browser")
	makeBucket(t, c, b)
	page := startPageServer(t)
	stranger := startPageServer(t)
	err := c.SetBucketCors(ctx, b, cors.NewConfig([]cors.Rule{{
		AllowedOrigin: []string{page.origin}, AllowedMethod: []string{"GET", "PUT", "POST"},
		AllowedHeader: []string{"*"}, ExposeHeader: []string{"ETag", "x-amz-meta-from"}, MaxAgeSeconds: 60,
	}}))
	if err != nil {
		t.Fatal(err)
	}

	putURL, err := c.Presign(ctx, http.MethodPut, b, "from-page.txt", 5*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	getURL, err := c.PresignedGetObject(ctx, b, "from-page.txt", 5*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	fetchPage := `<html><body><script>
async function roundtrip() {
  const put = await fetch({{.Put}}, {method: "PUT", body: "written by a page",
    headers: {"Content-Type": "application/octet-stream"}});
  if (!put.ok) { return "PUT " + put.status + " " + await put.text(); }
  const get = await fetch({{.Get}});
  return get.status + " " + (get.headers.get("ETag") || "no ETag") + " " + await get.text();
}
async function readOnly() {
  try { const r = await fetch({{.Get}}); return "read " + r.status; } catch (e) { return "refused"; }
}
</script></body></html>`
	var sb strings.Builder
	if err := template.Must(template.New("p").Parse(fetchPage)).Execute(&sb, map[string]string{"Put": putURL.String(), "Get": getURL.String()}); err != nil {
		t.Fatal(err)
	}
	page.pages["/fetch"] = sb.String()
	stranger.pages["/fetch"] = sb.String()

	policy := minio.NewPostPolicy()
	policy.SetBucket(b)
	policy.SetKeyStartsWith("forms/")
	policy.SetExpires(time.Now().Add(5 * time.Minute))
	policy.SetContentLengthRange(1, 1<<20)
	policy.SetSuccessActionRedirect(page.origin + "/done")
	policy.SetUserMetadata("from", "form")
	postURL, fields, err := c.PresignedPostPolicy(ctx, policy)
	if err != nil {
		t.Fatal(err)
	}
	fields["key"] = "forms/${filename}"
	formPage := `<html><body><form id="f" method="post" action="{{.Action}}" enctype="multipart/form-data">
{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<input type="file" name="file" id="file"><input type="submit" id="go"></form></body></html>`
	sb.Reset()
	if err := template.Must(template.New("f").Parse(formPage)).Execute(&sb, map[string]any{"Action": postURL.String(), "Fields": fields}); err != nil {
		t.Fatal(err)
	}
	page.pages["/form"] = sb.String()
	upload := filepath.Join(t.TempDir(), "report.txt")
	if err := os.WriteFile(upload, []byte("uploaded by a form"), 0o644); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("no-proxy-server", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The browser lives as long as the context of the first Run: the
	// test's (bounded by testCtx).
	if err := chromedp.Do(bctx, chromedp.Navigate(page.origin+"/fetch")); err != nil {
		t.Fatalf("chromium at %s: %v", chromium, err)
	}
	start := time.Now()
	step, cancelStep := context.WithTimeout(bctx, time.Minute)
	defer cancelStep()
	got, err := chromedp.Run(step, chromedp.Evaluate[string](`roundtrip()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	etag := putETag(t, c, b, "from-page.txt")
	if want := "200 " + etag + " written by a page"; got != want {
		t.Fatalf("fetch from %s: %q, want %q", page.origin, got, want)
	}
	if err := chromedp.Do(step, chromedp.Navigate(stranger.origin+"/fetch")); err != nil {
		t.Fatal(err)
	}
	strangerGot, err := chromedp.Run(step, chromedp.Evaluate[string](`readOnly()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if strangerGot != "refused" {
		t.Fatalf("a page of an origin no rule allows read the object: %q", strangerGot)
	}

	err = chromedp.Do(step,
		chromedp.Navigate(page.origin+"/form"),
		chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{upload}),
		chromedp.Click(chromedp.CSS(`#go`)),
		chromedp.WaitVisible(chromedp.CSS(`#done`)),
	)
	if err != nil {
		t.Fatalf("form upload: %v", err)
	}
	doneKey, err := chromedp.Run(step, chromedp.Text(chromedp.CSS(`#done`)))
	if err != nil {
		t.Fatal(err)
	}
	var q url.Values
	select {
	case q = <-page.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the page's /done was not asked for")
	}
	if doneKey != "forms/report.txt" || q.Get("bucket") != b || q.Get("etag") == "" {
		t.Fatalf("redirect after the form: key %q, query %v", doneKey, q)
	}
	sameBytes(t, "form upload", getBytes(t, c, b, "forms/report.txt", minio.GetObjectOptions{}), []byte("uploaded by a form"))
	st, err := c.StatObject(ctx, b, "forms/report.txt", minio.StatObjectOptions{})
	if err != nil || st.UserMetadata["From"] != "form" {
		t.Fatalf("form upload's metadata: %+v %v", st.UserMetadata, err)
	}
	t.Logf("browser steps took %v", time.Since(start).Round(time.Millisecond))
}

// putETag is the ETag of an object, quoted as S3 sends it.
func putETag(t *testing.T, c *minio.Client, bucket, key string) string {
	t.Helper()
	st, err := c.StatObject(testCtx(t), bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return `"` + trimETag(st.ETag) + `"`
}
