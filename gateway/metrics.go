package gateway

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/forkstore/forkstore/meta"
	"github.com/forkstore/forkstore/raft"
)

// nodeMetrics are the node's Prometheus metrics. Most are read when
// scraped (Collect); proposal latency is recorded as proposals finish.
// The repair backlog is the cluster's count of chunks this node should
// hold and lacks, read when scraped.
type nodeMetrics struct {
	n *Node

	proposals     *prometheus.HistogramVec
	proposalMeta  prometheus.Observer // pre-resolved child of metaShard
	repairBacklog prometheus.GaugeFunc
	underRepl     prometheus.GaugeFunc
	repairPending prometheus.GaugeFunc

	// stats caches the metadata counts (a scan) for statsTTL.
	mu        sync.Mutex
	statsAt   time.Time
	stats     meta.Stats
	statsOK   bool
	collector *nodeCollector
}

// statsTTL is how long a scan of the metadata counts is reused: scrapes
// closer together (several Prometheus servers) do not rescan.
const statsTTL = 2 * time.Second

func newNodeMetrics(n *Node) *nodeMetrics {
	m := &nodeMetrics{
		n: n,
		proposals: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "forkstore_raft_proposal_duration_seconds",
			Help:    "Time to replicate and apply one metadata command through Raft, retries included.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"shard_id"}),
		repairBacklog: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "forkstore_repair_backlog_chunks",
			Help: "Chunks this node should hold and lacks, which repair has yet to copy here.",
		}, func() float64 { return float64(n.cluster.blocks.Backlog()) }),
		underRepl: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "forkstore_chunks_under_replicated",
			Help: "Chunks with fewer than R copies on their holders, among those this node counts (each chunk is counted by one node: sum over the nodes for the cluster's figure).",
		}, func() float64 { return float64(n.cluster.blocks.UnderReplicated()) }),
		repairPending: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "forkstore_repair_pending",
			Help: "1 until a repair pass has scanned every chunk since the membership last changed (the repair figures are not yet current), else 0.",
		}, func() float64 { return b2f(n.cluster.repairPending()) }),
	}
	m.proposalMeta = m.proposals.WithLabelValues(shardLabel(metaShard))
	m.collector = newNodeCollector(m)
	return m
}

// observeProposal records one proposal's duration.
func (m *nodeMetrics) observeProposal(shardID uint64, d time.Duration) {
	if shardID == metaShard {
		m.proposalMeta.Observe(d.Seconds())
		return
	}
	m.proposals.WithLabelValues(shardLabel(shardID)).Observe(d.Seconds())
}

