package integration

import (
	"context"
	"strings"

	"github.com/procpool/procpool/ipc"
	"github.com/procpool/procpool/worker"
)

// getManyJob names a queue or pipe end and how many items to take from it.
type getManyJob struct {
	Name string
	N    int
}

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
	// getMany opens the queue a.Name and returns the next a.N items it
	// gets from it.
	getMany = worker.Register("it.ipc.get-many", func(ctx context.Context, a getManyJob) ([]int, error) {
		q, err := ipc.NewQueue[int](ctx, worker.Conn(ctx), a.Name)
		if err != nil {
			return nil, err
		}
		defer func() { _ = q.Close() }()
		got := make([]int, 0, a.N)
		for range a.N {
			v, err := q.Get(ctx)
			if err != nil {
				return got, err
			}
			got = append(got, v)
		}
		return got, nil
	})
	// recvMany opens the pipe end a.Name and returns the next a.N values
	// it receives on it.
	recvMany = worker.Register("it.ipc.recv-many", func(ctx context.Context, a getManyJob) ([]int, error) {
		end, err := ipc.OpenPipe[int](ctx, worker.Conn(ctx), a.Name)
		if err != nil {
			return nil, err
		}
		// Not Close: that would close the end for the parent too.
		got := make([]int, 0, a.N)
		for range a.N {
			v, err := end.Recv(ctx)
			if err != nil {
				return got, err
			}
			got = append(got, v)
		}
		return got, nil
	})
)
