package integration

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/ipc"
)

// TestSecuritySyncPrimitivesWithRoleCredentials: with the recommended
// credentials, a pool's worker makes and uses the primitives' bucket and
// its caller shares its primitives; pool B's lock, value and dict of the
// same names are out of pool A's reach (another account's bucket).
func TestSecuritySyncPrimitivesWithRoleCredentials(t *testing.T) {
	r := startSecRig(t)
	ctx := testutil.Ctx(t, 60*time.Second)

	// A's worker comes first: it creates A's bucket by its name.
	wl, err := ipc.NewLock(ctx, r.aWorkerConn, "shared", ipc.WithLease(2*time.Second))
	if err != nil {
		t.Fatalf("A's worker opens a lock (and creates the bucket): %v", err)
	}
	if err := wl.TryLock(ctx); err != nil {
		t.Fatalf("A's worker takes the lock: %v", err)
	}
	// A's caller shares it.
	cl, err := ipc.NewLock(ctx, r.a.Conn(), "shared")
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.TryLock(ctx); !errors.Is(err, ipc.ErrLocked) {
		t.Fatalf("A's caller, with A's worker holding the lock: %v, want ErrLocked", err)
	}
	// The worker's lease is renewed past itself (it may publish there).
	time.Sleep(3 * time.Second)
	if err := cl.TryLock(ctx); !errors.Is(err, ipc.ErrLocked) {
		t.Fatalf("A's caller, 1.5 leases later: %v, want ErrLocked", err)
	}
	// Every primitive, from the worker credential, with a waiter on the
	// caller's side woken by it.
	for _, c := range []struct {
		who string
		nc  *nats.Conn
	}{{"A's worker", r.aWorkerConn}, {"A's caller", r.a.Conn()}} {
		useAll(t, ctx, c.who, c.nc, r.a.Conn())
	}

	// Pool B: a lock, a value and a dict of the same names, in B's
	// account. B takes its lock while A's worker holds A's.
	bl, err := ipc.NewLock(ctx, r.bWorkerConn, "shared")
	if err != nil {
		t.Fatalf("B's worker opens its lock: %v", err)
	}
	if err := bl.TryLock(ctx); err != nil {
		t.Fatalf("B's worker, with A's lock of the same name held: %v, want the lock (pools apart)", err)
	}
	bv, err := ipc.NewValue[string](ctx, r.bCallerConn, "secret")
	if err != nil {
		t.Fatal(err)
	}
	if err := bv.Store(ctx, "b-only"); err != nil {
		t.Fatal(err)
	}
	bd, err := ipc.NewDict[string](ctx, r.bCallerConn, "secret")
	if err != nil {
		t.Fatal(err)
	}
	if err := bd.Set(ctx, "k", "b-only"); err != nil {
		t.Fatal(err)
	}
	for who, nc := range map[string]*nats.Conn{"A's caller": r.a.Conn(), "A's worker": r.aWorkerConn} {
		// A's handles of B's names reach A's bucket: B's state is not there.
		al, err := ipc.NewLock(ctx, nc, "shared")
		if err != nil {
			t.Fatal(err)
		}
		if err := al.Unlock(ctx); !errors.Is(err, ipc.ErrNotHeld) {
			t.Fatalf("%s unlocking: %v, want ErrNotHeld", who, err)
		}
		av, err := ipc.NewValue[string](ctx, nc, "secret")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := av.Load(ctx); err != nil || (got != "" && got != "from A") {
			t.Fatalf("%s loads B's value: %q, %v; want nothing or A's own", who, got, err)
		}
		if err := av.Store(ctx, "from A"); err != nil {
			t.Fatal(err)
		}
		ad, err := ipc.NewDict[string](ctx, nc, "secret")
		if err != nil {
			t.Fatal(err)
		}
		if n, err := ad.Len(ctx); err != nil || n != 0 {
			t.Fatalf("%s sees B's dict: %d keys, %v", who, n, err)
		}
		if err := ad.Destroy(ctx); err != nil {
			t.Fatalf("%s destroying its own dict: %v", who, err)
		}
	}
	// B's state is as B left it.
	if got, err := bv.Load(ctx); err != nil || got != "b-only" {
		t.Fatalf("B's value after A's writes: %q, %v", got, err)
	}
	if got, ok, err := bd.Get(ctx, "k"); err != nil || !ok || got != "b-only" {
		t.Fatalf("B's dict after A's Destroy: %q, %v, %v", got, ok, err)
	}
	if err := bl.Unlock(ctx); err != nil {
		t.Fatalf("B's worker unlocks: %v", err)
	}
	if err := wl.Unlock(ctx); err != nil {
		t.Fatalf("A's worker unlocks: %v", err)
	}
}

