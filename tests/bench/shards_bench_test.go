//go:build bench

package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/forkstore/forkstore/tests/harness"
)

// TestBenchShards compares a 3-node cluster whose metadata is one Raft
// shard with the same cluster over 8 shards (--meta-shards), under PUTs
// and GETs of 4 KiB objects into 16 buckets (one per writer, requests
// round robin over the nodes): throughput, p99 and the server CPU per
// operation summed over the nodes. With one shard every write of every
// bucket goes through one leader and one apply loop; with 8 the buckets
// spread over 8 logs whose leaders are spread over the nodes.
//
//	FORKSTORE_BENCH_DURATION   per figure (default 10s)
//	FORKSTORE_BENCH_NODE_CPU   cap each node at this many cores (e.g. 0.3), each
//	                           in its own cgroup (v1 cpu controller, root), so
//	                           that each node stands for a machine of its own
//	FORKSTORE_BENCH_SHARDS     the shard counts compared (default "1,8")
//	FORKSTORE_BENCH_OPS        at most this many operations per phase (default
//	                           100000): with a count reached within the
//	                           duration, every setup takes the same load, and
//	                           their peak RSS compare
//	FORKSTORE_BENCH_PROFILE    a directory: CPU and allocation profiles of every node during
//	                           each PUT and GET phase are written there
//	FORKSTORE_BENCH_SERVER_ARGS more server flags, space-separated (e.g.
//	                           "--raft-quiesce=false")
//
// The peak RSS is the largest VmHWM of the three nodes after both phases.
func TestBenchShards(t *testing.T) {
	dur := envDuration("FORKSTORE_BENCH_DURATION", 10*time.Second)
	nodeCPU, _ := strconv.ParseFloat(os.Getenv("FORKSTORE_BENCH_NODE_CPU"), 64)
	const writers, buckets = 16, 16
	if os.Getenv("FORKSTORE_E2E_ENDPOINT") != "" {
		t.Skip("the shard benchmark starts its own nodes (FORKSTORE_E2E_ENDPOINT is set)")
	}
	bin, err := harness.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	loadStart := loadAvg()
	data := make([]byte, 4<<10)
	rand.Read(data)
	type row struct {
		shards   int
		put, get opFigure
		rss      int64
	}
	var rows []row
	profDir := os.Getenv("FORKSTORE_BENCH_PROFILE")
	for _, shards := range shardCounts(t, "1,8") {
		cl := newBenchCluster(t, bin, "shards-"+strconv.Itoa(shards), 3, profDir != "", serverArgs("--meta-shards", strconv.Itoa(shards))...)
		pprofs := map[string]string{}
		profile := func(phase string) (wait func()) {
			if profDir == "" {
				return func() {}
			}
			return profileNodes(profDir, fmt.Sprintf("s%d-%s", shards, phase), pprofs, int(dur/time.Second))
		}
		var addrs []string
		for _, n := range cl.running() {
			addrs = append(addrs, n.S3Addr)
			pprofs[fmt.Sprintf("n%d", n.ID)] = n.PprofAddr
			if nodeCPU > 0 {
				capCPU(t, fmt.Sprintf("forkstore-bench-%d-n%d", shards, n.ID), n.pid(), nodeCPU)
			}
		}
		tg := newObjectTarget(t, fmt.Sprintf("s%d", shards), addrs, cl.pids, nil)
		names := make([]string, buckets)
		for b := range names {
			names[b] = fmt.Sprintf("%s-%02d", tg.bucket, b)
			if err := tg.clients[b%len(tg.clients)].MakeBucket(context.Background(), names[b], minio.MakeBucketOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		// Let the shards' leaders spread over the nodes first.
		if shards > 1 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if _, err := cl.admin.must(ctx, "POST", cl.running()[0].S3Addr, "/_forkstore/v1/cluster/rebalance", nil); err != nil {
				t.Logf("rebalance: %v", err)
			}
			cancel()
		}
		var written atomic.Int64
		keys := int64(envInt("FORKSTORE_BENCH_OPS", 100000))
		wait := profile("put")
		put := measureOps(context.Background(), cl.pids(), writers, dur, keys, int64(len(data)), func(ctx context.Context, i int64) error {
			b := names[i%buckets]
			_, err := tg.client(i/buckets).PutObject(ctx, b, fmt.Sprintf("k%08d", i/buckets), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{DisableMultipart: true})
			if err == nil {
				written.Add(1)
			}
			return err
		})
		wait()
		have := max(written.Load()/buckets, 1)
		wait = profile("get")
		get := measureOps(context.Background(), cl.pids(), writers, dur, keys, int64(len(data)), func(ctx context.Context, i int64) error {
			b := names[i%buckets]
			obj, err := tg.client(i/buckets).GetObject(ctx, b, fmt.Sprintf("k%08d", (i/buckets)%have), minio.GetObjectOptions{})
			if err != nil {
				return err
			}
			defer obj.Close()
			_, err = obj.Stat()
			return err
		})
		wait()
		fmt.Fprintf(os.Stderr, "bench: 3 nodes, %d shards: PUT 4 KiB %s p99 %v; GET 4 KiB %s p99 %v\n", shards, put.cell(), put.p99, get.cell(), get.p99)
		var rss int64
		for _, p := range cl.pids() {
			rss = max(rss, peakRSS(p))
		}
		rows = append(rows, row{shards, put, get, rss})
		cl.killAll()
	}
	capped := ""
	if nodeCPU > 0 {
		capped = fmt.Sprintf(", each node capped at %.2f core", nodeCPU)
	}
	fmt.Printf("\n### Metadata shards: 3 nodes, 16 writers into 16 buckets%s%s (load %s -> %s)\n\n", capped, argsNote(), loadStart, loadAvg())
	fmt.Println("| shards | PUT 4 KiB | PUT CPU/op | PUT p99 | GET 4 KiB | GET CPU/op | GET p99 | peak RSS |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %d | %.0f/s | %.2f ms | %v | %.0f/s | %.2f ms | %v | %d MiB |\n", r.shards,
			r.put.rate(), r.put.cpuPerOp(), r.put.p99.Round(time.Millisecond), r.get.rate(), r.get.cpuPerOp(), r.get.p99.Round(time.Millisecond), r.rss>>20)
	}
	if len(rows) == 2 && rows[0].put.rate() > 0 && rows[0].get.rate() > 0 && rows[0].rss > 0 {
		fmt.Printf("\n%d shards / %d shard(s): PUT %.2fx, GET %.2fx, CPU/op PUT %.2fx, GET %.2fx, peak RSS %.2fx\n", rows[1].shards, rows[0].shards,
			rows[1].put.rate()/rows[0].put.rate(), rows[1].get.rate()/rows[0].get.rate(),
			rows[1].put.cpuPerOp()/rows[0].put.cpuPerOp(), rows[1].get.cpuPerOp()/rows[0].get.cpuPerOp(), float64(rows[1].rss)/float64(rows[0].rss))
	}
}

