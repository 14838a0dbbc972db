package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/forkstore/forkstore/meta"
	"github.com/forkstore/forkstore/raft"
)

// ReadCloser is an object body being read.
type ReadCloser = io.ReadCloser

// metaShard is the Raft shard holding all metadata.
const metaShard uint64 = 1

// Node is one forkstore server: a NodeHost with the metadata shard, the
// local chunk store and the S3 use cases.
type Node struct {
	cfg    Config
	log    *slog.Logger
	host   *raft.Host
	chunks *ChunkStore
	svc    *Service

	stop chan struct{}
	wg   sync.WaitGroup
}

// Start opens the data dir, starts the metadata shard and waits until it
// can serve.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("gateway: data dir: %w", err)
	}
	chunks, err := OpenChunkStore(filepath.Join(cfg.DataDir, "chunks"))
	if err != nil {
		return nil, err
	}
	rc := cfg.Raft
	if rc.DataDir == "" {
		rc.DataDir = filepath.Join(cfg.DataDir, "raft")
	}
	host, err := raft.NewHost(rc, log.With("component", "raft"))
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: log, host: host, chunks: chunks, stop: make(chan struct{})}
	n.svc = &Service{node: n}
	create := meta.NewStateMachine(filepath.Join(cfg.DataDir, "meta"), cfg.Meta, log.With("component", "meta"))
	if err := host.StartOnDiskShard(metaShard, create); err != nil {
		host.Close()
		return nil, err
	}
	if err := host.WaitReady(ctx, metaShard); err != nil {
		host.Close()
		return nil, fmt.Errorf("gateway: metadata shard not ready: %w", err)
	}
	n.wg.Add(1)
	go n.collectGarbage()
	log.Info("node started", "data", cfg.DataDir, "replica_id", rc.NodeID)
	return n, nil
}

// Service returns the node's S3 use cases.
func (n *Node) Service() *Service { return n.svc }

// Close stops background work and the NodeHost.
func (n *Node) Close() error {
	select {
	case <-n.stop:
		return nil
	default:
	}
	close(n.stop)
	n.wg.Wait()
	n.host.Close()
	return nil
}

// Ready reports whether the node can serve metadata reads now.
func (n *Node) Ready(ctx context.Context) error {
	_, err := n.svc.read(ctx, func(r *meta.Reader) (any, error) { return nil, nil })
	return err
}

// gcTrimAge is how long a GC queue entry stays after it was enqueued, so
// every replica has applied it and deleted its copy before it is trimmed.
const gcTrimAge = 5 * time.Minute

// collectGarbage deletes the local copies of chunks whose last reference
// went away, and sweeps old unreferenced chunk files (uploads that never
// committed). It reads the local replica (a stale read is fine: an entry
// only ever appears once its chunk is unreachable).
func (n *Node) collectGarbage() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.GCInterval)
	defer t.Stop()
	var cursor uint64
	lastSweep := time.Now()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		cursor = n.deleteQueued(cursor)
		if time.Since(lastSweep) > n.cfg.OrphanGrace/4 {
			n.sweepOrphans()
			lastSweep = time.Now()
		}
	}
}

func (n *Node) deleteQueued(cursor uint64) uint64 {
	for {
		v, err := n.host.StaleRead(metaShard, meta.Query(func(r *meta.Reader) (any, error) {
			return r.GCQueue(cursor, 1000)
		}))
		if err != nil {
			n.log.Warn("gc queue read failed", "err", err)
			return cursor
		}
		entries := v.([]meta.GCEntry)
		// Leave recent entries alone for a while so that reads which
		// fetched a record just before its last reference went away can
		// still stream its chunks.
		horizon := uint64(time.Now().Add(-n.cfg.GCReadGrace).UnixNano())
		for i, e := range entries {
			if e.Version > horizon {
				entries = entries[:i]
				break
			}
			if err := n.chunks.Delete(e.ChunkID); err != nil {
				n.log.Warn("chunk delete failed", "chunk", e.ChunkID, "err", err)
				return cursor
			}
			cursor = e.Version
		}
		if len(entries) < 1000 {
			break
		}
	}
	// Trim old entries; only the leader bothers, followers skip.
	if lid, ok := n.host.LeaderID(metaShard); ok && lid == n.cfg.Raft.NodeID && cursor > 0 {
		upTo := uint64(time.Now().Add(-gcTrimAge).UnixNano())
		if upTo > cursor {
			upTo = cursor
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := n.svc.propose(ctx, &meta.TrimGC{UpTo: upTo}); err != nil && !errors.Is(err, ErrUnavailable) {
			n.log.Warn("gc trim failed", "err", err)
		}
	}
	return cursor
}

func (n *Node) sweepOrphans() {
	cutoff := time.Now().Add(-n.cfg.OrphanGrace)
	err := n.chunks.Walk(func(id string, mod time.Time) error {
		select {
		case <-n.stop:
			return errStopped
		default:
		}
		if mod.After(cutoff) {
			return nil
		}
		v, err := n.host.StaleRead(metaShard, meta.Query(func(r *meta.Reader) (any, error) {
			return r.ChunkReferenced(id), nil
		}))
		if err != nil {
			return err
		}
		if !v.(bool) {
			n.log.Info("deleting orphan chunk", "chunk", id)
			return n.chunks.Delete(id)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStopped) {
		n.log.Warn("orphan sweep failed", "err", err)
	}
}

var errStopped = errors.New("gateway: stopped")
