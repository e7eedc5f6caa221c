package pool

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/worker"
)

// AsyncResult is the future of one ApplyAsync call (Python's AsyncResult).
type AsyncResult[R any] struct {
	done  chan struct{}
	state atomic.Int32 // 0 pending, 1 set
	val   R
	err   error
	stop  atomic.Pointer[func() bool] // detaches the ctx watcher
}

func (a *AsyncResult[R]) set(v R, err error) {
	if !a.state.CompareAndSwap(0, 1) {
		return
	}
	a.val, a.err = v, err
	close(a.done)
	if stop := a.stop.Load(); stop != nil {
		(*stop)()
	}
}

// Done is closed when the result is ready.
func (a *AsyncResult[R]) Done() <-chan struct{} { return a.done }

// Ready reports whether the call has completed.
func (a *AsyncResult[R]) Ready() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// Successful reports whether the call completed without error. It is false
// while the call is not ready.
func (a *AsyncResult[R]) Successful() bool { return a.Ready() && a.err == nil }

// Get waits up to timeout for the result; timeout <= 0 waits until the call
// completes. If the timeout passes first it returns ErrTimeout and the
// task goes on: Get may be called again.
func (a *AsyncResult[R]) Get(timeout time.Duration) (R, error) {
	if timeout <= 0 {
		<-a.done
		return a.val, a.err
	}
	select {
	case <-a.done:
		return a.val, a.err
	default:
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-a.done:
		return a.val, a.err
	case <-t.C:
		var zero R
		return zero, fmt.Errorf("%w: result not ready after %s", ErrTimeout, timeout)
	}
}

// Wait waits for the result until ctx ends; then it returns ctx's error and
// the task goes on.
func (a *AsyncResult[R]) Wait(ctx context.Context) (R, error) {
	select {
	case <-a.done:
		return a.val, a.err
	case <-ctx.Done():
		var zero R
		return zero, ctx.Err()
	}
}

// ApplyAsync submits one call of t with arg and returns at once (Python's
// apply_async). The call ends with ctx: if ctx ends first, the result is
// ctx's error.
func ApplyAsync[A, R any](ctx context.Context, p *Pool, t worker.Task[A, R], arg A) *AsyncResult[R] {
	a := &AsyncResult[R]{done: make(chan struct{})}
	var zero R
	if err := check(ctx, p, t.Name()); err != nil {
		a.set(zero, err)
		return a
	}
	payload, err := wire.Encode(arg)
	if err != nil {
		a.set(zero, fmt.Errorf("%w: %s: %w", ErrInvalidArgument, t.Name(), err))
		return a
	}
	name := t.Name()
	// Too large for a message: stored, and the task carries a reference.
	ref, err := p.d.storeTask(ctx, name, binary.AppendUvarint(nil, uint64(len(payload))), payload)
	if err != nil {
		a.set(zero, err)
		return a
	}
	seq, err := p.d.add(0, name, ref, func(r *wire.Result, src *source) {
		if r.Err != nil {
			a.set(zero, resultError(name, r, src, 0))
			return
		}
		if r.Len() != 1 {
			a.set(zero, fmt.Errorf("pool: task %s: %d results for one call", name, r.Len()))
			return
		}
		decode := wire.Decode[R]
		if r.Owned {
			decode = wire.DecodeOwned[R] // a large result, fetched: no copy
		}
		v, err := decode(r.First())
		if err != nil {
			err = &TaskError{Task: name, Code: wire.CodeBadOutput, Message: err.Error(), Worker: src.worker, PID: src.pid, Host: src.host, Attempt: r.Attempt}
		}
		a.set(v, err)
	})
	if err != nil {
		a.set(zero, err)
		return a
	}
	stop := context.AfterFunc(ctx, func() {
		if p.d.forget(seq) {
			a.set(zero, p.waitErr(ctx.Err()))
		}
	})
	a.stop.Store(&stop)
	if a.Ready() { // completed before the watcher was stored: detach it now
		stop()
	}
	sub := submission{name: name, task: wire.Task{Seq: seq, Items: [][]byte{payload}}, size: len(payload) + 16, items: 1}
	if ref != nil {
		sub.task, sub.size = wire.Task{Seq: seq, NItems: 1, Ref: ref}, 64
	}
	if err := p.d.enqueue(ctx, sub); err != nil {
		if p.d.forget(seq) {
			a.set(zero, err)
		}
	}
	return a
}

// Apply runs t with arg on a worker and waits for its result (Python's
// apply), until ctx ends.
func Apply[A, R any](ctx context.Context, p *Pool, t worker.Task[A, R], arg A) (R, error) {
	a := ApplyAsync(ctx, p, t, arg)
	if ctx == nil {
		return a.Get(0)
	}
	v, err := a.Wait(ctx)
	if err != nil && err == ctx.Err() {
		err = p.waitErr(err)
	}
	return v, err
}

// waitErr explains a call's context error when no worker is live: its
// tasks stay queued until one joins (docs/reliability.md, row 10).
func (p *Pool) waitErr(err error) error {
	if err == nil || p == nil || len(p.Workers()) > 0 {
		return err
	}
	return fmt.Errorf("pool: no live worker in pool %q (no local worker process, no remote worker has joined): %w", p.Name(), err)
}

// resultError turns a failed result into the caller's error.
func resultError(task string, r *wire.Result, src *source, index int) error {
	switch r.Err.Code {
	case codeClosed:
		return ErrClosed
	case codeQueue:
		return fmt.Errorf("pool: task %s: %w: %s", task, ErrUnavailable, r.Err.Message)
	}
	return newTaskError(task, r.Err, src, r.Attempt, index+r.Err.Item)
}

// Caller-side failure codes (never on the wire).
const (
	codeClosed = "closed"
	codeQueue  = "queue"
)
