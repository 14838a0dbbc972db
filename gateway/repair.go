package gateway

import (
	"context"
	"errors"
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
	var missing []meta.Chunk
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
			if !c.holds(ms, ci.ID) {
				continue
			}
			ch := meta.Chunk{ID: ci.ID, Size: ci.Size, CRC32C: ci.CRC32C}
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
		return 0
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
