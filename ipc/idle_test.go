package ipc_test

import (
	"context"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/ipc"
)

// The tests of this file hold a handle that is not inside Get, Recv or
// Poll to its promise: it holds nothing another handle of the same queue
// or pipe end waits for. Each handle has its own connection, as handles in
// two processes have, and queues have an ack wait far beyond the tests'
// contexts: an item reaches the other handle in time only if nobody holds
// it.

// The program with a queue: one handle gets once and goes idle;
// the other, waiting, gets the next item, and the ones after it in order.
func TestQueueIdleHandleHoldsNothing(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	idle := newTestQueue[int](t, connect(t, b), "idle", ipc.WithAckWait(time.Hour))
	other := newTestQueue[int](t, connectTCP(t, b), "idle")
	put := func(v int) {
		t.Helper()
		if err := idle.Put(ctx, v); err != nil {
			t.Fatal(err)
		}
		if err := idle.Flush(ctx); err != nil { // one message each: no packing
			t.Fatal(err)
		}
	}
	put(0)
	if v, err := idle.Get(ctx); err != nil || v != 0 {
		t.Fatalf("idle Get = %d, %v; want 0", v, err)
	}
	got := make(chan int, 1)
	errc := make(chan error, 1)
	go func() {
		v, err := other.Get(ctx)
		if err != nil {
			errc <- err
			return
		}
		got <- v
	}()
	put(1)
	select {
	case v := <-got:
		if v != 1 {
			t.Fatalf("other Get = %d, want 1", v)
		}
	case err := <-errc:
		t.Fatalf("other Get: %v (the idle handle kept the item)", err)
	}
	for i := 2; i < 6; i++ {
		put(i)
	}
	for want := 2; want < 6; want++ {
		if v, err := other.Get(ctx); err != nil || v != want {
			t.Fatalf("other Get = %d, %v; want %d", v, err, want)
		}
	}
	if n := idle.Buffered(); n != 0 {
		t.Fatalf("the idle handle holds %d messages, want 0", n)
	}
}

// The program with two handles of one pipe end: the first receives
// once and goes idle; what is sent next reaches the second.
func TestPipeEndIdleHandleHoldsNothing(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	a, idle := newTestPipe[string](t, connect(t, b))
	other := openTestPipe[string](t, connectTCP(t, b), idle.Name())
	if err := a.Send(ctx, "early"); err != nil {
		t.Fatal(err)
	}
	if v, err := idle.Recv(ctx); err != nil || v != "early" {
		t.Fatalf("idle Recv = %q, %v; want early", v, err)
	}
	type result struct {
		v   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := other.Recv(ctx)
		done <- result{v, err}
	}()
	if err := a.Send(ctx, "ack-smile"); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.v != "ack-smile" {
		t.Fatalf("other Recv = %q, %v; want ack-smile (the idle end kept it)", r.v, r.err)
	}
	if n := idle.Buffered(); n != 0 {
		t.Fatalf("the idle end holds %d messages, want 0", n)
	}
	// The idle end still receives: nothing of it was lost.
	if err := a.Send(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	if v, err := idle.Recv(ctx); err != nil || v != "late" {
		t.Fatalf("idle Recv afterwards = %q, %v; want late", v, err)
	}
}

// A Get whose ctx ended while its pull request was in flight leaves no
// request behind to take the next item.
func TestQueueEndedGetLeavesNoPull(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	h := newTestQueue[string](t, connect(t, b), "ended", ipc.WithAckWait(time.Hour))
	other := newTestQueue[string](t, connectTCP(t, b), "ended")
	for _, v := range []string{"after-cancel", "after-timeout"} {
		if v == "after-cancel" {
			cctx, cancel := context.WithCancel(ctx)
			go func() {
				// Let the Get send its request; the outcome is the same
				// if it has not yet.
				time.Sleep(50 * time.Millisecond)
				cancel()
			}()
			if _, err := h.Get(cctx); err == nil {
				t.Fatal("Get on an empty queue returned an item")
			}
		} else if _, err := h.GetTimeout(ctx, 50*time.Millisecond); err == nil {
			t.Fatal("GetTimeout on an empty queue returned an item")
		}
		if err := h.Put(ctx, v); err != nil {
			t.Fatal(err)
		}
		if got, err := other.Get(ctx); err != nil || got != v {
			t.Fatalf("other Get = %q, %v; want %q (a pull left behind took it)", got, err, v)
		}
	}
}

// Gets cancelled while items arrive: an item the broker handed to a
// request whose Get had already given up is given back at once, so every
// item is had exactly once, by that handle or the other, long before the
// ack wait.
func TestQueueGetCancelledMidDeliveryLosesNothing(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	h := newTestQueue[int](t, connect(t, b), "mid", ipc.WithAckWait(time.Hour))
	other := newTestQueue[int](t, connectTCP(t, b), "mid")
	const rounds = 120
	gotOther := make(chan int, rounds)
	gctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for {
			v, err := other.Get(gctx)
			if err != nil {
				return
			}
			gotOther <- v
		}
	}()
	seen := make(map[int]int)
	for i := range rounds {
		cctx, cancel := context.WithCancel(ctx)
		type result struct {
			v   int
			err error
		}
		res := make(chan result, 1)
		go func() {
			v, err := h.Get(cctx)
			res <- result{v, err}
		}()
		if err := h.Put(ctx, i); err != nil {
			t.Fatal(err)
		}
		// Vary where in the delivery the cancel falls; not an assertion.
		time.Sleep(time.Duration(i%8) * 100 * time.Microsecond)
		cancel()
		if r := <-res; r.err == nil {
			seen[r.v]++
		}
	}
	for total := len(seen); total < rounds; total++ {
		select {
		case v := <-gotOther:
			seen[v]++
		case <-ctx.Done():
			t.Fatalf("only %d of %d items were had by either handle: %v", len(seen), rounds, seen)
		}
	}
	for i := range rounds {
		if seen[i] != 1 {
			t.Errorf("item %d had %d times, want once", i, seen[i])
		}
	}
	if n := h.Buffered(); n != 0 {
		t.Errorf("the idle handle holds %d messages, want 0", n)
	}
}

// Poll fetches a value to see it, and gives it back when it returns; the
// Recv that follows still gets the values in order.
func TestPipePollKeepsOrder(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	a, r := newTestPipe[int](t, connect(t, b))
	const n = 20
	for i := range n {
		if err := a.Send(ctx, i); err != nil {
			t.Fatal(err)
		}
		if err := a.Flush(ctx); err != nil { // one message each: no packing
			t.Fatal(err)
		}
	}
	for i := range n {
		if !r.Poll(5 * time.Second) {
			t.Fatalf("Poll before value %d = false", i)
		}
		if n := r.Buffered(); n != 0 {
			t.Fatalf("the end holds %d messages after Poll returned, want 0", n)
		}
		if v, err := r.Recv(ctx); err != nil || v != i {
			t.Fatalf("Recv = %d, %v; want %d", v, err, i)
		}
	}
}
