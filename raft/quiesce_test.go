package raft

import (
	"context"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4/logger"
)

// quiesceLog records which replicas Dragonboat reports as quiesced (its
// "entered quiesce" records, at its INFO level, which Host logs at Debug)
// and passes the records at Info and above on to next.
type quiesceLog struct {
	state *quiesceState
	next  slog.Handler
}

type quiesceState struct {
	mu       sync.Mutex
	quiesced map[string]bool // "shard:replica" -> in quiesce now
	wakes    []string        // "message shard_id=N" of every wake logged
	events   []string        // every quiesce record, timed, reported when a test fails
}

var quiesceRecord = regexp.MustCompile(`\[0*(\d+):0*(\d+)\] (entered quiesce|exited from quiesce)`)

func newQuiesceLog(next slog.Handler) *quiesceLog {
	return &quiesceLog{state: &quiesceState{quiesced: map[string]bool{}}, next: next}
}

func (q *quiesceLog) Enabled(context.Context, slog.Level) bool { return true }

func (q *quiesceLog) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "quiesce") {
		q.state.mu.Lock()
		if m := quiesceRecord.FindStringSubmatch(r.Message); m != nil {
			q.state.quiesced[m[1]+":"+m[2]] = m[3] == "entered quiesce"
		}
		q.state.events = append(q.state.events, r.Time.Format("15:04:05.000")+" "+r.Message)
		q.state.mu.Unlock()
	}
	if strings.HasPrefix(r.Message, "raft shard woken: ") {
		w := r.Message
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "shard_id" {
				w += " shard_id=" + a.Value.String()
			}
			return true
		})
		q.state.mu.Lock()
		q.state.wakes = append(q.state.wakes, w)
		q.state.mu.Unlock()
	}
	if r.Level < slog.LevelInfo {
		return nil
	}
	return q.next.Handle(ctx, r)
}

func (q *quiesceLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &quiesceLog{state: q.state, next: q.next.WithAttrs(as)}
}

func (q *quiesceLog) WithGroup(g string) slog.Handler {
	return &quiesceLog{state: q.state, next: q.next.WithGroup(g)}
}

// count returns how many replicas of shard are quiesced now.
func (q *quiesceLog) count(shard uint64) int {
	q.state.mu.Lock()
	defer q.state.mu.Unlock()
	n := 0
	for k, in := range q.state.quiesced {
		if in && strings.HasPrefix(k, strconv.FormatUint(shard, 10)+":") {
			n++
		}
	}
	return n
}

// startQuiescing starts three hosts with Quiesce on, each with a replica
// of every shard in shards (awake is Config.AwakeShard), and waits until
// every shard has a leader. The awake shard has the sparse timing the
// gateway gives it. Dragonboat's INFO records are turned on for the test,
// to see the replicas quiesce.
func startQuiescing(t *testing.T, awake uint64, shards ...uint64) (map[uint64]*Host, *quiesceLog) {
	t.Helper()
	lg := newQuiesceLog(testLogger(t).Handler())
	log := slog.New(lg)
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t), 3: freeAddr(t)}
	hosts := map[uint64]*Host{}
	for id := uint64(1); id <= 3; id++ {
		c := testConfig(id, addrs[id], t.TempDir())
		c.InitialMembers = addrs
		c.Quiesce = true
		c.AwakeShard, c.SparseAwake = awake, awake != 0
		// Without Dragonboat's rate limiter: an awake follower reports to
		// its leader every election timeout, and the leader counts the
		// report as traffic. Under a starved CPU the replicas then fell
		// into a cycle (a follower quiesces and puts the leader to rest,
		// the other's report wakes it before it quiesces too, the
		// leader's heartbeats wake the followers) and never all rested
		// at once; what these tests check is how a quiesced shard wakes.
		c.MaxInMemLogSize = 0
		h, err := NewHost(c, log.With("node", id))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(h.Close)
		for _, sh := range shards {
			if err := h.StartOnDiskShard(sh, newCounter(c.DataDir)); err != nil {
				t.Fatal(err)
			}
		}
		hosts[id] = h
	}
	logger.GetLogger("dragonboat").SetLevel(logger.INFO)
	t.Cleanup(func() {
		logger.GetLogger("dragonboat").SetLevel(logger.WARNING)
		if t.Failed() {
			lg.state.mu.Lock()
			t.Logf("quiesce records:\n%s", strings.Join(lg.state.events, "\n"))
			lg.state.mu.Unlock()
		}
	})
	for _, h := range hosts {
		for _, sh := range shards {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			err := h.WaitReady(ctx, sh)
			cancel()
			if err != nil {
				t.Fatalf("replica %d of shard %d not ready: %v", h.ReplicaID(), sh, err)
			}
		}
	}
	return hosts, lg
}

// woken reports whether a wake logged as want has been.
func (q *quiesceLog) woken(want string) bool {
	q.state.mu.Lock()
	defer q.state.mu.Unlock()
	return slices.Contains(q.state.wakes, want)
}

// leaderTerm returns the leader and term of shard as h knows them.
func leaderTerm(h *Host, shard uint64) (uint64, uint64) {
	id, term, ok, err := h.nh.GetLeaderID(shard)
	if err != nil || !ok {
		return 0, 0
	}
	return id, term
}

