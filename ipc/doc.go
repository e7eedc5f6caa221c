// Package ipc holds procpool's means of communication between processes,
// in System V's sense of the word: queues ([Queue], Python's
// multiprocessing.Queue) and pipes ([PipeEnd], multiprocessing.Pipe), both
// on NATS JetStream. Every process that has a *nats.Conn to the broker,
// the pool's parent, its workers and workers on other hosts, opens them by
// name.
//
// Shared handles. Any number of handles, in any processes, may read one
// queue or one pipe end, and whichever is inside Get, Recv or Poll gets the
// next item. A handle that is not inside such a call holds nothing another
// reader waits for: it fetches only for a call that waits, and gives back
// at once (to the head of the queue, order kept) whatever it fetched that
// the call did not return. The one exception is the rest of a packed
// message a Get or Recv has started (see [Queue]).
//
// Package ipc depends on the NATS client only, never on the broker or the
// pool, so a worker process that uses a queue links no NATS server.
package ipc
