package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// Repair and scrubbing keep every referenced chunk at R verified copies.
//
// Repair runs on every node: it walks the chunk reference table of its
// local replica (one consistent read per batch) and pulls each chunk that
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

// repairBatch is how many chunk records one read returns.
const repairBatch = 1000

// repairWorkers is how many chunks are pulled at once.
const repairWorkers = 4

// repairLoop runs repair passes every RepairInterval, or when kicked.
func (c *cluster) repairLoop() {
	defer c.n.wg.Done()
	t := time.NewTicker(c.n.cfg.RepairInterval)
	defer t.Stop()
	for {
		select {
		case <-c.n.stop:
			return
		case <-t.C:
		case <-c.kick:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := c.refresh(ctx); err != nil {
			c.n.log.Debug("membership refresh failed", "err", err)
		}
		cancel()
		c.repairPass()
	}
}

// repairPass finds the chunks this node should hold and lacks, and pulls
// them. It returns how many it could not get.
func (c *cluster) repairPass() int {
	ms := c.snapshot()
	if len(ms) < 2 {
		return 0 // a cluster of one has nowhere to pull from
	}
	var missing, extra []meta.Chunk
	held := int64(0)
	after := ""
	for {
		v, err := c.n.localRead(func(r *meta.Reader) (any, error) { return r.Chunks(after, repairBatch) })
		if err != nil {
			c.n.log.Warn("repair: reading chunk records", "err", err)
			return -1
		}
		batch := v.([]meta.ChunkInfo)
		for _, ci := range batch {
			ch := meta.Chunk{ID: ci.ID, Size: ci.Size, CRC32C: ci.CRC32C}
			if !c.holds(ms, ci.ID) {
				if c.n.chunks.Has(ci.ID) {
					extra = append(extra, ch)
				}
				continue
			}
			if c.n.chunks.Has(ci.ID) {
				held++
				continue
			}
			if ci.Size == 0 && ci.CRC32C == 0 {
				continue // recorded before sizes were: cannot verify a copy
			}
			missing = append(missing, ch)
		}
		if len(batch) < repairBatch {
			break
		}
		after = batch[len(batch)-1].ID
		select {
		case <-c.n.stop:
			return -1
		default:
		}
	}
	c.chunkFiles.Store(held)
	c.backlog.Store(int64(len(missing)))
	if len(missing) == 0 {
		c.dropExtra(ms, extra)
		return 0
	}
	if c.n.disk.isLow() {
		return len(missing) // pulled once the disk has room again
	}
	c.n.log.Info("repair: pulling missing chunks", "chunks", len(missing))
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
					c.n.log.Warn("repair: pull failed", "chunk", ch.ID, "err", err)
					continue
				}
				c.backlog.Add(-1)
				c.chunkFiles.Add(1)
			}
		}()
	}
feed:
	for _, ch := range missing {
		select {
		case work <- ch:
		case <-c.n.stop:
			break feed
		}
	}
	close(work)
	wg.Wait()
	if failed == 0 {
		c.n.log.Info("repair: done", "chunks", len(missing))
	}
	return failed
}

// dropExtra deletes this node's copies of chunks it is not a holder of
// (copies written before a membership change moved the chunk, or by an
// upload taken here), once every one of the chunk's holders confirms it
// has a copy of the right size. Reads find chunks on any member, so a copy
// is only ever removed when R others exist.
func (c *cluster) dropExtra(ms []member, extra []meta.Chunk) {
	for len(extra) > 0 {
		batch := extra[:min(len(extra), repairBatch)]
		extra = extra[len(batch):]
		confirmed := make(map[string]int, len(batch))
		asked := map[uint64][]meta.Chunk{}
		for _, ch := range batch {
			for _, m := range placement(ms, ch.ID)[:c.replicas(ms)] {
				asked[m.ID] = append(asked[m.ID], ch)
			}
		}
		for _, m := range ms {
			list := asked[m.ID]
			if len(list) == 0 || m.S3Addr == "" {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			have, err := c.peerHas(ctx, m, list)
			cancel()
			if err != nil {
				c.n.log.Debug("repair: asking a holder what it has", "node", m.ID, "err", err)
				continue
			}
			for _, id := range have {
				confirmed[id]++
			}
		}
		for _, ch := range batch {
			if confirmed[ch.ID] >= c.replicas(ms) {
				if err := c.n.chunks.Delete(ch.ID); err != nil {
					c.n.log.Warn("repair: deleting a moved chunk copy", "chunk", ch.ID, "err", err)
				}
			}
		}
	}
}

// peerHas asks member m which of chunks it holds (with the right size).
func (c *cluster) peerHas(ctx context.Context, m member, chunks []meta.Chunk) ([]string, error) {
	req := make([]HasItem, len(chunks))
	for i, ch := range chunks {
		req[i] = HasItem{ID: ch.ID, Size: ch.Size}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.peer.do(ctx, "POST", m.S3Addr, "has", bytes.NewReader(body), int64(len(body)), "-")
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
func (s *Service) HasChunks(items []HasItem) []string {
	have := []string{}
	for _, it := range items {
		if s.HasLocalChunk(it.ID, it.Size) {
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

var errScrubStopped = errors.New("gateway: scrub stopped")

// scrub verifies every local chunk file that the metadata references and
// replaces each bad copy with a good one from another member.
func (c *cluster) scrub(ctx context.Context) (ScrubResult, error) {
	c.scrubMu.Lock()
	defer c.scrubMu.Unlock()
	var res ScrubResult
	err := c.n.chunks.Walk(func(id string, _ time.Time) error {
		select {
		case <-c.n.stop:
			return errScrubStopped
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		v, err := c.n.localRead(func(r *meta.Reader) (any, error) {
			ci, ok, err := r.Chunk(id)
			if !ok {
				return nil, err
			}
			return &ci, err
		})
		if err != nil {
			return err
		}
		ci, _ := v.(*meta.ChunkInfo)
		if ci == nil || (ci.Size == 0 && ci.CRC32C == 0) {
			return nil // unreferenced (the sweeper's business) or unverifiable
		}
		ch := meta.Chunk{ID: id, Size: ci.Size, CRC32C: ci.CRC32C}
		res.Checked++
		if err := c.n.chunks.Verify(ch); err == nil || !errors.Is(err, ErrChunkMissing) {
			return nil
		}
		res.Corrupt++
		c.n.log.Error("scrub: corrupt chunk copy", "chunk", id)
		if err := c.n.chunks.Delete(id); err != nil {
			return err
		}
		if err := c.pull(ctx, ch); err != nil {
			c.n.log.Error("scrub: no good copy of chunk found", "chunk", id, "err", err)
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

// scrubLoop runs a scrub pass every ScrubInterval.
func (c *cluster) scrubLoop() {
	defer c.n.wg.Done()
	if c.n.cfg.ScrubInterval <= 0 {
		return
	}
	t := time.NewTicker(c.n.cfg.ScrubInterval)
	defer t.Stop()
	for {
		select {
		case <-c.n.stop:
			return
		case <-t.C:
		}
		res, err := c.scrub(context.Background())
		if err != nil {
			c.n.log.Warn("scrub failed", "err", err)
			continue
		}
		c.n.log.Info("scrub done", "checked", res.Checked, "corrupt", res.Corrupt, "repaired", res.Repaired)
	}
}
