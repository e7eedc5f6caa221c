// Package ipc holds procpool's means of communication between processes,
// in System V's sense of the word: queues ([Queue], Python's
// multiprocessing.Queue) and pipes ([PipeEnd], multiprocessing.Pipe), both
// on NATS JetStream. Every process that has a *nats.Conn to the broker,
// the pool's parent, its workers and workers on other hosts, opens them by
// name.
//
// Package ipc depends on the NATS client only, never on the broker or the
// pool, so a worker process that uses a queue links no NATS server.
package ipc
