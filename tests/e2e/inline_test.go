//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
)

// TestInlineMaxFlag: --inline-max decides which bodies are kept in their
// metadata record and which go to chunk files: by default up to 4 KiB
// inline, with 0 every non-empty body a chunk file. Each object reads back
// whole either way.
func TestInlineMaxFlag(t *testing.T) {
	for _, tc := range []struct {
		flag   []string
		inline []int // body sizes kept inline
		chunks []int // body sizes written to chunk files
	}{
		{nil, []int{1, 4 << 10}, []int{4<<10 + 1, 64 << 10}},
		{[]string{"--inline-max", "0"}, nil, []int{1, 100}},
	} {
		t.Run(fmt.Sprintf("flag=%v", tc.flag), func(t *testing.T) {
			dir := t.TempDir()
			s := startServer(t, harness.WithDataDir(dir), harness.WithArgs(tc.flag...))
			if s.IsExternal() {
				t.Skip("needs its own server's data directory")
			}
			c := newClient(t, s)
			makeBucket(t, c, "inline")
			check := func(sizes []int, wantFiles func(before int) int) {
				for _, n := range sizes {
					before := chunkFiles(t, dir)
					body := randBytes(uint64(n), n)
					key := fmt.Sprintf("k%d", n)
					putBytes(t, c, "inline", key, body, minio.PutObjectOptions{DisableMultipart: true})
					if got, want := chunkFiles(t, dir), wantFiles(before); got != want {
						t.Errorf("%d bytes: %d chunk files after the PUT, want %d", n, got, want)
					}
					if got := getBytes(t, c, "inline", key, minio.GetObjectOptions{}); !bytes.Equal(got, body) {
						t.Errorf("%d bytes: read back %d bytes that differ", n, len(got))
					}
				}
			}
			check(tc.inline, func(before int) int { return before })
			check(tc.chunks, func(before int) int { return before + 1 })
		})
	}
}

// chunkFiles counts the chunk files in a server's data directory.
func chunkFiles(t *testing.T, dataDir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(dataDir, "chunks"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(d.Name(), ".tmp") && !strings.HasPrefix(d.Name(), "direct-probe") {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
