package pool_test

import (
	"slices"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// Packing adapts to how long tasks run, as workers report it: tasks known
// to take milliseconds go one per message, straight to idle workers; short
// ones submitted together share messages.
func TestPackingAdaptsToTaskDuration(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 30*time.Second)

	// Short tasks, never seen before: packed.
	before := p.Stats().TaskMessages
	if _, err := pool.Map(ctx, p, square, slices.Repeat([]int{3}, 2000), pool.WithChunksize(1)); err != nil {
		t.Fatal(err)
	}
	// How many share a message depends on timing (the publisher packs what
	// is waiting); one message each would mean packing is off for them.
	if n := p.Stats().TaskMessages - before; n >= 2000 {
		t.Fatalf("2000 short tasks went in %d messages: not packed", n)
	} else {
		t.Logf("2000 short tasks in %d messages", n)
	}

	// A Map in large chunks (each chunk one task of 50,000 items, several
	// milliseconds) leaves single items of the same task packed: times are
	// kept per item.
	if _, err := pool.Map(ctx, p, square, slices.Repeat([]int{3}, 100_000), pool.WithChunksize(50_000)); err != nil {
		t.Fatal(err)
	}
	before = p.Stats().TaskMessages
	if _, err := pool.Map(ctx, p, square, slices.Repeat([]int{3}, 2000), pool.WithChunksize(1)); err != nil {
		t.Fatal(err)
	}
	if n := p.Stats().TaskMessages - before; n >= 2000 {
		t.Fatalf("after a chunked Map, 2000 short tasks went in %d messages: not packed", n)
	} else {
		t.Logf("after a chunked Map: 2000 short tasks in %d messages", n)
	}

	// 5ms tasks: once their time is known, one per message.
	if _, err := pool.Map(ctx, p, sleepMS, []int{5, 5, 5, 5}, pool.WithChunksize(1)); err != nil {
		t.Fatal(err)
	}
	before = p.Stats().TaskMessages
	if _, err := pool.Map(ctx, p, sleepMS, slices.Repeat([]int{5}, 20), pool.WithChunksize(1)); err != nil {
		t.Fatal(err)
	}
	if n := p.Stats().TaskMessages - before; n != 20 {
		t.Fatalf("20 tasks of 5ms went in %d messages, want one each", n)
	}
}

// However short a task is believed to be, a Map never packs more than a
// worker's share of its chunks into one message: when the belief is wrong
// (it came from other inputs), every worker starts on the call at once
// instead of waiting for the first one's give-back.
func TestPackingSpreadsAMapOverTheWorkers(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 30*time.Second)
	// Teach the caller that test.sleep is quick...
	if _, err := pool.Map(ctx, p, sleepMS, slices.Repeat([]int{0}, 200), pool.WithChunksize(1)); err != nil {
		t.Fatal(err)
	}
	// ...then give it 40 inputs that take 20ms each.
	before := p.Stats().TaskMessages
	pids, err := pool.Map(ctx, p, sleepMS, slices.Repeat([]int{20}, 40), pool.WithChunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Stats().TaskMessages - before; n < 2 {
		t.Fatalf("40 tasks went in %d message(s) to 2 workers: one worker's share is 20", n)
	}
	ran := map[int]int{}
	for _, pid := range pids {
		ran[pid]++
	}
	if len(ran) != 2 {
		t.Fatalf("tasks ran on %d worker(s), want both: %v", len(ran), ran)
	}
	t.Logf("tasks per worker: %v", ran)
}
