package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// Scoped access keys: created, listed and deleted by the root user through
// the admin API; kept in the replicated metadata (meta/access.go) with
// their secrets sealed (seal.go); looked up on every signed request
// through a per-node cache that drops everything when the metadata's keys
// generation moves (see watchKeys), so a deleted key stops working on
// every node within keysPollInterval.

// Principal is who signed a request: the root user, or a scoped key.
type Principal struct {
	AccessKey string
	Root      bool
	// Buckets maps each bucket a scoped key may use to that bucket's
	// lease (Unix ns on the lease clock, 0 = none).
	Buckets  map[string]int64
	Prefix   string
	ReadOnly bool
	// Expires is the key's own expiry (Unix ns on the lease clock, 0 =
	// never).
	Expires int64
	// AllowForks lets the key fork its buckets, into new buckets whose
	// names start with ForkPrefix (CanFork).
	AllowForks bool
	ForkPrefix string
	// User is the user whose key this is ("" the root account's), UserID
	// its canonical id; UserMain says it is the user's own key (no
	// bucket scope: it acts as the user), else a scoped key it made.
	User     string
	UserID   string
	UserMain bool

	secret string
	gen    uint64 // keys generation it was read at
	// foreign: the keys generation of each other shard whose copy of the
	// key was read (keysacross.go).
	foreign map[uint64]uint64
}

// Expired reports whether a scoped key has expired at now (lease clock).
func (p *Principal) Expired(now time.Time) bool {
	return !p.Root && p.Expires != 0 && now.UnixNano() >= p.Expires
}

// CanUse reports whether the principal may use bucket at now: the root
// may use any; a scoped key only its buckets, while their leases last.
func (p *Principal) CanUse(bucket string, now time.Time) bool {
	if p.Root {
		return true
	}
	lease, ok := p.Buckets[bucket]
	return ok && (lease == 0 || now.UnixNano() < lease)
}

// CanFork reports whether the principal may create a fork named name:
// the root may; a scoped key only when it was given the permission, and
// only under its fork prefix.
func (p *Principal) CanFork(name string) bool {
	return p.Root || (p.AllowForks && strings.HasPrefix(name, p.ForkPrefix))
}

// Covers reports whether an object key (or a listing prefix) lies inside
// the key's prefix.
func (p *Principal) Covers(key string) bool {
	return p.Root || strings.HasPrefix(key, p.Prefix)
}

// keyCache holds the scoped keys this node looked up, valid for one keys
// generation.
type keyCache struct {
	mu      sync.Mutex
	gen     uint64
	entries map[string]*Principal
	warned  map[string]bool // unusable keys already logged
}

// warnOnce reports whether an unusable key should be logged (once per
// key and generation).
func (c *keyCache) warnOnce(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.warned[id] || len(c.warned) > 1000 {
		return false
	}
	if c.warned == nil {
		c.warned = map[string]bool{}
	}
	c.warned[id] = true
	return true
}

// maxCachedKeys bounds the cache; past it, the cache starts over.
const maxCachedKeys = 100000

// reset empties the cache for generation gen if gen is newer. The node
// calls it from watchKeys with its replica's generation, and right after
// a command of its own that changed keys or leases (with that command's
// version, which is the new generation), so that the request after it on
// this node already sees the change.
func (c *keyCache) reset(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen > c.gen {
		c.gen, c.entries, c.warned = gen, nil, nil
	}
}

// keyCaches holds a keyCache per metadata shard: keys live on the shard
// of their buckets (users' own keys on the directory shard), and each
// cache follows its shard's generation.
type keyCaches = perShard[keyCache]

func (c *keyCache) get(id string) *Principal {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[id]
}

// put caches p when it was read at the cache's generation (or a newer
// one, which the cache then moves to).
func (c *keyCache) put(p *Principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.gen < c.gen {
		return
	}
	if p.gen > c.gen || c.entries == nil || len(c.entries) >= maxCachedKeys {
		c.gen, c.entries = p.gen, map[string]*Principal{}
	}
	c.entries[p.AccessKey] = p
}

// keysPollInterval is how often a node checks its replica's keys
// generation.
const keysPollInterval = 200 * time.Millisecond

