package pool

import (
	"context"
	"errors"
	"fmt"

	"github.com/procpool/procpool/internal/wire"
)

// Sentinel errors. A *TaskError from a worker matches the sentinel of its
// kind with errors.Is, so these work across the wire.
var (
	// ErrTimeout: AsyncResult.Get's timeout passed (the task goes on), or a
	// task ran past WithTaskTimeout.
	ErrTimeout = errors.New("pool: timeout")
	// ErrWorkerLost: every one of MaxAttempts executions of the task ended
	// with its worker process gone or hung.
	ErrWorkerLost = errors.New("pool: worker lost")
	// ErrClosed: the pool is closed, or closed while the call waited (it is
	// also [ipc.ErrClosed]).
	ErrClosed = wire.ErrClosed
	// ErrUnknownTask: the worker that took the task has no function of that name.
	ErrUnknownTask = errors.New("pool: unknown task")
	// ErrTaskFailed matches every error a task function returned or panicked with.
	ErrTaskFailed = errors.New("pool: task failed")
	// ErrPanic matches a task that panicked.
	ErrPanic = errors.New("pool: task panicked")
	// ErrBadInput: the argument could not be decoded by the worker.
	ErrBadInput = errors.New("pool: bad task input")
	// ErrBadOutput: the task's result could not be encoded or sent back.
	ErrBadOutput = errors.New("pool: bad task output")
	// ErrUnavailable: the broker did not confirm that a task was queued,
	// after several tries spread over about half a minute (brokers down,
	// or a cluster without a JetStream leader, for that long). The task
	// may have been queued all the same and run; its result is then
	// dropped. Calls on a pool whose broker came back succeed again.
	// It is also [ipc.ErrUnavailable], which queues and pipes return when
	// the broker or its JetStream cannot answer, and it matches a
	// [TaskError] of code "unavailable": a task whose stored argument the
	// broker could not serve on any of its attempts. A call whose argument
	// is too large for a message and that the broker could not store fails
	// with it too.
	ErrUnavailable = wire.ErrUnavailable
	// ErrInvalidOption wraps every error from an invalid Option or MapOption
	// (and from an invalid queue option: it is [ipc.ErrInvalidOption]).
	ErrInvalidOption = wire.ErrInvalidOption
	// ErrInvalidArgument wraps every error from an invalid argument.
	ErrInvalidArgument = wire.ErrInvalidArgument
	// ErrTooLarge: a value is larger than the value store can hold (see
	// docs/protocol.md, Values of any size): values too large for a message
	// are stored, up to that store's free room.
	ErrTooLarge = wire.ErrTooLarge
)

// TaskError is a task's failure as reported by the worker that ran it: what
// the function returned or panicked with, and where.
type TaskError struct {
	Task    string // task name
	Code    string // kind of failure: "task", "panic", "timeout", "worker_lost", "unknown_task", "bad_input", "bad_output", "canceled", "unavailable"
	Message string // the error's text, or the panic's value
	Stack   string // the panicking goroutine's stack, for panics
	Worker  string // worker id
	PID     int    // worker process id
	Host    string // worker host
	Attempt int    // which execution of the task this was (1 = first)
	Index   int    // index of the failing item in the call's input (0 for Apply)
}

func (e *TaskError) Error() string {
	where := ""
	if e.Worker != "" {
		where = fmt.Sprintf(" on worker %s (pid %d, attempt %d)", e.Worker, e.PID, e.Attempt)
	}
	return fmt.Sprintf("pool: task %s item %d%s: %s: %s", e.Task, e.Index, where, e.Code, e.Message)
}

// Is matches the sentinel of the error's kind, and the context errors for
// timeouts and cancellations inside the task.
func (e *TaskError) Is(target error) bool {
	switch target {
	case ErrTaskFailed:
		return e.Code == wire.CodeTask || e.Code == wire.CodePanic
	case ErrPanic:
		return e.Code == wire.CodePanic
	case ErrTimeout, context.DeadlineExceeded:
		return e.Code == wire.CodeTimeout
	case context.Canceled:
		return e.Code == wire.CodeCanceled
	case ErrWorkerLost:
		return e.Code == wire.CodeWorkerLost
	case ErrUnknownTask:
		return e.Code == wire.CodeUnknownTask
	case ErrBadInput:
		return e.Code == wire.CodeBadInput
	case ErrUnavailable:
		return e.Code == wire.CodeUnavailable
	case ErrBadOutput:
		return e.Code == wire.CodeBadOutput
	}
	return false
}

func newTaskError(task string, info *wire.ErrorInfo, src *source, attempt, index int) *TaskError {
	return &TaskError{
		Task: task, Code: info.Code, Message: info.Message, Stack: info.Stack,
		Worker: src.worker, PID: src.pid, Host: src.host, Attempt: attempt, Index: index,
	}
}

// source is the worker a result came from.
type source struct {
	worker string
	pid    int
	host   string
}
