package raft

import (
	"testing"
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
