package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// The cluster as the data path sees it: which nodes are members (the
// metadata shard's voting replicas) and where each serves HTTP (the node
// records in the metadata), where each chunk belongs (rendezvous hashing of
// the chunk id over the members), and moving chunk copies between nodes.

// member is a voting member with the address its HTTP API is reached at
// ("" while its node record is not known yet).
type member struct {
	ID       uint64
	RaftAddr string
	S3Addr   string
}

// cluster keeps the current member list, refreshed in the background.
type cluster struct {
	n    *Node
	self uint64
	peer *peerClient

	mu      sync.RWMutex
	members []member // sorted by id
	retired []uint64
	// lastLookup is when isMember last refreshed the members (Unix ns).
	lastLookup atomic.Int64
	// nonces are the peer requests accepted within PeerSkew (replays).
	nonces *nonceCache

	// repair state, shown by NodeStatus: the chunks this node should hold
	// and lacks, the chunks it counts with fewer than R copies (see
	// underCounter), and the member list (memberKey) of the last pass that
	// scanned every chunk record.
	backlog         atomic.Int64
	underReplicated atomic.Int64
	scanned         atomic.Value // string
	kick            chan struct{}
	// scrubMu keeps scrub passes (periodic and requested) from overlapping.
	scrubMu sync.Mutex

	// full holds the members that refused a chunk copy for want of space,
	// until when new chunks are placed without them.
	fullMu sync.Mutex
	full   map[uint64]time.Time

	// copyFails logs failed chunk copies once per peer (copyfail.go).
	copyFails *copyFailures
}

func newCluster(n *Node) *cluster {
	c := &cluster{n: n, self: n.cfg.Raft.NodeID, kick: make(chan struct{}, 1), nonces: newNonceCache(maxPeerNonces), full: map[uint64]time.Time{}}
	c.peer = newPeerClient(c.self, n.cfg.ClusterKey, n.cfg.PeerTLS)
	c.copyFails = newCopyFailures(n.log)
	c.members = []member{{ID: c.self, RaftAddr: n.cfg.Raft.RaftAddr, S3Addr: n.cfg.AdvertiseS3}}
	c.kickRepair() // a first pass (and count) right after the start
	return c
}

// isMember reports whether id is a current member. An id not known yet is
// looked up again (at most once a second), for a member that joined since
// the last refresh.
func (c *cluster) isMember(id uint64) bool {
	has := func() bool {
		for _, m := range c.snapshot() {
			if m.ID == id {
				return true
			}
		}
		return false
	}
	if has() {
		return true
	}
	now := time.Now().UnixNano()
	last := c.lastLookup.Load()
	if now-last < int64(time.Second) || !c.lastLookup.CompareAndSwap(last, now) {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if c.refresh(ctx) != nil {
		return false
	}
	return has()
}

// snapshot returns the current members.
func (c *cluster) snapshot() []member {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.members
}

// multi reports whether there is any other member to copy chunks to.
func (c *cluster) multi() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.members) > 1
}

