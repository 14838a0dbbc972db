package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forkstore/forkstore/meta"
	"github.com/forkstore/forkstore/raft"
)

// ReadCloser is an object body being read.
type ReadCloser = io.ReadCloser

// metaShard is the Raft shard holding the directory (and, in a cluster of
// one shard, all metadata; shards.go).
const metaShard = meta.DirectoryShard

// Node is one forkstore server: a NodeHost with the metadata shard, the
// local chunk store and the S3 use cases.
type Node struct {
	cfg     Config
	log     *slog.Logger
	host    *raft.Host
	local   *meta.Handle // local replica reads for background work
	chunks  *ChunkStore
	disk    *diskGuard
	svc     *Service
	cluster *cluster
	seal    *sealer
	keys    keyCaches
	// shards lists the metadata shards (shards.go); startShard starts
	// this node's replica of one.
	shards     shardSet
	startShard func(shardID uint64) error
	// startReplica starts this node's replica rid of a data shard
	// (placement.go); place is the placement of data shard replicas.
	startReplica func(shardID, rid uint64, join bool) error
	place        placement
	placeMemo    placementMemo
	// downs is which members fail to answer (downnodes.go).
	downs downWatch
	// startShardAmong starts a data shard of a new cluster on its placed
	// founding replicas (startPlaced).
	startShardAmong func(shardID uint64, members map[uint64]string) error
	// hints are the leaders of shards held elsewhere (forward.go).
	hints leaderHints
	// readsAtLocal and readsAtLinear count the reads of a fork point that
	// the local replica served and those that went the linearizable way
	// (readat.go; forkstore_fork_point_reads_total).
	readsAtLocal, readsAtLinear, readsAtForwarded atomic.Uint64
	// peerReadsStale and peerReadsLinear count the reads this node served
	// for nodes that hold no replica of the shard: from its replica as it
	// stands (background work) and linearizably
	// (forkstore_peer_reads_total).
	peerReadsStale, peerReadsLinear atomic.Uint64
	// solo: linearizable reads of a node that is alone (soloread.go).
	solo soloReads
	// life ends when the node closes: background work that waits on other
	// nodes (readHereOr, placement and leader balancing passes, the
	// recovery of forks and merges) ends with it rather than hold up the
	// shutdown. A placement pass waited up to its 90 s deadline for a
	// leader transfer that could not happen any more, past the 30 s a
	// stopped server has to exit (TestPlacedShards failed so).
	life    context.Context
	endLife context.CancelFunc
	// registered: this node's record (its addresses) is in the directory
	// and its member list was read since (register).
	registered atomic.Bool

	metrics *nodeMetrics
	// gc is the collector's state of each shard's GC queue.
	gc gcStates
	// readyAt is when a readiness read last succeeded (Unix nanoseconds).
	readyAt atomic.Int64

	stop chan struct{}
	wg   sync.WaitGroup
}

