package integration

import (
	"context"
	"strings"

	"github.com/procpool/procpool/ipc"
	"github.com/procpool/procpool/worker"
)

// sharedEndJob names a queue or pipe end the parent also holds, and what
// the task sends on it.
type sharedEndJob struct {
	Name string
	Msg  string
}

// Tasks of ipc_shared_end_test.go: each opens, in its worker process, a
// queue or pipe end the parent holds a handle on as well.
var (
	// sendUpper is the task: it opens the pipe end a.Name, sends
	// a.Msg in upper case, then returns what it receives on that end.
	sendUpper = worker.Register("it.ipc.send-upper", func(ctx context.Context, a sharedEndJob) (string, error) {
		end, err := ipc.OpenPipe[string](ctx, worker.Conn(ctx), a.Name)
		if err != nil {
			return "", err
		}
		if err := end.Send(ctx, strings.ToUpper(a.Msg)); err != nil {
			return "", err
		}
		if err := end.Flush(ctx); err != nil {
			return "", err
		}
		// Not Close: that would close the end for the parent too.
		return end.Recv(ctx)
	})
	// putThenGet opens the queue a.Name, puts a.Msg in upper case on it, and
	// returns the next item it gets from the queue a.Name+"-back".
	putThenGet = worker.Register("it.ipc.put-then-get", func(ctx context.Context, a sharedEndJob) (string, error) {
		out, err := ipc.NewQueue[string](ctx, worker.Conn(ctx), a.Name)
		if err != nil {
			return "", err
		}
		defer func() { _ = out.Close() }()
		back, err := ipc.NewQueue[string](ctx, worker.Conn(ctx), a.Name+"-back")
		if err != nil {
			return "", err
		}
		defer func() { _ = back.Close() }()
		if err := out.Put(ctx, strings.ToUpper(a.Msg)); err != nil {
			return "", err
		}
		if err := out.Flush(ctx); err != nil {
			return "", err
		}
		return back.Get(ctx)
	})
)