// refresh reads the membership (linearizably) and the node records.
func (c *cluster) refresh(ctx context.Context) error {
	voters, removed, err := c.n.host.MembershipInfo(ctx, metaShard)
	if err != nil {
		return unavailable(err)
	}
	v, err := c.n.localRead(func(r *meta.Reader) (any, error) { return r.Nodes() })
	if err != nil {
		return err
	}
	addrs := map[uint64]string{}
	for _, nd := range v.([]meta.Node) {
		addrs[nd.ID] = nd.S3Addr
	}
	ms := make([]member, 0, len(voters))
	for id, raftAddr := range voters {
		m := member{ID: id, RaftAddr: raftAddr, S3Addr: addrs[id]}
		if id == c.self && m.S3Addr == "" {
			m.S3Addr = c.n.cfg.AdvertiseS3
		}
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
	c.mu.Lock()
	changed := memberKey(ms) != memberKey(c.members)
	c.members, c.retired = ms, removed
	c.mu.Unlock()
	if changed {
		c.kickRepair() // placement moved: repair and recount at once
	}
	return nil
}

// repairPending reports whether the repair figures are not yet those of
// the current membership: no pass has scanned every chunk record since
// it changed (or since the node started).
func (c *cluster) repairPending() bool {
	done, _ := c.scanned.Load().(string)
	return done != memberKey(c.snapshot())
}

// membershipLoop keeps the member list current: every second while some
// member's address is still unknown (nodes publish theirs as they start),
// every two seconds after that (a change starts a repair pass at once).
func (c *cluster) membershipLoop() {
	defer c.n.wg.Done()
	for {
		wait := 2 * time.Second
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.refresh(ctx)
		cancel()
		if err != nil || !c.addressesKnown() {
			wait = time.Second
		}
		select {
		case <-c.n.stop:
			return
		case <-time.After(wait):
		}
	}
}

// addressesKnown reports whether every member's HTTP address is known.
func (c *cluster) addressesKnown() bool {
	for _, m := range c.snapshot() {
		if m.S3Addr == "" {
			return false
		}
	}
	return true
}

// kickRepair asks the repair loop for a pass now.
func (c *cluster) kickRepair() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// rendezvous is the score of a (chunk, node) pair: the R members with the
// highest scores hold the chunk.
func rendezvous(chunkID string, node uint64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(chunkID))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], node)
	h.Write(b[:])
	x := h.Sum64()
	// splitmix64 finaliser: FNV's low bits mix poorly.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// placement returns every member in the order in which it should hold
// chunkID: the first R are the chunk's holders, the rest are where a copy
// may still be found after membership changes.
func placement(ms []member, chunkID string) []member {
	out := slices.Clone(ms)
	sort.Slice(out, func(i, j int) bool {
		return rendezvous(chunkID, out[i].ID) > rendezvous(chunkID, out[j].ID)
	})
	return out
}

// replicas is R for the current membership.
func (c *cluster) replicas(ms []member) int { return min(c.n.cfg.Replicas, len(ms)) }

// holds reports whether this node is one of chunkID's R holders.
func (c *cluster) holds(ms []member, chunkID string) bool {
	for _, m := range placement(ms, chunkID)[:c.replicas(ms)] {
		if m.ID == c.self {
			return true
		}
	}
	return false
}

// replication copies the chunks of one upload to their holders while the
// upload goes on. Each chunk must reach a majority of its holders (this
// node's own copy counts when it is one) before the upload's manifest may
// be committed; the remaining copies finish in the background (or repair
// makes them later).
type replication struct {
	c       *cluster
	ms      []member
	wg      sync.WaitGroup
	mu      sync.Mutex
	waiting []chan error
}

// startReplication begins replicating an upload's chunks, or returns nil
// in a cluster of one.
func (c *cluster) startReplication() *replication {
	ms := c.snapshot()
	if len(ms) < 2 {
		return nil
	}
	if !c.addressesKnown() {
		// A member started moments ago and published its address since
		// the last refresh: look again before writing anything.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if c.refresh(ctx) == nil {
			ms = c.snapshot()
		}
		cancel()
	}
	return &replication{c: c, ms: ms}
}

// pushTimeout bounds one chunk copy to a peer.
const pushTimeout = 2 * time.Minute

// fullSkip is how long new chunks are placed without a member that
// refused a copy for want of space; then it is tried again (its disk may
// have room again).
const fullSkip = 10 * time.Second

// markFull notes that member id refused a chunk copy with 507.
func (c *cluster) markFull(id uint64) {
	c.fullMu.Lock()
	c.full[id] = time.Now().Add(fullSkip)
	c.fullMu.Unlock()
}

