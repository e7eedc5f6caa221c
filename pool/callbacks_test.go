package pool_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

func TestThenCallsTheRightCallback(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 20*time.Second)
	var mu sync.Mutex
	var vals []string
	var errs []error
	onValue := func(s string) { mu.Lock(); vals = append(vals, s); mu.Unlock() }
	onError := func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }

	ok := pool.ApplyAsync(ctx, p, upper, "kel").Then(onValue, onError)
	bad := pool.ApplyAsync(ctx, p, failing, "x").Then(onValue, onError)
	for _, ch := range []<-chan struct{}{ok, bad} {
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatal("callback never ran")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(vals, []string{"KEL"}) {
		t.Errorf("values = %v, want [KEL]", vals)
	}
	if len(errs) != 1 || !errors.Is(errs[0], pool.ErrTaskFailed) {
		t.Errorf("errors = %v, want one ErrTaskFailed", errs)
	}
}

// A callback that blocks must not hold up the results of other calls.
func TestThenBlockingCallbackDoesNotStallResults(t *testing.T) {
	p := newPool(t, pool.WithProcesses(1))
	ctx := testutil.Ctx(t, 20*time.Second)
	release := make(chan struct{})
	blocked := pool.ApplyAsync(ctx, p, upper, "a").Then(func(string) { <-release }, nil)
	defer func() {
		close(release)
		<-blocked
	}()
	for i := range 20 {
		if _, err := pool.Apply(ctx, p, square, i); err != nil {
			t.Fatalf("Apply #%d while a callback blocks: %v", i, err)
		}
	}
	select {
	case <-blocked:
		t.Fatal("the blocked callback finished early")
	default:
	}
}

func TestThenNilCallbacksAndAlreadyDone(t *testing.T) {
	p := newPool(t, pool.WithProcesses(1))
	ctx := testutil.Ctx(t, 20*time.Second)
	a := pool.ApplyAsync(ctx, p, upper, "z")
	if _, err := a.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Then(nil, nil):
	case <-ctx.Done():
		t.Fatal("Then(nil, nil) on a completed result never finished")
	}
	got := make(chan string, 1)
	<-a.Then(func(s string) { got <- s }, nil)
	if s := <-got; s != "Z" {
		t.Errorf("callback on a completed result got %q", s)
	}
}

func TestMapAsync(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 20*time.Second)
	items := []int{1, 2, 3, 4, 5, 6, 7}
	a := pool.MapAsync(ctx, p, square, items, pool.WithChunksize(2))
	var got []int
	<-a.Then(func(v []int) { got = v }, func(err error) { t.Errorf("error callback: %v", err) })
	if !slices.Equal(got, []int{1, 4, 9, 16, 25, 36, 49}) {
		t.Errorf("MapAsync = %v", got)
	}
	if !a.Ready() || !a.Successful() {
		t.Error("not Ready/Successful after the callback")
	}

	bad := pool.MapAsync(ctx, p, failing, []string{"a", "b"})
	if _, err := bad.Get(10 * time.Second); !errors.Is(err, pool.ErrTaskFailed) {
		t.Errorf("MapAsync of a failing task: %v", err)
	}
	if bad.Successful() {
		t.Error("Successful after a failure")
	}

	if _, err := pool.MapAsync(ctx, nil, square, items).Get(time.Second); !errors.Is(err, pool.ErrInvalidArgument) {
		t.Errorf("MapAsync(nil pool) = %v", err)
	}
}
