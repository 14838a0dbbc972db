package block

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// Repair and scrubbing keep every referenced chunk at R verified copies.
//
// Repair runs on every node: it walks the chunk references (Refs: gateway
// reads them from the local metadata replicas) and pulls each chunk that
// it is a holder of and lacks from another member. That one loop covers a
// node that was down while writes happened, a new node, a copy that a
// replication push did not deliver, and the copies a lost node held (once
// it is removed, placement names another holder). Chunks are immutable and
// their ids never reused, so no locks are needed; a pass interrupted by a
// crash is simply run again (what is present is not fetched twice).
//
// The scrubber re-reads every local chunk file, checks it against the
// size and CRC32C in the metadata and replaces a bad copy with a good one
// from another holder.

// repairBatch is how many chunks are asked about at once (the holders'
// copies, the sweeper's references).
const repairBatch = 1000

// repairWorkers is how many chunks are pulled at once.
const repairWorkers = 4

// RepairLoop runs repair passes every RepairInterval, or when kicked,
// until Stop closes.
func (c *Manager) RepairLoop() {
	t := time.NewTicker(c.cfg.RepairInterval)
	defer t.Stop()
	for {
		select {
		case <-c.cfg.Stop:
			return
		case <-t.C:
		case <-c.kick:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := c.refresh(ctx); err != nil {
			c.log.Debug("membership refresh failed", "err", err)
		}
		cancel()
		c.repairPass()
	}
}

// repairPass finds the chunks this node should hold and lacks, and pulls
// them. It also counts the chunks with fewer than R copies on their
// holders, each chunk on one node only: the first member in its placement
// order that answers (see underCounter). It returns how many chunks it
// could not get.
func (c *Manager) repairPass() int {
	ms := c.placed()
	if len(ms) < 2 {
		c.underReplicated.Store(0)
		c.backlog.Store(0)
		c.scanned.Store(memberKey(ms))
		return 0 // a cluster of one has nowhere to pull from
	}
	uc := c.newUnderCounter(ms)
	var missing, extra []meta.Chunk
	inBatch := 0
	err := c.cfg.Refs.EachChunk(context.Background(), func(ch meta.Chunk) error {
		uc.add(ch)
		switch {
		case !c.holds(ms, ch.ID):
			if c.store.Has(ch.ID) {
				extra = append(extra, ch)
			}
		case c.store.Has(ch.ID):
		case ch.Size == 0 && ch.CRC32C == 0:
			// recorded before sizes were: cannot verify a copy
		default:
			missing = append(missing, ch)
		}
		if inBatch++; inBatch < repairBatch {
			return nil
		}
		inBatch = 0
		uc.flush()
		select {
		case <-c.cfg.Stop:
			return ErrStopped
		default:
			return nil
		}
	})
	if errors.Is(err, ErrStopped) {
		return -1
	}
	if err != nil {
		c.log.Warn("repair: reading chunk records", "err", err)
		return -1
	}
	uc.flush()
	c.underReplicated.Store(uc.under)
	c.scanned.Store(memberKey(ms))
	c.backlog.Store(int64(len(missing)))
	if len(missing) == 0 {
		c.dropExtra(ms, extra)
		return 0
	}
	if c.refuse() != nil {
		return len(missing) // pulled once the disk has room again
	}
	c.log.Info("repair: pulling missing chunks", "chunks", len(missing))
	var (
		wg     sync.WaitGroup
		failed int
		mu     sync.Mutex
		work   = make(chan meta.Chunk)
	)
	for range repairWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ch := range work {
				ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
				err := c.pull(ctx, ch)
				cancel()
				if err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
					c.log.Warn("repair: pull failed", "chunk", ch.ID, "err", err)
					continue
				}
				c.backlog.Add(-1)
			}
		}()
	}
