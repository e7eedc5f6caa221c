package pool

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/procpool/procpool/internal/spawn"
	"github.com/procpool/procpool/internal/supervise"
	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/worker"
)

// Process is one dedicated worker OS process running one call (Python's
// multiprocessing.Process), made by Start. Unlike Python's, its return
// value reaches the parent: Join returns it. It is safe for concurrent use.
type Process[R any] struct {
	p    *Pool
	task string
	once *supervise.Once
	seq  uint64 // its entry in the pool's pending set, so Close waits for it

	mu     sync.Mutex
	killed bool // the pool was terminated: kill the process once it exists

	joinOnce sync.Once
	val      R
	err      error
}

// Start spawns a fresh worker process (a re-execution of this program's
// binary, like the pool's workers: its parent is this process, it has its
// own process group and dies with this process) that runs t with arg once
// and exits. It returns as soon as the process is started; Join waits for
// its result. ctx bounds the start only: the process then runs until it
// ends, Terminate or Kill, or the pool's Terminate.
//
// Inside the call, worker.Current and worker.Conn work as in a pool worker
// (Attempt is 1; the call is never retried), and the OnStart initializer
// runs first. The pool's Close waits for its processes like for its other
// calls; Terminate kills them. WithTaskTimeout does not apply: bound the
// wait with Join's ctx and end the process with Terminate or Kill.
//
// arg and the result may be of any size that fits in memory: an argument
// over 256 KiB is stored (in the pool's value directory on this host, or
// its bucket) until the process has ended, and the result comes back on
// a pipe from the child.
func Start[A, R any](ctx context.Context, p *Pool, t worker.Task[A, R], arg A) (*Process[R], error) {
	if err := check(ctx, p, t.Name()); err != nil {
		return nil, err
	}
	payload, err := wire.Encode(arg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidArgument, t.Name(), err)
	}
	argRef, err := p.storeProcessArg(ctx, t.Name(), payload) // process_values.go
	if err != nil {
		return nil, err
	}
	pr := &Process[R]{p: p, task: t.Name()}
	// Registering in the pending set makes Close wait for the process and
	// Terminate (via failAll) kill it.
	pr.seq, err = p.d.add(0, pr.task, nil, func(r *wire.Result, _ *source) {
		if r.Err == nil || r.Err.Code != codeClosed {
			return // nothing else is ever routed to a process's entry
		}
		pr.mu.Lock()
		pr.killed = true
		once := pr.once
		pr.mu.Unlock()
		if once != nil {
			once.Kill()
		}
	})
	if err != nil {
		p.releaseProcessArg(argRef)
		return nil, err
	}
	if p.closed.Load() { // closed between check and add
		p.releaseProcessArg(argRef)
		p.d.forget(pr.seq)
		return nil, ErrClosed
	}
	cfg := p.childConfig()
	cfg.Once = &spawn.OneShot{Task: t.Name(), ArgRef: argRef,
		TaskID: p.d.inbox + ".process." + strconv.FormatUint(pr.seq, 10)}
	if argRef == nil {
		cfg.Once.Arg = payload
	}
	once, err := supervise.StartOnce(cfg)
	if err != nil {
		p.releaseProcessArg(argRef)
		p.d.forget(pr.seq)
		return nil, fmt.Errorf("pool: start %s: %w", t.Name(), err)
	}
	pr.mu.Lock()
	pr.once = once
	killed := pr.killed
	pr.mu.Unlock()
	if killed {
		once.Kill() // the pool was terminated while we spawned
	}
	go func() {
		<-once.Done()
		// Before forget: a Close waiting for the process then finds the
		// argument's delete under way, not yet to come.
		p.releaseProcessArg(argRef)
		p.d.forget(pr.seq)
	}()
	return pr, nil
}

// childConfig is what a child of this pool needs to reach its broker.
func (p *Pool) childConfig() spawn.ChildConfig {
	c := spawn.ChildConfig{Pool: p.o.name, AckWait: p.o.ackWait}
	if p.broker != nil {
		c.URL, c.User, c.Password = p.broker.ClientURL(), p.broker.User(), p.broker.Password()
	} else {
		c.URL, c.User, c.Password, c.Token = p.o.brokerURL, p.o.user, p.o.password, p.o.token
		c.TLSCA, c.TLSCert, c.TLSKey = p.o.tlsCA, p.o.tlsCert, p.o.tlsKey
	}
	return c
}

