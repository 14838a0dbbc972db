//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// forkTree writes files under root and returns name -> body.
func forkTree(t *testing.T, root string, files map[string][]byte) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// aws s3 sync (v1 and v2) into a fork: the base holds a tree; a modified
// tree synced into its fork with --delete uploads only the changed and
// new files and deletes only the removed ones (the fork's listing shows
// the parent's objects, so nothing else differs); a second sync does
// nothing; the parent is unchanged.
func TestForkAWSCLISync(t *testing.T) {
	t.Parallel()
	clis := findAWSCLIs()
	requireClient(t, len(clis) > 0, "the aws CLI")
	s := startServer(t)
	c := newForkClient(t, s)
	for _, cli := range clis {
		t.Run(cli.label, func(t *testing.T) {
			t.Parallel()
			t.Logf("%s: %s", cli.path, cli.version)
			a := &awsRunner{t: t, cli: cli, s: s, env: clientEnv(t, s), dir: t.TempDir()}
			base, fork := bucketName(t, "sync-"+cli.label), bucketName(t, "syncfork-"+cli.label)
			makeBucket(t, c, base)

			files := map[string][]byte{}
			for i := 0; i < 150; i++ {
				name := fmt.Sprintf("src/p%d/file-%03d.txt", i%6, i)
				if i%25 == 1 {
					name = fmt.Sprintf("docs/with space %03d.md", i)
				}
				files[name] = randBytes(uint64(5000+i), 200+i*13)
			}
			files["assets/big.bin"] = randBytes(4999, 9<<20) // multipart (8 MiB threshold)
			tree := a.path("tree")
			forkTree(t, tree, files)
			out := a.run("s3", "sync", "--no-progress", tree, "s3://"+base+"/")
			if n := countLines(out, "upload:"); n != len(files) {
				t.Fatalf("sync into the base: %d uploads, want %d\n%s", n, len(files), tail(out, 3000))
			}
			forkBucket(t, s, base, fork, "")

			// Modify the tree: 12 changed files (one the big one), 6 new
			// ones, 5 removed.
			modified := map[string][]byte{}
			for k, v := range files {
				modified[k] = v
			}
			var changed, added, removed []string
			i := 0
			for _, name := range sortedKeys(files) {
				switch {
				case i%12 == 5 && len(changed) < 11:
					changed = append(changed, name)
				case i%15 == 7 && len(removed) < 5:
					removed = append(removed, name)
				}
				i++
			}
			changed = append(changed, "assets/big.bin")
			for j, name := range changed {
				modified[name] = append(randBytes(uint64(7000+j), 50), files[name]...)
			}
			for j := 0; j < 6; j++ {
				name := fmt.Sprintf("new/n%d/added-%d.txt", j%2, j)
				added = append(added, name)
				modified[name] = randBytes(uint64(8000+j), 300)
			}
			for _, name := range removed {
				delete(modified, name)
				if err := os.Remove(filepath.Join(tree, filepath.FromSlash(name))); err != nil {
					t.Fatal(err)
				}
			}
			newer := map[string][]byte{}
			for _, name := range append(append([]string{}, changed...), added...) {
				newer[name] = modified[name]
			}
			forkTree(t, tree, newer)

			out = a.run("s3", "sync", "--no-progress", "--delete", tree, "s3://"+fork+"/")
			if n := countLines(out, "upload:"); n != len(changed)+len(added) {
				t.Errorf("sync into the fork: %d uploads, want %d (%d changed, %d new)\n%s", n, len(changed)+len(added), len(changed), len(added), tail(out, 3000))
			}
			if n := countLines(out, "delete:"); n != len(removed) {
				t.Errorf("sync into the fork: %d deletes, want %d\n%s", n, len(removed), tail(out, 3000))
			}
			out = a.run("s3", "sync", "--no-progress", "--delete", tree, "s3://"+fork+"/")
			if n := countLines(out, "upload:") + countLines(out, "delete:"); n != 0 {
				t.Errorf("second sync into the fork did %d uploads and deletes, want 0:\n%s", n, tail(out, 3000))
			}

			// A download sync of the fork gives the modified tree back.
			down := a.path("down")
			a.run("s3", "sync", "--no-progress", "s3://"+fork+"/", down)
			for name, want := range modified {
				got, err := os.ReadFile(filepath.Join(down, filepath.FromSlash(name)))
				if err != nil || string(got) != string(want) {
					t.Errorf("download of the fork: %s: %d bytes (%v), want %d", name, len(got), err, len(want))
				}
			}
			for _, name := range removed {
				if _, err := os.Stat(filepath.Join(down, filepath.FromSlash(name))); err == nil {
					t.Errorf("download of the fork has %s, removed by sync --delete", name)
				}
			}

			// The parent is unchanged: same keys, original bytes.
			diffLists(t, "parent listing after syncing into the fork", listKeys(t, c, base, minio.ListObjectsOptions{Recursive: true}), sortedKeys(files))
			for _, name := range append(append([]string{}, changed...), removed...) {
				if got := getBytes(t, c, base, name, minio.GetObjectOptions{}); string(got) != string(files[name]) {
					t.Errorf("parent %s changed: %d bytes, want %d", name, len(got), len(files[name]))
				}
			}
			out = a.run("s3", "ls", "--recursive", "s3://"+base+"/")
			if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != len(files) {
				t.Errorf("aws s3 ls of the parent: %d lines, want %d", n, len(files))
			}
			diffLists(t, "fork listing", listKeys(t, c, fork, minio.ListObjectsOptions{Recursive: true}), sortedKeys(modified))
		})
	}
}
