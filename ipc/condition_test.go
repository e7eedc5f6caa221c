package ipc_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/ipc"
)

func newCondition(t *testing.T, b *broker.Server, name string) *ipc.Condition {
	t.Helper()
	c, err := ipc.NewCondition(newLock(t, connectTCP(t, b), name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConditionNotify(t *testing.T) {
	ctx := testutil.Ctx(t, 60*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	if _, err := ipc.NewCondition(nil); !errors.Is(err, ipc.ErrInvalidArgument) {
		t.Fatalf("NewCondition(nil): %v", err)
	}
	n := newCondition(t, b, "cv")
	if err := n.Wait(ctx); !errors.Is(err, ipc.ErrNotHeld) {
		t.Fatalf("Wait without the lock: %v, want ErrNotHeld", err)
	}
	if err := n.Notify(ctx, 1); !errors.Is(err, ipc.ErrNotHeld) {
		t.Fatalf("Notify without the lock: %v, want ErrNotHeld", err)
	}
	// Three waiters; each counts itself in, under the lock, and waits.
	const waiters = 3
	var in, woken atomic.Int32
	var wg sync.WaitGroup
	for range waiters {
		c := newCondition(t, b, "cv")
		wg.Go(func() {
			if err := c.L().Lock(ctx); err != nil {
				t.Error(err)
				return
			}
			in.Add(1)
			if err := c.Wait(ctx); err != nil {
				t.Errorf("Wait: %v", err)
				return
			}
			woken.Add(1)
			if !c.L().Held() {
				t.Error("Wait returned nil without the lock")
			}
			if err := c.L().Unlock(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	testutil.WaitFor(t, 30*time.Second, "three waiters", func() bool { return in.Load() == waiters })
	notify := func(k int) {
		t.Helper()
		if err := n.L().Lock(ctx); err != nil {
			t.Fatal(err)
		}
		var err error
		if k < 0 {
			err = n.NotifyAll(ctx)
		} else {
			err = n.Notify(ctx, k)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := n.L().Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// All are registered once their counts are in (under the lock); the
	// lock passing to the notifier shows the last has unlocked in Wait.
	notify(1)
	testutil.WaitFor(t, 30*time.Second, "one waiter woken", func() bool { return woken.Load() == 1 })
	time.Sleep(1500 * time.Millisecond) // more than a poll: no second one wakes
	if w := woken.Load(); w != 1 {
		t.Fatalf("Notify(1) woke %d waiters", w)
	}
	notify(-1)
	wg.Wait()
	if w := woken.Load(); w != waiters {
		t.Fatalf("after NotifyAll: %d woken, want %d", w, waiters)
	}
}

func TestConditionWaitBounded(t *testing.T) {
	ctx := testutil.Ctx(t, 60*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	c := newCondition(t, b, "bounded")
	if err := c.L().Lock(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	err := c.Wait(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with a 500ms ctx: %v, want DeadlineExceeded", err)
	}
	if c.L().Held() {
		t.Fatal("the lock is held after a Wait that failed")
	}
	// The waiter that gave up is gone: a later waiter gets the next notify.
	other := newCondition(t, b, "bounded")
	got := make(chan error, 1)
	if err := other.L().Lock(ctx); err != nil {
		t.Fatal(err)
	}
	go func() { got <- other.Wait(ctx) }()
	if err := c.L().Lock(ctx); err != nil { // the waiter has unlocked
		t.Fatal(err)
	}
	if err := c.Notify(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.L().Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("the later waiter: %v", err)
	}
	if err := other.L().Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx); err != nil {
		t.Fatal(err)
	}
}
