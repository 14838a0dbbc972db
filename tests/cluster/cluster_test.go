//go:build cluster

package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
)

// Deadlines: generous, since the machine running these tests has two
// cores shared with other builds. Nothing waits for a fixed time: every
// wait polls a condition until its deadline.
const (
	readyTimeout   = 90 * time.Second // a process until /health/ready
	convergeTimout = 2 * time.Minute  // a cluster until it agrees again
	leaderTimeout  = 60 * time.Second // until a leader is known
	pollInterval   = 50 * time.Millisecond
	opTimeout      = 30 * time.Second // one S3 or admin request
	statusTimeout  = 5 * time.Second  // one status probe
)

// defaultServerArgs are passed to every node of every cluster. The Raft
// timing is the documented default (a 20 ms tick, a heartbeat every tick)
// but for the election timeout and the heartbeat, doubled (400 ms and
// 40 ms) so a loaded machine does not see spurious elections; repair runs
// every second so the repair scenarios do not wait; scrubbing runs only
// when a test asks for it.
var defaultServerArgs = []string{
	"--rtt-ms", "20",
	"--election-rtt", "20",
	"--heartbeat-rtt", "2",
	"--repair-interval", "1s",
	"--scrub-interval", "0",
	// Snapshots every 40 entries: a node that misses more than 20 is
	// rebuilt from a Raft snapshot plus the log, not from the log alone.
	"--snapshot-entries", "40",
}

// waitFor polls cond until it returns nil or timeout passes, then fails
// the test with what and the last error cond returned (the state seen).
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	if err := poll(timeout, cond); err != nil {
		t.Fatalf("timed out after %v waiting for %s: %v", timeout, what, err)
	}
}

// poll is waitFor without the test: it returns cond's last error when
// the deadline passes.
func poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(pollInterval) // the poll period, not a synchronisation
	}
}

// Cluster is a set of forkstore processes forming one cluster.
type Cluster struct {
	t    *testing.T
	key  string   // --cluster-key
	args []string // extra server arguments of every node
	env  []string // extra environment of every node, KEY=VALUE
	// groups gives every node its own group id so packet filter rules
	// can tell the nodes' traffic apart (see netfilter_test.go).
	groups bool
	// single: one node started as today's single-node server, with no
	// cluster flag at all.
	single bool
	// nodeArgs are extra server arguments of one node, by id.
	nodeArgs map[uint64][]string
	// dataDirs gives some node ids a data directory of the test's choice.
	dataDirs map[uint64]string

	mu     sync.Mutex
	nodes  []*Node // every node ever started, in id order
	nextID uint64
}

// Node is one member of a Cluster: the process (harness.Server: Stop,
// Kill, Pause, Resume, Restart, Wipe, logs) and its identity.
type Node struct {
	*harness.Server
	ID  uint64
	c   *Cluster
	gid uint32 // the process's group id, 0 when not set

	mu      sync.Mutex
	paused  bool
	removed bool // removed from the membership (its id is retired)
	s3      *minio.Client
}

type clusterOption func(*Cluster)

// withArgs adds server arguments to every node.
func withArgs(a ...string) clusterOption {
	return func(c *Cluster) { c.args = append(c.args, a...) }
}

// withEnv adds environment variables (KEY=VALUE) to every node.
func withEnv(kv ...string) clusterOption {
	return func(c *Cluster) { c.env = append(c.env, kv...) }
}

// withNodeArgs adds server arguments to the node with id.
func withNodeArgs(id uint64, a ...string) clusterOption {
	return func(c *Cluster) {
		if c.nodeArgs == nil {
			c.nodeArgs = map[uint64][]string{}
		}
		c.nodeArgs[id] = append(c.nodeArgs[id], a...)
	}
}

// withDataDir runs node id on the data directory dir (a small
// filesystem the test mounted, say).
func withDataDir(id uint64, dir string) clusterOption {
	return func(c *Cluster) {
		if c.dataDirs == nil {
			c.dataDirs = map[uint64]string{}
		}
		c.dataDirs[id] = dir
	}
}

// withGroups runs each node with its own group id (partition tests).
func withGroups() clusterOption { return func(c *Cluster) { c.groups = true } }

// startCluster starts n founding members with --initial-members and waits
// until all are ready and agree on a leader.
func startCluster(t *testing.T, n int, opts ...clusterOption) *Cluster {
	t.Helper()
	key := make([]byte, 16)
	rand.Read(key)
	c := &Cluster{t: t, key: hex.EncodeToString(key), nextID: 1}
	for _, o := range opts {
		o(c)
	}
	addrs := freeAddrs(t, 2*n)
	var initial []string
	for i := range n {
		initial = append(initial, fmt.Sprintf("%d=%s", i+1, addrs[2*i+1]))
	}
	start := time.Now()
	for i := range n {
		c.startNode(addrs[2*i], addrs[2*i+1], "--initial-members", strings.Join(initial, ","))
	}
	for _, nd := range c.Nodes() {
		nd.WaitReady(t)
	}
	c.WaitLeader(t)
	t.Logf("cluster of %d ready in %v (key %s…)", n, time.Since(start).Round(time.Millisecond), c.key[:6])
	return c
}

