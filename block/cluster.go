package block

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// The cluster as the chunk layer sees it: which nodes are members and
// where each serves HTTP (a snapshot gateway pushes with SetMembers), where
// each chunk belongs (rendezvous hashing of the chunk id over the members),
// and moving chunk copies between nodes.

// Member is a member of the cluster: its node id and the address
// (host:port) its HTTP API, which serves the peer requests, is reached at
// ("" while not known yet).
type Member struct {
	ID   uint64
	Addr string
	// Zone is the member's failure domain ("" none): a chunk's holders
	// are taken from as many zones as there are, then by score.
	Zone string
}

// Refs is what the chunk layer reads of the metadata: which chunks are
// referenced, with the size and CRC32C their manifests record. The
// metadata may be spread over several shards: an implementation covers
// all of them (each chunk is best visited once; one visited twice is
// counted twice in the under-replication figure). Reads may be stale (a
// local replica): a chunk is only deleted by the sweeper when it is old
// and unreferenced, by repair when its holders confirm their copies.
type Refs interface {
	// EachChunk calls fn for every referenced chunk, in no particular
	// order, until fn returns an error, which it returns.
	EachChunk(ctx context.Context, fn func(meta.Chunk) error) error
	// Lookup returns the referenced chunk id (ok false when nothing
	// references it).
	Lookup(ctx context.Context, id string) (c meta.Chunk, ok bool, err error)
	// Referenced reports for each of ids whether anything references it,
	// from one consistent view of each shard.
	Referenced(ctx context.Context, ids []string) ([]bool, error)
}

// Config is what a Manager needs from the node.
type Config struct {
	// Self is this node's id.
	Self uint64
	// Replicas is R: each chunk is kept on min(Replicas, members) nodes.
	Replicas int
	// RepairInterval is the time between repair passes; ScrubInterval
	// between scrub passes (0: no periodic scrub).
	RepairInterval, ScrubInterval time.Duration
	// Store is the local chunk store, Peer the client to other members.
	Store *Store
	Peer  *Peer
	// Refs reads the chunk references in the metadata.
	Refs Refs
	// Refresh reads the membership now and pushes it with SetMembers
	// (before a repair pass, and when a member's address is unknown as a
	// replication starts).
	Refresh func(ctx context.Context) error
	// Refuse returns ErrStorageFull (wrapped) while the node refuses new
	// data for want of disk space, else nil; NoteError tells the disk
	// watch about an error writing a chunk (a full disk is checked at
	// once). Either may be nil.
	Refuse    func() error
	NoteError func(error)
	// Stop closes when the node shuts down: loops and passes end.
	Stop <-chan struct{}
	Log  *slog.Logger
}

// Manager is a node's chunk layer: placement of chunks over the members,
// replication of the chunks of an upload, reads from other holders,
// repair, scrubbing and the orphan sweep, over the local Store. It is
// safe for concurrent use.
type Manager struct {
	cfg   Config
	self  uint64
	store *Store
	peer  *Peer
	log   *slog.Logger

	mu      sync.RWMutex
	members []Member // sorted by id
	// down are the members the node sees down for long enough that their
	// chunks are placed on the others (SetDown).
	down []uint64

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

// New returns the chunk layer of node cfg.Self, a member alone until
// SetMembers says otherwise (self is the first member).
func New(cfg Config, self Member) *Manager {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{cfg: cfg, self: cfg.Self, store: cfg.Store, peer: cfg.Peer, log: cfg.Log,
		kick: make(chan struct{}, 1), full: map[uint64]time.Time{}}
	m.copyFails = newCopyFailures(cfg.Log)
	m.members = []Member{self}
	m.Kick() // a first pass (and count) right after the start
	return m
}

// Store returns the local chunk store.
func (c *Manager) Store() *Store { return c.store }

// Members returns the current members, sorted by id.
func (c *Manager) Members() []Member {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.members
}

// SetMembers replaces the member list (ms sorted by id); a change of the
// membership starts a repair pass at once (placement moved).
func (c *Manager) SetMembers(ms []Member) {
	c.mu.Lock()
	changed := memberKey(ms) != memberKey(c.members)
	c.members = ms
	c.mu.Unlock()
	if changed {
		c.Kick() // placement moved: repair and recount at once
	}
}

// SetDown sets the members that are down for long enough that chunks are
// placed without them (ids sorted; the node's own view, Config of the
// gateway's --replace-down-after): repair then gives each of their chunks
// a holder among the others and pulls it there, and uploads copy to the
// others. When one answers again it is a holder again, and the copies
// made meanwhile beyond R are dropped as after any membership change. A
// change starts a repair pass at once.
func (c *Manager) SetDown(ids []uint64) {
	c.mu.Lock()
	changed := !slices.Equal(ids, c.down)
	c.down = slices.Clone(ids)
	c.mu.Unlock()
	if changed {
		c.Kick()
	}
}

// placed returns the members chunks are placed on: the members less those
// down (SetDown), as long as R of them remain; else every member.
func (c *Manager) placed() []Member {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.down) == 0 {
		return c.members
	}
	up := make([]Member, 0, len(c.members))
	for _, m := range c.members {
		if m.ID == c.self || !slices.Contains(c.down, m.ID) {
			up = append(up, m)
		}
	}
	if len(up) < c.Replicas(len(c.members)) {
		return c.members
	}
	return up
}

