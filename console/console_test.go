package console_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forkstore/forkstore/console"
	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
	"github.com/forkstore/forkstore/meta"
	"github.com/forkstore/forkstore/s3api"
)

// env is a real node with the S3 front end and the console mounted on
// it, served on loopback.
type env struct {
	base string // http://addr/_forkstore/console/
	svc  *gateway.Service
	con  *console.Console
	// hist is the cluster page's history of live samples.
	hist *console.History
	// clock is the console's clock (sessions expire on it).
	mu    sync.Mutex
	clock time.Time
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the console's session key.
func newEnvWith(t testing.TB, sessionKey []byte) *env {
	t.Helper()
	node := gatewaytest.NewNode(t, gatewaytest.Config(t))
	svc := node.Service()
	srv := s3api.New(s3api.DefaultConfig(), svc, slog.New(slog.DiscardHandler))
	e := &env{svc: svc, clock: time.Now(), hist: console.NewHistory(5*time.Second, 120)}
	con, err := console.New(console.Config{Service: svc, Access: srv, Now: e.now, History: e.hist, SessionKey: sessionKey,
		Figures: func() []console.Figure { return []console.Figure{{Name: "S3 requests (total)", Value: "7"}} }})
	if err != nil {
		t.Fatal(err)
	}
	e.con = con
	srv.SetConsole(con)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	e.base = "http://" + ln.Addr().String() + console.Prefix
	return e
}

func (e *env) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clock
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.clock = e.clock.Add(d)
	e.mu.Unlock()
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	t    testing.TB
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, e: e, c: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.e.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	return resp.StatusCode, string(body)
}

