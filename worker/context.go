package worker

import (
	"context"

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

type taskCtx struct {
	info Info
	nc   *nats.Conn
}

// Current returns the worker and task running ctx's task. Outside a task it
// returns the zero Info.
func Current(ctx context.Context) Info {
	if tc, ok := ctx.Value(ctxKey{}).(*taskCtx); ok {
		return tc.info
	}
	return Info{}
}

// Conn returns the worker's NATS connection, for a task that uses a Queue,
// a Pipe or plain NATS. Outside a task it returns nil.
func Conn(ctx context.Context) *nats.Conn {
	if tc, ok := ctx.Value(ctxKey{}).(*taskCtx); ok {
		return tc.nc
	}
	return nil
}
