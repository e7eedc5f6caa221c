package integration

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/ipc"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

// The primitives of package ipc used from real worker processes, each
// started with pool.Start (a process of its own), on the pool's broker.

// startAll starts one process per argument.
func startAll[R any](t *testing.T, ctx context.Context, p *pool.Pool, task worker.Task[syncArg, R], args ...syncArg) []*pool.Process[R] {
	t.Helper()
	var procs []*pool.Process[R]
	for _, a := range args {
		pr, err := pool.Start(ctx, p, task, a)
		if err != nil {
			t.Fatalf("Start %s: %v", task.Name(), err)
		}
		procs = append(procs, pr)
	}
	return procs
}

// joinAll joins procs, failing on any error.
func joinAll[R any](t *testing.T, ctx context.Context, procs []*pool.Process[R]) []R {
	t.Helper()
	var out []R
	for i, pr := range procs {
		r, err := pr.Join(ctx)
		if err != nil {
			t.Fatalf("process %d (pid %d): %v", i, pr.PID(), err)
		}
		out = append(out, r)
	}
	return out
}

func TestIPCSyncLockProcessesIncrement(t *testing.T) {
	ctx := testutil.Ctx(t, 2*time.Minute)
	p := newPool(t, pool.WithProcesses(0))
	const procs, each = 4, 25
	a := syncArg{Name: "incr", M: each}
	t0 := time.Now()
	joinAll(t, ctx, startAll(t, ctx, p, syncIncr, slices.Repeat([]syncArg{a}, procs)...))
	took := time.Since(t0)
	v, err := ipc.NewValue[int](ctx, p.Conn(), "incr")
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Load(ctx)
	if err != nil || got != procs*each {
		t.Fatalf("%d processes × %d increments under the lock: %d, %v; want %d", procs, each, got, err, procs*each)
	}
	t.Logf("%d processes × %d locked increments (Load, Store) = %d in %v (%v per locked section, processes' start included)",
		procs, each, got, took.Round(time.Millisecond), (took / (procs * each)).Round(time.Microsecond))
}