// Multi reports whether there is any other member to copy chunks to.
func (c *Manager) Multi() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.members) > 1
}

// RepairPending reports whether the repair figures are not yet those of
// the current membership: no pass has scanned every chunk record since
// it changed (or since the node started).
func (c *Manager) RepairPending() bool {
	done, _ := c.scanned.Load().(string)
	return done != memberKey(c.placed())
}

// Backlog is the number of chunks this node should hold and lacks, as of
// the last repair pass (less those pulled since).
func (c *Manager) Backlog() int64 { return c.backlog.Load() }

// UnderReplicated is the number of chunks with fewer than R copies among
// those this node counted in its last repair pass.
func (c *Manager) UnderReplicated() int64 { return c.underReplicated.Load() }

// AddressesKnown reports whether every member's HTTP address is known.
func (c *Manager) AddressesKnown() bool {
	for _, m := range c.Members() {
		if m.Addr == "" {
			return false
		}
	}
	return true
}

// Kick asks the repair loop for a pass now.
func (c *Manager) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// refuse is cfg.Refuse, nil when there is none.
func (c *Manager) refuse() error {
	if c.cfg.Refuse == nil {
		return nil
	}
	return c.cfg.Refuse()
}

func (c *Manager) noteError(err error) {
	if c.cfg.NoteError != nil {
		c.cfg.NoteError(err)
	}
}

func (c *Manager) refresh(ctx context.Context) error {
	if c.cfg.Refresh == nil {
		return nil
	}
	return c.cfg.Refresh(ctx)
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
//
// With zones, the order takes the best-scored member of each zone first
// (zones in the order of their best scores), then the others by score:
// the first R holders span min(R, zones) zones, so a whole zone down
// leaves a copy of every chunk elsewhere. Without zones (all "") it is
// the plain rendezvous order.
func placement(ms []Member, chunkID string) []Member {
	out := slices.Clone(ms)
	sort.Slice(out, func(i, j int) bool {
		return rendezvous(chunkID, out[i].ID) > rendezvous(chunkID, out[j].ID)
	})
	if !zoned(out) {
		return out
	}
	first := make([]Member, 0, len(out))
	rest := make([]Member, 0, len(out))
	seen := map[string]bool{}
	for _, m := range out {
		if seen[m.Zone] {
			rest = append(rest, m)
			continue
		}
		seen[m.Zone] = true
		first = append(first, m)
	}
	return append(first, rest...)
}

// zoned reports whether the members are in more than one zone.
func zoned(ms []Member) bool {
	for _, m := range ms[min(1, len(ms)):] {
		if m.Zone != ms[0].Zone {
			return true
		}
	}
	return false
}

// Replicas is R for a cluster of the given number of members:
// min(Replicas, members).
func (c *Manager) Replicas(members int) int { return min(c.cfg.Replicas, members) }

// holds reports whether this node is one of chunkID's R holders.
func (c *Manager) holds(ms []Member, chunkID string) bool {
	for _, m := range placement(ms, chunkID)[:c.Replicas(len(ms))] {
		if m.ID == c.self {
			return true
		}
	}
	return false
}

// Replication copies the chunks of one upload to their holders while the
// upload goes on. Each chunk must reach a majority of its holders (this
// node's own copy counts when it is one) before the upload's manifest may
// be committed; the remaining copies finish in the background (or repair
// makes them later).
type Replication struct {
	c       *Manager
	ms      []Member
	wg      sync.WaitGroup
	mu      sync.Mutex
	waiting []chan error
}

// StartReplication begins replicating an upload's chunks, or returns nil
// in a cluster of one (a nil Replication's Wait returns nil at once).
func (c *Manager) StartReplication() *Replication {
	ms := c.placed()
	if len(ms) < 2 {
		return nil
	}
	if !c.AddressesKnown() {
		// A member started moments ago and published its address since
		// the last refresh: look again before writing anything.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if c.refresh(ctx) == nil {
			ms = c.placed()
		}
		cancel()
	}
	return &Replication{c: c, ms: ms}
}

