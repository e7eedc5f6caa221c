package pool_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/wire"
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
	// (with the rest of the item's packed message in hand, until its idle
	// handle hands it back).
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

// publishPacked publishes items as one packed message of queue name, as
// a producer's handle does with items put in quick succession: header
// Procpool-Pack: k, body of k length-prefixed encoded items.
func publishPacked(ctx context.Context, t *testing.T, nc *nats.Conn, name string, items []string) {
	t.Helper()
	var body []byte
	for _, it := range items {
		data, err := wire.Encode(it)
		if err != nil {
			t.Fatal(err)
		}
		body = binary.AppendUvarint(body, uint64(len(data)))
		body = append(body, data...)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	k := strconv.Itoa(len(items))
	m := &nats.Msg{Subject: "procpool.queue." + name + "." + k, Data: body, Header: nats.Header{"Procpool-Pack": []string{k}}}
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
}

// A consumer process SIGKILLed after it returned the first item of a
// packed message: every item of the message comes back, in order, and the
// only one that may come twice is the one it returned (twice if it was
// killed holding the message, once if it had gone idle and handed the
// rest back first).
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
	items := []string{"x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8"}
	publishPacked(ctx, t, p.Conn(), name, items)
	pr := start(t, p, takeOneAndHang, ipcArg{Name: name})
	if v, err := seen.Get(ctx); err != nil || v != "x1" {
		t.Fatalf("the consumer took %q, %v; want x1", v, err)
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
	for len(back) == 0 || back[len(back)-1] != "x8" {
		v, err := q.GetTimeout(ctx, 10*time.Second)
		if err != nil {
			t.Fatalf("items of the dead consumer's message never came back: %v (got %v)", err, back)
		}
		back = append(back, v)
	}
	t.Logf("came back: %v", back)
	if !slices.Equal(back, items) && !slices.Equal(back, items[1:]) {
		t.Errorf("came back %v; want %v, or without x1", back, items)
	}
	if v, err := q.GetTimeout(ctx, 1500*time.Millisecond); !errors.Is(err, ipc.ErrQueueEmpty) {
		t.Errorf("then %q, %v; want ErrQueueEmpty (nothing more)", v, err)
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
