//go:build bench

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/forkstore/forkstore/tests/harness"
)

// TestBenchCapacity measures what issue #15 ("More machines, more
// capacity") asks of a bigger cluster, in its own scenario: many agents,
// each writing in its own fork of one base bucket.
//
// Every setup starts a cluster with --meta-shards S, writes the base
// objects (4 KiB) into one base bucket, makes 64 forks of it in one batch
// (forks/batch: the forks spread over the shards), spreads the shards'
// leaders (cluster rebalance) and then measures, from outside:
//
//   - PUT 4 KiB: 16 writers, writer w writing only into its own forks
//     (w, w+16, w+32, w+48), each request to the next node in turn;
//   - GET 4 KiB of objects the forks inherit from the base (written
//     before the forks were made), through the forks, requests spread
//     over all nodes the same way.
//
// Capped (each node in its own cgroup, v1 cpu controller, cpu.cfs_quota_us,
// so that each node stands for a machine of its own; the load generator
// stays outside): 3 nodes at S=16, 5 nodes at S=16, 5 nodes at S=1; the
// ratios 5n/3n (PUT, goal >= 1.4x; GET, goal >= 1.5x) and S16/S1 at 5 nodes
// (PUT, goal >= 1.4x). Uncapped, S=16: the server CPU per operation summed
// over the nodes (/proc/PID/stat), 3 nodes against 1 (PUT goal <= 2.5x, GET
// goal <= 1.3x); the 3-node figure is taken on the capped 3-node cluster
// once its nodes are moved out of their cgroups. Then that cluster is
// filled up to the join's object count and a 4th node joins it
// (`forkstore cluster add`, then --join): the time until its /health/ready
// answers 200, until cluster status through it shows it holding its share
// of the shard replicas (every shard while every node holds every shard),
// each having applied what the shard had applied before the join, and
// until a repair pass with the new membership leaves it no chunk to pull.
//
// The capped part needs root and the v1 cpu controller at
// /sys/fs/cgroup/cpu; without them it is skipped (and says so) and the
// rest runs. Run with make bench, or
//
//	go test -tags bench -run '^TestBenchCapacity$' -v -count=1 -timeout 30m ./tests/bench/
//
// Environment:
//
//	FORKSTORE_BENCH_DURATION      per PUT or GET figure (default 10s)
//	FORKSTORE_BENCH_OPS           at most this many operations per figure (default 100000)
//	FORKSTORE_BENCH_NODE_CPU      the cap of each node in cores (default 0.3)
//	FORKSTORE_BENCH_BASE_OBJECTS  objects in the base bucket (default 1000)
//	FORKSTORE_BENCH_JOIN_OBJECTS  objects the cluster holds when the 4th
//	                              node joins (default 10000; issue #15's
//	                              figure is 100000); filling the cluster
//	                              up to it runs at the 3 nodes' PUT rate
//	FORKSTORE_BENCH_JOIN_SHARDS   the shards of the cluster the node joins
//	                              when the join runs alone (parts "join";
//	                              default 16): with the other parts it joins
//	                              their 3-node cluster at S=16
//	FORKSTORE_BENCH_CAPACITY_PARTS which parts run (default "capped,cpu,join")
//	FORKSTORE_BENCH_SERVER_ARGS   more server flags, space-separated, given
//	                              to every node (the joining one too), e.g.
//	                              "--meta-replicas 3"; printed with the figures
//	FORKSTORE_BENCH_PROFILE       a directory: CPU and allocation profiles of every node
//	                              during each PUT and GET figure
//	FORKSTORE_BENCH_LOGS          a directory to keep the nodes' logs in
func TestBenchCapacity(t *testing.T) {
	if os.Getenv("FORKSTORE_E2E_ENDPOINT") != "" {
		t.Skip("the capacity benchmark starts its own nodes (FORKSTORE_E2E_ENDPOINT is set)")
	}
	o := capOptions{
		dur:         envDuration("FORKSTORE_BENCH_DURATION", 10*time.Second),
		ops:         int64(envInt("FORKSTORE_BENCH_OPS", 100000)),
		baseObjects: envInt("FORKSTORE_BENCH_BASE_OBJECTS", 1000),
		profDir:     os.Getenv("FORKSTORE_BENCH_PROFILE"),
		nodeCPU:     0.3,
	}
	if v, err := strconv.ParseFloat(os.Getenv("FORKSTORE_BENCH_NODE_CPU"), 64); err == nil && v > 0 {
		o.nodeCPU = v
	}
	joinObjects := envInt("FORKSTORE_BENCH_JOIN_OBJECTS", 10000)
	joinShards := envInt("FORKSTORE_BENCH_JOIN_SHARDS", 16)
	parts := os.Getenv("FORKSTORE_BENCH_CAPACITY_PARTS")
	if parts == "" {
		parts = "capped,cpu,join"
	}
	part := func(name string) bool { return slices.Contains(strings.Split(parts, ","), name) }
	if o.profDir != "" {
		if err := os.MkdirAll(o.profDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cgroupNote := ""
	if part("capped") {
		if err := cgroupV1CPU(); err != nil {
			cgroupNote = fmt.Sprintf("the capped figures are skipped: %v", err)
			t.Log(cgroupNote)
			parts = strings.ReplaceAll(parts, "capped", "")
		}
	}
	bin, err := harness.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	loadStart := loadAvg()
	var rows []capRow
	run := func(c *capCluster, label string, capped bool) capRow {
		r := c.measure(t, label, capped)
		rows = append(rows, r)
		return r
	}

	// Capped: 3 nodes at S=16 (kept for the uncapped 3-node figure and the
	// join), then 5 nodes at S=16 and at S=1.
	var three *capCluster
	var c3, c5, c5s1, u1, u3 capRow
	if part("capped") {
		three = newCapCluster(t, bin, "cap3-s16", 3, 16, o, true)
		c3 = run(three, "capped", true)
		c5 = runOnce(t, bin, "cap5-s16", 5, 16, o, true, run)
		c5s1 = runOnce(t, bin, "cap5-s1", 5, 1, o, true, run)
	}
	if part("cpu") {
		u1 = runOnce(t, bin, "one-s16", 1, 16, o, false, run)
		if three == nil {
			three = newCapCluster(t, bin, "three-s16", 3, 16, o, false)
		} else {
			three.uncap(t)
		}
		u3 = run(three, "uncapped", false)
	}

	var jn capJoin
	if part("join") {
		if three == nil {
			three = newCapCluster(t, bin, fmt.Sprintf("join-s%d", joinShards), 3, joinShards, o, false)
		}
		jn = three.join(t, joinObjects)
	}
	if three != nil {
		three.cl.killAll()
	}

	var out strings.Builder
	args := os.Getenv("FORKSTORE_BENCH_SERVER_ARGS")
	if args == "" {
		args = "none"
	}
	fmt.Fprintf(&out, "\n### Capacity (issue #15): 16 writers into 64 forks of one base, 4 KiB, %v or %d ops per figure; capped nodes at %.2f core each; more server flags: %s; load average %s at the start, %s at the end; %.0f s in all\n\n",
		o.dur, o.ops, o.nodeCPU, args, loadStart, loadAvg(), time.Since(started).Seconds())
	if cgroupNote != "" {
		fmt.Fprintf(&out, "(%s)\n\n", cgroupNote)
	}
	fmt.Fprintln(&out, "| nodes | shards | CPU | PUT 4 KiB | p50 | p99 | CPU/op | GET 4 KiB (inherited) | p50 | p99 | CPU/op | buckets per shard (base and forks) |")
	fmt.Fprintln(&out, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(&out, "| %d | %d | %s | %s | %s | %s | %.2f ms | %s | %s | %s | %.2f ms | %s |\n", r.nodes, r.shards, r.cpuNote,
			r.put.cell(), ms(r.put.p50), ms(r.put.p99), r.put.cpuPerOp(), r.get.cell(), ms(r.get.p50), ms(r.get.p99), r.get.cpuPerOp(), r.spread)
	}
	fmt.Fprintln(&out)
	ratio := func(name string, a, b float64, goal string, ok func(float64) bool) {
		if !(a > 0) || !(b > 0) { // a setup not run (NaN) or nothing done
			return
		}
		v := a / b
		verdict := "met"
		if !ok(v) {
			verdict = "missed"
		}
		fmt.Fprintf(&out, "- %s: %.2fx (goal %s: %s)\n", name, v, goal, verdict)
	}
	atLeast := func(g float64) func(float64) bool { return func(v float64) bool { return v >= g } }
	atMost := func(g float64) func(float64) bool { return func(v float64) bool { return v <= g } }
	ratio("PUT, capped, S=16: 5 nodes / 3 nodes", c5.put.rate(), c3.put.rate(), "at least 1.4x", atLeast(1.4))
	ratio("PUT, capped, 5 nodes: S=16 / S=1", c5.put.rate(), c5s1.put.rate(), "at least 1.4x", atLeast(1.4))
	ratio("GET, capped, S=16: 5 nodes / 3 nodes", c5.get.rate(), c3.get.rate(), "at least 1.5x", atLeast(1.5))
	ratio("server CPU per PUT, uncapped, S=16: 3 nodes / 1 node", u3.put.cpuPerOp(), u1.put.cpuPerOp(), "at most 2.5x", atMost(2.5))
	ratio("server CPU per GET, uncapped, S=16: 3 nodes / 1 node", u3.get.cpuPerOp(), u1.get.cpuPerOp(), "at most 1.3x", atMost(1.3))
	if jn.total > 0 {
		fmt.Fprintf(&out, "- a 4th node joins 3 nodes holding %d objects in %d shards: %.1f s from `cluster add` until it is ready, holds its share of the shard replicas, caught up, and has no chunk left to pull (add %.1f s; after its start: ready %.1f s, shards caught up %.1f s, repair pass done with backlog 0 %.1f s; it holds %d shard replicas and %d chunk files)\n",
			jn.objects, three.shards, jn.total.Seconds(), jn.add.Seconds(), jn.ready.Seconds(), jn.shards.Seconds(), jn.chunks.Seconds(), jn.replicas, jn.chunkFiles)
	}
	fmt.Print(out.String())
	for _, r := range rows {
		if r.put.errs > 0 || r.get.errs > 0 {
			t.Errorf("%d nodes, S=%d, %s: %d failed PUTs, %d failed GETs", r.nodes, r.shards, r.cpuNote, r.put.errs, r.get.errs)
		}
	}
}

// runOnce starts a cluster, measures it and stops it.
func runOnce(t *testing.T, bin, name string, nodes, shards int, o capOptions, capped bool, run func(*capCluster, string, bool) capRow) capRow {
	c := newCapCluster(t, bin, name, nodes, shards, o, capped)
	label := "uncapped"
	if capped {
		label = "capped"
	}
	r := run(c, label, capped)
	c.cl.killAll()
	return r
}

// cgroupV1CPU says why the v1 cpu controller cannot cap the nodes, or nil.
func cgroupV1CPU() error {
	if os.Geteuid() != 0 {
		return errors.New("capping the nodes needs root (the v1 cpu cgroup controller)")
	}
	if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"); err != nil {
		return fmt.Errorf("no v1 cpu cgroup controller at /sys/fs/cgroup/cpu: %v", err)
	}
	return nil
}

type capOptions struct {
	dur         time.Duration
	ops         int64
	baseObjects int
	profDir     string
	nodeCPU     float64
}

// capRow is one setup's figures.
type capRow struct {
	nodes, shards int
	cpuNote       string // "0.30 core" or "uncapped"
	put, get      opFigure
	spread        string // forks per shard
}

// capCluster is a cluster holding a base bucket and its forks.
type capCluster struct {
	o       capOptions
	name    string
	shards  int
	cl      *benchCluster
	tg      *objectTarget // one client per node; tg.bucket is the base
	forks   []string
	pprofs  map[string]string
	cgroups []string
	objects atomic.Int64 // objects written (base and forks)
	phase   int
}

const capWriters, capForks = 16, 64

// newCapCluster starts nodes with --meta-shards shards (capped at
// o.nodeCPU each when capped), writes the base objects, makes the forks
// and spreads the shards' leaders.
func newCapCluster(t *testing.T, bin, name string, nodes, shards int, o capOptions, capped bool) *capCluster {
	t.Helper()
	c := &capCluster{o: o, name: name, shards: shards, pprofs: map[string]string{}}
	c.cl = newBenchCluster(t, bin, name, nodes, o.profDir != "", serverArgs("--meta-shards", strconv.Itoa(shards))...)
	var addrs []string
	for _, n := range c.cl.running() {
		addrs = append(addrs, n.S3Addr)
		c.pprofs[fmt.Sprintf("n%d", n.ID)] = n.PprofAddr
		if capped {
			cg := fmt.Sprintf("forkstore-bench-%s-n%d", name, n.ID)
			capCPU(t, cg, n.pid(), o.nodeCPU)
			c.cgroups = append(c.cgroups, cg)
		}
	}
	if capped {
		// Cleanups run last-registered first: the nodes go before their
		// cgroups are removed.
		t.Cleanup(c.cl.killAll)
	}
	c.tg = newObjectTarget(t, name, addrs, c.cl.pids, c.pprofs)
	ctx := context.Background()
	data := capBody()
	n, errs, _ := runFor(ctx, 16, 10*time.Minute, int64(o.baseObjects), func(ctx context.Context, i int64) error {
		_, err := c.tg.client(i).PutObject(ctx, c.tg.bucket, capBaseKey(i), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{DisableMultipart: true})
		return err
	})
	if errs > 0 || n != int64(o.baseObjects) {
		t.Fatalf("%s: %d of %d base objects written, %d errors", name, n, o.baseObjects, errs)
	}
	c.objects.Store(n)
	body, _ := json.Marshal(map[string]any{"count": capForks, "prefix": c.tg.bucket + "-f"})
	bctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	b, err := c.cl.admin.must(bctx, http.MethodPost, addrs[0], "/_forkstore/v1/buckets/"+c.tg.bucket+"/forks/batch", body)
	cancel()
	if err != nil {
		t.Fatalf("%s: forks: %v", name, err)
	}
	var batch struct {
		Forks []struct {
			Bucket string `json:"bucket"`
		} `json:"forks"`
	}
	if err := json.Unmarshal(b, &batch); err != nil || len(batch.Forks) != capForks {
		t.Fatalf("%s: forks/batch answered %d forks (%v): %.300s", name, len(batch.Forks), err, b)
	}
	for _, f := range batch.Forks {
		c.forks = append(c.forks, f.Bucket)
	}
	if shards > 1 && nodes > 1 {
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		if _, err := c.cl.admin.must(rctx, http.MethodPost, addrs[0], "/_forkstore/v1/cluster/rebalance", nil); err != nil {
			t.Logf("%s: rebalance: %v", name, err)
		}
		cancel()
	}
	return c
}

func capBaseKey(i int64) string { return fmt.Sprintf("base/%08d", i) }

// capBody is the 4 KiB object of every PUT.
func capBody() []byte {
	b := make([]byte, 4<<10)
	rand.NewChaCha8([32]byte{15}).Read(b)
	return b
}

// fork returns the fork of writer w's j-th operation: writer w uses the
// forks w, w+16, w+32 and w+48, no other writer does.
func (c *capCluster) fork(w int, j int64) string {
	return c.forks[(int64(w)+capWriters*j)%int64(len(c.forks))]
}

// measure takes the PUT and the GET figure.
func (c *capCluster) measure(t *testing.T, label string, capped bool) capRow {
	c.phase++
	phase := c.phase
	r := capRow{nodes: len(c.cl.running()), shards: c.shards, cpuNote: "uncapped", spread: c.spread()}
	if capped {
		r.cpuNote = fmt.Sprintf("%.2f core", c.o.nodeCPU)
	}
	data := capBody()
	ctx := context.Background()
	prof := func(op string) func() {
		if c.o.profDir == "" {
			return func() {}
		}
		return profileNodes(c.o.profDir, fmt.Sprintf("%s-%s-%s", c.name, label, op), c.pprofs, int(c.o.dur/time.Second))
	}
	wait := prof("put")
	r.put = measureWorkers(ctx, c.cl.pids(), capWriters, c.o.dur, c.o.ops, int64(len(data)), func(ctx context.Context, w int, j, _ int64) error {
		_, err := c.tg.client(int64(w)+j).PutObject(ctx, c.fork(w, j), fmt.Sprintf("put%d/%08d", phase, j), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{DisableMultipart: true})
		if err == nil {
			c.objects.Add(1)
		}
		return err
	})
	wait()
	fmt.Fprintf(os.Stderr, "bench: capacity: %d nodes, S=%d, %s: PUT 4 KiB %s p50 %v p99 %v, %.2f ms CPU/op\n", r.nodes, r.shards, r.cpuNote, r.put.cell(), r.put.p50, r.put.p99, r.put.cpuPerOp())
	base := int64(c.o.baseObjects)
	wait = prof("get")
	r.get = measureWorkers(ctx, c.cl.pids(), capWriters, c.o.dur, c.o.ops, int64(len(data)), func(ctx context.Context, w int, j, _ int64) error {
		key := capBaseKey((int64(w)*7919 + j*104729) % base)
		obj, err := c.tg.client(int64(w)+j).GetObject(ctx, c.fork(w, j), key, minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		defer obj.Close()
		n, err := io.Copy(io.Discard, obj)
		if err == nil && n != int64(len(data)) {
			err = fmt.Errorf("GET %s/%s: %d bytes, want %d", c.fork(w, j), key, n, len(data))
		}
		return err
	})
	wait()
	fmt.Fprintf(os.Stderr, "bench: capacity: %d nodes, S=%d, %s: GET 4 KiB %s p50 %v p99 %v, %.2f ms CPU/op\n", r.nodes, r.shards, r.cpuNote, r.get.cell(), r.get.p50, r.get.p99, r.get.cpuPerOp())
	return r
}

// spread returns how many of the forks each shard holds, from cluster
// status ("-" with one shard). A node knows the count of the shards it
// holds only (-1 for the others), so each node is asked until every
// shard's count is known.
func (c *capCluster) spread() string {
	if c.shards == 1 {
		return "-"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ids []uint64
	counts := map[uint64]int{}
	for _, n := range c.cl.running() {
		var st struct {
			Shards []struct {
				ShardID uint64 `json:"shard_id"`
				Buckets int    `json:"buckets"`
			} `json:"shards"`
		}
		if err := c.cl.admin.getJSON(ctx, n.S3Addr, "/_forkstore/v1/cluster/status", &st); err != nil {
			continue
		}
		for _, s := range st.Shards {
			if _, seen := counts[s.ShardID]; !seen {
				ids = append(ids, s.ShardID)
				counts[s.ShardID] = -1
			}
			if s.Buckets >= 0 {
				counts[s.ShardID] = s.Buckets
			}
		}
	}
	if len(ids) == 0 {
		return "n/a"
	}
	var out []string
	for _, id := range ids {
		out = append(out, strconv.Itoa(counts[id]))
	}
	return strings.Join(out, " ")
}

// uncap moves every node of the cluster back to the root cpu cgroup, where
// the single node runs. Lifting the quota alone is not enough: the threads
// of a node in a cgroup of its own share that group's one weight
// (cpu.shares) against each task of the root group, so on a busy machine it
// gets less CPU than it would outside (in a first run, the 3 nodes did
// fewer operations with the quota lifted than capped).
func (c *capCluster) uncap(t *testing.T) {
	for _, n := range c.cl.running() {
		if err := os.WriteFile("/sys/fs/cgroup/cpu/cgroup.procs", []byte(strconv.Itoa(n.pid())), 0o644); err != nil {
			t.Fatalf("moving node %d out of its cgroup: %v", n.ID, err)
		}
	}
}

// capJoin is the join figure.
type capJoin struct {
	objects               int64
	add                   time.Duration // the CLI
	ready, shards, chunks time.Duration // from the start of node 4
	total                 time.Duration // from the CLI to the last of the three
	replicas, chunkFiles  int
	lastError             string
}

// join fills the cluster up to objects objects (4 KiB, into the forks,
// so spread over the shards), then adds node 4 and starts it with --join,
// and measures until it is ready, every shard has a replica on it that
// has applied what node 1's had before the join, and a repair pass with
// the new membership has left it no chunk to pull (objects of 4 KiB are
// kept in the metadata: there are none).
func (c *capCluster) join(t *testing.T, objects int) capJoin {
	ctx := context.Background()
	data := capBody()
	if more := int64(objects) - c.objects.Load(); more > 0 {
		n, errs, _ := runFor(ctx, 32, 10*time.Minute, more, func(ctx context.Context, i int64) error {
			_, err := c.tg.client(i).PutObject(ctx, c.forks[i%capForks], fmt.Sprintf("fill/%08d", i), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{DisableMultipart: true})
			return err
		})
		if errs > 0 || n != more {
			t.Fatalf("join: %d of %d objects written, %d errors", n, more, errs)
		}
		c.objects.Add(n)
	}
	res := capJoin{objects: c.objects.Load()}
	if _, err := c.cl.waitSettled(3*time.Minute, len(c.cl.nodes)); err != nil {
		t.Fatalf("join: %v", err)
	}
	// What every shard had applied before the join: the highest index of
	// its replicas on the members (each status gives the answering node's).
	first := c.cl.running()[0]
	ref := map[uint64]capShard{}
	for _, n := range c.cl.running() {
		st, err := c.shardStatus(ctx, n)
		if err != nil {
			t.Fatalf("join: %v", err)
		}
		for id, sh := range st {
			if sh.AppliedIndex >= ref[id].AppliedIndex {
				ref[id] = sh
			}
		}
	}
	n4 := c.cl.newNode(len(c.cl.nodes) + 1)
	n4.args = append(n4.args, serverArgs()...)
	t0 := time.Now()
	cli := exec.Command(c.cl.bin, "cluster", "add", "--endpoint", "http://"+first.S3Addr,
		"--node-id", strconv.Itoa(n4.ID), "--raft-addr", n4.RaftAddr, "--s3-addr", n4.S3Addr, "--json")
	cli.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+harness.DefaultUser, "AWS_SECRET_ACCESS_KEY="+harness.DefaultPassword)
	if out, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("join: forkstore cluster add: %v\n%s", err, out)
	}
	res.add = time.Since(t0)
	t1 := time.Now()
	if err := n4.start("--join"); err != nil {
		t.Fatal(err)
	}
	deadline := t1.Add(10 * time.Minute)
	client := &http.Client{Timeout: 2 * time.Second}
	for res.ready == 0 || res.shards == 0 || res.chunks == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("join: node %d not caught up 10 minutes after its start (ready after %v, shards after %v, chunks after %v; last: %s)",
				n4.ID, res.ready, res.shards, res.chunks, res.lastError)
		}
		if !n4.running() {
			t.Fatalf("join: node %d exited\n%s", n4.ID, n4.logTail(8<<10))
		}
		if res.ready == 0 {
			if resp, err := client.Get("http://" + n4.S3Addr + "/health/ready"); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					res.ready = time.Since(t1)
				}
			}
		}
		if res.ready != 0 && res.shards == 0 {
			st, err := c.shardStatus(ctx, n4)
			if err == nil {
				res.replicas, err = caughtUp(st, ref, uint64(n4.ID), len(c.cl.nodes))
			}
			if err == nil {
				res.shards = time.Since(t1)
			} else {
				res.lastError = err.Error()
			}
		}
		if res.ready != 0 && res.chunks == 0 {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			ns, err := c.cl.nodeStatus(sctx, n4)
			cancel()
			if err == nil && !ns.RepairPending && ns.RepairBacklog == 0 {
				res.chunks = time.Since(t1)
				res.chunkFiles = int(ns.ChunkFiles)
			} else if err == nil {
				res.lastError = fmt.Sprintf("node %d: repair pending %v, backlog %d, %d chunk files", n4.ID, ns.RepairPending, ns.RepairBacklog, ns.ChunkFiles)
			} else {
				res.lastError = err.Error()
			}
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	res.total = res.add + max(res.ready, res.shards, res.chunks)
	fmt.Fprintf(os.Stderr, "bench: capacity: join: node %d ready after %v, shards caught up after %v, chunks after %v\n", n4.ID, res.ready, res.shards, res.chunks)
	return res
}