// TestQuiescedShardWakes: the replicas of an idle shard quiesce (no ticks,
// no heartbeats); a read or a proposal through a follower then wakes it
// without an election (the leader and term stay), several times in a row;
// and when the leader of a quiesced shard dies, a proposal through a
// survivor wakes the others, which elect a new leader and apply it.
func TestQuiescedShardWakes(t *testing.T) {
	hosts, lg := startQuiescing(t, 0, testShard)
	want := propose(t, hosts[1], 1)
	leader, term0 := leaderTerm(hosts[1], testShard)
	if leader == 0 {
		t.Fatal("no leader")
	}
	follower := hosts[leader%3+1]
	for round := range 3 {
		waitFor(t, 20*time.Second, "every replica to quiesce", func() bool { return lg.count(testShard) == 3 })
		start := time.Now()
		if got := readCount(t, follower); got != want {
			t.Fatalf("round %d: read %d, want %d", round, got, want)
		}
		read := time.Since(start)
		want++
		if got := propose(t, follower, 1); got != want {
			t.Fatalf("round %d: proposal returned %d, want %d", round, got, want)
		}
		t.Logf("round %d: woke with a read in %v, then a proposal in %v", round, read, time.Since(start)-read)
		for id, h := range hosts {
			if l, tm := leaderTerm(h, testShard); l != leader || tm != term0 {
				t.Fatalf("round %d: replica %d sees leader %d term %d after waking, want %d term %d (an election)", round, id, l, tm, leader, term0)
			}
		}
	}

	// The leader of a quiesced shard dies. A proposal through a follower
	// is forwarded to it and lost; after an election timeout without an
	// answer the follower is woken, elects a leader, and the proposal is
	// made again.
	waitFor(t, 20*time.Second, "every replica to quiesce", func() bool { return lg.count(testShard) == 3 })
	hosts[leader].Close()
	start := time.Now()
	want++
	if got := propose(t, follower, 1); got != want {
		t.Fatalf("proposal after the leader died returned %d, want %d", got, want)
	}
	took := time.Since(start)
	now, _ := leaderTerm(follower, testShard)
	if now == 0 || now == leader {
		t.Fatalf("leader after the kill: %d (old %d)", now, leader)
	}
	t.Logf("leader %d of a quiesced shard killed: replica %d leads, a proposal applied in %v", leader, now, took)
}

// TestDeadLeaderOfQuiescedShardReplaced: when the node leading a quiesced
// shard dies, the others elect a new leader of it with no request on it:
// the awake shard's traffic fails to reach the dead node, or the dead
// node's connections end, which wakes the shards led from there.
func TestDeadLeaderOfQuiescedShardReplaced(t *testing.T) {
	testDeadLeaderOfQuiescedShard(t, false)
}

// TestDeadLeaderOfBothShardsReplaced: when the node leading both the awake
// shard and a quiesced shard dies, the survivors wake the quiesced shard
// as soon as the dead node's connections end, not after the awake shard's
// own election timeout (the first time its followers would send to the
// dead node), and both shards get new leaders.
func TestDeadLeaderOfBothShardsReplaced(t *testing.T) {
	testDeadLeaderOfQuiescedShard(t, true)
}

// testDeadLeaderOfQuiescedShard kills the leader of a quiesced shard,
// leading the awake shard too or not, and waits for new leaders.
func testDeadLeaderOfQuiescedShard(t *testing.T, leadsAwake bool) {
	const awake, idle = testShard, testShard + 1
	hosts, lg := startQuiescing(t, awake, awake, idle)
	propose(t, hosts[1], 1)
	leader, _ := leaderTerm(hosts[1], idle)
	if leader == 0 {
		t.Fatal("no leader")
	}
	target := leader%3 + 1 // the awake shard's leader: one whose heartbeats to the dead node fail
	if leadsAwake {
		target = leader
	}
	if l, _ := leaderTerm(hosts[1], awake); l != target {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err := hosts[l].TransferLeader(ctx, awake, target)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the awake shard's leadership to move", func() bool {
			l, _ := leaderTerm(hosts[1], awake)
			return l == target
		})
	}
	waitFor(t, 20*time.Second, "the idle shard's replicas to quiesce", func() bool { return lg.count(idle) == 3 })
	if n := lg.count(awake); n != 0 {
		t.Fatalf("%d replicas of the awake shard quiesced", n)
	}
	hosts[leader].Close()
	start := time.Now()
	if leadsAwake {
		want := "raft shard woken: its leader's connection ended shard_id=" + strconv.FormatUint(idle, 10)
		waitFor(t, 10*time.Second, "a survivor to wake the idle shard on the dead leader's connection ending", func() bool {
			return lg.woken(want)
		})
		t.Logf("the idle shard woken after %v", time.Since(start))
	}
	waitNewLeaders(t, hosts, leader, awake, idle)
	t.Logf("leader %d of the idle shard killed (leading the awake shard: %v): both led again after %v", leader, leadsAwake, time.Since(start))
}

// waitNewLeaders waits until every host but dead knows a leader other
// than dead of each of shards.
func waitNewLeaders(t *testing.T, hosts map[uint64]*Host, dead uint64, shards ...uint64) {
	t.Helper()
	waitFor(t, 10*time.Second, "new leaders on every survivor", func() bool {
		for id, h := range hosts {
			if id == dead {
				continue
			}
			for _, sh := range shards {
				if l, _ := leaderTerm(h, sh); l == 0 || l == dead {
					return false
				}
			}
		}
		return true
	})
}