feed:
	for _, ch := range missing {
		select {
		case work <- ch:
		case <-c.cfg.Stop:
			break feed
		}
	}
	close(work)
	wg.Wait()
	if failed == 0 {
		c.log.Info("repair: done", "chunks", len(missing))
	}
	if failed < len(missing) {
		// Copies arrived: count again now rather than at the next interval,
		// so that the figures in cluster status drain as repair goes on.
		c.Kick()
	}
	return failed
}

// underCounter counts, during a repair pass, the chunks with fewer than R
// copies on their R holders. Each chunk is counted by one node only: the
// first member in its placement order that answered this pass's roll call
// (so a chunk whose holders are all down is still counted, by whichever
// member comes next). A member that does not answer counts as holding
// nothing. Summed over the members, the counts are the cluster's.
type underCounter struct {
	c     *Manager
	ms    []Member
	r     int
	live  map[uint64]bool
	ask   map[uint64][]meta.Chunk // holder -> chunks to ask it about
	have  map[string]int          // chunk -> copies found so far
	under int64
}

func (c *Manager) newUnderCounter(ms []Member) *underCounter {
	u := &underCounter{c: c, ms: ms, r: c.Replicas(len(ms)), live: map[uint64]bool{c.self: true},
		ask: map[uint64][]meta.Chunk{}, have: map[string]int{}}
	for _, m := range ms {
		if m.ID == c.self || m.Addr == "" {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := c.peerHas(ctx, m, nil)
		cancel()
		u.live[m.ID] = err == nil
	}
	return u
}

// add notes chunk ch, when this node is the one to count it.
func (u *underCounter) add(ch meta.Chunk) {
	if ch.Size == 0 && ch.CRC32C == 0 {
		return // recorded before sizes were: no copy can be checked
	}
	order := placement(u.ms, ch.ID)
	for _, m := range order {
		if !u.live[m.ID] {
			continue
		}
		if m.ID != u.c.self {
			return // another member counts it
		}
		break
	}
	u.have[ch.ID] = 0
	for _, m := range order[:u.r] {
		switch {
		case m.ID == u.c.self:
			if u.c.store.hasSize(ch) {
				u.have[ch.ID]++
			}
		case u.live[m.ID]:
			u.ask[m.ID] = append(u.ask[m.ID], ch)
		}
	}
}

// flush asks the holders about the chunks noted since the last flush and
// counts those with fewer than R copies.
func (u *underCounter) flush() {
	for _, m := range u.ms {
		list := u.ask[m.ID]
		if len(list) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		have, err := u.c.peerHas(ctx, m, list)
		cancel()
		if err != nil {
			u.c.log.Debug("repair: asking a holder what it has", "node", m.ID, "err", err)
			continue
		}
		for _, id := range have {
			if _, ok := u.have[id]; ok {
				u.have[id]++
			}
		}
	}
	for _, n := range u.have {
		if n < u.r {
			u.under++
		}
	}
	clear(u.ask)
	clear(u.have)
}

// memberKey identifies a member list (its ids in order).
func memberKey(ms []Member) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(strconv.FormatUint(m.ID, 10))
		if m.Zone != "" {
			// A zone moves placement too.
			b.WriteByte('@')
			b.WriteString(m.Zone)
		}
		b.WriteByte(',')
	}
	return b.String()
}

