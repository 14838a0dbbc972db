package gateway

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forkstore/forkstore/block"
	"github.com/forkstore/forkstore/meta"
)

// The cluster as the node sees it: which nodes are members (the metadata
// shard's voting replicas) and where each serves HTTP (the node records in
// the metadata). The member list is pushed to the chunk layer (block),
// which places, copies, repairs and scrubs chunks over it.

// member is a voting member with the address its HTTP API is reached at
// ("" while its node record is not known yet).
type member struct {
	ID       uint64
	RaftAddr string
	S3Addr   string
	Zone     string // from its node record ("" none)
}

// peer is m as the chunk layer and the peer client know it.
func (m member) peer() block.Member { return block.Member{ID: m.ID, Addr: m.S3Addr, Zone: m.Zone} }

// cluster keeps the current member list, refreshed in the background.
type cluster struct {
	n    *Node
	self uint64
	peer *block.Peer
	// blocks is the chunk layer; refresh pushes the member list to it.
	blocks *block.Manager

	mu      sync.RWMutex
	members []member // sorted by id
	retired []uint64
	// lastLookup is when isMember last refreshed the members (Unix ns).
	lastLookup atomic.Int64
	// nonces are the peer requests accepted within PeerSkew (replays).
	nonces *nonceCache
	// follow asks the membership loop to follow the placement record now.
	follow chan struct{}
}

// kickFollow asks the membership loop to follow the placement now.
func (c *cluster) kickFollow() {
	select {
	case c.follow <- struct{}{}:
	default:
	}
}

func newCluster(n *Node) *cluster {
	c := &cluster{n: n, self: n.cfg.Raft.NodeID, nonces: newNonceCache(maxPeerNonces), follow: make(chan struct{}, 1)}
	c.peer = block.NewPeer(c.self, n.cfg.ClusterKey, n.cfg.PeerTLS)
	var store *block.Store
	if n.chunks != nil {
		store = n.chunks.Store
	}
	cfg := block.Config{
		Self: c.self, Replicas: n.cfg.Replicas,
		RepairInterval: n.cfg.RepairInterval, ScrubInterval: n.cfg.ScrubInterval,
		Store: store, Peer: c.peer, Refs: metaRefs{n},
		Refresh: c.refresh,
		Stop:    n.stop, Log: n.log,
	}
	if n.disk != nil {
		cfg.Refuse, cfg.NoteError = n.disk.refuse, n.disk.noteError
	}
	c.members = []member{{ID: c.self, RaftAddr: n.cfg.Raft.RaftAddr, S3Addr: n.cfg.AdvertiseS3, Zone: n.cfg.Zone}}
	c.blocks = block.New(cfg, c.members[0].peer())
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

// replicas is R for the membership ms.
func (c *cluster) replicas(ms []member) int { return c.blocks.Replicas(len(ms)) }

// kickRepair asks the repair loop for a pass now.
func (c *cluster) kickRepair() { c.blocks.Kick() }

// repairPending reports whether the repair figures are not yet those of
// the current membership.
func (c *cluster) repairPending() bool { return c.blocks.RepairPending() }

// scrub runs a scrub pass on this node now.
func (c *cluster) scrub(ctx context.Context) (ScrubResult, error) { return c.blocks.Scrub(ctx) }

// directoryRecheck is how often the membership loop reads the directory
// when this node's replica of it applied nothing.
const directoryRecheck = 30 * time.Second

// errPlacementNotRead: the placement record could not be read.
var errPlacementNotRead = errors.New("gateway: placement record not read")

// directoryVersion is what this node's directory replica has applied: the
// index of its last membership change and its applied index.
type directoryVersion struct{ config, applied uint64 }

// directoryVersion reads it, without a Raft round (ok false when the
// replica's state cannot be read).
func (n *Node) directoryVersion() (directoryVersion, bool) {
	v, ok := n.host.LocalView(metaShard)
	if !ok {
		return directoryVersion{}, false
	}
	return directoryVersion{config: v.ConfigChangeIndex, applied: n.local.Applied(metaShard, n.replicaOf(metaShard))}, true
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
	records := map[uint64]meta.Node{}
	for _, nd := range v.([]meta.Node) {
		records[nd.ID] = nd
	}
	ms := make([]member, 0, len(voters))
	for id, raftAddr := range voters {
		m := member{ID: id, RaftAddr: raftAddr, S3Addr: records[id].S3Addr, Zone: records[id].Zone}
		if id == c.self && m.S3Addr == "" {
			m.S3Addr = c.n.cfg.AdvertiseS3
		}
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
	peers := make([]block.Member, len(ms))
	for i, m := range ms {
		peers[i] = m.peer()
	}
	c.mu.Lock()
	c.members, c.retired = ms, removed
	// Under the lock, so that the chunk layer's list follows this one in
	// the same order when refreshes race.
	c.blocks.SetMembers(peers) // a change starts a repair pass at once
	c.mu.Unlock()
	return nil
}

// membershipLoop keeps the member list current: every second while some
// member's address is still unknown (nodes publish theirs as they start),
// every two seconds after that (a change starts a repair pass at once).
// With placed data shards (placement.go) it also starts and stops this
// node's replicas as the placement record says, every second.
//
// The member list and the placement record are read linearizably from the
// directory, a read-index round with its leader: only when this node's
// directory replica has applied something since the last reads (or after
// directoryRecheck), since whatever they would find new has been applied
// here by then. An idle cluster's nodes then read nothing.
func (c *cluster) membershipLoop() {
	defer c.n.wg.Done()
	var (
		readAt   directoryVersion // what the directory replica had applied before the last reads
		readTime time.Time
		kicked   bool
	)
	for {
		wait := 2 * time.Second
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ver, known := c.n.directoryVersion()
		var err error
		read := kicked || !known || ver != readAt || time.Since(readTime) >= directoryRecheck
		kicked = false
		if read {
			err = c.refresh(ctx)
		}
		if c.n.placed() {
			if !c.n.followPlacement(ctx, read) {
				err = errors.Join(err, errPlacementNotRead)
			}
			wait = time.Second
		}
		if read && err == nil {
			readAt, readTime = ver, time.Now()
		}
		cancel()
		if err != nil || !c.blocks.AddressesKnown() {
			wait = time.Second
		}
		select {
		case <-c.n.stop:
			return
		case <-c.follow:
			kicked = true
		case <-time.After(wait):
		}
	}
}

// repairLoop runs the chunk layer's repair passes until the node stops.
func (c *cluster) repairLoop() {
	defer c.n.wg.Done()
	c.blocks.RepairLoop()
}

// scrubLoop runs the chunk layer's periodic scrub until the node stops.
func (c *cluster) scrubLoop() {
	defer c.n.wg.Done()
	c.blocks.ScrubLoop()
}
