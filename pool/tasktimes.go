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

// taskTimes holds, per task name, a moving average of how long one task
// runs, as workers report it with their results (wire.HdrTaskMicros).
type taskTimes struct {
	mu sync.Mutex
	m  map[string]time.Duration
}

func newTaskTimes() *taskTimes { return &taskTimes{m: map[string]time.Duration{}} }

// observe folds in a result message's mean task time, in microseconds.
func (t *taskTimes) observe(name, micros string) {
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil || us < 0 || name == "" {
		return
	}
	d := time.Duration(us) * time.Microsecond
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.m[name]; ok {
		d = (3*old + d) / 4
	}
	t.m[name] = d
}

// packLimit is how many tasks of name one message may carry: as many as fit
// in packBudget by their average time, all of maxTasksPerMsg while unknown.
func (t *taskTimes) packLimit(name string) int {
	t.mu.Lock()
	d, ok := t.m[name]
	t.mu.Unlock()
	if !ok || d <= 0 {
		return maxTasksPerMsg
	}
	return int(max(1, min(int64(packBudget/d), maxTasksPerMsg)))
}
