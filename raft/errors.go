package raft

import "errors"

// ErrUnavailable is wrapped by every error that means "the shard could not
// serve this request now; retrying later may succeed". Test with
// errors.Is(err, ErrUnavailable).
var ErrUnavailable = errors.New("raft: unavailable")

// The specific unavailability causes. Each wraps ErrUnavailable.
var (
	// ErrShardNotReady: the shard has no leader yet, is still recovering,
	// or dropped the request (for example during an election).
	ErrShardNotReady error = &unavailableError{"raft: shard not ready"}
	// ErrNoQuorum: this replica has known no leader of the shard for
	// longer than an election takes: a majority of its members is down or
	// cut off from it.
	ErrNoQuorum error = &unavailableError{"raft: the shard has no quorum (leader unknown)"}
	// ErrSystemBusy: Dragonboat refused the request because its queues or
	// in-memory log are full.
	ErrSystemBusy error = &unavailableError{"raft: system busy"}
	// ErrTimeout: the request did not complete before its deadline.
	ErrTimeout error = &unavailableError{"raft: timeout"}
	// ErrClosed: the host or the shard is shutting down.
	ErrClosed error = &unavailableError{"raft: closed"}
	// ErrCanceled: the caller's context was canceled.
	ErrCanceled error = &unavailableError{"raft: canceled"}
)

// unavailableError is a cause of unavailability; it unwraps to
// ErrUnavailable so that both errors.Is(err, ErrTimeout) and
// errors.Is(err, ErrUnavailable) hold.
type unavailableError struct{ msg string }

func (e *unavailableError) Error() string { return e.msg }
func (e *unavailableError) Unwrap() error { return ErrUnavailable }
