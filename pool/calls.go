package pool

import (
	"encoding/json"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/wire"
)

// A caller reports its Map and IMap calls and its recent task failures on
// the pool's calls subject (wire.Subjects.Calls), so that the dashboard and
// procpool status show them from any host. The calls' own goroutines only
// add to atomic counters; one goroutine per pool reads them and publishes
// at most every callsEvery, and every callsIdle when nothing changes, so
// the cost does not grow with the number of tasks.
const (
	callsEvery  = 500 * time.Millisecond
	callsIdle   = 5 * time.Second
	maxFailures = 20   // failures a report carries
	maxStack    = 4096 // bytes of a failure's stack a report carries
)

// callStat is one Map or IMap call's counts.
type callStat struct {
	id      uint64
	kind    string
	task    string
	started time.Time
	done    atomic.Int64
	failed  atomic.Int64
	total   atomic.Int64
	ended   atomic.Bool
}

// recentFailures keeps the caller's latest failed results; the dispatcher
// adds to it (errors only, so never on a success's path).
type recentFailures struct {
	mu   sync.Mutex
	seq  uint64
	list []wire.Failure
}

func (f *recentFailures) add(task string, r *wire.Result, src *source) {
	stack := r.Err.Stack
	if len(stack) > maxStack {
		stack = stack[:maxStack] + "\n…"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.list = append(f.list, wire.Failure{Seq: f.seq, Time: time.Now().UTC(), Task: task, Code: r.Err.Code,
		Message: r.Err.Message, Stack: stack, Worker: src.worker, PID: src.pid, Host: src.host, Attempt: r.Attempt})
	if len(f.list) > maxFailures {
		f.list = append(f.list[:0:0], f.list[len(f.list)-maxFailures:]...)
	}
}

func (f *recentFailures) snapshot() (uint64, []wire.Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seq, append([]wire.Failure(nil), f.list...)
}

// callReporter publishes the caller's CallsReport.
type callReporter struct {
	nc      *nats.Conn
	subject string
	base    wire.CallsReport
	ctr     *counters
	fails   *recentFailures

	mu    sync.Mutex
	next  uint64
	calls map[uint64]*callStat

	stop chan struct{}
	done chan struct{}
}

func startCallReporter(nc *nats.Conn, subj wire.Subjects, d *dispatcher) *callReporter {
	host, _ := os.Hostname()
	r := &callReporter{
		nc: nc, subject: subj.Calls(), ctr: d.ctr, fails: &d.recent,
		base:  wire.CallsReport{Caller: d.callerID, Host: host, PID: os.Getpid(), Pool: subj.Pool, Interval: callsIdle},
		calls: map[uint64]*callStat{},
		stop:  make(chan struct{}), done: make(chan struct{}),
	}
	go r.run()
	return r
}

// track registers a call of total items (-1: not known yet).
func (r *callReporter) track(task, kind string, total int) *callStat {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	s := &callStat{id: r.next, kind: kind, task: task, started: time.Now().UTC()}
	s.total.Store(int64(total))
	r.calls[s.id] = s
	return s
}

func (r *callReporter) run() {
	defer close(r.done)
	t := time.NewTicker(callsEvery)
	defer t.Stop()
	var last wire.CallsReport
	var lastSeq uint64
	var lastAt time.Time
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		rep, seq := r.snapshot()
		if len(rep.Calls) == 0 && seq == lastSeq && rep.Submitted == last.Submitted &&
			rep.Completed == last.Completed && rep.Failed == last.Failed && time.Since(lastAt) < callsIdle {
			continue
		}
		data, err := json.Marshal(rep)
		if err != nil {
			continue
		}
		if r.nc.Publish(r.subject, data) == nil {
			last, lastSeq, lastAt = rep, seq, time.Now()
		}
	}
}

// snapshot builds a report: the calls in flight, and the ended ones once
// more (then forgotten), so that a reader sees every call finish.
func (r *callReporter) snapshot() (wire.CallsReport, uint64) {
	rep := r.base
	rep.Time = time.Now().UTC()
	rep.Submitted, rep.Completed = r.ctr.submitted.Load(), r.ctr.completed.Load()
	rep.Failed, rep.Retried = r.ctr.failed.Load(), r.ctr.retried.Load()
	seq, fails := r.fails.snapshot()
	rep.Failures = fails
	r.mu.Lock()
	for id, s := range r.calls {
		ended := s.ended.Load()
		rep.Calls = append(rep.Calls, wire.CallProgress{ID: s.id, Kind: s.kind, Task: s.task, Started: s.started,
			Done: s.done.Load(), Failed: s.failed.Load(), Total: s.total.Load(), Ended: ended})
		if ended {
			delete(r.calls, id)
		}
	}
	r.mu.Unlock()
	return rep, seq
}

func (r *callReporter) close() {
	close(r.stop)
	<-r.done
}
