package integration

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/procpool/procpool/ipc"
	"github.com/procpool/procpool/worker"
)

// syncArg is the argument of the tasks that use package ipc's primitives
// from worker processes: the names they open, and how much to do.
type syncArg struct {
	Name  string        // of the primitives
	M     int           // rounds
	Lease time.Duration // of the lock, 0 for the default
	N     int           // a semaphore's count, a barrier's parties
	Wait  time.Duration // a barrier wait's bound
}

// barrierOut is what a party of a barrier reports.
type barrierOut struct {
	Arrived, Released time.Time
	Index             int
	Broken            bool
	Err               string
}

func leaseOpts(a syncArg) []ipc.Option {
	if a.Lease == 0 {
		return nil
	}
	return []ipc.Option{ipc.WithLease(a.Lease)}
}

var (
	// syncIncr adds 1 to the Value a.Name a.M times by Load then Store
	// (not Update), under the Lock a.Name: only the lock keeps the
	// increments of several processes from overwriting each other.
	syncIncr = worker.Register("it.sync.incr", func(ctx context.Context, a syncArg) (int, error) {
		nc := worker.Conn(ctx)
		l, err := ipc.NewLock(ctx, nc, a.Name, leaseOpts(a)...)
		if err != nil {
			return 0, err
		}
		v, err := ipc.NewValue[int](ctx, nc, a.Name)
		if err != nil {
			return 0, err
		}
		for i := range a.M {
			if err := l.Lock(ctx); err != nil {
				return i, err
			}
			n, err := v.Load(ctx)
			if err == nil {
				err = v.Store(ctx, n+1)
			}
			if uerr := l.Unlock(ctx); err == nil {
				err = uerr
			}
			if err != nil {
				return i, err
			}
		}
		return a.M, nil
	})

	// syncHold takes the Lock a.Name, sets the Event a.Name, and holds
	// the lock until its process is killed.
	syncHold = worker.Register("it.sync.hold", func(ctx context.Context, a syncArg) (int, error) {
		nc := worker.Conn(ctx)
		l, err := ipc.NewLock(ctx, nc, a.Name, leaseOpts(a)...)
		if err != nil {
			return 0, err
		}
		e, err := ipc.NewEvent(ctx, nc, a.Name)
		if err != nil {
			return 0, err
		}
		if err := l.Lock(ctx); err != nil {
			return 0, err
		}
		if err := e.Set(ctx); err != nil {
			return 0, err
		}
		<-ctx.Done()
		return 0, ctx.Err()
	})

	// syncSem enters the Semaphore a.Name (count a.N) a.M times; inside,
	// it counts itself in the Value a.Name+"-in" and raises the Value
	// a.Name+"-max" to that count, and counts the entry in a.Name+"-n".
	syncSem = worker.Register("it.sync.sem", func(ctx context.Context, a syncArg) (int, error) {
		nc := worker.Conn(ctx)
		s, err := ipc.NewSemaphore(ctx, nc, a.Name, a.N)
		if err != nil {
			return 0, err
		}
		in, err := ipc.NewValue[int](ctx, nc, a.Name+"-in")
		if err != nil {
			return 0, err
		}
		most, err := ipc.NewValue[int](ctx, nc, a.Name+"-max")
		if err != nil {
			return 0, err
		}
		entries, err := ipc.NewValue[int](ctx, nc, a.Name+"-n")
		if err != nil {
			return 0, err
		}
		for i := range a.M {
			if err := s.Acquire(ctx); err != nil {
				return i, err
			}
			now, err := in.Update(ctx, func(n int) int { return n + 1 })
			if err != nil {
				return i, err
			}
			if _, err := most.Update(ctx, func(m int) int { return max(m, now) }); err != nil {
				return i, err
			}
			if _, err := entries.Update(ctx, func(n int) int { return n + 1 }); err != nil {
				return i, err
			}
			time.Sleep(20 * time.Millisecond)
			if _, err := in.Update(ctx, func(n int) int { return n - 1 }); err != nil {
				return i, err
			}
			if err := s.Release(ctx); err != nil {
				return i, err
			}
		}
		return a.M, nil
	})

	// syncBarrier waits at the Barrier a.Name of a.N parties, for a.Wait.
	syncBarrier = worker.Register("it.sync.barrier", func(ctx context.Context, a syncArg) (barrierOut, error) {
		b, err := ipc.NewBarrier(ctx, worker.Conn(ctx), a.Name, a.N)
		if err != nil {
			return barrierOut{}, err
		}
		wctx, cancel := context.WithTimeout(ctx, a.Wait)
		defer cancel()
		out := barrierOut{Arrived: time.Now()}
		out.Index, err = b.Wait(wctx)
		out.Released = time.Now()
		if err != nil {
			out.Broken, out.Err = errors.Is(err, ipc.ErrBrokenBarrier), err.Error()
		}
		return out, nil
	})

	// syncEventWait counts itself in the Value a.Name, then waits for the
	// Event a.Name.
	syncEventWait = worker.Register("it.sync.event-wait", func(ctx context.Context, a syncArg) (int, error) {
		nc := worker.Conn(ctx)
		e, err := ipc.NewEvent(ctx, nc, a.Name)
		if err != nil {
			return 0, err
		}
		v, err := ipc.NewValue[int](ctx, nc, a.Name)
		if err != nil {
			return 0, err
		}
		if _, err := v.Update(ctx, func(n int) int { return n + 1 }); err != nil {
			return 0, err
		}
		return worker.Current(ctx).PID, e.Wait(ctx)
	})

	// syncDictUpdate adds 1 to the key "n" of the Dict a.Name a.M times,
	// and sets a key of its own.
	syncDictUpdate = worker.Register("it.sync.dict-update", func(ctx context.Context, a syncArg) (int, error) {
		d, err := ipc.NewDict[int](ctx, worker.Conn(ctx), a.Name)
		if err != nil {
			return 0, err
		}
		for i := range a.M {
			if _, err := d.Update(ctx, "n", func(n int, _ bool) int { return n + 1 }); err != nil {
				return i, err
			}
		}
		return a.M, d.Set(ctx, fmt.Sprint("pid-", worker.Current(ctx).PID), a.M)
	})
)