// dropExtra deletes this node's copies of chunks it is not a holder of
// (copies written before a membership change moved the chunk, or by an
// upload taken here), once every one of the chunk's holders confirms it
// has a copy of the right size. Reads find chunks on any member, so a copy
// is only ever removed when R others exist.
func (c *Manager) dropExtra(ms []Member, extra []meta.Chunk) {
	for len(extra) > 0 {
		batch := extra[:min(len(extra), repairBatch)]
		extra = extra[len(batch):]
		confirmed := make(map[string]int, len(batch))
		asked := map[uint64][]meta.Chunk{}
		for _, ch := range batch {
			for _, m := range placement(ms, ch.ID)[:c.Replicas(len(ms))] {
				asked[m.ID] = append(asked[m.ID], ch)
			}
		}
		for _, m := range ms {
			list := asked[m.ID]
			if len(list) == 0 || m.Addr == "" {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			have, err := c.peerHas(ctx, m, list)
			cancel()
			if err != nil {
				c.log.Debug("repair: asking a holder what it has", "node", m.ID, "err", err)
				continue
			}
			for _, id := range have {
				confirmed[id]++
			}
		}
		for _, ch := range batch {
			if confirmed[ch.ID] >= c.Replicas(len(ms)) {
				if err := c.store.Delete(ch.ID); err != nil {
					c.log.Warn("repair: deleting a moved chunk copy", "chunk", ch.ID, "err", err)
				}
			}
		}
	}
}

// peerHas asks member m which of chunks it holds (with the right size).
func (c *Manager) peerHas(ctx context.Context, m Member, chunks []meta.Chunk) ([]string, error) {
	req := make([]HasItem, len(chunks))
	for i, ch := range chunks {
		req[i] = HasItem{ID: ch.ID, Size: ch.Size}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.peer.do(ctx, "POST", m, "has", bytes.NewReader(body), int64(len(body)), PeerBodyDigest(int64(len(body)), sha256.Sum256(body)))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var have []string
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&have); err != nil {
		return nil, err
	}
	return have, nil
}

// HasItem names a chunk copy in a "which do you have" request.
type HasItem struct {
	ID   string `json:"id"`
	Size int64  `json:"size"`
}

// HasChunks answers another node's "which of these do you have".
func (s *Store) HasChunks(items []HasItem) []string {
	have := []string{}
	for _, it := range items {
		if s.HasCopy(it.ID, it.Size) {
			have = append(have, it.ID)
		}
	}
	return have
}

// ScrubResult counts what a scrub pass found on one node.
type ScrubResult struct {
	Checked  int `json:"checked"`
	Corrupt  int `json:"corrupt"`
	Repaired int `json:"repaired"`
}

var errScrubStopped = errors.New("block: scrub stopped")

// Scrub verifies every local chunk file that the metadata references and
// replaces each bad copy with a good one from another member.
func (c *Manager) Scrub(ctx context.Context) (ScrubResult, error) {
	c.scrubMu.Lock()
	defer c.scrubMu.Unlock()
	var res ScrubResult
	err := c.store.Walk(func(id string, _ time.Time) error {
		select {
		case <-c.cfg.Stop:
			return errScrubStopped
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		ch, ok, err := c.cfg.Refs.Lookup(ctx, id)
		if err != nil {
			return err
		}
		if !ok || (ch.Size == 0 && ch.CRC32C == 0) {
			return nil // unreferenced (the sweeper's business) or unverifiable
		}
		res.Checked++
		if err := c.store.Verify(ch); err == nil || !errors.Is(err, ErrChunkMissing) {
			return nil
		}
		res.Corrupt++
		c.log.Error("scrub: corrupt chunk copy", "chunk", id)
		if err := c.store.Delete(id); err != nil {
			return err
		}
		if err := c.pull(ctx, ch); err != nil {
			c.log.Error("scrub: no good copy of chunk found", "chunk", id, "err", err)
			return nil
		}
		res.Repaired++
		return nil
	})
	if errors.Is(err, errScrubStopped) {
		err = nil
	}
	return res, err
}

// ScrubLoop runs a scrub pass every ScrubInterval until Stop closes.
func (c *Manager) ScrubLoop() {
	if c.cfg.ScrubInterval <= 0 {
		return
	}
	t := time.NewTicker(c.cfg.ScrubInterval)
	defer t.Stop()
	for {
		select {
		case <-c.cfg.Stop:
			return
		case <-t.C:
		}
		res, err := c.Scrub(context.Background())
		if err != nil {
			c.log.Warn("scrub failed", "err", err)
			continue
		}
		c.log.Info("scrub done", "checked", res.Checked, "corrupt", res.Corrupt, "repaired", res.Repaired)
	}
}
