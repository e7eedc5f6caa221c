package pool_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

var (
	procWho = worker.Register("test.proc.who", func(ctx context.Context, tag string) (worker.Info, error) {
		info := worker.Current(ctx)
		info.Task = info.Task + ":" + tag
		if worker.Conn(ctx) == nil || !worker.Conn(ctx).IsConnected() {
			return info, errors.New("no connection in the process")
		}
		return info, nil
	})
	procFail = worker.Register("test.proc.fail", func(ctx context.Context, s string) (string, error) {
		return "", errors.New("refused " + s)
	})
	procBlock = worker.Register("test.proc.block", func(ctx context.Context, _ struct{}) (int, error) {
		select {} // until killed
	})
	procExit = worker.Register("test.proc.exit", func(ctx context.Context, code int) (int, error) {
		os.Exit(code)
		return 0, nil
	})
)

// newProcPool is a pool without workers of its own: processes are spawned
// by Start.
func newProcPool(t *testing.T) *pool.Pool {
	t.Helper()
	return newPool(t, pool.WithProcesses(0))
}

func start[A, R any](t *testing.T, p *pool.Pool, task worker.Task[A, R], arg A) *pool.Process[R] {
	t.Helper()
	pr, err := pool.Start(testutil.Ctx(t, 10*time.Second), p, task, arg)
	if err != nil {
		t.Fatalf("Start(%s): %v", task.Name(), err)
	}
	t.Cleanup(func() { _ = pr.Kill() })
	return pr
}

func TestProcessReturnsValueAndIsAChild(t *testing.T) {
	p := newProcPool(t)
	pr := start(t, p, procWho, "x")
	if pr.PID() <= 0 || pr.PID() == os.Getpid() {
		t.Fatalf("PID() = %d (ours %d)", pr.PID(), os.Getpid())
	}
	if own, err := ownProcessGroup(pr.PID()); err == nil && !own {
		t.Errorf("process %d is not in a process group of its own", pr.PID())
	}
	info, err := pr.Join(testutil.Ctx(t, 20*time.Second))
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	if info.PID != pr.PID() || info.PPID != os.Getpid() || info.Attempt != 1 || info.Task != procWho.Name()+":x" || info.Pool != p.Name() {
		t.Errorf("worker.Current in the process = %+v; want pid %d, ppid %d, attempt 1, task %s:x", info, pr.PID(), os.Getpid(), procWho.Name())
	}
	if pr.IsAlive() {
		t.Error("IsAlive after Join")
	}
	if c := pr.ExitCode(); c != 0 {
		t.Errorf("ExitCode = %d, want 0", c)
	}
	// Join again gives the same answer.
	if again, err := pr.Join(testutil.Ctx(t, time.Second)); err != nil || again != info {
		t.Errorf("second Join = %+v, %v", again, err)
	}
}

func TestProcessTaskError(t *testing.T) {
	p := newProcPool(t)
	pr := start(t, p, procFail, "it")
	_, err := pr.Join(testutil.Ctx(t, 20*time.Second))
	var te *pool.TaskError
	if !errors.As(err, &te) || !errors.Is(err, pool.ErrTaskFailed) || te.Message != "refused it" || te.PID != pr.PID() {
		t.Fatalf("Join error = %#v; want a *TaskError 'refused it' from pid %d", err, pr.PID())
	}
	if c := pr.ExitCode(); c != 1 {
		t.Errorf("ExitCode = %d, want 1 (as Python after an exception)", c)
	}
}

func TestProcessKillAndTerminate(t *testing.T) {
	p := newProcPool(t)
	for _, tc := range []struct {
		name string
		stop func(*pool.Process[int]) error
		code int
		word string
	}{
		{"kill", (*pool.Process[int]).Kill, killedCode, killedWord},
		{"terminate", (*pool.Process[int]).Terminate, -15, "terminated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := start(t, p, procBlock, struct{}{})
			if !pr.IsAlive() {
				t.Fatal("not alive right after Start")
			}
			if c := pr.ExitCode(); c != -1 {
				t.Errorf("ExitCode while running = %d, want -1", c)
			}
			if err := tc.stop(pr); err != nil {
				t.Fatal(err)
			}
			_, err := pr.Join(testutil.Ctx(t, 10*time.Second))
			if !errors.Is(err, pool.ErrWorkerLost) || !strings.Contains(err.Error(), tc.word) {
				t.Fatalf("Join error = %v; want ErrWorkerLost saying %q", err, tc.word)
			}
			if c := pr.ExitCode(); c != tc.code {
				t.Errorf("ExitCode = %d, want %d", c, tc.code)
			}
			if pr.IsAlive() {
				t.Error("IsAlive after the end")
			}
			if err := tc.stop(pr); err != nil {
				t.Errorf("stopping an ended process: %v", err)
			}
		})
	}
}

