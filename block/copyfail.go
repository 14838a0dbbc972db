package block

import (
	"log/slog"
	"sync"
	"time"
)

// copyFailReportEvery is how often a peer that keeps failing chunk copies
// is reported again, with the count so far.
const copyFailReportEvery = 5 * time.Minute

// copyFailures logs failed chunk copies per peer rather than per chunk:
// while a peer is down every chunk written fails to reach it (repair
// brings those copies later), and one line per chunk buries the log. The
// first failure is a WARN naming the peer and the error, a peer that
// keeps failing is reported again every copyFailReportEvery with the
// count, and the first copy that reaches it again is an INFO with the
// number of copies that failed meanwhile.
type copyFailures struct {
	log *slog.Logger
	now func() time.Time

	mu   sync.Mutex
	down map[uint64]*peerCopyFailures
}

type peerCopyFailures struct {
	since, reported time.Time
	failed          int64 // since the first failure
	unreported      int64 // since the last report
}

func newCopyFailures(log *slog.Logger) *copyFailures {
	return &copyFailures{log: log, now: time.Now, down: make(map[uint64]*peerCopyFailures)}
}

// failed records a chunk copy to node that failed with err.
func (f *copyFailures) failed(node uint64, chunk string, err error) {
	f.mu.Lock()
	now := f.now()
	d := f.down[node]
	if d == nil {
		f.down[node] = &peerCopyFailures{since: now, reported: now, failed: 1}
		f.mu.Unlock()
		f.log.Warn("chunk copies to a node are failing; repair copies the missing chunks when it is back (reported again with a count)",
			"node", node, "chunk", chunk, "err", err.Error())
		return
	}
	d.failed++
	d.unreported++
	if now.Sub(d.reported) < copyFailReportEvery {
		f.mu.Unlock()
		return
	}
	failed, unreported, since := d.failed, d.unreported, d.since
	d.reported, d.unreported = now, 0
	f.mu.Unlock()
	f.log.Warn("chunk copies to a node still failing", "node", node, "failed", failed, "failed_since_last_report", unreported,
		"down_for", now.Sub(since).Round(time.Second).String(), "err", err.Error())
}

// succeeded records a chunk copy to node that worked.
func (f *copyFailures) succeeded(node uint64) {
	f.mu.Lock()
	d := f.down[node]
	if d == nil {
		f.mu.Unlock()
		return
	}
	delete(f.down, node)
	now := f.now()
	f.mu.Unlock()
	f.log.Info("chunk copies to a node work again", "node", node, "failed", d.failed,
		"down_for", now.Sub(d.since).Round(time.Second).String())
}
