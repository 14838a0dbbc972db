package gateway

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// Object bytes and metadata are private to the user the server runs as:
// the data dir and the directories the node makes in it are 0700, chunk
// files 0600 (Badger makes its own files 0600). Earlier versions made them
// 0755 and 0644; privateDir restricts such a directory at start.

// privateDir creates dir (0700) if needed and, when it exists with access
// for the group or others, restricts it to 0700 and logs a warning.
func privateDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("restricting %s (mode %v) to 0700: %w", dir, perm, err)
		}
		log.Warn("data dir was open to other local users: restricted to 0700", "dir", dir, "was", fs.FileMode(perm).String())
	}
	return nil
}
