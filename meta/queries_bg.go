package meta

// Queries of background work that a node runs on shards it holds no
// replica of (gateway: the chunk collector and the keys watcher), so they
// cross nodes (query.go).

// GCQueueQuery reads a shard's GC queue (Reader.GCQueue).
type GCQueueQuery struct {
	After uint64
	Limit int
}

// Run runs the query.
func (q GCQueueQuery) Run(r *Reader) (any, error) { return r.GCQueue(q.After, q.Limit) }

// KeysGenerationQuery reads a shard's keys generation
// (Reader.KeysGeneration).
type KeysGenerationQuery struct{}

// Run runs the query.
func (KeysGenerationQuery) Run(r *Reader) (any, error) { return r.KeysGeneration() }

// ChunksQuery reads a page of a shard's chunk references
// (Reader.Chunks).
type ChunksQuery struct {
	After string
	Limit int
}

// Run runs the query.
func (q ChunksQuery) Run(r *Reader) (any, error) { return r.Chunks(q.After, q.Limit) }

// ChunkQuery reads one chunk's reference (Reader.Chunk): a *ChunkInfo, or
// nil when the shard does not reference it.
type ChunkQuery struct{ ID string }

// Run runs the query.
func (q ChunkQuery) Run(r *Reader) (any, error) {
	ci, ok, err := r.Chunk(q.ID)
	if !ok || err != nil {
		return (*ChunkInfo)(nil), err
	}
	return &ci, nil
}

// ChunksReferencedQuery says which of IDs a shard references
// (Reader.ChunkReferenced), in order.
type ChunksReferencedQuery struct{ IDs []string }

// Run runs the query.
func (q ChunksReferencedQuery) Run(r *Reader) (any, error) {
	out := make([]bool, len(q.IDs))
	for i, id := range q.IDs {
		out[i] = r.ChunkReferenced(id)
	}
	return out, nil
}

// StatsQuery reads a shard's counts (Reader.Stats).
type StatsQuery struct{ GCAfter uint64 }

// Run runs the query.
func (q StatsQuery) Run(r *Reader) (any, error) { return r.Stats(q.GCAfter) }

func init() {
	RegisterQuery(StatsQuery{}, Stats{})
	RegisterQuery(GCQueueQuery{}, []GCEntry{})
	RegisterQuery(KeysGenerationQuery{}, uint64(0))
	RegisterQuery(ChunksQuery{}, []ChunkInfo{})
	RegisterQuery(ChunkQuery{}, &ChunkInfo{})
	RegisterQuery(ChunksReferencedQuery{}, []bool{})
}
