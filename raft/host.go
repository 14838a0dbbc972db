package raft

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/client"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftpb"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// Timing of requests. A request that Dragonboat drops silently (a read on a
// node that lost its leader, a proposal forwarded to a dead leader) waits
// out its whole timeout, so each try gets a short deadline of its own and
// the loop retries until the caller's deadline.
const (
	// defaultTimeout is added to contexts that have no deadline.
	defaultTimeout = 10 * time.Second
	// First per-try timeouts; each retry doubles them up to maxTry.
	proposeTry = time.Second
	readTry    = 500 * time.Millisecond
	maxTry     = 4 * time.Second
	// Backoff between tries, doubling from minBackoff.
	minBackoff = 2 * time.Millisecond
	maxBackoff = 100 * time.Millisecond
	// slowOp is the duration past which an operation is logged at Warn.
	slowOp = time.Second
)

// Host is one Dragonboat NodeHost. It is safe for concurrent use.
type Host struct {
	cfg Config
	nh  *dragonboat.NodeHost
	log *slog.Logger

	sessions sync.Map // shard id -> *client.Session (NO-OP sessions)
	// noLeader maps a shard id to when an operation first found it
	// without a leader; cleared when a leader is known again (here or by
	// the leader listener). Operations of one request share the wait.
	noLeader  *sync.Map
	woken     sync.Map // shard id -> time.Time of its last wake (wake.go)
	running   sync.Map // shard id -> replica id, of the replicas started here
	closed    atomic.Bool
	closeOnce sync.Once
}

