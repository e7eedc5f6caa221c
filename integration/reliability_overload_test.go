package integration

import (
	"bytes"
	"iter"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// Row 13: overload. Submitting far more than the in-flight window keeps
// the caller's memory bounded, submission waits (blocks) for room, and
// every result arrives.

// heapSampler records the peak live heap while a test runs.
type heapSampler struct {
	base, peak uint64
}

func newHeapSampler() *heapSampler {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return &heapSampler{base: ms.HeapAlloc, peak: ms.HeapAlloc}
}

func (h *heapSampler) sample() {
	runtime.GC() // measure what is live, not what awaits collection
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.peak = max(h.peak, ms.HeapAlloc)
}

func (h *heapSampler) growth() uint64 { return h.peak - min(h.base, h.peak) }

func TestRow13MapWindowBoundsInFlight(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	log := newExecLog(t)
	ctx := testutil.Ctx(t, 60*time.Second)
	const window, n = 4, 400 // 100x the window
	items := make([]probe, n)
	for i := range items {
		items[i] = probe{N: i, Log: log.path, Wait: time.Millisecond}
	}
	var peak atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if pend := int64(p.Stats().Pending); pend > peak.Load() {
				peak.Store(pend)
			}
			time.Sleep(200 * time.Microsecond)
		}
	})
	out, err := pool.Map(ctx, p, sleepy, items, pool.WithWindow(window), pool.WithChunksize(1))
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		if o.N != 2*i {
			t.Fatalf("out[%d] = %+v", i, o)
		}
	}
	if pk := peak.Load(); pk > window || pk == 0 {
		t.Fatalf("peak tasks in flight %d, want 1..%d", pk, window)
	}
	execs := log.executions(t)
	if len(execs) != n {
		t.Fatalf("%d tasks executed, want %d", len(execs), n)
	}
	for id, e := range execs {
		if len(e) != 1 {
			t.Fatalf("task %s ran %d times", id, len(e))
		}
	}
	t.Logf("peak in flight %d with window %d over %d items", peak.Load(), window, n)
}

func TestRow13IMapLongInputBoundedHeap(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 120*time.Second)
	const (
		window    = 8
		chunksize = 4
		chunks    = 100 * window * 2 // 200x the window
		itemSize  = 16 << 10
		total     = chunks * chunksize // 6400 items, 100 MiB of input
	)
	var produced atomic.Int64
	input := iter.Seq[[]byte](func(yield func([]byte) bool) {
		for i := range total {
			b := bytes.Repeat([]byte{byte(i)}, itemSize)
			produced.Add(1)
			if !yield(b) {
				return
			}
		}
	})
	h := newHeapSampler()
	got, maxAhead := 0, int64(0)
	for n, err := range pool.IMap(ctx, p, size, input, pool.WithWindow(window), pool.WithChunksize(chunksize)) {
		if err != nil {
			t.Fatalf("item %d: %v", got, err)
		}
		if n != itemSize {
			t.Fatalf("item %d: size %d, want %d", got, n, itemSize)
		}
		got++
		// The input is read no further ahead than the window.
		maxAhead = max(maxAhead, produced.Load()-int64(got))
		if got%500 == 0 {
			h.sample()
		}
	}
	h.sample()
	if got != total {
		t.Fatalf("%d results, want %d: something was dropped", got, total)
	}
	if limit := int64((window + 1) * chunksize); maxAhead > limit {
		t.Fatalf("input read %d items ahead of the results, want at most %d", maxAhead, limit)
	}
	const bound = 32 << 20
	t.Logf("%d items (%d MiB of input) through a window of %d chunks: heap grew by %.1f MiB at most, input read at most %d items ahead",
		total, total*itemSize>>20, window, float64(h.growth())/(1<<20), maxAhead)
	if h.growth() > bound {
		t.Fatalf("heap grew by %d MiB, over %d MiB: memory is not bounded by the window", h.growth()>>20, bound>>20)
	}
}

func TestRow13ManyApplyAsync(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 120*time.Second)
	const n = 20000 // 5x the submit queue
	rs := make([]*pool.AsyncResult[int], n)
	start := time.Now()
	for i := range rs {
		rs[i] = pool.ApplyAsync(ctx, p, size, make([]byte, i%100))
	}
	submitted := time.Since(start)
	for i, r := range rs {
		v, err := r.Wait(ctx)
		if err != nil || v != i%100 {
			t.Fatalf("call %d: %d, %v", i, v, err)
		}
	}
	t.Logf("%d ApplyAsync submitted in %s, all answered in %s", n, submitted, time.Since(start))
	if st := p.Stats(); st.Pending != 0 || st.DuplicateResult != 0 {
		t.Fatalf("stats: %+v", st)
	}
}