// Start opens the data dir, starts the metadata shard and waits until it
// can serve.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rc := cfg.Raft
	if rc.DataDir == "" {
		rc.DataDir = filepath.Join(cfg.DataDir, "raft")
	}
	// The data dir, then the stores in it: each 0700 (see perm.go).
	for _, d := range []string{cfg.DataDir, filepath.Join(cfg.DataDir, "chunks"), filepath.Join(cfg.DataDir, "meta"), rc.DataDir} {
		if err := privateDir(d, log); err != nil {
			return nil, fmt.Errorf("gateway: data dir: %w", err)
		}
	}
	// Look at the free space before opening anything that writes: a node
	// that starts on a full disk releases its reserve first.
	disk := newDiskGuard(cfg.DataDir, cfg.MinFreeSpace, log.With("component", "disk"))
	disk.check()
	chunks, err := OpenChunkStore(filepath.Join(cfg.DataDir, "chunks"))
	if err != nil {
		return nil, err
	}
	// The cluster key authenticates the Raft transport too; without one
	// the node is alone and does not listen for Raft at all.
	rc.Key = []byte(cfg.ClusterKey)
	// The directory never quiesces: every node reads it, so its messages
	// reach every node and a dead one is noticed (raft/wake.go). With
	// other shards, its heartbeats are sparser: they are an idle
	// cluster's whole traffic (with one shard, the directory's election
	// is the cluster's failover). A node joining with an empty data dir
	// and no --meta-shards learns the count later: its replica keeps the
	// usual timing until it restarts.
	rc.AwakeShard = metaShard
	shards := metaShardsKnown(cfg)
	rc.SparseAwake = shards > 1
	// With one shard, one LogDB shard takes every write; with more, they
	// spread over the LogDB shards (one per step worker), each with its
	// memtables, so each is a quarter of the size (2 MiB for the default
	// budget). Pebble also keeps flushed memtables reachable until its
	// memtable queue's array is reallocated (it reslices the queue from
	// the front), so a LogDB shard that stops being written, as under a
	// read load, can hold ten of them for as long as the reads last: at
	// 4 MiB that was 40 MB of a 16-shard node's live heap, above the Go
	// soft limit, and the collector ran back to back (benchmarks.md,
	// "The Raft log's memtables of a node of many shards").
	if rc.SparseAwake {
		rc.LogDBWriteBuffer = shardedLogBuffer(rc.LogDBWriteBuffer)
	}
	// Each shard keeps its own log tail between snapshots: --snapshot-
	// entries is the node's, shared by its shards (sharedSnapshotEntries).
	rc.SnapshotEntries, rc.CompactionOverhead = sharedSnapshotEntries(rc.SnapshotEntries, rc.CompactionOverhead, shards)
	host, err := raft.NewHost(rc, log.With("component", "raft"))
	if err != nil {
		return nil, err
	}
	if cfg.AdvertiseS3 == "" {
		cfg.AdvertiseS3 = "127.0.0.1:9000"
	}
	seal, err := newSealer(cfg.RootPassword, cfg.PreviousRootPassword)
	if err != nil {
		host.Close()
		return nil, err
	}
	n := &Node{cfg: cfg, log: log, host: host, chunks: chunks, disk: disk, seal: seal, stop: make(chan struct{})}
	n.solo.alone = cfg.ClusterKey == ""
	n.setGoLimit(shards)
	n.life, n.endLife = context.WithCancel(context.Background())
	n.svc = &Service{node: n}
	n.cluster = newCluster(n)
	n.metrics = newNodeMetrics(n)
	mopts := cfg.Meta
	mopts.BeforeWrite, mopts.AfterWrite = disk.beforeApply, disk.afterApply
	// The replicas per shard first: the shard count's file tells a data
	// dir made before placement.
	replicas, err := replicasAtStart(cfg)
	if err != nil {
		host.Close()
		return nil, err
	}
	shardCount, err := shardCountAtStart(cfg)
	if err != nil {
		host.Close()
		return nil, err
	}
	n.place.r.Store(int64(replicas))
	n.place.kick = make(chan struct{}, 1)
	restart := host.HasReplicaData(metaShard, rc.NodeID)
	// The memory budget and the space Badger takes up front are the
	// node's, whatever the shard count: the node's store takes them whole,
	// a replica with a DB of its own (a data dir made before the store)
	// its share.
	mopts.ReplicaDBs = shardCount
	create, local := meta.NewStateMachineHandle(filepath.Join(cfg.DataDir, "meta"), mopts, log.With("component", "meta"))
	n.local = local
	n.startShard = func(id uint64) error { return host.StartOnDiskShard(id, create) }
	n.startReplica = func(id, rid uint64, join bool) error { return host.StartReplica(id, rid, join, create) }
	n.startShardAmong = func(id uint64, members map[uint64]string) error { return host.StartShardAmong(id, members, create) }
	if err := host.StartOnDiskShard(metaShard, create); err != nil {
		host.Close()
		return nil, err
	}
	if shardCount > 0 && replicas > 0 && restart {
		// Placed shards: this node's replicas are those in its data dir;
		// the placement record says which others to start (placement.go).
		err = n.startOnDisk(shardCount)
	} else if shardCount > 0 && replicas > 0 && !restart && !cfg.Raft.Join && len(cfg.Raft.InitialMembers) > replicas {
		// A new cluster of more founding nodes than R: each data shard
		// starts on its placed replicas only, rather than on every node
		// for placement to trim.
		err = n.startPlaced(shardCount, replicas)
	} else if shardCount > 0 {
		err = n.startShards(shardCount)
	}
	if err != nil {
		host.Close()
		return nil, err
	}
	if err := n.waitReady(ctx); err != nil {
		host.Close()
		return nil, err
	}
	if shardCount == 0 {
		n.wg.Add(1)
		go n.adoptShards()
	}
	n.wg.Add(8)
	go n.disk.loop(n.stop, n.wg.Done)
	// The replicas the disk guard stopped, by shard, to start again under
	// the same replica ids.
	var suspended sync.Map
	go n.disk.suspender(n.stop, n.wg.Done,
		func() error {
			var errs []error
			for _, id := range n.shards.list() {
				if rid, ok := host.Replica(id); ok {
					suspended.Store(id, rid)
					errs = append(errs, host.StopShard(id))
				}
			}
			return errors.Join(errs...)
		},
		func() error {
			var errs []error
			suspended.Range(func(k, v any) bool {
				errs = append(errs, host.StartReplica(k.(uint64), v.(uint64), false, create))
				suspended.Delete(k)
				return true
			})
			return errors.Join(errs...)
		})
	go n.collectGarbage()
	go n.watchKeys()
	go n.register()
	go n.cluster.membershipLoop()
	go n.cluster.repairLoop()
	go n.cluster.scrubLoop()
	n.wg.Add(2)
	go n.applyLifecycle()
	go n.balanceLoop()
	n.wg.Add(3)
	go n.releaseMemory()
	go n.placeLoop()
	go n.watchDown()
	log.Info("node started", "data", cfg.DataDir, "replica_id", rc.NodeID, "s3_addr", cfg.AdvertiseS3)
	return n, nil
}

