//go:build bench

package bench

// Cluster figures: a 3-node forkstore cluster on loopback against a single
// node, in the same run, measured from outside the way a client sees them:
//
//   - PUT and GET of 4 KiB and 1 MiB objects with minio-go, as TestBench
//     does (same concurrency, single PUTs, same key rings), the requests
//     spread over the three nodes' endpoints; throughput and p99. The single
//     node and the cluster run side by side and their figures alternate, so
//     a change in the machine's load hits both alike;
//   - failover: the leader is killed (SIGKILL) and writes are retried in a
//     tight loop through the surviving nodes; the figure is the time from
//     the kill to the first acknowledged PUT, over several trials (the
//     killed node is restarted and the cluster settles between trials);
//   - chunk catch-up: a follower is stopped while 4 MiB objects are
//     written, then restarted with a short --repair-interval; the figure is
//     the MiB of chunk files it pulled over the time from its restart until
//     its repair backlog is 0 and it holds every new chunk;
//   - join: in a second, fresh 3-node cluster holding 10,000 objects and
//     100 forks, `forkstore cluster add` then a new node started with
//     --join; the figure is the time until the new node's /health/ready
//     answers 200 and cluster/status shows it ready with a repair backlog
//     of 0.
//
// Run with: make bench, or
//
//	go test -tags bench -run '^TestBenchCluster$' -v -count=1 -timeout 30m ./tests/bench/
//
// Environment (besides FORKSTORE_BENCH_DURATION, _CONCURRENCY and
// FORKSTORE_BIN, as for TestBench):
//
//	FORKSTORE_BENCH_FAILOVER_TRIALS  leader kills (default 5)
//	FORKSTORE_BENCH_CATCHUP_MIB      MiB written while a node is down (default 256, at most 2048)
//	FORKSTORE_BENCH_JOIN_OBJECTS     objects in the cluster a node joins (default 10000)
//	FORKSTORE_BENCH_JOIN_FORKS       forks in that cluster (default 100)
//	FORKSTORE_BENCH_CLUSTER_PARTS    which parts to run (default
//	                                 "throughput,failover,catchup,join")
//	FORKSTORE_BENCH_CLUSTER_SIZES    the object sizes of the throughput
//	                                 figures, of 4KiB, 16KiB and 1MiB
//	                                 (default "4KiB,1MiB")
//	FORKSTORE_BENCH_LOGS             a directory to keep the nodes' logs in
//	FORKSTORE_BENCH_PROFILE          a directory: CPU and allocation profiles of every node
//	                                 during each throughput figure and the
//	                                 catch-up are written there (--pprof-addr)

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// benchClusterKey is the node-to-node secret of the benchmark clusters.
const benchClusterKey = "forkstore-bench-cluster-key"

// procNode is one forkstore server process of a benchmark cluster. Unlike
// harness.Server it restarts with other flags (the catch-up restarts a
// node with a short --repair-interval).
type procNode struct {
	t         testing.TB
	bin       string
	ID        int
	S3Addr    string
	RaftAddr  string
	PprofAddr string // "" unless profiling
	DataDir   string
	logPath   string
	args      []string // every start's arguments

	mu     sync.Mutex
	cmd    *exec.Cmd
	logf   *os.File
	exited chan struct{}
}

// start launches the process with its arguments plus extra; it does not
// wait for readiness.
func (n *procNode) start(extra ...string) error {
	f, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := append(slices.Clone(n.args), extra...)
	fmt.Fprintf(f, "=== bench: start: %s %s\n", n.bin, strings.Join(args, " "))
	cmd := exec.Command(n.bin, args...)
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FORKSTORE_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env,
		"FORKSTORE_ROOT_USER="+harness.DefaultUser,
		"FORKSTORE_ROOT_PASSWORD="+harness.DefaultPassword,
		"FORKSTORE_CLUSTER_KEY="+benchClusterKey,
	)
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group (signals go to this pid only); Pdeathsig: the node
	// dies with the test process even when no cleanup runs (-timeout).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	exited := make(chan struct{})
	n.mu.Lock()
	n.cmd, n.logf, n.exited = cmd, f, exited
	n.mu.Unlock()
	go func() {
		cmd.Wait()
		close(exited)
	}()
	return nil
}

func (n *procNode) running() bool {
	n.mu.Lock()
	exited := n.exited
	n.mu.Unlock()
	if exited == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

func (n *procNode) pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil || !n.runningLocked() {
		return 0
	}
	return n.cmd.Process.Pid
}

