package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/forkstore/forkstore/meta"
	"github.com/forkstore/forkstore/raft"
)

// Config configures a node. Lower packages own their sub-configs.
type Config struct {
	// DataDir holds the Raft log, the metadata DB and the chunk store.
	DataDir      string
	Region       string
	RootUser     string
	RootPassword string
	// PreviousRootPassword opens access key secrets sealed before the
	// root password changed; the leader re-seals them (gateway/seal.go).
	PreviousRootPassword string

	Raft raft.Config
	Meta meta.Options
	// MetaShards is the number of metadata shards of a cluster this node
	// creates (0 or 1: one; shards.go). It is fixed at creation: a
	// restarted node takes the count from its data dir, a joining node
	// from the cluster.
	MetaShards int
	// MetaReplicas is the number of replicas of each data shard (ids
	// 2..S), placed over the members (placement.go); 0 keeps a replica of
	// every shard on every member. The directory shard is on every member
	// either way. It is a cluster setting, recorded with the shard count
	// when the cluster is created: a node started with another value is
	// refused. ClusterMetaReplicas (the command line's default) takes the
	// value of the node's cluster: the one its data dir recorded, the one
	// it learns when it joins, DefaultMetaReplicas for a new cluster.
	MetaReplicas int
	// Zone is this node's failure domain (a rack, a room, a cloud zone;
	// "" none): chunk copies are spread over zones first.
	Zone string

	// ChunkSize is the size of the chunks large bodies are cut into.
	ChunkSize int64
	// InlineMax is the largest body stored inside its metadata record
	// (DefaultInlineMax: see there why it is small).
	InlineMax int64
	// MaxObjectSize bounds a single PUT (AWS: 5 GiB).
	MaxObjectSize int64
	// OrphanGrace is how old an unreferenced chunk file must be before the
	// sweeper deletes it (an upload in progress has unreferenced chunks).
	OrphanGrace time.Duration
	// GCInterval is how often the chunk collector runs.
	GCInterval time.Duration
	// HistoryGCInterval is how often retention passes run over every
	// bucket when a history window is configured (versions age out of it).
	HistoryGCInterval time.Duration
	// GCReadGrace is how long a chunk outlives its last reference, so that
	// reads that fetched its record just before can still stream it.
	GCReadGrace time.Duration
	// GCTrimAge is how long an entry stays in the GC queue at least; the
	// leader trims it only once every member has deleted its copy, however
	// long that takes.
	GCTrimAge time.Duration

	// AdvertiseS3 is the host:port other nodes (and clients) reach this
	// node's S3 and peer API at; nodes publish it in the metadata.
	AdvertiseS3 string
	// KMS holds the master keys that seal the data keys of encrypted
	// objects (sse.go); nil refuses server-side encryption with S3 keys.
	KMS *Keyring
	// ClusterKey authenticates node-to-node traffic; required once the
	// cluster has more than one member.
	ClusterKey string
	// PeerTLS, when set, is how this node reaches other nodes' S3 ports
	// (HTTPS, when the nodes serve S3 over TLS).
	PeerTLS *tls.Config
	// Replicas is how many nodes hold each chunk (at most the number of
	// members).
	Replicas int
	// RepairInterval is how often a node looks for chunks it should hold
	// and lacks, and pulls them.
	RepairInterval time.Duration
	// ScrubInterval is how often a node re-verifies the checksums of its
	// chunk files (0: only on request).
	ScrubInterval time.Duration
	// ReplaceDownAfter is how long a member must fail to answer before
	// the data shard replicas and chunk copies it holds are placed on the
	// other members (downnodes.go; 0: never, until it is removed).
	ReplaceDownAfter time.Duration
	// MinFreeSpace is the free space of the data directory's filesystem
	// below which the node refuses new data (diskspace.go).
	MinFreeSpace MinFreeSpace

	// MaxForkBatch bounds the forks of one create-many request.
	MaxForkBatch int
	// LeaseClockOffset shifts the clock that leases of forks and keys are
	// stamped with and checked against (tests move time forward with it
	// instead of waiting hours).
	LeaseClockOffset time.Duration
	// LifecycleInterval is how often the leader applies the buckets'
	// lifecycle rules.
	LifecycleInterval time.Duration
	// LifecycleClockOffset shifts the clock lifecycle rules are applied
	// at (tests move time days forward with it instead of waiting).
	LifecycleClockOffset time.Duration
	// ForksOnSourceShard keeps every fork on its source's shard (tests
	// compare with it). By default, with more than one metadata shard, a
	// fork is placed by a hash of its own name, as a bucket with no
	// parent, and a batch spreads its forks (xfork.go).
	ForksOnSourceShard bool
	// ForkIntentTimeout is how long the creation of a fork on another
	// shard may take before recovery settles or aborts it (0: 30s).
	ForkIntentTimeout time.Duration
	// WireReads (tests) sends every linearizable metadata read through
	// the codec of a read sent to another node, even to this node's own
	// replica: a read that could not cross nodes fails. The gateway's
	// tests set it with FORKSTORE_TEST_WIRE_READS=1 (gatewaytest).
	WireReads bool
	// forkStepHook, when set (tests), runs after step 1 (pin) and step 2
	// (creation) of a fork's creation on another shard; false stops the
	// creation there, as a crash would (after step 2 the fork is made and
	// its pin's intent left unsettled).
	forkStepHook func(step int) bool
	// staleReadHook, when set (tests), replaces what a read of a replica
	// as it stands (readStale) returned, as a replica behind the leader
	// would show it.
	staleReadHook func(q meta.Q, v any, err error) (any, error)
	// ReleaseStep is how much the node's file-backed resident memory
	// grows before it releases the pages of the metadata store's mapped
	// tables (memory.go); 0 is DefaultReleaseStep, < 0 never releases.
	ReleaseStep int64
	// GoMemoryLimit is the Go heap's soft limit of a node of one shard
	// (SizeMemory's); Start sets the runtime's to it plus what a node's
	// further shard replicas keep whatever the load (goLimitForShards).
	// 0 leaves the runtime's limit alone (GOMEMLIMIT, in-process tests).
	GoMemoryLimit int64
	// mergeStepHook, when set (tests), runs before each entry of a merge
	// across shards (false stops the merge there, as a crash would).
	mergeStepHook func(entry int) bool
	// mergeEntryLimit, when > 0 (tests), cuts merges across shards into
	// entries of at most that many changes.
	mergeEntryLimit int
	// mergeStallAfter, when > 0 (tests), is how long a merge across
	// shards may stay without moving before the leader carries it on.
	mergeStallAfter time.Duration
}

