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
package worker
