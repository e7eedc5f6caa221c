//go:build unix

package integration

import (
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// podmanGrace is how long docker and podman wait after SIGTERM before they
// SIGKILL a container: procpool-worker's documented stop bound (8s by
// default, docs/operations.md) must fit inside it.
const podmanGrace = 10 * time.Second

// TestWorkerStopBoundedBrokerGone is the issue 18 "podman rm -f" report: a
// procpool-worker whose worker processes are each in the middle of a long
// task, and whose only broker has just been SIGKILLed, is sent SIGTERM. It
// must be gone, worker processes included, within --stop-timeout plus one
// second, inside podman's 10s grace. (Before --stop-timeout, the worker
// processes were given 30s to finish the task in hand.)
func TestWorkerStopBoundedBrokerGone(t *testing.T) {
	bin := buildBinaries(t)
	const token = "stop-test-token"
	b := startProc(t, "broker", []string{"PROCPOOL_TOKEN=" + token}, bin.procpool, "broker",
		"--listen", "127.0.0.1:0", "--store", t.TempDir())
	url := b.waitOutput(t, readyURL, 30*time.Second)
	name := poolName(t)
	w := startWorkerBinary(t, bin, "worker", 2, "PROCPOOL_URL="+url, "PROCPOOL_TOKEN="+token, "PROCPOOL_POOL="+name)
	p := remotePool(t, pool.WithBroker(url), pool.WithToken(token), pool.WithName(name), pool.WithProcesses(0))
	ctx := testutil.Ctx(t, 2*time.Minute)
	for range 2 {
		_ = pool.ApplyAsync(ctx, p, builtin.Primes, 1_000_000_000) // minutes of CPU, deaf to its context
	}
	testutil.WaitFor(t, 30*time.Second, "both worker processes busy", func() bool {
		busy := 0
		for _, wi := range p.Workers() {
			if wi.Busy {
				busy++
			}
		}
		return busy == 2
	})
	procs := pidsOf(w)
	if len(procs) != 3 {
		t.Fatalf("procpool-worker and its processes: pids %v, want 3", procs)
	}

	b.killAll()
	<-b.exited
	time.Sleep(time.Second) // the worker's connections notice: they are reconnecting now
	start := time.Now()
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.exited:
	case <-time.After(2 * podmanGrace):
		t.Fatalf("procpool-worker still running %s after SIGTERM with its broker gone", 2*podmanGrace)
	}
	took := time.Since(start)
	t.Logf("procpool-worker exited %s after SIGTERM (%v)", took.Round(time.Millisecond), w.cmd.ProcessState)
	if took > podmanGrace {
		t.Fatalf("procpool-worker took %s to stop; the bound is 8s (--stop-timeout 7s + 1s), inside podman's %s", took, podmanGrace)
	}
	if !regexp.MustCompile(`stopping: worker processes finish the task in hand`).MatchString(w.out.String()) {
		t.Fatalf("no graceful stop logged:\n%s", tail(w.out.String(), 20))
	}
	testutil.WaitFor(t, 5*time.Second, "the worker processes gone", func() bool {
		for _, pid := range procs[1:] {
			if alive(pid) {
				return false
			}
		}
		return true
	})
}
