package gateway

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/forkstore/forkstore/meta"
)

// A full disk must cost a node its writes, never its process. Badger
// writes its memtables and tables through memory-mapped files that it
// creates sparse (a truncate); a page of such a file that the filesystem
// cannot back when it is first written kills the process with SIGBUS.
// Dragonboat panics on any error writing its log or a snapshot, and an
// error from a state machine's Update crashes the node. So the node keeps
// the data directory's filesystem from filling:
//
//   - Every 100 ms, before each batch of applies, and at once when a write
//     meets ENOSPC, it reads the free space of the data directory
//     (statfs); every second it checks everything (while the free space
//     does not fall, on an idle node: every second and every 10 s).
//     Below --min-free-space the disk is "low": the node refuses new
//     data with ErrStorageFull (507 InsufficientStorage): PUTs, uploads,
//     copies, new buckets, snapshots, forks, keys, and chunk copies from
//     other nodes (which then place the copy elsewhere, see
//     block.Replication.Add). Reads, deletes and the replicated applies
//     of writes taken by other nodes go on: they live on the space below
//     the threshold.
//   - A reserve file (reserveFile, half the threshold, at most 256 MiB)
//     holds half of that margin while the disk is fine. When the free
//     space falls below criticalFree it is deleted, so that the Raft log
//     and the metadata have room even when something else took the last
//     byte; it is made again once the disk is no longer low. (Not at the
//     threshold already: whatever is filling the disk would take it too.)
//   - Badger's memtable and value log files are allocated for real
//     (fallocate) as soon as they appear, so that writing them never
//     needs a new page from a full filesystem.
//   - Before each batch of applies writes to Badger (meta.Options
//     BeforeWrite), the free space is read again: if it fell below the
//     threshold or criticalFree since the last check (something else
//     filled the disk), the node turns low and releases the reserve right
//     then, before Badger's write can fault on a page of a new memtable.
//     After it (AfterWrite), a new file in Badger's directory is allocated
//     at once.
//   - The last resort: when the reserve is gone and the free space falls
//     below half of criticalFree again, the node stops its metadata
//     replica (the others see it as down) while Badger can still close
//     its files, and starts it again once the disk is no longer low.
//
// The state is shown as NodeStatus.Disk, on /health/ready and in /metrics.

// MinFreeSpace is the free space below which a node refuses new data:
// a number of bytes, a percentage of the data directory's filesystem, or
// the default (Auto).
type MinFreeSpace struct {
	Auto    bool
	Bytes   int64
	Percent float64
}

// Default threshold: the smaller of 5% of the filesystem and 1 GiB, but
// at least what the metadata needs to stay writable for a while (Badger's
// memtables and value log, the Raft log), and at most a quarter of a very
// small filesystem.
const (
	autoMinFreePercent = 5
	autoMinFreeMax     = 1 << 30
	autoMinFreeFloor   = 64 << 20
	reserveMax         = 256 << 20
	criticalMax        = 32 << 20
)

// criticalFree is the free space below which the reserve is released: an
// eighth of the threshold, at most 32 MiB (what the Raft log and Badger may
// take at once: a memtable, a flush).
func criticalFree(threshold uint64) uint64 { return min(threshold/8, criticalMax) }

// DefaultMinFreeSpace is the default --min-free-space.
var DefaultMinFreeSpace = MinFreeSpace{Auto: true}

// ParseMinFreeSpace reads --min-free-space: "auto", "0" (never refuse),
// a size such as "1GiB", "500MB" or "1073741824", or a percentage of the
// filesystem such as "5%".
func ParseMinFreeSpace(s string) (MinFreeSpace, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" || strings.EqualFold(s, "auto"):
		return DefaultMinFreeSpace, nil
	case strings.HasSuffix(s, "%"):
		p, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
		if err != nil || math.IsNaN(p) || p < 0 || p >= 100 {
			return MinFreeSpace{}, fmt.Errorf("gateway: min free space %q: want a percentage from 0%% to below 100%%", s)
		}
		return MinFreeSpace{Percent: p}, nil
	}
	b, err := humanize.ParseBytes(s)
	if err != nil || b > math.MaxInt64 {
		return MinFreeSpace{}, fmt.Errorf("gateway: min free space %q: want a size such as 1GiB, a percentage such as 5%%, or auto", s)
	}
	return MinFreeSpace{Bytes: int64(b)}, nil
}

// String renders m as ParseMinFreeSpace reads it.
func (m MinFreeSpace) String() string {
	switch {
	case m.Auto:
		return "auto"
	case m.Percent > 0:
		return strconv.FormatFloat(m.Percent, 'f', -1, 64) + "%"
	}
	return strconv.FormatInt(m.Bytes, 10)
}