// pushTimeout bounds one chunk copy to a peer.
const pushTimeout = 2 * time.Minute

// fullSkip is how long new chunks are placed without a member that
// refused a copy for want of space; then it is tried again (its disk may
// have room again).
const fullSkip = 10 * time.Second

// markFull notes that member id refused a chunk copy with 507.
func (c *Manager) markFull(id uint64) {
	c.fullMu.Lock()
	c.full[id] = time.Now().Add(fullSkip)
	c.fullMu.Unlock()
}

// isFull reports whether member id refused a copy for want of space lately.
func (c *Manager) isFull(id uint64) bool {
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

// Add starts copying a committed local chunk to its holders (see start).
func (r *Replication) Add(ch meta.Chunk) {
	o := newOutgoing(r.c, ch.ID, ch.Size)
	o.written = ch.Size
	o.chunk = ch
	r.start(o, false)
}

// Stream starts copying a chunk that is being written here, of exactly
// size bytes, to its holders (see start) while it is written: the caller
// tells the returned Outgoing of every byte written, then of the commit
// (or the failure). Its copies count once they and the chunk are durable:
// the caller waits for Wait only after the chunk is committed here.
func (r *Replication) Stream(id string, size int64) *Outgoing {
	o := newOutgoing(r.c, id, size)
	o.mac = newBodyMAC(r.c.peer.key, o.salt)
	r.start(o, true)
	return o
}

// start copies chunk o to its holders: the first R members in the
// chunk's placement order, leaving out those that refused a copy for want
// of space lately. A holder that refuses one now is left out too, and the
// next member in placement order takes the copy, sent from the committed
// file. (Repair brings the chunk to its rendezvous holders once they have
// room, and then drops the copies beyond them.)
func (r *Replication) start(o *Outgoing, streamed bool) {
	order := placement(r.ms, o.id)
	R := r.c.Replicas(len(r.ms))
	need := R/2 + 1
	have := 0
	var targets, spare []Member
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
		begin    func(m Member, streamed bool)
	)
	begin = func(m Member, streamed bool) {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), pushTimeout)
			err := r.c.push(ctx, m, o, streamed)
			cancel()
			mu.Lock()
			defer mu.Unlock()
			pending--
			if err != nil {
				lastErr = err
				switch {
				case isStorageFull(err):
					r.c.markFull(m.ID)
					if len(spare) > 0 {
						next := spare[0]
						spare = spare[1:]
						pending++
						begin(next, false)
					}
				case o.aborted():
					// The chunk failed here: so does the upload.
				default:
					r.c.copyFails.failed(m.ID, o.id, err)
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
				done <- fmt.Errorf("%w: chunk %s reached %d of %d holders: %v", ErrTooFewCopies, o.id, have+ok, need, lastErr)
			}
		}()
	}
	if !reported && have+len(targets) < need {
		reported = true
		done <- fmt.Errorf("%w: chunk %s can reach %d of %d holders: %v", ErrTooFewCopies, o.id, have+len(targets), need, lastErr)
	}
	mu.Lock()
	for _, m := range targets {
		begin(m, streamed)
	}
	mu.Unlock()
}

// Wait returns once every chunk added has a majority of copies, or the
// first failure (ErrTooFewCopies). Copies beyond the majority go on in the
// background.
func (r *Replication) Wait(ctx context.Context) error {
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
			return fmt.Errorf("%w: waiting for chunk copies: %v", ErrTooFewCopies, ctx.Err())
		}
	}
	return nil
}

