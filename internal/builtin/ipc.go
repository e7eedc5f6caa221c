package builtin

import (
	"context"
	"errors"
	"fmt"

	"github.com/procpool/procpool/ipc"
	"github.com/procpool/procpool/worker"
)

// IPCArg asks a producer task to send N copies of Msg to the queue or pipe
// end called Name, then an end marker (an empty string on a queue, Close on
// a pipe): py_anchor.py's q_producer and p_producer.
type IPCArg struct {
	Name string `json:"name"`
	N    int    `json:"n"`
	Msg  string `json:"msg"`
}

var (
	// QueueProducer puts N messages and then "" on a Queue[string].
	QueueProducer = worker.Register("procpool.queue-producer", func(ctx context.Context, a IPCArg) (int, error) {
		if a.N < 0 || a.Msg == "" {
			return 0, fmt.Errorf("queue-producer: want n >= 0 and a non-empty msg")
		}
		q, err := ipc.NewQueue[string](ctx, worker.Conn(ctx), a.Name)
		if err != nil {
			return 0, err
		}
		for range a.N {
			if err := q.Put(ctx, a.Msg); err != nil {
				_ = q.Close()
				return 0, err
			}
		}
		if err := q.Put(ctx, ""); err != nil {
			_ = q.Close()
			return 0, err
		}
		return a.N, q.Close()
	})
	// PipeProducer sends N messages on a pipe end, then closes it.
	PipeProducer = worker.Register("procpool.pipe-producer", func(ctx context.Context, a IPCArg) (int, error) {
		if a.N < 0 {
			return 0, errors.New("pipe-producer: negative n")
		}
		end, err := ipc.OpenPipe[string](ctx, worker.Conn(ctx), a.Name)
		if err != nil {
			return 0, err
		}
		for range a.N {
			if err := end.Send(ctx, a.Msg); err != nil {
				_ = end.Close()
				return 0, err
			}
		}
		return a.N, end.Close()
	})
)
