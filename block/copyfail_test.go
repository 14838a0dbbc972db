package block

import (
	"bytes"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(substr string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return out
}

// Chunk copies to a peer that is down are logged once for the peer (not
// once per chunk: 116 failed copies made 116 WARN lines), again with a
// count while it stays down for long, and once more, with the count, when
// a copy reaches it again.
func TestCopyFailuresOncePerPeer(t *testing.T) {
	var buf lockedBuffer
	f := newCopyFailures(slog.New(slog.NewTextHandler(&buf, nil)))
	now := time.Unix(1000, 0)
	f.now = func() time.Time { return now }
	down := errors.New("dial tcp 127.0.0.1:9: connect: connection refused")

	var wg sync.WaitGroup
	for i := range 116 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.failed(2, "chunk-"+strconv.Itoa(i), down)
		}()
	}
	wg.Wait()
	f.failed(3, "chunk-x", down)
	f.succeeded(4) // a healthy peer: nothing to say
	if got := buf.lines("level=WARN"); len(got) != 2 {
		t.Fatalf("%d WARN lines for 117 failed copies to 2 peers, want 2:\n%s", len(got), strings.Join(got, "\n"))
	}
	if got := buf.lines("node=2"); len(got) != 1 || !strings.Contains(got[0], "connection refused") {
		t.Fatalf("node 2 lines: %q", got)
	}

	now = now.Add(copyFailReportEvery)
	f.failed(2, "chunk-late", down)
	f.failed(2, "chunk-later", down)
	still := buf.lines("still failing")
	if len(still) != 1 || !strings.Contains(still[0], "node=2") || !strings.Contains(still[0], "failed=117") {
		t.Fatalf("reminder lines: %q", still)
	}

	now = now.Add(time.Minute)
	f.succeeded(2)
	f.succeeded(2)
	back := buf.lines("work again")
	if len(back) != 1 || !strings.Contains(back[0], "level=INFO") || !strings.Contains(back[0], "node=2") ||
		!strings.Contains(back[0], "failed=118") || !strings.Contains(back[0], "down_for=6m0s") {
		t.Fatalf("back lines: %q", back)
	}
	// Down again: reported again.
	f.failed(2, "chunk-again", down)
	if got := buf.lines("are failing"); len(got) != 3 {
		t.Fatalf("%d first-failure lines after the peer failed again, want 3", len(got))
	}
}
