package ipc_test

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/ipc"
)

func TestSyncArguments(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	nc := connect(t, b)
	for _, name := range []string{"", "a.b", "a b", "a*", "a>", string(make([]byte, 201))} {
		if _, err := ipc.NewLock(ctx, nc, name); !errors.Is(err, ipc.ErrInvalidArgument) {
			t.Errorf("NewLock(%q): %v, want ErrInvalidArgument", name, err)
		}
		if _, err := ipc.NewSemaphore(ctx, nc, name, 1); !errors.Is(err, ipc.ErrInvalidArgument) {
			t.Errorf("NewSemaphore(%q): %v, want ErrInvalidArgument", name, err)
		}
		if _, err := ipc.NewEvent(ctx, nc, name); !errors.Is(err, ipc.ErrInvalidArgument) {
			t.Errorf("NewEvent(%q): %v, want ErrInvalidArgument", name, err)
		}
		if _, err := ipc.NewBarrier(ctx, nc, name, 2); !errors.Is(err, ipc.ErrInvalidArgument) {
			t.Errorf("NewBarrier(%q): %v, want ErrInvalidArgument", name, err)
		}
		if _, err := ipc.NewValue[int](ctx, nc, name); !errors.Is(err, ipc.ErrInvalidArgument) {
			t.Errorf("NewValue(%q): %v, want ErrInvalidArgument", name, err)
		}
		if _, err := ipc.NewDict[int](ctx, nc, name); !errors.Is(err, ipc.ErrInvalidArgument) {
			t.Errorf("NewDict(%q): %v, want ErrInvalidArgument", name, err)
		}
	}
	if _, err := ipc.NewLock(ctx, nil, "l"); !errors.Is(err, ipc.ErrInvalidArgument) {
		t.Errorf("NewLock(nil conn): %v, want ErrInvalidArgument", err)
	}
	for _, n := range []int{0, -1, 4097} {
		if _, err := ipc.NewSemaphore(ctx, nc, "s", n); !errors.Is(err, ipc.ErrInvalidArgument) {
			t.Errorf("NewSemaphore(count %d): %v, want ErrInvalidArgument", n, err)
		}
	}
	for _, n := range []int{0, -1, 1<<20 + 1} {
		if _, err := ipc.NewBarrier(ctx, nc, "b", n); !errors.Is(err, ipc.ErrInvalidArgument) {
			t.Errorf("NewBarrier(parties %d): %v, want ErrInvalidArgument", n, err)
		}
	}
	for _, opt := range []ipc.Option{ipc.WithLease(0), ipc.WithLease(999 * time.Millisecond), ipc.WithMaxSize(3), ipc.WithPrefetch(1)} {
		if _, err := ipc.NewLock(ctx, nc, "l", opt); !errors.Is(err, ipc.ErrInvalidOption) {
			t.Errorf("NewLock with a bad option: %v, want ErrInvalidOption", err)
		}
	}
	if _, err := ipc.NewLock(ctx, nc, "l", ipc.WithLease(2*time.Second), ipc.WithReplicas(1), ipc.WithFileStorage()); err != nil {
		t.Errorf("NewLock with WithLease, WithReplicas, WithFileStorage: %v", err)
	}
	// WithLease means nothing to a queue or a pipe, and says so.
	if _, err := ipc.NewQueue[int](ctx, nc, "q", ipc.WithLease(time.Minute)); !errors.Is(err, ipc.ErrInvalidOption) {
		t.Errorf("NewQueue(WithLease): %v, want ErrInvalidOption", err)
	}
	if _, _, err := ipc.NewPipe[int](ctx, nc, ipc.WithLease(time.Minute)); !errors.Is(err, ipc.ErrInvalidOption) {
		t.Errorf("NewPipe(WithLease): %v, want ErrInvalidOption", err)
	}
	// One name, two shapes.
	if _, err := ipc.NewSemaphore(ctx, nc, "shape", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := ipc.NewSemaphore(ctx, nc, "shape", 3); !errors.Is(err, ipc.ErrMismatch) {
		t.Errorf("NewSemaphore with another count: %v, want ErrMismatch", err)
	}
	if _, err := ipc.NewBarrier(ctx, nc, "shape", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := ipc.NewBarrier(ctx, nc, "shape", 3); !errors.Is(err, ipc.ErrMismatch) {
		t.Errorf("NewBarrier with other parties: %v, want ErrMismatch", err)
	}
}

func newLock(t *testing.T, nc *nats.Conn, name string, opts ...ipc.Option) *ipc.Lock {
	t.Helper()
	l, err := ipc.NewLock(testutil.Ctx(t, 30*time.Second), nc, name, opts...)
	if err != nil {
		t.Fatalf("NewLock(%q): %v", name, err)
	}
	return l
}

func TestLockTryLockUnlock(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	l1 := newLock(t, connect(t, b), "mu")
	l2 := newLock(t, connectTCP(t, b), "mu")
	if err := l2.Unlock(ctx); !errors.Is(err, ipc.ErrNotHeld) {
		t.Fatalf("Unlock of a lock never held: %v, want ErrNotHeld", err)
	}
	if err := l1.TryLock(ctx); err != nil {
		t.Fatalf("TryLock of a free lock: %v", err)
	}
	if err := l2.TryLock(ctx); !errors.Is(err, ipc.ErrLocked) {
		t.Fatalf("TryLock of a held lock: %v, want ErrLocked", err)
	}
	if err := l1.TryLock(ctx); !errors.Is(err, ipc.ErrLocked) {
		t.Fatalf("TryLock by the holder: %v, want ErrLocked", err)
	}
	if err := l2.Unlock(ctx); !errors.Is(err, ipc.ErrNotHeld) {
		t.Fatalf("Unlock by a non-holder: %v, want ErrNotHeld", err)
	}
	if !l1.Held() || l2.Held() {
		t.Fatalf("Held: l1 %v l2 %v, want true false", l1.Held(), l2.Held())
	}
	// A waiter's Lock is bounded by its ctx.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err := l2.Lock(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock of a held lock with a 300ms ctx: %v, want DeadlineExceeded", err)
	}
	// A waiter is woken by Unlock.
	got := make(chan error, 1)
	go func() { got <- l2.Lock(ctx) }()
	time.Sleep(100 * time.Millisecond) // let it wait (it passes either way)
	if err := l1.Unlock(ctx); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiting Lock: %v", err)
	}
	if err := l1.Unlock(ctx); !errors.Is(err, ipc.ErrNotHeld) {
		t.Fatalf("second Unlock: %v, want ErrNotHeld", err)
	}
	if err := l2.Unlock(ctx); err != nil {
		t.Fatalf("Unlock by the new holder: %v", err)
	}
}

