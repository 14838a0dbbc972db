package raft

import (
	"io"
	"log/slog"
	"testing"

	"github.com/lni/dragonboat/v4/config"
)

func TestStepWorkersFor(t *testing.T) {
	for _, c := range []struct {
		procs int
		want  uint64
	}{{1, 2}, {2, 2}, {6, 6}, {16, 16}, {64, 16}} {
		if got := StepWorkersFor(c.procs); got != c.want {
			t.Errorf("StepWorkersFor(%d) = %d, want %d", c.procs, got, c.want)
		}
	}
}

// TestDataDirKeepsStepWorkers: Dragonboat refuses a data dir under other
// step worker or LogDB shard counts than it was made with; a host started
// with other settings (another machine size, another default) keeps the
// data dir's, and its state.
func TestDataDirKeepsStepWorkers(t *testing.T) {
	dir := t.TempDir()
	c := testConfig(1, freeAddr(t), dir)
	c.StepWorkers = 5
	h := startHost(t, c)
	waitReady(t, h)
	want := propose(t, h, 3)
	h.Close()
	if st, ok := storedStatus(dir); !ok || st.StepWorkerCount != 5 || st.LogdbShardCount != 5 {
		t.Fatalf("data dir records %+v, want 5 step workers and 5 log shards", st)
	}

	for _, workers := range []uint64{0, 3} {
		c.StepWorkers = workers
		h = startHost(t, c)
		waitReady(t, h)
		if got := readCount(t, h); got != want {
			t.Fatalf("restarted with %d step workers: read %d, want %d", workers, got, want)
		}
		want = propose(t, h, 1)
		h.Close()
	}
	if st, _ := storedStatus(dir); st.StepWorkerCount != 5 || st.LogdbShardCount != 5 {
		t.Fatalf("data dir records %d step workers and %d log shards after restarts, want 5", st.StepWorkerCount, st.LogdbShardCount)
	}
}

// TestApplyWorkers: the apply workers are as many as the step workers
// (Dragonboat's default of 16 each wake five times a second, idle or
// not), and a data dir that keeps other step worker counts does not
// change them: they are not recorded in it.
func TestApplyWorkers(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := DefaultConfig()
	c.DataDir = t.TempDir()
	for _, workers := range []uint64{2, 5} {
		c.StepWorkers = workers
		e, _ := engineConfig(c, log)
		if e.ExecShards != workers || e.ApplyShards != workers {
			t.Errorf("%d step workers: engine has %d step and %d apply workers", workers, e.ExecShards, e.ApplyShards)
		}
	}

	dir := t.TempDir()
	c = testConfig(1, freeAddr(t), dir)
	c.StepWorkers = 5
	h := startHost(t, c)
	waitReady(t, h)
	h.Close()
	c.StepWorkers = 3
	e, _ := engineConfig(c, log)
	if e.ExecShards != 5 || e.ApplyShards != 3 {
		t.Errorf("a data dir of 5 step workers, started with 3: %d step and %d apply workers, want 5 and 3", e.ExecShards, e.ApplyShards)
	}
}

func TestStepWorkersValidate(t *testing.T) {
	c := DefaultConfig()
	c.StepWorkers = 17
	if err := c.Validate(); err == nil {
		t.Fatal("17 step workers accepted")
	}
	c.StepWorkers = 16
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestAwakeShardTiming: with SparseAwake, the awake shard keeps the other
// shards' election and heartbeats half as often, at most a fifth of the
// election (200 ms and 40 ms under the defaults, the others' timing already), a timing Dragonboat
// accepts for every valid Config; the other shards keep the configured
// one, and so does the awake shard without SparseAwake.
func TestAwakeShardTiming(t *testing.T) {
	for _, c := range []struct {
		election, heartbeat uint64
		wantE, wantH        uint64
	}{
		{20, 2, 20, 4}, // the raft tests' (5 ms ticks)
		{5, 1, 5, 1},   // the defaults (40 ms ticks): a fifth already
		{10, 1, 10, 2}, // 20 ms ticks, 200 ms election
		{20, 1, 20, 2}, // the cluster tests'
		{40, 4, 40, 8},
		{100, 10, 100, 20},
		{20, 8, 20, 8}, // a heartbeat close to the election: kept
		{3, 1, 3, 1},
		{5, 2, 5, 2},
	} {
		cfg := DefaultConfig()
		cfg.ElectionRTT, cfg.HeartbeatRTT = c.election, c.heartbeat
		cfg.AwakeShard, cfg.SparseAwake = 1, true
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%d/%d: %v", c.election, c.heartbeat, err)
		}
		e, h := cfg.timing(1)
		if e != c.wantE || h != c.wantH {
			t.Errorf("awake shard under %d/%d: %d/%d, want %d/%d", c.election, c.heartbeat, e, h, c.wantE, c.wantH)
		}
		dc := config.Config{ShardID: 1, ReplicaID: 1, ElectionRTT: e, HeartbeatRTT: h}
		if err := dc.Validate(); err != nil {
			t.Errorf("awake shard under %d/%d: Dragonboat refuses %d/%d: %v", c.election, c.heartbeat, e, h, err)
		}
		if e, h := cfg.timing(2); e != c.election || h != c.heartbeat {
			t.Errorf("another shard under %d/%d: %d/%d", c.election, c.heartbeat, e, h)
		}
	}
	cfg := DefaultConfig()
	if e, h := cfg.timing(1); e != cfg.ElectionRTT || h != cfg.HeartbeatRTT {
		t.Errorf("no awake shard: shard 1 has %d/%d", e, h)
	}
	cfg.AwakeShard = 1
	if e, h := cfg.timing(1); e != cfg.ElectionRTT || h != cfg.HeartbeatRTT {
		t.Errorf("an awake shard without SparseAwake: %d/%d", e, h)
	}
}
