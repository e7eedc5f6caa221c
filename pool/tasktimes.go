package pool

import (
	"strconv"
	"sync"
	"time"
)

// packBudget is how much execution time one task message may pack: well
// under the workers' 5ms give-back quantum (worker.Config.GiveBackAfter),
// so a packed message normally finishes on the worker that took it. Tasks
// known to take longer go one per message: each goes straight to an idle
// worker instead of being handed back and fetched again.
const packBudget = 2 * time.Millisecond

// taskTimes holds, per task name, a moving average of how long one item
// takes to run, as workers report it with their results
// (wire.HdrItemNanos). Per item, not per task: a Map chunk is one task of
// many items, and chunk sizes differ from call to call.
type taskTimes struct {
	mu sync.Mutex
	m  map[string]time.Duration
}

func newTaskTimes() *taskTimes { return &taskTimes{m: map[string]time.Duration{}} }

// itemNanos reads a result message's mean time per item
// (wire.HdrItemNanos); ok is false when the message has none.
func itemNanos(header string) (d time.Duration, ok bool) {
	ns, err := strconv.ParseInt(header, 10, 64)
	if err != nil || ns < 0 {
		return 0, false
	}
	return time.Duration(ns), true
}

// observe folds in a result message's mean time per item.
func (t *taskTimes) observe(name string, d time.Duration) {
	if name == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.m[name]; ok {
		d = (3*old + d) / 4
	}
	t.m[name] = d
}

// itemTime is how long one item of a task of name should run; 0 when
// nothing is known yet.
func (t *taskTimes) itemTime(name string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[name]
}
