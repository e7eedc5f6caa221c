package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/procpool/procpool/internal/wire"
)

// Values of any size: a task too large for a message arrives as a
// reference to its stored items, and a result too large for one is stored
// the same way (docs/protocol.md, Values of any size): in the caller's
// value directory when it is on this host, in the pool's object store
// bucket otherwise. The caller deletes both once it has the result.

// valueTimeout bounds the fetch or store of one value; a test shortens it.
var valueTimeout = 5 * time.Minute

// taskItems returns a task's items, fetching them first if they are
// stored. A value that cannot be had is the task's error, not the
// worker's: the caller may have given up on it (and deleted it), or its
// TTL passed; that is bad_input. A value the broker could not serve (it
// was unavailable or did not answer, after internal/blob's retries) is
// unavailable: the task is handed back to run again (retryUnavailable).
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
		code := wire.CodeBadInput
		if unreachable(ctx, err) {
			code = wire.CodeUnavailable
		}
		return nil, &wire.ErrorInfo{Code: code, Message: fmt.Sprintf("stored argument %v: %v", *t.Ref, err)}
	}
	return items, nil
}

// unreachable reports whether err, from reading a value, says the broker
// could not serve it rather than that the value is not there or is bad:
// it was unavailable, or did not answer before the fetch's own deadline.
func unreachable(ctx context.Context, err error) bool {
	return wire.Unreachable(err) || (errors.Is(err, context.DeadlineExceeded) && ctx.Err() == context.DeadlineExceeded)
}

// retryUnavailable hands the message's i-th task back to run again, as
// another attempt, after its stored argument could not be read with the
// broker unavailable; it reports false when the task should answer the
// error instead: its attempts are used up, or it could not be handed back.
// A task alone in its message asks for the message again (a -NAK with a
// delay, at the end); one among others goes on in a message of its own,
// <msgID>.u<i>.0, recorded first like any give-back (givenback.go).
func (rt *executor) retryUnavailable(j *job, i int) bool {
	if limit := j.maxAttempts; j.attempt >= limit && limit > 0 || limit <= 0 && j.attempt >= defaultUnavailableAttempts {
		return false
	}
	if len(j.tm.Tasks) == 1 {
		rt.log.Warn("stored argument unavailable; the task's message will be delivered again", "task", j.name, "attempt", j.attempt)
		j.nak = true
		return true
	}
	p := part{"u" + strconv.Itoa(i), span{i, i + 1}}
	rt.log.Warn("stored argument unavailable; handing the task back to run again", "task", j.name, "seq", j.tm.Tasks[i].Seq, "attempt", j.attempt)
	err := rt.record(j, unavailableWait, p)
	if err == nil {
		// This attempt counts: the message carries it in its deaths.
		err = rt.requeue(j, j.tm.Tasks[i:i+1], p.tag, 1, j.attempt)
	}
	if err != nil {
		rt.log.Warn("stored argument unavailable, and the task could not be handed back", "task", j.name, "err", err)
		j.unrecord(p)
		return false
	}
	return true
}

// unavailableWait bounds how long a task whose argument could not be read
// waits for the broker to take its give-back; the run stays on it then.
const unavailableWait = 15 * time.Second

// defaultUnavailableAttempts bounds retryUnavailable for a message
// without Procpool-Max-Attempts.
const defaultUnavailableAttempts = 3

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