func (b *browser) post(path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.e.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// signIn signs in and fails the test unless it worked.
func (b *browser) signIn(id, secret string) {
	b.t.Helper()
	if st := b.trySignIn(id, secret); st != http.StatusSeeOther {
		b.t.Fatalf("sign-in as %s: status %d", id, st)
	}
	if st, _ := b.get("buckets"); st != http.StatusOK {
		b.t.Fatalf("buckets after sign-in: %d", st)
	}
}

func (b *browser) trySignIn(id, secret string) int {
	b.t.Helper()
	if st, _ := b.get("login"); st != http.StatusOK {
		b.t.Fatalf("login page: %d", st)
	}
	st, _, _ := b.post("login", url.Values{"csrf": {b.csrf}, "access_key": {id}, "secret": {secret}})
	return st
}

func mustBucket(t testing.TB, svc *gateway.Service, in gateway.CreateBucketInput) {
	t.Helper()
	if _, err := svc.CreateBucket(context.Background(), in); err != nil {
		t.Fatalf("create %s: %v", in.Name, err)
	}
}

func mustPut(t testing.TB, svc *gateway.Service, bucket, key, body string) {
	t.Helper()
	_, err := svc.PutObject(context.Background(), &gateway.PutObjectInput{Bucket: bucket, Key: key, Body: strings.NewReader(body), Size: int64(len(body))})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

func objectBody(t *testing.T, svc *gateway.Service, bucket, key string) (string, error) {
	t.Helper()
	ctx := context.Background()
	o, err := svc.HeadObject(ctx, gateway.GetObjectInput{Bucket: bucket, Key: key})
	if err != nil {
		return "", err
	}
	rc, err := svc.OpenObject(ctx, o, 0, o.Size)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	return string(data), err
}

func TestSignInSessionAndSignOut(t *testing.T) {
	e := newEnv(t)
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "data"})

	// Not signed in: every page sends to the sign-in form.
	b := e.browser(t)
	resp, err := b.c.Get(e.base + "buckets")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("unsigned buckets: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A wrong secret, an unknown key: refused, no session.
	if st := b.trySignIn(gatewaytest.AccessKey, "wrong-secret"); st != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d", st)
	}
	if st := b.trySignIn("nosuchkey", gatewaytest.SecretKey); st != http.StatusUnauthorized {
		t.Fatalf("unknown key: %d", st)
	}
	if n := e.con.Sessions(); n != 0 {
		t.Fatalf("%d sessions after refused sign-ins", n)
	}
	// The right secret: a session cookie with the right flags.
	b.get("login")
	resp, err = b.c.PostForm(e.base+"login", url.Values{"csrf": {b.csrf}, "access_key": {gatewaytest.AccessKey}, "secret": {gatewaytest.SecretKey}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie string
	for _, v := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "forkstore_console=") {
			cookie = v
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/_forkstore/console/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	st, body := b.get("buckets")
	if st != http.StatusOK || !strings.Contains(body, `data-bucket="data"`) {
		t.Fatalf("buckets: %d\n%s", st, body)
	}
	// Every answer carries the strict CSP.
	resp, err = b.c.Get(e.base + "buckets")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP = %q", csp)
	}
	// The embedded CSS and script are served to anybody; no listing.
	for path, want := range map[string]int{"static/console.css": 200, "static/console.js": 200, "static/": 404} {
		resp, err := http.Get(e.base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	// Sign-out ends the session on the server.
	if st, _, _ := b.post("logout", url.Values{"csrf": {b.csrf}}); st != http.StatusSeeOther {
		t.Fatalf("logout: %d", st)
	}
	if n := e.con.Sessions(); n != 0 {
		t.Fatalf("%d sessions after sign-out", n)
	}
	if st, _ := b.get("buckets"); st != http.StatusSeeOther {
		t.Fatalf("buckets after sign-out: %d", st)
	}
	// Sessions expire.
	b.signIn(gatewaytest.AccessKey, gatewaytest.SecretKey)
	e.advance(2 * time.Hour)
	if st, _ := b.get("buckets"); st != http.StatusSeeOther {
		t.Fatalf("buckets after expiry: %d", st)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "data"})
	mustPut(t, e.svc, "data", "keep.txt", "keep")
	b := e.browser(t)
	b.signIn(gatewaytest.AccessKey, gatewaytest.SecretKey)
	for _, tok := range []string{"", "forged" + b.csrf[6:]} {
		st, _, _ := b.post("delete", url.Values{"csrf": {tok}, "bucket": {"data"}, "key": {"keep.txt"}})
		if st != http.StatusForbidden {
			t.Fatalf("delete with csrf %q: %d", tok, st)
		}
	}
	if _, err := objectBody(t, e.svc, "data", "keep.txt"); err != nil {
		t.Fatalf("object gone after forged deletes: %v", err)
	}
	// The sign-in form needs its token too (login CSRF).
	other := e.browser(t)
	st, _, _ := other.post("login", url.Values{"csrf": {"x"}, "access_key": {gatewaytest.AccessKey}, "secret": {gatewaytest.SecretKey}})
	if st != http.StatusForbidden {
		t.Fatalf("sign-in without its token: %d", st)
	}
	// With the token, the delete goes through.
	st, _, _ = b.post("delete", url.Values{"csrf": {b.csrf}, "bucket": {"data"}, "key": {"keep.txt"}})
	if st != http.StatusSeeOther {
		t.Fatalf("delete: %d", st)
	}
	if _, err := objectBody(t, e.svc, "data", "keep.txt"); !errors.Is(err, meta.ErrNoSuchKey) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestScopedKeySeesOnlyItsScope(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "mine"})
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "theirs"})
	mustPut(t, e.svc, "mine", "a.txt", "a")
	mustPut(t, e.svc, "theirs", "secret.txt", "s")
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "theirs-fork", ForkSource: "theirs"})
	k, err := e.svc.CreateKey(ctx, gateway.KeyInput{Buckets: []string{"mine"}})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	b.signIn(k.Key.ID, k.Secret)
	_, body := b.get("buckets")
	if !strings.Contains(body, `data-bucket="mine"`) || strings.Contains(body, "theirs") {
		t.Fatalf("scoped buckets page:\n%s", body)
	}
	if st, body := b.get("objects?bucket=mine"); st != http.StatusOK || !strings.Contains(body, "a.txt") {
		t.Fatalf("own objects: %d", st)
	}
	for _, p := range []string{"objects?bucket=theirs", "download?bucket=theirs&key=secret.txt", "object?bucket=theirs&key=secret.txt", "lineage?bucket=theirs",
		"diff?bucket=theirs-fork", "keys", "cluster"} {
		if st, body := b.get(p); st != http.StatusForbidden || strings.Contains(body, "secret.txt") {
			t.Errorf("%s: %d", p, st)
		}
	}
	st, _, _ := b.post("merge", url.Values{"csrf": {b.csrf}, "bucket": {"theirs-fork"}, "strategy": {"fork-wins"}})
	if st != http.StatusForbidden {
		t.Errorf("merge by a scoped key: %d", st)
	}
	st, _, _ = b.post("delete", url.Values{"csrf": {b.csrf}, "bucket": {"theirs"}, "key": {"secret.txt"}})
	if st != http.StatusForbidden {
		t.Errorf("delete outside the scope: %d", st)
	}
	st, _, _ = b.post("forks/create", url.Values{"csrf": {b.csrf}, "source": {"mine"}, "count": {"1"}, "prefix": {"x-"}})
	if st != http.StatusForbidden {
		t.Errorf("sandboxes made by a scoped key: %d", st)
	}
	if _, err := objectBody(t, e.svc, "theirs", "secret.txt"); err != nil {
		t.Fatalf("object outside the scope: %v", err)
	}
	// A deleted key's session ends.
	if err := e.svc.DeleteKey(ctx, k.Key.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := b.get("buckets")
		if st == http.StatusSeeOther {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deleted key still signed in: %d", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestKeysRenderEscaped(t *testing.T) {
	e := newEnv(t)
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "data"})
	const evil = `<script>alert(1)</script>`
	mustPut(t, e.svc, "data", evil, "x")
	mustPut(t, e.svc, "data", "dir/\"><img src=x onerror=alert(2)>", "y")
	mustPut(t, e.svc, "data", "ctl\x1b[31mred\u202egnp.exe", "c")
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "data-fork", ForkSource: "data"})
	mustPut(t, e.svc, "data-fork", evil+"2", "z")
	mustPut(t, e.svc, "data-fork", "fork\x07bell", "z")
	b := e.browser(t)
	b.signIn(gatewaytest.AccessKey, gatewaytest.SecretKey)
	for _, p := range []string{"objects?bucket=data", "objects?bucket=data&prefix=dir/", "diff?bucket=data-fork"} {
		st, body := b.get(p)
		if st != http.StatusOK {
			t.Fatalf("%s: %d", p, st)
		}
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Fatalf("%s renders a key as markup:\n%s", p, body)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/") && !strings.Contains(body, "&lt;img src=x") {
			t.Fatalf("%s does not show the key as text:\n%s", p, body)
		}
	}
}

