package pool_test

import (
	"slices"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// A long task must not hold short ones hostage while another worker is
// idle (Celery's prefetch starvation): tasks packed into one message with
// a long one are handed back within the fairness quantum.
func TestFairnessLongTaskDoesNotHoldShortOnes(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 30*time.Second)
	// Submitted back to back, these are packed into one message, the long
	// task first.
	long := pool.ApplyAsync(ctx, p, sleepMS, 1500)
	var short []*pool.AsyncResult[int]
	for range 20 {
		short = append(short, pool.ApplyAsync(ctx, p, sleepMS, 10))
	}
	start := time.Now()
	shortPIDs := map[int]bool{}
	for i, r := range short {
		pid, err := r.Get(10 * time.Second)
		if err != nil {
			t.Fatalf("short task %d: %v", i, err)
		}
		shortPIDs[pid] = true
	}
	shortDone := time.Since(start)
	if long.Ready() {
		t.Fatalf("the long task finished before the 20 short ones (%s): they waited behind it", shortDone)
	}
	longPID, err := long.Get(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if shortPIDs[longPID] {
		t.Fatalf("short tasks ran on the long task's worker %d while the other was idle", longPID)
	}
	t.Logf("20 short tasks done in %s on %v; long task on %d", shortDone, shortPIDs, longPID)
}

func TestFairnessIMapUnordered(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 30*time.Second)
	in := append([]int{1500}, slices.Repeat([]int{10}, 20)...)
	var order []int
	for pid, err := range pool.IMapUnordered(ctx, p, sleepMS, slices.Values(in)) {
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, pid)
	}
	if len(order) != 21 {
		t.Fatalf("got %d results", len(order))
	}
	last := order[20]
	for i, pid := range order[:20] {
		if pid == last {
			t.Fatalf("result %d came from the long task's worker before it finished: short tasks waited behind it (%v)", i, order)
		}
	}
}
