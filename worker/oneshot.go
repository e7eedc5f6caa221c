package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/spawn"
	"github.com/procpool/procpool/internal/wire"
)

// runOnce is a one-shot child (pool.Start): it connects to the pool's
// broker (so that the task can use Conn for queues and pipes), runs the
// OnStart initializer, runs the one call, writes the result on the status
// pipe and returns the process's exit code: 0 when the call succeeded,
// ExitError when it failed (as Python's Process exits 1 on an exception),
// ExitInitFailed when the initializer or the connection failed.
//
// SIGTERM keeps its default action (the process dies, exit code -15), as
// Python's Process.terminate does.
func runOnce(cfg spawn.ChildConfig, status *os.File, log *slog.Logger) int {
	ppid := os.Getppid()
	go func() { // belt and braces beside PR_SET_PDEATHSIG and stdin (orphan_*.go)
		for range time.Tick(500 * time.Millisecond) {
			if orphaned(ppid) {
				os.Exit(ExitError)
			}
		}
	}()
	one := cfg.Once
	host, _ := os.Hostname()
	info := Info{WorkerID: cfg.ID, PID: os.Getpid(), PPID: ppid, Host: host, Pool: cfg.Pool,
		Task: one.Task, TaskID: one.TaskID, Attempt: 1}
	ctx := context.Background()

	opts := []nats.Option{nats.Name("procpool-process " + cfg.ID), nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond)}
	conn := Config{User: cfg.User, Password: cfg.Password, Token: cfg.Token, TLSCA: cfg.TLSCA, TLSCert: cfg.TLSCert, TLSKey: cfg.TLSKey}
	opts = append(opts, conn.connectOptions()...)
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		writeStatus(status, spawn.StatusInitError, "connect to broker: "+err.Error())
		return ExitInitFailed
	}
	defer func() {
		// Whatever the task published (queue puts, pipe sends) reaches the
		// broker before the process ends.
		if err := nc.Drain(); err != nil {
			nc.Close()
		}
		for i := 0; i < 200 && !nc.IsClosed(); i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if hook := startHook(); hook != nil {
		if err := runInit(ctx, hook); err != nil {
			log.Error("worker initializer failed", "err", err)
			writeStatus(status, spawn.StatusInitError, err.Error())
			return ExitInitFailed
		}
	}
	writeStatus(status, spawn.StatusReady, cfg.ID)

	res := wire.Result{Seq: 1, Attempt: 1}
	if h := defaultRegistry.lookup(one.Task); h == nil {
		res.Err = &wire.ErrorInfo{Code: wire.CodeUnknownTask, Message: fmt.Sprintf(
			"unknown task %q: not registered in this binary (registers %v)", one.Task, defaultRegistry.Names())}
	} else if arg, bad := onceArg(ctx, one, nc, cfg.Pool); bad != nil { // oneshot_values.go
		res.Err = bad
	} else {
		tctx := withTask(ctx, taskCtx{once: &onceTask{info: info, nc: nc}})
		out, err := callHandler(tctx, h, arg, nil)
		if err != nil {
			res.Err = errorInfo(err)
		} else {
			res.Items = [][]byte{out}
		}
	}
	if err := writeResult(status, cfg.ID, info.PID, host, &res); err != nil {
		log.Error("writing the result to the parent", "err", err)
		return ExitError
	}
	if res.Err != nil {
		return ExitError
	}
	return ExitOK
}

func writeStatus(w io.Writer, kind, arg string) { _, _ = w.Write(spawn.StatusLine(kind, arg)) }
