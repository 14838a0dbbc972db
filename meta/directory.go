package meta

import (
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// The directory of a cluster whose metadata is split over several Raft
// shards (gateway --meta-shards). Shard DirectoryShard holds it, next to
// its share of the buckets:
//
//   - the number of metadata shards, fixed when the cluster is created
//     (InitShards);
//   - for each bucket name in use, the shard that holds it (name claims).
//
// A bucket's shard is the authority on whether the bucket exists: its
// records, objects, forks, snapshots and scoped keys all live there, and
// its name is unique within it. The directory only makes a name's shard
// unique across shards. Creating a bucket is three steps: ClaimNames here
// (the name maps to one shard, a creation is pending), the creation on that
// shard, then SettleNames here (the creation's outcome). Deleting one is the
// deletion on its shard, then ReleaseName here. A claim is released only
// when no creation is pending on it and the bucket it names is gone, so a
// name can never be live on two shards; a node that dies between the steps
// leaves at worst a claim that stays on its shard (harmless: the name keeps
// resolving there, and creating it again goes there).
//
// Bucket ids are unique across shards: shard s > 1 allocates from s<<48,
// so ShardOfBucketID finds the shard of any bucket id (shard 1 allocates
// from 1, as every cluster did before shards).

// DirectoryShard is the shard holding the directory.
const DirectoryShard uint64 = 1

// bucketIDShardShift places a shard's bucket ids in their own range.
const bucketIDShardShift = 48

// MaxMetaShards bounds the number of metadata shards of a cluster.
const MaxMetaShards = 256

// ShardOfBucketID returns the metadata shard that allocated a bucket id.
func ShardOfBucketID(id uint64) uint64 {
	if s := id >> bucketIDShardShift; s > 1 {
		return s
	}
	return DirectoryShard
}

// firstBucketCounter is a shard's bucket id counter before its first
// bucket (the last id "allocated").
func firstBucketCounter(shard uint64) uint64 {
	if shard <= 1 || shard >= MaxMetaShards+2 {
		return 0
	}
	return shard << bucketIDShardShift
}

// InitShards records the number of metadata shards when a cluster is
// created (directory shard only). Once recorded the number never changes:
// a different Count is ErrShardCount.
type InitShards struct {
	Header
	Count int
	// Replicas is the number of replicas of each data shard (0: every
	// member holds every shard; placement.go), recorded with Count and
	// fixed as it is: a different value is ErrShardCount too.
	Replicas int
}

// ClaimNames claims bucket names for creations on Shard (directory shard
// only), all or none: a name already claimed on another shard fails the
// command with ErrNameElsewhere (nothing changed; Reader.NameShard says
// where it is). Each claimed name counts one pending creation until
// SettleNames.
type ClaimNames struct {
	Header
	Shard uint64
	Names []string
	// Shards, when set, is each name's shard (a batch of forks spread
	// over shards); Shard is then unused.
	Shards []uint64
}

// SettleNames records the outcome of the creations ClaimNames announced:
// ID is the bucket created under Name (0: none was).
type SettleNames struct {
	Header
	Shard uint64
	Items []SettledName
}

// SettledName is one outcome of SettleNames.
type SettledName struct {
	Name string
	ID   uint64
}

// ReleaseName says that bucket ID, named Name on Shard, was deleted: the
// claim goes unless a creation is pending on it or it names another bucket.
type ReleaseName struct {
	Header
	Shard uint64
	Name  string
	ID    uint64
}

// NameClaim is a name's entry in the directory.
type NameClaim struct {
	Shard   uint64
	Pending uint64 // creations claimed and not yet settled
	ID      uint64 // the bucket last created under the name (0: none known)
}

func encodeNameClaim(c NameClaim) []byte {
	e := encoder{b: []byte{fmtV1}}
	e.u64(c.Shard)
	e.uvarint(c.Pending)
	e.u64(c.ID)
	return e.b
}

func decodeNameClaim(v []byte) (NameClaim, error) {
	d := decoder{b: v}
	d.fmtByte()
	c := NameClaim{Shard: d.u64(), Pending: d.uvarint(), ID: d.u64()}
	return c, d.done()
}

func keyNameClaim(name string) []byte { return appendName([]byte{pfxNameClaim}, name) }

// nameClaim returns the claim of a name (ok false when none).
func (r *Reader) nameClaim(name string) (NameClaim, bool, error) {
	v, ok, err := getValue(r.txn, keyNameClaim(name))
	if err != nil || !ok {
		return NameClaim{}, false, err
	}
	c, err := decodeNameClaim(v)
	return c, err == nil, err
}

// NameShard returns the shard a bucket name is claimed on (ok false when
// the name is not claimed).
func (r *Reader) NameShard(name string) (uint64, bool, error) {
	c, ok, err := r.nameClaim(name)
	return c.Shard, ok, err
}

// MetaShards returns the number of metadata shards recorded when the
// cluster was created (0: none recorded, a cluster of one shard).
func (r *Reader) MetaShards() (int, error) {
	n, err := getCounter(r.txn, ctrMetaShards)
	return int(n), err
}

func (a *applier) initShards(c *InitShards) (*Result, error) {
	if c.Count < 1 || c.Count > MaxMetaShards {
		return nil, fmt.Errorf("%w: %d metadata shards (want 1 to %d)", ErrShardCount, c.Count, MaxMetaShards)
	}
	n, err := a.r.MetaShards()
	if err != nil {
		return nil, err
	}
	if n != 0 && n != c.Count {
		return nil, fmt.Errorf("%w: the cluster was created with %d metadata shards, not %d", ErrShardCount, n, c.Count)
	}
	if c.Replicas < 0 {
		return nil, fmt.Errorf("%w: %d replicas per shard", ErrShardCount, c.Replicas)
	}
	if n == 0 {
		if err := a.set(keyCounter(ctrMetaShards), u64Value(uint64(c.Count))); err != nil {
			return nil, err
		}
		if c.Replicas == 0 {
			return nil, nil
		}
		return nil, a.set(keyCounter(ctrMetaReplicas), u64Value(uint64(c.Replicas)))
	}
	r, err := a.r.MetaReplicas()
	if err != nil {
		return nil, err
	}
	if r != c.Replicas {
		return nil, fmt.Errorf("%w: the cluster was created with %d replicas per metadata shard (--meta-replicas), not %d", ErrShardCount, r, c.Replicas)
	}
	return nil, nil
}

func (a *applier) claimNames(c *ClaimNames) (*Result, error) {
	claims := make([]NameClaim, len(c.Names))
	if c.Shards != nil && len(c.Shards) != len(c.Names) {
		return nil, fmt.Errorf("%w: %d shards for %d names", ErrInvalidRemoteFork, len(c.Shards), len(c.Names))
	}
	for i, name := range c.Names {
		shard := c.Shard
		if c.Shards != nil {
			shard = c.Shards[i]
		}
		if slices.Contains(c.Names[:i], name) {
			return nil, fmt.Errorf("%w: %q named twice", ErrBucketExists, name)
		}
		cl, ok, err := a.r.nameClaim(name)
		if err != nil {
			return nil, err
		}
		if ok && cl.Shard != shard {
			return nil, fmt.Errorf("%w: %q is on shard %d", ErrNameElsewhere, name, cl.Shard)
		}
		cl.Shard = shard
		cl.Pending++
		claims[i] = cl
	}
	for i, name := range c.Names {
		if err := a.set(keyNameClaim(name), encodeNameClaim(claims[i])); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (a *applier) settleNames(c *SettleNames) (*Result, error) {
	for _, it := range c.Items {
		cl, ok, err := a.r.nameClaim(it.Name)
		if err != nil {
			return nil, err
		}
		if !ok || cl.Shard != c.Shard || cl.Pending == 0 {
			// Settled before (a retry under another request id).
			continue
		}
		cl.Pending--
		if it.ID != 0 {
			cl.ID = it.ID
		}
		if err := a.putNameClaim(it.Name, cl); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (a *applier) releaseName(c *ReleaseName) (*Result, error) {
	cl, ok, err := a.r.nameClaim(c.Name)
	if err != nil || !ok || cl.Shard != c.Shard || (cl.ID != c.ID && cl.ID != 0) {
		return nil, err
	}
	cl.ID = 0
	return nil, a.putNameClaim(c.Name, cl)
}

// putNameClaim writes a claim, or removes it when nothing keeps it: no
// pending creation and no bucket known under the name.
func (a *applier) putNameClaim(name string, cl NameClaim) error {
	if cl.Pending == 0 && cl.ID == 0 {
		return a.del(keyNameClaim(name))
	}
	return a.set(keyNameClaim(name), encodeNameClaim(cl))
}

// NameClaims lists the claims whose names are > after, up to max, in name
// order (for tests and `cluster status`).
func (r *Reader) NameClaims(after string, max int) (map[string]NameClaim, error) {
	out := map[string]NameClaim{}
	p := []byte{pfxNameClaim}
	it := r.txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true})
	defer it.Close()
	for it.Seek(appendName(slices.Clone(p), after)); it.Valid() && len(out) < max; it.Next() {
		name, _, ok := readName(it.Item().Key()[1:])
		if !ok {
			return nil, fmt.Errorf("%w: name claim key", ErrCorrupt)
		}
		if name == after {
			continue
		}
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		c, err := decodeNameClaim(v)
		if err != nil {
			return nil, err
		}
		out[name] = c
	}
	return out, nil
}
