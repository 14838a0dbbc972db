package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/forkstore/forkstore/block"
	"github.com/forkstore/forkstore/meta"
)

// The chunk layer (placement, replication, repair, scrubbing, the local
// store) is package block; this file is what the use cases need of it:
// the local store with Ingest (ingest.go), the metadata references block
// reads (metaRefs), and the Service methods that serve other nodes.

// ChunkStore is the node's local chunk store (block.Store) with Ingest,
// which cuts a body into chunks as it hashes it.
type ChunkStore struct{ *block.Store }

// ChunkWriter writes one new chunk (block.Writer).
type ChunkWriter = block.Writer

// OpenChunkStore opens (creating if needed) the chunk store rooted at dir
// (block.OpenStore).
func OpenChunkStore(dir string) (*ChunkStore, error) {
	s, err := block.OpenStore(dir)
	if err != nil {
		return nil, err
	}
	return &ChunkStore{s}, nil
}

// ScrubResult counts what a scrub pass found on one node.
type ScrubResult = block.ScrubResult

// HasItem names a chunk copy in a "which do you have" request.
type HasItem = block.HasItem

// metaRefs gives the chunk layer the chunk references of the metadata,
// read from the local replicas of every metadata shard (possibly stale;
// see block.Refs), and, for a shard held by other nodes only, from one of
// them (linearizably). A shard that cannot be read fails the whole
// answer: an unknown reference is never taken for none. A chunk is referenced from one shard only: a copy into
// another shard's bucket writes new chunks (CopyObject).
type metaRefs struct{ n *Node }

var _ block.Refs = metaRefs{}

// refsBatch is how many chunk records one read of the local replica
// returns.
const refsBatch = 1000

// EachChunk walks the chunk reference table of each shard, one consistent
// read per batch of refsBatch records.
func (m metaRefs) EachChunk(ctx context.Context, fn func(meta.Chunk) error) error {
	for _, shard := range m.n.shards.list() {
		if err := m.eachChunk(ctx, shard, fn); err != nil {
			return err
		}
	}
	return nil
}

func (m metaRefs) eachChunk(ctx context.Context, shard uint64, fn func(meta.Chunk) error) error {
	after := ""
	for {
		v, err := m.n.readAnywhere(shard, meta.ChunksQuery{After: after, Limit: refsBatch})
		if err != nil {
			return err
		}
		batch, _ := v.([]meta.ChunkInfo)
		for _, ci := range batch {
			if err := fn(meta.Chunk{ID: ci.ID, Size: ci.Size, CRC32C: ci.CRC32C}); err != nil {
				return err
			}
		}
		if len(batch) < refsBatch {
			return nil
		}
		after = batch[len(batch)-1].ID
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// Lookup reads one chunk's record from the shard that references it.
func (m metaRefs) Lookup(ctx context.Context, id string) (meta.Chunk, bool, error) {
	for _, shard := range m.n.shards.list() {
		v, err := m.n.readAnywhere(shard, meta.ChunkQuery{ID: id})
		if err != nil {
			return meta.Chunk{}, false, err
		}
		if ci, _ := v.(*meta.ChunkInfo); ci != nil {
			return meta.Chunk{ID: id, Size: ci.Size, CRC32C: ci.CRC32C}, true, nil
		}
	}
	return meta.Chunk{}, false, nil
}

// Referenced decides a batch from the metadata (one read of each shard's
// local replica): an id is referenced when any shard references it.
func (m metaRefs) Referenced(ctx context.Context, ids []string) ([]bool, error) {
	refs := make([]bool, len(ids))
	for _, shard := range m.n.shards.list() {
		v, err := m.n.readAnywhere(shard, meta.ChunksReferencedQuery{IDs: ids})
		if err != nil {
			return nil, err
		}
		got, _ := v.([]bool)
		if len(got) != len(ids) {
			return nil, fmt.Errorf("%w: shard %d answered %d of %d chunk references", ErrUnavailable, shard, len(got), len(ids))
		}
		for i, ref := range got {
			refs[i] = refs[i] || ref
		}
	}
	return refs, nil
}

// ingest stores a body as Ingest does and, in a cluster, copies each chunk
// to its holders as soon as it is durable here; it returns once every
// chunk has a majority of its copies. Nothing references the chunks until
// the caller commits a manifest.
func (s *Service) ingest(ctx context.Context, r io.Reader, size int64, opts IngestOptions) (*IngestResult, error) {
	if err := s.node.disk.refuse(); err != nil {
		return nil, err
	}
	rep := s.node.cluster.blocks.StartReplication()
	if rep != nil {
		opts.OnChunk, opts.Stream = rep.Add, rep.Stream
	}
	ing, err := s.node.chunks.Ingest(ctx, r, size, opts)
	if err != nil {
		s.node.disk.noteError(err)
		return nil, err
	}
	if err := rep.Wait(ctx); err != nil {
		s.node.chunks.Discard(ing.Chunks)
		s.node.cluster.kickRepair()
		if errors.Is(err, block.ErrTooFewCopies) {
			// Members are down or unreachable: 503, the client retries.
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return nil, err
	}
	return ing, nil
}

// newObjectReader reads an object's bytes [off, off+n) (n < 0: to the
// end), from another member for a chunk missing here.
func (s *Service) newObjectReader(inline []byte, chunks []meta.Chunk, off, n int64) ReadCloser {
	return s.node.cluster.blocks.NewObjectReader(inline, chunks, off, n)
}

// HasChunks answers another node's "which of these do you have".
func (s *Service) HasChunks(items []HasItem) []string {
	return s.node.chunks.HasChunks(items)
}

// sweepOrphans deletes old unreferenced chunk files (block.SweepOrphans).
func (n *Node) sweepOrphans() { n.cluster.blocks.SweepOrphans(n.cfg.OrphanGrace) }

// recountChunks recounts the chunk store's files and bytes (the gauges
// follow commits and deletes in between).
func (n *Node) recountChunks() { n.cluster.blocks.Recount() }