// waitReady waits until the metadata shard serves linearizable reads, for
// a cluster of one (if it cannot get there, the data dir is broken). A
// member of a larger cluster starts serving at once: its peers may still be
// starting, or it may be catching up from a long log; /health/ready says
// when it is ready, and requests answer 503 until then.
func (n *Node) waitReady(ctx context.Context) error {
	if len(n.cfg.Raft.InitialMembers) > 1 || n.cfg.Raft.Join || n.host.HasOtherMembers(metaShard) {
		return nil
	}
	var err error
	for ctx.Err() == nil {
		err = nil
		for _, shard := range n.hostedShards() {
			if err = n.host.WaitReady(ctx, shard); err != nil {
				break
			}
		}
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("gateway: metadata shard not ready: %w", err)
}

// register publishes this node's addresses in the metadata (once the shard
// takes writes), so that the other members can reach its chunk store, and
// learns the current membership.
func (n *Node) register() {
	defer n.wg.Done()
	self := meta.Node{ID: n.cfg.Raft.NodeID, RaftAddr: n.cfg.Raft.RaftAddr, S3Addr: n.cfg.AdvertiseS3, Zone: n.cfg.Zone}
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		nodes, err := readAs[[]meta.Node](ctx, n.svc, meta.NodesQuery{})
		if err == nil {
			err = n.registerSelf(ctx, self, nodes)
		}
		if err == nil {
			err = n.cluster.refresh(ctx)
		}
		if err == nil && n.shards.count() > 0 {
			if err = n.recordShards(ctx); errors.Is(err, meta.ErrShardCount) {
				n.log.Error("this node's metadata shards are not its cluster's: wipe its data dir and start it with the cluster's --meta-shards", "err", err)
				cancel()
				return
			}
		}
		cancel()
		if err == nil {
			n.registered.Store(true)
			n.cluster.kickRepair()
			return
		}
		if errors.Is(err, meta.ErrNodeRetired) {
			n.log.Error("this node was removed from the cluster; its id cannot serve again: wipe its data and add it under a new id", "node", self.ID)
			return
		}
		n.log.Debug("node registration pending", "err", err)
		select {
		case <-n.stop:
			return
		case <-time.After(backoff):
		}
	}
}

func (n *Node) registerSelf(ctx context.Context, self meta.Node, known []meta.Node) error {
	for _, k := range known {
		if k.ID == self.ID {
			if k.State == meta.NodeRetired {
				return meta.ErrNodeRetired
			}
			if k.RaftAddr == self.RaftAddr && k.S3Addr == self.S3Addr && k.Zone == self.Zone {
				return nil
			}
		}
	}
	_, err := n.svc.propose(ctx, &meta.RegisterNode{Node: self})
	return err
}