// DefaultConfig returns the configuration `make run` uses.
func DefaultConfig() Config {
	return Config{
		DataDir:           "data",
		Region:            "us-east-1",
		Raft:              raft.DefaultConfig(),
		Meta:              meta.DefaultOptions(),
		ChunkSize:         4 << 20,
		InlineMax:         DefaultInlineMax,
		MaxObjectSize:     5 << 30,
		OrphanGrace:       6 * time.Hour,
		GCInterval:        2 * time.Second,
		GCReadGrace:       30 * time.Second,
		GCTrimAge:         5 * time.Minute,
		HistoryGCInterval: time.Minute,
		Replicas:          3,
		RepairInterval:    time.Minute,
		ScrubInterval:     24 * time.Hour,
		ReplaceDownAfter:  DefaultReplaceDownAfter,
		MinFreeSpace:      DefaultMinFreeSpace,
		MaxForkBatch:      1000,
		LifecycleInterval: time.Hour,
	}
}

// Validate reports the first problem with c.
func (c *Config) Validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("gateway: data dir is required")
	case c.Region == "":
		return errors.New("gateway: region is required")
	case c.RootUser == "" || c.RootPassword == "":
		return errors.New("gateway: root user and password are required")
	case len(c.RootPassword) < 8:
		return errors.New("gateway: root password must have at least 8 characters")
	case c.ChunkSize < 64<<10 || c.ChunkSize > 64<<20:
		return fmt.Errorf("gateway: chunk size %d out of range [64KiB, 64MiB]", c.ChunkSize)
	case c.InlineMax < 0 || c.InlineMax > 1<<20:
		return fmt.Errorf("gateway: inline max %d out of range [0, 1MiB]", c.InlineMax)
	case c.GCInterval <= 0 || c.GCReadGrace < 0 || c.OrphanGrace <= 0 || c.GCTrimAge < 0:
		return errors.New("gateway: gc interval and graces must be positive")
	case len(c.Zone) > 64 || strings.ContainsFunc(c.Zone, func(r rune) bool { return r < 0x21 || r > 0x7e }):
		return fmt.Errorf("gateway: zone %q: at most 64 printable ASCII characters, no spaces", c.Zone)
	case c.MetaShards < 0 || c.MetaShards > meta.MaxMetaShards:
		return fmt.Errorf("gateway: %d metadata shards out of range [1, %d]", c.MetaShards, meta.MaxMetaShards)
	case c.MetaReplicas < ClusterMetaReplicas || c.MetaReplicas > MaxMetaReplicas:
		return fmt.Errorf("gateway: %d replicas per metadata shard out of range [0, %d]", c.MetaReplicas, MaxMetaReplicas)
	case c.Meta.MaxForkDepth < 0 || c.Meta.MaxForkDepth > meta.MaxForkDepthLimit:
		return fmt.Errorf("gateway: max fork depth %d out of range [1, %d]", c.Meta.MaxForkDepth, meta.MaxForkDepthLimit)
	case c.MaxObjectSize <= 0:
		return errors.New("gateway: max object size must be positive")
	case c.Replicas < 1 || c.Replicas > 7:
		return fmt.Errorf("gateway: replicas %d out of range [1, 7]", c.Replicas)
	case c.RepairInterval <= 0 || c.ScrubInterval < 0:
		return errors.New("gateway: repair interval must be positive, scrub interval not negative")
	case c.ReplaceDownAfter < 0:
		return errors.New("gateway: the time before a down node's replicas are replaced must not be negative")
	case c.ClusterKey != "" && len(c.ClusterKey) < 16:
		return errors.New("gateway: the cluster key must have at least 16 characters")
	case c.ClusterKey == "" && (c.Raft.Join || len(c.Raft.InitialMembers) > 1):
		return ErrClusterKeyRequired
	case c.MinFreeSpace.Bytes < 0 || c.MinFreeSpace.Percent < 0 || c.MinFreeSpace.Percent >= 100:
		return fmt.Errorf("gateway: min free space %s out of range", c.MinFreeSpace)
	case c.MaxForkBatch < 1 || c.MaxForkBatch > 100000:
		return fmt.Errorf("gateway: max fork batch %d out of range [1, 100000]", c.MaxForkBatch)
	case c.LifecycleInterval <= 0:
		return errors.New("gateway: lifecycle interval must be positive")
	}
	rc := c.Raft
	rc.Key = []byte(c.ClusterKey) // as NewNode passes it
	return rc.Validate()
}
