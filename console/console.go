// Package console is forkstore's web console, served under
// /_forkstore/console/ on the S3 port (and on --console-addr): the fork
// tree of a bucket drawn as SVG, a fork's diff and its merge, the objects
// of a bucket, keys and leases, and the cluster. Pages are rendered on
// the server with html/template; the CSS and the little JavaScript are
// embedded; nothing is loaded from elsewhere (a strict
// Content-Security-Policy says so to the browser).
//
// A person signs in with an access key id and its secret (the root key or
// a scoped key) and gets a session: a cookie (HttpOnly, SameSite=Strict,
// Secure over TLS) holding a random session id, the access key and the
// expiry, signed with an HMAC under the session key, and a CSRF token
// every form carries, derived from the session id under the same key.
// Consoles given the same session key (the nodes of a cluster) accept
// each other's sessions; sign-out ends a session on the node that
// signs it out. Every page asks Access, the same
// authorization the S3 and admin API requests go through, whether the
// signed-in key may do what the page does: the console never does more
// than that key could with an S3 client.
package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/forkstore/forkstore/gateway"
)

// Prefix is the path the console is served under.
const Prefix = "/_forkstore/console/"

// Access is how the console authenticates and authorizes: the S3 front
// end's own decisions (s3api.Server implements it).
type Access interface {
	// SignIn checks an access key id and secret and returns who it is.
	SignIn(ctx context.Context, accessKey, secret string) (*gateway.Principal, error)
	// Principal returns who an access key is now (false once deleted or
	// expired).
	Principal(ctx context.Context, accessKey string) (*gateway.Principal, bool)
	// Authorize decides whether p may do the S3 operation op ("GetObject",
	// "ListObjectsV2", "PutObject", "DeleteObject", "HeadBucket"; "Lineage"
	// and "Diff" for the reads of the admin API; "Admin" for the rest of
	// it) on bucket and key (or listing prefix).
	Authorize(ctx context.Context, p *gateway.Principal, op, bucket, key string) error
}

// Config configures a Console.
type Config struct {
	Service *gateway.Service
	Access  Access
	// SessionTTL is how long a session lasts after sign-in (default 1h).
	SessionTTL time.Duration
	// SessionKey signs the session cookies and derives the CSRF tokens:
	// consoles given the same key accept each other's sessions (main
	// derives it from the cluster key, which every node of a cluster
	// has). Empty: a random key, so only this process accepts them.
	SessionKey []byte
	// Secure marks the cookies Secure (the console is served over TLS).
	Secure bool
	// Figures, if set, returns a few live figures for the cluster page
	// (name -> value), read from the node's metrics.
	Figures func() []Figure
	// History, if set, keeps the samples the cluster page charts
	// (requests/s, p99 latency, bytes in and out); its last sample's
	// rates are shown among the figures too. The caller runs it.
	History *History
	Logger  *slog.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Figure is one live figure of the cluster page.
type Figure struct {
	Name  string
	Value string
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Console is the console's http.Handler.
type Console struct {
	cfg    Config
	svc    *gateway.Service
	access Access
	log    *slog.Logger
	pages  map[string]*template.Template
	static http.Handler
	mux    *http.ServeMux

	key []byte // SessionKey

	mu sync.Mutex
	// started are the sessions signed in here (id -> expiry), until
	// they expire or sign out: the Sessions figure.
	started map[string]time.Time
	// signedOut are the sessions signed out here (id -> expiry), which
	// this console refuses until they expire.
	signedOut map[string]time.Time
}

// session is a signed-in browser.
type session struct {
	id        string
	accessKey string
	csrf      string
	expires   time.Time
}

// sessionCookie and preCookie are the session's cookie and, before
// sign-in, the cookie the sign-in form's CSRF token is checked against.
const (
	sessionCookie = "forkstore_console"
	preCookie     = "forkstore_console_pre"
	// maxSessions bounds the sessions remembered as started or signed
	// out.
	maxSessions = 10000
)

// csp is the Content-Security-Policy of every answer: only this origin's
// embedded CSS and script, no inline script or style, no frames, forms
// post only here.
const csp = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// New returns the console for cfg.
func New(cfg Config) (*Console, error) {
	if cfg.Service == nil || cfg.Access == nil {
		return nil, errors.New("console: Service and Access are required")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	key := cfg.SessionKey
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	c := &Console{cfg: cfg, svc: cfg.Service, access: cfg.Access, log: cfg.Logger, key: key,
		started: map[string]time.Time{}, signedOut: map[string]time.Time{}, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{"bytes": humanBytes, "visible": visible, "when": when, "version": versionTime, "u64": func(v uint64) string { return strconv.FormatUint(v, 10) }, "replicas": replicaList, "left": func(ns int64) string { return leftString(time.Unix(0, ns).Sub(cfg.Now())) }}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		c.pages[base] = t
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	files := http.StripPrefix(Prefix+"static/", http.FileServer(http.FS(sub)))
	c.static = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		files.ServeHTTP(w, r)
	})
	c.routes()
	return c, nil
}

func (c *Console) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET "+Prefix+"{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"buckets", http.StatusSeeOther)
	})
	m.Handle("GET "+Prefix+"static/", c.static)
	m.HandleFunc("GET "+Prefix+"login", c.loginPage)
	m.HandleFunc("POST "+Prefix+"login", c.login)
	m.HandleFunc("POST "+Prefix+"logout", c.form(c.logout))
	m.HandleFunc("GET "+Prefix+"buckets", c.page(c.buckets))
	m.HandleFunc("GET "+Prefix+"lineage", c.page(c.lineage))
	m.HandleFunc("GET "+Prefix+"diff", c.page(c.diff))
	m.HandleFunc("POST "+Prefix+"merge", c.form(c.merge))
	m.HandleFunc("GET "+Prefix+"objects", c.page(c.objects))
	m.HandleFunc("GET "+Prefix+"download", c.page(c.download))
	m.HandleFunc("GET "+Prefix+"object", c.page(c.object))
	m.HandleFunc("POST "+Prefix+"upload", c.multipartForm(c.upload))
	m.HandleFunc("POST "+Prefix+"delete", c.form(c.deleteObject))
	m.HandleFunc("GET "+Prefix+"keys", c.page(c.keys))
	m.HandleFunc("POST "+Prefix+"keys/create", c.form(c.createKey))
	m.HandleFunc("POST "+Prefix+"keys/delete", c.form(c.deleteKey))
	m.HandleFunc("POST "+Prefix+"forks/create", c.form(c.createForks))
	m.HandleFunc("POST "+Prefix+"renew", c.form(c.renew))
	m.HandleFunc("GET "+Prefix+"cluster", c.page(c.cluster))
	m.HandleFunc("GET "+Prefix+"cluster/live", c.page(c.clusterLive))
	c.mux = m
}

