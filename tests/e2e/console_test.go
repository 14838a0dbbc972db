//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/minio/minio-go/v7"
)

// TestConsoleBrowser drives the web console in headless Chromium against
// the real binary: a wrong secret is refused; the root key signs in,
// sees the fork tree, opens a fork's diff (a key named like a script
// shows as text), merges and sees the parent change, uploads and
// downloads a file; a forged CSRF token is refused; the cluster page
// shows the metadata shard and charts its script keeps current; a scoped
// key sees only its bucket. A failing step saves a screenshot of the page in the
// test's artifact directory (go test -artifacts keeps it);
// FORKSTORE_CONSOLE_SCREENSHOTS=dir saves the pages docs/console.md
// shows.
func TestConsoleBrowser(t *testing.T) {
	t.Parallel()
	chromium := findChromium()
	requireClient(t, chromium != "", "chromium")
	s := startServer(t)
	if s.IsExternal() {
		t.Skip("needs its own server")
	}
	c := newClient(t, s)
	ctx := testCtx(t)
	base := bucketName(t, "console")
	fork := base + "-agent1"
	makeBucket(t, c, base)
	putBytes(t, c, base, "data/train.csv", []byte("a,b\n1,2\n"), minio.PutObjectOptions{})
	putBytes(t, c, base, "README", []byte("the dataset\n"), minio.PutObjectOptions{})
	forkBucket(t, s, base, fork, "")
	forkBucket(t, s, base, base+"-agent2", "")
	forkBucket(t, s, fork, fork+"-sub", "")
	const xssKey = `<script>alert(1)</script>`
	putBytes(t, c, fork, "data/new.csv", []byte("c\n3\n"), minio.PutObjectOptions{})
	putBytes(t, c, fork, xssKey, []byte("x"), minio.PutObjectOptions{})
	var key struct {
		ID     string `json:"access_key_id"`
		Secret string `json:"secret_access_key"`
	}
	if r := admin(t, s, http.MethodPost, "keys", map[string]any{"buckets": []string{base + "-agent2"}}, &key); r.Status != http.StatusCreated {
		t.Fatalf("create key: %s", r)
	}
	upload := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(upload, []byte("uploaded from the console\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("no-proxy-server", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 640))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	console := s.URL() + "/_forkstore/console/"
	if err := chromedp.Do(bctx, chromedp.Navigate(console+"login")); err != nil {
		t.Fatalf("chromium at %s: %v", chromium, err)
	}
	start := time.Now()
	step, cancelStep := context.WithTimeout(bctx, time.Minute)
	defer cancelStep()
	shots := os.Getenv("FORKSTORE_CONSOLE_SCREENSHOTS")
	// do runs a step's actions; on failure it saves the page and fails.
	do := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(step, actions...); err != nil {
			shot(t, step, name)
			t.Fatalf("%s: %v", name, err)
		}
	}
	text := func(name, sel string) string {
		t.Helper()
		got, err := chromedp.Run(step, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			shot(t, step, name)
			t.Fatalf("%s: %v", name, err)
		}
		return got
	}
	fail := func(name, format string, args ...any) {
		t.Helper()
		shot(t, step, name)
		t.Fatalf(name+": "+format, args...)
	}
	// signIn submits the login form and waits for the page it leads to
	// (not the login page it was sent from, whose nodes the next query
	// could otherwise find as the browser replaces them); it fails unless
	// that page's status is want.
	signIn := func(name, id, secret string, want int64) {
		t.Helper()
		do(name, chromedp.Navigate(console+"login"), chromedp.WaitVisible(chromedp.CSS("#login")),
			chromedp.SendKeys(chromedp.CSS("#access_key"), id), chromedp.SendKeys(chromedp.CSS("#secret"), secret))
		resp, err := chromedp.RunResponse(step, chromedp.Click(chromedp.CSS("#signin")))
		if err != nil {
			fail(name, "submit: %v", err)
		}
		if resp.Status != want {
			fail(name, "status %d, want %d", resp.Status, want)
		}
	}

	// A wrong secret is refused.
	signIn("wrong secret", s.User(), "not-the-secret", http.StatusUnauthorized)
	if got := text("wrong secret", "#error"); !strings.Contains(got, "wrong") {
		fail("wrong secret", "error %q", got)
	}
	// The root key signs in and sees every bucket, forks folded under
	// their root.
	signIn("sign in", s.User(), s.Password(), http.StatusOK)
	do("buckets", chromedp.WaitVisible(chromedp.CSS("#buckets")))
	if got := text("buckets", "#buckets"); !strings.Contains(got, base) || !strings.Contains(got, fork+"-sub") {
		fail("buckets", "table %q", got)
	}
	saveShot(t, step, shots, "console-buckets.png")

	// The fork tree: every node, each a link.
	do("lineage", chromedp.Navigate(console+"lineage?bucket="+base), chromedp.WaitVisible(chromedp.CSS("#tree svg")))
	nodes := eval[[]string](t, step, "lineage", `Array.from(document.querySelectorAll("#tree svg a[data-bucket]")).map(a => a.getAttribute("data-bucket"))`)
	if want := fmt.Sprint(sortStrings([]string{base, fork, base + "-agent2", fork + "-sub"})); fmt.Sprint(sortStrings(nodes)) != want {
		fail("lineage", "nodes %v, want %s", nodes, want)
	}
	saveShot(t, step, shots, "console-lineage.png")
	// Click the fork's node, then its diff.
	do("open fork", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#tree a[data-bucket=%q] rect`, fork))),
		chromedp.WaitVisible(chromedp.CSS("#difflink")), chromedp.Click(chromedp.CSS("#difflink")),
		chromedp.WaitVisible(chromedp.CSS("#diff")))
	diff := text("diff", "#diff")
	if !strings.Contains(diff, "data/new.csv") || !strings.Contains(diff, xssKey) {
		fail("diff", "table %q", diff)
	}
	// The key named like a script is text: no script element but ours.
	scripts := eval[int](t, step, "xss", `document.querySelectorAll("script").length`)
	if scripts != 1 {
		fail("xss", "%d script elements on the diff page", scripts)
	}
	saveShot(t, step, shots, "console-diff.png")

	// Merge (the confirmation answered yes) and see the parent change.
	eval[bool](t, step, "merge", `window.confirm = () => true; true`)
	do("merge", chromedp.SetValue(chromedp.CSS("#strategy"), "fork-wins"),
		chromedp.Click(chromedp.CSS("#merge")), chromedp.WaitVisible(chromedp.CSS("#report")))
	if got := text("merge", "#report"); !strings.Contains(got, "puts 2") || strings.Contains(got, "refused") {
		fail("merge", "report %q", got)
	}
	do("parent", chromedp.Navigate(console+"objects?bucket="+base+"&prefix=data/"), chromedp.WaitVisible(chromedp.CSS("#objects")))
	if got := text("parent", "#objects"); !strings.Contains(got, "new.csv") {
		fail("parent", "the parent after the merge: %q", got)
	}
	sameBytes(t, "merged object", getBytes(t, c, base, "data/new.csv", minio.GetObjectOptions{}), []byte("c\n3\n"))

	// Upload a file from the browser, then download it.
	do("upload", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{upload}))
	if _, err := chromedp.RunResponse(step, chromedp.Click(chromedp.CSS("#upload"))); err != nil {
		fail("upload", "%v", err)
	}
	if got := text("upload", "#objects"); !strings.Contains(got, "notes.txt") {
		fail("upload", "listing after the upload: %q", got)
	}
	sameBytes(t, "uploaded object", getBytes(t, c, base, "data/notes.txt", minio.GetObjectOptions{}), []byte("uploaded from the console\n"))
	downloaded := eval[string](t, step, "download", `(async () => {
  const a = Array.from(document.querySelectorAll("a.download")).find(a => a.href.includes("notes.txt"));
  const r = await fetch(a.href);
  return r.status + " " + await r.text();
})()`)
	if downloaded != "200 uploaded from the console\n" {
		fail("download", "%q", downloaded)
	}
	saveShot(t, step, shots, "console-objects.png")

	// A forged CSRF token is refused and deletes nothing.
	eval[bool](t, step, "forged csrf", `document.querySelectorAll("input[name=csrf]").forEach(i => i.value = "forged");
  document.querySelector("button.delete").closest("form").submit(); true`)
	do("forged csrf", chromedp.WaitVisible(chromedp.CSS("#error")))
	if got := text("forged csrf", "#error"); !strings.Contains(got, "CSRF") {
		fail("forged csrf", "error %q", got)
	}
	for _, k := range []string{"data/new.csv", "data/notes.txt", "data/train.csv"} {
		if _, err := c.StatObject(ctx, base, k, minio.StatObjectOptions{}); err != nil {
			t.Fatalf("%s after a forged delete: %v", k, err)
		}
	}

	// The cluster page: this node, the metadata shard, live figures from
	// the metrics and their charts, which the page's script refreshes
	// (under the strict CSP) until they draw the node's samples.
	do("cluster", chromedp.Navigate(console+"cluster"), chromedp.WaitVisible(chromedp.CSS("#nodes")), chromedp.WaitVisible(chromedp.CSS("#figures")),
		chromedp.WaitVisible(chromedp.CSS("#shards")), chromedp.WaitVisible(chromedp.CSS("#chart-requests")))
	if got := text("cluster", "#figures"); !strings.Contains(got, "S3 requests (total)") {
		fail("cluster", "figures %q", got)
	}
	if got := text("cluster", "#shards tr[data-shard]"); !strings.Contains(got, "directory+data") {
		fail("cluster", "shards %q", got)
	}
	do("cluster refresh", chromedp.WaitReady(chromedp.CSS("#live[data-updated] #chart-requests polyline")))
	eval[bool](t, step, "cluster scroll", `window.scrollTo(0, document.querySelector("#shards").getBoundingClientRect().top + window.scrollY - 40); true`)
	saveShot(t, step, shots, "console-cluster.png")

	// Sign out; a scoped key sees only its bucket.
	do("sign out", chromedp.Navigate(console+"buckets"), chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#login")))
	signIn("scoped", key.ID, key.Secret, http.StatusOK)
	do("scoped buckets", chromedp.WaitVisible(chromedp.CSS("#buckets")))
	rows := eval[[]string](t, step, "scoped buckets", `Array.from(document.querySelectorAll("#buckets tr[data-bucket]")).map(r => r.getAttribute("data-bucket"))`)
	if fmt.Sprint(rows) != fmt.Sprint([]string{base + "-agent2"}) {
		fail("scoped buckets", "rows %v", rows)
	}
	do("scoped denied", chromedp.Navigate(console+"objects?bucket="+base), chromedp.WaitVisible(chromedp.CSS("#error")))
	if got := text("scoped denied", "#error"); !strings.Contains(got, "Access denied") {
		fail("scoped denied", "error %q", got)
	}
	t.Logf("console browser steps took %v", time.Since(start).Round(time.Millisecond))
}

// eval evaluates a script in the page (awaiting a promise); on failure
// it saves the page and fails.
func eval[T any](t *testing.T, ctx context.Context, name, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		shot(t, ctx, name)
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// shot saves a screenshot of the page in the test's artifact directory.
func shot(t *testing.T, ctx context.Context, name string) {
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(t.ArtifactDir(), strings.ReplaceAll(name, " ", "-")+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot of %q: %s", name, p)
}

// saveShot saves the page as dir/name when dir is set (the pictures of
// docs/console.md).
func saveShot(t *testing.T, ctx context.Context, dir, name string) {
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
