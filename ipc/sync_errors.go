package ipc

import "errors"

// Errors of the synchronization primitives ([Lock], [Semaphore], [Event],
// [Barrier], [Value], [Dict]).
var (
	// ErrLocked is returned by [Lock.TryLock] when another holder has the
	// lock, and by [Semaphore.TryAcquire] when every slot is taken.
	ErrLocked = errors.New("ipc: locked")
	// ErrNotHeld is returned by [Lock.Unlock] and [Semaphore.Release]
	// when the handle does not hold what it releases: it never did, it
	// released it already, or its lease ran out (its holder could not
	// renew it in time) and it may have passed to another holder since.
	ErrNotHeld = errors.New("ipc: not held")
	// ErrBrokenBarrier is returned by [Barrier.Wait] to every party of a
	// barrier broken while they waited (one of them gave up: its ctx ended,
	// or [Barrier.Abort]) and at once on a broken barrier until
	// [Barrier.Reset] (Python's threading.BrokenBarrierError).
	ErrBrokenBarrier = errors.New("ipc: broken barrier")
	// ErrMismatch: a primitive opened by name exists with another shape
	// (a Semaphore with another count, a Barrier with other parties).
	ErrMismatch = errors.New("ipc: exists with another shape")
)
