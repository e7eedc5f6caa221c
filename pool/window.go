package pool

import (
	"context"
	"sync"
)

// byteWindow bounds the bytes of a call's chunks in flight (queued,
// running, or back and not yet consumed), so that a stream of large items
// holds at most this much at a time, however many chunks the chunk window
// allows. One chunk larger than the whole window still goes, alone.
type byteWindow struct {
	mu      sync.Mutex
	max     int64
	used    int64
	changed chan struct{} // closed and replaced on every release
}

func newByteWindow(max int64) *byteWindow {
	return &byteWindow{max: max, changed: make(chan struct{})}
}

// acquire waits until n more bytes fit, or ctx ends.
func (w *byteWindow) acquire(ctx context.Context, n int64) error {
	for {
		w.mu.Lock()
		if w.used == 0 || w.used+n <= w.max {
			w.used += n
			w.mu.Unlock()
			return nil
		}
		ch := w.changed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release gives back n bytes.
func (w *byteWindow) release(n int64) {
	w.mu.Lock()
	w.used -= n
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
}