// ServeHTTP serves the console, with the security headers on every answer.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.URL.Path == strings.TrimSuffix(Prefix, "/") {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	c.mux.ServeHTTP(w, r)
}

// req is one signed-in request.
type req struct {
	w    http.ResponseWriter
	r    *http.Request
	ctx  context.Context
	s    *session
	p    *gateway.Principal
	data map[string]any
}

// handler serves a signed-in request; it renders (or redirects) itself,
// or returns an error to show.
type handler func(q *req) error

// page wraps a GET handler: a session is required.
func (c *Console) page(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, ok := c.signedIn(w, r)
		if !ok {
			return
		}
		c.run(q, h)
	}
}

// form wraps a POST handler: a session and its CSRF token are required.
func (c *Console) form(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
		q, ok := c.signedIn(w, r)
		if !ok {
			return
		}
		if !tokenEqual(r.PostFormValue("csrf"), q.s.csrf) {
			c.fail(w, http.StatusForbidden, errCSRF)
			return
		}
		c.run(q, h)
	}
}

// errCSRF answers a form without the session's CSRF token.
const errCSRF = "The form's CSRF token is missing or wrong: reload the page and try again."

// multipartForm wraps a POST handler of a multipart form (an upload): a
// session is required; the handler reads the form as it streams and
// checks the CSRF token (checkCSRFPart), which the form sends first.
func (c *Console) multipartForm(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
		q, ok := c.signedIn(w, r)
		if !ok {
			return
		}
		c.run(q, h)
	}
}

func (c *Console) run(q *req, h handler) {
	if err := h(q); err != nil {
		status, msg := errorStatus(err)
		q.w.WriteHeader(status)
		q.data["Error"] = msg
		c.render(q, "error")
	}
}

// signedIn finds the request's session, or sends the browser to sign in.
func (c *Console) signedIn(w http.ResponseWriter, r *http.Request) (*req, bool) {
	s := c.session(r)
	if s == nil {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
		} else {
			c.fail(w, http.StatusUnauthorized, "Not signed in (or the session expired).")
		}
		return nil, false
	}
	p, ok := c.access.Principal(r.Context(), s.accessKey)
	if !ok {
		// The key was deleted or expired: so is its session.
		c.drop(s)
		http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
		return nil, false
	}
	q := &req{w: w, r: r, ctx: r.Context(), s: s, p: p}
	q.data = map[string]any{"CSRF": s.csrf, "Key": s.accessKey, "Root": p.Root, "Prefix": Prefix}
	return q, true
}

func (c *Console) session(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	s := c.parseSession(ck.Value)
	if s == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, out := c.signedOut[s.id]; out {
		return nil
	}
	return s
}

// drop ends session s on this console: it refuses its cookie until the
// session would have expired.
func (c *Console) drop(s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.started, s.id)
	remember(c.signedOut, s.id, s.expires, c.cfg.Now())
}