// NewHost starts a NodeHost in cfg.DataDir listening on cfg.RaftAddr. The
// first call in a process routes Dragonboat's logging to slog; Dragonboat's
// records go to the logger of the newest open Host.
func NewHost(cfg Config, log *slog.Logger) (*Host, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.DataDir == "" {
		return nil, errors.New("raft: data dir is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("raft: data dir: %w", err)
	}
	registerLogger(log)
	did := hostDeploymentID(cfg, log)
	factory := &transportFactory{limits: limitsOf(cfg), did: did, log: log}
	if len(cfg.Key) > 0 {
		factory.auth = newPeerAuth(cfg.Key, did, randReader)
	}
	noLeader := &sync.Map{}
	wakes := &wakeListener{}
	factory.peerGone = wakes.peerGone
	engine, logdb := engineConfig(cfg, log)
	nhc := config.NodeHostConfig{
		DeploymentID:        did,
		NodeHostDir:         cfg.DataDir,
		RTTMillisecond:      cfg.RTTMillisecond,
		RaftAddress:         cfg.RaftAddr,
		ListenAddress:       cfg.ListenAddr,
		MutualTLS:           cfg.CAFile != "",
		CAFile:              cfg.CAFile,
		CertFile:            cfg.CertFile,
		KeyFile:             cfg.KeyFile,
		MaxSendQueueSize:    cfg.MaxQueueSize,
		MaxReceiveQueueSize: cfg.MaxQueueSize,
		RaftEventListener:   leaderListener{log: log, noLeader: noLeader},
		SystemEventListener: wakes,
		Expert: config.ExpertConfig{
			Engine:           engine,
			LogDB:            logdb,
			TransportFactory: factory,
		},
	}
	nh, err := dragonboat.NewNodeHost(nhc)
	if err != nil {
		unregisterLogger(log)
		return nil, fmt.Errorf("raft: start node host: %w", err)
	}
	log.Info("raft host started", "replica_id", cfg.NodeID, "raft_addr", cfg.RaftAddr, "dir", cfg.DataDir,
		"deployment_id", did, "listening", factory.auth != nil, "step_workers", engine.ExecShards, "logdb_shards", logdb.Shards)
	h := &Host{cfg: cfg, nh: nh, log: log, noLeader: noLeader}
	wakes.host.Store(h)
	return h, nil
}

// engineConfig is the NodeHost's execution engine and Raft log store.
//
// Step workers: Dragonboat steps every shard of a worker in one loop and
// saves all their new entries and states in one write and one fsync of
// the worker's LogDB shard (shard id mod workers). With its default of 16
// workers and 16 LogDB shards, 16 metadata shards make 16 writes, 16
// fsyncs and 16 goroutine wake-ups where one would do, and 16 sets of
// LogDB memtables; on a small machine the workers only contend for the
// same cores and disk. So the workers are as many as the cores
// (StepWorkersFor) and the LogDB shards as many as the workers (a LogDB
// shard beyond the workers would never be written). The apply workers are
// as many as the step workers too: Dragonboat's 16 each wake every 200 ms
// to reload their shard lists, which was a fifth of an idle node's
// goroutine wake-ups (docs/benchmarks.md, "Idle CPU: the apply workers"),
// and more of them than cores only take turns on the same cores.
//
// Both counts are written in the data dir when it is created and
// Dragonboat refuses to open it under others: an existing data dir keeps
// its own (16 and 16 for the data dirs made before these defaults).
//
// LogDB memory: Dragonboat's default sizing can take 8 GiB; its small one
// up to 1 GiB (16 MiB memtables, 4 of them, per LogDB shard that is
// written). cfg.LogDBWriteBuffer sizes the memtables.
func engineConfig(cfg Config, log *slog.Logger) (config.EngineConfig, config.LogDBConfig) {
	e := config.GetDefaultEngineConfig()
	l := config.GetSmallMemLogDBConfig()
	if b := cfg.LogDBWriteBuffer; b > 0 {
		l.KVWriteBufferSize = b
	}
	workers := cfg.StepWorkers
	if workers == 0 {
		workers = StepWorkersFor(runtime.GOMAXPROCS(0))
	}
	e.ExecShards, l.Shards = workers, workers
	// Not recorded in the data dir: a data dir made under other counts
	// takes the cores' count.
	e.ApplyShards = workers
	if st, ok := storedStatus(cfg.DataDir); ok {
		stored, logShards := st.StepWorkerCount, st.LogdbShardCount
		if stored == 0 || logShards == 0 {
			// A flag file that does not record them (only a hash of
			// them): the data dir was made under Dragonboat's defaults.
			stored, logShards = maxStepWorkers, maxStepWorkers
		}
		if stored != workers || logShards != workers {
			log.Info("raft data dir keeps the step workers and log shards it was created with",
				"step_workers", stored, "logdb_shards", logShards, "default", workers)
		}
		e.ExecShards, l.Shards = stored, logShards
	}
	return e, l
}

// hostDeploymentID is the deployment id of the NodeHost in cfg.DataDir:
// cfg.DeploymentID if set, else the one derived from cfg.Key (Dragonboat's
// default 1 without a key). A data dir that already records another id
// keeps it (Dragonboat refuses to open it under another): data dirs made
// before ids were derived from the key, or by a node that had no key yet.
// The key still authenticates every connection (newPeerAuth).
func hostDeploymentID(cfg Config, log *slog.Logger) uint64 {
	did := cfg.DeploymentID
	if did == 0 && len(cfg.Key) > 0 {
		did = deploymentID(cfg.Key)
	}
	if did == 0 {
		did = legacyDeploymentID
	}
	if stored, ok := storedDeploymentID(cfg.DataDir); ok && stored != did {
		log.Warn("raft data dir keeps the deployment id it was created with", "deployment_id", stored, "derived", did)
		return stored
	}
	return did
}

// storedDeploymentID reads the deployment id recorded in a NodeHost
// directory's flag file.
func storedDeploymentID(dir string) (uint64, bool) {
	s, ok := storedStatus(dir)
	if !ok || s.DeploymentId == 0 {
		return 0, false
	}
	return s.DeploymentId, true
}

// storedStatus reads a NodeHost directory's flag file (dragonboat.ds: an
// 8-byte hash, then a RaftDataStatus): the settings the directory was
// created with.
func storedStatus(dir string) (*raftpb.RaftDataStatus, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "dragonboat.ds"))
	if err != nil || len(b) < 8 {
		return nil, false
	}
	var s raftpb.RaftDataStatus
	if err := s.Unmarshal(b[8:]); err != nil {
		return nil, false
	}
	return &s, true
}

// ReplicaID returns this node's replica id.
func (h *Host) ReplicaID() uint64 { return h.cfg.NodeID }

// shardConfig is the Dragonboat configuration of replica replicaID of
// shardID.
func (h *Host) shardConfig(shardID, replicaID uint64) config.Config {
	election, heartbeat := h.cfg.timing(shardID)
	return config.Config{
		ShardID:             shardID,
		ReplicaID:           replicaID,
		ElectionRTT:         election,
		HeartbeatRTT:        heartbeat,
		CheckQuorum:         true,
		PreVote:             true,
		SnapshotEntries:     h.cfg.SnapshotEntries,
		CompactionOverhead:  h.cfg.CompactionOverhead,
		OrderedConfigChange: true,
		MaxInMemLogSize:     h.cfg.MaxInMemLogSize,
		Quiesce:             h.cfg.Quiesce && shardID != h.cfg.AwakeShard,
	}
}