// Threshold is the free space in bytes below which a filesystem of total
// bytes is low (0: never).
func (m MinFreeSpace) Threshold(total uint64) uint64 {
	switch {
	case m.Auto:
		t := min(total/100*autoMinFreePercent, autoMinFreeMax)
		t = max(t, autoMinFreeFloor)
		return min(t, total/4)
	case m.Percent > 0:
		return uint64(float64(total) * m.Percent / 100)
	}
	return uint64(m.Bytes)
}

// reserveFile is the name of the reserve in the data directory.
const reserveFile = "reserved-space"

// diskCheckInterval is how often the guard checks everything (status,
// reserve, Badger's files); diskPollInterval how often it reads the free
// space alone (one statfs), to act at once when something fills the disk.
// While the free space does not fall from one poll to the next (nothing
// is written: an idle node) and the disk is not low, it polls every
// diskIdlePoll and checks every diskIdleCheck instead; the first poll
// that sees it fall brings the fast pace back.
const (
	diskCheckInterval = time.Second
	diskPollInterval  = 100 * time.Millisecond
	diskIdlePoll      = time.Second
	diskIdleCheck     = 10 * time.Second
)

// diskGuard watches the data directory's free space.
type diskGuard struct {
	dir     string // the data directory
	metaDir string // Badger's directories are below it
	min     MinFreeSpace
	log     *slog.Logger

	low    atomic.Bool
	status atomic.Pointer[string]
	kick   chan struct{}
	// held is the reserve file's size at the last check; free and
	// threshold are the free space and the threshold at the last check
	// (for /metrics).
	held, free, threshold atomic.Uint64
	// dirTimes are the modification times of Badger's directories at the
	// last preallocation (a new file changes its directory's).
	dirTimes atomic.Pointer[map[string]time.Time]
	// walked are the directories afterApply walked for once, not having
	// seen them before.
	walked sync.Map

	// prealloc remembers the size each Badger file was allocated to.
	prealloc map[string]int64
	mu       sync.Mutex // one check at a time

	// stopped is set while the metadata replica is stopped because even
	// the reserve ran out; pause asks the node to stop it, resume to
	// start it again (the node's suspender does it outside apply).
	stopped atomic.Bool
	pause   chan bool
}

func newDiskGuard(dir string, min MinFreeSpace, log *slog.Logger) *diskGuard {
	g := &diskGuard{
		dir: dir, metaDir: filepath.Join(dir, "meta"), min: min, log: log,
		kick: make(chan struct{}, 1), prealloc: map[string]int64{},
		pause: make(chan bool, 1),
	}
	g.setStatus("ok")
	g.dirTimes.Store(&map[string]time.Time{})
	return g
}

// beforeApply runs before the metadata writes a batch of applies (see
// poll).
func (g *diskGuard) beforeApply() { g.poll() }

// poll reads the free space and checks now, rather than at the next tick,
// when the disk turned low, when it is time to release the reserve, or
// when the reserve is spent too. It returns the free space it read (ok
// false: none read).
func (g *diskGuard) poll() (avail uint64, ok bool) {
	if g.stopped.Load() {
		return 0, false
	}
	total, avail, err := statDisk(g.dir)
	if err != nil {
		return 0, false
	}
	t, held := g.min.Threshold(total), g.held.Load()
	switch {
	case t == 0:
	case !g.low.Load() && avail+held < t, // turning low
		held > 0 && avail < criticalFree(t),    // time to release the reserve
		held == 0 && avail < criticalFree(t)/2: // the reserve is spent too
		g.check()
	}
	return avail, true
}

// afterApply runs after the metadata wrote a batch into the Badger in dir:
// when Badger created a file (its directory changed), the file is
// allocated now. Only dir is looked at (one stat, not one per shard
// replica). A dir not seen yet (a replica's first batch) has its files
// allocated at once; one that the walk of Badger's directories does not
// name as given makes every directory looked at.
func (g *diskGuard) afterApply(dir string) {
	dirs := *g.dirTimes.Load()
	if mod, ok := dirs[dir]; ok {
		if fi, err := os.Stat(dir); err == nil && !fi.ModTime().Equal(mod) {
			g.mu.Lock()
			g.preallocate()
			g.mu.Unlock()
		}
		return
	}
	if _, walked := g.walked.LoadOrStore(dir, true); !walked {
		g.mu.Lock()
		g.preallocate()
		g.mu.Unlock()
		return
	}
	for dir, mod := range dirs {
		if fi, err := os.Stat(dir); err == nil && !fi.ModTime().Equal(mod) {
			g.mu.Lock()
			g.preallocate()
			g.mu.Unlock()
			return
		}
	}
}

