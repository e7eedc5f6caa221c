// Package onstart_test checks worker.OnStart with real worker processes.
// OnStart is process-global, so these tests have a test binary of their
// own; the environment variable onstartMode, which children inherit,
// decides what the initializer does.
package onstart_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

const (
	onstartMode = "PROCPOOL_TEST_ONSTART" // "fail", "panic", or anything else: succeed
	onstartLog  = "PROCPOOL_TEST_ONSTART_LOG"
)

// initPID is set by the initializer in the process it ran in.
var initPID int

func TestMain(m *testing.M) {
	worker.OnStart(func(ctx context.Context) error {
		switch os.Getenv(onstartMode) {
		case "fail":
			return errors.New("no database")
		case "panic":
			panic("init boom")
		}
		initPID = os.Getpid()
		if path := os.Getenv(onstartLog); path != "" {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = fmt.Fprintln(f, os.Getpid())
			return err
		}
		return nil
	})
	worker.Main()
	os.Exit(m.Run())
}

// initRan reports whether the initializer ran in the process running it.
var initRan = worker.Register("test.onstart.ran", func(ctx context.Context, _ struct{}) (int, error) {
	if initPID != os.Getpid() {
		return 0, errors.New("the initializer did not run in this process")
	}
	return initPID, nil
})

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestOnStartFailureFailsNew(t *testing.T) {
	for _, tc := range []struct{ mode, want string }{
		{"fail", "no database"},
		{"panic", "panic: init boom"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Setenv(onstartMode, tc.mode)
			t0 := time.Now()
			p, err := pool.New(ctxFor(t, 30*time.Second), pool.WithProcesses(2))
			if err == nil {
				_ = p.Terminate()
				t.Fatal("pool.New succeeded with a failing initializer")
			}
			if !strings.Contains(err.Error(), "worker initializer failed") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("pool.New error = %v; want it to say the worker initializer failed: %s", err, tc.want)
			}
			if d := time.Since(t0); d > 10*time.Second {
				t.Errorf("pool.New took %s to report the failure", d)
			}
			deadline := time.Now().Add(5 * time.Second)
			for kids := children(); len(kids) > 0; kids = children() {
				if time.Now().After(deadline) {
					t.Fatalf("worker processes left after the failed New: %v", kids)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// children lists the processes whose parent is this one (zombies too).
func children() []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			out = append(out, pid)
		}
	}
	return out
}

func TestOnStartRunsOnceInEveryWorkerBeforeItsFirstTask(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "init.log")
	t.Setenv(onstartLog, logPath)
	ctx := ctxFor(t, 30*time.Second)
	p, err := pool.New(ctx, pool.WithProcesses(2))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Terminate()
	pids, err := pool.Map(ctx, p, initRan, make([]struct{}, 50), pool.WithChunksize(1))
	if err != nil {
		t.Fatalf("a task ran in a worker whose initializer had not run: %v", err)
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var inits []int
	for _, f := range strings.Fields(string(data)) {
		n, _ := strconv.Atoi(f)
		inits = append(inits, n)
	}
	slices.Sort(inits)
	var workers []int
	for _, w := range p.Workers() {
		workers = append(workers, w.PID)
	}
	slices.Sort(workers)
	if !slices.Equal(inits, workers) {
		t.Errorf("initializer ran in %v; want once in each worker %v", inits, workers)
	}
	for _, pid := range pids {
		if !slices.Contains(workers, pid) {
			t.Errorf("a task ran in %d, not a worker of the pool", pid)
		}
	}
}

func TestOnStartInAProcess(t *testing.T) {
	ctx := ctxFor(t, 30*time.Second)
	p, err := pool.New(ctx, pool.WithProcesses(0))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Terminate()
	pr, err := pool.Start(ctx, p, initRan, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	if pid, err := pr.Join(ctx); err != nil || pid != pr.PID() {
		t.Errorf("Join = %d, %v; want the initializer to have run in %d", pid, err, pr.PID())
	}

	t.Setenv(onstartMode, "fail")
	pr, err = pool.Start(ctx, p, initRan, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = pr.Join(ctx)
	if err == nil || !strings.Contains(err.Error(), "worker initializer failed: no database") {
		t.Errorf("Join with a failing initializer = %v", err)
	}
	if c := pr.ExitCode(); c != worker.ExitInitFailed {
		t.Errorf("ExitCode = %d, want %d", c, worker.ExitInitFailed)
	}
}