// StartOnDiskShard starts this node's replica of shardID with the state
// machine create builds. On a first start it bootstraps from
// cfg.InitialMembers (or a single-node shard), or joins when cfg.Join is
// set; on a restart it recovers from its own data and ignores both. It
// returns once the replica is running, usually before it has a leader (see
// WaitReady); a replica running already is left as it is.
func (h *Host) StartOnDiskShard(shardID uint64, create sm.CreateOnDiskStateMachineFunc) error {
	var members map[uint64]string
	join := false
	restart := h.nh.HasNodeInfo(shardID, h.cfg.NodeID)
	if !restart {
		members = h.cfg.members()
		join = h.cfg.Join
	}
	err := h.nh.StartOnDiskReplica(members, join, create, h.shardConfig(shardID, h.cfg.NodeID))
	if errors.Is(err, dragonboat.ErrShardAlreadyExist) {
		return nil // running already
	}
	if err != nil {
		return fmt.Errorf("raft: start shard %d replica %d: %w", shardID, h.cfg.NodeID, err)
	}
	h.running.Store(shardID, h.cfg.NodeID)
	h.log.Info("raft shard started", "shard_id", shardID, "replica_id", h.cfg.NodeID,
		"restart", restart, "join", join, "members", len(members))
	return nil
}

// StartReplica starts replica replicaID of shardID on this node with the
// state machine create builds: from its own data when it has some, else
// as a new member of the running shard when join is set (it must have
// been added first, AddReplica), else as the only member of a new shard.
// A shard running here already is left as it is (whatever its replica).
func (h *Host) StartReplica(shardID, replicaID uint64, join bool, create sm.CreateOnDiskStateMachineFunc) error {
	if replicaID == 0 {
		return errors.New("raft: replica id must be positive")
	}
	restart := h.nh.HasNodeInfo(shardID, replicaID)
	var members map[uint64]string
	if restart {
		join = false
	} else if !join {
		members = map[uint64]string{replicaID: h.cfg.RaftAddr}
	}
	err := h.nh.StartOnDiskReplica(members, join, create, h.shardConfig(shardID, replicaID))
	if errors.Is(err, dragonboat.ErrShardAlreadyExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("raft: start shard %d replica %d: %w", shardID, replicaID, err)
	}
	h.running.Store(shardID, replicaID)
	h.log.Info("raft shard started", "shard_id", shardID, "replica_id", replicaID, "restart", restart, "join", join)
	return nil
}

// StartShardAmong starts this node's replica of shardID (replica id: the
// node id) in a new cluster whose founding replicas of the shard are
// members (replica id to Raft address, this node among them), rather
// than every founding node; on a restart it recovers from its own data.
func (h *Host) StartShardAmong(shardID uint64, members map[uint64]string, create sm.CreateOnDiskStateMachineFunc) error {
	rid := h.cfg.NodeID
	if h.nh.HasNodeInfo(shardID, rid) {
		members = nil
	} else if _, ok := members[rid]; !ok {
		return fmt.Errorf("raft: shard %d: node %d is not among its founding replicas", shardID, rid)
	}
	err := h.nh.StartOnDiskReplica(members, false, create, h.shardConfig(shardID, rid))
	if errors.Is(err, dragonboat.ErrShardAlreadyExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("raft: start shard %d replica %d: %w", shardID, rid, err)
	}
	h.running.Store(shardID, rid)
	h.log.Info("raft shard started", "shard_id", shardID, "replica_id", rid, "members", len(members))
	return nil
}

// Replica returns the id of this node's replica of shardID (ok false when
// none is running here).
func (h *Host) Replica(shardID uint64) (uint64, bool) {
	v, ok := h.running.Load(shardID)
	if !ok {
		return 0, false
	}
	if _, _, _, err := h.nh.GetLeaderID(shardID); errors.Is(err, dragonboat.ErrShardNotFound) {
		return 0, false // removed from the shard: Dragonboat stopped it
	}
	return v.(uint64), true
}

// Started returns the id of the replica of shardID this node started and
// has not stopped itself (Dragonboat may have stopped it since, when the
// replica applied its own removal; Replica says whether it runs).
func (h *Host) Started(shardID uint64) (uint64, bool) {
	v, ok := h.running.Load(shardID)
	if !ok {
		return 0, false
	}
	return v.(uint64), true
}

// HasReplicaData reports whether this node keeps Raft data of replica
// replicaID of shardID (it ran here and its data was not removed).
func (h *Host) HasReplicaData(shardID, replicaID uint64) bool {
	return h.nh.HasNodeInfo(shardID, replicaID)
}

