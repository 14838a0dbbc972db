package raft

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// Config configures a Host and the shards it starts.
type Config struct {
	// NodeID is this node's replica id in every shard it hosts. Never reuse
	// the id of a removed or wiped replica: Dragonboat panics on it.
	NodeID uint64
	// RaftAddr is the host:port other replicas reach this node's Raft
	// transport at.
	RaftAddr string
	// ListenAddr is the address the transport binds ("" means RaftAddr),
	// for nodes behind NAT or listening on all interfaces.
	ListenAddr string
	// DataDir is the NodeHost directory (LogDB, node id, snapshots). Callers
	// that embed this Config may leave it empty until NewHost.
	DataDir string
	// InitialMembers maps replica id to Raft address for a shard's first
	// start. Empty (and Join false) means a single-node shard of this node.
	// Ignored when the node restarts with existing data.
	InitialMembers map[uint64]string
	// Join starts this node as a new member of an existing shard; it must
	// have been added first (Host.AddReplica on a current member).
	Join bool
	// DeploymentID isolates clusters: NodeHosts with different ids ignore
	// each other's messages. 0 derives it from Key (see deploymentID).
	DeploymentID uint64
	// Key authenticates the nodes to each other on the Raft transport
	// (transport.go): only a peer holding the same key gets a message
	// through. It is opaque to this package (the cluster key). Without a
	// key the host is alone: it does not listen on RaftAddr at all, and a
	// shard of several members cannot be started.
	Key []byte
	// MaxEntrySize bounds a proposed command in bytes; with it, the largest
	// frame a peer may send is known (frameLimits) and bigger ones are
	// refused before anything is allocated.
	MaxEntrySize uint64

	// RTTMillisecond is the nominal round trip between nodes, Dragonboat's
	// logical clock tick. ElectionRTT and HeartbeatRTT are in ticks.
	RTTMillisecond uint64
	ElectionRTT    uint64
	HeartbeatRTT   uint64

	// SnapshotEntries is how many applied entries trigger a periodic
	// snapshot (metadata-only for an on-disk state machine) and log
	// compaction; CompactionOverhead entries are kept behind it so slow
	// followers can catch up from the log.
	SnapshotEntries    uint64
	CompactionOverhead uint64
	// StepWorkers is how many workers step the shards' Raft state and save
	// their logs (Dragonboat's ExecShards), and how many stores the Raft
	// log is split over (its LogDB shards): the shards of one worker have
	// their entries saved in one write and one fsync per round, and every
	// tick wakes each worker once. 0 means one per core (GOMAXPROCS), 2 at
	// least and 16 at most (StepWorkersFor). Dragonboat fixes both counts
	// when the data dir is created: a data dir keeps the counts it was
	// made with, whatever this says.
	StepWorkers uint64
	// Quiesce lets a shard with no traffic stop ticking its election and
	// heartbeat clocks after ten election timeouts without a request or a
	// message: an idle shard then costs no messages; the first request or
	// message on any replica wakes it.
	Quiesce bool
	// AwakeShard is a shard that never quiesces (0: none). A quiesced
	// shard sends nothing, so nothing tells its followers that its leader
	// died; the awake shard's heartbeats reach every node all the time,
	// and when this node fails to reach a node, it wakes its replicas of
	// the shards led from there, which then elect a leader among the
	// living (wake.go).
	AwakeShard uint64
	// SparseAwake gives the awake shard a sparser heartbeat and a longer
	// election than the others' (awakeTiming): its heartbeats are what an
	// idle node sends. For a cluster where it is not the only shard (with
	// one shard, its election is the cluster's failover).
	SparseAwake bool

	// MaxInMemLogSize bounds the in-memory Raft log per shard in bytes;
	// beyond it proposals fail with ErrSystemBusy until followers catch up.
	MaxInMemLogSize uint64
	// MaxQueueSize bounds each of the transport's send and receive queues
	// in bytes (0: unbounded).
	MaxQueueSize uint64
	// LogDBWriteBuffer is the size of one memtable of the Raft log's
	// Pebble store (0: Dragonboat's small-memory default, 16 MiB, up to 4
	// of them). It bounds memory only: the log is fsynced all the same.
	LogDBWriteBuffer uint64

	// CAFile, CertFile and KeyFile, all set, turn on mutual TLS for the Raft
	// transport.
	CAFile   string
	CertFile string
	KeyFile  string
}

// DefaultConfig returns a single-node configuration on loopback, with
// timings for a LAN: 40 ms ticks, election after 200 ms (5 ticks),
// heartbeat every 40 ms (every tick), a fifth of the election. Every tick
// wakes the node and steps every shard, quiesced or not, so the tick is
// most of what an idle node costs: the tick is as long as the heartbeat,
// the longest that keeps the election. Reads and proposals never wait for
// one (Dragonboat steps a shard as soon as a request arrives).
func DefaultConfig() Config {
	return Config{
		NodeID:             1,
		RaftAddr:           "127.0.0.1:7100",
		RTTMillisecond:     40,
		ElectionRTT:        5,
		HeartbeatRTT:       1,
		SnapshotEntries:    10000,
		CompactionOverhead: 5000,
		MaxInMemLogSize:    32 << 20,
		MaxQueueSize:       128 << 20,
		MaxEntrySize:       64 << 20,
		Quiesce:            true,
	}
}

