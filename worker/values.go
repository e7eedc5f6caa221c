package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/procpool/procpool/internal/wire"
)

// Values of any size: a task too large for a message arrives as a
// reference to its stored items, and a result too large for one is stored
// the same way (docs/protocol.md, Values of any size): in the caller's
// value directory when it is on this host, in the pool's object store
// bucket otherwise. The caller deletes both once it has the result.

// valueTimeout bounds the fetch or store of one value.
const valueTimeout = 5 * time.Minute

// taskItems returns a task's items, fetching them first if they are
// stored. A value that cannot be had is the task's error, not the
// worker's: the caller may have given up on it (and deleted it), or its
// TTL passed.
func (rt *executor) taskItems(ctx context.Context, t *wire.Task) ([][]byte, *wire.ErrorInfo) {
	if t.Ref == nil {
		return t.Items, nil
	}
	ctx, cancel := context.WithTimeout(ctx, valueTimeout)
	defer cancel()
	data, err := rt.vals.Get(ctx, *t.Ref)
	var items [][]byte
	if err == nil {
		items, err = wire.SplitItems(make([][]byte, 0, t.NItems), data, t.NItems)
	}
	if err != nil {
		return nil, &wire.ErrorInfo{Code: wire.CodeBadInput, Message: fmt.Sprintf("stored argument %v: %v", *t.Ref, err)}
	}
	return items, nil
}

// storeResult stores the n encoded items of a result (the concatenation
// of parts) and appends to dst the result as a reference to them, or as an
// error if they cannot be stored. dst may share memory with parts: it is
// written only once they are stored.
func (rt *executor) storeResult(ctx context.Context, j *job, t *wire.Task, dst []byte, n int, parts ...[]byte) []byte {
	ctx, cancel := context.WithTimeout(ctx, valueTimeout)
	defer cancel()
	ref, err := rt.vals.Put(ctx, j.valueDir, "r", parts...)
	if err != nil {
		size := 0
		for _, p := range parts {
			size += len(p)
		}
		return wire.AppendResult(dst, &wire.Result{Seq: t.Seq, Attempt: j.attempt, Err: &wire.ErrorInfo{
			Code: wire.CodeBadOutput, Message: fmt.Sprintf("result of task %s (%d bytes): %v", j.name, size, err)}})
	}
	return wire.AppendResult(dst, &wire.Result{Seq: t.Seq, Attempt: j.attempt, NItems: n, Ref: &ref})
}

// maxKeptBuffer bounds the executor's reused buffers: after a large
// result they are let go rather than held for the small ones.
const maxKeptBuffer = 1 << 20

// trimBuffers drops reused buffers grown past maxKeptBuffer by the last
// task; the result they held has been copied out since.
func (rt *executor) trimBuffers() {
	if cap(rt.itemBuf) > maxKeptBuffer {
		rt.itemBuf = nil
	}
	if cap(rt.resBuf) > maxKeptBuffer {
		rt.resBuf = nil
	}
}
