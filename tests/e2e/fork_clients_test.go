//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The boto3 scripts about snapshots and forks (tests/clients/fork_*.py),
// each against its own server.
func TestForkBoto3(t *testing.T) {
	t.Parallel()
	py := findPython()
	requireClient(t, py != "", "python3 with boto3")
	dir := clientsDir(t)
	scripts, err := filepath.Glob(filepath.Join(dir, "fork_*.py"))
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no fork_*.py scripts in %s: %v", dir, err)
	}
	for _, script := range scripts {
		name := strings.TrimSuffix(filepath.Base(script), ".py")
		t.Run(name, func(t *testing.T) {
			s := startServer(t)
			env := append(clientEnv(t, s), "FORKSTORE_BUCKET="+bucketName(t, "fkb3"))
			start := time.Now()
			out, errOut, err := tryClient(t, env, dir, 5*time.Minute, py, script)
			if err != nil {
				t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", py, filepath.Base(script), err, tail(out, 4000), tail(errOut, 8000))
			}
			t.Logf("%s took %v:\n%s", filepath.Base(script), time.Since(start).Round(time.Millisecond), strings.TrimSpace(out))
		})
	}
}