// remember records id until expires in m, first forgetting what expired
// by now and, at the cap, what expires first.
func remember(m map[string]time.Time, id string, expires, now time.Time) {
	for k, e := range m {
		if !now.Before(e) {
			delete(m, k)
		}
	}
	if len(m) >= maxSessions {
		first := ""
		for k, e := range m {
			if first == "" || e.Before(m[first]) {
				first = k
			}
		}
		delete(m, first)
	}
	m[id] = expires
}

// newSession starts a session for accessKey.
func (c *Console) newSession(accessKey string) *session {
	now := c.cfg.Now()
	id := randomToken()[:22] // 128 bits
	s := &session{id: id, accessKey: accessKey, csrf: c.csrfToken(id), expires: now.Add(c.cfg.SessionTTL).Truncate(time.Second)}
	c.mu.Lock()
	remember(c.started, s.id, s.expires, now)
	c.mu.Unlock()
	return s
}

// sessionVersion starts every session cookie; a cookie of another
// version is refused.
const sessionVersion = "1"

// sessionValue is s's cookie: version, id, expiry (Unix seconds) and
// access key (base64url), and the HMAC of the four under the session
// key, joined by dots.
func (c *Console) sessionValue(s *session) string {
	body := sessionVersion + "." + s.id + "." + strconv.FormatInt(s.expires.Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString([]byte(s.accessKey))
	return body + "." + c.mac("session", body)
}

// parseSession returns the session of a cookie value, or nil when the
// value is not one this console's key signed, or it expired.
func (c *Console) parseSession(v string) *session {
	parts := strings.Split(v, ".")
	if len(parts) != 5 || parts[0] != sessionVersion || parts[1] == "" {
		return nil
	}
	body := strings.Join(parts[:4], ".")
	if !tokenEqual(parts[4], c.mac("session", body)) {
		return nil
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || !c.cfg.Now().Before(time.Unix(exp, 0)) {
		return nil
	}
	key, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil || len(key) == 0 {
		return nil
	}
	return &session{id: parts[1], accessKey: string(key), csrf: c.csrfToken(parts[1]), expires: time.Unix(exp, 0)}
}

// csrfToken is the CSRF token of session id.
func (c *Console) csrfToken(id string) string { return c.mac("csrf", id) }

// mac is the HMAC-SHA256 of what under the session key, for purpose.
func (c *Console) mac(purpose, what string) string {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte("forkstore console " + purpose + "\x00" + what))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// Sessions is the number of sessions signed in on this console that have
// neither expired nor signed out (tests, figures).
func (c *Console) Sessions() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	now, n := c.cfg.Now(), 0
	for _, e := range c.started {
		if now.Before(e) {
			n++
		}
	}
	return n
}

func (c *Console) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge, HttpOnly: true,
		Secure: c.cfg.Secure, SameSite: http.SameSiteStrictMode}
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.showLogin(w, r, http.StatusOK, "")
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok := randomToken()
	http.SetCookie(w, c.cookie(preCookie, tok, 600))
	q := &req{w: w, r: r, ctx: r.Context(), data: map[string]any{"CSRF": tok, "Prefix": Prefix, "Error": msg}}
	w.WriteHeader(status)
	c.render(q, "login")
}

// login checks the key and its secret and starts a session.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	pre, err := r.Cookie(preCookie)
	if err != nil || !tokenEqual(r.PostFormValue("csrf"), pre.Value) {
		c.fail(w, http.StatusForbidden, "The sign-in form's CSRF token is missing or wrong: reload the page and try again.")
		return
	}
	id := strings.TrimSpace(r.PostFormValue("access_key"))
	p, err := c.access.SignIn(r.Context(), id, r.PostFormValue("secret"))
	if err != nil || p == nil {
		c.log.Info("console sign-in refused", "access_key", id, "remote", r.RemoteAddr)
		c.showLogin(w, r, http.StatusUnauthorized, "The access key or the secret is wrong.")
		return
	}
	s := c.newSession(id)
	http.SetCookie(w, c.cookie(preCookie, "", -1))
	http.SetCookie(w, c.cookie(sessionCookie, c.sessionValue(s), int(c.cfg.SessionTTL.Seconds())))
	http.Redirect(w, r, Prefix+"buckets", http.StatusSeeOther)
}

func (c *Console) logout(q *req) error {
	c.drop(q.s)
	http.SetCookie(q.w, c.cookie(sessionCookie, "", -1))
	http.Redirect(q.w, q.r, Prefix+"login", http.StatusSeeOther)
	return nil
}

// render executes a page into the response.
func (c *Console) render(q *req, page string) {
	t := c.pages[page]
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	q.data["Page"] = page
	if err := t.ExecuteTemplate(q.w, "layout.html", q.data); err != nil {
		c.log.Warn("console render", "page", page, "err", err)
	}
}

// fail answers a plain error page without a session.
func (c *Console) fail(w http.ResponseWriter, status int, msg string) {
	q := &req{w: w, data: map[string]any{"Error": msg, "Prefix": Prefix}}
	w.WriteHeader(status)
	c.render(q, "error")
}

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("console: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func tokenEqual(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
