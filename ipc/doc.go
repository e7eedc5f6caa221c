// Package ipc holds procpool's means of communication between processes,
// in System V's sense of the word: queues ([Queue], Python's
// multiprocessing.Queue) and pipes ([PipeEnd], multiprocessing.Pipe), both
// on NATS JetStream. Every process that has a *nats.Conn to the broker,
// the pool's parent, its workers and workers on other hosts, opens them by
// name.
//
// Beside them are the synchronization primitives of Python's
// multiprocessing, across hosts too: [Lock] (on a lease, so that a killed
// holder does not block the others for ever), [Semaphore], [Event],
// [Barrier], [Condition], [Value] and [Dict] (Manager().dict(), with a
// watch). They live in one JetStream key-value bucket per pool account,
// [SyncBucket], under keys named after their kind and name (letters,
// digits, '_' and '-'); Delete removes one. A Lock or Semaphore slot is
// held on a lease ([WithLease], default [DefaultLease]) that a goroutine
// of the holding handle renews every third of it; a holder that is
// killed stops renewing, the broker expires its key a lease later at
// most, and a waiter proceeds. Unlock once the lease ran out returns
// [ErrNotHeld]. Every wait is bounded by its ctx; no wait is fair (no
// order among waiters is promised). There is no reentrant lock (see
// [Lock]). docs/ipc.md gives the design in full.
//
// Shared handles. Any number of handles, in any processes, may read one
// queue or one pipe end, and whichever is inside Get, Recv or Poll gets the
// next item. A handle that is not inside such a call holds nothing another
// reader waits for: it fetches only for a call that waits, and gives back
// at once (to the head of the queue, order kept) whatever it fetched that
// the call did not return. The rest of a packed message a Get or Recv has
// started is handed back the same way within 40 ms of the handle's last
// call, with a record in [SyncBucket] of the items already returned, which
// the next reader skips (see [Queue]).
//
// Package ipc depends on the NATS client only, never on the broker or the
// pool, so a worker process that uses a queue links no NATS server.
package ipc