// Service returns the node's S3 use cases.
func (n *Node) Service() *Service { return n.svc }

// Close stops background work and the NodeHost.
func (n *Node) Close() error {
	select {
	case <-n.stop:
		return nil
	default:
	}
	close(n.stop)
	n.endLife()
	n.wg.Wait()
	n.host.Close()
	return nil
}

// Ready reports whether the node can serve now: it knows a leader and has
// applied everything the leader had committed when asked (a ReadIndex),
// and, in a cluster, its addresses are in the directory (register).
// A node that knows no leader is not ready, at once (no read is tried). A
// read cut short by ctx's deadline (a probe's short one, on a loaded
// machine) counts as ready while a read succeeded within readyGrace and a
// leader is known. The read gets readyTicks ticks at least, whatever ctx
// allows: a Raft request needs a timeout of two ticks (raft.Host), more
// than the probe's 150 ms under a tick over 75 ms, and such a node was
// never ready.
func (n *Node) Ready(ctx context.Context) error {
	if least := readyTicks * time.Duration(n.cfg.Raft.RTTMillisecond) * time.Millisecond; least > 0 {
		if d, ok := ctx.Deadline(); ok && time.Until(d) < least {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), least)
			defer cancel()
		}
	}
	shards := n.shards.list()
	if len(shards) == 0 {
		return errShardsUnknown
	}
	for _, shard := range shards {
		if !n.hosts(shard) {
			continue // placed elsewhere (placement.go)
		}
		if _, ok := n.host.LeaderID(shard); !ok {
			return fmt.Errorf("%w: no leader known for metadata shard %d", ErrNoQuorum, shard)
		}
	}
	inCluster := len(n.cluster.snapshot()) > 1 || len(n.cfg.Raft.InitialMembers) > 1 || n.cfg.Raft.Join
	if !n.registered.Load() && inCluster {
		// The others cannot copy chunks to this node or read from it
		// before its address is in the directory.
		return fmt.Errorf("%w: this node has not published its address to its cluster yet", ErrUnavailable)
	}
	err := n.readHosted(ctx)
	switch {
	case err == nil:
		n.readyAt.Store(time.Now().UnixNano())
	case errors.Is(err, raft.ErrTimeout) || errors.Is(err, context.DeadlineExceeded):
		if time.Since(time.Unix(0, n.readyAt.Load())) < readyGrace {
			return nil
		}
	}
	return err
}

// readHosted runs an empty linearizable read on each shard this node
// holds a replica of.
func (n *Node) readHosted(ctx context.Context) error {
	shards := n.hostedShards()
	errs := make([]error, len(shards))
	var wg sync.WaitGroup
	for i, id := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = n.svc.readOn(ctx, id, meta.PingQuery{})
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// readyGrace is how long a successful readiness read vouches for the node
// when a later one runs out of time.
const readyGrace = time.Second

// readyTicks is the least time Ready's read gets, in Raft ticks.
const readyTicks = 3

// collectGarbage runs the node's background collection:
//   - the leader deletes forks and access keys whose lease ran out on the
//     lease clock (ExpireLeases);
//   - the leader proposes the bounded retention passes (GCBucket) that
//     deleting a snapshot, fork or bucket started, and, with a history
//     window, periodic passes over every bucket as versions age out of it;
//   - every node deletes its local copies of chunks whose last reference
//     went away (the GC queue, read from the local replica: an entry only
//     appears once its chunk is unreachable), and the leader trims the
//     queue once every member has done the same (each reports its cursor
//     in its status) and the entries are GCTrimAge old: a member that
//     cannot be asked holds the trim, and when it returns deletes what
//     was deleted meanwhile; once it has been down for ReplaceDownAfter
//     it no longer holds it (minGCCursor), and when it returns its
//     copies of the chunks trimmed meanwhile are left to the orphan sweep;
//   - old unreferenced chunk files (uploads that never committed) are
//     swept, first right after the node starts, then every OrphanGrace/4.
func (n *Node) collectGarbage() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.GCInterval)
	defer t.Stop()
	var lastSweep time.Time // zero: sweep in the first round
	lastHistory := time.Now()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		history := n.cfg.Meta.History > 0 && time.Since(lastHistory) > n.cfg.HistoryGCInterval
		if history {
			lastHistory = time.Now()
		}
		for _, shard := range n.shards.list() {
			if n.leads(shard) {
				n.expireLeases(shard)
				n.resumeMerges(shard)
				n.resolveRemoteForks(shard)
				n.resolveRemoteMerges(shard)
				n.runRetention(shard, false)
				if history {
					n.runRetention(shard, true)
				}
			}
			g := n.gc.of(shard)
			g.cursor.Store(n.deleteQueued(shard, g))
		}
		if time.Since(lastSweep) > n.cfg.OrphanGrace/4 {
			n.sweepOrphans()
			n.recountChunks()
			lastSweep = time.Now()
		}
	}
}