// remoteKeysPolls: the keys generation of a shard held by other nodes is
// read from one of them every remoteKeysPolls polls (1 s), so that a
// revoked key stops working on this node within about a second.
const remoteKeysPolls = 5

// watchKeys drops the node's cached keys of a shard whenever the shard's
// keys generation moves (read from the local replica, or from a holder
// for a shard held elsewhere; a key was created, deleted or expired, or a
// lease changed), and re-seals, on the leader, secrets still sealed under
// the previous root password. The generation of a local replica is read
// again only once the replica has applied something since the last read
// (its applied index is stored after each commit): an idle node reads
// none.
func (n *Node) watchKeys() {
	defer n.wg.Done()
	t := time.NewTicker(keysPollInterval)
	defer t.Stop()
	resealed := false
	polls := 0
	// readAt maps a shard held here to the applied index of the local
	// replica its generation was read at (a replica's state at an applied
	// index is the same wherever and whenever it is read).
	readAt := map[uint64]uint64{}
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		polls++
		for _, shard := range n.shards.list() {
			var applied uint64
			if n.hosts(shard) {
				applied = n.local.Applied(shard, n.replicaOf(shard))
				if at, ok := readAt[shard]; ok && at == applied {
					continue // nothing applied since the last read
				}
			} else if polls%remoteKeysPolls != 0 {
				continue
			}
			v, err := n.readBackground(shard, meta.KeysGenerationQuery{})
			if err == nil {
				n.keys.of(shard).reset(v.(uint64))
				readAt[shard] = applied
			} else {
				delete(readAt, shard)
			}
		}
		if !resealed && n.seal.previous != nil && n.isLeader() {
			resealed = n.resealKeys() == nil
		}
	}
}

// principal returns the principal of an access key: the root, or a
// scoped key from the cache, the local replica or, when the local replica
// has not seen it yet, a linearizable read. ok is false for unknown keys.
func (s *Service) principal(ctx context.Context, id string) (*Principal, bool) {
	if p, known, ok := s.knownPrincipal(id); known {
		return p, ok
	}
	n := s.node
	shard, _ := keyShard(id, n.shards.count())
	cache := n.keys.of(shard)
	q := meta.KeyLookupQuery{ID: id, Directory: shard == meta.DirectoryShard}
	v, err := n.localReadOn(shard, q.Run)
	if errors.Is(err, meta.ErrNoSuchAccessKey) || errors.Is(err, meta.ErrNotOpen) {
		// Perhaps created a moment ago through another node.
		v, err = s.readOn(ctx, shard, q)
	}
	if err == nil {
		if ka := v.(meta.KeyLookup); ka.User == nil && ka.UserKey.User != "" {
			var u *meta.User
			if u, err = s.User(ctx, ka.UserKey.User); err == nil {
				ka.User = u
				v = ka
			}
		}
	}
	if err != nil {
		if !errors.Is(err, meta.ErrNoSuchAccessKey) {
			n.log.Warn("access key lookup failed", "err", err)
		}
		return nil, false
	}
	ka := v.(meta.KeyLookup)
	secret, _, err := n.seal.open(ka.Key.ID, ka.Key.Sealed)
	if err != nil {
		if cache.warnOnce(id) {
			n.log.Warn("access key unusable: sealed under another root password (see FORKSTORE_PREVIOUS_ROOT_PASSWORD)", "access_key", id, "err", err)
		}
		return nil, false
	}
	p := &Principal{
		AccessKey: id, Buckets: map[string]int64{}, Prefix: ka.Key.Prefix,
		ReadOnly: ka.Key.ReadOnly, Expires: ka.Key.Expires, secret: secret, gen: ka.Gen,
		AllowForks: ka.Key.AllowForks, ForkPrefix: ka.Key.ForkPrefix,
	}
	for _, b := range ka.Key.Buckets {
		p.Buckets[b.Name] = b.Expires
	}
	if ka.User != nil {
		p.User, p.UserID, p.UserMain = ka.User.Name, ka.User.ID, ka.UserKey.Main
	}
	if !s.addForeignBuckets(ctx, p, ka, shard) {
		return nil, false
	}
	cache.put(p)
	return p, true
}

