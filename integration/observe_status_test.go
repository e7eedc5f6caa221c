package integration

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

// statusJSON mirrors what `procpool status --json` prints.
type statusJSON struct {
	Pool    string `json:"pool"`
	Workers []struct {
		ID        string  `json:"id"`
		Host      string  `json:"host"`
		PID       int     `json:"pid"`
		State     string  `json:"state"`
		TasksDone int64   `json:"tasks_done"`
		Task      string  `json:"task"`
		TaskSecs  float64 `json:"task_seconds"`
		RSS       int64   `json:"rss"`
	} `json:"workers"`
	Queue struct {
		Stream   string `json:"stream"`
		Pending  uint64 `json:"pending"`
		InFlight int    `json:"in_flight"`
	} `json:"queue"`
	Throughput struct {
		TasksLastMinute int64 `json:"tasks_last_minute"`
	} `json:"throughput"`
}

// procpool status --json against a running pool shows what the pool
// itself reports: the same workers, who is busy with what, the queue.
func TestObserveStatusJSON(t *testing.T) {
	cli := procpoolCLI(t)
	p := newObservedPool(t, "obsstatus", 2)
	ctx := testutil.Ctx(t, 60*time.Second)
	log := newExecLog(t)
	for i := range 6 {
		if _, err := pool.Apply(ctx, p.Pool, quick, probe{N: i, Log: log.path}); err != nil {
			t.Fatal(err)
		}
	}
	// Both workers busy with a long task, three more tasks queued behind.
	var rs []*pool.AsyncResult[outcome]
	for i := range 5 {
		rs = append(rs, pool.ApplyAsync(ctx, p.Pool, sleepy, probe{N: i, Wait: 3 * time.Second, Log: log.path}))
	}
	testutil.WaitFor(t, 10*time.Second, "both workers busy", func() bool {
		busy := 0
		for _, w := range p.Workers() {
			if w.Busy && w.Task == sleepy.Name() {
				busy++
			}
		}
		return busy == 2
	})

	var st statusJSON
	out := runCmd(t, 30*time.Second, p.env(), cli, "status", "--pool", "obsstatus", "--json")
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("procpool status --json: %v\n%s", err, out)
	}
	ws := p.Workers()
	if st.Pool != "obsstatus" || len(st.Workers) != len(ws) {
		t.Fatalf("status shows %d workers of %q, the pool has %d:\n%s", len(st.Workers), st.Pool, len(ws), out)
	}
	for i, w := range ws { // both sorted by id
		s := st.Workers[i]
		if s.ID != w.ID || s.PID != w.PID || s.Host != w.Host {
			t.Errorf("status worker %d = %s pid %d on %s, pool says %s pid %d on %s", i, s.ID, s.PID, s.Host, w.ID, w.PID, w.Host)
		}
		if s.State != "busy" || s.Task != sleepy.Name() || s.TaskSecs <= 0 || s.RSS <= 0 {
			t.Errorf("status worker %s: state %q task %q for %.2fs rss %d, want busy with %s", s.ID, s.State, s.Task, s.TaskSecs, s.RSS, sleepy.Name())
		}
		if s.TasksDone != w.TasksDone {
			t.Errorf("status worker %s: %d tasks done, the pool says %d", s.ID, s.TasksDone, w.TasksDone)
		}
	}
	if st.Queue.Stream != "PROCPOOL_obsstatus" || st.Queue.InFlight != 2 || st.Queue.Pending < 1 {
		t.Errorf("status queue %+v, want 2 in flight and some pending", st.Queue)
	}
	if st.Throughput.TasksLastMinute < 6 {
		t.Errorf("status: %d tasks in the last minute, want at least the 6 run", st.Throughput.TasksLastMinute)
	}
	for i, r := range rs {
		if v, err := r.Get(30 * time.Second); err != nil || v.N != 2*i {
			t.Fatalf("sleepy %d: %+v, %v", i, v, err)
		}
	}
	// The table form runs too.
	table := runCmd(t, 30*time.Second, p.env(), cli, "status", "--pool", "obsstatus")
	for _, w := range ws {
		if !slices.Contains(strings.Fields(string(table)), w.ID) {
			t.Errorf("status table lacks worker %s:\n%s", w.ID, table)
		}
	}
}

// A drained worker finishes its task (the result comes from it, on the
// first attempt, executed once), takes no more work, and exits; the pool
// replaces it without counting it lost.
func TestObserveDrainWorker(t *testing.T) {
	p := newObservedPool(t, "obsdrain", 2)
	ctx := testutil.Ctx(t, 60*time.Second)
	log := newExecLog(t)
	ar := pool.ApplyAsync(ctx, p.Pool, sleepy, probe{N: 21, Wait: 1500 * time.Millisecond, Log: log.path})
	var victim pool.WorkerInfo
	testutil.WaitFor(t, 10*time.Second, "a worker busy with the task", func() bool {
		for _, w := range p.Workers() {
			if w.Busy && w.Task == sleepy.Name() {
				victim = w
				return true
			}
		}
		return false
	})
	msg, err := p.Conn().Request(worker.ControlSubject("obsdrain", victim.ID, worker.EndpointDrain), nil, 5*time.Second)
	if err != nil {
		t.Fatalf("drain request: %v", err)
	}
	var rep worker.DrainReply
	if err := json.Unmarshal(msg.Data, &rep); err != nil || !rep.Draining || rep.PID != victim.PID {
		t.Fatalf("drain reply %s (%v), want draining pid %d", msg.Data, err, victim.PID)
	}
	// While it drains, other work goes elsewhere.
	for i := range 5 {
		v, err := pool.Apply(ctx, p.Pool, quick, probe{N: i, Log: log.path})
		if err != nil {
			t.Fatal(err)
		}
		if v.PID == victim.PID {
			t.Fatalf("task %d ran on the draining worker %d", i, victim.PID)
		}
	}
	v, err := ar.Get(20 * time.Second)
	if err != nil {
		t.Fatalf("the drained worker's task: %v", err)
	}
	if v.N != 42 || v.PID != victim.PID || v.Attempt != 1 {
		t.Fatalf("the drained worker's task came back %+v, want N 42 from pid %d on attempt 1", v, victim.PID)
	}
	testutil.WaitFor(t, 10*time.Second, "the drained worker to exit", func() bool { return !alive(victim.PID) })
	testutil.WaitFor(t, 15*time.Second, "the pool back to 2 workers", func() bool {
		ws := workerPIDs(p.Pool)
		return len(ws) == 2 && !slices.Contains(ws, victim.PID)
	})
	if lost := p.Stats().WorkersLost; lost != 0 {
		t.Errorf("a drained worker counted as lost: WorkersLost = %d", lost)
	}
	runs := 0
	for _, e := range log.read(t) {
		if e.pid == victim.PID {
			runs++
		}
	}
	if runs != 1 {
		t.Errorf("the drained worker executed %d tasks, want just the one it held", runs)
	}
	for id, es := range log.executions(t) {
		if len(es) != 1 {
			t.Errorf("task %s executed %d times", id, len(es))
		}
	}
}
