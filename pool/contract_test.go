package pool_test

import (
	"context"
	"iter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

// The SDK contract (the public names and signatures users' code is written
// against), checked by the compiler: a program written
// from it must build unchanged against this package.
var (
	_ func(string, func(context.Context, string) (int, error)) worker.Task[string, int] = worker.Register[string, int]
	_ func(string) worker.Task[string, int]                                             = worker.Ref[string, int]
	_ func(worker.Task[string, int]) string                                             = worker.Task[string, int].Name
	_ func()                                                                            = worker.Main
	_ func(context.Context, worker.Config) error                                        = worker.Serve
	_ func(context.Context) worker.Info                                                 = worker.Current
	_ func(context.Context) *nats.Conn                                                  = worker.Conn

	_ func(context.Context, ...pool.Option) (*pool.Pool, error) = pool.New
	_ func(int) pool.Option                                     = pool.WithProcesses
	_ func(string) pool.Option                                  = pool.WithBroker
	_ func(int) pool.Option                                     = pool.WithMaxAttempts
	_ func(time.Duration) pool.Option                           = pool.WithTaskTimeout
	_ func(int) pool.Option                                     = pool.WithMaxTasksPerChild
	_ func(*pool.Pool) error                                    = (*pool.Pool).Close
	_ func(*pool.Pool) error                                    = (*pool.Pool).Terminate
	_ func(*pool.Pool) []pool.WorkerInfo                        = (*pool.Pool).Workers
	_ func(*pool.Pool) *nats.Conn                               = (*pool.Pool).Conn
	_ func(*pool.Pool) string                                   = (*pool.Pool).URL

	_ func(context.Context, *pool.Pool, worker.Task[string, int], string) (int, error)                                       = pool.Apply[string, int]
	_ func(context.Context, *pool.Pool, worker.Task[string, int], string) *pool.AsyncResult[int]                             = pool.ApplyAsync[string, int]
	_ func(*pool.AsyncResult[int], time.Duration) (int, error)                                                               = (*pool.AsyncResult[int]).Get
	_ func(*pool.AsyncResult[int], context.Context) (int, error)                                                             = (*pool.AsyncResult[int]).Wait
	_ func(*pool.AsyncResult[int]) bool                                                                                      = (*pool.AsyncResult[int]).Ready
	_ func(*pool.AsyncResult[int]) bool                                                                                      = (*pool.AsyncResult[int]).Successful
	_ func(*pool.AsyncResult[int]) <-chan struct{}                                                                           = (*pool.AsyncResult[int]).Done
	_ func(context.Context, *pool.Pool, worker.Task[string, int], []string, ...pool.MapOption) ([]int, error)                = pool.Map[string, int]
	_ func(context.Context, *pool.Pool, worker.Task[string, int], iter.Seq[string], ...pool.MapOption) iter.Seq2[int, error] = pool.IMap[string, int]
	_ func(context.Context, *pool.Pool, worker.Task[string, int], iter.Seq[string], ...pool.MapOption) iter.Seq2[int, error] = pool.IMapUnordered[string, int]
	_ func(int) pool.MapOption                                                                                               = pool.WithChunksize
)

// WorkerInfo carries at least what the contract names.
var _ = pool.WorkerInfo{ID: "", PID: 0, Host: ""}

// Info carries what worker.Current promises.
var _ = worker.Info{WorkerID: "", PID: 0, PPID: 0, Host: "", Attempt: 0, TaskID: ""}