func TestControlCharactersShowAsEscapes(t *testing.T) {
	e := newEnv(t)
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "data"})
	mustPut(t, e.svc, "data", "ctl\x1b[31mred\u202egnp.exe", "c")
	b := e.browser(t)
	b.signIn(gatewaytest.AccessKey, gatewaytest.SecretKey)
	_, body := b.get("objects?bucket=data")
	if !strings.Contains(body, `ctl\x1b[31mred\u202egnp.exe`) {
		t.Fatalf("the key's control characters are not shown as escapes:\n%s", body)
	}
	// Raw, they are only in the hidden form fields that name the key.
	shown := regexp.MustCompile(`value="[^"]*"`).ReplaceAllString(body, "")
	if strings.ContainsAny(shown, "\x1b\u202e") {
		t.Fatalf("a control character is shown raw:\n%q", shown)
	}
	// The link still names the real key.
	st, got := b.get("download?bucket=data&key=" + url.QueryEscape("ctl\x1b[31mred\u202egnp.exe"))
	if st != http.StatusOK || got != "c" {
		t.Fatalf("download: %d %q", st, got)
	}
}

func TestForkDiffAndMerge(t *testing.T) {
	e := newEnv(t)
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "base"})
	mustPut(t, e.svc, "base", "old.txt", "old")
	mustPut(t, e.svc, "base", "gone.txt", "gone")
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "agent1", ForkSource: "base", TTL: time.Hour})
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "agent1-sub", ForkSource: "agent1"})
	mustPut(t, e.svc, "agent1", "new.txt", "new")
	mustPut(t, e.svc, "agent1", "old.txt", "rewritten")
	if _, err := e.svc.DeleteObject(context.Background(), "agent1", "gone.txt", "", meta.DeleteCondition{}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateSnapshot(context.Background(), "base", "before-merge"); err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	b.signIn(gatewaytest.AccessKey, gatewaytest.SecretKey)

	// The buckets page folds the forks under their root.
	_, body := b.get("buckets")
	iBase, iFork, iSub := strings.Index(body, `data-bucket="base"`), strings.Index(body, `data-bucket="agent1"`), strings.Index(body, `data-bucket="agent1-sub"`)
	if iBase < 0 || iFork < iBase || iSub < iFork || !strings.Contains(body, `class="d2"`) {
		t.Fatalf("buckets page does not fold forks:\n%s", body)
	}
	// The lineage of the fork draws the whole tree, from the root.
	_, body = b.get("lineage?bucket=agent1")
	for _, n := range []string{"base", "agent1", "agent1-sub"} {
		if !strings.Contains(body, `data-bucket="`+n+`"`) {
			t.Errorf("lineage lacks node %s", n)
		}
	}
	if !strings.Contains(body, "3 changed") || !strings.Contains(body, "1 snap") {
		t.Errorf("lineage lacks the changed count or the snapshot count:\n%s", body)
	}
	if _, body = b.get("lineage?bucket=base"); !strings.Contains(body, "before-merge") || !strings.Contains(body, `class="timeline"`) {
		t.Errorf("root's lineage lacks its snapshot:\n%s", body)
	}
	// The diff lists what the fork added, overwrote and deleted.
	_, body = b.get("diff?bucket=agent1")
	for _, want := range []string{"new.txt", "old.txt", "gone.txt", `class="added"`, `class="changed"`, `class="deleted"`} {
		if !strings.Contains(body, want) {
			t.Errorf("diff lacks %s", want)
		}
	}
	_, body = b.get("diff?bucket=agent1&prefix=new")
	if !strings.Contains(body, "new.txt") || strings.Contains(body, "old.txt") {
		t.Errorf("prefix filter:\n%s", body)
	}
	// A dry run changes nothing and reports.
	st, body, _ := b.post("merge", url.Values{"csrf": {b.csrf}, "bucket": {"agent1"}, "strategy": {"fail"}, "dry_run": {"1"}})
	if st != http.StatusOK || !strings.Contains(body, "Merge dry run") || !strings.Contains(body, "puts 2, deletes 1") {
		t.Fatalf("dry run: %d\n%s", st, body)
	}
	if got, _ := objectBody(t, e.svc, "base", "old.txt"); got != "old" {
		t.Fatalf("dry run changed the parent: %q", got)
	}
	// A conflict: the parent changed a key the fork changed too.
	mustPut(t, e.svc, "base", "old.txt", "parent-edit")
	st, body, _ = b.post("merge", url.Values{"csrf": {b.csrf}, "bucket": {"agent1"}, "strategy": {"fail"}})
	if st != http.StatusConflict || !strings.Contains(body, "refused") || !strings.Contains(body, "<li>old.txt</li>") {
		t.Fatalf("conflicting merge: %d\n%s", st, body)
	}
	// fork-wins merges.
	st, body, _ = b.post("merge", url.Values{"csrf": {b.csrf}, "bucket": {"agent1"}, "strategy": {"fork-wins"}})
	if st != http.StatusOK || !strings.Contains(body, "puts 2, deletes 1") {
		t.Fatalf("merge: %d\n%s", st, body)
	}
	for key, want := range map[string]string{"new.txt": "new", "old.txt": "rewritten"} {
		if got, err := objectBody(t, e.svc, "base", key); got != want {
			t.Errorf("parent %s = %q, %v after merge", key, got, err)
		}
	}
	if _, err := objectBody(t, e.svc, "base", "gone.txt"); !errors.Is(err, meta.ErrNoSuchKey) {
		t.Errorf("gone.txt after merge: %v", err)
	}
}

