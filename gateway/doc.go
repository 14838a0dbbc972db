// Package gateway is a forkstore node: its configuration, start-up and
// shutdown, and the use cases the S3 front end calls (buckets, objects,
// multipart uploads, snapshots and forks, keys, cluster administration).
//
// It stamps wall-clock time and fresh ids into commands (apply in meta must
// stay deterministic), proposes them through raft, and reads metadata
// linearizably. Object bytes never go through Raft: bodies stream into the
// local chunk store (ingest.go cuts them into chunks, each hash computed
// once on the way), the chunk layer (package block) copies each chunk to
// its holders, and only the manifest is committed; the PUT is acknowledged
// after that commit. gateway supplies block with what it needs of the
// metadata (the chunk references, chunks.go; the member list, cluster.go).
//
// gateway imports meta, raft and block; it never imports s3api or Fiber,
// and no HTTP type crosses its API.
package gateway
