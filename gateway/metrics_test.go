package gateway_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
	"github.com/forkstore/forkstore/meta"
)

// gauges gathers reg and returns each sample's value by name and labels
// ("name{k=v,...}" in label order; histograms as name_count).
func gauges(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			if len(m.GetLabel()) > 0 {
				name += "{"
				for i, l := range m.GetLabel() {
					if i > 0 {
						name += ","
					}
					name += l.GetName() + "=" + l.GetValue()
				}
				name += "}"
			}
			switch mf.GetType() {
			case dto.MetricType_GAUGE:
				out[name] = m.GetGauge().GetValue()
			case dto.MetricType_COUNTER:
				out[name] = m.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// The node's metrics follow its state: Raft role and indexes, proposal
// latency, chunk store usage, bucket, fork and snapshot counts, and the
// GC backlog draining after a delete.
func TestNodeMetrics(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.ChunkSize = 64 << 10
	cfg.InlineMax = 1 << 10
	cfg.MetaShards = 1 // the test follows shard 1's Raft figures
	n := gatewaytest.NewNode(t, cfg)
	s := n.Service()
	reg := prometheus.NewRegistry()
	if err := n.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	var g map[string]float64
	waitFor(t, "the commit index", func() bool {
		g = gauges(t, reg)
		return g["forkstore_raft_commit_index{shard_id=1}"] >= 1 // absent when not read in time
	})
	for name, want := range map[string]float64{
		"forkstore_raft_role{role=leader,shard_id=1}":   1,
		"forkstore_raft_role{role=follower,shard_id=1}": 0,
		"forkstore_raft_has_leader{shard_id=1}":         1,
		"forkstore_raft_leader_id{shard_id=1}":          1,
		"forkstore_raft_members{shard_id=1}":            1,
		"forkstore_repair_backlog_chunks":               0,
		"forkstore_chunks_under_replicated":             0,
		"forkstore_buckets":                             0,
	} {
		if got, ok := g[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if g["forkstore_raft_term{shard_id=1}"] < 1 {
		t.Errorf("term: %v", g)
	}

	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base", Region: cfg.Region}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "fork", Region: cfg.Region, ForkSource: "base"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSnapshot(ctx(t), "base", "s1"); err != nil {
		t.Fatal(err)
	}
	body := randBytes(1, 200<<10) // 4 chunks of 64 KiB
	put(t, s, "base", "big", body)
	// Counts are cached for a moment; wait for a fresh scan.
	var last map[string]float64
	defer func() {
		if t.Failed() {
			for _, name := range []string{"forkstore_buckets", "forkstore_forks", "forkstore_snapshots", "forkstore_chunk_store_files",
				"forkstore_chunk_store_bytes", "forkstore_raft_applied_index{shard_id=1}", "forkstore_raft_proposal_duration_seconds{shard_id=1}_count"} {
				t.Logf("last read: %s = %v", name, last[name])
			}
			t.Logf("commit index before the writes: %v", g["forkstore_raft_commit_index{shard_id=1}"])
		}
	}()
	waitFor(t, "counts, indexes and chunk usage to show the writes", func() bool {
		last = gauges(t, reg)
		return last["forkstore_buckets"] == 2 && last["forkstore_forks"] == 1 && last["forkstore_snapshots"] == 1 &&
			last["forkstore_chunk_store_files"] == 4 && last["forkstore_chunk_store_bytes"] == float64(len(body)) &&
			last["forkstore_raft_applied_index{shard_id=1}"] >= g["forkstore_raft_commit_index{shard_id=1}"]+4 &&
			last["forkstore_raft_proposal_duration_seconds{shard_id=1}_count"] >= 4
	})

	// The snapshot and the fork predate the object: deleting it leaves its
	// chunks to GC, which drains the backlog.
	if _, err := s.DeleteObject(ctx(t), "base", "big", "", meta.DeleteCondition{}, false); err != nil {
		t.Fatal(err)
	}
	v, err := s.ResolveSnapshot(ctx(t), "base", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSnapshot(ctx(t), "base", v); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the chunks to be collected", func() bool {
		last = gauges(t, reg)
		return last["forkstore_chunk_store_files"] == 0 && last["forkstore_chunk_store_bytes"] == 0 &&
			last["forkstore_gc_queued_chunks"] == 0 && last["forkstore_gc_pending_buckets"] == 0 && last["forkstore_snapshots"] == 0
	})
}