func TestUploadDownloadPaginate(t *testing.T) {
	e := newEnv(t)
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "data"})
	for i := 0; i < 130; i++ {
		mustPut(t, e.svc, "data", "many/"+string(rune('a'+i/26))+string(rune('a'+i%26)), "x")
	}
	b := e.browser(t)
	b.signIn(gatewaytest.AccessKey, gatewaytest.SecretKey)
	payload := bytes.Repeat([]byte("forkstore console upload\n"), 4000) // 100 KB: chunked, not inline
	form := func(csrf string) (string, []byte) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if csrf != "" {
			mw.WriteField("csrf", csrf)
		}
		fw, _ := mw.CreateFormFile("file", "report.txt")
		fw.Write(payload)
		mw.Close()
		return mw.FormDataContentType(), buf.Bytes()
	}
	target := e.base + "upload?" + url.Values{"bucket": {"data"}, "prefix": {"up/"}}.Encode()
	// Without the token, or with a forged one, nothing is stored.
	for _, tok := range []string{"", "forged"} {
		ct, body := form(tok)
		resp, err := b.c.Post(target, ct, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("upload with csrf %q: %d", tok, resp.StatusCode)
		}
		if _, err := objectBody(t, e.svc, "data", "up/report.txt"); !errors.Is(err, meta.ErrNoSuchKey) {
			t.Fatalf("upload with csrf %q stored the object: %v", tok, err)
		}
	}
	ct, body := form(b.csrf)
	resp, err := b.c.Post(target, ct, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	if got, err := objectBody(t, e.svc, "data", "up/report.txt"); err != nil || got != string(payload) {
		t.Fatalf("uploaded object: %d bytes, %v", len(got), err)
	}
	resp, err = b.c.Get(e.base + "download?bucket=data&key=up%2Freport.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, payload) || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d, %d bytes, %q", resp.StatusCode, len(got), resp.Header.Get("Content-Disposition"))
	}
	// Listings: prefixes as folders, pages of 100.
	_, page := b.get("objects?bucket=data")
	if !strings.Contains(page, "many/") || !strings.Contains(page, "up/") {
		t.Fatalf("top level:\n%s", page)
	}
	_, page = b.get("objects?bucket=data&prefix=many/")
	if n := strings.Count(page, `<tr class="object">`); n != 100 || !strings.Contains(page, `id="next"`) {
		t.Fatalf("first page: %d objects", n)
	}
	_, page = b.get("objects?bucket=data&prefix=many/&after=many/dv")
	if n := strings.Count(page, `<tr class="object">`); n != 30 || strings.Contains(page, `id="next"`) {
		t.Fatalf("second page: %d objects", n)
	}
}