// Principal returns the principal of an access key that has not expired
// (ok false otherwise).
func (s *Service) Principal(ctx context.Context, accessKey string) (*Principal, bool) {
	p, ok := s.principal(ctx, accessKey)
	if !ok || p.Expired(s.LeaseNow()) {
		return nil, false
	}
	return p, true
}

// knownPrincipal answers principal without reading the metadata: known
// is true for the root user, an id that cannot exist, and a key in the
// cache and fresh; ok then says whether it exists.
func (s *Service) knownPrincipal(id string) (p *Principal, known, ok bool) {
	n := s.node
	if id == n.cfg.RootUser {
		return &Principal{AccessKey: id, Root: true, secret: n.cfg.RootPassword}, true, true
	}
	if id == "" || len(id) > 128 {
		return nil, true, false
	}
	shard, valid := keyShard(id, n.shards.count())
	if !valid {
		return nil, true, false
	}
	if p := n.keys.of(shard).get(id); p != nil && n.fresh(p) {
		return p, true, true
	}
	return nil, false, false
}

// SecretKey returns the secret of an access key that exists and has not
// expired. (Every signed request asks: the root user and cached keys are
// answered without the context a metadata read needs.)
func (s *Service) SecretKey(accessKey string) (string, bool) {
	p, known, ok := s.knownPrincipal(accessKey)
	if !known {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p, ok = s.principal(ctx, accessKey)
	}
	if !ok || p.Expired(s.LeaseNow()) {
		return "", false
	}
	return p.secret, true
}

// resealKeys re-seals the secrets sealed under the previous root password
// (the keys of every shard this node leads).
func (n *Node) resealKeys() error {
	var errs []error
	for _, shard := range n.shards.list() {
		if n.leads(shard) {
			errs = append(errs, n.resealShardKeys(shard))
		}
	}
	return errors.Join(errs...)
}

func (n *Node) resealShardKeys(shard uint64) error {
	v, err := n.localReadOn(shard, func(r *meta.Reader) (any, error) { return r.AccessKeys("") })
	if err != nil {
		return err
	}
	var items []meta.Reseal
	for _, k := range v.([]meta.AccessKey) {
		secret, stale, err := n.seal.open(k.ID, k.Sealed)
		if err != nil || !stale {
			continue
		}
		items = append(items, meta.Reseal{ID: k.ID, Old: k.Sealed, New: n.seal.seal(k.ID, secret)})
	}
	for len(items) > 0 {
		batch := items[:min(len(items), 256)]
		items = items[len(batch):]
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := n.svc.proposeOn(ctx, shard, &meta.ResealKeys{Items: batch})
		cancel()
		if err != nil {
			n.log.Warn("re-sealing access keys failed", "err", err)
			return err
		}
		n.log.Info("re-sealed access keys under the current root password", "keys", len(batch))
	}
	return nil
}

// --- key management (root only; s3api checks) ---

// KeyInput is a new scoped key.
type KeyInput struct {
	Buckets  []string
	Prefix   string
	ReadOnly bool
	// TTL, when positive, makes the key expire that long from now.
	TTL time.Duration
	// AllowForks lets the key fork the buckets of its scope (over S3,
	// X-Tigris-Fork-Source-Bucket), naming the forks with ForkPrefix,
	// which it then requires. A fork it makes joins its scope and gets
	// its earliest expiry as a lease.
	AllowForks bool
	ForkPrefix string
}

// NewKey is a created key with its secret (shown once).
type NewKey struct {
	Key    meta.AccessKey
	Secret string
}

// Limits of keys and leases.
const (
	maxKeyPrefix = 1024
	// MaxTTL is the longest lease of a fork or key.
	MaxTTL = 10 * 365 * 24 * time.Hour
)

var keyIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newKeyID returns a fresh access key id of a key stored on shard, 20
// characters like an AWS key id: "FSK" and 17 characters of base32 on the
// directory shard, "FS", the shard in three decimal digits and 15
// characters of base32 on another (keyShard).
func newKeyID(shard uint64) string {
	var b [11]byte
	_, _ = rand.Read(b[:])
	if shard <= meta.DirectoryShard {
		return "FSK" + keyIDEncoding.EncodeToString(b[:])[:17]
	}
	return fmt.Sprintf("FS%03d", shard) + keyIDEncoding.EncodeToString(b[:])[:15]
}

