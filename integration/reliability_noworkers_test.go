package integration

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// Row 10: no workers at all. Documented behaviour: a call waits durably
// (its task stays queued) until a worker appears or its context ends;
// then the error is the context's, saying that no worker is live.

func TestRow10NoWorkers(t *testing.T) {
	b := testutil.StartBroker(t, broker.Config{})
	p := externalPool(t, b.ClientURL(), b.User(), b.Password(), pool.WithProcesses(0))
	if ws := p.Workers(); len(ws) != 0 {
		t.Fatalf("Workers() = %+v, want none", ws)
	}
	log := newExecLog(t)

	// A call with a short context returns its error promptly, saying why.
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := pool.Apply(short, p, quick, probe{Log: log.path, N: 1})
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Apply returned %s after its 300ms context", d)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "no live worker") {
		t.Fatalf("error %q does not say that no worker is live", err)
	}
	short2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	_, err = pool.Map(short2, p, quick, []probe{{Log: log.path}})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no live worker") {
		t.Fatalf("Map: err = %v, want DeadlineExceeded saying no live worker", err)
	}

	// A call with a longer context waits durably for a worker.
	ctx := testutil.Ctx(t, 60*time.Second)
	waiting := pool.ApplyAsync(ctx, p, quick, probe{Log: log.path, N: 21})
	items := make([]probe, 20)
	for i := range items {
		items[i] = probe{N: i, Log: log.path}
	}
	mapped := make(chan error, 1)
	go func() {
		out, err := pool.Map(ctx, p, quick, items, pool.WithChunksize(1))
		for i, o := range out {
			if o.N != 2*i {
				err = errors.New("wrong result")
			}
		}
		mapped <- err
	}()
	testutil.WaitFor(t, 10*time.Second, "the calls to be queued", func() bool { return p.Stats().Pending == 21 })
	if _, err := waiting.Get(500 * time.Millisecond); !errors.Is(err, pool.ErrTimeout) {
		t.Fatalf("Get before any worker: %v, want ErrTimeout (still waiting)", err)
	}
	if n := len(log.read(t)); n != 0 {
		t.Fatalf("%d executions without a worker", n)
	}

	// A worker appears: the waiting calls complete, once each.
	appeared := time.Now()
	w := startWorkerProc(t, b.ClientURL(), b.User(), b.Password(), p.Name())
	got, err := waiting.Wait(ctx)
	if err != nil || got.N != 42 || got.PID != w.pid() {
		t.Fatalf("waiting call after a worker appeared: %+v, %v (worker pid %d)", got, err, w.pid())
	}
	if err := <-mapped; err != nil {
		t.Fatalf("waiting Map after a worker appeared: %v", err)
	}
	t.Logf("queued calls completed %s after the worker appeared", time.Since(appeared))
	testutil.WaitFor(t, 10*time.Second, "the worker to show in Workers()", func() bool {
		ws := p.Workers()
		return len(ws) == 1 && ws[0].PID == w.pid() && !ws[0].Local
	})
	// I1/I2/I3: the two short calls were abandoned before any worker
	// existed, so they may run once now; every other task ran exactly once.
	for id, e := range log.executions(t) {
		if len(e) != 1 {
			t.Fatalf("task %s ran %d times", id, len(e))
		}
	}
	if n := len(log.read(t)); n < 21 || n > 23 {
		t.Fatalf("%d executions, want 21 (+2 abandoned calls at most)", n)
	}
	if st := p.Stats(); st.Pending != 0 {
		t.Fatalf("stats: %+v", st)
	}
}
