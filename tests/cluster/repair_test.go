//go:build cluster

package cluster

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/forkstore/forkstore/block"
)

// chunkName is a chunk file's name: <data>/chunks/ab/cd/<32 hex>.
var chunkName = regexp.MustCompile(`^[0-9a-f]{32}$`)

// chunkIDs returns the ids of the chunk files in the node's data
// directory, sorted (temporary files are not chunks).
func chunkIDs(t testing.TB, n *Node) []string {
	t.Helper()
	var out []string
	root := filepath.Join(n.DataDir, "chunks")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == root {
				return filepath.SkipDir
			}
			return err
		}
		if !d.IsDir() && chunkName.MatchString(d.Name()) {
			out = append(out, d.Name())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("node %d: walk %s: %v", n.ID, root, err)
	}
	slices.Sort(out)
	return out
}

// chunkPath is where a node keeps chunk id.
func chunkPath(n *Node, id string) string {
	return block.ChunkPath(filepath.Join(n.DataDir, "chunks"), id)
}

// writeObjects puts count objects of the given sizes into bucket through
// the nodes in turn and logs them.
func writeObjects(t testing.TB, c *Cluster, log *AckLog, bucket, prefix string, sizes []int) {
	t.Helper()
	for i, size := range sizes {
		n := c.Up()[i%len(c.Up())]
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(i*31 + j*7 + j>>10)
		}
		key := fmt.Sprintf("%s%03d", prefix, i)
		must(t, fmt.Sprintf("put %s/%s on node %d", bucket, key, n.ID), n.putObject(bucket, key, b))
		log.record(ackOp{kind: opPut, bucket: bucket, key: key, hash: hashOf(b), size: size, acked: true, node: n.ID})
	}
}

// TestRepairAfterNodeLoss: in a 4-node cluster (3 replicas per chunk) a
// node is lost for good and removed. Repair copies the chunks it held to
// the remaining members: cluster status shows the backlog drain to 0, and
// then each of the 3 remaining members holds every chunk and reads every
// object.
func TestRepairAfterNodeLoss(t *testing.T) {
	c := startCluster(t, 4)
	n1, n4 := c.Node(1), c.Node(4)
	log := &AckLog{}
	must(t, "bucket", n1.makeBucket("repair"))
	var sizes []int
	for i := range 16 {
		sizes = append(sizes, bigMin+i*70001)
	}
	for i := range 16 {
		sizes = append(sizes, 100+i*1000)
	}
	writeObjects(t, c, log, "repair", "o", sizes)
	c.WaitConverged(t)

	all := map[string]bool{}
	for _, n := range c.Nodes() {
		for _, id := range chunkIDs(t, n) {
			all[id] = true
		}
	}
	lost := chunkIDs(t, n4)
	t.Logf("%d chunks; node 4 held %d of them", len(all), len(lost))
	if len(lost) == 0 {
		t.Fatalf("node 4 holds no chunk: with 4 nodes and 3 replicas it should hold about 3/4 of %d", len(all))
	}

	n4.Kill()
	n4.Wipe()
	lostAt := time.Now()
	c.Remove(t, n1, n4, true)

	var backlog []int64
	waitFor(t, convergeTimout, "the repair backlog to drain and every chunk to be on every remaining member", func() error {
		var st ClusterStatus
		if err := c.Node(2).CLIJSON(&st, "cluster", "status"); err != nil {
			return err
		}
		var sum int64
		for _, m := range st.Members {
			sum += m.RepairBacklog
		}
		if len(backlog) == 0 || backlog[len(backlog)-1] != sum {
			backlog = append(backlog, sum)
		}
		if got := st.memberIDs(); !slices.Equal(got, []uint64{1, 2, 3}) {
			return fmt.Errorf("members %v", got)
		}
		if sum != 0 {
			return fmt.Errorf("repair backlog %d", sum)
		}
		for _, n := range c.Nodes() {
			have := chunkIDs(t, n)
			if len(have) < len(all) {
				return fmt.Errorf("node %d holds %d of %d chunks (status says backlog 0)", n.ID, len(have), len(all))
			}
			m := st.member(n.ID)
			if m == nil || m.ChunkFiles != int64(len(have)) {
				return fmt.Errorf("node %d has %d chunk files, status says %+v", n.ID, len(have), m)
			}
		}
		return nil
	})
	t.Logf("repair done %v after the loss; total backlog seen by cluster status: %v", time.Since(lostAt).Round(time.Millisecond), backlog)
	for _, n := range c.Nodes() {
		have := map[string]bool{}
		for _, id := range chunkIDs(t, n) {
			have[id] = true
		}
		for id := range all {
			if !have[id] {
				t.Errorf("node %d lacks chunk %s after repair", n.ID, id)
			}
		}
	}
	c.WaitConverged(t)
	log.Verify(t, c.Nodes())
}

