package block

import (
	"context"
	"errors"
	"time"
)

// SweepOrphans deletes the chunk files nothing references that are older
// than grace (uploads that never committed, copies a crash left behind),
// and copies whose receipt was interrupted an hour ago or more. Chunks are
// decided a batch at a time, from one read of the references each.
func (c *Manager) SweepOrphans(grace time.Duration) {
	c.store.sweepTemp(time.Hour)
	cutoff := time.Now().Add(-grace)
	var batch []string
	// flush decides a batch from the metadata at one applied index (one
	// read of the local replica) and deletes the files nothing references.
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ids := batch
		batch = nil
		refs, err := c.cfg.Refs.Referenced(context.Background(), ids)
		if err != nil {
			return err
		}
		for i, ref := range refs {
			if ref {
				continue
			}
			c.log.Info("deleting orphan chunk", "chunk", ids[i])
			if err := c.store.Delete(ids[i]); err != nil {
				return err
			}
		}
		return nil
	}
	err := c.store.Walk(func(id string, mod time.Time) error {
		select {
		case <-c.cfg.Stop:
			return ErrStopped
		default:
		}
		if mod.After(cutoff) {
			return nil
		}
		batch = append(batch, id)
		if len(batch) < repairBatch {
			return nil
		}
		return flush()
	})
	if err == nil {
		err = flush()
	}
	if err != nil && !errors.Is(err, ErrStopped) {
		c.log.Warn("orphan sweep failed", "err", err)
	}
}

// Recount recounts the chunk store's files and bytes (Usage follows
// commits and deletes in between).
func (c *Manager) Recount() {
	if err := c.store.Recount(c.cfg.Stop); err != nil && !errors.Is(err, ErrStopped) {
		c.log.Warn("chunk store recount failed", "err", err)
	}
}