// isFull reports whether member id refused a copy for want of space lately.
func (c *cluster) isFull(id uint64) bool {
	c.fullMu.Lock()
	defer c.fullMu.Unlock()
	until, ok := c.full[id]
	if ok && time.Now().After(until) {
		delete(c.full, id)
		return false
	}
	return ok
}

// isStorageFull reports whether a peer refused a request with 507.
func isStorageFull(err error) bool {
	var ps *errPeerStatus
	return errors.As(err, &ps) && ps.status == http.StatusInsufficientStorage
}

// add starts copying a committed local chunk to its holders: the first R
// members in the chunk's placement order, leaving out those that refused
// a copy for want of space lately. A holder that refuses one now is left
// out too, and the next member in placement order takes the copy. (Repair
// brings the chunk to its rendezvous holders once they have room, and then
// drops the copies beyond them.)
func (r *replication) add(ch meta.Chunk) {
	order := placement(r.ms, ch.ID)
	R := r.c.replicas(r.ms)
	need := R/2 + 1
	have := 0
	var targets, spare []member
	chosen := 0
	for _, m := range order {
		switch {
		case m.ID == r.c.self:
			if chosen < R {
				have++
				chosen++
			}
		case r.c.isFull(m.ID):
		case chosen < R:
			targets = append(targets, m)
			chosen++
		default:
			spare = append(spare, m)
		}
	}
	done := make(chan error, 1)
	r.mu.Lock()
	r.waiting = append(r.waiting, done)
	r.mu.Unlock()
	if have >= need {
		done <- nil
	}
	var (
		mu       sync.Mutex
		ok       int
		pending        = len(targets)
		lastErr  error = errors.New("no other member can take a copy")
		reported       = have >= need
		start    func(m member)
	)
	// The copy's SHA-256 (which its signature covers) is read once from
	// the local file for all the targets, off the upload's path.
	sum := sync.OnceValues(func() ([sha256.Size]byte, error) { return r.c.n.chunks.sha256(ch) })
	start = func(m member) {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), pushTimeout)
			err := r.c.push(ctx, m, ch, sum)
			cancel()
			mu.Lock()
			defer mu.Unlock()
			pending--
			if err != nil {
				lastErr = err
				if isStorageFull(err) {
					r.c.markFull(m.ID)
					if len(spare) > 0 {
						next := spare[0]
						spare = spare[1:]
						pending++
						start(next)
					}
				} else {
					r.c.copyFails.failed(m.ID, ch.ID, err)
				}
			} else {
				ok++
				r.c.copyFails.succeeded(m.ID)
			}
			if reported {
				return
			}
			if have+ok >= need {
				reported = true
				done <- nil
			} else if have+ok+pending < need {
				reported = true
				done <- fmt.Errorf("%w: chunk %s reached %d of %d holders: %v", ErrUnavailable, ch.ID, have+ok, need, lastErr)
			}
		}()
	}
	if !reported && have+len(targets) < need {
		reported = true
		done <- fmt.Errorf("%w: chunk %s can reach %d of %d holders: %v", ErrUnavailable, ch.ID, have+len(targets), need, lastErr)
	}
	mu.Lock()
	for _, m := range targets {
		start(m)
	}
	mu.Unlock()
}

// wait returns once every chunk added has a majority of copies, or the
// first failure. Copies beyond the majority go on in the background.
func (r *replication) wait(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	waiting := r.waiting
	r.mu.Unlock()
	for _, ch := range waiting {
		select {
		case err := <-ch:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for chunk copies: %v", ErrUnavailable, ctx.Err())
		}
	}
	return nil
}

