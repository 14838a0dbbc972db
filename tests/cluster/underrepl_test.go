//go:build cluster

package cluster

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metricsToken is the bearer token of /metrics on the nodes that set it.
const metricsToken = "cluster-metrics-token"

// metric reads one unlabelled gauge from the node's /metrics.
func (n *Node) metric(name string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.URL()+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := adminHTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("node %d: GET /metrics: %s", n.ID, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("node %d: no %s in /metrics", n.ID, name)
}

// underReplicated is the cluster's count of chunks with fewer than R
// copies, from cluster status on via and from the sum of the reachable
// nodes' /metrics.
func underReplicated(c *Cluster, via *Node) (status, metrics int64, pending bool, err error) {
	var st struct {
		ClusterStatus
		UnderReplicated int64 `json:"under_replicated_chunks"`
		RepairPending   bool  `json:"repair_pending"`
	}
	if err := via.CLIJSON(&st, "cluster", "status"); err != nil {
		return 0, 0, false, err
	}
	for _, n := range c.Up() {
		v, err := n.metric("forkstore_chunks_under_replicated")
		if err != nil {
			return 0, 0, false, err
		}
		metrics += int64(v)
	}
	return st.UnderReplicated, metrics, st.RepairPending, nil
}

// waitReplicated waits until cluster status through via and the nodes'
// /metrics count no chunk with fewer than R copies and no repair pass is
// pending, and also (nil: nothing more) passes.
func waitReplicated(t *testing.T, c *Cluster, via *Node, what string, also func() error) {
	t.Helper()
	waitFor(t, convergeTimout, what, func() error {
		st, m, pending, err := underReplicated(c, via)
		if err != nil {
			return err
		}
		if st != 0 || m != 0 || pending {
			return fmt.Errorf("under-replicated: cluster status %d, metrics %d, pending %v", st, m, pending)
		}
		if also != nil {
			return also()
		}
		return nil
	})
}

// TestUnderReplicatedChunksCounted: in a 4-node cluster (3 copies of each
// chunk) a node is lost. cluster status and the nodes' /metrics count the
// chunks that lost a copy (it held about 3/4 of them), not 0, with no
// membership change; once the
// node is removed, repair restores the copies and the count drains to 0.
// Then a new node joins: the figures do not say that repair is done
// before it holds its share of the chunks.
func TestUnderReplicatedChunksCounted(t *testing.T) {
	c := startCluster(t, 4, withEnv("FORKSTORE_METRICS_TOKEN="+metricsToken))
	n1, n4 := c.Node(1), c.Node(4)
	log := &AckLog{}
	must(t, "bucket", n1.makeBucket("under"))
	var sizes []int
	for i := range 16 {
		sizes = append(sizes, bigMin+i*8191)
	}
	writeObjects(t, c, log, "under", "o", sizes)
	c.WaitConverged(t)
	waitReplicated(t, c, n1, "no under-replicated chunk before the loss", nil)
	lost := len(chunkIDs(t, n4))
	if lost == 0 {
		t.Fatal("node 4 holds no chunk")
	}

	n4.Kill()
	lostAt := time.Now()
	waitFor(t, convergeTimout, "the chunks node 4 held to be counted as under-replicated", func() error {
		st, m, _, err := underReplicated(c, n1)
		if err != nil {
			return err
		}
		if st == 0 || st > int64(lost) || m != st {
			return fmt.Errorf("cluster status %d, metrics %d; node 4 held %d", st, m, lost)
		}
		return nil
	})
	t.Logf("%d under-replicated chunks counted %v after the loss", lost, time.Since(lostAt).Round(time.Millisecond))

	c.Remove(t, n1, n4, true)
	removedAt := time.Now()
	var seen []int64
	waitFor(t, convergeTimout, "the under-replicated count to drain after the removal", func() error {
		st, m, pending, err := underReplicated(c, n1)
		if err != nil {
			return err
		}
		if len(seen) == 0 || seen[len(seen)-1] != st {
			seen = append(seen, st)
		}
		if st != 0 || m != 0 || pending {
			return fmt.Errorf("cluster status %d, metrics %d, pending %v", st, m, pending)
		}
		return nil
	})
	t.Logf("drained %v after the removal; counts seen: %v", time.Since(removedAt).Round(time.Millisecond), seen)
	for _, n := range c.Nodes() {
		if got, want := len(chunkIDs(t, n)), len(chunkIDs(t, n1)); got != want {
			t.Errorf("node %d holds %d chunks, node 1 %d", n.ID, got, want)
		}
	}
	all := len(chunkIDs(t, n1))

	// A node joins. Until it holds its share, the figures must not say
	// that repair is done (pending, a backlog, or under-replicated chunks).
	n5 := c.Add(t, n1, true)
	var done bool
	var files []string
	var polls int
	waitFor(t, convergeTimout, "the figures to say repair is done after the join", func() error {
		polls++
		st, m, pending, err := underReplicated(c, n1)
		if err != nil {
			return err
		}
		var ns struct {
			RepairBacklog int64 `json:"repair_backlog"`
			RepairPending bool  `json:"repair_pending"`
		}
		if err := n5.Admin(statusTimeout, http.MethodGet, "node/status", nil, &ns); err != nil {
			return err
		}
		files = chunkIDs(t, n5) // listed after the figures were read
		done = st == 0 && m == 0 && !pending && ns.RepairBacklog == 0 && !ns.RepairPending
		if !done {
			return fmt.Errorf("under-replicated %d (metrics %d), pending %v; node 5: backlog %d, pending %v, %d chunk files",
				st, m, pending, ns.RepairBacklog, ns.RepairPending, len(files))
		}
		return nil
	})
	// Its share, once every extra copy is gone: 3 copies of each chunk
	// over the 4 members.
	waitFor(t, convergeTimout, "exactly 3 copies of every chunk over the 4 members", func() error {
		total := 0
		for _, n := range c.Nodes() {
			total += len(chunkIDs(t, n))
		}
		if total != 3*all {
			return fmt.Errorf("%d chunk files, want %d", total, 3*all)
		}
		return nil
	})
	share := chunkIDs(t, n5)
	t.Logf("node 5 joined: repair done after %d polls with %d chunk files; its share is %d of %d chunks", polls, len(files), len(share), all)
	for _, id := range share {
		if !slices.Contains(files, id) {
			t.Errorf("the figures said repair was done while node 5 held %d chunk files, not its %d (lacks %s)", len(files), len(share), id)
			break
		}
	}
	log.Verify(t, c.Nodes())
}
