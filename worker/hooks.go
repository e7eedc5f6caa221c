package worker

import (
	"context"
	"sync"
)

var (
	hookMu  sync.Mutex
	onStart func(ctx context.Context) error
)

// OnStart sets the initializer every worker process of this program runs
// once before its first task (Python's Pool(initializer=...)). Call it at
// package level or in init, like Register, so that re-executed worker
// processes set it too. If it fails, the worker takes no task and exits,
// and the pool reports the error. Setting it twice panics.
func OnStart(fn func(ctx context.Context) error) {
	hookMu.Lock()
	defer hookMu.Unlock()
	if fn == nil {
		panic("worker: OnStart: nil function")
	}
	if onStart != nil {
		panic("worker: OnStart: set twice")
	}
	onStart = fn
}

func startHook() func(ctx context.Context) error {
	hookMu.Lock()
	defer hookMu.Unlock()
	return onStart
}
