//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
)

// External S3 clients (the aws CLI and boto3) run as child processes with
// an environment of their own: credentials and endpoint from the test, a
// temporary HOME and config files, and no AWS_* settings of the machine,
// so every client runs with its default checksum and retry settings.

// clientEnv returns the environment for a client process talking to s.
func clientEnv(t testing.TB, s *harness.Server) []string {
	t.Helper()
	home := t.TempDir()
	for _, f := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(home, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "AWS_"), strings.HasPrefix(k, "BOTO_"), strings.HasPrefix(k, "FORKSTORE_"),
			k == "HOME", k == "PYTHONPATH", k == "PYTHONHOME":
			continue
		}
		env = append(env, kv)
	}
	// pyenv shims locate their root from HOME unless told.
	if os.Getenv("PYENV_ROOT") == "" {
		if realHome, err := os.UserHomeDir(); err == nil {
			if _, err := os.Stat(filepath.Join(realHome, ".pyenv")); err == nil {
				env = append(env, "PYENV_ROOT="+filepath.Join(realHome, ".pyenv"))
			}
		}
	}
	return append(env,
		"HOME="+home,
		"AWS_CONFIG_FILE="+filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"AWS_ACCESS_KEY_ID="+s.User(),
		"AWS_SECRET_ACCESS_KEY="+s.Password(),
		"AWS_DEFAULT_REGION="+s.Region(),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		"AWS_CLI_AUTO_PROMPT=off",
		"FORKSTORE_ENDPOINT="+s.URL(),
		"PYTHONUNBUFFERED=1",
		"PYTHONDONTWRITEBYTECODE=1",
	)
}

// awsCLI is one installed aws CLI.
type awsCLI struct {
	label   string // v1 or v2
	path    string
	version string // first line of `aws --version`
}

var (
	awsCLIsOnce sync.Once
	awsCLIs     []awsCLI
)

// findAWSCLIs returns the installed aws CLIs, at most one per major
// version: the one on PATH (pip's v1 here) and Debian's /usr/bin/aws (v2).
func findAWSCLIs() []awsCLI {
	awsCLIsOnce.Do(func() {
		var cands []string
		if p, err := exec.LookPath("aws"); err == nil {
			cands = append(cands, p)
		}
		cands = append(cands, "/usr/bin/aws", "/usr/local/bin/aws")
		seen := map[string]bool{}
		re := regexp.MustCompile(`aws-cli/(\d+)\.`)
		for _, p := range cands {
			if _, err := os.Stat(p); err != nil {
				continue
			}
			cmd := exec.Command(p, "--version")
			cmd.Env = append(os.Environ(), "AWS_PAGER=")
			out, err := cmd.CombinedOutput()
			if err != nil {
				continue
			}
			m := re.FindSubmatch(out)
			if m == nil {
				continue
			}
			label := "v" + string(m[1])
			if seen[label] {
				continue
			}
			seen[label] = true
			awsCLIs = append(awsCLIs, awsCLI{label: label, path: p, version: strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])})
		}
	})
	return awsCLIs
}

// requireClient skips (or, under CI, fails) when a client is missing.
func requireClient(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (make deps installs it)", what)
	}
	t.Skipf("%s is not installed (make deps installs it)", what)
}

// runClient runs a client command, failing the test with its output when
// it exits non-zero. It returns stdout.
func runClient(t testing.TB, env []string, dir string, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	out, errOut, err := tryClient(t, env, dir, timeout, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), err, tail(out, 4000), tail(errOut, 8000))
	}
	return out
}

// tryClient runs a client command and returns stdout, stderr and the error.
func tryClient(t testing.TB, env []string, dir string, timeout time.Duration, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(testCtx(t), timeout)
	defer cancel()
	// CommandContext kills only this child when the deadline passes.
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		err = &timeoutError{timeout}
	}
	return stdout.String(), stderr.String(), err
}

type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string { return "timed out after " + e.d.String() }

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
