package ipc_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/ipc"
)

// The tests of this file hold a handle that went idle in the middle of a
// packed message to its promise: it hands the rest back, in its place in
// the order, and the items it returned are not returned again. Queues
// have an ack wait of an hour: only the hand-back lets the rest through
// within the tests' contexts.

// encodeAll encodes vs as the packer would before packing them.
func encodeAll[T any](t *testing.T, vs []T) [][]byte {
	t.Helper()
	enc := make([][]byte, len(vs))
	for i, v := range vs {
		data, err := wire.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		enc[i] = data
	}
	return enc
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

// Handle A gets the first item of a packed message and goes idle; handle
// B, on another connection, gets the second item and the rest in order,
// and nothing twice.
func TestQueueIdleHandleHandsBackRestOfPacked(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	a := newTestQueue[int](t, connect(t, b), "handback", ipc.WithAckWait(time.Hour))
	other := newTestQueue[int](t, connectTCP(t, b), "handback")
	const n = 50
	putPacked(t, a, seq(0, n)...)
	if v, err := a.Get(ctx); err != nil || v != 0 {
		t.Fatalf("A Get = %d, %v; want 0", v, err)
	}
	if held := a.Held(); held != n-1 {
		t.Fatalf("A holds %d items after its first Get, want %d (was the message packed?)", held, n-1)
	}
	start := time.Now()
	for want := 1; want < n; want++ {
		v, err := other.Get(ctx)
		if err != nil || v != want {
			t.Fatalf("B Get = %d, %v; want %d (A kept the rest of its message)", v, err, want)
		}
		if want == 1 {
			t.Logf("B got item 1 %v after A went idle (hand-back after %v idle)", time.Since(start), ipc.IdleHandBack)
		}
	}
	if v, err := other.GetTimeout(ctx, 200*time.Millisecond); !errors.Is(err, ipc.ErrQueueEmpty) {
		t.Errorf("after the last item: %d, %v; want ipc.ErrQueueEmpty (nothing twice)", v, err)
	}
	if held := a.Held(); held != 0 {
		t.Errorf("A still holds %d items", held)
	}
}

// The same with two handles of one pipe end.
func TestPipeEndIdleHandleHandsBackRestOfPacked(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	w, idle := newTestPipe[int](t, connect(t, b))
	other := openTestPipe[int](t, connectTCP(t, b), idle.Name())
	const n = 50
	if err := w.SendPacked(ctx, encodeAll(t, seq(0, n))); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if v, err := idle.Recv(ctx); err != nil || v != 0 {
		t.Fatalf("idle Recv = %d, %v; want 0", v, err)
	}
	if held := idle.Held(); held != n-1 {
		t.Fatalf("the end holds %d values after its first Recv, want %d (was the message packed?)", held, n-1)
	}
	for want := 1; want < n; want++ {
		if v, err := other.Recv(ctx); err != nil || v != want {
			t.Fatalf("other Recv = %d, %v; want %d (the idle end kept the rest of its message)", v, err, want)
		}
	}
	if other.Poll(200 * time.Millisecond) {
		v, err := other.Recv(ctx)
		t.Errorf("after the last value: Recv = %d, %v; want nothing (nothing twice)", v, err)
	}
}

// A lone reader that pauses past the idle bound between Gets hands its
// message back each time, and still gets every item once, in order; the
// records of the hand-backs are deleted once the message is acknowledged.
func TestQueueReaderPausingPastIdleBoundSeesEachItemOnce(t *testing.T) {
	ctx := testutil.Ctx(t, 60*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	nc := connect(t, b)
	q := newTestQueue[int](t, nc, "pausing", ipc.WithAckWait(time.Hour))
	const n = 8
	putPacked(t, q, seq(0, n)...)
	putPacked(t, q, seq(n, 2*n)...)
	var slowest time.Duration // a Get after a hand-back: redelivery and lookup
	for want := range 2 * n {
		start := time.Now()
		v, err := q.Get(ctx)
		if err != nil || v != want {
			t.Fatalf("Get = %d, %v; want %d", v, err, want)
		}
		slowest = max(slowest, time.Since(start))
		if want%n != n-1 { // the message has items left: it is handed back
			testutil.WaitFor(t, 10*time.Second, "the idle handle to hand its message back", func() bool { return q.Held() == 0 })
		}
	}
	t.Logf("slowest Get (after a hand-back): %v", slowest)
	if v, err := q.GetTimeout(ctx, 200*time.Millisecond); !errors.Is(err, ipc.ErrQueueEmpty) {
		t.Errorf("after the last item: %d, %v; want ipc.ErrQueueEmpty (nothing twice)", v, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, ipc.SyncBucket)
	if err != nil {
		t.Fatalf("the hand-backs wrote no record: %v", err)
	}
	testutil.WaitFor(t, 10*time.Second, "the hand-back records to be deleted", func() bool {
		keys, err := kv.ListKeys(ctx)
		if err != nil {
			return false
		}
		for k := range keys.Keys() {
			if strings.HasPrefix(k, "handback.") {
				_ = keys.Stop()
				return false
			}
		}
		return true
	})
}

// The same with a pipe end.
func TestPipeReaderPausingPastIdleBoundSeesEachValueOnce(t *testing.T) {
	ctx := testutil.Ctx(t, 60*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	w, r := newTestPipe[int](t, connect(t, b))
	const n = 8
	for _, vs := range [][]int{seq(0, n), seq(n, 2*n)} {
		if err := w.SendPacked(ctx, encodeAll(t, vs)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for want := range 2 * n {
		v, err := r.Recv(ctx)
		if err != nil || v != want {
			t.Fatalf("Recv = %d, %v; want %d", v, err, want)
		}
		if want%n != n-1 {
			testutil.WaitFor(t, 10*time.Second, "the idle end to hand its message back", func() bool { return r.Held() == 0 })
		}
	}
	if r.Poll(200 * time.Millisecond) {
		v, err := r.Recv(ctx)
		t.Errorf("after the last value: Recv = %d, %v; want nothing (nothing twice)", v, err)
	}
}