func TestProcessExitWithoutResult(t *testing.T) {
	p := newProcPool(t)
	pr := start(t, p, procExit, 7)
	_, err := pr.Join(testutil.Ctx(t, 20*time.Second))
	if !errors.Is(err, pool.ErrWorkerLost) || !strings.Contains(err.Error(), "exit status 7") {
		t.Fatalf("Join error = %v; want ErrWorkerLost with exit status 7", err)
	}
	if c := pr.ExitCode(); c != 7 {
		t.Errorf("ExitCode = %d, want 7", c)
	}
}

func TestProcessJoinExpiredContext(t *testing.T) {
	p := newProcPool(t)
	pr := start(t, p, procBlock, struct{}{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := pr.Join(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Join = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("Join took %s after its ctx expired", d)
	}
	if !pr.IsAlive() {
		t.Error("the process should keep running after Join's ctx expired")
	}
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if _, err := pr.Join(done); !errors.Is(err, context.Canceled) {
		t.Errorf("Join with a cancelled ctx = %v", err)
	}
}

func TestProcessKilledByPoolTerminate(t *testing.T) {
	p, err := pool.New(testutil.Ctx(t, 30*time.Second), pool.WithProcesses(0))
	if err != nil {
		t.Fatal(err)
	}
	pr, err := pool.Start(testutil.Ctx(t, 10*time.Second), p, procBlock, struct{}{})
	if err != nil {
		_ = p.Terminate()
		t.Fatal(err)
	}
	if err := p.Terminate(); err != nil {
		t.Fatal(err)
	}
	if _, err := pr.Join(testutil.Ctx(t, 10*time.Second)); !errors.Is(err, pool.ErrWorkerLost) {
		t.Fatalf("Join after pool Terminate = %v; want ErrWorkerLost", err)
	}
	if c := pr.ExitCode(); c != -9 {
		t.Errorf("ExitCode = %d, want -9", c)
	}
	if _, err := pool.Start(testutil.Ctx(t, time.Second), p, procWho, "late"); !errors.Is(err, pool.ErrClosed) {
		t.Errorf("Start on a closed pool = %v; want ErrClosed", err)
	}
}

func TestProcessCloseWaitsForIt(t *testing.T) {
	p, err := pool.New(testutil.Ctx(t, 30*time.Second), pool.WithProcesses(0))
	if err != nil {
		t.Fatal(err)
	}
	pr, err := pool.Start(testutil.Ctx(t, 10*time.Second), p, sleepMS, 300)
	if err != nil {
		_ = p.Terminate()
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if pr.IsAlive() {
		t.Error("Close returned while the process still ran")
	}
	if pid, err := pr.Join(testutil.Ctx(t, 5*time.Second)); err != nil || pid != pr.PID() {
		t.Errorf("Join after Close = %d, %v; want %d", pid, err, pr.PID())
	}
}

func TestProcessInvalidArguments(t *testing.T) {
	p := newProcPool(t)
	ctx := testutil.Ctx(t, 10*time.Second)
	var zero worker.Task[string, worker.Info]
	for _, tc := range []struct {
		name string
		err  error
		call func() error
	}{
		{"nil pool", pool.ErrInvalidArgument, func() error { _, err := pool.Start(ctx, nil, procWho, "x"); return err }},
		{"zero task", pool.ErrInvalidArgument, func() error { _, err := pool.Start(ctx, p, zero, "x"); return err }},
		//lint:ignore SA1012 testing the nil-context check
		{"nil ctx", pool.ErrInvalidArgument, func() error { _, err := pool.Start(nil, p, procWho, "x"); return err }},
		{"unencodable arg", pool.ErrInvalidArgument, func() error {
			_, err := pool.Start(ctx, p, worker.Ref[func(), int]("test.proc.none"), func() {})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
		})
	}
	t.Run("unknown task", func(t *testing.T) {
		pr := start(t, p, worker.Ref[string, string]("test.proc.nowhere"), "x")
		if _, err := pr.Join(testutil.Ctx(t, 20*time.Second)); !errors.Is(err, pool.ErrUnknownTask) {
			t.Errorf("Join = %v, want ErrUnknownTask", err)
		}
	})
	t.Run("nil join ctx", func(t *testing.T) {
		pr := start(t, p, procFail, "x")
		//lint:ignore SA1012 testing the nil-context check
		if _, err := pr.Join(nil); !errors.Is(err, pool.ErrInvalidArgument) {
			t.Errorf("Join(nil) = %v", err)
		}
	})
}