// keyShard returns the shard storing an access key (ok false for an id no
// shard of count can hold). Base32 has no 0, 1, 8 or 9, so an id with a
// digit after "FS" names its shard.
func keyShard(id string, count int) (uint64, bool) {
	if len(id) < 5 || id[:2] != "FS" || id[2] < '0' || id[2] > '9' {
		return meta.DirectoryShard, true
	}
	n, err := strconv.Atoi(id[2:5])
	if err != nil || n < 2 || n > count {
		return 0, false
	}
	return uint64(n), true
}

// keysShard returns the shard of a new key's buckets: all of them must
// live on one (ErrKeyShards).
func (s *Service) keysShard(ctx context.Context, buckets []string) (uint64, error) {
	shard, byShard, err := s.keyShards(ctx, buckets)
	if err == nil && len(byShard) > 1 {
		err = fmt.Errorf("%w: %q", ErrKeyShards, buckets)
	}
	return shard, err
}

// keyShards returns the home shard of a new key (its first bucket's) and
// its buckets' names per shard.
func (s *Service) keyShards(ctx context.Context, buckets []string) (uint64, map[uint64][]string, error) {
	var home uint64
	byShard := map[uint64][]string{}
	for _, b := range buckets {
		sh, _, err := s.shardOf(ctx, b, true)
		if err != nil {
			return 0, nil, err
		}
		sh = max(sh, meta.DirectoryShard)
		if home == 0 {
			home = sh
		}
		byShard[sh] = append(byShard[sh], b)
	}
	return max(home, meta.DirectoryShard), byShard, nil
}