// push copies chunk o to member m: streamed as it is written here, or
// from the committed file.
func (c *Manager) push(ctx context.Context, m Member, o *Outgoing, streamed bool) error {
	if m.Addr == "" {
		// The member published its address since the list this upload
		// took (a cluster that just formed): look again before failing.
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c.refresh(rctx)
		cancel()
		for _, cur := range c.Members() {
			if cur.ID == m.ID {
				m.Addr = cur.Addr
			}
		}
	}
	if m.Addr == "" {
		return fmt.Errorf("block: node %d has no known address", m.ID)
	}
	body := &streamBody{o: o}
	length := o.size + macTrailerSize
	if streamed {
		f, err := os.Open(c.store.path(o.id))
		if err != nil {
			if o.aborted() {
				return errChunkAborted
			}
			return err
		}
		defer f.Close()
		body.f = f
		if c.peer.tls {
			length = -1 // chunked: see streamBody
		}
	} else {
		tr, err := o.fromFile()
		if err != nil {
			return err
		}
		ch, _ := o.committed()
		f, err := c.store.openChunk(ch)
		if err != nil {
			return err
		}
		defer f.Close()
		body.f, body.tr, body.end = f, tr[:], true
	}
	uri := "chunks/" + o.id + "?size=" + strconv.FormatInt(o.size, 10)
	resp, err := c.peer.do(ctx, "PUT", m, uri, body, length, ChunkBodyDigest(o.size, o.salt))
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
func (c *Manager) fetch(ctx context.Context, ch meta.Chunk) ([]byte, error) {
	if !c.AddressesKnown() {
		// A member published its address since the last refresh (this
		// node started, or was cut off, before it did): look again, or
		// the chunk looks held by no one.
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c.refresh(rctx)
		cancel()
	}
	ms := c.Members()
	var lastErr error = fmt.Errorf("%w: %s: no other node holds it", ErrChunkMissing, ch.ID)
	if !c.AddressesKnown() {
		lastErr = fmt.Errorf("%w: %s: no other node with a known address holds it", ErrChunkMissing, ch.ID)
	}
	for _, m := range placement(ms, ch.ID) {
		if m.ID == c.self || m.Addr == "" {
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

func (c *Manager) fetchFrom(ctx context.Context, m Member, ch meta.Chunk) ([]byte, error) {
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
func (c *Manager) pull(ctx context.Context, ch meta.Chunk) error {
	if err := c.refuse(); err != nil {
		return err
	}
	data, err := c.fetch(ctx, ch)
	if err != nil {
		return err
	}
	err = c.store.PutCopy(ch, bytes.NewReader(data))
	c.noteError(err)
	return err
}

// fetchRemote reads a chunk this node lacks (or holds a bad copy of) from
// another member, for a GET; it asks repair to restore the local copy when
// this node is one of the chunk's holders.
func (c *Manager) fetchRemote(ch meta.Chunk) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	data, err := c.fetch(ctx, ch)
	if err != nil {
		c.log.Warn("chunk unreadable here and on every other member", "chunk", ch.ID, "err", err)
	} else if c.holds(c.placed(), ch.ID) {
		c.Kick()
	}
	return data, err
}

// NewObjectReader is Store.NewObjectReader that, in a cluster, reads a
// chunk this node lacks (or holds a bad copy of) from another member.
func (c *Manager) NewObjectReader(inline []byte, chunks []meta.Chunk, off, n int64) io.ReadCloser {
	var remote func(meta.Chunk) ([]byte, error)
	if c.Multi() {
		remote = c.fetchRemote
	}
	return c.store.newObjectReader(inline, chunks, off, n, remote)
}

// Receive stores a chunk copy sent by another node: r must hold exactly
// size bytes and the trailer that authenticates them under salt (the
// signed body digest) with the chunk's CRC32C, checked as they stream and
// before the copy is visible; otherwise nothing is stored and the error
// is ErrChunkMissing. A node whose disk is low refuses it with
// ErrStorageFull, and the sender places the copy elsewhere. The copy is
// written with O_DIRECT where the filesystem allows it (direct.go).
func (c *Manager) Receive(id string, size int64, salt string, r io.Reader) error {
	if err := c.refuse(); err != nil {
		return err
	}
	if c.peer == nil {
		return fmt.Errorf("%w: this node has no cluster key", ErrChunkMissing)
	}
	_, err := c.store.putCopy(meta.Chunk{ID: id, Size: size}, r, newBodyMAC(c.peer.key, salt), true)
	c.noteError(err)
	return err
}
