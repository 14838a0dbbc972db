//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
)

var (
	pythonOnce sync.Once
	pythonPath string
)

// findPython returns the first python3 that can import boto3: the one on
// PATH (pyenv's here), then Debian's (python3-boto3, installed by make deps).
func findPython() string {
	pythonOnce.Do(func() {
		var cands []string
		if p, err := exec.LookPath("python3"); err == nil {
			cands = append(cands, p)
		}
		cands = append(cands, "/usr/bin/python3")
		for _, p := range cands {
			cmd := exec.Command(p, "-c", "import boto3")
			if cmd.Run() == nil {
				pythonPath = p
				return
			}
		}
	})
	return pythonPath
}

// clientsDir is tests/clients, next to this package.
func clientsDir(t testing.TB) string {
	t.Helper()
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "tests", "clients")
}

// boto3 scripts in tests/clients, each in its own bucket on one server.
func TestBoto3(t *testing.T) {
	t.Parallel()
	py := findPython()
	requireClient(t, py != "", "python3 with boto3")
	dir := clientsDir(t)
	scripts, err := filepath.Glob(filepath.Join(dir, "*.py"))
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts in %s: %v", dir, err)
	}
	s := startServer(t)
	for _, script := range scripts {
		name := strings.TrimSuffix(filepath.Base(script), ".py")
		if name == "common" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := append(clientEnv(t, s), "FORKSTORE_BUCKET="+bucketName(t, "boto3-"+name))
			start := time.Now()
			out, errOut, err := tryClient(t, env, dir, 5*time.Minute, py, script)
			if err != nil {
				t.Errorf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", py, filepath.Base(script), err, tail(out, 4000), tail(errOut, 8000))
				return
			}
			t.Logf("%s took %v:\n%s", filepath.Base(script), time.Since(start).Round(time.Millisecond), strings.TrimSpace(out))
		})
	}
}

// The scripts must exist where the driver looks for them.
func TestBoto3ScriptsPresent(t *testing.T) {
	for _, name := range []string{"common", "transfer", "presign", "listing", "checksums", "bucket", "conformance", "conditional", "acl", "policy", "users"} {
		if _, err := os.Stat(filepath.Join(clientsDir(t), name+".py")); err != nil {
			t.Errorf("tests/clients/%s.py: %v", name, err)
		}
	}
}