// TestScrubRepairsCorruptChunk: a chunk file is damaged on disk (same
// size, flipped bytes). A scrub pass finds it on that node only, repairs
// it from a good copy, and every node reads the object's original bytes.
func TestScrubRepairsCorruptChunk(t *testing.T) {
	c := startCluster(t, 3)
	n1, n2 := c.Node(1), c.Node(2)
	log := &AckLog{}
	must(t, "bucket", n1.makeBucket("scrub"))
	writeObjects(t, c, log, "scrub", "o", []int{bigMin + 1, 2*bigMin + 3, 3*bigMin + 5, 1000})
	c.WaitConverged(t)

	ids2 := chunkIDs(t, n2)
	if len(ids2) == 0 {
		t.Fatal("node 2 holds no chunk")
	}
	victim := ids2[len(ids2)/2]
	path := chunkPath(n2, victim)
	good, err := os.ReadFile(chunkPath(n1, victim))
	must(t, "read node 1's copy", err)
	bad, err := os.ReadFile(path)
	must(t, "read node 2's copy", err)
	if !bytes.Equal(good, bad) {
		t.Fatalf("chunk %s differs between node 1 and node 2 before any damage", victim)
	}
	for i := len(bad) / 3; i < len(bad)/3+64 && i < len(bad); i++ {
		bad[i] ^= 0xA5
	}
	must(t, "damage the chunk", os.WriteFile(path, bad, 0o644))
	t.Logf("damaged chunk %s on node 2 (%d bytes)", victim, len(bad))

	res, err := n1.Scrub()
	must(t, "scrub", err)
	t.Logf("scrub: %+v", res.Nodes)
	for _, n := range c.Nodes() {
		r, ok := res.Nodes[fmt.Sprint(n.ID)]
		if !ok {
			t.Errorf("scrub result has no entry for node %d", n.ID)
			continue
		}
		if r.Checked < len(chunkIDs(t, n)) {
			t.Errorf("node %d: scrub checked %d chunks, it holds %d", n.ID, r.Checked, len(chunkIDs(t, n)))
		}
		wantCorrupt := 0
		if n.ID == n2.ID {
			wantCorrupt = 1
		}
		if r.Corrupt != wantCorrupt || r.Repaired != wantCorrupt {
			t.Errorf("node %d: scrub found %d corrupt and repaired %d, want %d and %d", n.ID, r.Corrupt, r.Repaired, wantCorrupt, wantCorrupt)
		}
	}
	fixed, err := os.ReadFile(path)
	must(t, "read the repaired chunk", err)
	if !bytes.Equal(fixed, good) {
		t.Errorf("chunk %s on node 2 after the scrub is not the good copy", victim)
	}
	log.Verify(t, c.Nodes())

	// A second pass, through the CLI, finds nothing.
	var again ScrubResult
	must(t, "forkstore cluster scrub", n2.CLIJSON(&again, "cluster", "scrub"))
	for id, r := range again.Nodes {
		if r.Corrupt != 0 {
			t.Errorf("second scrub: node %s has %d corrupt chunks", id, r.Corrupt)
		}
	}
}
