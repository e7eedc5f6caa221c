package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// parentEnv makes the test binary act as a user's program that owns a
// pool, so tests can signal and kill the parent itself. parentBrokerEnv,
// "<url> <user> <password> <pool name>", gives that pool an external broker
// instead of an embedded one; parentLogEnv is the execution log its tasks
// write in mode "busy".
const (
	parentEnv       = "PROCPOOL_TEST_PARENT"
	parentBrokerEnv = "PROCPOOL_TEST_PARENT_BROKER"
	parentLogEnv    = "PROCPOOL_TEST_PARENT_LOG"
)

// parentMain is that program. It prints "workers <pid>..." once its pool is
// up, then: in mode "graceful" submits 4 tasks of 700ms, prints "started",
// and on SIGTERM closes the pool gracefully and prints "done <n> ok"; in
// mode "hold" it waits to be killed; in mode "busy" it has both workers and
// a one-shot process (pool.Start) run a task that never ends, prints
// "process <pid>" once all three are running it, and waits to be killed.
func parentMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	opts := []pool.Option{pool.WithProcesses(2)}
	if f := strings.Fields(os.Getenv(parentBrokerEnv)); len(f) == 4 {
		opts = append(opts, pool.WithBroker(f[0]), pool.WithCredentials(f[1], f[2]), pool.WithName(f[3]))
	}
	p, err := pool.New(ctx, opts...)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	var pids []string
	for _, w := range p.Workers() {
		pids = append(pids, strconv.Itoa(w.PID))
	}
	fmt.Println("workers", strings.Join(pids, " "))
	switch os.Getenv(parentEnv) {
	case "hold":
		<-ctx.Done()
		p.Terminate()
		return 0
	case "busy":
		return parentBusy(ctx, p)
	case "graceful":
		var rs []*pool.AsyncResult[outcome]
		for i := range 4 {
			rs = append(rs, pool.ApplyAsync(context.Background(), p, sleepy, probe{N: i, Wait: 700 * time.Millisecond, Log: os.DevNull}))
		}
		fmt.Println("started")
		<-ctx.Done()
		// Graceful: the tasks in flight finish before the pool stops.
		if err := p.Close(); err != nil {
			fmt.Println("close error", err)
			return 1
		}
		ok := 0
		for i, r := range rs {
			if v, err := r.Get(time.Second); err == nil && v.N == 2*i {
				ok++
			}
		}
		fmt.Printf("done %d ok\n", ok)
		return 0
	}
	return 2
}

// startParent runs the parent program, with env added to its environment,
// and returns it with a reader of its stdout lines and the worker pids it
// reported.
func startParent(t *testing.T, mode string, env ...string) (*exec.Cmd, *bufio.Scanner, []int) {
	t.Helper()
	needProcFS(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), parentEnv+"="+mode), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	line := readLine(t, sc, 30*time.Second)
	fields := strings.Fields(line)
	if len(fields) != 3 || fields[0] != "workers" {
		t.Fatalf("parent said %q, want 'workers <pid> <pid>'", line)
	}
	var pids []int
	for _, f := range fields[1:] {
		pid, _ := strconv.Atoi(f)
		pids = append(pids, pid)
	}
	return cmd, sc, pids
}

// readLine reads one line, bounded in time.
func readLine(t *testing.T, sc *bufio.Scanner, d time.Duration) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		if sc.Scan() {
			got <- sc.Text()
		} else {
			got <- ""
		}
	}()
	select {
	case l := <-got:
		return l
	case <-time.After(d):
		t.Fatalf("no line from the parent within %s", d)
		return ""
	}
}

func TestRow14SigtermToParent(t *testing.T) {
	cmd, sc, pids := startParent(t, "graceful")
	if l := readLine(t, sc, 10*time.Second); l != "started" {
		t.Fatalf("parent said %q", l)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if l := readLine(t, sc, 20*time.Second); l != "done 4 ok" {
		t.Fatalf("after SIGTERM the parent said %q, want all 4 in-flight tasks finished", l)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("parent exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("parent did not exit after a graceful close")
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Fatalf("worker %d outlived its parent's graceful stop", pid)
		}
	}
}

func TestRow15ParentKilled(t *testing.T) {
	cmd, _, pids := startParent(t, "hold")
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("worker %d not running", pid)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed := time.Now()
	testutil.WaitFor(t, 5*time.Second, "orphaned workers to exit", func() bool {
		for _, pid := range pids {
			if alive(pid) {
				return false
			}
		}
		return true
	})
	t.Logf("workers gone %s after the parent's SIGKILL", time.Since(killed))
}
