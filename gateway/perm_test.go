package gateway_test

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
)

// Object bytes are private: a data dir left open to other local users
// (0755, as earlier versions made it) is restricted to 0700 at start with
// a warning, and the directories the node makes in it are 0700 too.
func TestDataDirPermissions(t *testing.T) {
	cfg := gatewaytest.Config(t)
	if err := os.Chmod(cfg.DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := gateway.Start(ctx, cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, d := range []string{cfg.DataDir, filepath.Join(cfg.DataDir, "chunks"), filepath.Join(cfg.DataDir, "raft"), filepath.Join(cfg.DataDir, "meta")} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o700 {
			t.Errorf("%s: mode %v, want 0700", d, perm)
		}
	}
	if !strings.Contains(logs.String(), "data dir") || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("no warning about the data dir's mode; logs:\n%s", logs.String())
	}
}

// Chunk files are 0600 in 0700 directories: no other local user reads an
// object's bytes.
func TestChunkFilePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chunks")
	s, err := gateway.OpenChunkStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Create()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("private bytes")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	files := 0
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != 1 {
		t.Fatalf("%d chunk files, want 1", files)
	}
}