func TestIPCSyncLockHolderKilled(t *testing.T) {
	ctx := testutil.Ctx(t, 2*time.Minute)
	p := newPool(t, pool.WithProcesses(0))
	const lease = 2 * time.Second
	a := syncArg{Name: "killed", M: 5, Lease: lease}
	holder := startAll(t, ctx, p, syncHold, a)[0]
	held, err := ipc.NewEvent(ctx, p.Conn(), a.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := held.Wait(ctx); err != nil {
		t.Fatalf("the holder never took the lock: %v", err)
	}
	waiters := startAll(t, ctx, p, syncIncr, a, a, a)
	// They wait: nothing is incremented while the holder lives.
	time.Sleep(2 * lease)
	v, err := ipc.NewValue[int](ctx, p.Conn(), a.Name)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := v.Load(ctx); err != nil || n != 0 {
		t.Fatalf("increments while the holder held the lock: %d, %v", n, err)
	}
	killed := time.Now()
	if err := holder.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Join(ctx); err == nil {
		t.Fatal("the killed holder's Join: no error")
	}
	joinAll(t, ctx, waiters)
	took := time.Since(killed)
	if n, err := v.Load(ctx); err != nil || n != 3*a.M {
		t.Fatalf("after the holder's SIGKILL: %d increments, %v; want %d", n, err, 3*a.M)
	}
	t.Logf("holder SIGKILLed; the 3 waiters did their %d locked increments in %v (lease %v)", 3*a.M, took.Round(time.Millisecond), lease)
	if took > 30*time.Second {
		t.Errorf("the waiters took %v after the kill, lease %v", took, lease)
	}
}

func TestIPCSyncSemaphoreBound(t *testing.T) {
	ctx := testutil.Ctx(t, 2*time.Minute)
	p := newPool(t, pool.WithProcesses(0))
	const procs, count = 4, 2
	a := syncArg{Name: "sem", M: 6, N: count}
	joinAll(t, ctx, startAll(t, ctx, p, syncSem, slices.Repeat([]syncArg{a}, procs)...))
	load := func(name string) int {
		v, err := ipc.NewValue[int](ctx, p.Conn(), name)
		if err != nil {
			t.Fatal(err)
		}
		n, err := v.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	most, entries := load("sem-max"), load("sem-n")
	if entries != procs*a.M {
		t.Fatalf("%d entries, want %d", entries, procs*a.M)
	}
	if most < 1 || most > count {
		t.Fatalf("at most %d inside a semaphore of %d", most, count)
	}
	t.Logf("%d entries by %d processes; at most %d inside at once (count %d)", entries, procs, most, count)
}

func TestIPCSyncBarrierReleasesTogether(t *testing.T) {
	ctx := testutil.Ctx(t, 2*time.Minute)
	p := newPool(t, pool.WithProcesses(0))
	a := syncArg{Name: "meet", N: 3, Wait: time.Minute}
	outs := joinAll(t, ctx, startAll(t, ctx, p, syncBarrier, a, a, a))
	var idx []int
	var lastIn time.Time
	for _, o := range outs {
		if o.Err != "" {
			t.Fatalf("party: %s", o.Err)
		}
		idx = append(idx, o.Index)
		if o.Arrived.After(lastIn) {
			lastIn = o.Arrived
		}
	}
	for _, o := range outs {
		if o.Released.Before(lastIn) {
			t.Fatalf("a party left at %v, before the last arrived at %v", o.Released, lastIn)
		}
	}
	slices.Sort(idx)
	if !slices.Equal(idx, []int{0, 1, 2}) {
		t.Fatalf("indices %v, want 0, 1, 2", idx)
	}
}

func TestIPCSyncBarrierTimeoutBreaksAll(t *testing.T) {
	ctx := testutil.Ctx(t, 2*time.Minute)
	p := newPool(t, pool.WithProcesses(0))
	// Two parties of three: the one that gives up after 2s breaks it for
	// the other, whose own bound is a minute.
	short := syncArg{Name: "brk", N: 3, Wait: 2 * time.Second}
	long := syncArg{Name: "brk", N: 3, Wait: time.Minute}
	outs := joinAll(t, ctx, startAll(t, ctx, p, syncBarrier, long, short))
	for i, o := range outs {
		if !o.Broken {
			t.Fatalf("party %d: %+v, want a broken barrier", i, o)
		}
	}
	if waited := outs[0].Released.Sub(outs[0].Arrived); waited > 30*time.Second {
		t.Fatalf("the patient party waited %v: it was not broken by the other's timeout", waited)
	}
	b, err := ipc.NewBarrier(ctx, p.Conn(), "brk", 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Wait(ctx); !errors.Is(err, ipc.ErrBrokenBarrier) {
		t.Fatalf("Wait on the broken barrier: %v, want ErrBrokenBarrier", err)
	}
}

func TestIPCSyncEventWakesAll(t *testing.T) {
	ctx := testutil.Ctx(t, 2*time.Minute)
	p := newPool(t, pool.WithProcesses(0))
	const waiters = 4
	a := syncArg{Name: "go"}
	procs := startAll(t, ctx, p, syncEventWait, slices.Repeat([]syncArg{a}, waiters)...)
	v, err := ipc.NewValue[int](ctx, p.Conn(), a.Name)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, time.Minute, "the waiters to wait", func() bool {
		n, err := v.Load(ctx)
		return err == nil && n == waiters
	})
	for _, pr := range procs {
		if !pr.IsAlive() {
			t.Fatalf("a waiter (pid %d) ended before the event was set", pr.PID())
		}
	}
	e, err := ipc.NewEvent(ctx, p.Conn(), a.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Set(ctx); err != nil {
		t.Fatal(err)
	}
	pids := joinAll(t, ctx, procs)
	slices.Sort(pids)
	if len(slices.Compact(pids)) != waiters {
		t.Fatalf("woken: pids %v, want %d processes", pids, waiters)
	}
}

func TestIPCSyncDictUpdates(t *testing.T) {
	ctx := testutil.Ctx(t, 2*time.Minute)
	p := newPool(t, pool.WithProcesses(0))
	a := syncArg{Name: "dict", M: 50}
	joinAll(t, ctx, startAll(t, ctx, p, syncDictUpdate, a, a))
	d, err := ipc.NewDict[int](ctx, p.Conn(), a.Name)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok, err := d.Get(ctx, "n"); err != nil || !ok || n != 2*a.M {
		t.Fatalf("2 processes × %d updates: %d, %v, %v", a.M, n, ok, err)
	}
	if n, err := d.Len(ctx); err != nil || n != 3 {
		t.Fatalf("Len = %d, %v; want 3 (n and a key per process)", n, err)
	}
}
