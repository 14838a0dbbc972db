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

func init() {
	RegisterQuery(GCQueueQuery{}, []GCEntry{})
	RegisterQuery(KeysGenerationQuery{}, uint64(0))
}