func (g *diskGuard) setStatus(s string) { g.status.Store(&s) }

// Status is "ok: ..." or "low: ...", for NodeStatus and /health/ready.
func (g *diskGuard) Status() string { return *g.status.Load() }

// isLow reports whether the node refuses new data.
func (g *diskGuard) isLow() bool { return g.low.Load() }

// refuse returns ErrStorageFull while the disk is low.
func (g *diskGuard) refuse() error {
	if !g.low.Load() {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrStorageFull, g.Status())
}

// noteError asks for a check now when err says the disk is full.
func (g *diskGuard) noteError(err error) {
	if errors.Is(err, ErrStorageFull) || errors.Is(err, syscall.ENOSPC) {
		select {
		case g.kick <- struct{}{}:
		default:
		}
	}
}

// loop checks every diskCheckInterval, or when kicked, and polls the free
// space every diskPollInterval (at the idle pace while the free space
// holds still), until stop closes.
func (g *diskGuard) loop(stop <-chan struct{}, done func()) {
	defer done()
	t := time.NewTimer(diskPollInterval)
	defer t.Stop()
	last := time.Now()
	var prev uint64 // the free space the last poll read
	still := false
	for {
		kicked := false
		select {
		case <-stop:
			return
		case <-t.C:
		case <-g.kick:
			kicked = true
		}
		every := diskCheckInterval
		if still {
			every = diskIdleCheck
		}
		if kicked || time.Since(last) >= every {
			g.check()
			last = time.Now()
		}
		avail, ok := g.poll()
		still = ok && avail >= prev && !g.low.Load() // freed space is no danger
		prev = avail
		if !kicked {
			if still {
				t.Reset(diskIdlePoll)
			} else {
				t.Reset(diskPollInterval)
			}
		}
	}
}

// check reads the free space, moves between ok and low (logging each
// change once), keeps the reserve file and preallocates Badger's files.
func (g *diskGuard) check() {
	g.mu.Lock()
	defer g.mu.Unlock()
	allocErr := g.preallocate()
	total, avail, err := statDisk(g.dir)
	if err != nil {
		g.setStatus("unknown: " + err.Error())
		return
	}
	reserve := filepath.Join(g.dir, reserveFile)
	var held uint64
	if fi, err := os.Stat(reserve); err == nil {
		held = uint64(fi.Size())
	}
	defer func() {
		if fi, err := os.Stat(reserve); err == nil {
			g.held.Store(uint64(fi.Size()))
		} else {
			g.held.Store(0)
		}
	}()
	threshold := g.min.Threshold(total)
	free := avail + held // the reserve is space kept free on purpose
	g.free.Store(avail)
	g.threshold.Store(threshold)
	low := threshold > 0 && free < threshold
	critical := avail < criticalFree(threshold)
	if threshold > 0 && errors.Is(allocErr, syscall.ENOSPC) {
		low, critical = true, true
	}
	// The flag first: a status that says low means writes are refused.
	was := g.low.Swap(low)
	// The last resort: when the reserve is gone and the free space runs
	// out again (something keeps the disk full while the other nodes go
	// on writing), the metadata replica stops before its log or Badger
	// meets ENOSPC (which would end the process); it starts again once the
	// disk is no longer low.
	exhausted := low && held == 0 && avail < criticalFree(threshold)/2
	switch {
	case exhausted && !g.stopped.Load():
		g.askPause(true)
	case !low && g.stopped.Load():
		g.askPause(false)
	}
	if low {
		g.setStatus(fmt.Sprintf("low: %s free < %s", humanize.IBytes(avail), humanize.IBytes(threshold)))
		if g.stopped.Load() || exhausted {
			g.setStatus(fmt.Sprintf("low: %s free < %s; metadata replica stopped until space is freed",
				humanize.IBytes(avail), humanize.IBytes(threshold)))
		}
		if held > 0 && critical {
			if err := os.Remove(reserve); err != nil {
				g.log.Error("disk nearly full: cannot release the reserve file", "path", reserve, "err", err)
			} else {
				g.log.Warn("disk nearly full: released the reserve file for the Raft log and metadata",
					"free_bytes", avail, "reserve_bytes", held)
			}
		}
	} else {
		g.setStatus(fmt.Sprintf("ok: %s free, min %s", humanize.IBytes(avail), humanize.IBytes(threshold)))
		switch size := min(reserveMax, threshold/2); {
		case size == 0 && held > 0:
			os.Remove(reserve) // the watch is off (--min-free-space 0)
		case held < size:
			g.makeReserve(reserve, int64(size))
		}
	}
	if was != low {
		if low {
			g.log.Warn("disk space low: refusing new data until space is freed",
				"free_bytes", avail, "min_free_bytes", threshold, "data", g.dir)
		} else {
			g.log.Info("disk space back: taking new data again", "free_bytes", avail, "min_free_bytes", threshold)
		}
	}
}

