// Package block is a node's chunk layer: the local chunk store (one
// immutable, CRC32C-checked file per chunk), the placement of each chunk
// over the cluster's members (rendezvous hashing, R = min(replicas,
// members) holders), the replication of an upload's chunks while its body
// streams in (the local copy, pushes to the other holders, a majority of
// fsynced copies before the manifest may commit), reads of a chunk from
// another holder, repair (pulling missing copies, counting under-replicated
// chunks, dropping extra copies), the scrubber, the orphan sweeper and the
// signed node-to-node client that moves copies.
//
// What it needs of the metadata comes in through Refs (which chunks are
// referenced) and SetMembers (the current members with their addresses),
// both supplied by gateway, which knows how the metadata is stored and
// sharded; block knows neither Raft nor shards.
//
// block imports meta (for its types), the standard library and
// golang.org/x/sys/unix (O_DIRECT for received copies); it never imports
// gateway, s3api or raft. gateway imports block.
package block
