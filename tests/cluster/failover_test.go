//go:build cluster

package cluster

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// TestLeaderKillUnderLoad: SIGKILL of the leader in the middle of a write
// load. Clients see errors for a short while (measured and logged), a new
// leader takes writes, the old leader rejoins, and every acknowledged
// write reads back with the same bytes from every node.
func TestLeaderKillUnderLoad(t *testing.T) {
	c := startCluster(t, 3)
	load := c.StartLoad(t, loadConfig{bucket: "killed"})
	load.WaitAcks(t, 40, time.Minute)

	old := c.WaitLeader(t)
	killedAt := time.Now()
	old.Kill()
	t.Logf("killed the leader, node %d", old.ID)
	l := c.WaitLeader(t)
	if l.ID == old.ID {
		t.Fatalf("node %d still leads after its kill", l.ID)
	}
	t.Logf("node %d leads %v after the kill", l.ID, time.Since(killedAt).Round(time.Millisecond))
	load.WaitAcks(t, 40, time.Minute)

	old.Start()
	old.WaitReady(t)
	load.WaitAcks(t, 20, time.Minute)
	load.Stop()

	firstOK, gap, failed, err := load.Unavailability(killedAt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("leader kill: first acknowledged write %v after the kill, longest time without an acknowledged write %v, %d writes failed",
		firstOK.Round(time.Millisecond), gap.Round(time.Millisecond), failed)
	c.WaitConverged(t)
	load.Log.Verify(t, c.Nodes())
}

// TestPausedLeaderUnderLoad: the leader is frozen with SIGSTOP under a
// write load; the other two elect a leader and go on; after SIGCONT the
// old leader follows (it cannot keep acting as leader), catches up, and
// no acknowledged write is lost or differs between nodes.
func TestPausedLeaderUnderLoad(t *testing.T) {
	c := startCluster(t, 3)
	load := c.StartLoad(t, loadConfig{bucket: "paused"})
	load.WaitAcks(t, 30, time.Minute)

	old := c.WaitLeader(t)
	pausedAt := time.Now()
	old.Pause()
	t.Logf("paused the leader, node %d", old.ID)
	l := c.WaitLeader(t)
	if l.ID == old.ID {
		t.Fatalf("the running nodes name the paused node %d as leader", l.ID)
	}
	load.WaitAcks(t, 40, time.Minute)
	firstOK, _, failed, err := load.Unavailability(pausedAt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("leader pause: node %d leads; first acknowledged write %v after the pause (%d failed)", l.ID, firstOK.Round(time.Millisecond), failed)

	old.Resume()
	t.Logf("resumed node %d", old.ID)
	waitFor(t, convergeTimout, fmt.Sprintf("node %d to follow node %d", old.ID, l.ID), func() error {
		st, err := old.NodeStatus(statusTimeout)
		if err != nil {
			return err
		}
		if st.LeaderID == old.ID || st.LeaderID == 0 {
			return fmt.Errorf("node %d says the leader is %d", old.ID, st.LeaderID)
		}
		return old.Ready(statusTimeout)
	})
	load.WaitAcks(t, 20, time.Minute)
	load.Stop()
	c.WaitConverged(t)
	load.Log.Verify(t, c.Nodes())
}

// TestTwoOfThreeDown: with one node of three down the cluster writes;
// with two down, writes answer 503 ServiceUnavailable, and a node that
// missed the latest write never serves its stale copy as current.
func TestTwoOfThreeDown(t *testing.T) {
	c := startCluster(t, 3)
	n1, n2, n3 := c.Node(1), c.Node(2), c.Node(3)
	must(t, "create bucket", n1.makeBucket("quorum"))
	v1, v2 := []byte("version one of the key"), []byte("version two, written while node 3 was down")
	must(t, "put v1", n1.putObject("quorum", "k", v1))
	waitFor(t, convergeTimout, "node 3 to read v1", func() error {
		b, err := n3.getObject("quorum", "k", "")
		if err != nil {
			return err
		}
		if !bytes.Equal(b, v1) {
			return fmt.Errorf("node 3 reads %q", b)
		}
		return nil
	})

	// One of three down: writes go on.
	t.Logf("node 3 reads v1")
	n3.Stop()
	must(t, "put v2 with node 3 down", n1.putObject("quorum", "k", v2))
	must(t, "put other with node 3 down", n2.putObject("quorum", "other", []byte("x")))

	// Two of three down: node 3 comes back alone, holding only v1.
	n1.Kill()
	n2.Kill()
	n3.Start()
	t.Logf("nodes 1 and 2 killed, node 3 started alone")
	// It must not be ready: it cannot know it is current.
	waitFor(t, readyTimeout, "node 3 to serve HTTP", func() error {
		_, err := n3.NodeStatus(statusTimeout)
		return err
	})
	if err := n3.Ready(statusTimeout); err == nil {
		t.Errorf("node 3 alone (2 of 3 down) answers /health/ready 200")
	}
	for i := range 2 {
		start := time.Now()
		b, err := n3.getObject("quorum", "k", "")
		t.Logf("read %d on node 3 alone answered in %v: %s", i, time.Since(start).Round(time.Millisecond), describe(err))
		switch {
		case err == nil && bytes.Equal(b, v1):
			t.Fatalf("read %d on node 3 with 2 of 3 down returned the stale v1 as current", i)
		case err == nil:
			t.Errorf("read %d on node 3 with 2 of 3 down returned %q, want 503", i, b)
		case !isUnavailable(err):
			t.Errorf("read %d on node 3 with 2 of 3 down: %s, want 503 ServiceUnavailable", i, describe(err))
		}
		start = time.Now()
		err = n3.putObject("quorum", fmt.Sprintf("refused-%d", i), []byte("must not be acknowledged"))
		t.Logf("write %d on node 3 alone answered in %v: %s", i, time.Since(start).Round(time.Millisecond), describe(err))
		if err == nil {
			t.Fatalf("write %d on node 3 with 2 of 3 down was acknowledged", i)
		}
		if !isUnavailable(err) {
			t.Errorf("write %d on node 3 with 2 of 3 down: %s, want 503 ServiceUnavailable", i, describe(err))
		}
	}
	if keys, err := n3.listKeys("quorum", ""); err == nil {
		t.Errorf("listing on node 3 with 2 of 3 down answered %v, want 503", keys)
	} else if !isUnavailable(err) {
		t.Errorf("listing on node 3 with 2 of 3 down: %s, want 503 ServiceUnavailable", describe(err))
	}

	// Quorum back: node 3 reads v2, and the refused writes are nowhere.
	n1.Start()
	n2.Start()
	restarted := time.Now()
	for _, n := range c.Nodes() {
		n.WaitReady(t)
	}
	t.Logf("all ready %v after nodes 1 and 2 restarted", time.Since(restarted).Round(time.Millisecond))
	c.WaitConverged(t)
	t.Logf("converged %v after nodes 1 and 2 restarted", time.Since(restarted).Round(time.Millisecond))
	for _, n := range c.Nodes() {
		b, err := n.getObject("quorum", "k", "")
		if err != nil || !bytes.Equal(b, v2) {
			t.Errorf("node %d reads k = %q, %s; want v2", n.ID, b, describe(err))
		}
		keys, err := n.listKeys("quorum", "")
		if err != nil {
			t.Fatalf("node %d list: %s", n.ID, describe(err))
		}
		if fmt.Sprint(keys) != "[k other]" {
			t.Errorf("node %d lists %v, want [k other]", n.ID, keys)
		}
	}
}
