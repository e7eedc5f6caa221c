package pool

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/wire"
)

// WorkerInfo describes one live worker process.
type WorkerInfo struct {
	ID        string    // unique within the pool
	PID       int       // process id on its host
	PPID      int       // its parent's pid: this process for local workers
	Host      string    // host name
	Local     bool      // spawned and supervised by this pool
	Started   time.Time // when it started
	TasksDone int64     // tasks executed
	Busy      bool      // executing a task now
	Task      string    // the task it executes, when busy
	BusySince time.Time // when it took the task it executes
	LastSeen  time.Time // its latest heartbeat (remote workers)
}

// Workers lists the live workers: this pool's own processes and remote
// workers that have sent a heartbeat in the last few seconds.
func (p *Pool) Workers() []WorkerInfo {
	byID := map[string]WorkerInfo{}
	self := os.Getpid()
	for _, b := range p.beats.live() {
		byID[b.ID] = WorkerInfo{ID: b.ID, PID: b.PID, PPID: b.PPID, Host: b.Host, Started: b.Started,
			TasksDone: b.TasksDone, Busy: b.Busy, Task: b.Task, BusySince: b.TaskSince, LastSeen: b.seen}
	}
	if p.sup != nil {
		// Our own children: the supervisor knows them first-hand and at
		// once; a beat from a child it no longer has is stale.
		for id, w := range byID {
			if w.PPID == self {
				delete(byID, id)
			}
		}
		for _, c := range p.sup.Children() {
			byID[c.ID] = WorkerInfo{ID: c.ID, PID: c.PID, PPID: self, Host: p.sup.Host(), Local: true,
				Started: c.Started, TasksDone: c.TasksDone, Busy: c.Busy, Task: c.Task, BusySince: c.BusySince}
		}
	}
	out := make([]WorkerInfo, 0, len(byID))
	for _, w := range byID {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// numWorkers is the worker count used to size default chunks.
func (p *Pool) numWorkers() int {
	return max(len(p.Workers()), p.o.processes, 1)
}

// beatTable tracks worker heartbeats.
type beatTable struct {
	sub *nats.Subscription
	mu  sync.Mutex
	m   map[string]beat
}

type beat struct {
	wire.Beat
	seen time.Time
}

func watchBeats(nc *nats.Conn, subj wire.Subjects) (*beatTable, error) {
	t := &beatTable{m: map[string]beat{}}
	sub, err := nc.Subscribe(subj.Heartbeat(), func(m *nats.Msg) {
		var b wire.Beat
		if json.Unmarshal(m.Data, &b) != nil || b.ID == "" {
			return
		}
		t.mu.Lock()
		t.m[b.ID] = beat{Beat: b, seen: time.Now()}
		t.mu.Unlock()
	})
	if err != nil {
		return nil, fmt.Errorf("pool: subscribe to heartbeats: %w", err)
	}
	t.sub = sub
	return t, nil
}

// live returns workers heard from within three heartbeat intervals.
func (t *beatTable) live() []beat {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	out := make([]beat, 0, len(t.m))
	for id, b := range t.m {
		if now.Sub(b.seen) > 3*max(b.Interval, time.Second) {
			delete(t.m, id)
			continue
		}
		out = append(out, b)
	}
	return out
}

func (t *beatTable) stop() { _ = t.sub.Unsubscribe() }