// TestLockMutualExclusion: goroutines on their own connections increment
// a plain counter under the lock; any overlap is seen.
func TestLockMutualExclusion(t *testing.T) {
	ctx := testutil.Ctx(t, 60*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	const holders, rounds = 4, 15
	var inside, overlaps, total atomic.Int32
	var wg sync.WaitGroup
	for range holders {
		l := newLock(t, connectTCP(t, b), "mutex")
		wg.Go(func() {
			for range rounds {
				if err := l.Lock(ctx); err != nil {
					t.Error(err)
					return
				}
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				total.Add(1)
				time.Sleep(time.Millisecond)
				inside.Add(-1)
				if err := l.Unlock(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if overlaps.Load() != 0 || total.Load() != holders*rounds {
		t.Fatalf("%d overlaps in %d sections, want 0 in %d", overlaps.Load(), total.Load(), holders*rounds)
	}
}

// freezer is a TCP proxy to a broker that can stop carrying bytes, as a
// frozen or cut-off host's connection does, without closing it.
type freezer struct {
	ln     net.Listener
	frozen atomic.Bool
}

func newFreezer(t *testing.T, target string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			t.Cleanup(func() { _ = c.Close(); _ = s.Close() })
			go f.pipe(c, s)
			go f.pipe(s, c)
		}
	}()
	return f
}

func (f *freezer) pipe(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for f.frozen.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestLockLeaseRunsOut: a holder cut off from the broker stops renewing;
// another takes the lock after the lease, and the first holder's Unlock,
// once it is back, is ErrNotHeld.
func TestLockLeaseRunsOut(t *testing.T) {
	ctx := testutil.Ctx(t, 60*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	f := newFreezer(t, strings.TrimPrefix(b.ClientURL(), "nats://"))
	cut, err := nats.Connect("nats://"+f.ln.Addr().String(), nats.UserInfo(b.User(), b.Password()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cut.Close)
	const lease = 2 * time.Second
	l1 := newLock(t, cut, "leased", ipc.WithLease(lease))
	l2 := newLock(t, connect(t, b), "leased")
	if err := l1.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	// Renewals keep it held well past its lease.
	time.Sleep(2 * lease)
	if err := l2.TryLock(ctx); !errors.Is(err, ipc.ErrLocked) {
		t.Fatalf("TryLock of a lock renewed for 2 leases: %v, want ErrLocked", err)
	}
	f.frozen.Store(true)
	t0 := time.Now()
	if err := l2.Lock(ctx); err != nil {
		t.Fatalf("Lock after the holder was cut off: %v", err)
	}
	took := time.Since(t0)
	t.Logf("the lock passed %v after its holder was cut off (lease %v)", took.Round(time.Millisecond), lease)
	if took > 4*lease {
		t.Errorf("took %v, want about the lease %v", took, lease)
	}
	f.frozen.Store(false)
	if err := l1.Unlock(ctx); !errors.Is(err, ipc.ErrNotHeld) {
		t.Fatalf("Unlock by the holder whose lease ran out: %v, want ErrNotHeld", err)
	}
	if err := l2.Unlock(ctx); err != nil {
		t.Fatalf("Unlock by the new holder: %v", err)
	}
}

func TestLockDelete(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	l1 := newLock(t, connect(t, b), "gone")
	l2 := newLock(t, connect(t, b), "gone")
	if err := l1.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l2.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l2.TryLock(ctx); err != nil {
		t.Fatalf("TryLock after Delete: %v", err)
	}
	if err := l1.Unlock(ctx); !errors.Is(err, ipc.ErrNotHeld) {
		t.Fatalf("Unlock of a deleted lock: %v, want ErrNotHeld", err)
	}
}

func TestSemaphoreBounded(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	var hs []*ipc.Semaphore
	for range 3 {
		s, err := ipc.NewSemaphore(ctx, connectTCP(t, b), "sem", 2)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, s)
	}
	for i := range 2 {
		if err := hs[i].TryAcquire(ctx); err != nil {
			t.Fatalf("TryAcquire #%d of 2: %v", i, err)
		}
	}
	if err := hs[2].TryAcquire(ctx); !errors.Is(err, ipc.ErrLocked) {
		t.Fatalf("third TryAcquire of 2: %v, want ErrLocked", err)
	}
	if err := hs[2].Release(ctx); !errors.Is(err, ipc.ErrNotHeld) {
		t.Fatalf("Release with none held: %v, want ErrNotHeld", err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err := hs[2].Acquire(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire of a full semaphore with a 300ms ctx: %v, want DeadlineExceeded", err)
	}
	got := make(chan error, 1)
	go func() { got <- hs[2].Acquire(ctx) }()
	if err := hs[0].Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("Acquire after a Release: %v", err)
	}
	for _, s := range hs[1:] {
		if err := s.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Many acquirers: never more than 2 inside.
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			for range 8 {
				if err := hs[i].Acquire(ctx); err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(2 * time.Millisecond)
				inside.Add(-1)
				if err := hs[i].Release(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if most.Load() > 2 {
		t.Fatalf("%d inside a semaphore of 2", most.Load())
	}
}

func TestEventWakesEveryWaiter(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	e, err := ipc.NewEvent(ctx, connect(t, b), "go")
	if err != nil {
		t.Fatal(err)
	}
	if set, err := e.IsSet(ctx); err != nil || set {
		t.Fatalf("IsSet of a new event: %v, %v; want false", set, err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = e.Wait(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait on a clear event with a 300ms ctx: %v, want DeadlineExceeded", err)
	}
	const waiters = 5
	done := make(chan error, waiters)
	for range waiters {
		w, err := ipc.NewEvent(ctx, connectTCP(t, b), "go")
		if err != nil {
			t.Fatal(err)
		}
		go func() { done <- w.Wait(ctx) }()
	}
	time.Sleep(200 * time.Millisecond) // let them wait (a late one returns at once)
	if err := e.Set(ctx); err != nil {
		t.Fatal(err)
	}
	for range waiters {
		if err := <-done; err != nil {
			t.Fatalf("Wait: %v", err)
		}
	}
	if set, err := e.IsSet(ctx); err != nil || !set {
		t.Fatalf("IsSet after Set: %v, %v", set, err)
	}
	if err := e.Wait(ctx); err != nil {
		t.Fatalf("Wait on a set event: %v", err)
	}
	if err := e.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if set, err := e.IsSet(ctx); err != nil || set {
		t.Fatalf("IsSet after Clear: %v, %v", set, err)
	}
	if err := e.Set(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if set, err := e.IsSet(ctx); err != nil || set {
		t.Fatalf("IsSet after Delete: %v, %v; want false", set, err)
	}
}

func newBarrier(t *testing.T, b *broker.Server, name string, parties int) *ipc.Barrier {
	t.Helper()
	br, err := ipc.NewBarrier(testutil.Ctx(t, 30*time.Second), connectTCP(t, b), name, parties)
	if err != nil {
		t.Fatal(err)
	}
	return br
}

func TestBarrierReleasesAll(t *testing.T) {
	ctx := testutil.Ctx(t, 60*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	var parties []*ipc.Barrier
	for range 3 {
		parties = append(parties, newBarrier(t, b, "meet", 3))
	}
	for round := range 3 {
		idx := make(chan int, 3)
		var wg sync.WaitGroup
		for _, p := range parties {
			wg.Go(func() {
				i, err := p.Wait(ctx)
				if err != nil {
					t.Errorf("round %d: Wait: %v", round, err)
				}
				idx <- i
			})
		}
		wg.Wait()
		close(idx)
		var got []int
		for i := range idx {
			got = append(got, i)
		}
		slices.Sort(got)
		if !slices.Equal(got, []int{0, 1, 2}) {
			t.Fatalf("round %d: indices %v, want 0, 1, 2", round, got)
		}
	}
}

func TestBarrierBrokenForAll(t *testing.T) {
	ctx := testutil.Ctx(t, 60*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	p1, p2, p3 := newBarrier(t, b, "brk", 3), newBarrier(t, b, "brk", 3), newBarrier(t, b, "brk", 3)
	// Two parties of three: one gives up after 500ms, which breaks it for
	// the other, whose own ctx is long.
	got := make(chan error, 1)
	go func() { _, err := p1.Wait(ctx); got <- err }()
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err := p2.Wait(short)
	cancel()
	if !errors.Is(err, ipc.ErrBrokenBarrier) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait that timed out: %v, want ErrBrokenBarrier and DeadlineExceeded", err)
	}
	if err := <-got; !errors.Is(err, ipc.ErrBrokenBarrier) {
		t.Fatalf("the other waiter: %v, want ErrBrokenBarrier", err)
	}
	if _, err := p3.Wait(ctx); !errors.Is(err, ipc.ErrBrokenBarrier) {
		t.Fatalf("Wait on a broken barrier: %v, want ErrBrokenBarrier", err)
	}
	if err := p3.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, p := range []*ipc.Barrier{p1, p2, p3} {
		wg.Go(func() {
			if _, err := p.Wait(ctx); err != nil {
				t.Errorf("Wait after Reset: %v", err)
			}
		})
	}
	wg.Wait()
	// Abort breaks a waiting party's round.
	go func() { _, err := p1.Wait(ctx); got <- err }()
	time.Sleep(200 * time.Millisecond) // p1 waiting or not: broken either way
	if err := p2.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-got; !errors.Is(err, ipc.ErrBrokenBarrier) {
		t.Fatalf("Wait across Abort: %v, want ErrBrokenBarrier", err)
	}
}

func TestValueUpdateLosesNothing(t *testing.T) {
	ctx := testutil.Ctx(t, 60*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	v, err := ipc.NewValue[int](ctx, connect(t, b), "counter")
	if err != nil {
		t.Fatal(err)
	}
	if x, err := v.Load(ctx); err != nil || x != 0 {
		t.Fatalf("Load of a new value: %d, %v; want 0", x, err)
	}
	const writers, each = 4, 25
	var wg sync.WaitGroup
	for range writers {
		h, err := ipc.NewValue[int](ctx, connectTCP(t, b), "counter")
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for range each {
				if _, err := h.Update(ctx, func(n int) int { return n + 1 }); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if x, err := v.Load(ctx); err != nil || x != writers*each {
		t.Fatalf("after %d concurrent updates: %d, %v", writers*each, x, err)
	}
	if err := v.Store(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if x, err := v.Load(ctx); err != nil || x != 7 {
		t.Fatalf("Load after Store(7): %d, %v", x, err)
	}
	type point struct{ X, Y int }
	pv, err := ipc.NewValue[point](ctx, connect(t, b), "point")
	if err != nil {
		t.Fatal(err)
	}
	if err := pv.Store(ctx, point{1, 2}); err != nil {
		t.Fatal(err)
	}
	if p, err := pv.Load(ctx); err != nil || p != (point{1, 2}) {
		t.Fatalf("Load of a struct: %v, %v", p, err)
	}
	if err := v.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if x, err := v.Load(ctx); err != nil || x != 0 {
		t.Fatalf("Load after Delete: %d, %v; want 0", x, err)
	}
}

func TestDict(t *testing.T) {
	ctx := testutil.Ctx(t, 60*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	d, err := ipc.NewDict[int](ctx, connect(t, b), "d")
	if err != nil {
		t.Fatal(err)
	}
	other, err := ipc.NewDict[int](ctx, connectTCP(t, b), "d")
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	changes, err := other.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"", "a", "a.b", "x y/z", "ü*>", strings.Repeat("k", 100)}
	for i, k := range keys {
		if err := d.Set(ctx, k, i); err != nil {
			t.Fatalf("Set(%q): %v", k, err)
		}
	}
	for i, k := range keys {
		if v, ok, err := other.Get(ctx, k); err != nil || !ok || v != i {
			t.Fatalf("Get(%q) = %d, %v, %v; want %d", k, v, ok, err, i)
		}
	}
	if _, ok, err := other.Get(ctx, "missing"); err != nil || ok {
		t.Fatalf("Get of a missing key: %v, %v", ok, err)
	}
	got, err := other.Keys(ctx)
	slices.Sort(got)
	want := slices.Sorted(slices.Values(keys))
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Keys = %q, %v; want %q", got, err, want)
	}
	if err := d.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if n, err := other.Len(ctx); err != nil || n != len(keys)-1 {
		t.Fatalf("Len after a Delete = %d, %v; want %d", n, err, len(keys)-1)
	}
	// The watch saw every Set, then the Delete.
	seen := map[string]int{}
	for range keys {
		c := <-changes
		if c.Deleted || c.Err != nil {
			t.Fatalf("change %+v, want a set", c)
		}
		seen[c.Key] = c.Value
	}
	if c := <-changes; c.Key != "a" || !c.Deleted {
		t.Fatalf("change %+v, want a's deletion", c)
	}
	if len(seen) != len(keys) {
		t.Fatalf("watch saw %v", seen)
	}
	stop()
	for range changes { // closed once its ctx ended
	}
	// Concurrent updates of one key lose nothing.
	var wg sync.WaitGroup
	for _, h := range []*ipc.Dict[int]{d, other} {
		wg.Go(func() {
			for range 25 {
				if _, err := h.Update(ctx, "n", func(old int, ok bool) int { return old + 1 }); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if v, _, err := d.Get(ctx, "n"); err != nil || v != 50 {
		t.Fatalf("after 50 updates: %d, %v", v, err)
	}
	if err := d.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := other.Len(ctx); err != nil || n != 0 {
		t.Fatalf("Len after Destroy = %d, %v", n, err)
	}
}

// TestSyncRefusesForeignBucket: a stream of the bucket's name that takes
// other subjects (made by a rogue credential first, to capture inboxes)
// is refused, not used.
func TestSyncRefusesForeignBucket(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	nc := connect(t, b)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "KV_" + ipc.SyncBucket, Subjects: []string{"$KV." + ipc.SyncBucket + ".>", "_INBOX.>"}, MaxMsgsPerSubject: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := ipc.NewLock(ctx, nc, "l"); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("NewLock on a bucket stream that also takes _INBOX.>: %v, want a refusal", err)
	}
}