func TestKeysAndCluster(t *testing.T) {
	e := newEnv(t)
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "data"})
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "lease1", ForkSource: "data", TTL: time.Hour})
	b := e.browser(t)
	b.signIn(gatewaytest.AccessKey, gatewaytest.SecretKey)
	st, body, _ := b.post("keys/create", url.Values{"csrf": {b.csrf}, "buckets": {"data"}, "count": {"2"}})
	if st != http.StatusOK || strings.Count(body, `class="secret"`) != 2 {
		t.Fatalf("create keys: %d\n%s", st, body)
	}
	ks, err := e.svc.ListKeys(context.Background(), "data")
	if err != nil || len(ks) != 2 {
		t.Fatalf("keys: %d, %v", len(ks), err)
	}
	_, body = b.get("keys")
	if strings.Contains(body, `class="secret"`) || !strings.Contains(body, ks[0].ID) || !strings.Contains(body, "lease1") {
		t.Fatalf("keys page:\n%s", body)
	}
	// Renew a lease; delete a key.
	before, err := e.svc.HeadBucket(context.Background(), "lease1")
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _ := b.post("renew", url.Values{"csrf": {b.csrf}, "bucket": {"lease1"}, "ttl": {"48h"}}); st != http.StatusSeeOther {
		t.Fatalf("renew: %d", st)
	}
	after, err := e.svc.HeadBucket(context.Background(), "lease1")
	if err != nil || after.Expires < before.Expires+int64(40*time.Hour) {
		t.Fatalf("lease after renew: %d -> %d, %v", before.Expires, after.Expires, err)
	}
	if st, _, _ := b.post("keys/delete", url.Values{"csrf": {b.csrf}, "id": {ks[1].ID}}); st != http.StatusSeeOther {
		t.Fatalf("delete key: %d", st)
	}
	if left, err := e.svc.ListKeys(context.Background(), "data"); err != nil || len(left) != 1 || left[0].ID != ks[0].ID {
		t.Fatalf("keys after delete: %+v %v", left, err)
	}
	// A batch of sandboxes: forks of one instant, a key each, shown once.
	st, body, _ = b.post("forks/create", url.Values{"csrf": {b.csrf}, "source": {"data"}, "count": {"3"}, "prefix": {"ag-"}, "ttl": {"1h"}, "with_keys": {"1"}})
	if st != http.StatusOK || strings.Count(body, `class="secret"`) != 3 {
		t.Fatalf("create forks: %d\n%s", st, body)
	}
	for _, f := range []string{"ag-1", "ag-2", "ag-3"} {
		bk, err := e.svc.HeadBucket(context.Background(), f)
		if err != nil || bk.ParentName != "data" || bk.Expires == 0 {
			t.Fatalf("fork %s: %+v %v", f, bk, err)
		}
	}
	if st, _, _ = b.post("forks/create", url.Values{"csrf": {b.csrf}, "source": {"data"}, "count": {"2"}, "prefix": {"ag-"}}); st != http.StatusConflict {
		t.Fatalf("a batch onto taken names: %d", st)
	}
	st, body = b.get("cluster")
	if st != http.StatusOK || !strings.Contains(body, `id="nodes"`) || !strings.Contains(body, "S3 requests (total)") {
		t.Fatalf("cluster: %d\n%s", st, body)
	}
}

