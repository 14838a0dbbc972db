package raft

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"
)

const testShard = 7

// counterSM is a tiny on-disk state machine: a counter and the applied
// index, persisted to one file after every batch. Each command adds its
// first byte to the counter; the Result is the new value. A command may
// carry an 8-byte id after that byte: Propose may apply a command twice
// (it proposes again when its fate is unknown), so, like meta's request
// ids, an id already applied returns its first result and changes nothing.
type counterSM struct {
	path string

	mu    sync.Mutex
	index uint64
	count uint64
	seen  map[uint64]uint64 // command id -> result
}

var _ sm.IOnDiskStateMachine = (*counterSM)(nil)

var errNoSuchQuery = errors.New("counter: no such query")

func newCounter(dir string) sm.CreateOnDiskStateMachineFunc {
	return func(shardID, replicaID uint64) sm.IOnDiskStateMachine {
		return &counterSM{path: filepath.Join(dir, fmt.Sprintf("counter-%d-%d", shardID, replicaID))}
	}
}

func (c *counterSM) Open(<-chan struct{}) (uint64, error) {
	b, err := os.ReadFile(c.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if err := c.decode(b); err != nil {
		return 0, err
	}
	return c.index, nil
}

// encode is the state: index, count, then (id, result) pairs.
func (c *counterSM) encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, c.index)
	b = binary.BigEndian.AppendUint64(b, c.count)
	for id, v := range c.seen {
		b = binary.BigEndian.AppendUint64(b, id)
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return b
}

func (c *counterSM) decode(b []byte) error {
	if len(b) < 16 || len(b)%16 != 0 {
		return fmt.Errorf("counter: corrupt state (%d bytes)", len(b))
	}
	c.index = binary.BigEndian.Uint64(b)
	c.count = binary.BigEndian.Uint64(b[8:])
	c.seen = map[uint64]uint64{}
	for p := b[16:]; len(p) > 0; p = p[16:] {
		c.seen[binary.BigEndian.Uint64(p)] = binary.BigEndian.Uint64(p[8:])
	}
	return nil
}

func (c *counterSM) persist() error {
	tmp := c.path + ".tmp"
	if err := os.WriteFile(tmp, c.encode(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, c.path)
}

func (c *counterSM) Update(entries []sm.Entry) ([]sm.Entry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range entries {
		if e.Index <= c.index {
			panic(fmt.Sprintf("counter: index went backwards: %d after %d", e.Index, c.index))
		}
		c.index = e.Index
		if len(e.Cmd) == 9 {
			id := binary.BigEndian.Uint64(e.Cmd[1:])
			if v, ok := c.seen[id]; ok {
				entries[i].Result = sm.Result{Value: v}
				continue
			}
			if c.seen == nil {
				c.seen = map[uint64]uint64{}
			}
			c.count += uint64(e.Cmd[0])
			c.seen[id] = c.count
		} else if len(e.Cmd) > 0 {
			c.count += uint64(e.Cmd[0])
		}
		entries[i].Result = sm.Result{Value: c.count}
	}
	return entries, c.persist()
}

func (c *counterSM) Lookup(q any) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if q == "count" {
		return c.count, nil
	}
	return nil, fmt.Errorf("%w: %v", errNoSuchQuery, q)
}

func (c *counterSM) Sync() error { return nil }

func (c *counterSM) PrepareSnapshot() (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.encode(), nil
}

func (c *counterSM) SaveSnapshot(ctx any, w io.Writer, _ <-chan struct{}) error {
	_, err := w.Write(ctx.([]byte))
	return err
}

func (c *counterSM) RecoverFromSnapshot(r io.Reader, _ <-chan struct{}) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.decode(b); err != nil {
		return err
	}
	return c.persist()
}

func (c *counterSM) Close() error { return nil }

// testLogger sends logs to t.Log until the test ends (Dragonboat's logger
// is process-wide, so late records must not reach a finished test).
func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// testKey is the key of the tests' clusters.
var testKey = []byte("raft-test-cluster-key")

