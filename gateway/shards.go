package gateway

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// Metadata shards. The metadata of a cluster is split over S Raft shards
// (--meta-shards, fixed when the cluster is created), with ids 1..S. Shard
// 1 (meta.DirectoryShard) also holds the directory (meta/directory.go):
// which shard each bucket name lives on, the users, the node records and
// the shard count. A bucket lives on one shard with its whole family: its
// forks, snapshots, snapshot views and the scoped keys naming it. Every
// node holds a replica of every shard (or, with --meta-replicas R, R
// nodes hold each data shard: placement.go); each shard has its own leader, so
// writes to buckets on different shards are ordered, replicated and
// applied independently.
//
// With S = 1 (the default) everything lives on shard 1 and no directory
// entry is written: the layout of every cluster made before shards.

// metaShardsFile records, in the data dir, how many metadata shards the
// node's cluster has (written once known).
const metaShardsFile = "meta-shards"

// shardSet is the node's list of metadata shards.
type shardSet struct {
	mu  sync.RWMutex
	ids []uint64 // 1..S once started
	// names caches the shard of bucket names (S > 1 only): a live
	// bucket's claim never moves, so an entry is only wrong once its
	// bucket is gone, which the shard then says (ErrNoSuchBucket).
	names nameCache
}

// maxCachedNames bounds the name cache; past it, the cache starts over.
const maxCachedNames = 100000

// nameCache maps bucket names to their shards.
type nameCache struct {
	mu sync.RWMutex
	m  map[string]uint64
}

func (c *nameCache) load(name string) (uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[name]
	return v, ok
}

func (c *nameCache) store(name string, shard uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedNames {
		c.m = map[string]uint64{}
	}
	c.m[name] = shard
}

func (c *nameCache) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, name)
}

func (s *shardSet) list() []uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ids
}

func (s *shardSet) count() int { return len(s.list()) }

func (s *shardSet) set(count int) {
	ids := make([]uint64, count)
	for i := range ids {
		ids[i] = uint64(i) + 1
	}
	s.mu.Lock()
	s.ids = ids
	s.mu.Unlock()
}

// errShardsUnknown: a node that joined has not learnt the shard count yet.
var errShardsUnknown = fmt.Errorf("%w: this node has not learnt the metadata shards of its cluster yet", ErrUnavailable)

// readMetaShards returns the count recorded in the data dir (0: none).
func readMetaShards(dataDir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, metaShardsFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 1 || n > meta.MaxMetaShards {
		return 0, fmt.Errorf("gateway: %s: bad shard count %q", metaShardsFile, b)
	}
	return n, nil
}