// RemoveReplicaData deletes the Raft data (log, snapshots) of this node's
// replica replicaID of shardID, which must be stopped and should have been
// removed from the shard's membership (it can never run again).
func (h *Host) RemoveReplicaData(ctx context.Context, shardID, replicaID uint64) error {
	if v, ok := h.running.Load(shardID); ok && v.(uint64) == replicaID {
		return fmt.Errorf("raft: shard %d replica %d is running", shardID, replicaID)
	}
	ctx, cancel := withDefaultDeadline(ctx)
	defer cancel()
	if err := h.nh.SyncRemoveData(ctx, shardID, replicaID); err != nil {
		return fmt.Errorf("raft: remove the data of shard %d replica %d: %w", shardID, replicaID, err)
	}
	h.log.Info("raft replica data removed", "shard_id", shardID, "replica_id", replicaID)
	return nil
}

// StopShard stops this node's replica of shardID without leaving the
// membership (the others see it as down); StartOnDiskShard starts it
// again from its own data. A replica not running is left as it is.
func (h *Host) StopShard(shardID uint64) error {
	// Not hosted any more before it stops: a request that finds the shard
	// gone then knows it went (Hosts false) and goes elsewhere.
	rid, wasRunning := h.running.LoadAndDelete(shardID)
	if err := h.nh.StopShard(shardID); errors.Is(err, dragonboat.ErrShardNotFound) {
		return nil // stopped already
	} else if err != nil {
		if wasRunning {
			h.running.Store(shardID, rid)
		}
		return fmt.Errorf("raft: stop shard %d: %w", shardID, err)
	}
	h.log.Info("raft shard stopped", "shard_id", shardID, "replica_id", rid)
	return nil
}

// Propose replicates cmd through shardID and returns the state machine's
// Result once it is applied locally. ctx should carry a deadline (10 s is
// used otherwise). Temporary failures are retried with short per-try
// deadlines; a proposal whose fate is unknown (a timeout) may have been
// applied, so commands must be idempotent. Failures wrap ErrUnavailable.
func (h *Host) Propose(ctx context.Context, shardID uint64, cmd []byte) (sm.Result, error) {
	if uint64(len(cmd)) > h.cfg.MaxEntrySize {
		return sm.Result{}, fmt.Errorf("raft: a command of %d bytes exceeds the max entry size %d", len(cmd), h.cfg.MaxEntrySize)
	}
	ctx, cancel := withDefaultDeadline(ctx)
	defer cancel()
	var res sm.Result
	err := h.retry(ctx, "propose", shardID, proposeTry, false, func(try time.Duration) error {
		leader, _ := h.LeaderID(shardID)
		rs, err := h.nh.Propose(h.session(shardID), cmd, try)
		if err != nil {
			return err
		}
		r, err := h.waitResult(ctx, rs, shardID, leader)
		if err != nil {
			return err
		}
		res = r.GetResult()
		rs.Release()
		return nil
	})
	return res, err
}

