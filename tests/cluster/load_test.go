//go:build cluster

package cluster

import (
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Object sizes of the load: most objects are small, up to 48 KiB (the
// smallest stored inline in the metadata, up to 4 KiB by default, the
// rest in one chunk on R nodes), some are cut into several chunks.
const (
	smallMax = 48 << 10
	bigMin   = 1 << 20
	bigMax   = 3 << 20
)

// opKind is a write of the acknowledged-operations log.
type opKind string

const (
	opPut    opKind = "put"
	opDelete opKind = "delete"
)

// ackOp is one write a client sent: acked when the server acknowledged
// it, otherwise its outcome is unknown (an error or a timeout: it may or
// may not have been applied, but never half).
type ackOp struct {
	kind        opKind
	bucket, key string
	hash        string // SHA-256 of the bytes put
	size        int
	acked       bool
	node        uint64
	start, end  time.Time
	err         string
}

// AckLog records every write sent during a scenario. The load never
// writes a key twice and deletes only keys whose put was acknowledged,
// so each key's possible final states follow from its own entries.
type AckLog struct {
	mu  sync.Mutex
	ops []ackOp
	// forks are buckets that also hold keys inherited from a parent:
	// their listings are not compared with the log.
	forks map[string]bool
}

// markFork says bucket is a fork (see forks).
func (l *AckLog) markFork(bucket string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.forks == nil {
		l.forks = map[string]bool{}
	}
	l.forks[bucket] = true
}

func (l *AckLog) record(op ackOp) {
	l.mu.Lock()
	l.ops = append(l.ops, op)
	l.mu.Unlock()
}

// counts returns the numbers of acknowledged and failed writes.
func (l *AckLog) counts() (acked, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, op := range l.ops {
		if op.acked {
			acked++
		} else {
			failed++
		}
	}
	return
}

// absent is the "no such key" state in the possible states of a key.
const absent = "(absent)"

type objKey struct{ bucket, key string }

// expected returns, for every key written, the set of states it may be
// in now: an acknowledged put leaves only its bytes, an acknowledged
// delete only absence, and a write of unknown outcome adds its result to
// the states before it.
func (l *AckLog) expected() map[objKey]map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	exp := map[objKey]map[string]bool{}
	for _, op := range l.ops {
		k := objKey{op.bucket, op.key}
		states := exp[k]
		if states == nil {
			states = map[string]bool{absent: true}
		}
		res := absent
		if op.kind == opPut {
			res = op.hash
		}
		if op.acked {
			states = map[string]bool{res: true}
		} else {
			states[res] = true
		}
		exp[k] = states
	}
	return exp
}

// Verify reads every key the log wrote from every node: each acknowledged
// write must be there with its bytes (or gone, when its delete was
// acknowledged), a write of unknown outcome must be wholly there or not
// at all, every node must answer the same, and the listings must agree
// with the reads and hold nothing else.
func (l *AckLog) Verify(t testing.TB, nodes []*Node) {
	t.Helper()
	exp := l.expected()
	keys := make([]objKey, 0, len(exp))
	buckets := map[string]bool{}
	for k := range exp {
		keys = append(keys, k)
		buckets[k.bucket] = true
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].bucket != keys[j].bucket {
			return keys[i].bucket < keys[j].bucket
		}
		return keys[i].key < keys[j].key
	})
	start := time.Now()
	seen := map[objKey]string{} // the first node's answer
	bad := 0
	fail := func(format string, args ...any) {
		t.Helper()
		bad++
		if bad <= 20 {
			t.Errorf(format, args...)
		}
	}
	for _, n := range nodes {
		listed := map[objKey]bool{}
		until := time.Now().Add(unavailableRetry) // for all of this node's retries
		for b := range buckets {
			var ks []string
			err := retryUnavailable(until, func() (err error) { ks, err = n.listKeys(b, ""); return err })
			if err != nil {
				t.Fatalf("node %d: list %s: %s", n.ID, b, describe(err))
			}
			for _, k := range ks {
				listed[objKey{b, k}] = true
				if exp[objKey{b, k}] == nil && !l.forks[b] {
					fail("node %d lists %s/%s, which no client wrote", n.ID, b, k)
				}
			}
		}
		// Reads run on a few goroutines: hundreds of keys per node.
		got := make([]string, len(keys))
		errs := make([]error, len(keys))
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= len(keys) {
						return
					}
					var b []byte
					err := retryUnavailable(until, func() (err error) { b, err = n.getObject(keys[i].bucket, keys[i].key, ""); return err })
					switch {
					case err == nil:
						got[i] = hashOf(b)
					case isNoSuchKey(err):
						got[i] = absent
					default:
						errs[i] = err
					}
				}
			}()
		}
		wg.Wait()
		for i, k := range keys {
			if errs[i] != nil {
				fail("node %d: GET %s/%s: %s", n.ID, k.bucket, k.key, describe(errs[i]))
				continue
			}
			if !exp[k][got[i]] {
				fail("node %d: GET %s/%s = %s, want one of %v (log: %s)", n.ID, k.bucket, k.key, short(got[i]), shortSet(exp[k]), l.history(k))
			}
			if listed[k] != (got[i] != absent) {
				fail("node %d: %s/%s listed=%v but GET says %s", n.ID, k.bucket, k.key, listed[k], short(got[i]))
			}
			if first, ok := seen[k]; !ok {
				seen[k] = got[i]
			} else if first != got[i] {
				fail("node %d: GET %s/%s = %s, an earlier node read %s (divergence)", n.ID, k.bucket, k.key, short(got[i]), short(first))
			}
		}
	}
	acked, failed := l.counts()
	if bad > 20 {
		t.Errorf("... and %d more mismatches", bad-20)
	}
	t.Logf("verified %d keys (%d acknowledged writes, %d of unknown outcome) on nodes %v in %v",
		len(keys), acked, failed, ids(nodes), time.Since(start).Round(time.Millisecond))
}

