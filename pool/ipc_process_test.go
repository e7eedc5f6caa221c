package pool_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/ipc"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

// ipcArg names a queue or pipe end for the tasks below.
type ipcArg struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

var (
	// takeOneAndHang takes one item, reports it on <name>-seen, and hangs
	// with whatever else it fetched ahead in hand.
	takeOneAndHang = worker.Register("test.ipc.take-one", func(ctx context.Context, a ipcArg) (string, error) {
		q, err := ipc.NewQueue[string](ctx, worker.Conn(ctx), a.Name)
		if err != nil {
			return "", err
		}
		v, err := q.Get(ctx)
		if err != nil {
			return "", err
		}
		seen, err := ipc.NewQueue[string](ctx, worker.Conn(ctx), a.Name+"-seen")
		if err != nil {
			return "", err
		}
		if err := seen.Put(ctx, v); err != nil {
			return "", err
		}
		if err := seen.Flush(ctx); err != nil {
			return "", err
		}
		select {} // until killed
	})
	sendInts = worker.Register("test.ipc.send-ints", func(ctx context.Context, a ipcArg) (int, error) {
		end, err := ipc.OpenPipe[int](ctx, worker.Conn(ctx), a.Name)
		if err != nil {
			return 0, err
		}
		for i := range a.N {
			if err := end.Send(ctx, i); err != nil {
				return 0, err
			}
		}
		return a.N, end.Close()
	})
)

// A consumer process SIGKILLed with items it fetched but never returned:
// those items come back to the queue; the one it returned does not.
func TestQueueConsumerProcessKilledItemsComeBack(t *testing.T) {
	p := newProcPool(t)
	ctx := testutil.Ctx(t, 30*time.Second)
	const name = "killed-consumer"
	q, err := ipc.NewQueue[string](ctx, p.Conn(), name, ipc.WithAckWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Delete(context.Background()) })
	seen, err := ipc.NewQueue[string](ctx, p.Conn(), name+"-seen")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = seen.Delete(context.Background()) })
	for _, v := range []string{"x1", "x2", "x3"} {
		if err := q.Put(ctx, v); err != nil {
			t.Fatal(err)
		}
		if err := q.Flush(ctx); err != nil { // one message per item
			t.Fatal(err)
		}
	}
	pr := start(t, p, takeOneAndHang, ipcArg{Name: name})
	if v, err := seen.Get(ctx); err != nil || v != "x1" {
		t.Fatalf("the consumer took %q, %v; want x1", v, err)
	}
	if n, err := q.Len(ctx); err != nil || n != 2 {
		t.Fatalf("Len with two items in the consumer's hand = %d, %v; want 2", n, err)
	}
	if err := pr.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := pr.Join(ctx); !errors.Is(err, pool.ErrWorkerLost) {
		t.Errorf("Join of the killed consumer = %v", err)
	}
	if c := pr.ExitCode(); c != killedCode {
		t.Errorf("ExitCode after Kill = %d, want %d", c, killedCode)
	}
	var back []string
	for range 2 {
		v, err := q.GetTimeout(ctx, 10*time.Second)
		if err != nil {
			t.Fatalf("items in the dead consumer's hand never came back: %v (got %v)", err, back)
		}
		back = append(back, v)
	}
	if back[0] != "x2" || back[1] != "x3" {
		t.Errorf("came back %v; want [x2 x3]", back)
	}
	if v, err := q.GetTimeout(ctx, 1500*time.Millisecond); !errors.Is(err, ipc.ErrQueueEmpty) {
		t.Errorf("then %q, %v; want ErrQueueEmpty (x1 was returned, it must not come back)", v, err)
	}
}

// A producer process writes a whole stream and exits before the reader
// attaches: nothing is lost, order holds, EOF comes last.
func TestPipeProcessWritesBeforeReaderAttaches(t *testing.T) {
	p := newProcPool(t)
	ctx := testutil.Ctx(t, 30*time.Second)
	r, w, err := ipc.NewPipe[int](ctx, p.Conn())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ipc.DeletePipe(context.Background(), p.Conn(), r.Name()) })
	const n = 5000
	pr := start(t, p, sendInts, ipcArg{Name: w.Name(), N: n})
	if got, err := pr.Join(ctx); err != nil || got != n {
		t.Fatalf("producer: %d, %v", got, err)
	}
	for i := range n {
		v, err := r.Recv(ctx)
		if err != nil || v != i {
			t.Fatalf("Recv #%d = %d, %v", i, v, err)
		}
	}
	if _, err := r.Recv(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("after the stream: %v, want io.EOF", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := r.Recv(ctx); !errors.Is(err, pool.ErrClosed) {
		t.Errorf("Recv on a closed end = %v, want ErrClosed", err)
	}
	if err := r.Send(ctx, 1); !errors.Is(err, pool.ErrClosed) {
		t.Errorf("Send on a closed end = %v, want ErrClosed", err)
	}
}