// Read runs query against shardID's state machine with linearizable
// semantics (ReadIndex), on whichever replica this node holds. Deadlines
// and retries are as for Propose. An error returned by the state machine's
// Lookup is returned unchanged.
func (h *Host) Read(ctx context.Context, shardID uint64, query any) (any, error) {
	ctx, cancel := withDefaultDeadline(ctx)
	defer cancel()
	var (
		out       any
		lookupErr error
	)
	err := h.retry(ctx, "read", shardID, readTry, false, func(try time.Duration) error {
		leader, _ := h.LeaderID(shardID)
		rs, err := h.nh.ReadIndex(shardID, try)
		if err != nil {
			return err
		}
		if _, err := h.waitResult(ctx, rs, shardID, leader); err != nil {
			return err
		}
		v, err := h.nh.ReadLocalNode(rs, query)
		rs.Release()
		if errors.Is(err, dragonboat.ErrShardClosed) || errors.Is(err, dragonboat.ErrClosed) {
			return err
		}
		out, lookupErr = v, err
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, lookupErr
}

// StaleRead runs query against the local replica without any consistency
// guarantee (it may lag the leader). Errors from Lookup pass through.
func (h *Host) StaleRead(shardID uint64, query any) (any, error) {
	v, err := h.nh.StaleRead(shardID, query)
	if err != nil {
		if isDragonboatError(err) {
			_, kind := classify(err)
			return nil, fmt.Errorf("%w: stale read on shard %d: %w", kind, shardID, err)
		}
		return nil, err
	}
	return v, nil
}

// WaitReady returns when shardID has a leader and a linearizable read
// through this replica succeeds, or when ctx ends. Without a deadline it
// waits until the host closes.
func (h *Host) WaitReady(ctx context.Context, shardID uint64) error {
	return h.retry(ctx, "wait ready", shardID, readTry, false, func(try time.Duration) error {
		rs, err := h.nh.ReadIndex(shardID, try)
		if err != nil {
			return err
		}
		if _, err := waitResult(ctx, rs); err != nil {
			return err
		}
		rs.Release()
		return nil
	})
}

// HasOtherMembers reports whether this node's replica of shardID knows of
// members other than itself (from its local Raft state).
func (h *Host) HasOtherMembers(shardID uint64) bool {
	for _, si := range h.nh.GetNodeHostInfo(dragonboat.DefaultNodeHostInfoOption).ShardInfoList {
		if si.ShardID == shardID {
			return len(si.Replicas) > 1
		}
	}
	return false
}

// Hosts reports whether a replica of shardID was started on this node
// and still runs: not stopped since, and not stopped by Dragonboat when
// the replica applied its own removal from the shard.
func (h *Host) Hosts(shardID uint64) bool {
	_, ok := h.Replica(shardID)
	return ok
}

// NodeOfReplica is the node id of a replica id. A node's replica of a
// shard has the id epoch<<32 | node id, where epoch counts the times the
// node was added to that shard again after its replica was removed (a
// removed replica id is never reused); the first replica has epoch 0, so
// its id is the node id.
func NodeOfReplica(replicaID uint64) uint64 { return replicaID & (1<<32 - 1) }

// LeaderNode returns the node id of shardID's leader as this node knows it.
func (h *Host) LeaderNode(shardID uint64) (uint64, bool) {
	id, ok := h.LeaderID(shardID)
	return NodeOfReplica(id), ok
}

// LeaderID returns the leader of shardID as this node knows it.
func (h *Host) LeaderID(shardID uint64) (uint64, bool) {
	id, _, ok, err := h.nh.GetLeaderID(shardID)
	if err != nil || !ok || id == 0 {
		return 0, false
	}
	return id, true
}

// Membership returns shardID's voting members (replica id to Raft
// address), read linearizably.
func (h *Host) Membership(ctx context.Context, shardID uint64) (map[uint64]string, error) {
	ctx, cancel := withDefaultDeadline(ctx)
	defer cancel()
	m, err := h.membership(ctx, shardID)
	if err != nil {
		return nil, err
	}
	return maps.Clone(m.Nodes), nil
}

// MembershipInfo returns shardID's voting members (replica id to Raft
// address) and the ids ever removed from it (never to be used again),
// read linearizably.
func (h *Host) MembershipInfo(ctx context.Context, shardID uint64) (map[uint64]string, []uint64, error) {
	ctx, cancel := withDefaultDeadline(ctx)
	defer cancel()
	m, err := h.membership(ctx, shardID)
	if err != nil {
		return nil, nil, err
	}
	removed := make([]uint64, 0, len(m.Removed))
	for id := range m.Removed {
		removed = append(removed, id)
	}
	slices.Sort(removed)
	return maps.Clone(m.Nodes), removed, nil
}

func (h *Host) membership(ctx context.Context, shardID uint64) (*dragonboat.Membership, error) {
	var m *dragonboat.Membership
	err := h.retry(ctx, "membership", shardID, readTry, false, func(try time.Duration) error {
		tctx, cancel := context.WithTimeout(ctx, try)
		defer cancel()
		var err error
		m, err = h.nh.SyncGetShardMembership(tctx, shardID)
		return err
	})
	return m, err
}

// AddReplica adds replicaID at addr as a voting member of shardID. It is
// idempotent: a member already present at addr is success. The new node
// then starts with Config.Join. A replica id that was ever removed cannot
// be added again.
func (h *Host) AddReplica(ctx context.Context, shardID, replicaID uint64, addr string) error {
	if replicaID == 0 {
		return errors.New("raft: replica id must be positive")
	}
	if err := checkAddr(addr); err != nil {
		return fmt.Errorf("raft: replica address: %w", err)
	}
	return h.changeMembership(ctx, "add replica", shardID, func(m *dragonboat.Membership, tctx context.Context) (bool, error) {
		if cur, ok := m.Nodes[replicaID]; ok {
			if cur == addr {
				return true, nil
			}
			return true, fmt.Errorf("raft: replica %d is already a member at %s", replicaID, cur)
		}
		if _, ok := m.Removed[replicaID]; ok {
			return true, fmt.Errorf("raft: replica id %d was removed and cannot be reused", replicaID)
		}
		return false, h.nh.SyncRequestAddReplica(tctx, shardID, replicaID, addr, m.ConfigChangeID)
	})
}

// RemoveReplica removes replicaID from shardID. Removing a non-member is
// success. The removed id must never be used again.
func (h *Host) RemoveReplica(ctx context.Context, shardID, replicaID uint64) error {
	return h.changeMembership(ctx, "remove replica", shardID, func(m *dragonboat.Membership, tctx context.Context) (bool, error) {
		_, voter := m.Nodes[replicaID]
		_, nonVoting := m.NonVotings[replicaID]
		_, witness := m.Witnesses[replicaID]
		if !voter && !nonVoting && !witness {
			return true, nil
		}
		return false, h.nh.SyncRequestDeleteReplica(tctx, shardID, replicaID, m.ConfigChangeID)
	})
}

// changeMembership reads the membership and runs change against it,
// retrying when the change was rejected because the membership moved on
// (OrderedConfigChange) or the shard was temporarily unavailable. change
// returns done=true when no request was needed.
func (h *Host) changeMembership(ctx context.Context, op string, shardID uint64,
	change func(m *dragonboat.Membership, tctx context.Context) (done bool, err error)) error {
	ctx, cancel := withDefaultDeadline(ctx)
	defer cancel()
	var final error
	err := h.retry(ctx, op, shardID, proposeTry, true, func(try time.Duration) error {
		tctx, cancel := context.WithTimeout(ctx, try)
		defer cancel()
		m, err := h.nh.SyncGetShardMembership(tctx, shardID)
		if err != nil {
			return err
		}
		done, err := change(m, tctx)
		if done {
			final = err
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	if final == nil {
		h.log.Info("raft membership changed", "op", op, "shard_id", shardID)
	}
	return final
}

// TransferLeader moves shardID's leadership to target and waits until this
// node sees target as leader. Dragonboat may ignore a transfer request, so
// it is re-issued until ctx ends.
func (h *Host) TransferLeader(ctx context.Context, shardID, target uint64) error {
	ctx, cancel := withDefaultDeadline(ctx)
	defer cancel()
	m, err := h.membership(ctx, shardID)
	if err != nil {
		return err
	}
	if _, ok := m.Nodes[target]; !ok {
		// A membership that is moving, or a caller's stale view of it: a
		// later try may find it.
		return fmt.Errorf("%w: replica %d is not a voting member of shard %d", ErrShardNotReady, target, shardID)
	}
	tick := time.Duration(h.cfg.RTTMillisecond) * time.Millisecond
	// Give each request about one election timeout to take effect.
	window := time.Duration(h.cfg.ElectionRTT) * tick
	poll := time.NewTicker(tick)
	defer poll.Stop()
	for attempt := 1; ; attempt++ {
		if id, ok := h.LeaderID(shardID); ok && id == target {
			h.log.Info("raft leadership transferred", "shard_id", shardID, "replica_id", target, "tries", attempt)
			return nil
		} else if ok {
			if err := h.nh.RequestLeaderTransfer(shardID, target); err != nil {
				if temp, kind := classify(err); !temp {
					return fmt.Errorf("%w: leader transfer on shard %d: %w", kind, shardID, err)
				}
			}
		}
		deadline := time.Now().Add(window)
		for time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return ctxError(ctx, fmt.Sprintf("leader transfer on shard %d to %d", shardID, target), nil)
			case <-poll.C:
			}
			if id, ok := h.LeaderID(shardID); ok && id == target {
				break
			}
		}
	}
}

// Close stops every shard and the NodeHost. It is idempotent.
func (h *Host) Close() {
	h.closeOnce.Do(func() {
		h.closed.Store(true)
		h.nh.Close()
		h.log.Info("raft host closed", "replica_id", h.cfg.NodeID)
		unregisterLogger(h.log)
	})
}

func (h *Host) session(shardID uint64) *client.Session {
	if s, ok := h.sessions.Load(shardID); ok {
		return s.(*client.Session)
	}
	s, _ := h.sessions.LoadOrStore(shardID, h.nh.GetNoOPSession(shardID))
	return s.(*client.Session)
}

// retry runs fn until it succeeds, fails permanently, or ctx ends. Each try
// gets a timeout starting at firstTry and doubling up to maxTry, bounded by
// the time left. Before each try it waits for the shard to know a leader,
// since requests on a leaderless replica are dropped without an answer.
// With rejectedIsTemp, dragonboat.ErrRejected (a stale config change id) is
// retried too.
func (h *Host) retry(ctx context.Context, op string, shardID uint64, firstTry time.Duration,
	rejectedIsTemp bool, fn func(try time.Duration) error) error {
	start := time.Now()
	minTry := 2 * time.Duration(h.cfg.RTTMillisecond) * time.Millisecond
	try := firstTry
	backoff := minBackoff
	var last error
	for attempt := 1; ; attempt++ {
		if h.closed.Load() {
			return fmt.Errorf("%w: %s on shard %d: host closed", ErrClosed, op, shardID)
		}
		limit := h.leaderWait(shardID)
		if op == "wait ready" {
			limit = time.Duration(math.MaxInt64) // until ctx ends or a leader is known
		}
		if err := h.waitLeader(ctx, shardID, limit); err != nil {
			if errors.Is(err, dragonboat.ErrShardNotFound) {
				return fmt.Errorf("%w: %s: shard %d is not started on this node", ErrShardNotReady, op, shardID)
			}
			if errors.Is(err, dragonboat.ErrClosed) {
				return fmt.Errorf("%w: %s on shard %d: host closed", ErrClosed, op, shardID)
			}
			if errors.Is(err, errNoLeaderYet) {
				return fmt.Errorf("%w: %s on shard %d: no leader known for %v", ErrNoQuorum, op, shardID, h.leaderWait(shardID))
			}
			if last == nil {
				last = fmt.Errorf("%w: no leader", ErrShardNotReady)
			}
			return ctxError(ctx, fmt.Sprintf("%s on shard %d after %d tries", op, shardID, attempt-1), last)
		}
		t := try
		if d, ok := ctx.Deadline(); ok {
			t = min(t, time.Until(d))
		}
		if t < minTry {
			return ctxError(ctx, fmt.Sprintf("%s on shard %d after %d tries", op, shardID, attempt-1), last)
		}
		err := fn(t)
		if err == nil {
			if d := time.Since(start); op != "wait ready" && (d > slowOp || attempt > 1) {
				h.log.Warn("slow raft operation", "op", op, "shard_id", shardID, "tries", attempt, "dur_ms", d.Milliseconds())
			}
			return nil
		}
		temp, kind := classify(err)
		if rejectedIsTemp && errors.Is(err, dragonboat.ErrRejected) {
			temp, kind = true, ErrShardNotReady
		}
		if errors.Is(kind, ErrClosed) && h.closed.Load() {
			temp = false
		}
		if !temp || ctx.Err() != nil {
			if errors.Is(kind, ErrUnavailable) {
				return fmt.Errorf("%w: %s on shard %d after %d tries: %w", kind, op, shardID, attempt, err)
			}
			return kind
		}
		last = fmt.Errorf("%w: %w", kind, err)
		if attempt == 3 {
			h.log.Warn("raft operation retrying", "op", op, "shard_id", shardID, "tries", attempt, "err", err)
		}
		if errors.Is(err, dragonboat.ErrTimeout) {
			try = min(2*try, maxTry)
		}
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
		case <-timer.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// leaderWait is how long an operation waits for a leader before it fails
// with ErrNoQuorum: long enough for an election (a few hundred
// milliseconds, a split vote included), short enough that a shard that
// lost its quorum answers clients (who retry) well within a second
// instead of holding them for seconds.
func (h *Host) leaderWait(shardID uint64) time.Duration {
	return max(300*time.Millisecond, min(800*time.Millisecond, 2*h.electionTimeout(shardID)))
}

// errNoLeaderYet: the shard has had no leader for the whole limit.
var errNoLeaderYet = errors.New("raft: no leader known")

// waitLeader polls until this replica knows a leader of shardID, ctx ends,
// or the shard has been without a leader for limit (counted from when an
// operation first found it so, so the operations of one request do not
// each wait again).
func (h *Host) waitLeader(ctx context.Context, shardID uint64, limit time.Duration) error {
	var poll *time.Ticker
	for {
		_, _, ok, err := h.nh.GetLeaderID(shardID)
		if err != nil {
			return err
		}
		if ok {
			h.noLeader.Delete(shardID)
			return nil
		}
		since, _ := h.noLeader.LoadOrStore(shardID, time.Now())
		if time.Since(since.(time.Time)) >= limit {
			return errNoLeaderYet
		}
		if poll == nil {
			poll = time.NewTicker(time.Duration(h.cfg.RTTMillisecond) * time.Millisecond)
			defer poll.Stop()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-poll.C:
		}
		if h.closed.Load() {
			return dragonboat.ErrClosed
		}
	}
}

// waitResult waits for a request's outcome and turns a failed one into the
// Dragonboat error SyncPropose/SyncRead would return. A request made while
// leader led is given up (as a timeout, which the caller retries at once)
// when another leader is elected: a proposal or read forwarded to a leader
// that died would otherwise wait out its whole try.
func (h *Host) waitResult(ctx context.Context, rs *dragonboat.RequestState, shardID, leader uint64) (dragonboat.RequestResult, error) {
	if leader == 0 {
		return waitResult(ctx, rs)
	}
	watch := time.NewTicker(max(time.Duration(h.cfg.RTTMillisecond)*time.Millisecond, time.Millisecond) * 4)
	defer watch.Stop()
	wakeAt := time.Now().Add(h.electionTimeout(shardID))
	for {
		select {
		case r := <-rs.AppliedC():
			return resultError(r)
		case <-ctx.Done():
			return waitResult(ctx, rs)
		case <-watch.C:
			// Another leader, or none (the replica lost its quorum):
			// the request will not complete, try again (or fail fast).
			if now, _ := h.LeaderID(shardID); now != leader {
				return dragonboat.RequestResult{}, dragonboat.ErrTimeout
			}
			if h.cfg.Quiesce && !wakeAt.IsZero() && time.Now().After(wakeAt) {
				// No answer within an election timeout: the replica may
				// be quiesced under a leader that is gone (wake.go).
				wakeAt = time.Time{}
				h.wake(shardID)
			}
		}
	}
}

// waitResult waits for a request's outcome and turns a failed one into the
// Dragonboat error SyncPropose/SyncRead would return.
func waitResult(ctx context.Context, rs *dragonboat.RequestState) (dragonboat.RequestResult, error) {
	select {
	case r := <-rs.AppliedC():
		return resultError(r)
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.Canceled) {
			return dragonboat.RequestResult{}, dragonboat.ErrCanceled
		}
		return dragonboat.RequestResult{}, dragonboat.ErrTimeout
	}
}

// resultError turns a request's outcome into its Dragonboat error.
func resultError(r dragonboat.RequestResult) (dragonboat.RequestResult, error) {
	switch {
	case r.Completed():
		return r, nil
	case r.Rejected():
		return r, dragonboat.ErrRejected
	case r.Timeout():
		return r, dragonboat.ErrTimeout
	case r.Terminated():
		return r, dragonboat.ErrShardClosed
	case r.Dropped():
		return r, dragonboat.ErrShardNotReady
	case r.Aborted():
		return r, dragonboat.ErrAborted
	}
	return r, fmt.Errorf("raft: unknown request result %v", r)
}

// classify says whether a Dragonboat error is worth retrying and which of
// this package's errors it maps to. Errors it does not know come back
// unchanged and are final.
func classify(err error) (temp bool, kind error) {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, dragonboat.ErrCanceled):
		return false, ErrCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, dragonboat.ErrInvalidDeadline),
		errors.Is(err, dragonboat.ErrTimeoutTooSmall), errors.Is(err, dragonboat.ErrDeadlineNotSet):
		return false, ErrTimeout
	case errors.Is(err, dragonboat.ErrTimeout):
		return true, ErrTimeout
	case errors.Is(err, dragonboat.ErrSystemBusy):
		return true, ErrSystemBusy
	case errors.Is(err, dragonboat.ErrShardNotReady), errors.Is(err, dragonboat.ErrShardNotInitialized),
		errors.Is(err, dragonboat.ErrAborted):
		return true, ErrShardNotReady
	case errors.Is(err, dragonboat.ErrShardNotFound):
		return false, ErrShardNotReady
	case errors.Is(err, dragonboat.ErrShardClosed):
		return true, ErrClosed
	case errors.Is(err, dragonboat.ErrClosed):
		return false, ErrClosed
	}
	return false, err
}

// isDragonboatError reports whether err is one of the request errors
// classify maps (as opposed to an error from the state machine).
func isDragonboatError(err error) bool {
	_, kind := classify(err)
	return errors.Is(kind, ErrUnavailable)
}

// ctxError is the error for an operation cut short by ctx (or out of
// time), keeping the last failure seen.
func ctxError(ctx context.Context, what string, last error) error {
	kind := ErrTimeout
	if errors.Is(ctx.Err(), context.Canceled) {
		kind = ErrCanceled
	}
	if last != nil {
		return fmt.Errorf("%w: %s: %w", kind, what, last)
	}
	return fmt.Errorf("%w: %s", kind, what)
}

func withDefaultDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, defaultTimeout)
}
