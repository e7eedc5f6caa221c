package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// Row 12: a connection drops for ~2 s (a TCP proxy in the path is cut and
// restored) while a Map runs.

// mapThroughCut runs a Map of n sleepy tasks, cuts px for outage once
// some have run, and returns the Map's outcome and the execution log.
func mapThroughCut(t *testing.T, p *pool.Pool, px *proxy, n int, outage time.Duration) execLog {
	t.Helper()
	log := newExecLog(t)
	ctx := testutil.Ctx(t, 45*time.Second)
	items := make([]probe, n)
	for i := range items {
		items[i] = probe{N: i, Log: log.path, Wait: 10 * time.Millisecond}
	}
	type result struct {
		out []outcome
		err error
	}
	res := make(chan result, 1)
	go func() {
		out, err := pool.Map(ctx, p, sleepy, items, pool.WithChunksize(1))
		res <- result{out, err}
	}()
	testutil.WaitFor(t, 30*time.Second, "some tasks to run", func() bool { return len(log.read(t)) >= 20 })
	px.Cut()
	cutAt := len(log.read(t))
	time.Sleep(outage) // the fault itself, not synchronisation
	px.Restore()
	t.Logf("cut after %d executions, restored after %s", cutAt, outage)
	var r result
	select {
	case r = <-res:
	case <-ctx.Done():
		t.Fatalf("Map did not finish after the cut (I1/I5): %d of %d tasks executed; pending %d",
			len(log.executions(t)), n, p.Stats().Pending)
	}
	if r.err != nil {
		t.Fatalf("Map after the cut: %v", r.err)
	}
	for i, o := range r.out {
		if o.N != 2*i {
			t.Fatalf("out[%d] = %+v", i, o)
		}
	}
	if pend := p.Stats().Pending; pend != 0 {
		t.Fatalf("%d tasks still pending after Map returned", pend)
	}
	return log
}

func TestRow12CallerConnectionCut(t *testing.T) {
	b := testutil.StartBroker(t, broker.Config{})
	px := newProxy(t, strings.TrimPrefix(b.ClientURL(), "nats://"))
	p := externalPool(t, px.URL(), b.User(), b.Password(), pool.WithProcesses(0))
	w1 := startWorkerProc(t, b.ClientURL(), b.User(), b.Password(), p.Name())
	w2 := startWorkerProc(t, b.ClientURL(), b.User(), b.Password(), p.Name())

	log := mapThroughCut(t, p, px, 300, 2*time.Second)
	// Only the caller was cut: every task was queued once, so it ran once
	// (publishes retried with the same message id are not queued twice).
	execs := log.executions(t)
	if len(execs) != 300 {
		t.Fatalf("%d distinct tasks executed, want 300", len(execs))
	}
	for id, e := range execs {
		if len(e) != 1 {
			t.Fatalf("task %s ran %d times: %+v", id, len(e), e)
		}
	}
	if !w1.alive() || !w2.alive() {
		t.Fatal("a worker died")
	}
	t.Logf("duplicate results dropped: %d", p.Stats().DuplicateResult)
}

func TestRow12WorkerConnectionCut(t *testing.T) {
	b := testutil.StartBroker(t, broker.Config{})
	px := newProxy(t, strings.TrimPrefix(b.ClientURL(), "nats://"))
	p := externalPool(t, b.ClientURL(), b.User(), b.Password(), pool.WithProcesses(0), pool.WithMaxAttempts(3))
	w1 := startWorkerProc(t, px.URL(), b.User(), b.Password(), p.Name())
	w2 := startWorkerProc(t, px.URL(), b.User(), b.Password(), p.Name())

	log := mapThroughCut(t, p, px, 300, 2*time.Second)
	// A worker cut off mid-task may have its task redelivered (at least
	// once), but within MaxAttempts, and the caller keeps one result.
	execs := log.executions(t)
	if len(execs) != 300 {
		t.Fatalf("%d distinct tasks executed, want 300", len(execs))
	}
	again := 0
	for id, e := range execs {
		if len(e) > 3 {
			t.Fatalf("task %s ran %d times, over MaxAttempts 3", id, len(e))
		}
		again += len(e) - 1
	}
	t.Logf("re-executions: %d; duplicate results dropped: %d", again, p.Stats().DuplicateResult)
	if !w1.alive() || !w2.alive() {
		t.Fatal("a worker died")
	}
	// Both workers reconnected and serve again.
	mapThroughCut(t, p, px, 60, 0)
}

// Row 12 mid-upload: the caller's link is cut for ~2 s while it stores a
// 64 MiB argument in the pool's bucket. The call ends within a bound with
// the right result (the upload went through, or was done again) or a clear
// error naming the store; never a wrong value, never a hang. The pool then
// carries large values again.
func TestRow12CallerCutMidUpload(t *testing.T) {
	b := testutil.StartBroker(t, broker.Config{})
	px := newProxy(t, strings.TrimPrefix(b.ClientURL(), "nats://"))
	p := externalPool(t, px.URL(), b.User(), b.Password(), pool.WithProcesses(0))
	w := startWorkerProc(t, b.ClientURL(), b.User(), b.Password(), p.Name())
	admin, err := b.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	js, err := jetstream.New(admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testutil.Ctx(t, 90*time.Second)
	arg := builtin.BlobBytes(64 << 20)
	r := pool.ApplyAsync(ctx, p, checksumTask, arg)
	testutil.WaitFor(t, 30*time.Second, "the upload to begin", func() bool {
		s, err := js.Stream(ctx, "OBJ_"+blob.Bucket(p.Name()))
		return err == nil && s.CachedInfo().State.Bytes > 0
	})
	px.Cut()
	time.Sleep(2 * time.Second) // the fault itself, not synchronisation
	px.Restore()
	start := time.Now()
	got, err := r.Wait(ctx)
	switch {
	case err == nil && got != sum64(arg):
		t.Fatalf("a wrong value after the cut: checksum %x, want %x", got, sum64(arg))
	case err != nil && ctx.Err() != nil:
		t.Fatalf("the call hung after the cut: %v", err)
	case err != nil && !strings.Contains(err.Error(), "store"):
		t.Fatalf("error after the cut does not name the store: %v", err)
	}
	t.Logf("after the cut: checksum ok=%v, err=%v, %v after the restore", err == nil, err, time.Since(start).Round(time.Millisecond))
	again, err := pool.Apply(ctx, p, checksumTask, arg)
	if err != nil || again != sum64(arg) {
		t.Fatalf("64 MiB after the link came back: %x, %v", again, err)
	}
	waitBucketEmpty(t, admin, blob.Bucket(p.Name()))
	w.kill()
}