// capShard is a shard in cluster status.
type capShard struct {
	ShardID      uint64   `json:"shard_id"`
	Replicas     []uint64 `json:"replicas"`
	LeaderID     uint64   `json:"leader_id"`
	AppliedIndex uint64   `json:"applied_index"`
}

// shardStatus returns the shards as node n sees them (applied_index is
// that of n's replica).
func (c *capCluster) shardStatus(ctx context.Context, n *procNode) (map[uint64]capShard, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var st struct {
		Shards []capShard `json:"shards"`
	}
	if err := c.cl.admin.getJSON(ctx, n.S3Addr, "/_forkstore/v1/cluster/status", &st); err != nil {
		return nil, err
	}
	out := map[uint64]capShard{}
	for _, s := range st.Shards {
		out[s.ShardID] = s
	}
	return out, nil
}

// caughtUp says why node id does not yet hold its share of the shards
// st (as it sees them), each applied up to ref's index, or returns the
// shards it holds. Its share of the data shards (all but the directory,
// shard 1, which every member holds) is at least their replicas over the
// members, rounded down: placement evens the nodes out to within one
// replica of each other.
func caughtUp(st, ref map[uint64]capShard, id uint64, members int) (int, error) {
	if len(st) != len(ref) {
		return 0, fmt.Errorf("%d shards, want %d", len(st), len(ref))
	}
	held, dataHeld, replicas := 0, 0, 0
	for sid, r := range ref {
		s := st[sid]
		if sid != 1 {
			replicas += len(s.Replicas)
		}
		if !slices.Contains(s.Replicas, id) {
			continue
		}
		held++
		if sid != 1 {
			dataHeld++
		}
		if s.LeaderID == 0 {
			return 0, fmt.Errorf("shard %d: no leader known", sid)
		}
		if s.AppliedIndex < r.AppliedIndex {
			return 0, fmt.Errorf("shard %d: applied %d, want %d", sid, s.AppliedIndex, r.AppliedIndex)
		}
	}
	if share := replicas / members; held == 0 || dataHeld < share {
		return 0, fmt.Errorf("node %d holds %d data shard replicas, its share is %d", id, dataHeld, share)
	}
	return held, nil
}
