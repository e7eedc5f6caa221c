package pool_test

import (
	"errors"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/ipc"
	"github.com/procpool/procpool/pool"
)

// TestIPCForwards: the queue and pipe names pool keeps reach ipc, and
// pool's sentinels match what ipc returns.
func TestIPCForwards(t *testing.T) {
	p := newPool(t, pool.WithProcesses(1))
	ctx := testutil.Ctx(t, 30*time.Second)
	if _, err := pool.NewQueue[int](ctx, p.Conn(), "fwd", pool.WithMaxSize(-1)); !errors.Is(err, pool.ErrInvalidOption) {
		t.Fatalf("pool.NewQueue(WithMaxSize(-1)) = %v, want pool.ErrInvalidOption", err)
	}
	var q *pool.Queue[int]
	q, err := pool.NewQueue[int](ctx, p.Conn(), "fwd", pool.WithQueueAckWait(time.Second), pool.WithPrefetch(4))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.DeleteQueue(ctx, p.Conn(), "fwd")
	if _, err := q.GetTimeout(ctx, 10*time.Millisecond); !errors.Is(err, pool.ErrQueueEmpty) || !errors.Is(err, ipc.ErrQueueEmpty) {
		t.Fatalf("GetTimeout on empty = %v, want pool.ErrQueueEmpty", err)
	}
	_ = q.Close()
	if err := q.Put(ctx, 1); !errors.Is(err, pool.ErrClosed) {
		t.Fatalf("Put after Close = %v, want pool.ErrClosed", err)
	}
	var a, b *pool.PipeEnd[string]
	a, b, err = pool.NewPipe[string](ctx, p.Conn())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.DeletePipe(ctx, p.Conn(), a.Name())
	_ = b.Close()
	if _, err := pool.OpenPipe[string](ctx, p.Conn(), "x"); !errors.Is(err, pool.ErrInvalidArgument) {
		t.Fatalf("pool.OpenPipe(x) = %v, want pool.ErrInvalidArgument", err)
	}
}