// TestClusterPage: the cluster page shows the metadata shards (no zone
// column while no node has a zone) and charts of the live samples, drawn
// on the server, with the last sample's rates among the figures; its
// live part is served alone as a fragment for the page's script, to the
// root key only.
func TestClusterPage(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	b.signIn(gatewaytest.AccessKey, gatewaytest.SecretKey)
	// No samples yet: the charts say so.
	st, body := b.get("cluster")
	if st != http.StatusOK || strings.Count(body, "no samples yet") != 3 {
		t.Fatalf("cluster without samples: %d\n%s", st, body)
	}
	at := time.Now()
	for i := range 30 {
		e.hist.Add(console.Sample{At: at.Add(time.Duration(i) * 5 * time.Second), Requests: float64(i), P99: 0.025, BytesIn: 1 << 20, BytesOut: float64(i) * 1e6})
	}
	for _, path := range []string{"cluster", "cluster/live"} {
		st, body := b.get(path)
		if st != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, st, body)
		}
		for _, want := range []string{`id="shards"`, `<tr data-shard="1"><td>1</td><td>directory&#43;data</td><td>1</td><td>node 1</td>`,
			`id="chart-requests"`, `id="chart-p99"`, `id="chart-bytes"`, "S3 requests/s</th><td class=\"num\">29.0<", "≤ 25 ms", "S3 requests (total)"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q\n%s", path, want, body)
			}
		}
		if strings.Contains(body, "<th>Zone</th>") {
			t.Errorf("%s: a zone column without zones", path)
		}
		// Four lines (requests, p99, bytes in, bytes out) of 30 points each.
		lines := regexp.MustCompile(`<polyline class="line s\d" points="([^"]*)"`).FindAllStringSubmatch(body, -1)
		if len(lines) != 4 {
			t.Fatalf("%s: %d lines", path, len(lines))
		}
		for _, l := range lines {
			if n := len(strings.Fields(l[1])); n != 30 {
				t.Errorf("%s: a line of %d points", path, n)
			}
		}
		if isFragment := !strings.Contains(body, "<html"); isFragment != (path == "cluster/live") {
			t.Errorf("%s: fragment %v", path, isFragment)
		}
	}
	// The page's script replaces the live part from the fragment.
	if !strings.Contains(body, `data-live="/_forkstore/console/cluster/live"`) {
		t.Errorf("no live part on the page:\n%s", body)
	}
	// A scoped key sees neither.
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "mine"})
	k, err := e.svc.CreateKey(context.Background(), gateway.KeyInput{Buckets: []string{"mine"}})
	if err != nil {
		t.Fatal(err)
	}
	scoped := e.browser(t)
	scoped.signIn(k.Key.ID, k.Secret)
	for _, path := range []string{"cluster", "cluster/live"} {
		if st, body := scoped.get(path); st != http.StatusForbidden || strings.Contains(body, "chart") {
			t.Errorf("%s for a scoped key: %d\n%s", path, st, body)
		}
	}
}

