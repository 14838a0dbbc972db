//go:build cluster

package cluster

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// consoleClient is a browser of the web console: it keeps cookies and
// does not follow redirects.
type consoleClient struct {
	t    *testing.T
	c    *http.Client
	csrf string
}

var consoleCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func newConsoleClient(t *testing.T) *consoleClient {
	jar, _ := cookiejar.New(nil)
	return &consoleClient{t: t, c: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request with the session cookie alone (when set) and
// returns the status and body.
func (b *consoleClient) do(method, u string, form url.Values, session string) (int, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	c := b.c
	if session != "" {
		req.AddCookie(&http.Cookie{Name: "forkstore_console", Value: session})
		c = &http.Client{Timeout: b.c.Timeout, CheckRedirect: b.c.CheckRedirect}
	}
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if m := consoleCSRF.FindSubmatch(data); m != nil {
		b.csrf = string(m[1])
	}
	return resp.StatusCode, string(data)
}

// TestConsoleAcrossNodes: a console session signed in on one node is
// good on the others (their session keys come from the one cluster
// key); the cluster page of any node shows every member and the
// metadata shard replicated on all three; sign-out on a node ends the
// session there, while the others accept the cookie until it expires
// (the documented limit).
func TestConsoleAcrossNodes(t *testing.T) {
	c := startCluster(t, 3)
	n1, n2, n3 := c.Node(1), c.Node(2), c.Node(3)
	console := func(n *Node) string { return n.URL() + "/_forkstore/console/" }

	b := newConsoleClient(t)
	if st, _ := b.do(http.MethodGet, console(n1)+"login", nil, ""); st != http.StatusOK || b.csrf == "" {
		t.Fatalf("login page: %d", st)
	}
	if st, _ := b.do(http.MethodPost, console(n1)+"login", url.Values{"csrf": {b.csrf}, "access_key": {n1.User()}, "secret": {n1.Password()}}, ""); st != http.StatusSeeOther {
		t.Fatalf("sign-in on node 1: %d", st)
	}
	u, _ := url.Parse(console(n1))
	var session string
	for _, ck := range b.c.Jar.Cookies(u) {
		if ck.Name == "forkstore_console" {
			session = ck.Value
		}
	}
	if session == "" {
		t.Fatal("no session cookie")
	}
	for _, n := range []*Node{n2, n3} {
		st, body := b.do(http.MethodGet, console(n)+"cluster", nil, session)
		if st != http.StatusOK {
			t.Fatalf("cluster page of node %d with node 1's session: %d", n.ID, st)
		}
		for _, id := range []string{"1", "2", "3"} {
			if !strings.Contains(body, `<tr data-node="`+id+`">`) {
				t.Errorf("node %d's cluster page lacks node %s", n.ID, id)
			}
		}
		if !strings.Contains(body, `<td>1, 2, 3</td>`) || !strings.Contains(body, `id="chart-requests"`) {
			t.Errorf("node %d's cluster page: shard replicas or charts missing\n%s", n.ID, body)
		}
	}
	// Sign out on node 2 (with the CSRF token node 2's page gave).
	b.do(http.MethodGet, console(n2)+"buckets", nil, session)
	if st, _ := b.do(http.MethodPost, console(n2)+"logout", url.Values{"csrf": {b.csrf}}, session); st != http.StatusSeeOther {
		t.Fatalf("sign-out on node 2: %d", st)
	}
	if st, _ := b.do(http.MethodGet, console(n2)+"buckets", nil, session); st != http.StatusSeeOther {
		t.Errorf("node 2 after its sign-out: %d", st)
	}
	if st, _ := b.do(http.MethodGet, console(n3)+"buckets", nil, session); st != http.StatusOK {
		t.Errorf("node 3, not told of the sign-out, until expiry: %d", st)
	}
}
