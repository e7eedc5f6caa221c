package ipc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/ipc"
)

func newTestPipe[T any](t testing.TB, nc *nats.Conn) (*ipc.PipeEnd[T], *ipc.PipeEnd[T]) {
	t.Helper()
	a, b, err := ipc.NewPipe[T](testutil.Ctx(t, 30*time.Second), nc)
	if err != nil {
		t.Fatalf("NewPipe: %v", err)
	}
	t.Cleanup(func() {
		_ = a.Close()
		_ = b.Close()
	})
	return a, b
}

func openTestPipe[T any](t testing.TB, nc *nats.Conn, name string) *ipc.PipeEnd[T] {
	t.Helper()
	p, err := ipc.OpenPipe[T](testutil.Ctx(t, 30*time.Second), nc, name)
	if err != nil {
		t.Fatalf("ipc.OpenPipe(%q): %v", name, err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestPipeNames(t *testing.T) {
	b := testutil.StartBroker(t, quietBroker)
	a, bb := newTestPipe[int](t, connect(t, b))
	ida, enda, _ := strings.Cut(a.Name(), ".")
	idb, endb, _ := strings.Cut(bb.Name(), ".")
	if ida == "" || ida != idb || enda != "a" || endb != "b" {
		t.Fatalf("names %q and %q: want <id>.a and <id>.b", a.Name(), bb.Name())
	}
}

func TestPipeDuplexOrdered(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	a, bLocal := newTestPipe[int](t, connect(t, b))
	// The b end is used from "another process": its own TCP connection.
	other := openTestPipe[int](t, connectTCP(t, b), bLocal.Name())
	const n = 2000
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	send := func(p *ipc.PipeEnd[int], base int) {
		for i := range n {
			if err := p.Send(ctx, base+i); err != nil {
				errs <- fmt.Errorf("%s Send: %w", p.Name(), err)
				return
			}
		}
	}
	recv := func(p *ipc.PipeEnd[int], base int) {
		for i := range n {
			v, err := p.Recv(ctx)
			if err != nil {
				errs <- fmt.Errorf("%s Recv #%d: %w", p.Name(), i, err)
				return
			}
			if v != base+i {
				errs <- fmt.Errorf("%s Recv #%d = %d, want %d", p.Name(), i, v, base+i)
				return
			}
		}
	}
	wg.Go(func() { send(a, 0) })
	wg.Go(func() { send(other, 1_000_000) })
	wg.Go(func() { recv(other, 0) })
	wg.Go(func() { recv(a, 1_000_000) })
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPipeSentBeforeReaderAttachesIsKept(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	a, bLocal := newTestPipe[string](t, connect(t, b))
	want := make([]string, 300)
	for i := range want {
		want[i] = fmt.Sprintf("m%d", i)
		if err := a.Send(ctx, want[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Only now does the reader open its end, elsewhere.
	reader := openTestPipe[string](t, connectTCP(t, b), bLocal.Name())
	for i, w := range want {
		v, err := reader.Recv(ctx)
		if err != nil || v != w {
			t.Fatalf("Recv #%d = %q, %v; want %q", i, v, err, w)
		}
	}
	for range 2 {
		if _, err := reader.Recv(ctx); !errors.Is(err, io.EOF) {
			t.Fatalf("Recv after everything = %v, want io.EOF", err)
		}
	}
}

func TestPipeEOFAndCleanup(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	nc := connect(t, b)
	a, bb := newTestPipe[int](t, nc)
	for i := range 3 {
		if err := a.Send(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if !bb.Poll(5 * time.Second) {
		t.Fatal("Poll = false with values waiting")
	}
	for i := range 3 {
		if v, err := bb.Recv(ctx); err != nil || v != i {
			t.Fatalf("Recv = %d, %v; want %d", v, err, i)
		}
	}
	if !bb.Poll(5 * time.Second) {
		t.Fatal("Poll = false with the end of stream waiting")
	}
	if _, err := bb.Recv(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("Recv = %v, want io.EOF", err)
	}
	if err := a.Send(ctx, 9); !errors.Is(err, ipc.ErrClosed) {
		t.Fatalf("Send on a closed end = %v, want ipc.ErrClosed", err)
	}
	if _, err := a.Recv(ctx); !errors.Is(err, ipc.ErrClosed) {
		t.Fatalf("Recv on a closed end = %v, want ipc.ErrClosed", err)
	}
	if err := bb.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bb.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	js, _ := jetstream.New(nc)
	if _, err := js.Stream(ctx, ipc.PipeStreamPrefix+strings.TrimSuffix(a.Name(), ".a")); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("pipe stream after both ends closed: %v, want not found", err)
	}
	if _, err := ipc.OpenPipe[int](ctx, nc, a.Name()); err == nil {
		t.Fatal("ipc.OpenPipe of a closed pipe: no error")
	}
}

func TestPipePoll(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	a, bb := newTestPipe[string](t, connect(t, b))
	if bb.Poll(0) {
		t.Fatal("Poll(0) = true on an empty pipe")
	}
	if bb.Poll(30 * time.Millisecond) {
		t.Fatal("Poll(30ms) = true on an empty pipe")
	}
	if err := a.Send(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if !bb.Poll(5 * time.Second) {
		t.Fatal("Poll = false after a Send")
	}
	if !bb.Poll(0) {
		t.Fatal("Poll(0) = false with a value fetched")
	}
	if v, err := bb.Recv(ctx); err != nil || v != "x" {
		t.Fatalf("Recv = %q, %v", v, err)
	}
	if bb.Poll(0) {
		t.Fatal("Poll(0) = true after the only value was received")
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := bb.Recv(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv on an empty pipe with a short ctx = %v", err)
	}
}

func TestPipeInvalidArguments(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	nc := connect(t, b)
	if _, _, err := ipc.NewPipe[int](ctx, nil); !errors.Is(err, ipc.ErrInvalidArgument) {
		t.Fatalf("ipc.NewPipe(nil conn) = %v", err)
	}
	tests := []struct {
		name  string
		nc    *nats.Conn
		pname string
	}{
		{"nil conn", nil, "abc.a"},
		{"empty", nc, ""},
		{"no end", nc, "abc"},
		{"bad end", nc, "abc.c"},
		{"empty id", nc, ".a"},
		{"bad id", nc, "a*c.a"},
		{"extra token", nc, "abc.a.b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ipc.OpenPipe[int](ctx, tt.nc, tt.pname); !errors.Is(err, ipc.ErrInvalidArgument) {
				t.Fatalf("ipc.OpenPipe(%q) = %v, want ipc.ErrInvalidArgument", tt.pname, err)
			}
		})
	}
	if _, err := ipc.OpenPipe[int](ctx, nc, "nosuchpipe.a"); err == nil || errors.Is(err, ipc.ErrInvalidArgument) {
		t.Fatalf("ipc.OpenPipe of a missing pipe = %v, want a not-found error", err)
	}
	if err := ipc.DeletePipe(ctx, nc, "nosuchpipe.b"); err != nil {
		t.Fatalf("ipc.DeletePipe of a missing pipe: %v", err)
	}
}

// BenchmarkPipeSendRecv measures one sender and one receiver, each on its
// own TCP connection, moving b.N small strings one way through a pipe. Run it
// with -benchtime=200000x for the figure comparable with Python's mp.Pipe.
func BenchmarkPipeSendRecv(b *testing.B) {
	ctx := testutil.Ctx(b, 30*time.Second)
	srv := testutil.StartBroker(b, quietBroker)
	a, bLocal := newTestPipe[string](b, connect(b, srv))
	sender := openTestPipe[string](b, connectTCP(b, srv), a.Name())
	receiver := openTestPipe[string](b, connectTCP(b, srv), bLocal.Name())
	msgs := make([]string, 1000)
	for i := range msgs {
		msgs[i] = fmt.Sprintf("message %d", i)
	}
	b.ResetTimer()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		for i := range b.N {
			if err := sender.Send(ctx, msgs[i%len(msgs)]); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i := range b.N {
		v, err := receiver.Recv(ctx)
		if err != nil {
			b.Fatalf("Recv #%d: %v", i, err)
		}
		if v != msgs[i%len(msgs)] {
			b.Fatalf("Recv #%d = %q", i, v)
		}
	}
	if err := <-errc; err != nil {
		b.Fatalf("Send: %v", err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
