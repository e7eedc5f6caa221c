package ipc_test

import (
	"errors"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/ipc"
)

// TestPipeOptions: NewPipe and OpenPipe take the options that mean
// something to a pipe, and refuse the queue-only ones and invalid values.
func TestPipeOptions(t *testing.T) {
	srv := testutil.StartBroker(t, quietBroker)
	nc := connect(t, srv)
	ctx := testutil.Ctx(t, 30*time.Second)
	for _, opt := range []ipc.Option{ipc.WithMaxSize(1), ipc.WithAckWait(time.Second), ipc.WithValueTTL(time.Hour), ipc.WithPrefetch(0)} {
		if _, _, err := ipc.NewPipe[int](ctx, nc, opt); !errors.Is(err, ipc.ErrInvalidOption) {
			t.Fatalf("NewPipe with a wrong option = %v, want ErrInvalidOption", err)
		}
	}
	a, b, err := ipc.NewPipe[int](ctx, nc, ipc.WithPrefetch(1), ipc.WithPutWindow(1), ipc.WithMaxBytes(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ipc.DeletePipe(ctx, nc, a.Name()) })
	// b stays here untouched; another connection opens its end by name.
	z, err := ipc.OpenPipe[int](ctx, connectTCP(t, srv), b.Name(), ipc.WithPrefetch(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = z.Close() })
	for i := range 5 {
		if err := a.Send(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	for want := range 5 {
		if got, err := z.Recv(ctx); err != nil || got != want {
			t.Fatalf("Recv = %d, %v; want %d", got, err, want)
		}
	}
}
