// Package forkstore is an S3-compatible object gateway whose buckets can be
// snapshotted and forked in O(1), with copy-on-write read-through to the
// parent. The server is gateway/cmd/forkstore; see README.md and
// docs/ for how it fits together.
package forkstore
