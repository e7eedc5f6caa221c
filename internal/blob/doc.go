// Package blob stores values too large to travel inside a NATS message:
// a task's items, a task's results, a queue item. The message carries a
// wire.Ref instead, the reader fetches the value, and the value's owner
// deletes it once the reader is done.
//
// Two stores, one reference form:
//
//   - Dir: files in a per-caller directory under the host's value root,
//     shared memory (/dev/shm) where the OS has it. Only processes on the
//     same host can read them, and they are about three times faster than
//     the broker (docs/protocol.md, Values of any size). A caller uses it
//     when every worker that can take its tasks is on its host: its own
//     embedded, loopback-only broker.
//   - Objects: a JetStream object store bucket per pool, reachable from
//     every host of a cluster, replicated like the pool's task stream.
//
// Nothing outlives its bound: a caller removes its directory when it
// closes, and a new one sweeps the directories of callers whose process
// is gone; objects are deleted by their owner, tombstone included, and the
// bucket's TTL ends any that a killed process left behind.
package blob
