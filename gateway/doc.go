// Package gateway is a forkstore node: its configuration, start-up and
// shutdown, and the use cases the S3 front end calls (buckets, objects,
// multipart uploads, snapshots and forks).
//
// It stamps wall-clock time and fresh ids into commands (apply in meta must
// stay deterministic), proposes them through raft, and reads metadata
// linearizably. Object bytes never go through Raft: bodies stream into the
// local chunk store (chunkstore.go), each hash computed once on the way, and
// only the manifest is committed; the PUT is acknowledged after that commit.
//
// gateway imports meta and raft; it never imports s3api or Fiber, and no
// HTTP type crosses its API.
package gateway
