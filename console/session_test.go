package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway/gatewaytest"
)

// TestSessionAcrossNodes: two nodes whose consoles share the session key
// (as the nodes of a cluster do, from the cluster key) accept each
// other's sessions and CSRF tokens; a console with another key does not,
// nor does any console once the cookie is altered or has expired.
// Sign-out ends the session on the node that signs it out; another node
// accepts the cookie until it expires (the documented limit).
func TestSessionAcrossNodes(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	a, b := newEnvWith(t, key), newEnvWith(t, key)
	other := newEnvWith(t, []byte("another key, another cluster...."))

	br := a.browser(t)
	br.signIn(gatewaytest.AccessKey, gatewaytest.SecretKey)
	u, _ := url.Parse(a.base)
	var cookie string
	for _, ck := range br.c.Jar.Cookies(u) {
		if ck.Name == "forkstore_console" {
			cookie = ck.Value
		}
	}
	if cookie == "" {
		t.Fatal("no session cookie")
	}
	// get asks e's console for path with the session cookie alone.
	get := func(e *env, path, value string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.base+path, nil)
		req.AddCookie(&http.Cookie{Name: "forkstore_console", Value: value})
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get(b, "buckets", cookie); st != http.StatusOK {
		t.Fatalf("the session on the other node: %d", st)
	}
	if st := get(other, "buckets", cookie); st != http.StatusSeeOther {
		t.Errorf("a console of another key took the session: %d", st)
	}
	parts := strings.Split(cookie, ".")
	for name, v := range map[string]string{
		"another key id":   strings.Join([]string{parts[0], parts[1], parts[2], "YWRtaW4", parts[4]}, "."),
		"a later expiry":   strings.Join([]string{parts[0], parts[1], "99999999999", parts[3], parts[4]}, "."),
		"no signature":     strings.Join(parts[:4], "."),
		"another version":  strings.Join(append([]string{"2"}, parts[1:]...), "."),
		"the session id":   parts[1],
		"an empty session": "",
	} {
		if st := get(b, "buckets", v); st != http.StatusSeeOther {
			t.Errorf("%s: %d", name, st)
		}
	}
	// The same browser, on the other node: its forms carry the same CSRF
	// token, which that node checks.
	onB := b.browser(t)
	onB.c.Jar = br.c.Jar // the cookie is the host's, whatever the port
	if st, _ := onB.get("cluster"); st != http.StatusOK || onB.csrf == "" {
		t.Fatalf("cluster on the other node: %d", st)
	}
	if st, _, _ := onB.post("logout", url.Values{"csrf": {"forged"}}); st != http.StatusForbidden {
		t.Errorf("a forged token on the other node: %d", st)
	}
	if st, _, _ := onB.post("logout", url.Values{"csrf": {onB.csrf}}); st != http.StatusSeeOther {
		t.Fatalf("sign-out on the other node: %d", st)
	}
	if st := get(b, "buckets", cookie); st != http.StatusSeeOther {
		t.Errorf("the session after sign-out on the node that signed it out: %d", st)
	}
	if st := get(a, "buckets", cookie); st != http.StatusOK {
		t.Errorf("the first node, not told of the sign-out, until expiry: %d", st)
	}
	// Expiry is in the signed value: each node checks it on its clock.
	a.advance(2 * time.Hour)
	if st := get(a, "buckets", cookie); st != http.StatusSeeOther {
		t.Errorf("an expired session: %d", st)
	}
}