// RegisterMetrics registers the node's metrics (Raft, chunk store, GC and
// repair backlogs, bucket counts, proposal latency, reads at fork points)
// with reg.
func (n *Node) RegisterMetrics(reg prometheus.Registerer) error {
	cs := []prometheus.Collector{n.metrics.proposals, n.metrics.repairBacklog, n.metrics.underRepl, n.metrics.repairPending, n.metrics.collector}
	for _, c := range append(cs, n.disk.collectors()...) {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func shardLabel(id uint64) string { return strconv.FormatUint(id, 10) }

// metaStats returns the metadata counts, rescanned at most every statsTTL.
func (m *nodeMetrics) metaStats() (meta.Stats, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.statsOK && time.Since(m.statsAt) < statsTTL {
		return m.stats, true
	}
	// The counts are the sums over the shards; the applied index is the
	// directory shard's (each shard's is in forkstore_raft_applied_index).
	var sum meta.Stats
	for _, shard := range m.n.shards.list() {
		cursor := m.n.gc.of(shard).cursor.Load()
		v, err := m.n.readBackground(shard, meta.StatsQuery{GCAfter: cursor})
		if err != nil {
			m.n.log.Warn("metrics: reading metadata counts", "shard", shard, "err", err)
			return meta.Stats{}, false
		}
		st := v.(meta.Stats)
		if shard == metaShard {
			sum.AppliedIndex = st.AppliedIndex
		}
		sum.Buckets += st.Buckets
		sum.Forks += st.Forks
		sum.Snapshots += st.Snapshots
		sum.GCQueued += st.GCQueued
		sum.GCQueue += st.GCQueue
		sum.GCPending += st.GCPending
	}
	m.stats, m.statsAt, m.statsOK = sum, time.Now(), true
	return m.stats, true
}

// nodeCollector reads the node's state at scrape time. Scrapes are
// serialized: Raft answers one commit-index query at a time.
type nodeCollector struct {
	m  *nodeMetrics
	mu sync.Mutex

	role, hasLeader, leaderID, term, commit, applied, members *prometheus.Desc
	chunkFiles, chunkBytes                                    *prometheus.Desc
	gcQueued, gcQueue, gcPending                              *prometheus.Desc
	buckets, forks, snapshots                                 *prometheus.Desc
	forkPointReads, peerReads                                 *prometheus.Desc
}

func newNodeCollector(m *nodeMetrics) *nodeCollector {
	shard := []string{"shard_id"}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &nodeCollector{
		m:          m,
		role:       d("forkstore_raft_role", "This replica's role in the shard: 1 for the current role, 0 for the others.", "shard_id", "role"),
		hasLeader:  d("forkstore_raft_has_leader", "Whether this replica knows a leader of the shard.", shard...),
		leaderID:   d("forkstore_raft_leader_id", "Replica id of the shard's leader as this replica knows it (0: none).", shard...),
		term:       d("forkstore_raft_term", "Raft term of the shard's leader as this replica knows it.", shard...),
		commit:     d("forkstore_raft_commit_index", "Commit index in this replica's persisted Raft state.", shard...),
		applied:    d("forkstore_raft_applied_index", "Raft index this replica's state machine has applied.", shard...),
		members:    d("forkstore_raft_members", "Replicas in the shard's membership.", shard...),
		chunkFiles: d("forkstore_chunk_store_files", "Chunk files in this node's chunk store."),
		chunkBytes: d("forkstore_chunk_store_bytes", "Bytes of the chunk files in this node's chunk store."),
		gcQueued:   d("forkstore_gc_queued_chunks", "Unreferenced chunks this node has yet to delete (GC backlog)."),
		gcQueue: d("forkstore_gc_queue_entries", "Entries of the metadata's chunk GC queue (summed over the shards): kept until every member "+
			"that is not down has deleted its copies of their chunks and the shard's leader has trimmed them."),
		gcPending: d("forkstore_gc_pending_buckets", "Buckets with a retention pass under way (after deleting a snapshot, fork or bucket)."),
		buckets:   d("forkstore_buckets", "Live buckets, forks included."),
		forks:     d("forkstore_forks", "Live buckets that are forks."),
		snapshots: d("forkstore_snapshots", "Snapshots of all buckets."),
		forkPointReads: d("forkstore_fork_point_reads_total", "Reads of a parent's history at a fork point for a fork on another shard, "+
			"by how this node served them: local (its replica, applied up to the fork point, without a leader round) or linearizable.", "served"),
		peerReads: d("forkstore_peer_reads_total", "Reads this node served for nodes that hold no replica of the shard, "+
			"by how: stale (its replica as it stands, for their background work) or linearizable; reads at a fork point are in forkstore_fork_point_reads_total.", "served"),
	}
}

// Describe implements prometheus.Collector.
func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.role, c.hasLeader, c.leaderID, c.term, c.commit, c.applied, c.members,
		c.chunkFiles, c.chunkBytes, c.gcQueued, c.gcQueue, c.gcPending, c.buckets, c.forks, c.snapshots, c.forkPointReads, c.peerReads} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. What cannot be read now (the
// node is closing) is left out rather than failing the scrape.
func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.m.n
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	ch <- prometheus.MustNewConstMetric(c.forkPointReads, prometheus.CounterValue, float64(n.readsAtLocal.Load()), "local")
	ch <- prometheus.MustNewConstMetric(c.forkPointReads, prometheus.CounterValue, float64(n.readsAtLinear.Load()), "linearizable")
	ch <- prometheus.MustNewConstMetric(c.forkPointReads, prometheus.CounterValue, float64(n.readsAtForwarded.Load()), "forwarded")
	ch <- prometheus.MustNewConstMetric(c.peerReads, prometheus.CounterValue, float64(n.peerReadsStale.Load()), "stale")
	ch <- prometheus.MustNewConstMetric(c.peerReads, prometheus.CounterValue, float64(n.peerReadsLinear.Load()), "linearizable")
	shard := shardLabel(metaShard)
	for _, id := range n.shards.list() {
		in, err := n.host.Info(id)
		if err != nil {
			continue
		}
		label := shardLabel(id)
		for _, r := range raft.Roles {
			gauge(c.role, b2f(in.Role == r), label, string(r))
		}
		gauge(c.hasLeader, b2f(in.LeaderID != 0), label)
		gauge(c.leaderID, float64(in.LeaderID), label)
		gauge(c.term, float64(in.Term), label)
		if in.CommitIndex > 0 { // 0: not known in time
			gauge(c.commit, float64(in.CommitIndex), label)
		}
		gauge(c.members, float64(in.Members), label)
	}
	files, bytes := n.chunks.Usage()
	gauge(c.chunkFiles, float64(files))
	gauge(c.chunkBytes, float64(bytes))
	for _, id := range n.shards.list() {
		if id != metaShard {
			gauge(c.applied, float64(n.local.Applied(id, n.replicaOf(id))), shardLabel(id))
		}
	}
	if s, ok := c.m.metaStats(); ok {
		gauge(c.applied, float64(s.AppliedIndex), shard)
		gauge(c.gcQueued, float64(s.GCQueued))
		gauge(c.gcQueue, float64(s.GCQueue))
		gauge(c.gcPending, float64(s.GCPending))
		gauge(c.buckets, float64(s.Buckets))
		gauge(c.forks, float64(s.Forks))
		gauge(c.snapshots, float64(s.Snapshots))
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