// testConfig is a fast configuration for loopback, with testKey.
func testConfig(id uint64, addr, dir string) Config {
	c := DefaultConfig()
	c.Key = testKey
	c.NodeID = id
	c.RaftAddr = addr
	c.DataDir = dir
	c.RTTMillisecond = 5
	c.ElectionRTT = 20
	c.HeartbeatRTT = 2
	c.SnapshotEntries = 50
	c.CompactionOverhead = 10
	return c
}

// startHost starts a host and its replica of testShard. The state machine
// files live in smDir, next to the NodeHost dir.
func startHost(t *testing.T, cfg Config) *Host {
	t.Helper()
	h, err := NewHost(cfg, testLogger(t).With("node", cfg.NodeID))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	if err := h.StartOnDiskShard(testShard, newCounter(cfg.DataDir)); err != nil {
		t.Fatal(err)
	}
	return h
}

func waitReady(t *testing.T, h *Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := h.WaitReady(ctx, testShard); err != nil {
		t.Fatalf("replica %d not ready: %v", h.ReplicaID(), err)
	}
}

// proposalIDs numbers the test's proposals.
var proposalIDs atomic.Uint64

func propose(t *testing.T, h *Host, delta byte) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// A fresh id per call: a retried proposal applies once.
	cmd := binary.BigEndian.AppendUint64([]byte{delta}, proposalIDs.Add(1))
	for {
		res, err := h.Propose(ctx, testShard, cmd)
		// A shard without a leader fails fast by design; under a loaded CI
		// machine the tests' 100 ms election timeout can lapse right after a
		// membership change, so such a proposal is tried again, as a client
		// tries again after a 503, until the deadline.
		if errors.Is(err, ErrNoQuorum) && ctx.Err() == nil {
			continue
		}
		if err != nil {
			t.Fatalf("propose on %d: %v", h.ReplicaID(), err)
		}
		return res.Value
	}
}