// TestUploadTooLarge: a body past the console's limit is refused from
// its head, before it is read.
func TestUploadTooLarge(t *testing.T) {
	e := newEnv(t)
	u, err := url.Parse(e.base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST %supload?bucket=data HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n", console.Prefix, u.Host, 65<<20)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 65 MiB console upload: %d", resp.StatusCode)
	}
}

// TestViewAsOfSnapshot: the objects page, an object's page and its
// download at a snapshot show the bucket as it was, with nothing to
// change it.
func TestViewAsOfSnapshot(t *testing.T) {
	e := newEnv(t)
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "data"})
	mustPut(t, e.svc, "data", "a.txt", "v1")
	if _, err := e.svc.CreateSnapshot(context.Background(), "data", "s1"); err != nil {
		t.Fatal(err)
	}
	mustPut(t, e.svc, "data", "a.txt", "version two")
	mustPut(t, e.svc, "data", "b.txt", "later")
	b := e.browser(t)
	b.signIn(gatewaytest.AccessKey, gatewaytest.SecretKey)
	st, page := b.get("objects?bucket=data&at=s1")
	if st != http.StatusOK || !strings.Contains(page, "a.txt") || strings.Contains(page, "b.txt") || strings.Contains(page, `id="uploadform"`) || strings.Contains(page, "delete") {
		t.Fatalf("objects as of s1: %d\n%s", st, page)
	}
	if _, page = b.get("objects?bucket=data"); !strings.Contains(page, "b.txt") || !strings.Contains(page, `id="uploadform"`) {
		t.Fatalf("objects now:\n%s", page)
	}
	if st, page = b.get("download?bucket=data&key=a.txt&at=s1"); st != http.StatusOK || page != "v1" {
		t.Fatalf("download as of s1: %d %q", st, page)
	}
	if st, page = b.get("object?bucket=data&key=a.txt&at=s1"); st != http.StatusOK || !strings.Contains(page, "(2 bytes)") {
		t.Fatalf("object as of s1: %d\n%s", st, page)
	}
	if st, page = b.get("object?bucket=data&key=a.txt"); st != http.StatusOK || !strings.Contains(page, "(11 bytes)") {
		t.Fatalf("object now: %d\n%s", st, page)
	}
	if st, _ = b.get("objects?bucket=data&at=nosuch"); st != http.StatusNotFound {
		t.Fatalf("objects as of a missing snapshot: %d", st)
	}
}