// useAll uses every primitive through nc, with a second handle on peer.
func useAll(t *testing.T, ctx context.Context, who string, nc, peer *nats.Conn) {
	t.Helper()
	name := "all-" + map[bool]string{true: "w", false: "c"}[nc != peer]
	v, err := ipc.NewValue[int](ctx, nc, name)
	if err != nil {
		t.Fatalf("%s: NewValue: %v", who, err)
	}
	if _, err := v.Update(ctx, func(n int) int { return n + 1 }); err != nil {
		t.Fatalf("%s: Value.Update: %v", who, err)
	}
	d, err := ipc.NewDict[int](ctx, nc, name)
	if err != nil {
		t.Fatalf("%s: NewDict: %v", who, err)
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	changes, err := d.Watch(wctx)
	if err != nil {
		t.Fatalf("%s: Dict.Watch: %v", who, err)
	}
	if _, err := d.Update(ctx, "k", func(n int, _ bool) int { return n + 1 }); err != nil {
		t.Fatalf("%s: Dict.Update: %v", who, err)
	}
	if c := <-changes; c.Key != "k" || c.Value != 1 {
		t.Fatalf("%s: Dict.Watch saw %+v", who, c)
	}
	s, err := ipc.NewSemaphore(ctx, nc, name, 1)
	if err != nil {
		t.Fatalf("%s: NewSemaphore: %v", who, err)
	}
	if err := s.Acquire(ctx); err != nil {
		t.Fatalf("%s: Semaphore.Acquire: %v", who, err)
	}
	if err := s.Release(ctx); err != nil {
		t.Fatalf("%s: Semaphore.Release: %v", who, err)
	}
	e, err := ipc.NewEvent(ctx, nc, name)
	if err != nil {
		t.Fatalf("%s: NewEvent: %v", who, err)
	}
	pe, err := ipc.NewEvent(ctx, peer, name)
	if err != nil {
		t.Fatal(err)
	}
	woken := make(chan error, 1)
	go func() { woken <- pe.Wait(ctx) }()
	if err := e.Set(ctx); err != nil {
		t.Fatalf("%s: Event.Set: %v", who, err)
	}
	if err := <-woken; err != nil {
		t.Fatalf("%s: the peer's Event.Wait: %v", who, err)
	}
	b1, err := ipc.NewBarrier(ctx, nc, name, 2)
	if err != nil {
		t.Fatalf("%s: NewBarrier: %v", who, err)
	}
	b2, err := ipc.NewBarrier(ctx, peer, name, 2)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, b := range []*ipc.Barrier{b1, b2} {
		wg.Go(func() {
			if _, err := b.Wait(ctx); err != nil {
				t.Errorf("%s: Barrier.Wait: %v", who, err)
			}
		})
	}
	wg.Wait()
	for _, del := range []func(context.Context) error{v.Delete, d.Destroy, s.Delete, e.Delete, b1.Delete} {
		if err := del(ctx); err != nil {
			t.Fatalf("%s: Delete: %v", who, err)
		}
	}
}
