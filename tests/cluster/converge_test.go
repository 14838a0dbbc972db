//go:build cluster

package cluster

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// gcTestEnv shortens the chunk collector's windows (test-only settings):
// the GC queue may be trimmed 1 s after an entry, and a chunk outlives
// its last reference by 1 s.
var gcTestEnv = []string{"FORKSTORE_GC_TRIM_AGE=1s", "FORKSTORE_GC_READ_GRACE=1s"}

// TestReturningNodeDropsDeletedChunks: a follower is down while objects
// stored in chunks are deleted, for far longer than the GC queue's trim
// window. When it returns, its chunk directory converges to the chunks the
// metadata still references, and cluster status counts the files on disk.
func TestReturningNodeDropsDeletedChunks(t *testing.T) {
	c := startCluster(t, 3, withEnv(gcTestEnv...))
	n1, n2, n3 := c.Node(1), c.Node(2), c.Node(3)
	log := &AckLog{}
	must(t, "bucket", n1.makeBucket("conv"))
	var sizes []int
	for i := range 12 {
		sizes = append(sizes, bigMin+i*4099)
	}
	writeObjects(t, c, log, "conv", "o", sizes)
	c.WaitConverged(t)
	waitFor(t, convergeTimout, "every node to hold every chunk", func() error {
		want := chunkIDs(t, n1)
		for _, n := range []*Node{n2, n3} {
			if got := chunkIDs(t, n); !slices.Equal(got, want) {
				return fmt.Errorf("node %d holds %d chunks, node 1 %d", n.ID, len(got), len(want))
			}
		}
		return nil
	})
	before := chunkIDs(t, n3)
	t.Logf("%d chunks on each node", len(before))

	leader := c.WaitLeader(t)
	var down *Node
	var up []*Node
	for _, n := range c.Nodes() {
		if n.ID != leader.ID && down == nil {
			down = n
		} else {
			up = append(up, n)
		}
	}
	n1, n2 = up[0], up[1]
	down.Stop()

	// Delete the first 8 objects on the two others; the rest stay.
	for i := range 8 {
		key := fmt.Sprintf("o%03d", i)
		must(t, "delete "+key, n1.deleteObject("conv", key))
		log.record(ackOp{kind: opDelete, bucket: "conv", key: key, acked: true, node: n1.ID})
	}
	var kept []string
	waitFor(t, convergeTimout, "the two nodes up to delete the chunks of the deleted objects", func() error {
		a, b := chunkIDs(t, n1), chunkIDs(t, n2)
		if !slices.Equal(a, b) {
			return fmt.Errorf("node %d holds %d chunks, node %d %d", n1.ID, len(a), n2.ID, len(b))
		}
		if len(a) >= len(before) {
			return fmt.Errorf("node %d still holds %d of %d chunks", n1.ID, len(a), len(before))
		}
		kept = a
		return nil
	})
	deletedAt := time.Now()
	// Stay down for many trim windows and collector rounds (the windows
	// are 1 s, rounds every 2 s): without the hold the leader has trimmed
	// these entries from the GC queue by now.
	trimPast := 10 * time.Second
	waitFor(t, trimPast+time.Minute, "the GC queue trim window to pass many times", func() error {
		if d := time.Since(deletedAt); d < trimPast {
			return fmt.Errorf("%v since the deletes", d.Round(time.Second))
		}
		return nil
	})
	t.Logf("node %d was down for the deletion of %d chunks and %v after it", down.ID, len(before)-len(kept), time.Since(deletedAt).Round(time.Second))

	down.Start()
	down.WaitReady(t)
	waitFor(t, convergeTimout, "the returning follower's chunk store to converge to the referenced chunks", func() error {
		got := chunkIDs(t, down)
		if !slices.Equal(got, kept) {
			return fmt.Errorf("node %d holds %d chunk files, the referenced set is %d", down.ID, len(got), len(kept))
		}
		var st ClusterStatus
		if err := n1.CLIJSON(&st, "cluster", "status"); err != nil {
			return err
		}
		for _, n := range c.Nodes() {
			m := st.member(n.ID)
			if m == nil || m.ChunkFiles != int64(len(chunkIDs(t, n))) {
				return fmt.Errorf("node %d has %d chunk files on disk, cluster status says %+v", n.ID, len(chunkIDs(t, n)), m)
			}
		}
		return nil
	})
	log.Verify(t, c.Nodes())
}