// freeAddrs returns n distinct free loopback addresses.
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		a, err := harness.FreePort()
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// startNode starts the process of the next node id with the common flags
// and extra (--initial-members or --join), without waiting for it.
func (c *Cluster) startNode(s3Addr, raftAddr string, extra ...string) *Node {
	c.t.Helper()
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	c.mu.Unlock()
	nd := &Node{ID: id, c: c}
	var args []string
	if !c.single {
		args = append([]string{"--cluster-key", c.key}, defaultServerArgs...)
	}
	args = append(args, c.args...)
	args = append(args, c.nodeArgs[id]...)
	args = append(args, extra...)
	opts := []harness.Option{
		harness.WithNodeID(int(id)),
		harness.WithAddrs(s3Addr, raftAddr),
		harness.WithoutReadyWait(),
		harness.WithArgs(args...),
		harness.WithEnv(c.env...),
	}
	if dir := c.dataDirs[id]; dir != "" {
		opts = append(opts, harness.WithDataDir(dir))
	}
	if c.groups {
		nd.gid = uint32(1<<30 + mrand.IntN(1<<30))
		opts = append(opts, harness.WithGroup(nd.gid))
	}
	nd.Server = harness.Start(c.t, binPath, opts...)
	c.mu.Lock()
	c.nodes = append(c.nodes, nd)
	c.mu.Unlock()
	return nd
}

// Nodes returns the nodes that are members (not removed), by id.
func (c *Cluster) Nodes() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Node
	for _, n := range c.nodes {
		if !n.Removed() {
			out = append(out, n)
		}
	}
	return out
}

// Up returns the members whose process runs and is not paused.
func (c *Cluster) Up() []*Node {
	var out []*Node
	for _, n := range c.Nodes() {
		if n.Up() {
			out = append(out, n)
		}
	}
	return out
}

// Node returns the node with id (members and removed nodes).
func (c *Cluster) Node(id uint64) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		if n.ID == id {
			return n
		}
	}
	c.t.Fatalf("no node %d", id)
	return nil
}

// WaitReady waits for the node's /health/ready.
func (n *Node) WaitReady(t testing.TB) {
	t.Helper()
	if err := n.Server.WaitReady(readyTimeout); err != nil {
		t.Fatalf("node %d did not become ready: %v\n%s", n.ID, err, n.LogTail(8<<10))
	}
}

// Up reports whether the process runs and is not paused.
func (n *Node) Up() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.paused && n.Running()
}

// Removed reports whether the node was removed from the membership.
func (n *Node) Removed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.removed
}

// Pause stops the process with SIGSTOP.
func (n *Node) Pause() {
	n.mu.Lock()
	n.paused = true
	n.mu.Unlock()
	n.Server.Pause()
}

// Resume continues a paused process with SIGCONT.
func (n *Node) Resume() {
	n.Server.Resume()
	n.mu.Lock()
	n.paused = false
	n.mu.Unlock()
}

// Start starts a stopped or killed node again with the same data
// directory and flags, without waiting for it to be ready.
func (n *Node) Start() {
	n.c.t.Helper()
	if n.Running() {
		n.c.t.Fatalf("node %d is already running", n.ID)
	}
	n.Server.Restart()
}

// Restart stops the node with SIGTERM (if it runs), starts it again with
// the same data directory and flags and waits until it is ready.
func (n *Node) Restart() {
	n.c.t.Helper()
	n.Server.Restart()
	n.WaitReady(n.c.t)
}

func (n *Node) String() string { return fmt.Sprintf("node %d (%s)", n.ID, n.S3Addr) }

// ids returns the nodes' ids, for messages.
func ids(nodes []*Node) []uint64 {
	out := make([]uint64, len(nodes))
	for i, n := range nodes {
		out[i] = n.ID
	}
	return out
}