func readCount(t *testing.T, h *Host) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	v, err := h.Read(ctx, testShard, "count")
	if err != nil {
		t.Fatalf("read on %d: %v", h.ReplicaID(), err)
	}
	return v.(uint64)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func TestErrorsWrapUnavailable(t *testing.T) {
	for _, err := range []error{ErrShardNotReady, ErrNoQuorum, ErrSystemBusy, ErrTimeout, ErrClosed, ErrCanceled} {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%v does not wrap ErrUnavailable", err)
		}
		if !strings.HasPrefix(err.Error(), "raft: ") {
			t.Errorf("%q lacks the package prefix", err)
		}
		wrapped := fmt.Errorf("%w: propose on shard 1: timeout", err)
		if !errors.Is(wrapped, ErrUnavailable) || !errors.Is(wrapped, err) {
			t.Errorf("wrapped %v lost its identity", err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	tests := []struct {
		name   string
		mutate func(c *Config)
		valid  bool
	}{
		{"default", func(c *Config) {}, true},
		{"no data dir is fine for Validate", func(c *Config) { c.DataDir = "" }, true},
		{"zero node id", func(c *Config) { c.NodeID = 0 }, false},
		{"bad address", func(c *Config) { c.RaftAddr = "localhost" }, false},
		{"no port", func(c *Config) { c.RaftAddr = "127.0.0.1:0" }, false},
		{"members without self", func(c *Config) { c.InitialMembers = map[uint64]string{2: "127.0.0.1:7101"} }, false},
		{"members with other address for self", func(c *Config) { c.InitialMembers = map[uint64]string{1: "127.0.0.1:7109"} }, false},
		{"three members", func(c *Config) {
			c.Key = testKey
			c.InitialMembers = map[uint64]string{1: c.RaftAddr, 2: "127.0.0.1:7101", 3: "127.0.0.1:7102"}
		}, true},
		{"three members without a key", func(c *Config) {
			c.InitialMembers = map[uint64]string{1: c.RaftAddr, 2: "127.0.0.1:7101", 3: "127.0.0.1:7102"}
		}, false},
		{"join with members", func(c *Config) { c.Join = true; c.InitialMembers = map[uint64]string{1: c.RaftAddr} }, false},
		{"join", func(c *Config) { c.Key = testKey; c.Join = true }, true},
		{"join without a key", func(c *Config) { c.Join = true }, false},
		{"tiny max entry size", func(c *Config) { c.MaxEntrySize = 1000 }, false},
		{"zero rtt", func(c *Config) { c.RTTMillisecond = 0 }, false},
		{"election too short", func(c *Config) { c.ElectionRTT = 2 * c.HeartbeatRTT }, false},
		{"overhead above interval", func(c *Config) { c.CompactionOverhead = c.SnapshotEntries + 1 }, false},
		{"tiny in-memory log", func(c *Config) { c.MaxInMemLogSize = 1000 }, false},
		{"partial tls", func(c *Config) { c.CAFile = "ca.pem" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			c.InitialMembers = nil
			tt.mutate(&c)
			if err := c.Validate(); (err == nil) != tt.valid {
				t.Fatalf("Validate() = %v, want valid=%v", err, tt.valid)
			}
		})
	}
}

func TestSingleNodeProposeRead(t *testing.T) {
	addr := freeAddr(t)
	h := startHost(t, testConfig(1, addr, t.TempDir()))
	waitReady(t, h)

	for i := uint64(1); i <= 20; i++ {
		if got := propose(t, h, 1); got != i {
			t.Fatalf("proposal %d returned %d", i, got)
		}
	}
	if got := readCount(t, h); got != 20 {
		t.Fatalf("read %d, want 20", got)
	}
	if v, err := h.StaleRead(testShard, "count"); err != nil || v.(uint64) != 20 {
		t.Fatalf("stale read %v, %v", v, err)
	}
	if id, ok := h.LeaderID(testShard); !ok || id != 1 {
		t.Fatalf("leader %d %v", id, ok)
	}
	m, err := h.Membership(t.Context(), testShard)
	if err != nil || len(m) != 1 || m[1] != addr {
		t.Fatalf("membership %v, %v", m, err)
	}

	// Lookup errors are the state machine's business: unchanged, not
	// "unavailable".
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = h.Read(ctx, testShard, "nonsense")
	if !errors.Is(err, errNoSuchQuery) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("lookup error came back as %v", err)
	}
	if _, err := h.StaleRead(testShard, "nonsense"); !errors.Is(err, errNoSuchQuery) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("stale lookup error came back as %v", err)
	}

	// A context without a deadline gets a default one.
	if _, err := h.Propose(context.Background(), testShard, []byte{1}); err != nil {
		t.Fatal(err)
	}
	// A canceled context fails as unavailable (canceled).
	cctx, ccancel := context.WithCancel(t.Context())
	ccancel()
	if _, err := h.Propose(cctx, testShard, []byte{1}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("propose with canceled ctx: %v", err)
	}
	// An unknown shard is not ready here.
	if _, err := h.Read(ctx, 99, "count"); !errors.Is(err, ErrShardNotReady) {
		t.Fatalf("read of unknown shard: %v", err)
	}

	h.Close()
	h.Close() // idempotent
	if _, err := h.Propose(ctx, testShard, []byte{1}); !errors.Is(err, ErrClosed) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("propose after close: %v", err)
	}
	if _, err := h.StaleRead(testShard, "count"); !errors.Is(err, ErrClosed) {
		t.Fatalf("stale read after close: %v", err)
	}
}

func TestRestartKeepsState(t *testing.T) {
	addr := freeAddr(t)
	dir := t.TempDir()
	h := startHost(t, testConfig(1, addr, dir))
	waitReady(t, h)
	for range 120 { // past SnapshotEntries, so a snapshot and compaction happen
		propose(t, h, 2)
	}
	h.Close()

	// Restart with a different initial member list: a restart ignores it.
	cfg := testConfig(1, addr, dir)
	cfg.InitialMembers = map[uint64]string{1: addr}
	h2 := startHost(t, cfg)
	waitReady(t, h2)
	if got := readCount(t, h2); got != 240 {
		t.Fatalf("after restart count %d, want 240", got)
	}
	if got := propose(t, h2, 1); got != 241 {
		t.Fatalf("proposal after restart returned %d", got)
	}
}