// retryUnavailable runs op again while it fails with a 503, as S3 clients
// do, until until: what Verify checks is the data, and a node may answer
// 503 for a moment after the load (one that has just rejoined lost its
// shard's leader for under a second while catching up).
func retryUnavailable(until time.Time, op func() error) error {
	var err error
	poll(time.Until(until), func() error {
		if err = op(); isUnavailable(err) {
			return err
		}
		return nil
	})
	return err
}

// unavailableRetry bounds the retries of one node's check in Verify, so
// that a node that stays unavailable fails it in that time, not in that
// time per key.
const unavailableRetry = 20 * time.Second

// history renders a key's log entries for a failure message.
func (l *AckLog) history(k objKey) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var parts []string
	for _, op := range l.ops {
		if op.bucket == k.bucket && op.key == k.key {
			s := fmt.Sprintf("%s %s on node %d acked=%v at %s", op.kind, short(op.hash), op.node, op.acked, op.end.Format("15:04:05.000"))
			if op.err != "" {
				s += " err=" + op.err
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

func short(h string) string {
	if len(h) > 12 && h != absent {
		return h[:12]
	}
	return h
}

func shortSet(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, short(k))
	}
	sort.Strings(out)
	return out
}

// loadConfig shapes a write load.
type loadConfig struct {
	bucket  string
	workers int
	// every paces each worker: one operation per period at most.
	every time.Duration
	// bigEvery: every bigEvery-th put is a chunked object.
	bigEvery int
	// deleteEvery: every deleteEvery-th operation deletes a key the
	// worker put and saw acknowledged.
	deleteEvery int
	// maxOps bounds each worker.
	maxOps int
	// timeout bounds one request.
	timeout time.Duration
	// nodes returns the nodes to send to (default: the running members).
	nodes func() []*Node
	seed  uint64
}

// Load runs writers against the cluster and logs every write.
type Load struct {
	c   *Cluster
	cfg loadConfig
	Log *AckLog

	stop  chan struct{}
	wg    sync.WaitGroup
	acked atomic.Int64
	fails atomic.Int64
}

// StartLoad creates cfg.bucket and starts the writers.
func (c *Cluster) StartLoad(t testing.TB, cfg loadConfig) *Load {
	t.Helper()
	if cfg.workers == 0 {
		cfg.workers = 2
	}
	if cfg.every == 0 {
		cfg.every = 25 * time.Millisecond
	}
	if cfg.bigEvery == 0 {
		cfg.bigEvery = 12
	}
	if cfg.deleteEvery == 0 {
		cfg.deleteEvery = 9
	}
	if cfg.maxOps == 0 {
		cfg.maxOps = 3000
	}
	if cfg.timeout == 0 {
		cfg.timeout = 15 * time.Second
	}
	if cfg.nodes == nil {
		cfg.nodes = c.Up
	}
	if cfg.seed == 0 {
		cfg.seed = uint64(time.Now().UnixNano())
	}
	t.Logf("load on bucket %s: %d workers, seed %d", cfg.bucket, cfg.workers, cfg.seed)
	must(t, "create bucket "+cfg.bucket, c.Up()[0].makeBucket(cfg.bucket))
	l := &Load{c: c, cfg: cfg, Log: &AckLog{}, stop: make(chan struct{})}
	for w := range cfg.workers {
		l.wg.Add(1)
		go l.worker(w)
	}
	t.Cleanup(l.Stop)
	return l
}

// Stop stops the writers and waits for them (idempotent).
func (l *Load) Stop() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

func (l *Load) worker(w int) {
	defer l.wg.Done()
	rng := mrand.New(mrand.NewPCG(l.cfg.seed, uint64(w)))
	tick := time.NewTicker(l.cfg.every)
	defer tick.Stop()
	var mine []string // keys this worker put, acknowledged and not deleted
	for i := 0; i < l.cfg.maxOps; i++ {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		nodes := l.cfg.nodes()
		if len(nodes) == 0 {
			continue
		}
		n := nodes[rng.IntN(len(nodes))]
		op := ackOp{bucket: l.cfg.bucket, node: n.ID}
		if i%l.cfg.deleteEvery == l.cfg.deleteEvery-1 && len(mine) > 0 {
			j := rng.IntN(len(mine))
			op.kind, op.key = opDelete, mine[j]
			mine = slices.Delete(mine, j, j+1)
		} else {
			size := 1 + rng.IntN(smallMax)
			if i%l.cfg.bigEvery == l.cfg.bigEvery-1 {
				size = bigMin + rng.IntN(bigMax-bigMin)
			}
			op.kind, op.key, op.size = opPut, fmt.Sprintf("w%d/%05d", w, i), size
		}
		var body []byte
		if op.kind == opPut {
			body = make([]byte, op.size)
			fill(rng, body)
			op.hash = hashOf(body)
		}
		op.start = time.Now()
		var err error
		if op.kind == opPut {
			err = n.putObject(op.bucket, op.key, body)
		} else {
			err = n.deleteObject(op.bucket, op.key)
		}
		op.end = time.Now()
		op.acked = err == nil
		if err != nil {
			op.err = describe(err)
			l.fails.Add(1)
		} else {
			l.acked.Add(1)
			if op.kind == opPut {
				mine = append(mine, op.key)
			}
		}
		l.Log.record(op)
	}
}

// fill writes pseudo-random bytes (cheap: no crypto on a busy machine).
func fill(rng *mrand.Rand, b []byte) {
	for i := 0; i+8 <= len(b); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := len(b) &^ 7; i < len(b); i++ {
		b[i] = byte(rng.Uint32())
	}
}

// WaitAcks waits until n more writes than now were acknowledged.
func (l *Load) WaitAcks(t testing.TB, n int64, timeout time.Duration) {
	t.Helper()
	target := l.acked.Load() + n
	waitFor(t, timeout, fmt.Sprintf("%d more acknowledged writes", n), func() error {
		if got := l.acked.Load(); got < target {
			return fmt.Errorf("%d acknowledged so far (%d failed), want %d", got, l.fails.Load(), target)
		}
		return nil
	})
}

// Unavailability measures what clients saw after a fault at since: the
// time to the first acknowledged write sent after it, the longest time
// without any acknowledged write from since to the end of the load, and
// the number of failed writes.
func (l *Load) Unavailability(since time.Time) (firstOK, longestGap time.Duration, failed int, err error) {
	l.Log.mu.Lock()
	defer l.Log.mu.Unlock()
	var oks []time.Time
	first := time.Time{}
	for _, op := range l.Log.ops {
		if op.end.Before(since) {
			continue
		}
		if !op.acked {
			failed++
			continue
		}
		oks = append(oks, op.end)
		if !op.start.Before(since) && (first.IsZero() || op.end.Before(first)) {
			first = op.end
		}
	}
	if first.IsZero() {
		return 0, 0, failed, errors.New("no write sent after the fault was acknowledged")
	}
	sort.Slice(oks, func(i, j int) bool { return oks[i].Before(oks[j]) })
	prev := since
	for _, t := range oks {
		if g := t.Sub(prev); g > longestGap {
			longestGap = g
		}
		prev = t
	}
	return first.Sub(since), longestGap, failed, nil
}