// newSecret returns a fresh 40-character secret key.
func newSecret() string {
	var b [30]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// checkTTL validates a lease duration (0 = none).
func checkTTL(ttl time.Duration) error {
	if ttl < 0 || ttl > MaxTTL || (ttl > 0 && ttl < time.Second) {
		return fmt.Errorf("%w: %s (want 1s to %s)", ErrInvalidLease, ttl, MaxTTL)
	}
	return nil
}

// expiry returns the lease clock's now + ttl in Unix ns (0 for no TTL).
func (s *Service) expiry(ttl time.Duration) int64 {
	if ttl == 0 {
		return 0
	}
	return s.LeaseNow().Add(ttl).UnixNano()
}

// newKey generates and seals a key.
func (s *Service) newKey(shard uint64, buckets []string, prefix string, readOnly bool, expires int64) (meta.AccessKey, string) {
	id, secret := newKeyID(shard), newSecret()
	k := meta.AccessKey{ID: id, Sealed: s.node.seal.seal(id, secret), Prefix: prefix, ReadOnly: readOnly, Expires: expires}
	for _, b := range buckets {
		k.Buckets = append(k.Buckets, meta.KeyBucket{Name: b})
	}
	return k, secret
}

// checkForkScope validates the fork permission of a new key: a key that
// may fork has a fork prefix (so that it cannot take names outside it),
// which must begin a valid bucket name, and can write its whole buckets
// (no read-only or object prefix key forks).
func checkForkScope(in KeyInput) error {
	if !in.AllowForks {
		if in.ForkPrefix != "" {
			return fmt.Errorf("%w: a fork prefix needs the permission to fork", ErrMalformedRequest)
		}
		return nil
	}
	if in.ReadOnly || in.Prefix != "" {
		return fmt.Errorf("%w: a read-only key or a key limited to a prefix cannot fork", ErrMalformedRequest)
	}
	if in.ForkPrefix == "" || len(in.ForkPrefix) > 60 || !ValidBucketName(in.ForkPrefix+"000") {
		return fmt.Errorf("%w: a key that may fork needs a fork prefix that begins a valid bucket name (at most 60 characters): %q",
			ErrMalformedRequest, in.ForkPrefix)
	}
	return nil
}

// CreateKey creates a scoped key.
func (s *Service) CreateKey(ctx context.Context, in KeyInput) (*NewKey, error) {
	if err := checkKeyInput(in); err != nil {
		return nil, err
	}
	shard, byShard, err := s.keyShards(ctx, in.Buckets)
	if err != nil {
		return nil, err
	}
	if len(byShard) > 1 {
		return s.createKeyAcross(ctx, in, shard, byShard)
	}
	k, secret := s.newKey(shard, in.Buckets, in.Prefix, in.ReadOnly, s.expiry(in.TTL))
	k.AllowForks, k.ForkPrefix = in.AllowForks, in.ForkPrefix
	res, err := s.proposeOn(ctx, shard, &meta.CreateKey{Key: k})
	if err != nil {
		return nil, err
	}
	s.node.keys.of(shard).reset(res.Version)
	return &NewKey{Key: res.Keys[0], Secret: secret}, nil
}

// checkKeyInput validates the scope of a new scoped key.
func checkKeyInput(in KeyInput) error {
	if len(in.Buckets) == 0 || len(in.Buckets) > meta.MaxKeyBuckets {
		return fmt.Errorf("%w: a key names 1 to %d buckets", ErrMalformedRequest, meta.MaxKeyBuckets)
	}
	for _, b := range in.Buckets {
		if err := checkBucketName(b); err != nil {
			return err
		}
	}
	if len(in.Prefix) > maxKeyPrefix {
		return fmt.Errorf("%w: prefix longer than %d bytes", ErrMalformedRequest, maxKeyPrefix)
	}
	if err := checkTTL(in.TTL); err != nil {
		return err
	}
	return checkForkScope(in)
}

// KeyInfo is a listed key (its secret stays sealed) and which root
// password its secret is sealed under: "current", "previous" (to be
// re-sealed) or "unknown" (the key cannot authenticate).
type KeyInfo struct {
	meta.AccessKey
	Sealing string
}

// ListKeys lists the scoped keys (of one bucket when bucket is not "").
func (s *Service) ListKeys(ctx context.Context, bucket string) ([]KeyInfo, error) {
	var ks []meta.AccessKey
	if bucket != "" {
		var err error
		if ks, err = readAsB[[]meta.AccessKey](ctx, s, bucket, meta.AccessKeysQuery{Bucket: bucket}); err != nil {
			return nil, err
		}
	} else {
		per, err := readEach[[]meta.AccessKey](ctx, s, meta.AccessKeysQuery{Bucket: ""})
		if err != nil {
			return nil, err
		}
		count, shards := s.node.shards.count(), s.node.shards.list()
		for i, p := range per {
			for _, k := range p {
				// A key across shards is listed once, by its home copy.
				if home, ok := keyShard(k.ID, count); !ok || max(shards[i], meta.DirectoryShard) == home {
					ks = append(ks, k)
				}
			}
		}
		slices.SortFunc(ks, func(a, b meta.AccessKey) int { return strings.Compare(a.ID, b.ID) })
	}
	out := make([]KeyInfo, len(ks))
	for i, k := range ks {
		out[i] = KeyInfo{AccessKey: k, Sealing: "current"}
		if _, stale, err := s.node.seal.open(k.ID, k.Sealed); err != nil {
			out[i].Sealing = "unknown"
		} else if stale {
			out[i].Sealing = "previous"
		}
		out[i].Sealed = nil
	}
	return out, nil
}

// DeleteKey deletes a scoped key.
func (s *Service) DeleteKey(ctx context.Context, id string) error {
	shard, ok := keyShard(id, s.node.shards.count())
	if !ok {
		return fmt.Errorf("%w: %q", meta.ErrNoSuchAccessKey, id)
	}
	if err := s.deleteKeyAcross(ctx, id, shard); err != nil {
		return err
	}
	res, err := s.proposeOn(ctx, shard, &meta.DeleteKey{ID: id})
	if err == nil {
		s.node.keys.of(shard).reset(res.Version)
	}
	return err
}

// LeaseNow is the lease clock: the wall clock shifted by
// Config.LeaseClockOffset (tests move it forward instead of waiting).
func (s *Service) LeaseNow() time.Time { return time.Now().Add(s.node.cfg.LeaseClockOffset) }
