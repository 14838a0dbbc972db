// Package raft runs a Dragonboat NodeHost for forkstore: it starts and joins
// shards backed by an on-disk state machine, proposes opaque []byte commands
// and runs opaque queries with deadlines and bounded retries, changes
// membership, transfers leadership, and routes Dragonboat's logging to slog.
// Nodes talk over a transport of its own (transport.go) that authenticates
// both ends with Config.Key, an opaque secret, before any Raft frame.
//
// It knows neither S3 nor the metadata keyspace: the state machine arrives
// as a statemachine.CreateOnDiskStateMachineFunc, commands are bytes it never
// decodes and queries are values it passes to Lookup untouched. It must not
// import meta, gateway, s3api or fiber (deps_test.go enforces this).
//
// Failures of replication (no leader, busy, timed out, closed, canceled)
// come back wrapping ErrUnavailable, which the S3 layer turns into a
// retryable 503. Errors returned by the state machine's Lookup pass through
// unchanged.
package raft
