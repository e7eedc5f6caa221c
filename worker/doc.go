// Package worker is the worker side of procpool: the task registry and the
// runtime that serves tasks in a worker process.
//
// Tasks are plain Go functions registered under a name at package level,
// so that every process of the program knows them:
//
//	var upper = worker.Register("upper", func(ctx context.Context, s string) (string, error) {
//		return strings.ToUpper(s), nil
//	})
//
// A program that uses package pool calls Main first in main: when the pool
// re-executes the binary as a worker, Main serves tasks until told to stop
// and exits; in the original process it returns at once. A standalone
// worker binary calls Serve with a Config instead.
//
// Inside a task, Current(ctx) says which worker runs it (id, pid, ppid,
// host) and which attempt this is, and Conn(ctx) is the worker's NATS
// connection, for queues and pipes. A panic in a task is recovered and
// returned to the caller with its stack; the worker keeps serving.
//
// A worker takes one message at a time from the pool's JetStream work
// queue and only when idle; it sends progress while a task runs, and hands
// back the tasks of a packed message that it has not started once it has
// been busy for a few milliseconds, so no task waits behind a long one
// while another worker is idle. See docs/protocol.md.
//
// OnStart sets an initializer (Python's Pool(initializer=...)) that every
// worker process runs once, before its first task; set it at package
// level, like Register. If it fails or panics the worker takes no task and
// exits with ExitInitFailed, and pool.New returns "worker initializer
// failed" with its message instead of hiding it:
//
//	func init() {
//		worker.OnStart(func(ctx context.Context) error { return openDB() })
//	}
//
// A process made by pool.Start is a worker too, for one call: Main runs
// the initializer, then the call, with Current and Conn as in a pool
// worker, hands the result to the parent and exits (0 after success, 1
// after an error, as Python's Process). Inside any task, Conn(ctx) opens
// the queues and pipes the parent named: ipc.NewQueue[T](ctx,
// worker.Conn(ctx), name), ipc.OpenPipe[T](ctx, worker.Conn(ctx), name).
package worker