func TestNoQuorumIsUnavailable(t *testing.T) {
	// One member of a three-member shard alone never elects a leader.
	addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	cfg := testConfig(1, addrs[0], t.TempDir())
	cfg.InitialMembers = map[uint64]string{1: addrs[0], 2: addrs[1], 3: addrs[2]}
	h := startHost(t, cfg)

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.Propose(ctx, testShard, []byte{1})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("propose without quorum: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("propose took %v past a 300ms deadline", d)
	}
	rctx, rcancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer rcancel()
	if _, err := h.Read(rctx, testShard, "count"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("read without quorum: %v", err)
	}
	if _, ok := h.LeaderID(testShard); ok {
		t.Fatal("a leader without quorum")
	}

	// WaitReady without a deadline ends when the host closes.
	done := make(chan error, 1)
	go func() { done <- h.WaitReady(context.Background(), testShard) }()
	h.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("WaitReady after close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitReady did not return after Close")
	}
}

// TestNoQuorumAnswersFast: a request with a long deadline on a replica that
// knows no leader fails within a second, as ErrNoQuorum, instead of
// waiting for a leader for seconds.
func TestNoQuorumAnswersFast(t *testing.T) {
	addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	cfg := testConfig(1, addrs[0], t.TempDir())
	cfg.InitialMembers = map[uint64]string{1: addrs[0], 2: addrs[1], 3: addrs[2]}
	h := startHost(t, cfg)
	for _, op := range []string{"propose", "read"} {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		start := time.Now()
		var err error
		if op == "propose" {
			_, err = h.Propose(ctx, testShard, []byte{1})
		} else {
			_, err = h.Read(ctx, testShard, "count")
		}
		cancel()
		d := time.Since(start)
		if !errors.Is(err, ErrNoQuorum) || !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s without quorum: %v, want ErrNoQuorum", op, err)
		}
		if d > time.Second {
			t.Errorf("%s without quorum answered after %v, want under 1s", op, d)
		}
	}
}

// TestThreeReplicas runs three NodeHosts in one process, kills the leader,
// keeps proposing through the survivors, then brings the killed node back
// and checks it catches up.
func TestThreeReplicas(t *testing.T) {
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t), 3: freeAddr(t)}
	dirs := map[uint64]string{1: t.TempDir(), 2: t.TempDir(), 3: t.TempDir()}
	cfgOf := func(id uint64) Config {
		c := testConfig(id, addrs[id], dirs[id])
		c.InitialMembers = addrs
		return c
	}
	hosts := map[uint64]*Host{}
	for id := uint64(1); id <= 3; id++ {
		hosts[id] = startHost(t, cfgOf(id))
	}
	for _, h := range hosts {
		waitReady(t, h)
	}
	var want uint64
	for i := range 30 {
		want++
		if got := propose(t, hosts[uint64(i%3+1)], 1); got != want {
			t.Fatalf("proposal %d returned %d", want, got)
		}
	}
	for id, h := range hosts {
		if got := readCount(t, h); got != want {
			t.Fatalf("replica %d reads %d, want %d", id, got, want)
		}
	}

	leader, ok := hosts[1].LeaderID(testShard)
	if !ok {
		t.Fatal("no leader")
	}
	hosts[leader].Close()
	var survivors []*Host
	for id, h := range hosts {
		if id != leader {
			survivors = append(survivors, h)
		}
	}
	// Proposals through the survivors go on once they elect a new leader;
	// Propose's retries absorb the election.
	for i := range 20 {
		want++
		if got := propose(t, survivors[i%2], 1); got != want {
			t.Fatalf("proposal %d after leader kill returned %d", want, got)
		}
	}
	newLeader, ok := survivors[0].LeaderID(testShard)
	if !ok || newLeader == leader {
		t.Fatalf("leader after kill: %d %v (old %d)", newLeader, ok, leader)
	}
	for _, h := range survivors {
		if got := readCount(t, h); got != want {
			t.Fatalf("survivor %d reads %d, want %d", h.ReplicaID(), got, want)
		}
	}

	// The killed node restarts from its data and catches up.
	back := startHost(t, cfgOf(leader))
	waitReady(t, back)
	if got := readCount(t, back); got != want {
		t.Fatalf("restarted replica %d reads %d, want %d", leader, got, want)
	}
	// Leadership can be moved back to it.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := survivors[0].TransferLeader(ctx, testShard, leader); err != nil {
		t.Fatalf("transfer to %d: %v", leader, err)
	}
	waitFor(t, 5*time.Second, "all replicas to see the new leader", func() bool {
		for _, h := range []*Host{back, survivors[0], survivors[1]} {
			if id, ok := h.LeaderID(testShard); !ok || id != leader {
				return false
			}
		}
		return true
	})
	want++
	if got := propose(t, back, 1); got != want {
		t.Fatalf("proposal on restored leader returned %d", got)
	}
}

