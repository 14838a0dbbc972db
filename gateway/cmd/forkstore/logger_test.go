package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/lni/dragonboat/v4"
)

// The server's log has one line per record, whatever the attributes: an
// error of Dragonboat's (cockroachdb/errors, whose %+v is a multi-line
// stack trace, which slog's text handler would print) is written as its
// message, wrapped or not, and so is a multi-line message.
func TestServerLogOneLinePerRecord(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, slog.LevelInfo)
	wrapped := fmt.Errorf("propose: %w", dragonboat.ErrTimeout)
	if !strings.Contains(fmt.Sprintf("%+v", dragonboat.ErrTimeout), "\n") {
		t.Fatal("the test error has no multi-line detailed form")
	}
	log.Warn("raft operation retrying", "op", "propose", "err", dragonboat.ErrTimeout)
	log.Warn("raft operation retrying", "err", wrapped)
	log.With("err", dragonboat.ErrTimeout).Warn("with")
	log.Error("multi-line message\nsecond line", "err", wrapped)
	log.Info("debug hidden")
	out := buf.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines for 5 records:\n%s", len(lines), out)
	}
	for _, want := range []string{"err=timeout", `err="propose: timeout"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, ".go:") || strings.Contains(out, "goroutine") {
		t.Errorf("log carries a stack trace:\n%s", out)
	}
}