// push copies a local chunk to member m; sum gives the chunk's SHA-256.
func (c *cluster) push(ctx context.Context, m member, ch meta.Chunk, sum func() ([sha256.Size]byte, error)) error {
	if m.S3Addr == "" {
		return fmt.Errorf("gateway: node %d has no known address", m.ID)
	}
	h, err := sum()
	if err != nil {
		return err
	}
	f, err := c.n.chunks.openChunk(ch)
	if err != nil {
		return err
	}
	defer f.Close()
	resp, err := c.peer.do(ctx, "PUT", m, "chunks/"+ch.ID+"?digest="+chunkDigest(ch.Size, ch.CRC32C), f, ch.Size, PeerBodyDigest(ch.Size, h))
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// fetchTimeout bounds reading one chunk from a peer.
const fetchTimeout = time.Minute

// fetch reads a whole chunk from another member that has it, verified
// against its size and CRC32C: first the chunk's holders, then every
// other member (copies stay where they were after membership changes
// until repair moves them).
func (c *cluster) fetch(ctx context.Context, ch meta.Chunk) ([]byte, error) {
	ms := c.snapshot()
	var lastErr error = fmt.Errorf("%w: %s: no other node holds it", ErrChunkMissing, ch.ID)
	for _, m := range placement(ms, ch.ID) {
		if m.ID == c.self || m.S3Addr == "" {
			continue
		}
		data, err := c.fetchFrom(ctx, m, ch)
		if err == nil {
			return data, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func (c *cluster) fetchFrom(ctx context.Context, m member, ch meta.Chunk) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	resp, err := c.peer.send(ctx, c.peer.fast, "GET", m, "chunks/"+ch.ID+"?digest="+chunkDigest(ch.Size, ch.CRC32C), nil, 0, "")
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("%w: %s not on node %d", ErrChunkMissing, ch.ID, m.ID)
		}
		return nil, fmt.Errorf("%w: %s from node %d: %v", ErrChunkMissing, ch.ID, m.ID, err)
	}
	defer resp.Body.Close()
	data := make([]byte, ch.Size)
	if _, err := io.ReadFull(resp.Body, data); err != nil {
		return nil, fmt.Errorf("%w: %s from node %d: %v", ErrChunkMissing, ch.ID, m.ID, err)
	}
	if crc := crc32c(data); crc != ch.CRC32C {
		return nil, fmt.Errorf("%w: copy of %s on node %d fails its checksum", ErrChunkMissing, ch.ID, m.ID)
	}
	return data, nil
}

// pull fetches a chunk from another member and stores it locally (not
// while the disk is low: ErrStorageFull).
func (c *cluster) pull(ctx context.Context, ch meta.Chunk) error {
	if err := c.n.disk.refuse(); err != nil {
		return err
	}
	data, err := c.fetch(ctx, ch)
	if err != nil {
		return err
	}
	err = c.n.chunks.PutCopy(ch, bytes.NewReader(data))
	c.n.disk.noteError(err)
	return err
}

// ingest stores a body as Ingest does and, in a cluster, copies each chunk
// to its holders as soon as it is durable here; it returns once every
// chunk has a majority of its copies. Nothing references the chunks until
// the caller commits a manifest.
func (s *Service) ingest(ctx context.Context, r io.Reader, size int64, opts IngestOptions) (*IngestResult, error) {
	if err := s.node.disk.refuse(); err != nil {
		return nil, err
	}
	rep := s.node.cluster.startReplication()
	if rep != nil {
		opts.OnChunk = rep.add
	}
	ing, err := s.node.chunks.Ingest(ctx, r, size, opts)
	if err != nil {
		s.node.disk.noteError(err)
		return nil, err
	}
	if err := rep.wait(ctx); err != nil {
		s.node.chunks.Discard(ing.Chunks)
		s.node.cluster.kickRepair()
		return nil, err
	}
	return ing, nil
}

// fetchRemote reads a chunk this node lacks (or holds a bad copy of) from
// another member, for a GET; it asks repair to restore the local copy when
// this node is one of the chunk's holders.
func (c *cluster) fetchRemote(ch meta.Chunk) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	data, err := c.fetch(ctx, ch)
	if err == nil && c.holds(c.snapshot(), ch.ID) {
		c.kickRepair()
	}
	return data, err
}