// awakeTiming is the election and heartbeat of the awake shard, in ticks:
// the others' election, and a heartbeat twice as sparse, at most a fifth
// of the election: under the defaults the others' 200 ms and 40 ms, since
// their heartbeat is already a fifth (with a 20 ms tick and a 10-tick
// election, 200 ms and 40 ms against 200 ms and 20 ms). The awake shard's
// heartbeats are the whole Raft traffic of an idle cluster (every other
// shard quiesces): at the others' pace they were a large part of an idle
// node's CPU. Its election stays the others':
// when a node that led it dies, its followers elect within the same time
// as the dead node's other shards (a longer one left the cluster without
// a directory after the data shards had new leaders). Dragonboat warns
// under a tenth of the election per heartbeat and refuses half.
func (c Config) awakeTiming() (election, heartbeat uint64) {
	election = c.ElectionRTT
	heartbeat = max(c.HeartbeatRTT, min(c.HeartbeatRTT*2, election/5))
	return election, heartbeat
}

// timing is the election and heartbeat of shardID, in ticks.
func (c Config) timing(shardID uint64) (election, heartbeat uint64) {
	if c.SparseAwake && c.AwakeShard != 0 && shardID == c.AwakeShard {
		return c.awakeTiming()
	}
	return c.ElectionRTT, c.HeartbeatRTT
}

// maxStepWorkers is Dragonboat's default step worker and LogDB shard count.
const maxStepWorkers = 16

// StepWorkersFor is the step worker count StepWorkers 0 means on a
// machine of procs cores: one per core, so that stepping and saving can use
// every core, and no more, so that the shards of each worker share a log
// write and its fsync; 2 at least, so that one worker's fsync does not
// stall every shard.
func StepWorkersFor(procs int) uint64 {
	return uint64(min(max(procs, 2), maxStepWorkers))
}

// Validate reports the first problem with c. It does not require DataDir
// (NewHost does), so that a parent config can validate before filling it.
func (c Config) Validate() error {
	if c.NodeID == 0 {
		return errors.New("raft: node id must be positive")
	}
	if err := checkAddr(c.RaftAddr); err != nil {
		return fmt.Errorf("raft: raft address: %w", err)
	}
	if c.ListenAddr != "" {
		if err := checkAddr(c.ListenAddr); err != nil {
			return fmt.Errorf("raft: listen address: %w", err)
		}
	}
	if c.Join && len(c.InitialMembers) > 0 {
		return errors.New("raft: a joining node takes no initial members")
	}
	if len(c.InitialMembers) > 0 {
		addr, ok := c.InitialMembers[c.NodeID]
		if !ok {
			return fmt.Errorf("raft: initial members do not include node %d", c.NodeID)
		}
		if addr != c.RaftAddr {
			return fmt.Errorf("raft: initial members give node %d address %q, raft address is %q", c.NodeID, addr, c.RaftAddr)
		}
		for id, a := range c.InitialMembers {
			if id == 0 {
				return errors.New("raft: initial member with id 0")
			}
			if err := checkAddr(a); err != nil {
				return fmt.Errorf("raft: initial member %d: %w", id, err)
			}
		}
	}
	if len(c.Key) == 0 && (c.Join || len(c.InitialMembers) > 1) {
		return errors.New("raft: a shard of several members needs a key")
	}
	if c.MaxEntrySize < 1<<20 || c.MaxEntrySize > 1<<30 {
		return fmt.Errorf("raft: max entry size %d out of range [1 MiB, 1 GiB]", c.MaxEntrySize)
	}
	if c.RTTMillisecond == 0 {
		return errors.New("raft: rtt must be positive")
	}
	if c.HeartbeatRTT == 0 || c.ElectionRTT <= 2*c.HeartbeatRTT {
		return fmt.Errorf("raft: election rtt %d must exceed twice heartbeat rtt %d (> 0)", c.ElectionRTT, c.HeartbeatRTT)
	}
	if c.SnapshotEntries > 0 && c.CompactionOverhead > c.SnapshotEntries {
		return fmt.Errorf("raft: compaction overhead %d exceeds snapshot interval %d", c.CompactionOverhead, c.SnapshotEntries)
	}
	if c.StepWorkers > maxStepWorkers {
		return fmt.Errorf("raft: %d step workers, at most %d", c.StepWorkers, maxStepWorkers)
	}
	if c.MaxInMemLogSize != 0 && c.MaxInMemLogSize < 1<<20 {
		return fmt.Errorf("raft: max in-memory log size %d below 1 MiB", c.MaxInMemLogSize)
	}
	tls := 0
	for _, f := range []string{c.CAFile, c.CertFile, c.KeyFile} {
		if f != "" {
			tls++
		}
	}
	if tls != 0 && tls != 3 {
		return errors.New("raft: mutual TLS needs a CA, a certificate and a key")
	}
	return nil
}

func checkAddr(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("%q has no host", a)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return fmt.Errorf("%q has no valid port", a)
	}
	return nil
}

// members returns the initial member map for a first start.
func (c Config) members() map[uint64]string {
	if c.Join {
		return nil
	}
	if len(c.InitialMembers) == 0 {
		return map[uint64]string{c.NodeID: c.RaftAddr}
	}
	return c.InitialMembers
}
