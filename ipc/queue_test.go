package ipc_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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

// quietBroker is the config of the tests' brokers: logs go nowhere.
var quietBroker = broker.Config{Logger: slog.New(slog.DiscardHandler)}

// connect returns an in-process connection to b.
func connect(t testing.TB, b *broker.Server) *nats.Conn {
	t.Helper()
	nc, err := b.Connect()
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// connectTCP returns a connection to b over TCP, as another process has.
func connectTCP(t testing.TB, b *broker.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(b.ClientURL(), nats.UserInfo(b.User(), b.Password()))
	if err != nil {
		t.Fatalf("connect tcp: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func newTestQueue[T any](t testing.TB, nc *nats.Conn, name string, opts ...ipc.Option) *ipc.Queue[T] {
	t.Helper()
	q, err := ipc.NewQueue[T](testutil.Ctx(t, 30*time.Second), nc, name, opts...)
	if err != nil {
		t.Fatalf("ipc.NewQueue(%q): %v", name, err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func TestQueueFIFO(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	q := newTestQueue[int](t, connect(t, b), "fifo")
	const n = 2000
	for i := range n {
		if err := q.Put(ctx, i); err != nil {
			t.Fatalf("Put(%d): %v", i, err)
		}
	}
	for i := range n {
		v, err := q.Get(ctx)
		if err != nil {
			t.Fatalf("Get #%d: %v", i, err)
		}
		if v != i {
			t.Fatalf("Get #%d = %d, want %d", i, v, i)
		}
	}
}

func TestQueueSharedByName(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	put := newTestQueue[string](t, connect(t, b), "shared", ipc.WithMaxSize(0))
	get := newTestQueue[string](t, connectTCP(t, b), "shared")
	if get.Name() != "shared" {
		t.Fatalf("Name() = %q", get.Name())
	}
	if err := put.Put(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	v, err := get.Get(ctx)
	if err != nil || v != "hello" {
		t.Fatalf("Get = %q, %v; want hello", v, err)
	}
}

func TestQueueTwoGettersSplit(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	const n = 3000
	prod := newTestQueue[int](t, connect(t, b), "split")
	getters := []*ipc.Queue[int]{
		newTestQueue[int](t, connectTCP(t, b), "split", ipc.WithPrefetch(8)),
		newTestQueue[int](t, connectTCP(t, b), "split", ipc.WithPrefetch(8)),
	}
	gctx, stop := context.WithCancel(ctx)
	defer stop()
	var total atomic.Int64
	got := make([][]int, len(getters))
	errs := make([]error, len(getters))
	var wg sync.WaitGroup
	for i, g := range getters {
		wg.Go(func() {
			for {
				v, err := g.Get(gctx)
				if err != nil {
					if gctx.Err() == nil {
						errs[i] = err
					}
					return
				}
				got[i] = append(got[i], v)
				if total.Add(1) == n {
					stop()
				}
			}
		})
	}
	for i := range n {
		if err := prod.Put(ctx, i); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("getter %d: %v", i, err)
		}
	}
	seen := make(map[int]int)
	for i, vs := range got {
		if len(vs) == 0 {
			t.Errorf("getter %d got nothing", i)
		}
		for _, v := range vs {
			seen[v]++
		}
	}
	for i := range n {
		if seen[i] != 1 {
			t.Errorf("item %d delivered %d times", i, seen[i])
		}
	}
	if len(seen) != n {
		t.Errorf("got %d distinct items, want %d", len(seen), n)
	}
}

// A getter that returned an item and then vanished holds nothing: the next
// item goes to another getter at once, not after the ack wait, and the
// item it returned does not come back.
func TestQueueItemOfVanishedGetterComesBack(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	// An ack wait beyond ctx: only an item nobody holds reaches q in time.
	q := newTestQueue[string](t, connect(t, b), "vanish", ipc.WithAckWait(time.Hour))
	ncDoomed := connectTCP(t, b)
	doomed := newTestQueue[string](t, ncDoomed, "vanish", ipc.WithPrefetch(4))
	for _, s := range []string{"first", "second"} {
		if err := q.Put(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := q.Flush(ctx); err != nil { // one message each: no packing
			t.Fatal(err)
		}
	}
	if v, err := doomed.Get(ctx); err != nil || v != "first" {
		t.Fatalf("doomed Get = %q, %v", v, err)
	}
	if n := doomed.Buffered(); n != 0 {
		t.Fatalf("the getter holds %d messages after its Get returned, want 0", n)
	}
	ncDoomed.Close()
	if v, err := q.Get(ctx); err != nil || v != "second" {
		t.Fatalf("Get after the getter vanished = %q, %v; want second", v, err)
	}
	if n, err := q.Len(ctx); err != nil || n != 0 {
		// "first" was acknowledged: it must not come back.
		testutil.WaitFor(t, 30*time.Second, "queue drained", func() bool { n, err := q.Len(ctx); return err == nil && n == 0 })
	}
}

func TestQueueMaxSize(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	q := newTestQueue[int](t, connect(t, b), "bounded", ipc.WithMaxSize(2))
	for i := range 2 {
		if err := q.Put(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err := q.Put(short, 99)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put on a full queue = %v, want DeadlineExceeded", err)
	}
	done := make(chan error, 1)
	go func() { done <- q.Put(ctx, 2) }()
	select {
	case err := <-done:
		t.Fatalf("Put on a full queue returned %v before any Get", err)
	case <-time.After(100 * time.Millisecond): // a negative check needs some wait
	}
	getter := newTestQueue[int](t, connectTCP(t, b), "bounded", ipc.WithPrefetch(1))
	if v, err := getter.Get(ctx); err != nil || v != 0 {
		t.Fatalf("Get = %d, %v", v, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("blocked Put: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Put still blocked after a Get made room")
	}
	for _, want := range []int{1, 2} {
		if v, err := getter.Get(ctx); err != nil || v != want {
			t.Fatalf("Get = %d, %v; want %d", v, err, want)
		}
	}
}

func TestQueueLenEmpty(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	q := newTestQueue[string](t, connect(t, b), "len")
	if empty, err := q.Empty(ctx); err != nil || !empty {
		t.Fatalf("Empty() = %v, %v on a new queue", empty, err)
	}
	for _, s := range []string{"a", "b", "c"} {
		if err := q.Put(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := q.Len(ctx); err != nil || n != 3 {
		t.Fatalf("Len() = %d, %v; want 3", n, err)
	}
	if _, err := q.Get(ctx); err != nil {
		t.Fatal(err)
	}
	// The ack is asynchronous: Len is approximate, as in Python.
	testutil.WaitFor(t, 30*time.Second, "Len 2 after a Get", func() bool { n, err := q.Len(ctx); return err == nil && n == 2 })
	if empty, err := q.Empty(ctx); err != nil || empty {
		t.Fatalf("Empty() = %v, %v with 2 items", empty, err)
	}
}

func TestQueueGetTimeout(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	q := newTestQueue[string](t, connect(t, b), "timeout")
	if _, err := q.GetTimeout(ctx, 20*time.Millisecond); !errors.Is(err, ipc.ErrQueueEmpty) {
		t.Fatalf("GetTimeout on empty = %v, want ipc.ErrQueueEmpty", err)
	}
	if _, err := q.GetTimeout(ctx, 0); !errors.Is(err, ipc.ErrQueueEmpty) {
		t.Fatalf("GetTimeout(0) on empty = %v, want ipc.ErrQueueEmpty", err)
	}
	if err := q.Put(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if v, err := q.GetTimeout(ctx, 5*time.Second); err != nil || v != "x" {
		t.Fatalf("GetTimeout = %q, %v", v, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := q.Get(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled ctx = %v", err)
	}
}

func TestQueueUndecodableItem(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	nc := connect(t, b)
	raw := newTestQueue[[]byte](t, nc, "garbage")
	ints := newTestQueue[int](t, nc, "garbage")
	if err := raw.Put(ctx, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if err := raw.Put(ctx, []byte("7")); err != nil {
		t.Fatal(err)
	}
	if _, err := ints.Get(ctx); err == nil {
		t.Fatal("Get of an undecodable item: no error")
	}
	if v, err := ints.Get(ctx); err != nil || v != 7 {
		t.Fatalf("Get after a bad item = %d, %v; want 7", v, err)
	}
}

func TestQueueClosedAndDeleted(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	nc := connect(t, b)
	q := newTestQueue[int](t, nc, "gone")
	if err := q.Put(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := q.Put(ctx, 2); !errors.Is(err, ipc.ErrClosed) {
		t.Fatalf("Put after Close = %v, want ipc.ErrClosed", err)
	}
	if _, err := q.Get(ctx); !errors.Is(err, ipc.ErrClosed) {
		t.Fatalf("Get after Close = %v, want ipc.ErrClosed", err)
	}
	q2 := newTestQueue[int](t, nc, "gone")
	if n, err := q2.Len(ctx); err != nil || n != 1 {
		t.Fatalf("Len on reopen = %d, %v; want 1 (Close keeps the queue)", n, err)
	}
	if err := q2.Delete(ctx); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	js, _ := jetstream.New(nc)
	if _, err := js.Stream(ctx, ipc.QueueStreamPrefix+"gone"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("stream after Delete: %v", err)
	}
	if err := ipc.DeleteQueue(ctx, nc, "gone"); err != nil {
		t.Fatalf("ipc.DeleteQueue of a deleted queue: %v", err)
	}
}

func TestQueueInvalidArguments(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	nc := connect(t, b)
	tests := []struct {
		name  string
		nc    *nats.Conn
		qname string
		opts  []ipc.Option
		want  error
	}{
		{"nil conn", nil, "q", nil, ipc.ErrInvalidArgument},
		{"empty name", nc, "", nil, ipc.ErrInvalidArgument},
		{"dot", nc, "a.b", nil, ipc.ErrInvalidArgument},
		{"space", nc, "a b", nil, ipc.ErrInvalidArgument},
		{"wildcard", nc, "a*", nil, ipc.ErrInvalidArgument},
		{"gt", nc, ">", nil, ipc.ErrInvalidArgument},
		{"non-ascii", nc, "naïve", nil, ipc.ErrInvalidArgument},
		{"negative max size", nc, "q", []ipc.Option{ipc.WithMaxSize(-1)}, ipc.ErrInvalidOption},
		{"zero prefetch", nc, "q", []ipc.Option{ipc.WithPrefetch(0)}, ipc.ErrInvalidOption},
		{"tiny ack wait", nc, "q", []ipc.Option{ipc.WithAckWait(time.Microsecond)}, ipc.ErrInvalidOption},
		{"replicas", nc, "q", []ipc.Option{ipc.WithReplicas(0)}, ipc.ErrInvalidOption},
		{"put window", nc, "q", []ipc.Option{ipc.WithPutWindow(0)}, ipc.ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := ipc.NewQueue[int](ctx, tt.nc, tt.qname, tt.opts...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ipc.NewQueue = %v, %v; want an error wrapping %v", q, err, tt.want)
			}
		})
	}
	if err := ipc.DeleteQueue(ctx, nc, "a.b"); !errors.Is(err, ipc.ErrInvalidArgument) {
		t.Fatalf("ipc.DeleteQueue(a.b) = %v", err)
	}
	q, err := ipc.NewQueue[int](ctx, nc, "Ok_name-1")
	if err != nil {
		t.Fatalf("valid name: %v", err)
	}
	_ = q.Close()
}

// BenchmarkQueuePutGet measures one producer and one consumer, each on its
// own TCP connection, moving b.N small strings through a queue. Run it with
// -benchtime=200000x for the figure comparable with Python's mp.Queue.
func BenchmarkQueuePutGet(b *testing.B) { benchQueuePutGet(b) }

// BenchmarkQueuePutGetBounded is BenchmarkQueuePutGet on a bounded queue:
// one item per message, each Put waits for the broker, each Get fetches
// one message.
func BenchmarkQueuePutGetBounded(b *testing.B) { benchQueuePutGet(b, ipc.WithMaxSize(1000)) }

func benchQueuePutGet(b *testing.B, opts ...ipc.Option) {
	ctx := testutil.Ctx(b, 60*time.Second)
	srv := testutil.StartBroker(b, quietBroker)
	name := "bench" + strconv.Itoa(b.N)
	prod := newTestQueue[string](b, connectTCP(b, srv), name, opts...)
	cons := newTestQueue[string](b, connectTCP(b, srv), name)
	msgs := make([]string, 1000)
	for i := range msgs {
		msgs[i] = fmt.Sprintf("message %d", i)
	}
	b.ResetTimer()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		for i := range b.N {
			if err := prod.Put(ctx, msgs[i%len(msgs)]); err != nil {
				errc <- err
				return
			}
		}
		errc <- prod.Flush(ctx)
	}()
	for i := range b.N {
		v, err := cons.Get(ctx)
		if err != nil {
			b.Fatalf("Get #%d: %v", i, err)
		}
		if v != msgs[i%len(msgs)] {
			b.Fatalf("Get #%d = %q", i, v)
		}
	}
	if err := <-errc; err != nil {
		b.Fatalf("Put: %v", err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

func TestQueueCloseWakesGetters(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	q := newTestQueue[int](t, connect(t, b), "wake")
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := q.Get(ctx)
			errs <- err
		}()
	}
	// Let the getters block (the outcome is the same if they have not yet).
	if _, err := q.GetTimeout(ctx, 20*time.Millisecond); !errors.Is(err, ipc.ErrQueueEmpty) {
		t.Fatalf("GetTimeout = %v", err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		select {
		case err := <-errs:
			if !errors.Is(err, ipc.ErrClosed) {
				t.Errorf("blocked Get after Close = %v, want ipc.ErrClosed", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("a blocked Get did not return after Close")
		}
	}
}
