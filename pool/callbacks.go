package pool

import (
	"context"

	"github.com/procpool/procpool/worker"
)

// Then arranges for onValue(result) or onError(err) to be called once the
// call completes (Python's apply_async(callback=, error_callback=)); either
// may be nil. It returns a channel that is closed after the callback has
// returned (or at once on completion if there is no callback to call), so
// that a caller can wait for its callbacks before it exits.
//
// The callback runs on a goroutine of its own, never on the goroutine that
// routes the pool's results, so it may block or take long without holding
// up other calls. Callbacks of different results may therefore run at the
// same time, unlike Python's, which run one after another: guard what they
// share. A callback that panics crashes the program, as any goroutine's
// panic does. Then may be called more than once; each call adds a callback.
func (a *AsyncResult[R]) Then(onValue func(R), onError func(error)) <-chan struct{} {
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		<-a.done
		if a.err != nil {
			if onError != nil {
				onError(a.err)
			}
			return
		}
		if onValue != nil {
			onValue(a.val)
		}
	}()
	return finished
}

// MapAsync is Map that returns at once with the future of its results
// (Python's map_async): Get, Wait or Then it. The call ends with ctx, and
// its result is Map's: every result in the order of items, or the first
// error.
func MapAsync[A, R any](ctx context.Context, p *Pool, t worker.Task[A, R], items []A, opts ...MapOption) *AsyncResult[[]R] {
	a := &AsyncResult[[]R]{done: make(chan struct{})}
	if err := check(ctx, p, t.Name()); err != nil {
		a.set(nil, err)
		return a
	}
	// The goroutine is the AsyncResult's: it ends when Map does, which
	// ctx, the pool's Close or the results themselves bound.
	go func() {
		out, err := Map(ctx, p, t, items, opts...)
		a.set(out, err)
	}()
	return a
}