func (n *procNode) runningLocked() bool {
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// signal sends sig to this process (only) and waits up to wait for it to
// exit; it reports whether it did.
func (n *procNode) signal(sig syscall.Signal, wait time.Duration) bool {
	n.mu.Lock()
	cmd, exited := n.cmd, n.exited
	n.mu.Unlock()
	if cmd == nil || !n.running() {
		return true
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(wait):
		return false
	}
	n.mu.Lock()
	if n.logf != nil {
		n.logf.Close()
		n.logf = nil
	}
	n.mu.Unlock()
	return true
}

// kill sends SIGKILL and waits for the process to be gone.
func (n *procNode) kill() { n.signal(syscall.SIGKILL, time.Minute) }

// stop sends SIGTERM and waits for a clean exit (the server gives
// requests in flight 30 s); after 45 s it saves the node's goroutines
// next to its log (when it serves profiles) and sends SIGKILL.
func (n *procNode) stop() {
	if n.signal(syscall.SIGTERM, 45*time.Second) {
		return
	}
	msg := fmt.Sprintf("node %d did not exit within 45 s of SIGTERM", n.ID)
	if n.PprofAddr != "" {
		client := &http.Client{Timeout: 10 * time.Second}
		if resp, err := client.Get("http://" + n.PprofAddr + "/debug/pprof/goroutine?debug=2"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if os.WriteFile(n.logPath+".goroutines", b, 0o644) == nil {
				msg += "; its goroutines are in " + n.logPath + ".goroutines"
			}
		}
	}
	n.t.Error(msg)
	n.kill()
}

// waitReady polls /health/ready until it answers 200, the process exits
// or timeout passes.
func (n *procNode) waitReady(timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	last := errors.New("no answer yet")
	for time.Now().Before(deadline) {
		if !n.running() {
			return fmt.Errorf("node %d exited\n%s", n.ID, n.logTail(8<<10))
		}
		resp, err := client.Get("http://" + n.S3Addr + "/health/ready")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("/health/ready: %s", resp.Status)
		} else {
			last = err
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	return fmt.Errorf("node %d not ready after %v: %v", n.ID, timeout, last)
}

func (n *procNode) logTail(size int64) string {
	b, err := os.ReadFile(n.logPath)
	if err != nil {
		return err.Error()
	}
	if int64(len(b)) > size {
		b = b[int64(len(b))-size:]
	}
	return string(b)
}

// benchCluster is a set of procNodes sharing one cluster.
type benchCluster struct {
	t       testing.TB
	bin     string
	dir     string
	name    string
	profile bool
	nodes   map[int]*procNode
	admin   *signedClient
}

// newBenchCluster starts size founding members (ids 1..size) and waits
// until every one is ready.
func newBenchCluster(t testing.TB, bin, name string, size int, profile bool, extra ...string) *benchCluster {
	c := &benchCluster{t: t, bin: bin, dir: t.TempDir(), name: name, profile: profile, nodes: map[int]*procNode{}, admin: newSignedClient()}
	t.Cleanup(c.killAll)
	var members []string
	for id := 1; id <= size; id++ {
		n := c.newNode(id)
		members = append(members, fmt.Sprintf("%d=%s", id, n.RaftAddr))
	}
	for id := 1; id <= size; id++ {
		n := c.nodes[id]
		n.args = append(n.args, "--initial-members", strings.Join(members, ","))
		n.args = append(n.args, extra...)
		if err := n.start(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.waitSettled(3*time.Minute, size); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// newNode allocates the addresses and data directory of node id (not
// started).
func (c *benchCluster) newNode(id int) *procNode {
	s3, err1 := harness.FreePort()
	raft, err2 := harness.FreePort()
	if err := errors.Join(err1, err2); err != nil {
		c.t.Fatal(err)
	}
	n := &procNode{
		t: c.t, bin: c.bin, ID: id, S3Addr: s3, RaftAddr: raft,
		DataDir: filepath.Join(c.dir, fmt.Sprintf("n%d", id)),
		logPath: filepath.Join(c.dir, fmt.Sprintf("n%d.log", id)),
	}
	if dir := os.Getenv("FORKSTORE_BENCH_LOGS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			c.t.Fatal(err)
		}
		n.logPath = filepath.Join(dir, fmt.Sprintf("%s-n%d.log", strings.ReplaceAll(c.name, " ", "-"), id))
	}
	n.args = []string{"server", "--node-id", strconv.Itoa(id), "--data", n.DataDir,
		"--s3-addr", s3, "--raft-addr", raft, "--region", harness.DefaultRegion, "--log-level", "warn"}
	if c.profile {
		if n.PprofAddr, err1 = harness.FreePort(); err1 != nil {
			c.t.Fatal(err1)
		}
		n.args = append(n.args, "--pprof-addr", n.PprofAddr)
	}
	c.nodes[id] = n
	return n
}

// running returns the running nodes, by id.
func (c *benchCluster) running() []*procNode {
	var out []*procNode
	for id := 1; id <= len(c.nodes); id++ {
		if n := c.nodes[id]; n != nil && n.running() {
			out = append(out, n)
		}
	}
	return out
}

func (c *benchCluster) pids() []int {
	var out []int
	for _, n := range c.running() {
		out = append(out, n.pid())
	}
	return out
}

// killAll sends SIGKILL to every node still running (cleanup) and prints
// the nodes' logs when the test failed.
func (c *benchCluster) killAll() {
	for _, n := range c.nodes {
		n.kill()
	}
	if c.t.Failed() {
		for id := 1; id <= len(c.nodes); id++ {
			if n := c.nodes[id]; n != nil {
				c.t.Logf("%s node %d log (last 8 KiB):\n%s", c.name, id, n.logTail(8<<10))
			}
		}
	}
}

// nodeStatus is a member in GET cluster/status.
type nodeStatus struct {
	NodeID        int    `json:"node_id"`
	S3Addr        string `json:"s3_addr"`
	Reachable     bool   `json:"reachable"`
	Ready         bool   `json:"ready"`
	AppliedIndex  uint64 `json:"applied_index"`
	LeaderID      int    `json:"leader_id"`
	RepairBacklog int64  `json:"repair_backlog"`
	RepairPending bool   `json:"repair_pending"`
	ChunkFiles    int64  `json:"chunk_files"`
	Error         string `json:"error"`
}

type clusterStatus struct {
	LeaderID int          `json:"leader_id"`
	Members  []nodeStatus `json:"members"`
}

func (c *benchCluster) status(ctx context.Context, via *procNode) (*clusterStatus, error) {
	var st clusterStatus
	if err := c.admin.getJSON(ctx, via.S3Addr, "/_forkstore/v1/cluster/status", &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func (c *benchCluster) nodeStatus(ctx context.Context, n *procNode) (*nodeStatus, error) {
	var st nodeStatus
	if err := c.admin.getJSON(ctx, n.S3Addr, "/_forkstore/v1/node/status", &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// waitSettled waits until every running node answers /health/ready and
// cluster/status (through the first running node) lists members members,
// all reachable and ready and agreeing on one leader.
func (c *benchCluster) waitSettled(timeout time.Duration, members int) (*clusterStatus, error) {
	deadline := time.Now().Add(timeout)
	for _, n := range c.running() {
		if err := n.waitReady(time.Until(deadline)); err != nil {
			return nil, err
		}
	}
	last := errors.New("no status yet")
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st, err := c.status(ctx, c.running()[0])
		cancel()
		if err == nil {
			err = settled(st, members)
			if err == nil {
				return st, nil
			}
		}
		last = err
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	return nil, fmt.Errorf("cluster not settled after %v: %v", timeout, last)
}

func settled(st *clusterStatus, members int) error {
	if st.LeaderID == 0 {
		return errors.New("no leader")
	}
	if len(st.Members) != members {
		return fmt.Errorf("%d members, want %d", len(st.Members), members)
	}
	for _, m := range st.Members {
		if !m.Ready || m.LeaderID != st.LeaderID {
			return fmt.Errorf("node %d: ready %v, leader %d (want %d) %s", m.NodeID, m.Ready, m.LeaderID, st.LeaderID, m.Error)
		}
	}
	return nil
}

// signedClient sends SigV4-signed requests with the root credentials to
// any node.
type signedClient struct{ http *http.Client }

func newSignedClient() *signedClient {
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 16, IdleConnTimeout: time.Minute}
	return &signedClient{http: &http.Client{Transport: tr}}
}

// do sends a signed request and returns the status and the body.
func (c *signedClient) do(ctx context.Context, method, addr, path string, body []byte, hdr ...string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.ContentLength = int64(len(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	req.Header.Set("X-Amz-Content-Sha256", forkSHA256(body))
	req = signer.SignV4(*req, harness.DefaultUser, harness.DefaultPassword, "", harness.DefaultRegion)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, b, err
}

// must is do that wants a 2xx answer.
func (c *signedClient) must(ctx context.Context, method, addr, path string, body []byte, hdr ...string) ([]byte, error) {
	st, b, err := c.do(ctx, method, addr, path, body, hdr...)
	if err == nil && (st < 200 || st > 299) {
		err = fmt.Errorf("%s %s on %s: HTTP %d: %.300s", method, path, addr, st, b)
	}
	return b, err
}

func (c *signedClient) getJSON(ctx context.Context, addr, path string, out any) error {
	b, err := c.must(ctx, http.MethodGet, addr, path, nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// chunkFiles returns the chunk files under dataDir (name -> size).
func chunkFiles(dataDir string) (map[string]int64, error) {
	out := map[string]int64{}
	root := filepath.Join(dataDir, "chunks")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			if d.Name() == "tmp" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") {
			return nil // copies being received are ".<id>.<random>.tmp"
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		out[d.Name()] = info.Size()
		return nil
	})
	return out, err
}

// loadAvg returns the first three fields of /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

// profileNodes fetches a CPU profile and the allocations of secs seconds,
// and the live heap halfway through, from every address (by name)
// concurrently and writes dir/<label>-<name>.pprof, .allocs.pprof and
// .heap.pprof. It returns at once; wait waits for the profiles.
func profileNodes(dir, label string, addrs map[string]string, secs int) (wait func()) {
	var wg sync.WaitGroup
	if dir == "" {
		return wg.Wait
	}
	secs = max(secs, 1)
	label = strings.NewReplacer(" ", "", "/", "-").Replace(label)
	for name, addr := range addrs {
		if addr == "" {
			continue
		}
		for _, p := range []struct{ path, suffix string }{
			{fmt.Sprintf("profile?seconds=%d", secs), ".pprof"},
			{fmt.Sprintf("allocs?seconds=%d", secs), ".allocs.pprof"},
			{"heap", ".heap.pprof"},
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if p.suffix == ".heap.pprof" {
					// The live heap halfway through the figure.
					time.Sleep(time.Duration(secs) * time.Second / 2)
				}
				client := &http.Client{Timeout: time.Duration(secs)*time.Second + time.Minute}
				resp, err := client.Get(fmt.Sprintf("http://%s/debug/pprof/%s", addr, p.path))
				if err != nil {
					fmt.Fprintf(os.Stderr, "bench: profile %s %s: %v\n", label, name, err)
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err == nil {
					err = os.WriteFile(filepath.Join(dir, label+"-"+name+p.suffix), b, 0o644)
				}
				if err != nil {
					fmt.Fprintf(os.Stderr, "bench: profile %s %s: %v\n", label, name, err)
				}
			}()
		}
	}
	return wg.Wait
}

// opFigure is one throughput figure of one setup.
type opFigure struct {
	ops, errs int64
	bytes     int64
	dur       time.Duration
	p50, p99  time.Duration
	cpu       time.Duration
}

func (f opFigure) rate() float64 { return float64(f.ops) / f.dur.Seconds() }

// cores is the servers' CPU time over the wall time.
func (f opFigure) cores() float64 { return f.cpu.Seconds() / f.dur.Seconds() }

// cpuPerOp is the servers' CPU time per operation, in ms.
func (f opFigure) cpuPerOp() float64 {
	if f.ops == 0 {
		return 0
	}
	return float64(f.cpu.Microseconds()) / 1000 / float64(f.ops)
}

func (f opFigure) cell() string {
	s := fmt.Sprintf("%.0f/s", f.rate())
	if f.bytes > 0 {
		s += fmt.Sprintf(" (%.1f MiB/s)", float64(f.bytes)/f.dur.Seconds()/(1<<20))
	}
	if f.errs > 0 {
		s += fmt.Sprintf(", %d errors", f.errs)
	}
	return s
}

// measureOps runs op as runFor does and records each successful
// operation's latency and the servers' CPU time.
func measureOps(ctx context.Context, pids []int, conc int, d time.Duration, limit, bytesPerOp int64, op func(ctx context.Context, i int64) error) opFigure {
	return measureWorkers(ctx, pids, conc, d, limit, bytesPerOp, func(ctx context.Context, _ int, _, i int64) error { return op(ctx, i) })
}

// measureWorkers is measureOps calling op as runWorkers does: op(ctx, w,
// j, i) for the j-th operation of worker w, the i-th started in all.
func measureWorkers(ctx context.Context, pids []int, workers int, d time.Duration, limit, bytesPerOp int64, op func(ctx context.Context, w int, j, i int64) error) opFigure {
	var mu sync.Mutex
	lat := make(latencies, 0, 4096)
	cpu0 := int64(0)
	for _, p := range pids {
		cpu0 += int64(cpuTime(p))
	}
	ops, errs, took := runWorkers(ctx, workers, d, limit, func(ctx context.Context, w int, j, i int64) error {
		start := time.Now()
		err := op(ctx, w, j, i)
		if err == nil {
			el := time.Since(start)
			mu.Lock()
			lat = append(lat, el)
			mu.Unlock()
		}
		return err
	})
	cpu1 := int64(0)
	for _, p := range pids {
		cpu1 += int64(cpuTime(p))
	}
	return opFigure{ops: ops, errs: errs, bytes: ops * bytesPerOp, dur: took, p50: lat.pct(50), p99: lat.pct(99), cpu: time.Duration(cpu1 - cpu0)}
}

// objectTarget is a setup measured with minio-go: one client per node.
type objectTarget struct {
	name    string
	clients []*minio.Client
	bucket  string
	pids    func() []int
	pprof   map[string]string
}

func newObjectTarget(t testing.TB, name string, addrs []string, pids func() []int, pprof map[string]string) *objectTarget {
	o := &objectTarget{name: name, pids: pids, pprof: pprof, bucket: fmt.Sprintf("cbench-%s-%d", name, time.Now().UnixNano()%1e9)}
	for _, a := range addrs {
		c, err := minio.New(a, &minio.Options{
			Creds:  credentials.NewStaticV4(harness.DefaultUser, harness.DefaultPassword, ""),
			Region: harness.DefaultRegion,
		})
		if err != nil {
			t.Fatal(err)
		}
		o.clients = append(o.clients, c)
	}
	if err := o.clients[0].MakeBucket(context.Background(), o.bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return o
}

// client returns the client of the i-th operation: operations go round
// robin over the nodes' endpoints.
func (o *objectTarget) client(i int64) *minio.Client { return o.clients[int(i%int64(len(o.clients)))] }

// TestBenchCluster prints the cluster figures; docs/benchmarks.md records
// them.
func TestBenchCluster(t *testing.T) {
	dur := envDuration("FORKSTORE_BENCH_DURATION", 10*time.Second)
	conc := envInt("FORKSTORE_BENCH_CONCURRENCY", 8)
	trials := envInt("FORKSTORE_BENCH_FAILOVER_TRIALS", 5)
	catchupMiB := min(envInt("FORKSTORE_BENCH_CATCHUP_MIB", 256), 2048)
	joinObjects := envInt("FORKSTORE_BENCH_JOIN_OBJECTS", 10000)
	joinForks := envInt("FORKSTORE_BENCH_JOIN_FORKS", 100)
	profDir := os.Getenv("FORKSTORE_BENCH_PROFILE")
	parts := os.Getenv("FORKSTORE_BENCH_CLUSTER_PARTS")
	if parts == "" {
		parts = "throughput,failover,catchup,join"
	}
	part := func(name string) bool { return slices.Contains(strings.Split(parts, ","), name) }
	if profDir != "" {
		if err := os.MkdirAll(profDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if os.Getenv("FORKSTORE_E2E_ENDPOINT") != "" {
		t.Skip("the cluster benchmark starts its own nodes (FORKSTORE_E2E_ENDPOINT is set)")
	}
	started := time.Now()
	loadStart := loadAvg()
	bin, err := harness.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	var cl *benchCluster
	if part("throughput") || part("failover") || part("catchup") {
		cl = newBenchCluster(t, bin, "cluster", 3, profDir != "")
	}
	var rows []cmpRow
	if part("throughput") {
		rows = throughput(t, bin, cl, conc, dur, profDir)
	}

	type resultRow struct{ name, result, goal, notes string }
	var results []resultRow

	// Failover.
	var fo []failoverTrial
	if part("failover") {
		fo = failover(t, cl, trials)
	}
	if len(fo) > 0 {
		var acks, firsts latencies
		var ackList, firstList, notes []string
		for i, f := range fo {
			acks = append(acks, f.firstAck)
			firsts = append(firsts, f.firstAnswered)
			ackList = append(ackList, fmt.Sprintf("%.2f", f.firstAck.Seconds()))
			firstList = append(firstList, fmt.Sprintf("%.2f (%s)", f.firstAnswered.Seconds(), f.firstStatus))
			notes = append(notes, fmt.Sprintf("#%d killed node %d, ack by node %d, %d attempts (%d failed)", i+1, f.killed, f.ackedBy, f.attempts, f.failed))
		}
		verdict := "met"
		if slices.Max(acks) >= 3*time.Second {
			verdict = "missed"
		}
		results = append(results, resultRow{
			fmt.Sprintf("failover: leader SIGKILL to the first acknowledged PUT (%d trials)", len(fo)),
			fmt.Sprintf("median %.2f s, max %.2f s (%s s)", acks.pct(50).Seconds(), slices.Max(acks).Seconds(), strings.Join(ackList, ", ")),
			"under 3 s: " + verdict,
			"4 KiB PUTs started every 10 ms, alternating between the two survivors; " + strings.Join(notes, "; "),
		}, resultRow{
			"failover: the PUT sent right after the kill, answered after",
			fmt.Sprintf("median %.2f s, max %.2f s (%s s)", firsts.pct(50).Seconds(), slices.Max(firsts).Seconds(), strings.Join(firstList, ", ")),
			"-",
			"what one client that does not give up on its request sees",
		})
	}

	// Chunk catch-up, on the same cluster.
	var cu catchUpResult
	if part("catchup") {
		cu = catchUp(t, cl, catchupMiB, profDir)
	}
	if cu.done > 0 {
		rate := cu.pulledMiB() / cu.done.Seconds()
		verdict := "met"
		if rate <= 200 {
			verdict = "missed"
		}
		results = append(results, resultRow{
			"chunk catch-up: MiB pulled / time from restart to backlog 0 and every chunk held",
			fmt.Sprintf("%.0f MiB/s (%.1f MiB in %.2f s)", rate, cu.pulledMiB(), cu.done.Seconds()),
			"above 200 MiB/s: " + verdict,
			fmt.Sprintf("node %d stopped while %d x 4 MiB objects (%d MiB) were written through the other two in %.1f s; restarted with --repair-interval 1s: /health/ready after %.2f s, repair backlog first seen after %.2f s; %d chunk files pulled; %.0f MiB/s from ready, %.0f MiB/s from the backlog's appearance",
				cu.node, cu.objects, cu.objects*4, cu.write.Seconds(), cu.ready.Seconds(), cu.pass.Seconds(), cu.files,
				cu.pulledMiB()/(cu.done-cu.ready).Seconds(), cu.pulledMiB()/(cu.done-cu.pass).Seconds()),
		})
	}
	if cl != nil {
		for _, n := range cl.running() {
			n.stop()
		}
	}

	// Join, on a fresh cluster.
	var jn joinResult
	if part("join") {
		jn = join(t, bin, joinObjects, joinForks, profDir != "")
	}
	if jn.total > 0 {
		results = append(results, resultRow{
			fmt.Sprintf("new node ready: cluster add, start with --join, until ready with repair backlog 0 (%d objects, %d forks)", jn.objects, jn.forks),
			fmt.Sprintf("%.2f s", jn.total.Seconds()),
			"-",
			fmt.Sprintf("cluster add %.2f s; /health/ready %.2f s after the start; backlog 0 %.2f s after the start, %d chunk files (%.1f MiB) pulled; loading took %.1f s, applied index %d",
				jn.add.Seconds(), jn.ready.Seconds(), jn.caughtUp.Seconds(), jn.files, float64(jn.bytes)/(1<<20), jn.load.Seconds(), jn.applied),
		})
	}

	var out strings.Builder
	fmt.Fprintf(&out, "\nforkstore cluster benchmark: %s, %d cores, concurrency %d, %v per figure; load average %s at the start, %s at the end; %.0f s in all\n\n",
		runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), conc, dur, loadStart, loadAvg(), time.Since(started).Seconds())
	fmt.Fprintln(&out, "| figure | 1 node | 3 nodes | 3 nodes / 1 node | p99 1 node | p99 3 nodes | server CPU 1 node / 3 nodes: cores, ms per op |")
	fmt.Fprintln(&out, "|---|---|---|---|---|---|---|")
	for _, r := range rows {
		ratio := "-"
		if r.one.ops > 0 {
			ratio = fmt.Sprintf("%.0f%%", 100*r.three.rate()/r.one.rate())
		}
		fmt.Fprintf(&out, "| %s | %s | %s | %s | %s | %s | %.2f / %.2f; %.2f / %.2f |\n", r.name, r.one.cell(), r.three.cell(), ratio,
			ms(r.one.p99), ms(r.three.p99), r.one.cores(), r.three.cores(), r.one.cpuPerOp(), r.three.cpuPerOp())
	}
	for _, r := range rows {
		if r.name == "PUT 1 MiB" && r.one.ops > 0 {
			verdict := "met"
			if r.three.rate() < 0.6*r.one.rate() {
				verdict = "missed"
			}
			fmt.Fprintf(&out, "\n3-node PUT 1 MiB at %.0f%% of the single node's (goal: at least 60%%: %s)\n", 100*r.three.rate()/r.one.rate(), verdict)
		}
	}
	fmt.Fprintln(&out)
	fmt.Fprintln(&out, "| figure | result | goal | notes |")
	fmt.Fprintln(&out, "|---|---|---|---|")
	for _, r := range results {
		fmt.Fprintf(&out, "| %s | %s | %s | %s |\n", r.name, r.result, r.goal, r.notes)
	}
	fmt.Print(out.String())
}

// cmpRow is a throughput figure of the single node and of the cluster.
type cmpRow struct {
	name       string
	one, three opFigure
}

// throughput starts a single node beside cluster cl and measures PUT and
// GET of 4 KiB and 1 MiB objects on both, alternating, as TestBench does.
func throughput(t *testing.T, bin string, cl *benchCluster, conc int, dur time.Duration, profDir string) []cmpRow {
	ctx := context.Background()
	// The single node and the 3-node cluster run side by side.
	var single *harness.Server
	singlePprof := ""
	if profDir != "" {
		var err error
		if singlePprof, err = harness.FreePort(); err != nil {
			t.Fatal(err)
		}
		single = harness.Start(t, bin, harness.WithArgs("--log-level", "warn", "--pprof-addr", singlePprof))
	} else {
		single = harness.Start(t, bin, harness.WithArgs("--log-level", "warn"))
	}
	one := newObjectTarget(t, "single", []string{single.S3Addr}, func() []int { return []int{single.PID()} }, map[string]string{"single": singlePprof})
	var addrs []string
	pp := map[string]string{}
	for _, n := range cl.running() {
		addrs = append(addrs, n.S3Addr)
		pp[fmt.Sprintf("node%d", n.ID)] = n.PprofAddr
	}
	three := newObjectTarget(t, "cluster", addrs, cl.pids, pp)

	var rows []cmpRow
	sizes := []struct {
		name  string
		size  int
		limit int64
		keys  int64
	}{
		{"4 KiB", 4 << 10, 200000, 200000},
		{"16 KiB", 16 << 10, 200000, 20000}, // over --inline-max: a chunk file
		{"1 MiB", 1 << 20, 20000, 2000},
	}
	only := os.Getenv("FORKSTORE_BENCH_CLUSTER_SIZES")
	if only == "" {
		only = "4KiB,1MiB"
	}
	sizes = slices.DeleteFunc(sizes, func(sz struct {
		name  string
		size  int
		limit int64
		keys  int64
	}) bool {
		return !slices.Contains(strings.Split(only, ","), strings.ReplaceAll(sz.name, " ", ""))
	})
	for _, sz := range sizes {
		data := make([]byte, sz.size)
		rand.NewChaCha8([32]byte{1}).Read(data)
		prefix := "obj-" + strings.ReplaceAll(sz.name, " ", "") + "/"
		written := map[*objectTarget]int64{}
		var puts [2]opFigure
		for j, tg := range []*objectTarget{one, three} {
			var w atomic.Int64
			wait := profileNodes(profDir, tg.name+"-PUT-"+sz.name, tg.pprof, int(dur.Seconds()))
			puts[j] = measureOps(ctx, tg.pids(), conc, dur, sz.limit, int64(sz.size), putOp(tg.client, tg.bucket, prefix, data, sz.keys, &w))
			wait()
			written[tg] = min(w.Load(), sz.keys)
			fmt.Fprintf(os.Stderr, "bench: %s PUT %s: %s p99 %v\n", tg.name, sz.name, puts[j].cell(), puts[j].p99)
		}
		rows = append(rows, cmpRow{"PUT " + sz.name, puts[0], puts[1]})
		var gets [2]opFigure
		for j, tg := range []*objectTarget{one, three} {
			have := written[tg]
			if have == 0 {
				t.Errorf("%s PUT %s: nothing written", tg.name, sz.name)
				continue
			}
			wait := profileNodes(profDir, tg.name+"-GET-"+sz.name, tg.pprof, int(dur.Seconds()))
			gets[j] = measureOps(ctx, tg.pids(), conc, dur, sz.limit, int64(sz.size), getOp(tg.client, tg.bucket, prefix, int64(sz.size), have))
			wait()
			fmt.Fprintf(os.Stderr, "bench: %s GET %s: %s p99 %v\n", tg.name, sz.name, gets[j].cell(), gets[j].p99)
		}
		rows = append(rows, cmpRow{"GET " + sz.name, gets[0], gets[1]})
		runtime.GC()
	}
	single.Stop()
	for _, r := range rows {
		if r.one.errs > 0 || r.three.errs > 0 {
			t.Errorf("%s: %d failed operations on the single node, %d on the cluster", r.name, r.one.errs, r.three.errs)
		}
	}
	return rows
}

// failoverTrial is one leader kill.
type failoverTrial struct {
	killed, ackedBy  int
	firstAck         time.Duration // kill -> first acknowledged PUT
	firstAnswered    time.Duration // kill -> answer to the PUT sent right after the kill
	firstStatus      string
	attempts, failed int
}

// failover kills the leader trials times. After each kill, PUT attempts
// start every 10 ms, alternating between the surviving nodes, each with
// its own 10 s deadline (at most 64 in flight, for at most 30 s); the
// figure is the time from the SIGKILL to the first 200. The killed node
// is then restarted and the cluster waited on until it settles.
func failover(t *testing.T, c *benchCluster, trials int) []failoverTrial {
	body := bytes.Repeat([]byte("f"), 4<<10)
	bucket := fmt.Sprintf("cbench-failover-%d", time.Now().UnixNano()%1e9)
	ctx := context.Background()
	if _, err := c.admin.must(ctx, http.MethodPut, c.running()[0].S3Addr, "/"+bucket, nil); err != nil {
		t.Fatal(err)
	}
	var out []failoverTrial
	retries := 0
	for trial := 0; trial < trials; trial++ {
		st, err := c.waitSettled(3*time.Minute, len(c.nodes))
		if err != nil {
			t.Errorf("failover trial %d: %v", trial+1, err)
			return out
		}
		leader := c.nodes[st.LeaderID]
		var survivors []*procNode
		for _, n := range c.running() {
			if n != leader {
				survivors = append(survivors, n)
			}
		}
		// A write through each survivor first: connections are open and
		// the path is warm, as for a client under load.
		for _, n := range survivors {
			if _, err := c.admin.must(ctx, http.MethodPut, n.S3Addr, fmt.Sprintf("/%s/warm-%d-%d", bucket, trial, n.ID), body); err != nil {
				t.Errorf("failover trial %d: warm-up PUT: %v", trial+1, err)
				return out
			}
		}
		// Leadership may have moved since the status (a loaded machine
		// has spurious elections): the leader confirms it right before
		// the kill, or the trial starts over.
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		ls, err := c.nodeStatus(sctx, leader)
		scancel()
		if err != nil || ls.LeaderID != leader.ID {
			if retries++; retries > 20 {
				t.Errorf("failover trial %d: leadership does not stay put (%v)", trial+1, err)
				return out
			}
			trial--
			continue
		}
		res := failoverTrial{killed: leader.ID}
		var (
			mu        sync.Mutex
			acked     = make(chan struct{})
			ackedOnce sync.Once
			wg        sync.WaitGroup
			inflight  = make(chan struct{}, 64)
		)
		actx, cancel := context.WithCancel(ctx)
		t0 := time.Now()
		leader.kill()
	launch:
		for i := 0; i < 3000 && time.Since(t0) < 30*time.Second; i++ {
			select {
			case <-acked:
				break launch
			case inflight <- struct{}{}:
			}
			n := survivors[i%len(survivors)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-inflight }()
				rctx, rcancel := context.WithTimeout(actx, 10*time.Second)
				code, _, err := c.admin.do(rctx, http.MethodPut, n.S3Addr, fmt.Sprintf("/%s/t%d-%05d", bucket, trial, i), body)
				rcancel()
				el := time.Since(t0)
				mu.Lock()
				defer mu.Unlock()
				res.attempts++
				if i == 0 {
					res.firstAnswered = el
					res.firstStatus = strconv.Itoa(code)
					if err != nil {
						res.firstStatus = "an error"
					}
				}
				if err == nil && code == http.StatusOK {
					ackedOnce.Do(func() {
						res.firstAck, res.ackedBy = el, n.ID
						close(acked)
					})
					return
				}
				if actx.Err() == nil {
					res.failed++
				}
			}()
			select {
			case <-acked:
				break launch
			case <-time.After(10 * time.Millisecond): // the retry loop's pace
			}
		}
		// Let the PUT sent right after the kill finish (it has its own
		// deadline), then drop the rest.
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			done := res.firstStatus != ""
			mu.Unlock()
			if done {
				break
			}
			time.Sleep(10 * time.Millisecond) // polling interval
		}
		cancel()
		wg.Wait()
		if res.firstAck == 0 {
			t.Errorf("failover trial %d: no PUT acknowledged within 30 s of killing node %d", trial+1, leader.ID)
			return out
		}
		fmt.Fprintf(os.Stderr, "bench: failover trial %d: killed leader %d, first ack after %v (node %d, %d attempts)\n",
			trial+1, leader.ID, res.firstAck, res.ackedBy, res.attempts)
		out = append(out, res)
		if err := leader.start(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.waitSettled(3*time.Minute, len(c.nodes)); err != nil {
		t.Errorf("after the failover trials: %v", err)
	}
	return out
}

// catchUpResult is the chunk catch-up figure.
type catchUpResult struct {
	node, objects int
	write         time.Duration
	ready, done   time.Duration // from the restart
	pass          time.Duration // from the restart to a backlog first seen
	files         int
	bytes         int64
}

func (r catchUpResult) pulledMiB() float64 { return float64(r.bytes) / (1 << 20) }

// catchUp stops a follower, writes mib MiB of 4 MiB objects through the
// other nodes, restarts it with --repair-interval 1s and measures until it
// reports a repair backlog of 0 and holds a chunk file for every object
// written meanwhile (with 3 members and R = 3 every node holds every
// chunk). The MiB pulled are the sizes of the chunk files that appeared.
func catchUp(t *testing.T, c *benchCluster, mib int, profDir string) catchUpResult {
	ctx := context.Background()
	st, err := c.waitSettled(3*time.Minute, len(c.nodes))
	if err != nil {
		t.Errorf("catch-up: %v", err)
		return catchUpResult{}
	}
	var node *procNode
	var others []*procNode
	for _, n := range c.running() {
		if n.ID != st.LeaderID && node == nil {
			node = n
		} else {
			others = append(others, n)
		}
	}
	res := catchUpResult{node: node.ID, objects: max(1, mib/4)}
	node.stop()
	var addrs []string
	for _, n := range others {
		addrs = append(addrs, n.S3Addr)
	}
	tg := newObjectTarget(t, "catchup", addrs, c.pids, nil)
	data := make([]byte, 4<<20)
	rand.NewChaCha8([32]byte{2}).Read(data)
	start := time.Now()
	n, errs, _ := runFor(ctx, 4, 10*time.Minute, int64(res.objects), func(ctx context.Context, i int64) error {
		_, err := tg.client(i).PutObject(ctx, tg.bucket, fmt.Sprintf("c%05d", i), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{DisableMultipart: true})
		return err
	})
	res.write = time.Since(start)
	if errs > 0 || n != int64(res.objects) {
		t.Errorf("catch-up: %d of %d objects written, %d errors", n, res.objects, errs)
		return catchUpResult{}
	}
	before, err := chunkFiles(node.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	pp := map[string]string{fmt.Sprintf("node%d", node.ID): node.PprofAddr}
	t0 := time.Now()
	if err := node.start("--repair-interval", "1s"); err != nil {
		t.Fatal(err)
	}
	var wait func()
	if profDir != "" {
		// The profile starts once the process serves its pprof address.
		for time.Since(t0) < time.Minute {
			if r, err := http.Get("http://" + node.PprofAddr + "/debug/pprof/"); err == nil {
				r.Body.Close()
				break
			}
			time.Sleep(5 * time.Millisecond) // polling interval
		}
		wait = profileNodes(profDir, "catchup", pp, 5)
	}
	readyc := make(chan error, 1)
	go func() {
		err := node.waitReady(3 * time.Minute)
		res.ready = time.Since(t0)
		readyc <- err
	}()
	deadline := t0.Add(10 * time.Minute)
	for {
		if time.Now().After(deadline) {
			t.Errorf("catch-up: node %d not caught up after 10 minutes", node.ID)
			return catchUpResult{}
		}
		if !node.running() {
			t.Errorf("catch-up: node %d exited\n%s", node.ID, node.logTail(8<<10))
			return catchUpResult{}
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ns, err := c.nodeStatus(sctx, node)
		cancel()
		if err == nil && ns.RepairBacklog > 0 && res.pass == 0 {
			res.pass = time.Since(t0)
		}
		if err == nil && ns.RepairBacklog == 0 && ns.ChunkFiles > 0 {
			el := time.Since(t0)
			after, err := chunkFiles(node.DataDir)
			if err != nil {
				t.Fatal(err)
			}
			files, pulled := 0, int64(0)
			for name, size := range after {
				if _, ok := before[name]; !ok {
					files++
					pulled += size
				}
			}
			if files >= res.objects {
				res.done, res.files, res.bytes = el, files, pulled
				break
			}
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	if err := <-readyc; err != nil {
		t.Errorf("catch-up: %v", err)
		return catchUpResult{}
	}
	if wait != nil {
		wait()
	}
	fmt.Fprintf(os.Stderr, "bench: catch-up: node %d pulled %d files (%.1f MiB) in %v (ready after %v)\n",
		node.ID, res.files, res.pulledMiB(), res.done, res.ready)
	if _, err := c.waitSettled(3*time.Minute, len(c.nodes)); err != nil {
		t.Errorf("after the catch-up: %v", err)
	}
	return res
}

// joinResult is the new-node figure.
type joinResult struct {
	objects, forks       int
	load                 time.Duration
	add, ready, caughtUp time.Duration // add: the CLI; ready, caughtUp: from the start
	total                time.Duration // from the CLI call to caughtUp
	files                int
	bytes                int64
	applied              uint64
}

// join starts a fresh 3-node cluster, loads objects (4 KiB each, but one
// in a hundred of 1 MiB so that the new node has chunks to pull) and
// forks of the bucket (each with one object of its own), then adds node
// 4 with the CLI, starts it with --join and measures until its
// /health/ready answers 200 and cluster/status shows it ready with a
// repair backlog of 0 after a repair pass.
func join(t *testing.T, bin string, objects, forks int, profile bool) joinResult {
	ctx := context.Background()
	c := newBenchCluster(t, bin, "join cluster", 3, profile)
	var addrs []string
	for _, n := range c.running() {
		addrs = append(addrs, n.S3Addr)
	}
	tg := newObjectTarget(t, "join", addrs, c.pids, nil)
	small := make([]byte, 4<<10)
	large := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{3}).Read(small)
	rand.NewChaCha8([32]byte{4}).Read(large)
	res := joinResult{objects: objects, forks: forks}
	start := time.Now()
	n, errs, _ := runFor(ctx, 32, 10*time.Minute, int64(objects), func(ctx context.Context, i int64) error {
		body := small
		if i%100 == 99 {
			body = large
		}
		_, err := tg.client(i).PutObject(ctx, tg.bucket, benchKey(int(i)), bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{DisableMultipart: true})
		return err
	})
	if errs > 0 || n != int64(objects) {
		t.Errorf("join: %d of %d objects written, %d errors", n, objects, errs)
		return joinResult{}
	}
	done, err := parallel(ctx, forks, 8, 10*time.Minute, func(ctx context.Context, i int) error {
		addr := addrs[i%len(addrs)]
		fork := fmt.Sprintf("%s-f%03d", tg.bucket, i)
		if _, err := c.admin.must(ctx, http.MethodPut, addr, "/"+fork, nil, "X-Tigris-Fork-Source-Bucket", tg.bucket); err != nil {
			return err
		}
		_, err := c.admin.must(ctx, http.MethodPut, addr, "/"+fork+"/own", small)
		return err
	})
	if err != nil || done != forks {
		t.Errorf("join: %d of %d forks: %v", done, forks, err)
		return joinResult{}
	}
	res.load = time.Since(start)
	if _, err := c.waitSettled(3*time.Minute, 3); err != nil {
		t.Errorf("join: %v", err)
		return joinResult{}
	}

	n4 := c.newNode(4)
	t0 := time.Now()
	cli := exec.Command(bin, "cluster", "add", "--endpoint", "http://"+c.nodes[1].S3Addr,
		"--node-id", "4", "--raft-addr", n4.RaftAddr, "--s3-addr", n4.S3Addr, "--json")
	cli.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+harness.DefaultUser, "AWS_SECRET_ACCESS_KEY="+harness.DefaultPassword)
	if out, err := cli.CombinedOutput(); err != nil {
		t.Errorf("join: forkstore cluster add: %v\n%s", err, out)
		return joinResult{}
	}
	res.add = time.Since(t0)
	t1 := time.Now()
	if err := n4.start("--join"); err != nil {
		t.Fatal(err)
	}
	if err := n4.waitReady(5 * time.Minute); err != nil {
		t.Errorf("join: %v", err)
		return joinResult{}
	}
	res.ready = time.Since(t1)
	deadline := t1.Add(10 * time.Minute)
	for {
		if time.Now().After(deadline) {
			t.Errorf("join: node 4 did not catch up within 10 minutes")
			return joinResult{}
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, err := c.status(sctx, n4)
		cancel()
		if err == nil && settled(st, 4) == nil {
			var m4 *nodeStatus
			for i := range st.Members {
				if st.Members[i].NodeID == 4 {
					m4 = &st.Members[i]
				}
			}
			// chunk_files > 0: a repair pass has run (a new node starts
			// with none, and holds some of the 1 MiB objects' chunks).
			if m4 != nil && m4.RepairBacklog == 0 && m4.ChunkFiles > 0 {
				res.caughtUp = time.Since(t1)
				res.total = time.Since(t0)
				res.applied = m4.AppliedIndex
				break
			}
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	files, err := chunkFiles(n4.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range files {
		res.files++
		res.bytes += size
	}
	fmt.Fprintf(os.Stderr, "bench: join: node 4 ready after %v, caught up after %v (%d chunk files)\n", res.ready, res.caughtUp, res.files)
	for _, n := range c.running() {
		n.stop()
	}
	return res
}
