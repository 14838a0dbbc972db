// Package meta is forkstore's replicated metadata: the keyspace (keys.go),
// the binary codec of records, commands and results, the deterministic
// apply of every mutation, reads at a version with fork read-through, the
// listing merge, retention and garbage collection planning, and the
// Dragonboat IOnDiskStateMachine over Badger that hosts it all.
//
// Imports: Badger and dragonboat/v4/statemachine only. meta knows nothing
// of HTTP, S3 wire formats, Raft transport or the gateway; it must never
// import fiber, s3api, gateway, raft or any other dragonboat package.
//
// Using it:
//   - the gateway builds commands (command.go), stamping wall-clock time
//     and ids, encodes them with EncodeCommand and proposes them; the
//     sm.Result comes back through DecodeResult as a *Result and one of the
//     sentinels of errors.go;
//   - reads are Queries (func(*Reader) (any, error)) passed to Raft's
//     linearizable read, which calls FSM.Lookup; background work that can
//     read stale state uses Handle.Read on the local replica instead
//     (NewStateMachineHandle);
//   - retention GC: the gateway lists Reader.PendingGC and proposes
//     GCBucket for each bucket until it is no longer pending (and, with a
//     history window, proposes GCBucket for every bucket periodically);
//     chunks whose last reference went away are in Reader.GCQueue, and
//     TrimGC removes the entries once every node deleted its copy.
//
// Determinism: apply never reads the clock, random numbers, map iteration
// order or node-local state. The options that take part in apply
// (Options.MaxForkDepth when a command leaves it 0, Options.History) must
// be equal on every replica.
package meta