// isLeader reports whether this node leads the directory shard.
func (n *Node) isLeader() bool { return n.leads(metaShard) }

// leads reports whether this node's replica leads a shard.
func (n *Node) leads(shard uint64) bool {
	rid, hosted := n.host.Replica(shard)
	lid, ok := n.host.LeaderID(shard)
	return hosted && ok && lid == rid
}

// localRead runs a query on the local replica of the directory shard
// (possibly stale). Only background work uses it, and it stops before the
// replica closes.
func (n *Node) localRead(q func(r *meta.Reader) (any, error)) (any, error) {
	return n.localReadOn(metaShard, q)
}

// localReadOn runs a query on the local replica of a shard.
func (n *Node) localReadOn(shard uint64, q func(r *meta.Reader) (any, error)) (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return n.local.Read(ctx, shard, n.replicaOf(shard), meta.Query(q))
}

// readAnywhere runs a background query on the local replica of shard
// when this node holds one (possibly stale), else linearizably on a holder.
func (n *Node) readAnywhere(shard uint64, q meta.Q) (any, error) {
	return n.readHereOr(shard, q, n.svc.readOn)
}

// readBackground runs a query of background work that any replica's
// applied state answers as well as the leader's (a watch of a counter, an
// append-only queue, counts for the metrics): on the local replica when
// this node holds one, else on a holder's replica as it stands, without a
// ReadIndex (forwardReadStale). Neither wakes a quiesced shard, so the
// shards of an idle cluster of more nodes than R quiesce.
func (n *Node) readBackground(shard uint64, q meta.Q) (any, error) {
	return n.readHereOr(shard, q, n.svc.forwardReadStale)
}

// readHereOr runs q on the local replica of shard when this node holds
// one, else through elsewhere, within 10 s or until the node closes (a
// node that holds no shard any more, once removed, would otherwise keep
// its shutdown waiting 10 s per shard on holders it cannot reach).
func (n *Node) readHereOr(shard uint64, q meta.Q, elsewhere func(context.Context, uint64, meta.Q) (any, error)) (any, error) {
	ctx, cancel := context.WithTimeout(n.life, 10*time.Second)
	defer cancel()
	return n.readHereOrIn(ctx, shard, q, elsewhere)
}

// readHereOrIn is readHereOr within ctx (a request's).
func (n *Node) readHereOrIn(ctx context.Context, shard uint64, q meta.Q, elsewhere func(context.Context, uint64, meta.Q) (any, error)) (any, error) {
	if n.hosts(shard) {
		return n.local.Read(ctx, shard, n.replicaOf(shard), q)
	}
	return elsewhere(ctx, shard, q)
}

// gcSteps bounds the retention steps one collector round proposes, so a
// large pass is spread over rounds instead of monopolising the log.
const gcSteps = 64

// runRetention proposes GCBucket steps for the buckets with a pass under
// way, or, when all is set, starts a pass over every live bucket.
func (n *Node) runRetention(shard uint64, all bool) {
	v, err := n.localReadOn(shard, func(r *meta.Reader) (any, error) {
		if !all {
			return r.PendingGC()
		}
		bs, err := r.Buckets()
		ids := make([]uint64, len(bs))
		for i, b := range bs {
			ids[i] = b.ID
		}
		return ids, err
	})
	if err != nil {
		n.log.Warn("retention: list buckets", "err", err)
		return
	}
	steps := 0
	for _, id := range v.([]uint64) {
		for more := true; more && steps < gcSteps; steps++ {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			res, err := n.svc.proposeOn(ctx, shard, &meta.GCBucket{Bucket: id, Limit: 1000})
			cancel()
			if err != nil {
				n.log.Warn("retention step failed", "bucket_id", id, "err", err)
				return
			}
			more = res.More
		}
	}
}