// askPause asks the suspender to stop (true) or start (false) the
// metadata replica; the latest request wins.
func (g *diskGuard) askPause(stop bool) {
	select {
	case <-g.pause:
	default:
	}
	g.pause <- stop
}

// suspender stops and starts the metadata replica as the guard asks,
// until stop closes. It runs apart from the guard's checks, which may run
// inside an apply (stopping a replica waits for its apply to end).
func (g *diskGuard) suspender(stop <-chan struct{}, done func(), pause, resume func() error) {
	defer done()
	for {
		var want bool
		select {
		case <-stop:
			return
		case want = <-g.pause:
		}
		if want == g.stopped.Load() {
			continue
		}
		if want {
			g.log.Error("disk full even after releasing the reserve: stopping the metadata replica until space is freed (reads and writes through this node answer 503)")
			if err := pause(); err != nil {
				g.log.Error("disk full: stopping the metadata replica failed", "err", err)
				continue
			}
			g.stopped.Store(true)
			continue
		}
		if err := resume(); err != nil {
			g.log.Error("disk space back: restarting the metadata replica failed, retrying", "err", err)
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
			g.askPause(false)
			continue
		}
		g.stopped.Store(false)
		g.log.Info("disk space back: metadata replica started again")
	}
}

// makeReserve allocates the reserve file (best effort: a failure leaves
// none, and the next check tries again).
func (g *diskGuard) makeReserve(path string, size int64) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	err = allocate(f, size, false)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		g.log.Debug("disk: no reserve file", "err", err)
	}
}

// preallocate gives every Badger memtable and value log file its blocks
// (Badger sizes them with a truncate, which leaves holes). It returns the
// first ENOSPC met.
func (g *diskGuard) preallocate() error {
	var firstErr error
	seen := map[string]bool{}
	dirs := map[string]time.Time{}
	filepath.WalkDir(g.metaDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if p != g.metaDir && filepath.Dir(p) != g.metaDir {
				return filepath.SkipDir
			}
			if p != g.metaDir {
				if info, err := d.Info(); err == nil {
					dirs[p] = info.ModTime()
				}
			}
			return nil
		}
		if !strings.HasSuffix(p, ".mem") && !strings.HasSuffix(p, ".vlog") {
			return nil
		}
		seen[p] = true
		info, err := d.Info()
		if err != nil || info.Size() == 0 || g.prealloc[p] == info.Size() {
			return nil
		}
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return nil
		}
		defer f.Close()
		err = allocate(f, info.Size(), true)
		switch {
		case err == nil:
			g.prealloc[p] = info.Size()
		case errors.Is(err, syscall.ENOSPC):
			if firstErr == nil {
				firstErr = err
			}
		default:
			g.prealloc[p] = info.Size() // not supported here: do not retry
		}
		return nil
	})
	for p := range g.prealloc {
		if !seen[p] {
			delete(g.prealloc, p)
		}
	}
	g.dirTimes.Store(&dirs)
	return firstErr
}

// DiskStatus says whether this node takes new data: "ok: ..." or
// "low: ..." with the free space and the threshold.
func (s *Service) DiskStatus() string { return s.node.disk.Status() }

// growsData reports whether a command stores new data, which a node with
// a low disk refuses (deletes, retention and membership go on: they free
// space or keep the cluster running).
func growsData(cmd any) bool {
	switch cmd.(type) {
	case *meta.CreateBucket, *meta.CreateSnapshot, *meta.PutObject, *meta.PutObjectInherited, *meta.CreateUpload,
		*meta.PutPart, *meta.CompleteUpload, *meta.CompleteUploadInherited, *meta.CreateKey, *meta.CreateForks, *meta.MergeFork:
		return true
	}
	return false
}

// collectors are the guard's metrics: the free space, the threshold and
// whether the node refuses new data.
func (g *diskGuard) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "forkstore_disk_free_bytes",
			Help: "Free space of the data directory's filesystem at the last check (the reserve file not counted).",
		}, func() float64 { return float64(g.free.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "forkstore_disk_min_free_bytes",
			Help: "The --min-free-space threshold in bytes: below it the node refuses new data.",
		}, func() float64 { return float64(g.threshold.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "forkstore_disk_low",
			Help: "1 while the node refuses new data (507) for want of free space.",
		}, func() float64 {
			if g.low.Load() {
				return 1
			}
			return 0
		}),
	}
}
