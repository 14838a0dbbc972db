//go:build cluster

package cluster

import (
	"testing"
	"time"
)

// startSingle starts one node with no cluster flag: a cluster of one, as
// `make run` runs it.
func startSingle(t *testing.T) *Cluster {
	t.Helper()
	c := &Cluster{t: t, nextID: 1, single: true}
	n := c.startNode(freeAddrs(t, 1)[0], freeAddrs(t, 1)[0])
	n.WaitReady(t)
	return c
}

// TestSingleNodeHarness checks the harness itself on a cluster of one
// (no cluster flags, as `make run`): the process controls, the load and
// its log, and that a SIGKILL loses no acknowledged write.
func TestSingleNodeHarness(t *testing.T) {
	c := startSingle(t)
	n := c.Node(1)
	load := c.StartLoad(t, loadConfig{bucket: "single", bigEvery: 6})
	load.WaitAcks(t, 30, time.Minute)

	n.Pause()
	if err := n.Ready(time.Second); err == nil {
		t.Errorf("a paused node answered /health/ready")
	}
	n.Resume()
	n.WaitReady(t)
	load.WaitAcks(t, 10, time.Minute)

	n.Kill()
	if n.Running() || n.Up() {
		t.Fatalf("node runs after Kill")
	}
	killedAt := time.Now()
	n.Start()
	n.WaitReady(t)
	load.WaitAcks(t, 10, time.Minute)
	load.Stop()
	firstOK, gap, failed, err := load.Unavailability(killedAt)
	must(t, "unavailability", err)
	t.Logf("single node kill and restart: first acknowledged write after %v, longest gap %v, %d failed",
		firstOK.Round(time.Millisecond), gap.Round(time.Millisecond), failed)
	load.Log.Verify(t, c.Nodes())

	n.Restart() // SIGTERM, same data directory
	load.Log.Verify(t, c.Nodes())

	n.Stop()
	n.Wipe()
	n.Start()
	n.WaitReady(t)
	if keys, err := n.listKeys("single", ""); err == nil {
		t.Errorf("after Wipe the bucket still lists %d keys", len(keys))
	}
}
