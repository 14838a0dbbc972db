package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// result of one command line run in process.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs a command line with exactly env as its environment.
func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := execute(t.Context(), args, &out, &errb, lookup)
	return result{code, out.String(), errb.String()}
}

// allCommands walks the command tree.
func allCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		out = append(out, allCommands(sub)...)
	}
	return out
}

// Every command answers --help (and -h) with exit 0, without credentials,
// an endpoint or a server.
func TestHelpEverywhere(t *testing.T) {
	root := newApp(nil, nil, func(string) (string, bool) { return "", false }).rootCommand()
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	n := 0
	for _, c := range allCommands(root) {
		path := strings.Fields(c.CommandPath())[1:]
		for _, h := range []string{"--help", "-h"} {
			r := runCLI(t, nil, append(path, h)...)
			if r.code != exitOK || !strings.Contains(r.stdout, "Usage:") || r.stderr != "" {
				t.Errorf("forkstore %s %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(path, " "), h, r.code, r.stdout, r.stderr)
			}
		}
		n++
	}
	if n < 12 {
		t.Errorf("walked %d commands, want the whole tree", n)
	}
	// The client's commands list the environment they read; the server
	// its own.
	r := runCLI(t, nil, "fork", "create", "--help")
	for _, want := range []string{"FORKSTORE_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_CA_BUNDLE", "--json", "--snapshot"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("fork create --help does not mention %s:\n%s", want, r.stdout)
		}
	}
	r = runCLI(t, nil, "server", "--help")
	for _, want := range []string{"FORKSTORE_S3_ADDR", "FORKSTORE_ROOT_USER", "--raft-addr", "--max-fork-depth"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("server --help does not mention %s:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "--ca-bundle") || strings.Contains(r.stdout, "Global Flags") {
		t.Errorf("server --help lists the client's flags:\n%s", r.stdout)
	}
	// The help of a secret never shows the secret from the environment.
	r = runCLI(t, map[string]string{"AWS_SECRET_ACCESS_KEY": "s3cr3t-value"}, "snapshot", "list", "--help")
	if strings.Contains(r.stdout, "s3cr3t-value") {
		t.Errorf("--help shows the secret key:\n%s", r.stdout)
	}
}

// Mistakes in the command line exit 2 with one error line and a pointer to
// --help; errors of a command that ran exit 1.
func TestExitCodes(t *testing.T) {
	creds := map[string]string{"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
	usage := [][]string{
		{"bogus"},
		{"snapshot", "bogus"},
		{"snapshot", "creat", "b"},
		{"snapshot", "list"},
		{"snapshot", "list", "a", "b"},
		{"snapshot", "delete", "b"},
		{"fork", "create", "a"},
		{"fork", "create", "a", "b", "--snapshot"},
		{"fork", "list", "a", "--bogus"},
		{"--bogus", "fork", "list", "a"},
		{"bucket", "lineage"},
		{"version", "extra"},
		{"server", "--node-id", "0"},
		{"server", "--node-id", "x"},
		{"server", "--history", "-1h"},
		{"server", "--max-fork-depth", "100000"},
		{"server", "--log-level", "loud"},
		{"server", "--slow-request", "-1s"},
		{"server", "--slow-request", "soon"},
		{"server", "--inline-max", "2MiB"},
		{"server", "--inline-max", "lots"},
		{"server", "--tls-cert", "node.pem"},
		{"server", "--tls-key", "node-key.pem"},
		{"server", "extra"},
		{"snapshot", "list", "b", "--endpoint", "ftp://host"},
	}
	for _, args := range usage {
		r := runCLI(t, creds, args...)
		if r.code != exitUsage || r.stdout != "" {
			t.Errorf("forkstore %s: exit %d, stdout %q; want exit 2 and nothing on stdout", strings.Join(args, " "), r.code, r.stdout)
		}
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "forkstore: ") || !strings.Contains(lines[1], "--help") {
			t.Errorf("forkstore %s: stderr %q; want an error line and a pointer to --help", strings.Join(args, " "), r.stderr)
		}
	}
	for _, env := range []map[string]string{{"FORKSTORE_SLOW_REQUEST": "soon"}, {"FORKSTORE_ACCESS_LOG": "maybe"}} {
		if r := runCLI(t, env, "server"); r.code != exitUsage || !strings.Contains(r.stderr, "FORKSTORE_") {
			t.Errorf("server with %v: exit %d, %q", env, r.code, r.stderr)
		}
	}
	// --inline-max is known and checks its size (not refused as unknown).
	if r := runCLI(t, creds, "server", "--inline-max", "2MiB"); !strings.Contains(r.stderr, "--inline-max: want a size from 0 to 1MiB") {
		t.Errorf("--inline-max 2MiB: %q, want the flag's own error", r.stderr)
	}
	if r := runCLI(t, creds, "snapshot", "creat", "b"); !strings.Contains(r.stderr, "did you mean create") {
		t.Errorf("a misspelt subcommand: %q, want a suggestion", r.stderr)
	}

	// Bare groups print their help.
	for _, args := range [][]string{{}, {"snapshot"}, {"fork"}} {
		if r := runCLI(t, nil, args...); r.code != exitOK || !strings.Contains(r.stdout, "Available Commands") {
			t.Errorf("forkstore %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}

	// Runtime errors: no credentials, nothing listening.
	r := runCLI(t, nil, "fork", "list", "b")
	if r.code != exitError || !strings.Contains(r.stderr, "AWS_ACCESS_KEY_ID") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("without credentials: exit %d, stderr %q", r.code, r.stderr)
	}
	dead := closedPort(t)
	for _, args := range [][]string{
		{"fork", "list", "b", "--endpoint", "http://" + dead},
		{"--endpoint", dead, "--json", "fork", "list", "b"}, // global flags first, no scheme
		{"fork", "--json", "list", "--endpoint=" + dead, "b"},
	} {
		r = runCLI(t, creds, args...)
		if r.code != exitError || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "connection refused") ||
			!strings.Contains(r.stderr, "hint: is forkstore running there?") {
			t.Errorf("forkstore %s: exit %d, stderr %q; want exit 1, one line naming the refused connection with a hint", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	// The environment's endpoint, when no flag is given.
	env := map[string]string{"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "FORKSTORE_ENDPOINT": "http://" + dead}
	if r := runCLI(t, env, "bucket", "lineage", "b"); r.code != exitError || !strings.Contains(r.stderr, dead) {
		t.Errorf("FORKSTORE_ENDPOINT: exit %d, stderr %q", r.code, r.stderr)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestVersionAndCompletion(t *testing.T) {
	r := runCLI(t, nil, "version")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "forkstore ") || !strings.Contains(r.stdout, "go1.") {
		t.Errorf("version: exit %d %q", r.code, r.stdout)
	}
	if r2 := runCLI(t, nil, "--version"); r2.stdout != r.stdout {
		t.Errorf("--version %q differs from version %q", r2.stdout, r.stdout)
	}
	r = runCLI(t, nil, "--json", "version")
	var v buildVersion
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Version == "" || !strings.HasPrefix(v.Go, "go1.") {
		t.Errorf("version --json: %v %q", err, r.stdout)
	}
	for shell, want := range map[string]string{"bash": "complete -o default -F __start_forkstore forkstore", "zsh": "#compdef forkstore", "fish": "complete -c forkstore"} {
		r := runCLI(t, nil, "completion", shell)
		if r.code != exitOK || !strings.Contains(r.stdout, want) {
			t.Errorf("completion %s: exit %d, no %q in\n%.300s", shell, r.code, want, r.stdout)
		}
	}
	// Completion of commands and flags works without a server.
	r = runCLI(t, nil, "__complete", "snapshot", "")
	for _, want := range []string{"create", "list", "delete"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("completing snapshot subcommands: %q lacks %s", r.stdout, want)
		}
	}
}

// An https endpoint: the system roots do not trust a private CA (a hint
// names --ca-bundle); with the CA in --ca-bundle or AWS_CA_BUNDLE the
// request goes through; an https client against plain HTTP gets a hint too.
func TestTLSEndpoint(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" || !strings.HasPrefix(r.URL.Path, adminPrefix) {
			http.Error(w, "unsigned", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"code":"NoSuchBucket","message":"The specified bucket does not exist"}`))
	}))
	defer srv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "FORKSTORE_ENDPOINT": srv.URL}

	r := runCLI(t, env, "snapshot", "list", "b")
	if r.code != exitError || !strings.Contains(r.stderr, "--ca-bundle") {
		t.Errorf("untrusted certificate: exit %d, stderr %q; want a hint naming --ca-bundle", r.code, r.stderr)
	}
	r = runCLI(t, env, "snapshot", "list", "b", "--ca-bundle", bundle)
	if r.code != exitError || strings.TrimSpace(r.stderr) != "forkstore: NoSuchBucket: The specified bucket does not exist" {
		t.Errorf("--ca-bundle: exit %d, stderr %q; want the server's error", r.code, r.stderr)
	}
	env["AWS_CA_BUNDLE"] = bundle
	if r = runCLI(t, env, "snapshot", "list", "b"); !strings.Contains(r.stderr, "NoSuchBucket") {
		t.Errorf("AWS_CA_BUNDLE: exit %d, stderr %q", r.code, r.stderr)
	}
	if r = runCLI(t, env, "snapshot", "list", "b", "--ca-bundle", filepath.Join(t.TempDir(), "missing.pem")); r.code != exitError || !strings.Contains(r.stderr, "--ca-bundle") {
		t.Errorf("a missing --ca-bundle: exit %d, stderr %q", r.code, r.stderr)
	}

	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	env["FORKSTORE_ENDPOINT"] = strings.Replace(plain.URL, "http://", "https://", 1)
	if r = runCLI(t, env, "snapshot", "list", "b"); r.code != exitError || !strings.Contains(r.stderr, "use an http:// endpoint") {
		t.Errorf("https against plain HTTP: exit %d, stderr %q", r.code, r.stderr)
	}
	// A server that is not forkstore: an S3 XML error or HTML.
	env["FORKSTORE_ENDPOINT"] = plain.URL
	if r = runCLI(t, env, "snapshot", "list", "b"); r.code != exitError || !strings.Contains(r.stderr, "HTTP 404") || !strings.Contains(r.stderr, "a forkstore server?") {
		t.Errorf("not a forkstore server: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestOutputHelpers(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		in   *int64
		want string
	}{{nil, ""}, {n(0), "0 B"}, {n(812), "812 B"}, {n(4 << 20), "4.0 MiB"}, {n(5 << 30), "5.0 GiB"}} {
		if got := size(tc.in); got != tc.want {
			t.Errorf("size(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// time.Local is read by goroutines that outlive other tests (HTTP
	// transports), so it is not swapped here: the local rendering is
	// compared with the same instant in the machine's zone.
	want := time.Date(2025, 7, 4, 12, 25, 10, 0, time.UTC).Local().Format("2006-01-02 15:04:05 MST")
	if got := localTime("2025-07-04T12:25:10.169675092Z"); got != want {
		t.Errorf("localTime = %q, want %q", got, want)
	}
	if got := localTime("not a time"); got != "not a time" {
		t.Errorf("localTime of garbage = %q", got)
	}

	var b bytes.Buffer
	tb := newTable(&b, "A", "LONGER")
	tb.row("x\ty", "")
	tb.row("long value", "v")
	tb.flush()
	want = "A           LONGER\nx y         -\nlong value  v\n"
	if b.String() != want {
		t.Errorf("table:\n%q\nwant\n%q", b.String(), want)
	}

	b.Reset()
	if err := writeJSON(&b, []byte(`{"b":1,"a":{"size":18446744073709551615}}`)); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"a\": {\n    \"size\": 18446744073709551615\n  },\n  \"b\": 1\n}\n"; b.String() != want {
		t.Errorf("writeJSON:\n%s\nwant\n%s", b.String(), want)
	}
}

func TestErrorLine(t *testing.T) {
	e := &apiError{endpoint: "http://h:1", status: 503, code: "ServiceUnavailable", message: "Please reduce your request rate.\nNow."}
	got := errorLine(e)
	if strings.Contains(got, "\n") || !strings.HasPrefix(got, "ServiceUnavailable: Please reduce") || !strings.Contains(got, "not ready") {
		t.Errorf("errorLine = %q", got)
	}
	e = &apiError{endpoint: "http://h:1", status: 500, code: "InternalError", message: "We encountered an internal error.", requestID: "ABC"}
	if got := errorLine(e); !strings.Contains(got, "request_id=ABC") {
		t.Errorf("errorLine of a 500 = %q, want the request id", got)
	}
	ctxErr := &transportError{endpoint: "http://h:1", err: context.DeadlineExceeded}
	if got := errorLine(ctxErr); !strings.Contains(got, "did not answer") {
		t.Errorf("errorLine of a timeout = %q", got)
	}
}
