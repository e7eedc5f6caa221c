package pool_test

import (
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

func TestApplyMapIMap(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 30*time.Second)

	got, err := pool.Apply(ctx, p, upper, "hello")
	if err != nil || got != "HELLO" {
		t.Fatalf("Apply = %q, %v; want HELLO", got, err)
	}

	in := make([]int, 1000)
	for i := range in {
		in[i] = i
	}
	for _, cs := range []int{0, 1, 7, 1000} {
		var opts []pool.MapOption
		if cs > 0 {
			opts = append(opts, pool.WithChunksize(cs))
		}
		out, err := pool.Map(ctx, p, square, in, opts...)
		if err != nil {
			t.Fatalf("Map chunksize %d: %v", cs, err)
		}
		for i, v := range out {
			if v != i*i {
				t.Fatalf("Map chunksize %d: out[%d] = %d, want %d", cs, i, v, i*i)
			}
		}
	}

	var ordered []int
	for v, err := range pool.IMap(ctx, p, square, slices.Values(in), pool.WithChunksize(3)) {
		if err != nil {
			t.Fatal(err)
		}
		ordered = append(ordered, v)
	}
	if len(ordered) != len(in) || ordered[999] != 999*999 || ordered[10] != 100 {
		t.Fatalf("IMap: got %d results, last %v", len(ordered), ordered[len(ordered)-1])
	}
	var unordered []int
	for v, err := range pool.IMapUnordered(ctx, p, square, slices.Values(in)) {
		if err != nil {
			t.Fatal(err)
		}
		unordered = append(unordered, v)
	}
	slices.Sort(unordered)
	if !slices.Equal(unordered, ordered) {
		t.Fatalf("IMapUnordered results differ from IMap's")
	}
}

func TestWorkersArePoolChildren(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 30*time.Second)
	ws := p.Workers()
	if len(ws) != 2 {
		t.Fatalf("Workers() = %d, want 2", len(ws))
	}
	pids := map[int]bool{}
	for _, w := range ws {
		if w.PID <= 0 || w.PID == os.Getpid() || w.ID == "" || w.Host == "" || !w.Local {
			t.Fatalf("bad worker info %+v", w)
		}
		pids[w.PID] = true
	}
	info, err := pool.Apply(ctx, p, whoami, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	if info.PPID != os.Getpid() || !pids[info.PID] || info.Attempt != 1 || info.TaskID == "" || info.Task != "test.whoami" {
		t.Fatalf("Current in task = %+v; want a child of %d among %v", info, os.Getpid(), pids)
	}
}

func TestTaskErrorsCrossTheWire(t *testing.T) {
	p := newPool(t, pool.WithProcesses(1))
	ctx := testutil.Ctx(t, 30*time.Second)
	_, err := pool.Apply(ctx, p, failing, "x")
	var te *pool.TaskError
	if !errors.As(err, &te) || te.Message != "bad x" || !errors.Is(err, pool.ErrTaskFailed) || errors.Is(err, pool.ErrPanic) {
		t.Fatalf("Apply(failing) = %v; want TaskError 'bad x'", err)
	}
	pid := te.PID
	_, err = pool.Apply(ctx, p, panicking, "y")
	if !errors.As(err, &te) || !errors.Is(err, pool.ErrPanic) || te.Stack == "" || te.Message != "panic: boom y" {
		t.Fatalf("Apply(panicking) = %#v", err)
	}
	if te.PID != pid {
		t.Fatalf("worker changed after a panic: pid %d then %d", pid, te.PID)
	}
	got, err := pool.Apply(ctx, p, raw, []byte{0, 1, 2})
	if err != nil || !slices.Equal(got, []byte{255, 254, 253}) {
		t.Fatalf("raw bytes: %v %v", got, err)
	}
}
