package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/ipc"
	"github.com/procpool/procpool/pool"
)

// ipc measures py_anchor.py's queue_pipe_figures: one producer process
// (started with pool.Start, like Python's mp.Process) sends 200,000 short
// strings and an end marker; this process receives them. The clock starts
// before the producer is started, as Python's does.
func (b *bench) ipc(ctx context.Context) error {
	opts := append(b.cf.options(), pool.WithProcesses(0))
	p, err := pool.New(ctx, opts...)
	if err != nil {
		return err
	}
	defer p.Close()
	n := b.n(200_000)
	const msg = "hello-world-msg"
	run := 0
	vals, err := b.rate(n, func() error {
		ctx, cancel := context.WithTimeout(ctx, ipcDeadline)
		defer cancel()
		run++
		name := "bench-ipc-" + strconv.Itoa(run)
		q, err := ipc.NewQueue[string](ctx, p.Conn(), name)
		if err != nil {
			return err
		}
		defer func() { _ = q.Delete(context.WithoutCancel(ctx)) }()
		pr, err := pool.Start(ctx, p, builtin.QueueProducer, builtin.IPCArg{Name: name, N: n, Msg: msg})
		if err != nil {
			return err
		}
		defer func() { _ = pr.Kill() }()
		got := 0
		for {
			v, err := q.Get(ctx)
			if err != nil {
				return fmt.Errorf("queue get after %d: %w", got, err)
			}
			if v == "" {
				break
			}
			got++
		}
		if _, err := pr.Join(ctx); err != nil {
			return err
		}
		if got != n {
			return fmt.Errorf("queue: got %d messages, want %d", got, n)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	b.record("queue_msgs_per_s", fmt.Sprintf("Queue 1 producer process -> 1 consumer, %d msgs", n), "msgs/s", vals)

	vals, err = b.rate(n, func() error {
		ctx, cancel := context.WithTimeout(ctx, ipcDeadline)
		defer cancel()
		r, w, err := ipc.NewPipe[string](ctx, p.Conn())
		if err != nil {
			return err
		}
		defer func() { _ = r.Close() }()
		pr, err := pool.Start(ctx, p, builtin.PipeProducer, builtin.IPCArg{Name: w.Name(), N: n, Msg: msg})
		if err != nil {
			return err
		}
		defer func() { _ = pr.Kill() }()
		got := 0
		for {
			_, err := r.Recv(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("pipe recv after %d: %w", got, err)
			}
			got++
		}
		if _, err := pr.Join(ctx); err != nil {
			return err
		}
		if got != n {
			return fmt.Errorf("pipe: got %d messages, want %d", got, n)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	b.record("pipe_msgs_per_s", fmt.Sprintf("Pipe 1 producer process -> 1 consumer, %d msgs", n), "msgs/s", vals)
	return nil
}

// ipcDeadline bounds one ipc figure, so a lost message fails the bench
// instead of hanging it.
const ipcDeadline = 2 * time.Minute
