package pool_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

func TestNewRejectsBadOptions(t *testing.T) {
	ctx := testutil.Ctx(t, 10*time.Second)
	for _, tc := range []struct {
		name string
		opt  pool.Option
	}{
		{"negative processes", pool.WithProcesses(-1)},
		{"empty broker", pool.WithBroker("")},
		{"zero attempts", pool.WithMaxAttempts(0)},
		{"negative timeout", pool.WithTaskTimeout(-time.Second)},
		{"sub-millisecond timeout", pool.WithTaskTimeout(time.Microsecond)},
		{"negative max tasks", pool.WithMaxTasksPerChild(-1)},
		{"zero worker GOMAXPROCS", pool.WithWorkerGOMAXPROCS(0)},
		{"worker GOMAXPROCS below -1", pool.WithWorkerGOMAXPROCS(-2)},
		{"bad name", pool.WithName("has space")},
		{"empty name", pool.WithName("")},
		{"nil logger", pool.WithLogger(nil)},
		{"zero replicas", pool.WithReplicas(0)},
		{"tiny ack wait", pool.WithAckWait(time.Millisecond)},
		{"zero start timeout", pool.WithStartTimeout(0)},
		{"empty token", pool.WithToken("")},
		{"empty user", pool.WithCredentials("", "x")},
		{"nil option", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := pool.New(ctx, tc.opt)
			if !errors.Is(err, pool.ErrInvalidOption) {
				if p != nil {
					p.Terminate()
				}
				t.Fatalf("New = %v, want ErrInvalidOption", err)
			}
		})
	}
	//lint:ignore SA1012 testing the nil check
	if _, err := pool.New(nil); !errors.Is(err, pool.ErrInvalidArgument) { //nolint:staticcheck
		t.Fatalf("New(nil ctx) = %v", err)
	}
}