// TestBenchShardsIdle measures the CPU a node of an idle 3-node cluster
// uses, at each shard count (FORKSTORE_BENCH_SHARDS, default "1,16"): the
// cluster is started, its leaders spread, a bucket written to, and then
// nothing is sent for FORKSTORE_BENCH_IDLE (default 30s; more server flags
// in FORKSTORE_BENCH_SERVER_ARGS) while the CPU time
// of every node is read from /proc. What an idle node costs comes from its
// Raft shards: ticks, heartbeats, the workers they wake. With
// FORKSTORE_BENCH_PROFILE set to a directory, a CPU profile of every node
// over the idle time is written there (the profiling adds a little to the
// figures: take them from runs without it). FORKSTORE_BENCH_NODES sets the
// cluster's size (default 3; with more nodes than R = 3, each node holds
// some of the data shards).
func TestBenchShardsIdle(t *testing.T) {
	idle := envDuration("FORKSTORE_BENCH_IDLE", 30*time.Second)
	profDir := os.Getenv("FORKSTORE_BENCH_PROFILE")
	nodes := 3
	if v := os.Getenv("FORKSTORE_BENCH_NODES"); v != "" {
		var err error
		if nodes, err = strconv.Atoi(v); err != nil || nodes < 1 || nodes > 7 {
			t.Fatalf("FORKSTORE_BENCH_NODES: %q is not a cluster size from 1 to 7", v)
		}
	}
	if os.Getenv("FORKSTORE_E2E_ENDPOINT") != "" {
		t.Skip("the shard benchmark starts its own nodes (FORKSTORE_E2E_ENDPOINT is set)")
	}
	bin, err := harness.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	loadStart := loadAvg()
	type row struct {
		shards int
		cores  []float64 // per node
	}
	var rows []row
	for _, shards := range shardCounts(t, "1,16") {
		cl := newBenchCluster(t, bin, "idle-"+strconv.Itoa(shards), nodes, profDir != "", serverArgs("--meta-shards", strconv.Itoa(shards))...)
		var addrs []string
		for _, n := range cl.running() {
			addrs = append(addrs, n.S3Addr)
		}
		tg := newObjectTarget(t, fmt.Sprintf("idle%d", shards), addrs, cl.pids, nil)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if shards > 1 {
			if _, err := cl.admin.must(ctx, "POST", addrs[0], "/_forkstore/v1/cluster/rebalance", nil); err != nil {
				t.Logf("rebalance: %v", err)
			}
		}
		if _, err := tg.clients[0].PutObject(ctx, tg.bucket, "k", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		cancel()
		pids := cl.pids()
		cpu0 := make([]time.Duration, len(pids))
		for i, p := range pids {
			cpu0[i] = cpuTime(p)
		}
		pprofs := map[string]string{}
		for _, n := range cl.running() {
			pprofs[fmt.Sprintf("n%d", n.ID)] = n.PprofAddr
		}
		start := time.Now()
		wait := profileNodes(profDir, fmt.Sprintf("idle-%d", shards), pprofs, int(idle/time.Second))
		time.Sleep(idle) // the measurement itself: nothing is sent meanwhile
		took := time.Since(start)
		r := row{shards: shards}
		for i, p := range pids {
			r.cores = append(r.cores, (cpuTime(p)-cpu0[i]).Seconds()/took.Seconds())
		}
		wait()
		fmt.Fprintf(os.Stderr, "bench: idle, %d nodes, %d shards: cores per node %.3f\n", nodes, shards, r.cores)
		rows = append(rows, r)
		cl.killAll()
	}
	fmt.Printf("\n### Idle CPU of a node: %d nodes, %v idle%s (load %s -> %s)\n\n", nodes, idle, argsNote(), loadStart, loadAvg())
	fmt.Print("| shards |")
	for i := 1; i <= nodes; i++ {
		fmt.Printf(" node %d |", i)
	}
	fmt.Print("\n|---|" + strings.Repeat("---|", nodes) + "\n")
	for _, r := range rows {
		fmt.Printf("| %d |", r.shards)
		for _, c := range r.cores {
			fmt.Printf(" %.1f%% |", 100*c)
		}
		fmt.Println()
	}
}

// serverArgs returns args and the flags of FORKSTORE_BENCH_SERVER_ARGS.
func serverArgs(args ...string) []string {
	return append(args, strings.Fields(os.Getenv("FORKSTORE_BENCH_SERVER_ARGS"))...)
}

// argsNote names the flags of FORKSTORE_BENCH_SERVER_ARGS for a title.
func argsNote() string {
	if a := os.Getenv("FORKSTORE_BENCH_SERVER_ARGS"); a != "" {
		return ", " + a
	}
	return ""
}

// shardCounts returns the shard counts of FORKSTORE_BENCH_SHARDS, or def.
func shardCounts(t *testing.T, def string) []int {
	v := os.Getenv("FORKSTORE_BENCH_SHARDS")
	if v == "" {
		v = def
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			t.Fatalf("FORKSTORE_BENCH_SHARDS: %q is not a shard count", f)
		}
		out = append(out, n)
	}
	return out
}

// peakRSS returns the process's peak resident set size (VmHWM) in bytes.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// capCPU moves process pid into a cgroup of its own (v1 cpu controller)
// capped at cores; the cgroup goes when the test ends (after the process).
func capCPU(t *testing.T, name string, pid int, cores float64) {
	t.Helper()
	dir := filepath.Join("/sys/fs/cgroup/cpu", name)
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		t.Fatalf("cgroup %s (the v1 cpu controller, as root): %v", dir, err)
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for os.Remove(dir) != nil && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond) // its process is still exiting
		}
	})
	const period = 100000
	for _, w := range []struct{ file, val string }{
		{"cpu.cfs_period_us", strconv.Itoa(period)},
		{"cpu.cfs_quota_us", strconv.Itoa(int(cores * period))},
		{"cgroup.procs", strconv.Itoa(pid)},
	} {
		if err := os.WriteFile(filepath.Join(dir, w.file), []byte(w.val), 0o644); err != nil {
			t.Fatalf("cgroup %s: %s: %v", dir, w.file, err)
		}
	}
}
