package integration

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/spawn"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// parentBusy is parentMain's mode "busy": both workers and a one-shot
// process run hang, which never returns, then it waits to be killed.
func parentBusy(ctx context.Context, p *pool.Pool) int {
	log := execLog{os.Getenv(parentLogEnv)}
	for range 2 {
		pool.ApplyAsync(ctx, p, hang, probe{Log: log.path})
	}
	pr, err := pool.Start(ctx, p, hang, probe{Log: log.path})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	started := func() int { data, _ := os.ReadFile(log.path); return strings.Count(string(data), "\n") }
	for deadline := time.Now().Add(20 * time.Second); started() < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			fmt.Println("error: the three hangs did not start within 20s")
			return 1
		}
	}
	fmt.Println("process", pr.PID())
	<-ctx.Done()
	_ = p.Terminate()
	return 0
}

// TestParentDeathByStdinAlone holds the one mechanism that ends a worker
// whose parent died on every platform (docs/platforms.md) to its promise,
// alone: the parent runs with spawn.PortableEnv (no PR_SET_PDEATHSIG, no
// parent-pid poll) on an external broker that outlives it (so no worker
// exits for a lost connection), and its two workers and a one-shot process
// are each in the middle of a task that never returns when it is
// SIGKILLed. Only their stdin reaching end of file can end them: all three
// must be gone within 3 s.
func TestParentDeathByStdinAlone(t *testing.T) {
	b := testutil.StartBroker(t, broker.Config{})
	log := newExecLog(t)
	cmd, sc, pids := startParent(t, "busy", spawn.PortableEnv+"=1", parentLogEnv+"="+log.path,
		parentBrokerEnv+"="+strings.Join([]string{b.ClientURL(), b.User(), b.Password(), poolName(t)}, " "))
	f := strings.Fields(readLine(t, sc, 30*time.Second))
	if len(f) != 2 || f[0] != "process" {
		t.Fatalf("parent said %q, want 'process <pid>'", strings.Join(f, " "))
	}
	proc, _ := strconv.Atoi(f[1])
	pids = append(pids, proc)
	t.Cleanup(func() { // a failed run leaves none of them behind
		for _, pid := range pids {
			if alive(pid) {
				_ = testutil.KillPID(pid)
			}
		}
	})
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("process %d not running before the parent's SIGKILL", pid)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed := time.Now()
	testutil.WaitFor(t, 3*time.Second, "the workers and the one-shot process to exit by their stdin alone", func() bool {
		for _, pid := range pids {
			if alive(pid) {
				return false
			}
		}
		return true
	})
	t.Logf("workers %v and process %d gone %s after the parent's SIGKILL", pids[:2], proc, time.Since(killed))
}