func writeMetaShards(dataDir string, n int) error {
	p := filepath.Join(dataDir, metaShardsFile)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(n)+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		return err
	}
	d, err := os.Open(dataDir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// metaShardsKnown is the shard count a starting node knows before its
// directory replica runs: its data dir's, else --meta-shards (0: neither).
func metaShardsKnown(cfg Config) int {
	if n, err := readMetaShards(cfg.DataDir); err == nil && n > 0 {
		return n
	}
	return cfg.MetaShards
}

// shardCountAtStart decides how many shards a starting node runs: what its
// data dir recorded, else the configured count when it creates a cluster;
// 0 for a node joining with an empty data dir (it learns the count from
// the directory once it has caught up, adoptShards).
func shardCountAtStart(cfg Config) (int, error) {
	recorded, err := readMetaShards(cfg.DataDir)
	if err != nil {
		return 0, err
	}
	want := max(cfg.MetaShards, 1)
	switch {
	case recorded != 0:
		if cfg.MetaShards > 0 && cfg.MetaShards != recorded {
			return 0, fmt.Errorf("gateway: this data dir belongs to a cluster of %d metadata shards, not %d (--meta-shards is fixed when the cluster is created)", recorded, cfg.MetaShards)
		}
		return recorded, nil
	case cfg.Raft.Join:
		return 0, nil
	}
	return want, writeMetaShards(cfg.DataDir, want)
}

// metaReplicasFile records, in the data dir, the replicas per data shard
// of the node's cluster (written with metaShardsFile; absent: 0).
const metaReplicasFile = "meta-replicas"

// replicasAtStart decides the replicas per data shard a starting node
// places with: what its data dir recorded, else the configured value (a
// joining node checks it against its cluster's once it has caught up).
// A data dir of another value refuses to start.
func replicasAtStart(cfg Config) (int, error) {
	given := cfg.MetaReplicas != ClusterMetaReplicas
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, metaReplicasFile))
	if errors.Is(err, os.ErrNotExist) {
		shards, err := readMetaShards(cfg.DataDir)
		if err != nil {
			return 0, err
		}
		if shards != 0 && !cfg.Raft.Join {
			// A data dir made before placement: R = 0.
			if given && cfg.MetaReplicas != 0 {
				return 0, fmt.Errorf("gateway: this data dir belongs to a cluster whose every member holds every metadata shard, not %d replicas of each (--meta-replicas is fixed when the cluster is created)", cfg.MetaReplicas)
			}
			return 0, nil
		}
		r := cfg.MetaReplicas
		if !given {
			// A new cluster takes the default; a joining node learns
			// its cluster's (adoptShards) and places nothing until then.
			r = DefaultMetaReplicas
			if cfg.Raft.Join {
				r = 0
			}
		}
		if shards != 0 || !cfg.Raft.Join {
			return r, writeMetaReplicas(cfg.DataDir, r)
		}
		return r, nil
	}
	if err != nil {
		return 0, err
	}
	r, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || r < 0 || r > MaxMetaReplicas {
		return 0, fmt.Errorf("gateway: %s: bad replica count %q", metaReplicasFile, b)
	}
	if given && r != cfg.MetaReplicas {
		return 0, fmt.Errorf("gateway: this data dir belongs to a cluster of %d replicas per metadata shard, not %d (--meta-replicas is fixed when the cluster is created)", r, cfg.MetaReplicas)
	}
	return r, nil
}

func writeMetaReplicas(dataDir string, r int) error {
	p := filepath.Join(dataDir, metaReplicasFile)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(r)+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// startOnDisk starts the data shard replicas kept in this node's data dir
// (placed shards, on a restart); the placement record says which others
// to start (followPlacement).
func (n *Node) startOnDisk(count int) error {
	for shard, rid := range n.onDiskReplicas() {
		if shard > uint64(count) {
			continue
		}
		if err := n.startReplica(shard, rid, false); err != nil {
			return err
		}
	}
	n.shards.set(count)
	return nil
}

// startPlaced starts, in a new cluster of more founding nodes than R
// (replicas), this node's replicas of the data shards placed on it:
// each data shard's founding replicas are its desired ones over the
// founding nodes (desiredPlacement; zones are not known yet, so a later
// placement pass may move a replica for them). The shards' leaders then
// record the placement from their memberships (placement.go).
func (n *Node) startPlaced(count, replicas int) error {
	founders := n.cfg.Raft.InitialMembers
	nodes := make([]placeNode, 0, len(founders))
	for id := range founders {
		nodes = append(nodes, placeNode{ID: id})
	}
	self := n.cfg.Raft.NodeID
	placed := desiredPlacement(count, nodes, replicas)
	for id := uint64(2); id <= uint64(count); id++ {
		want := placed[id]
		if !slices.Contains(want, self) {
			continue
		}
		members := make(map[uint64]string, len(want))
		for _, m := range want {
			members[m] = founders[m]
		}
		if err := n.startShardAmong(id, members); err != nil {
			return err
		}
	}
	n.shards.set(count)
	return nil
}

// startShards starts this node's replicas of shards 2..count.
func (n *Node) startShards(count int) error {
	for id := uint64(2); id <= uint64(count); id++ {
		if err := n.startShard(id); err != nil {
			return err
		}
	}
	n.shards.set(count)
	return nil
}

// adoptShards runs on a node that joined with an empty data dir: once a
// linearizable read of the directory answers, it knows the cluster's shard
// count and starts its other replicas (the node that added it added them
// to every shard first, clusteradmin.go).
func (n *Node) adoptShards() {
	defer n.wg.Done()
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 2*time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		v, err := n.svc.read(ctx, meta.MetaShardsQuery{})
		var replicas int
		if err == nil {
			var st meta.PlacementState
			st, err = readAs[meta.PlacementState](ctx, n.svc, meta.PlacementQuery{})
			replicas = st.Replicas
		}
		cancel()
		if err == nil {
			count, _ := v.(int)
			count = max(count, 1)
			if n.cfg.MetaReplicas == ClusterMetaReplicas {
				n.place.r.Store(int64(replicas)) // the cluster's
			}
			if count > 1 && replicas != n.place.replicas() {
				n.log.Error("this node's --meta-replicas is not its cluster's: restart it with the cluster's value",
					"meta_replicas", n.place.replicas(), "cluster", replicas)
				return
			}
			if err = writeMetaReplicas(n.cfg.DataDir, replicas); err == nil {
				err = writeMetaShards(n.cfg.DataDir, count)
			}
			if err == nil {
				n.setGoLimit(count)
			}
			if err == nil && replicas > 0 && count > 1 {
				// Placed shards: the placement record says which
				// replicas this node holds (followPlacement).
				n.shards.set(count)
				n.log.Info("metadata shards known; replicas follow the placement", "shards", count, "meta_replicas", replicas)
				n.cluster.kickFollow()
				return
			}
			if err == nil {
				if err = n.startShards(count); err == nil {
					n.log.Info("metadata shards started", "shards", count)
					return
				}
			}
			n.log.Error("cannot start the metadata shards", "err", err)
			return
		}
		select {
		case <-n.stop:
			return
		case <-time.After(backoff):
		}
	}
}

