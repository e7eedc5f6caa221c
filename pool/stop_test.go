package pool_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

// stubborn ignores its context: past WithTaskTimeout its worker exits.
var stubborn = worker.Register("test.stubborn", func(ctx context.Context, ms int) (int, error) {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return ms, nil
})

// TestStopWhileReplacingWorkers stops pools whose workers are being
// replaced all the time (a task that exits its worker, recycling after
// every task, hard timeouts), at varied moments, with Terminate and with a
// bounded Shutdown. Each stop must return within its bound and leave no
// child process behind: a child started while the stop began used to be
// left unsignalled, and Terminate then waited for it forever.
func TestStopWhileReplacingWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns many pools; run without -short")
	}
	const (
		terminateBound = 5 * time.Second
		shutdownGrace  = 300 * time.Millisecond
		shutdownBound  = shutdownGrace + 10*time.Second + 5*time.Second // grace + stop delay + slack
	)
	before := childPIDs(t)
	end := time.Now().Add(25 * time.Second)
	rounds := 0
	for ; rounds < 40 && time.Now().Before(end); rounds++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		p, err := pool.New(ctx, pool.WithProcesses(2), pool.WithMaxTasksPerChild(1),
			pool.WithTaskTimeout(100*time.Millisecond), pool.WithMaxAttempts(2))
		if err != nil {
			cancel()
			t.Fatalf("round %d: pool.New: %v", rounds, err)
		}
		if rounds%2 == 0 {
			// As a user found it: one call whose worker exits on its hard
			// timeout, then a stop just as the replacement is spawned.
			// Two at once, so both slots respawn together.
			a, b := pool.ApplyAsync(ctx, p, stubborn, 1500), pool.ApplyAsync(ctx, p, stubborn, 1500)
			for _, r := range []*pool.AsyncResult[int]{a, b} {
				if _, err := r.Wait(ctx); err == nil {
					t.Fatalf("round %d: a task past its hard timeout succeeded", rounds)
				}
			}
			time.Sleep(time.Duration(rounds%5) * time.Millisecond)
		} else {
			// Replacements all the time: exits, recycling, hard timeouts.
			for i := range 60 {
				switch i % 6 {
				case 0:
					pool.ApplyAsync(ctx, p, procExit, 3)
				case 1:
					pool.ApplyAsync(ctx, p, stubborn, 1200)
				default:
					pool.ApplyAsync(ctx, p, upper, "x")
				}
			}
			time.Sleep(time.Duration(rounds%10) * 20 * time.Millisecond)
		}
		start := time.Now()
		if rounds%4 < 2 {
			stopWithin(t, rounds, "Terminate", terminateBound, func() { _ = p.Terminate() })
		} else {
			stopWithin(t, rounds, "Shutdown", shutdownBound, func() {
				sctx, scancel := context.WithTimeout(context.Background(), shutdownGrace)
				defer scancel()
				_ = p.Shutdown(sctx)
			})
		}
		cancel()
		if left := newChildren(t, before); len(left) > 0 {
			t.Fatalf("round %d: child processes %v remain after the stop returned (in %v)", rounds, left, time.Since(start))
		}
	}
	t.Logf("%d rounds", rounds)
}

// stopWithin runs stop and fails the test, with every goroutine's stack, if
// it has not returned within bound.
func stopWithin(t *testing.T, round int, what string, bound time.Duration, stop func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); stop() }()
	select {
	case <-done:
	case <-time.After(bound):
		buf := make([]byte, 1<<20)
		t.Fatalf("round %d: %s did not return within %v\n%s", round, what, bound, buf[:runtime.Stack(buf, true)])
	}
}

// childPIDs lists this process's children, zombies included (Linux's
// /proc); elsewhere the check is skipped with the reason.
func childPIDs(t *testing.T) map[int]bool {
	t.Helper()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc to list child processes")
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	me := strconv.Itoa(os.Getpid())
	out := map[int]bool{}
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) >= 2 && fields[1] == me {
			pid, _ := strconv.Atoi(strings.Fields(s)[0])
			out[pid] = true
		}
	}
	return out
}

func newChildren(t *testing.T, before map[int]bool) []int {
	t.Helper()
	var left []int
	for pid := range childPIDs(t) {
		if !before[pid] {
			left = append(left, pid)
		}
	}
	return left
}

// TestCallsRacingAStopAllEnd submits calls from several goroutines while
// the pool stops: every call must end (with its result or ErrClosed), none
// may wait forever on a waiter added after the stop failed the others.
func TestCallsRacingAStopAllEnd(t *testing.T) {
	end := time.Now().Add(10 * time.Second)
	for round := 0; round < 20 && time.Now().Before(end); round++ {
		p := newPool(t, pool.WithProcesses(1))
		ctx := context.Background() // no deadline: only the stop can end a call
		var (
			mu      sync.Mutex
			results []*pool.AsyncResult[string]
			wg      sync.WaitGroup
		)
		for range 4 {
			wg.Go(func() {
				for i := 0; i < 200; i++ {
					r := pool.ApplyAsync(ctx, p, upper, "x")
					mu.Lock()
					results = append(results, r)
					mu.Unlock()
					if r.Ready() && !r.Successful() {
						return // the pool has stopped
					}
				}
			})
		}
		time.Sleep(time.Duration(round%5) * 2 * time.Millisecond)
		stopWithin(t, round, "Terminate", 5*time.Second, func() { _ = p.Terminate() })
		wg.Wait()
		deadline := time.After(5 * time.Second)
		for i, r := range results {
			select {
			case <-r.Done():
			case <-deadline:
				t.Fatalf("round %d: call %d of %d never ended after Terminate", round, i, len(results))
			}
			if _, err := r.Get(0); err != nil && !errors.Is(err, pool.ErrClosed) {
				t.Fatalf("round %d: call %d: %v; want a result or ErrClosed", round, i, err)
			}
		}
	}
}
