package integration

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/ipc"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

// syncCondTake waits on the Condition of the Lock a.Name until the Value
// a.Name+"-tickets" holds a ticket, takes one, and returns its pid. It
// announces itself in the Value a.Name+"-waiting" while holding the lock,
// before its first Wait.
var syncCondTake = worker.Register("it.sync.cond-take", func(ctx context.Context, a syncArg) (int, error) {
	nc := worker.Conn(ctx)
	l, err := ipc.NewLock(ctx, nc, a.Name)
	if err != nil {
		return 0, err
	}
	c, err := ipc.NewCondition(l)
	if err != nil {
		return 0, err
	}
	tickets, err := ipc.NewValue[int](ctx, nc, a.Name+"-tickets")
	if err != nil {
		return 0, err
	}
	waiting, err := ipc.NewValue[int](ctx, nc, a.Name+"-waiting")
	if err != nil {
		return 0, err
	}
	if err := l.Lock(ctx); err != nil {
		return 0, err
	}
	if _, err := waiting.Update(ctx, func(n int) int { return n + 1 }); err != nil {
		return 0, err
	}
	for {
		n, err := tickets.Load(ctx)
		if err != nil {
			return 0, err
		}
		if n > 0 {
			if err := tickets.Store(ctx, n-1); err != nil {
				return 0, err
			}
			return worker.Current(ctx).PID, l.Unlock(ctx)
		}
		if err := c.Wait(ctx); err != nil {
			return 0, err
		}
	}
})

// A Condition between processes: three worker processes wait for tickets
// under one Lock; the parent hands out one ticket with Notify(1), then two
// with NotifyAll. Each process takes exactly one, none is left waiting
// (no wakeup lost), and the tickets end at 0.
func TestIPCSyncConditionAcrossProcesses(t *testing.T) {
	ctx := testutil.Ctx(t, 2*time.Minute)
	p := newPool(t, pool.WithProcesses(0))
	const waiters = 3
	a := syncArg{Name: "cond"}
	procs := startAll(t, ctx, p, syncCondTake, slices.Repeat([]syncArg{a}, waiters)...)
	nc := p.Conn()
	l, err := ipc.NewLock(ctx, nc, a.Name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ipc.NewCondition(l)
	if err != nil {
		t.Fatal(err)
	}
	tickets, err := ipc.NewValue[int](ctx, nc, a.Name+"-tickets")
	if err != nil {
		t.Fatal(err)
	}
	waiting, err := ipc.NewValue[int](ctx, nc, a.Name+"-waiting")
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, time.Minute, "the three processes to wait", func() bool {
		n, err := waiting.Load(ctx)
		return err == nil && n == waiters
	})
	give := func(n int, notify func(context.Context) error) {
		t.Helper()
		if err := l.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := tickets.Update(ctx, func(old int) int { return old + n }); err != nil {
			t.Fatal(err)
		}
		if err := notify(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	}
	give(1, func(ctx context.Context) error { return c.Notify(ctx, 1) })
	testutil.WaitFor(t, time.Minute, "one ticket taken", func() bool {
		n, err := tickets.Load(ctx)
		return err == nil && n == 0
	})
	give(2, c.NotifyAll)
	pids := joinAll(t, ctx, procs)
	slices.Sort(pids)
	if len(slices.Compact(pids)) != waiters {
		t.Fatalf("tickets taken by pids %v, want %d processes, one each", pids, waiters)
	}
	if n, err := tickets.Load(ctx); err != nil || n != 0 {
		t.Fatalf("tickets left: %d, %v; want 0", n, err)
	}
}