// recordShards records the shard count in the directory (once; the
// command is idempotent and refuses another count).
func (n *Node) recordShards(ctx context.Context) error {
	count := n.shards.count()
	if count == 0 {
		return fmt.Errorf("%w: metadata shards not started yet", ErrUnavailable)
	}
	_, err := n.svc.propose(ctx, &meta.InitShards{Count: count, Replicas: n.place.replicas()})
	return err
}

// placeBucket returns the shard a new bucket with no parent goes to: a hash
// of its name over the shards, so that buckets spread evenly.
func placeBucket(name string, count int) uint64 {
	if count <= 1 {
		return meta.DirectoryShard
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()%uint64(count) + 1
}

// shardOf returns the shard a bucket lives on; cached says the answer came
// from the node's cache (it may be stale once the bucket is gone). A name
// no shard holds is ErrNoSuchBucket.
func (s *Service) shardOf(ctx context.Context, bucket string, fresh bool) (shard uint64, cached bool, err error) {
	set := &s.node.shards
	switch set.count() {
	case 0:
		return 0, false, errShardsUnknown
	case 1:
		return meta.DirectoryShard, false, nil
	}
	if !fresh {
		if v, ok := set.names.load(bucket); ok {
			return v, true, nil
		}
	}
	f, err := readAs[meta.NameShardResult](ctx, s, meta.NameShardQuery{Name: bucket})
	if err != nil {
		return 0, false, err
	}
	if !f.OK {
		return 0, false, fmt.Errorf("%w: %q", meta.ErrNoSuchBucket, bucket)
	}
	set.names.store(bucket, f.Shard)
	return f.Shard, false, nil
}

// onBucket runs op on the shard of bucket. When the shard came from the
// cache and says the bucket does not exist, the name is looked up again
// (the bucket may have been deleted and made again on another shard) and
// op runs once more there. op must change nothing when it fails with
// ErrNoSuchBucket.
func (s *Service) onBucket(ctx context.Context, bucket string, op func(shard uint64) error) error {
	shard, cached, err := s.shardOf(ctx, bucket, false)
	if err != nil {
		return err
	}
	err = op(shard)
	if !cached || !errors.Is(err, meta.ErrNoSuchBucket) {
		return err
	}
	s.node.shards.names.forget(bucket)
	again, _, err2 := s.shardOf(ctx, bucket, true)
	if err2 != nil {
		return err2
	}
	if again == shard {
		return err
	}
	return op(again)
}

// proposeB proposes cmd to the shard of bucket.
func (s *Service) proposeB(ctx context.Context, bucket string, cmd any) (*meta.Result, error) {
	var res *meta.Result
	err := s.onBucket(ctx, bucket, func(shard uint64) error {
		var err error
		res, err = s.proposeOn(ctx, shard, cmd)
		return err
	})
	return res, err
}

// readB runs a linearizable query on the shard of bucket.
func (s *Service) readB(ctx context.Context, bucket string, q meta.Q) (any, error) {
	var v any
	err := s.onBucket(ctx, bucket, func(shard uint64) error {
		var err error
		v, err = s.readOn(ctx, shard, q)
		return err
	})
	return v, err
}

// readStale runs q on a replica of bucket's shard as it stands, without a
// leader round: this node's when it holds the shard, else a holder's
// (forwardReadStale). Its answer may be that of some applies ago, so its
// callers only take from it what a command's apply checks again, and fall
// back to readB on any error.
func (s *Service) readStale(ctx context.Context, bucket string, q meta.Q) (any, error) {
	shard, _, err := s.shardOf(ctx, bucket, false)
	if err != nil {
		return nil, err
	}
	v, err := s.node.readHereOrIn(ctx, shard, q, s.forwardReadStale)
	if h := s.node.cfg.staleReadHook; h != nil {
		v, err = h(q, v, err)
	}
	return v, err
}

// readAsB is readB for a query returning a T.
func readAsB[T any](ctx context.Context, s *Service, bucket string, q meta.Q) (T, error) {
	return typed[T](s.readB(ctx, bucket, q))
}

// readEach runs a linearizable query on every shard (in shard order).
func readEach[T any](ctx context.Context, s *Service, q meta.Q) ([]T, error) {
	ids := s.node.shards.list()
	out := make([]T, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = typed[T](s.readOn(ctx, id, q))
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// createNamed creates buckets named names on shard (their family's, or
// placeBucket's for a new root): it claims the names in the directory,
// runs create on the shard, then settles the claims with what create made
// (ids maps a created name to its bucket id). With one shard it only runs
// create.
func (s *Service) createNamed(ctx context.Context, shard uint64, names []string, create func(shard uint64) (*meta.Result, error),
	ids func(*meta.Result) map[string]uint64) (*meta.Result, error) {
	switch s.node.shards.count() {
	case 0:
		return nil, errShardsUnknown
	case 1:
		return create(meta.DirectoryShard)
	}
	if _, err := s.propose(ctx, &meta.ClaimNames{Shard: shard, Names: names}); err != nil {
		if errors.Is(err, meta.ErrNameElsewhere) {
			return nil, s.nameElsewhere(ctx, names)
		}
		return nil, err
	}
	res, err := create(shard)
	var made map[string]uint64
	if err == nil {
		made = ids(res)
	}
	settle := &meta.SettleNames{Shard: shard}
	for _, name := range names {
		settle.Items = append(settle.Items, meta.SettledName{Name: name, ID: made[name]})
		if made[name] != 0 {
			s.node.shards.names.store(name, shard)
		}
	}
	// The outcome is settled even when the request's context ended: a
	// claim left pending keeps its name on this shard (harmless, but
	// sticky).
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, serr := s.propose(sctx, settle); serr != nil {
		s.node.log.Warn("settling bucket name claims failed; the names stay on their shard", "shard", shard, "names", len(names), "err", serr)
	}
	return res, err
}

// nameElsewhere explains a claim refused because a name lives on another
// shard than its family's: the bucket exists there, or a creation or a
// deletion of it is under way.
func (s *Service) nameElsewhere(ctx context.Context, names []string) error {
	for _, name := range names {
		shard, _, err := s.shardOf(ctx, name, true)
		if err != nil {
			continue
		}
		live, err := readAsOn[bool](ctx, s, shard, meta.BucketLiveQuery{Name: name})
		if err == nil && live {
			return fmt.Errorf("%w: %q", meta.ErrBucketExists, name)
		}
	}
	return fmt.Errorf("%w: bucket names %q are in use by a creation or a deletion on another metadata shard", ErrConflictingOperation, names)
}

// released tells the directory that buckets were deleted from shard.
func (s *Service) released(ctx context.Context, shard uint64, buckets ...meta.Bucket) {
	if s.node.shards.count() <= 1 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, b := range buckets {
		if _, err := s.propose(ctx, &meta.ReleaseName{Shard: shard, Name: b.Name, ID: b.ID}); err != nil {
			s.node.log.Warn("releasing a deleted bucket's name failed; the name stays on its shard", "bucket", b.Name, "err", err)
		}
	}
}

// readAsOn runs a linearizable query returning a T on one shard.
func readAsOn[T any](ctx context.Context, s *Service, shard uint64, q meta.Q) (T, error) {
	return typed[T](s.readOn(ctx, shard, q))
}

// sortBuckets orders buckets gathered from several shards by name.
func sortBuckets(per [][]meta.Bucket) []meta.Bucket {
	var out []meta.Bucket
	for _, bs := range per {
		out = append(out, bs...)
	}
	slices.SortFunc(out, func(a, b meta.Bucket) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// sameChunkShard reports whether the chunks of a version read in bucket
// a (whose records live on shard chunkShard when it is set, else on a's)
// are referenced from the shard of bucket b.
func (s *Service) sameChunkShard(ctx context.Context, a string, chunkShard uint64, b string) (bool, error) {
	sa := chunkShard
	if sa == 0 {
		var err error
		if sa, _, err = s.shardOf(ctx, a, false); err != nil {
			return false, err
		}
	}
	sb, _, err := s.shardOf(ctx, b, false)
	if err != nil {
		return false, err
	}
	return sa == sb, nil
}

// BucketShard returns the metadata shard a live bucket lives on.
func (s *Service) BucketShard(ctx context.Context, bucket string) (uint64, error) {
	var shard uint64
	err := s.onBucket(ctx, bucket, func(sh uint64) error {
		_, err := readAsOn[*meta.Bucket](ctx, s, sh, meta.BucketQuery{Name: bucket})
		shard = sh
		return err
	})
	return shard, err
}

// MetaShards returns the number of metadata shards (0 while a node that
// joined has not learnt it).
func (s *Service) MetaShards() int { return s.node.shards.count() }

// perShard holds a T per metadata shard, made on first use.
type perShard[T any] struct {
	mu sync.Mutex
	m  map[uint64]*T
}

func (p *perShard[T]) of(shard uint64) *T {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.m[shard]
	if v == nil {
		if p.m == nil {
			p.m = map[uint64]*T{}
		}
		v = new(T)
		p.m[shard] = v
	}
	return v
}

// each calls fn for every shard's T made so far.
func (p *perShard[T]) each(fn func(shard uint64, v *T)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, v := range p.m {
		fn(id, v)
	}
}

// sharedSnapshotEntries is the snapshot interval and the compaction
// overhead of each shard of a node of shards shards, given the node's
// (--snapshot-entries): the interval divided among the shards, at least
// minSnapshotEntries, and the overhead at most half of it. Each shard
// keeps up to interval + overhead entries of its log, so with the node's
// interval for every shard a node of 16 shards kept 16 times the log of a
// node of one: a gigabyte of Raft log at 4 KiB per entry, whose
// compactions grew dearer for the first ten minutes of a write load (the
// cluster soak, benchmarks.md). A snapshot of an on-disk state machine is
// only a record of its applied index and a sync. 0 (no periodic
// snapshots) stays 0.
func sharedSnapshotEntries(entries, overhead uint64, shards int) (uint64, uint64) {
	if entries == 0 || shards <= 1 {
		return entries, overhead
	}
	e := max(min(entries, minSnapshotEntries), entries/uint64(shards))
	return e, min(overhead, e/2)
}

// minSnapshotEntries is the least snapshot interval sharedSnapshotEntries
// gives a shard.
const minSnapshotEntries = 1000