func TestCallsValidateArguments(t *testing.T) {
	p := newPool(t, pool.WithProcesses(1))
	ctx := testutil.Ctx(t, 20*time.Second)
	var zero worker.Task[string, string]

	if _, err := pool.Apply(ctx, nil, upper, "x"); !errors.Is(err, pool.ErrInvalidArgument) {
		t.Errorf("Apply(nil pool) = %v", err)
	}
	if _, err := pool.Apply(ctx, p, zero, "x"); !errors.Is(err, pool.ErrInvalidArgument) {
		t.Errorf("Apply(zero task) = %v", err)
	}
	if _, err := pool.Map(ctx, p, upper, []string{"a"}, pool.WithChunksize(0)); !errors.Is(err, pool.ErrInvalidOption) {
		t.Errorf("Map(chunksize 0) = %v", err)
	}
	if _, err := pool.Map(ctx, p, upper, []string{"a"}, pool.WithWindow(0)); !errors.Is(err, pool.ErrInvalidOption) {
		t.Errorf("Map(window 0) = %v", err)
	}
	for _, err := range pool.IMap(ctx, p, upper, nil) {
		if !errors.Is(err, pool.ErrInvalidArgument) {
			t.Errorf("IMap(nil items) = %v", err)
		}
	}
	if out, err := pool.Map(ctx, p, upper, nil); err != nil || len(out) != 0 {
		t.Errorf("Map(no items) = %v, %v; want empty, nil", out, err)
	}
	// Larger than the broker's max payload: carried all the same.
	big := strings.Repeat("x", 2<<20)
	if got, err := pool.Apply(ctx, p, upper, big); err != nil || got != strings.ToUpper(big) {
		t.Errorf("Apply(2 MiB) = %d bytes, %v; want it carried", len(got), err)
	}
	unknown := worker.Ref[string, string]("no.such.task")
	if _, err := pool.Apply(ctx, p, unknown, "x"); !errors.Is(err, pool.ErrUnknownTask) || !strings.Contains(err.Error(), "no.such.task") {
		t.Errorf("Apply(unknown task) = %v, want ErrUnknownTask", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := pool.Apply(cancelled, p, upper, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Apply(cancelled ctx) = %v", err)
	}
}

func TestAsyncResult(t *testing.T) {
	p := newPool(t, pool.WithProcesses(1))
	ctx := testutil.Ctx(t, 20*time.Second)
	r := pool.ApplyAsync(ctx, p, sleepMS, 300)
	if _, err := r.Get(20 * time.Millisecond); !errors.Is(err, pool.ErrTimeout) {
		t.Fatalf("Get before ready = %v, want ErrTimeout", err)
	}
	if r.Ready() || r.Successful() {
		t.Fatal("Ready/Successful before the result")
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := r.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait(expired ctx) = %v", err)
	}
	select {
	case <-r.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done never closed")
	}
	pid, err := r.Get(0)
	if err != nil || pid == 0 || !r.Ready() || !r.Successful() {
		t.Fatalf("after Done: %d %v ready=%v ok=%v", pid, err, r.Ready(), r.Successful())
	}
	f := pool.ApplyAsync(ctx, p, failing, "z")
	if _, err := f.Get(10 * time.Second); err == nil || f.Successful() || !f.Ready() {
		t.Fatalf("failing task: err %v successful %v", err, f.Successful())
	}
	// The call's ctx bounds the call.
	callCtx, cancelCall := context.WithCancel(ctx)
	c := pool.ApplyAsync(callCtx, p, sleepMS, 5000)
	cancelCall()
	if _, err := c.Get(2 * time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call = %v, want context.Canceled", err)
	}
}

func TestMapStopsAtFirstFailure(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 20*time.Second)
	in := slices.Repeat([]string{"ok"}, 50)
	_, err := pool.Map(ctx, p, failing, in, pool.WithChunksize(10))
	var te *pool.TaskError
	if !errors.As(err, &te) || te.Index%10 != 0 || te.Task != "test.fail" {
		t.Fatalf("Map(failing) = %v; want a TaskError at the first item of a chunk", err)
	}
	// Items after a failure in IMap still come, each with its own result.
	n, failed := 0, 0
	for _, err := range pool.IMap(ctx, p, failing, slices.Values([]string{"a", "b", "c"})) {
		n++
		if err != nil {
			failed++
		}
	}
	if n != 3 || failed != 3 {
		t.Fatalf("IMap yielded %d (%d failed), want 3 failures", n, failed)
	}
}

func TestCloseAndTerminate(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	p, err := pool.New(ctx, pool.WithProcesses(1))
	if err != nil {
		t.Fatal(err)
	}
	inflight := pool.ApplyAsync(ctx, p, sleepMS, 300)
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if v, err := inflight.Get(time.Second); err != nil || v == 0 {
		t.Fatalf("in-flight call across a graceful Close: %v %v", v, err)
	}
	if _, err := pool.Apply(ctx, p, upper, "x"); !errors.Is(err, pool.ErrClosed) {
		t.Fatalf("Apply after Close = %v, want ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	q, err := pool.New(ctx, pool.WithProcesses(1))
	if err != nil {
		t.Fatal(err)
	}
	cut := pool.ApplyAsync(ctx, q, sleepMS, 5000)
	start := time.Now()
	if err := q.Terminate(); err != nil {
		t.Fatal(err)
	}
	if _, err := cut.Get(time.Second); !errors.Is(err, pool.ErrClosed) {
		t.Fatalf("in-flight call across Terminate = %v, want ErrClosed", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Terminate took %s", d)
	}
	if ws := q.Workers(); len(ws) != 0 {
		t.Fatalf("workers after Terminate: %v", ws)
	}
}

func TestRemoteOnlyPoolWaitsForWorkers(t *testing.T) {
	p := newPool(t, pool.WithProcesses(0))
	if ws := p.Workers(); len(ws) != 0 {
		t.Fatalf("Workers() = %v, want none", ws)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := pool.Apply(ctx, p, upper, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Apply with no workers = %v, want the ctx's deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("returned after %s", d)
	}
}
