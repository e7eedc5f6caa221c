package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/procpool/procpool/dashboard"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/pool"
)

// runDemo is `procpool demo`: a tour of the pool that checks every result
// it shows and exits non-zero if any is wrong.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("procpool demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf connFlags
	cf.register(fs, numCPU)
	cf.registerMetrics(fs)
	wait := fs.Duration("wait-workers", time.Minute, "with --processes 0: how long to wait for remote workers")
	dash := fs.Bool("dashboard", false, "serve the live dashboard (--dashboard-listen) and, after the tour, keep the pool busy until interrupted")
	dashListen := fs.String("dashboard-listen", dashboard.DefaultListen, "with --dashboard: the page's loopback `host:port`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if _, err := cf.setup(stderr); err != nil { // logflags.go
		fmt.Fprintln(stderr, "procpool demo:", err)
		return 2
	}
	dashAddr := ""
	if *dash {
		dashAddr = *dashListen
	}
	if err := demo(ctx, stdout, &cf, *wait, dashAddr); err != nil {
		fmt.Fprintln(stderr, "procpool demo: FAILED:", err)
		return 1
	}
	return 0
}

func demo(ctx context.Context, out io.Writer, cf *connFlags, waitWorkers time.Duration, dashAddr string) error {
	say := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }
	start := time.Now()
	opts := cf.options()
	if dashAddr != "" {
		opts = append(opts, pool.WithDashboard(dashAddr))
	}
	p, err := pool.New(ctx, opts...)
	if err != nil {
		return err
	}
	defer p.Close()
	where := "embedded broker at " + p.URL()
	if cf.url != "" {
		where = "broker " + p.URL()
	}
	say("procpool demo: pool %q on %s, %d local worker processes, ready in %s", p.Name(), where, cf.processes, time.Since(start).Round(time.Millisecond))
	if dashAddr != "" {
		say("dashboard: http://%s/", p.DashboardAddr())
	}
	if cf.processes == 0 {
		say("waiting for remote workers of pool %q ...", p.Name())
		if err := waitFor(ctx, waitWorkers, func() bool { return len(p.Workers()) > 0 }); err != nil {
			return fmt.Errorf("no remote worker joined pool %q: %w", p.Name(), err)
		}
	}
	showWorkers(say, p)

	// Map: Python's pool.map.
	words := []string{"kel", "smile", "process", "pool", "nats", "go"}
	upper, err := pool.Map(ctx, p, builtin.Upper, words)
	if err != nil {
		return fmt.Errorf("map: %w", err)
	}
	for i, w := range words {
		if upper[i] != strings.ToUpper(w) {
			return fmt.Errorf("map: %q became %q", w, upper[i])
		}
	}
	say("\nMap(upper, %v)\n  = %v", words, upper)

	// IMap: results stream back in input order.
	fmt.Fprint(out, "\nIMap(square, 1..10) =")
	n := 0
	for v, err := range pool.IMap(ctx, p, builtin.Square, seq(1, 10)) {
		n++
		if err != nil {
			return fmt.Errorf("imap: %w", err)
		}
		if v != n*n {
			return fmt.Errorf("imap: item %d gave %d", n, v)
		}
		fmt.Fprintf(out, " %d", v)
	}
	say("")

	// Longer work, with a progress bar when stdout is a terminal.
	nums := make([]int, 20000)
	for i := range nums {
		nums[i] = i
	}
	popts, finish := progressOptions(out, "Map(square, 20000 items)") // progressbar.go
	squares, err := pool.Map(ctx, p, builtin.Square, nums, append(popts, pool.WithChunksize(100))...)
	finish()
	if err != nil {
		return fmt.Errorf("map squares: %w", err)
	}
	if squares[19999] != 19999*19999 {
		return fmt.Errorf("map squares: item 19999 gave %d", squares[19999])
	}
	say("\nMap(square, 0..19999)[19999] = %d", squares[19999])

	// Where tasks run: each in a worker process whose parent is the pool.
	naps := slices.Repeat([]time.Duration{50 * time.Millisecond}, 4)
	whos, err := pool.Map(ctx, p, builtin.Sleep, naps, pool.WithChunksize(1))
	if err != nil {
		return fmt.Errorf("map sleep: %w", err)
	}
	say("\nMap(sleep 50ms, x4) ran in:")
	for _, w := range whos {
		say("  worker %-24s pid %-7d ppid %-7d host %s", w.ID, w.PID, w.PPID, w.Host)
		if cf.processes > 0 && cf.url == "" && w.PPID != os.Getpid() {
			return fmt.Errorf("whoami: ppid %d is not this process (%d)", w.PPID, os.Getpid())
		}
	}

	// ApplyAsync and Get(timeout): not ready yet is ErrTimeout; the task goes on.
	say("\nApplyAsync(sleep 800ms):")
	ar := pool.ApplyAsync(ctx, p, builtin.Sleep, 800*time.Millisecond)
	_, err = ar.Get(100 * time.Millisecond)
	if !errors.Is(err, pool.ErrTimeout) {
		return fmt.Errorf("get(100ms) on an 800ms task: %v, want ErrTimeout", err)
	}
	say("  Get(100ms) -> %v (ready: %v)", err, ar.Ready())
	w, err := ar.Get(10 * time.Second)
	if err != nil {
		return fmt.Errorf("get(10s): %w", err)
	}
	say("  Get(10s)   -> done by pid %d (successful: %v)", w.PID, ar.Successful())

	if err := demoKill(ctx, say, p, cf); err != nil {
		return err
	}
	showWorkers(say, p)
	st := p.Stats()
	say("\nall results correct; %d worker processes started, %d lost and replaced, %d duplicate results dropped",
		st.WorkersStarted, st.WorkersLost, st.DuplicateResult)
	say("demo ok in %s", time.Since(start).Round(time.Millisecond))
	if dashAddr != "" {
		return demoBusy(ctx, say, p)
	}
	return nil
}