// TestMembershipChanges grows a single-node shard to two replicas by
// AddReplica + Join, then replaces the new replica with a fresh id.
func TestMembershipChanges(t *testing.T) {
	a1, a2, a3 := freeAddr(t), freeAddr(t), freeAddr(t)
	h1 := startHost(t, testConfig(1, a1, t.TempDir()))
	waitReady(t, h1)
	for range 60 { // past a snapshot: the new replica may catch up from it
		propose(t, h1, 1)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	if err := h1.AddReplica(ctx, testShard, 2, a2); err != nil {
		t.Fatal(err)
	}
	// With two members and only one running there is no quorum until the
	// new node starts.
	c2 := testConfig(2, a2, t.TempDir())
	c2.Join = true
	h2 := startHost(t, c2)
	waitReady(t, h2)
	if got := readCount(t, h2); got != 60 {
		t.Fatalf("joined replica reads %d, want 60", got)
	}
	if err := h1.AddReplica(ctx, testShard, 2, a2); err != nil {
		t.Fatalf("adding the same replica again: %v", err)
	}
	if err := h1.AddReplica(ctx, testShard, 2, a3); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("replica 2 re-added at another address: %v", err)
	}
	m, err := h2.Membership(ctx, testShard)
	if err != nil || len(m) != 2 || m[1] != a1 || m[2] != a2 {
		t.Fatalf("membership %v, %v", m, err)
	}

	// Replace replica 2 by replica 3 (never reuse an id).
	if err := h1.RemoveReplica(ctx, testShard, 2); err != nil {
		t.Fatal(err)
	}
	if err := h1.RemoveReplica(ctx, testShard, 2); err != nil {
		t.Fatalf("removing a non-member: %v", err)
	}
	h2.Close()
	if err := h1.AddReplica(ctx, testShard, 2, a2); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("re-adding removed id 2: %v", err)
	}
	if err := h1.AddReplica(ctx, testShard, 3, a3); err != nil {
		t.Fatal(err)
	}
	c3 := testConfig(3, a3, t.TempDir())
	c3.Join = true
	h3 := startHost(t, c3)
	waitReady(t, h3)
	if got := propose(t, h3, 1); got != 61 {
		t.Fatalf("proposal via replica 3 returned %d", got)
	}
	if got := readCount(t, h1); got != 61 {
		t.Fatalf("replica 1 reads %d", got)
	}
	m, err = h1.Membership(ctx, testShard)
	if err != nil || len(m) != 2 || m[3] != a3 {
		t.Fatalf("membership %v, %v", m, err)
	}
}

// TestTransferLeaderToNonMember: a transfer to a replica that is not a
// voting member (a caller's view of a membership that is moving) fails as
// a temporary error, which the gateway answers with 503, not 500.
func TestTransferLeaderToNonMember(t *testing.T) {
	h := startHost(t, testConfig(1, freeAddr(t), t.TempDir()))
	waitReady(t, h)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	err := h.TransferLeader(ctx, testShard, 99)
	if !errors.Is(err, ErrShardNotReady) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("transfer to a non-member: %v, want ErrShardNotReady", err)
	}
}
