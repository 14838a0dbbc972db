//go:build cluster

package cluster

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRollingRestartUnderLoad: every node in turn is stopped (SIGTERM)
// and started again with the same data directory and flags while a load
// writes; the cluster takes writes throughout and loses nothing.
func TestRollingRestartUnderLoad(t *testing.T) {
	c := startCluster(t, 3)
	load := c.StartLoad(t, loadConfig{bucket: "rolling"})
	load.WaitAcks(t, 20, time.Minute)
	for _, n := range c.Nodes() {
		wasLeader := false
		if l, err := c.Leader(); err == nil && l.ID == n.ID {
			wasLeader = true
		}
		n.Stop()
		load.WaitAcks(t, 15, time.Minute) // writes go on without it
		n.Start()
		n.WaitReady(t)
		load.WaitAcks(t, 10, time.Minute)
		t.Logf("restarted node %d (leader before: %v)", n.ID, wasLeader)
	}
	load.Stop()
	c.WaitConverged(t)
	load.Log.Verify(t, c.Nodes())
}

// TestRejoinAfterMissedWrites: a node is down while objects are written
// and deleted, snapshots are taken and deleted and forks are created.
// When it returns, /health/ready stays 503 until it has applied what the
// leader had committed when it came back; then every read on it equals
// the others', forks and snapshot reads included.
func TestRejoinAfterMissedWrites(t *testing.T) {
	c := startCluster(t, 3)
	n1, n2, n3 := c.Node(1), c.Node(2), c.Node(3)
	log := &AckLog{}
	put := func(n *Node, bucket, key string, size int) {
		t.Helper()
		b := bytes.Repeat([]byte(fmt.Sprintf("%s/%s;", bucket, key)), size/8+1)[:size]
		err := n.putObject(bucket, key, b)
		must(t, fmt.Sprintf("put %s/%s on node %d", bucket, key, n.ID), err)
		log.record(ackOp{kind: opPut, bucket: bucket, key: key, hash: hashOf(b), size: size, acked: true, node: n.ID})
	}
	del := func(n *Node, bucket, key string) {
		t.Helper()
		must(t, fmt.Sprintf("delete %s/%s on node %d", bucket, key, n.ID), n.deleteObject(bucket, key))
		log.record(ackOp{kind: opDelete, bucket: bucket, key: key, acked: true, node: n.ID})
	}
	must(t, "create bucket", n1.makeBucket("base"))
	for i := range 20 {
		size := 1000 + i*997
		if i%7 == 0 {
			size = bigMin + i*4099
		}
		put(c.Nodes()[i%3], "base", fmt.Sprintf("before/%02d", i), size)
	}
	snapBefore, err := n1.CreateSnapshot("base", "before")
	must(t, "snapshot before", err)
	c.WaitConverged(t)

	n3.Stop()
	// What node 3 misses: writes, deletes, snapshots (one deleted again),
	// a fork from a snapshot and a fork of the live bucket, writes in the
	// forks, and enough small writes to move the log along.
	for i := range 60 {
		size := 500 + i*31
		if i%15 == 0 {
			size = bigMin + i*8191
		}
		put([]*Node{n1, n2}[i%2], "base", fmt.Sprintf("during/%02d", i), size)
	}
	for i := range 10 {
		del([]*Node{n1, n2}[i%2], "base", fmt.Sprintf("before/%02d", i))
	}
	snapDuring, err := n2.CreateSnapshot("base", "during")
	must(t, "snapshot during", err)
	snapGone, err := n1.CreateSnapshot("base", "gone")
	must(t, "snapshot to delete", err)
	must(t, "fork at snapshot", n1.CreateFork("base", "fork-at-snap", snapBefore))
	must(t, "fork of live", n2.CreateFork("base", "fork-live", ""))
	log.markFork("fork-at-snap")
	log.markFork("fork-live")
	put(n1, "fork-at-snap", "before/01", 4321) // shadows the parent's
	put(n2, "fork-live", "own", bigMin+12345)
	del(n1, "fork-live", "during/00")
	for i := range 5 {
		put(n1, "base", fmt.Sprintf("after-snap/%02d", i), 777)
	}
	must(t, "delete snapshot", n1.DeleteSnapshot("base", snapGone))

	leaderStatus, err := c.WaitLeader(t).NodeStatus(statusTimeout)
	must(t, "leader status", err)
	mark := leaderStatus.AppliedIndex

	// Node 3 returns: ready only once it has applied up to mark.
	n3.Start()
	readySeen := false
	waitFor(t, readyTimeout, "node 3 to be ready again", func() error {
		if err := n3.Ready(statusTimeout); err != nil {
			return err
		}
		st, err := n3.NodeStatus(statusTimeout)
		if err != nil {
			return err
		}
		readySeen = true
		if st.AppliedIndex < mark {
			t.Errorf("node 3 answered /health/ready 200 at applied index %d, the leader had applied %d before it started", st.AppliedIndex, mark)
		}
		return nil
	})
	if !readySeen {
		t.Fatal("node 3 never ready")
	}
	// It missed far more than --snapshot-entries: the leader sent a
	// snapshot (one consistent read of the whole metadata), then the log.
	if !strings.Contains(n3.LogTail(64<<20), "recovered from snapshot") {
		t.Errorf("node 3 caught up without a Raft snapshot (its log has no \"recovered from snapshot\")")
	}
	c.WaitConverged(t)
	log.Verify(t, c.Nodes())

	// Forks and snapshot reads: node 3 answers exactly what node 1 does.
	views := []struct{ bucket, at string }{
		{"base", ""}, {"base", snapBefore}, {"base", snapDuring},
		{"fork-at-snap", ""}, {"fork-live", ""},
	}
	for _, v := range views {
		want := contents(t, n1, v.bucket, v.at)
		if len(want) == 0 {
			t.Errorf("%s at %q is empty on node 1", v.bucket, v.at)
		}
		for _, n := range []*Node{n2, n3} {
			got := contents(t, n, v.bucket, v.at)
			if !mapsEqual(got, want) {
				t.Errorf("node %d: %s at %q differs from node 1: %s", n.ID, v.bucket, v.at, diffContents(got, want))
			}
		}
	}
	if got := contents(t, n3, "base", snapBefore); len(got) != 20 {
		t.Errorf("node 3: snapshot %s of base has %d keys, want the 20 written before it", snapBefore, len(got))
	}
	if _, err := n3.listKeys("base", snapGone); err == nil {
		t.Errorf("node 3 lists the deleted snapshot %s", snapGone)
	}
}

// contents returns key -> SHA-256 of every object of bucket at version at
// (the live bucket when at is ""), read through node n.
func contents(t testing.TB, n *Node, bucket, at string) map[string]string {
	t.Helper()
	keys, err := n.listKeys(bucket, at)
	if err != nil {
		t.Fatalf("node %d: list %s at %q: %s", n.ID, bucket, at, describe(err))
	}
	out := map[string]string{}
	for _, k := range keys {
		b, err := n.getObject(bucket, k, at)
		if err != nil {
			t.Fatalf("node %d: GET %s/%s at %q (listed): %s", n.ID, bucket, k, at, describe(err))
		}
		out[k] = hashOf(b)
	}
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// diffContents describes how got differs from want (at most 10 keys).
func diffContents(got, want map[string]string) string {
	var d []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			d = append(d, "missing "+k)
		} else if g != v {
			d = append(d, "different "+k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			d = append(d, "extra "+k)
		}
	}
	slices.Sort(d)
	if len(d) > 10 {
		d = append(d[:10], fmt.Sprintf("... %d more", len(d)-10))
	}
	return fmt.Sprint(d)
}
