package block

import "errors"

// Errors of the chunk layer. gateway re-exports each under its own name
// (gateway/errors.go), so s3api maps them in its one table.
var (
	// ErrChunkMissing: a chunk copy is absent, short or fails its CRC32C,
	// or a copy received from another node is not the chunk it names.
	ErrChunkMissing = errors.New("block: chunk missing or corrupt")
	// ErrStorageFull: the disk (or this node's share of it) is full.
	ErrStorageFull = errors.New("block: no space left")
	// ErrInvalidRange: a byte range outside a chunk or an object.
	ErrInvalidRange = errors.New("block: invalid range")
	// ErrStopped: a walk or pass ended early because its stop channel
	// closed.
	ErrStopped = errors.New("block: stopped")
)

// ErrTooFewCopies: a chunk of an upload could not reach a majority of its
// holders (members down or unreachable); the upload must fail.
var ErrTooFewCopies = errors.New("block: chunk reached too few holders")