// gcStates holds the collector's state of each shard's GC queue.
type gcStates = perShard[shardGC]

// shardGC is the collector's state of one shard's GC queue.
type shardGC struct {
	// cursor is the GC queue version up to which this node has deleted
	// its chunk copies.
	cursor atomic.Uint64
	// trimmed is the GC queue version the leader last trimmed up to
	// (collector goroutine only).
	trimmed uint64
	// trimHeld: no member cursors are asked for before then.
	trimHeld time.Time
}

// gcCursors returns the GC cursor of every shard but the directory's (for
// NodeStatus; nil with one shard).
func gcCursors(g *gcStates) map[uint64]uint64 {
	var out map[uint64]uint64
	g.each(func(id uint64, s *shardGC) {
		if id == metaShard {
			return
		}
		if out == nil {
			out = map[uint64]uint64{}
		}
		out[id] = s.cursor.Load()
	})
	return out
}

func (n *Node) deleteQueued(shard uint64, g *shardGC) uint64 {
	cursor := g.cursor.Load()
	for {
		v, err := n.readBackground(shard, meta.GCQueueQuery{After: cursor, Limit: 1000})
		if err != nil {
			if n.hosts(shard) {
				n.log.Warn("gc queue read failed", "shard_id", shard, "err", err)
			} else {
				n.log.Debug("gc queue read through a holder failed", "shard_id", shard, "err", err)
			}
			return cursor
		}
		entries, _ := v.([]meta.GCEntry) // nil: an empty queue read through a holder
		full := len(entries) >= 1000
		// Leave recent entries alone for a while so that reads which
		// fetched a record just before its last reference went away can
		// still stream its chunks. Entries of one version are deleted
		// together, so the cursor never splits a version.
		horizon := uint64(time.Now().Add(-n.cfg.GCReadGrace).UnixNano())
		for i, e := range entries {
			if e.Version > horizon {
				entries, full = entries[:i], false
				break
			}
		}
		for _, e := range entries {
			if err := n.chunks.Delete(e.ChunkID); err != nil {
				n.log.Warn("chunk delete failed", "chunk", e.ChunkID, "err", err)
				return cursor
			}
		}
		if len(entries) > 0 {
			cursor = entries[len(entries)-1].Version
		}
		if !full {
			break
		}
	}
	if n.leads(shard) && cursor > 0 {
		n.trimQueue(shard, g, cursor)
	}
	return cursor
}

// gcTrimRetry is how long the leader waits before asking the members'
// GC cursors again when one of them held the trim.
const gcTrimRetry = 10 * time.Second

// trimQueue is the leader's trim of the GC queue: up to the entries every
// member has processed (its own cursor included) and at least GCTrimAge
// old. A member that cannot be asked (down, partitioned, address unknown)
// holds the trim: its cursor is unknown, and once trimmed an entry could
// not tell it to delete its copy any more.
func (n *Node) trimQueue(shard uint64, g *shardGC, cursor uint64) {
	upTo := min(cursor, uint64(time.Now().Add(-n.cfg.GCTrimAge).UnixNano()))
	if upTo <= g.trimmed || time.Now().Before(g.trimHeld) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	upTo = n.cluster.minGCCursor(ctx, shard, upTo)
	if upTo <= g.trimmed {
		// Some member has not caught up (or cannot be asked): ask again
		// in a while rather than every round.
		g.trimHeld = time.Now().Add(gcTrimRetry)
		return
	}
	// One TrimGC removes at most 1,000 entries (what fits one
	// transaction on every replica); a round trims up to ten times that,
	// and the next round goes on.
	for range gcTrimsPerRound {
		res, err := n.svc.proposeOn(ctx, shard, &meta.TrimGC{UpTo: upTo})
		if err != nil {
			if !errors.Is(err, ErrUnavailable) {
				n.log.Warn("gc trim failed", "err", err)
			}
			return
		}
		if !res.More {
			g.trimmed = upTo
			return
		}
	}
}

// gcTrimsPerRound bounds the TrimGC commands of one GC round.
const gcTrimsPerRound = 10