// TestOwnListenerTLS serves the console on a net/http TLS listener of its
// own (as --console-addr does with a TLS S3 port): the session cookie is
// Secure, and sign-in and an upload work without the S3 front end.
func TestOwnListenerTLS(t *testing.T) {
	e := newEnv(t)
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "data"})
	srv := s3api.New(s3api.DefaultConfig(), e.svc, slog.New(slog.DiscardHandler))
	con, err := console.New(console.Config{Service: e.svc, Access: srv, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(con)
	defer ts.Close()
	b := e.browser(t)
	b.e = &env{base: ts.URL + console.Prefix, svc: e.svc}
	jar, _ := cookiejar.New(nil)
	b.c = ts.Client()
	b.c.Jar = jar
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	b.get("login")
	resp, err := b.c.PostForm(b.e.base+"login", url.Values{"csrf": {b.csrf}, "access_key": {gatewaytest.AccessKey}, "secret": {gatewaytest.SecretKey}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie string
	for _, v := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "forkstore_console=") {
			cookie = v
		}
	}
	if !strings.Contains(cookie, "; Secure") || !strings.Contains(cookie, "HttpOnly") {
		t.Fatalf("session cookie over TLS: %q", cookie)
	}
	if st, _ := b.get("objects?bucket=data"); st != http.StatusOK {
		t.Fatalf("objects: %d", st)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", b.csrf)
	fw, _ := mw.CreateFormFile("file", "tls.txt")
	fw.Write([]byte("over tls"))
	mw.Close()
	resp, err = b.c.Post(b.e.base+"upload?bucket=data", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, err := objectBody(t, e.svc, "data", "tls.txt"); resp.StatusCode != http.StatusSeeOther || got != "over tls" {
		t.Fatalf("upload: %d, %q %v", resp.StatusCode, got, err)
	}
}

// TestCountsShareOnePageBudget: the buckets and lineage pages bound each
// bucket's count by the page's budget divided among its buckets, so a
// page of many forks of a large bucket stays fast.
func TestCountsShareOnePageBudget(t *testing.T) {
	t.Cleanup(console.SetCountBudget(40)) // after the server stops (cleanups run last first)
	e := newEnv(t)
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "many"})
	for i := 0; i < 40; i++ {
		mustPut(t, e.svc, "many", fmt.Sprintf("k%02d", i), "x")
	}
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "many-f", ForkSource: "many"})
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "many-g", ForkSource: "many"})
	for i := 0; i < 30; i++ {
		mustPut(t, e.svc, "many-f", fmt.Sprintf("k%02d", i), "changed")
	}
	mustPut(t, e.svc, "many-g", "k00", "changed")
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "other1"})
	mustBucket(t, e.svc, gateway.CreateBucketInput{Name: "other2"})
	mustPut(t, e.svc, "other1", "a", "x")
	b := e.browser(t)
	b.signIn(gatewaytest.AccessKey, gatewaytest.SecretKey)

	// Five buckets share 40: each is counted up to 10 (the least bound).
	_, body := b.get("buckets")
	for bucket, want := range map[string]string{"many": "10&#43;", "many-f": "10&#43;", "other1": "1", "other2": "0"} {
		row := regexp.MustCompile(`data-bucket="` + bucket + `">.*\n<td class="num">([^<]*)</td>`).FindStringSubmatch(body)
		if row == nil || row[1] != want {
			t.Errorf("bucket %s: count %q, want %q:\n%s", bucket, row, want, body)
		}
	}
	// Two forks share 40: each counts up to 20 changed keys.
	_, body = b.get("lineage?bucket=many")
	if !strings.Contains(body, "20+ changed") || !strings.Contains(body, "1 changed") {
		t.Fatalf("lineage counts not bounded to 20 each:\n%s", body)
	}
}