// PID is the process's id.
func (pr *Process[R]) PID() int { return pr.once.PID() }

// IsAlive reports whether the process is still running (Python's is_alive).
func (pr *Process[R]) IsAlive() bool {
	select {
	case <-pr.once.Exited():
		return false
	default:
		return true
	}
}

// ExitCode is the process's exit status once it has ended (Python's
// exitcode): 0 after a successful call, 1 after the call returned an error
// or panicked, 4 if the OnStart initializer failed, -N when killed by
// signal N (-9 after Kill, -15 after Terminate). On Windows, which has no
// signals, Kill and Terminate both end the process with TerminateProcess
// and it is -15, as Python's multiprocessing reports it there. While the
// process runs it is -1, as os.ProcessState.ExitCode reports; use IsAlive
// to tell.
func (pr *Process[R]) ExitCode() int { return pr.once.ExitCode() }

// Terminate sends SIGTERM to the process (Python's terminate): unless the
// task handles that signal, it dies with exit code -15. On Windows it ends
// the process and what it started, as Kill does. Terminating a process
// that has ended is not an error.
func (pr *Process[R]) Terminate() error {
	if err := pr.once.Terminate(); err != nil {
		return fmt.Errorf("pool: terminate process %d: %w", pr.PID(), err)
	}
	return nil
}

// Kill sends SIGKILL to the process and to any process it started in its
// process group (Python's kill); on Windows it terminates the process's job
// object, which holds what it started. Killing a process that has ended is not an
// error.
func (pr *Process[R]) Kill() error {
	pr.once.Kill()
	return nil
}

// Done is closed when the process has ended and its result, if any, has
// been read.
func (pr *Process[R]) Done() <-chan struct{} { return pr.once.Done() }

// Join waits for the process to end (Python's join) and returns the call's
// result, or its error: a *TaskError when the call returned an error or
// panicked, an error wrapping ErrWorkerLost that gives the exit status
// when the process died without a result (killed, os.Exit, crash), or the
// initializer's failure. If ctx ends first, Join returns ctx's error at
// once and the process keeps running; Join may be called again.
func (pr *Process[R]) Join(ctx context.Context) (R, error) {
	var zero R
	if ctx == nil {
		return zero, fmt.Errorf("%w: nil context", ErrInvalidArgument)
	}
	select {
	case <-pr.once.Done():
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	pr.joinOnce.Do(pr.settle)
	return pr.val, pr.err
}

// settle turns what the process left behind into Join's result.
func (pr *Process[R]) settle() {
	out := pr.once.Outcome()
	pid := pr.PID()
	if out.Result == nil {
		switch {
		case out.InitErr != "":
			pr.err = fmt.Errorf("pool: process %d (%s): worker initializer failed: %s", pid, pr.task, out.InitErr)
		default:
			why := out.Exit
			if out.Note != "" {
				why += "; " + out.Note
			}
			pr.err = fmt.Errorf("%w: process %d running %s ended (%s, exit code %d) without a result",
				ErrWorkerLost, pid, pr.task, why, out.ExitCode)
		}
		return
	}
	rm, err := wire.DecodeResultMsg(out.Result)
	if err != nil || len(rm.Results) != 1 {
		pr.err = fmt.Errorf("%w: process %d running %s: unreadable result: %v", ErrWorkerLost, pid, pr.task, err)
		return
	}
	r := &rm.Results[0]
	src := &source{worker: rm.Worker, pid: rm.PID, host: rm.Host}
	if r.Err != nil {
		pr.err = newTaskError(pr.task, r.Err, src, r.Attempt, 0)
		return
	}
	if r.Len() != 1 {
		pr.err = fmt.Errorf("pool: process %d running %s: %d results for one call", pid, pr.task, r.Len())
		return
	}
	pr.val, err = wire.Decode[R](r.First())
	if err != nil {
		pr.err = &TaskError{Task: pr.task, Code: wire.CodeBadOutput, Message: err.Error(),
			Worker: src.worker, PID: src.pid, Host: src.host, Attempt: r.Attempt}
	}
}
