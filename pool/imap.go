package pool

import (
	"context"
	"fmt"
	"iter"
	"sync"

	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/worker"
)

// IMap is Map over a stream: items are read lazily (no further ahead than
// the window), results come out in input order as they are ready (Python's
// imap). A failed item yields its error and the stream goes on; breaking
// out of the loop drops what is still queued.
func IMap[A, R any](ctx context.Context, p *Pool, t worker.Task[A, R], items iter.Seq[A], opts ...MapOption) iter.Seq2[R, error] {
	return imap(ctx, p, t, items, true, opts)
}

// IMapUnordered is IMap yielding results in completion order (Python's
// imap_unordered).
func IMapUnordered[A, R any](ctx context.Context, p *Pool, t worker.Task[A, R], items iter.Seq[A], opts ...MapOption) iter.Seq2[R, error] {
	return imap(ctx, p, t, items, false, opts)
}

func imap[A, R any](ctx context.Context, p *Pool, t worker.Task[A, R], items iter.Seq[A], ordered bool, opts []MapOption) iter.Seq2[R, error] {
	return func(yield func(R, error) bool) {
		var zero R
		err := check(ctx, p, t.Name())
		if err == nil && items == nil {
			err = fmt.Errorf("%w: nil items", ErrInvalidArgument)
		}
		o, oerr := buildMapOptions(opts)
		if err == nil {
			err = oerr
		}
		if err != nil {
			yield(zero, err)
			return
		}
		if o.chunksize == 0 {
			o.chunksize = 1
		}
		ctx, cancel := context.WithCancel(ctx)
		m := newMapCall(p, t.Name(), o)
		var wg sync.WaitGroup
		// Shutdown order: stop the feeder (cancel), wait for it, then
		// forget what is still queued.
		defer func() { cancel(); wg.Wait(); m.abandon() }()

		var mu sync.Mutex
		total, feedDone := -1, false                                                          // chunks submitted, once the input ends
		totalItems := -1                                                                      // items submitted, once the input ends
		prog := p.trackProgress(newProgress(o.progress, -1), t.Name(), imapKind(ordered), -1) // progress.go
		defer prog.end()
		var feedErr error
		wg.Go(func() {
			n, nItems, err := feed(ctx, m, &chunker[A]{name: t.Name(), size: o.chunksize}, items)
			mu.Lock()
			if err != nil {
				feedErr = err
			}
			total, feedDone, totalItems = n, true, nItems
			mu.Unlock()
			m.wake()
		})

		held := map[int]chunkOutcome{} // ordered: arrived ahead of their turn
		next, yielded := 0, 0
		emit := func(oc chunkOutcome) bool {
			defer m.release(&oc)
			yielded++
			if oc.err != nil {
				for range max(oc.n, 1) {
					if !yield(zero, oc.err) {
						return false
					}
				}
				return true
			}
			k := -1
			for b := range oc.items {
				k++
				v, err := wire.Decode[R](b)
				if err != nil {
					err = &TaskError{Task: t.Name(), Code: wire.CodeBadOutput, Message: err.Error(), Index: oc.first + k}
					prog.failItem()
				}
				if !yield(v, err) {
					return false
				}
			}
			return true
		}
		for {
			for _, oc := range m.take() {
				prog.add(oc.n, oc.err != nil)
				if !ordered {
					if !emit(oc) {
						return
					}
					continue
				}
				held[oc.index] = oc
				for {
					h, ok := held[next]
					if !ok {
						break
					}
					delete(held, next)
					next++
					if !emit(h) {
						return
					}
				}
			}
			mu.Lock()
			fe, done, n, nItems := feedErr, feedDone, total, totalItems
			mu.Unlock()
			if done {
				prog.setTotal(nItems)
			}
			prog.report()
			if fe != nil {
				yield(zero, fe)
				return
			}
			if done && yielded == n {
				return
			}
			if err := m.wait(ctx); err != nil {
				if p.closed.Load() {
					err = ErrClosed
				}
				yield(zero, p.waitErr(err))
				return
			}
		}
	}
}

func imapKind(ordered bool) string {
	if ordered {
		return "imap"
	}
	return "imap_unordered"
}