// Leader returns the leader that every node in Up agrees on, or an error
// describing what they said.
func (c *Cluster) Leader() (*Node, error) {
	up := c.Up()
	if len(up) == 0 {
		return nil, errors.New("no node is up")
	}
	seen := map[uint64]int{}
	var says []string
	for _, n := range up {
		st, err := n.NodeStatus(statusTimeout)
		if err != nil {
			says = append(says, fmt.Sprintf("%d: %v", n.ID, err))
			continue
		}
		seen[st.LeaderID]++
		says = append(says, fmt.Sprintf("%d: leader %d", n.ID, st.LeaderID))
	}
	if len(seen) == 1 {
		for id := range seen {
			if id == 0 {
				break
			}
			for _, n := range up {
				if n.ID == id && seen[id] == len(up) {
					return n, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("no agreed leader among the running nodes: %s", strings.Join(says, "; "))
}

// WaitLeader waits until every running node names the same running leader.
func (c *Cluster) WaitLeader(t testing.TB) *Node {
	t.Helper()
	var l *Node
	waitFor(t, leaderTimeout, "an agreed leader", func() error {
		var err error
		l, err = c.Leader()
		return err
	})
	return l
}

// WaitConverged waits until every running member is ready, the cluster
// digest covers all of them with equal digests, and no node has a chunk
// repair backlog. It returns the digest.
func (c *Cluster) WaitConverged(t testing.TB) *Digest {
	t.Helper()
	var d *Digest
	waitFor(t, convergeTimout, "the running members to converge", func() error {
		up := c.Up()
		for _, n := range up {
			if err := n.Ready(statusTimeout); err != nil {
				return fmt.Errorf("node %d not ready: %v", n.ID, err)
			}
		}
		var err error
		if d, err = up[0].Digest(); err != nil {
			return err
		}
		st, err := up[0].ClusterStatus()
		if err != nil {
			return err
		}
		// Each data shard over the nodes that hold it.
		holders := map[string][]uint64{}
		for _, sh := range st.Shards {
			holders[fmt.Sprint(sh.ShardID)] = sh.Replicas
		}
		if err := d.allEqualOver(ids(up), holders); err != nil {
			return err
		}
		for _, m := range st.Members {
			if m.RepairPending {
				return fmt.Errorf("node %d has not counted its repair backlog yet", m.NodeID)
			}
			if m.RepairBacklog != 0 {
				return fmt.Errorf("node %d repair backlog %d", m.NodeID, m.RepairBacklog)
			}
		}
		return nil
	})
	return d
}

// Add adds a new member (a fresh id, never used before) on free ports
// through node via (with the CLI when cli is set, else the admin API),
// starts its process with --join and waits until it is ready.
func (c *Cluster) Add(t testing.TB, via *Node, cli bool) *Node {
	t.Helper()
	addrs := freeAddrs(t, 2)
	return c.AddAt(t, via, cli, addrs[0], addrs[1])
}

// AddAt is Add on the given S3 and Raft addresses.
func (c *Cluster) AddAt(t testing.TB, via *Node, cli bool, s3Addr, raftAddr string) *Node {
	t.Helper()
	c.mu.Lock()
	id := c.nextID
	c.mu.Unlock()
	if cli {
		out, err := via.CLI("cluster", "add", "--node-id", strconv.FormatUint(id, 10),
			"--raft-addr", raftAddr, "--s3-addr", s3Addr)
		if err != nil {
			t.Fatalf("forkstore cluster add --node-id %d via node %d: %v\n%s", id, via.ID, err, out)
		}
	} else if _, err := via.AddMember(id, raftAddr, s3Addr); err != nil {
		t.Fatalf("POST cluster/members node %d via node %d: %v", id, via.ID, err)
	}
	start := time.Now()
	n := c.startNode(s3Addr, raftAddr, "--join")
	if n.ID != id {
		t.Fatalf("started node %d, added %d", n.ID, id)
	}
	n.WaitReady(t)
	t.Logf("node %d joined and ready in %v", id, time.Since(start).Round(time.Millisecond))
	return n
}

// Remove removes n from the membership through via (CLI or admin API)
// and stops n's process if it still runs.
func (c *Cluster) Remove(t testing.TB, via, n *Node, cli bool) {
	t.Helper()
	if cli {
		out, err := via.CLI("cluster", "remove", "--node-id", strconv.FormatUint(n.ID, 10))
		if err != nil {
			t.Fatalf("forkstore cluster remove --node-id %d via node %d: %v\n%s", n.ID, via.ID, err, out)
		}
	} else if err := via.RemoveMember(n.ID); err != nil {
		t.Fatalf("DELETE cluster/members/%d via node %d: %v", n.ID, via.ID, err)
	}
	n.mu.Lock()
	n.removed = true
	n.mu.Unlock()
	t.Logf("removed node %d through node %d", n.ID, via.ID)
	if n.Running() {
		if n.Up() {
			n.Stop()
		} else {
			n.Kill() // paused
		}
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (n *Node) Kill() {
	n.Server.Kill()
	n.mu.Lock()
	n.paused = false
	n.mu.Unlock()
}

// testCtx returns a context for one request.
func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

// sortedIDs returns the map's keys in order.
func sortedIDs[V any](m map[uint64]V) []uint64 {
	out := make([]uint64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// hostPort splits an address, failing the test on error.
func port(t testing.TB, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return p
}
