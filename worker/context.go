package worker

import (
	"context"
	"os"

	"github.com/nats-io/nats.go"
)

// Info describes the worker process running a task and the task itself.
type Info struct {
	WorkerID string // unique within the pool
	PID      int    // the worker process's pid
	PPID     int    // its parent's pid: the pool (or supervisor) that spawned it
	Host     string // the worker's host name
	Pool     string // the pool name
	Task     string // the task's name
	TaskID   string // unique per task: "<caller>.<seq>"
	Attempt  int    // 1 on first execution; more after the task's worker died
}

type ctxKey struct{}

// taskCtx is what a task's context carries; Info is built only when asked
// for, so tasks that never call Current cost no strings.
type taskCtx struct {
	rt  *executor
	j   *job
	seq uint64

	// A one-shot process (oneshot.go) has no executor: it sets this.
	once *onceTask
}

// onceTask is a one-shot process's task: its Info and connection.
type onceTask struct {
	info Info
	nc   *nats.Conn
}

// taskContext is a task's context: its parent and the task in one
// 48-byte allocation per task (context.WithValue and a *taskCtx were two,
// 192 bytes; a chunksize=1 map runs one task per item).
type taskContext struct {
	context.Context
	tc taskCtx
}

func withTask(parent context.Context, tc taskCtx) context.Context {
	return &taskContext{Context: parent, tc: tc}
}

func (c *taskContext) Value(key any) any {
	if key == (ctxKey{}) {
		return &c.tc
	}
	return c.Context.Value(key)
}

func (c *taskContext) String() string { return "worker.taskContext" }

// Current returns the worker and task running ctx's task. Outside a task it
// returns the zero Info.
func Current(ctx context.Context) Info {
	tc, ok := ctx.Value(ctxKey{}).(*taskCtx)
	if !ok {
		return Info{}
	}
	rt, j := tc.rt, tc.j
	if rt == nil {
		return tc.once.info
	}
	return Info{
		WorkerID: rt.cfg.ID, PID: rt.pid, PPID: os.Getppid(), Host: rt.host, Pool: rt.cfg.Pool,
		Task: j.name, TaskID: j.taskID(tc.seq), Attempt: j.attempt,
	}
}

// Conn returns the worker's NATS connection, for a task that uses a Queue,
// a Pipe or plain NATS. Outside a task it returns nil.
func Conn(ctx context.Context) *nats.Conn {
	if tc, ok := ctx.Value(ctxKey{}).(*taskCtx); ok {
		if tc.rt == nil {
			return tc.once.nc
		}
		return tc.rt.nc
	}
	return nil
}
