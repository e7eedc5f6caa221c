package ipc

import "github.com/procpool/procpool/internal/wire"

// Sentinel errors. They are the values of the same names in package pool,
// so errors.Is matches either.
var (
	// ErrQueueEmpty is returned by [Queue.GetTimeout] when no item came in
	// time (Python's queue.Empty).
	ErrQueueEmpty = wire.ErrQueueEmpty
	// ErrClosed: the queue handle or pipe end is closed, or closed while
	// the call waited.
	ErrClosed = wire.ErrClosed
	// ErrInvalidOption wraps every error from an invalid Option.
	ErrInvalidOption = wire.ErrInvalidOption
	// ErrInvalidArgument wraps every error from an invalid argument.
	ErrInvalidArgument = wire.ErrInvalidArgument
	// ErrTooLarge: a value is larger than the value store can hold.
	ErrTooLarge = wire.ErrTooLarge
	// ErrUnavailable: the broker or its JetStream could not answer (no
	// responders, no response from the stream, disconnected, or a cluster
	// without a leader). The call may succeed once the broker is back.
	// (A request the connection's permissions refuse is not unavailable:
	// it fails at once with an error matching nats.ErrPermissionViolation.)
	ErrUnavailable = wire.ErrUnavailable
)