// demoBusy keeps the pool working, a Map of short tasks every few
// seconds, for the dashboard to show, until ctx ends.
func demoBusy(ctx context.Context, say func(string, ...any), p *pool.Pool) error {
	say("\nkeeping the pool busy for the dashboard at http://%s/ (Ctrl-C stops)", p.DashboardAddr())
	naps := slices.Repeat([]time.Duration{2 * time.Millisecond}, 3000)
	for {
		if _, err := pool.Map(ctx, p, builtin.Sleep, naps, pool.WithChunksize(10)); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("map sleep: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(3 * time.Second):
		}
	}
}

// demoKill kills a worker in the middle of a task and shows the task
// complete anyway: local workers are SIGKILLed by this process; with
// remote workers only, the task SIGKILLs its own worker.
func demoKill(ctx context.Context, say func(string, ...any), p *pool.Pool, cf *connFlags) error {
	if cf.processes == 0 {
		say("\nApply(crash-once): the task SIGKILLs its own worker on its first attempt ...")
		t0 := time.Now()
		w, err := pool.Apply(ctx, p, builtin.CrashOnce, builtin.CrashArg{Delay: 200 * time.Millisecond})
		if err != nil {
			return fmt.Errorf("crash-once: %w", err)
		}
		if w.Attempt != 2 {
			return fmt.Errorf("crash-once finished on attempt %d, want 2", w.Attempt)
		}
		say("  completed on worker %s (pid %d, attempt %d) after %s", w.ID, w.PID, w.Attempt, time.Since(t0).Round(time.Millisecond))
		return nil
	}
	say("\nApplyAsync(sleep 2s), then SIGKILL the worker running it ...")
	submitted := time.Now()
	ar := pool.ApplyAsync(ctx, p, builtin.Sleep, 2*time.Second)
	var victim int
	err := waitFor(ctx, 10*time.Second, func() bool {
		for _, w := range p.Workers() {
			// Busy with this task: it took it after the submission (a worker
			// whose previous sleep's "done" is still on its way took that
			// one before), and has been at it for a while.
			if w.Busy && w.Local && w.Task == "procpool.sleep" && w.BusySince.After(submitted) &&
				time.Since(w.BusySince) > 200*time.Millisecond {
				victim = w.PID
				return true
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("finding the busy worker: %w", err)
	}
	if err := kill(victim); err != nil {
		return fmt.Errorf("kill %d: %w", victim, err)
	}
	killed := time.Now()
	say("  killed pid %d mid-task", victim)
	w, err := ar.Get(15 * time.Second)
	if err != nil {
		return fmt.Errorf("the killed worker's task: %w", err)
	}
	if w.PID == victim || w.Attempt != 2 {
		return fmt.Errorf("the killed worker's task came back from pid %d attempt %d", w.PID, w.Attempt)
	}
	say("  the task completed on pid %d (attempt %d), %s after the kill", w.PID, w.Attempt, time.Since(killed).Round(time.Millisecond))
	if err := waitFor(ctx, 10*time.Second, func() bool {
		pids := []int{}
		for _, w := range p.Workers() {
			pids = append(pids, w.PID)
		}
		return len(pids) >= cf.processes && !slices.Contains(pids, victim)
	}); err != nil {
		return fmt.Errorf("the pool did not replace pid %d: %w", victim, err)
	}
	return nil
}

func showWorkers(say func(string, ...any), p *pool.Pool) {
	say("\nworkers:")
	for _, w := range p.Workers() {
		kind := "remote"
		if w.Local {
			kind = "local"
		}
		say("  %-24s pid %-7d ppid %-7d %-6s tasks done %d", w.ID, w.PID, w.PPID, kind, w.TasksDone)
	}
}

// waitFor polls cond until it holds, d passes or ctx ends.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// seq yields lo..hi.
func seq(lo, hi int) func(func(int) bool) {
	return func(yield func(int) bool) {
		for i := lo; i <= hi; i++ {
			if !yield(i) {
				return
			}
		}
	}
}

// kill ends process pid at once: SIGKILL, or TerminateProcess on Windows.
func kill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
