package wire

import "errors"

// Error codes carried in a result's error. The pool maps them onto its
// exported sentinels so errors.Is works on the caller's side of the wire.
const (
	CodeTask        = "task"         // the task function returned an error
	CodePanic       = "panic"        // the task function panicked
	CodeTimeout     = "timeout"      // past its deadline: context or hard timeout
	CodeCanceled    = "canceled"     // the task returned context.Canceled
	CodeWorkerLost  = "worker_lost"  // MaxAttempts deliveries each ended with the worker gone
	CodeUnknownTask = "unknown_task" // no task of that name in the worker
	CodeBadInput    = "bad_input"    // the argument did not decode
	CodeBadOutput   = "bad_output"   // the result did not encode
	CodeUnavailable = "unavailable"  // the broker could not be reached on each attempt (a stored argument's fetch)
)

// ErrorInfo is a task failure as it crosses the wire (JSON inside the
// binary result envelope).
type ErrorInfo struct {
	Code    string `json:"code"`
	Message string `json:"msg"`
	Stack   string `json:"stack,omitempty"`
	Item    int    `json:"item,omitempty"` // index of the failing item within a chunk
}

// Sentinels that package pool and package ipc share: pool.ErrClosed and
// ipc.ErrClosed are the same value (and so on), so an error from a queue
// or a pipe matches a sentinel through either package's name. The texts
// are the ones the pool has always printed.
var (
	ErrClosed          = errors.New("pool: closed")
	ErrInvalidOption   = errors.New("pool: invalid option")
	ErrInvalidArgument = errors.New("pool: invalid argument")
	ErrTooLarge        = errors.New("pool: payload too large")
	ErrQueueEmpty      = errors.New("pool: queue empty")
	ErrUnavailable     = errors.New("pool: broker unavailable")
)
