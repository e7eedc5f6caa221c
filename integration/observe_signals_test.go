package integration

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
)

// startDemo runs `procpool demo --processes 2` and returns it once it has
// listed its worker processes, with their pids.
func startDemo(t *testing.T) (*exec.Cmd, *testutil.SyncBuffer, chan error, []int) {
	t.Helper()
	cmd := exec.Command(procpoolCLI(t), "demo", "--processes", "2")
	stderr := &testutil.SyncBuffer{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	gone := make(chan struct{})
	sc := bufio.NewScanner(out)
	lines := make(chan string, 100)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
		close(gone)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-gone:
		case <-time.After(10 * time.Second):
		}
	})
	var pids []int
	deadline := time.After(30 * time.Second)
	for len(pids) < 2 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo ended before listing its workers; stderr:\n%s", stderr.String())
			}
			// "  <id>  pid N  ppid M  local  tasks done K"
			f := strings.Fields(l)
			if len(f) > 4 && f[1] == "pid" && f[3] == "ppid" {
				pid, _ := strconv.Atoi(f[2])
				pids = append(pids, pid)
			}
		case <-deadline:
			t.Fatal("demo did not list its workers within 30s")
		}
	}
	go func() {
		for range lines { // keep draining stdout
		}
	}()
	return cmd, stderr, exited, pids
}

func exitCodeOf(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if err == nil {
		return 0
	}
	if !errors.As(err, &ee) {
		t.Fatalf("wait: %v", err)
	}
	return ee.ExitCode()
}

func waitGone(t *testing.T, pids []int, d time.Duration) {
	t.Helper()
	testutil.WaitFor(t, d, "worker processes to exit", func() bool {
		for _, pid := range pids {
			if alive(pid) {
				return false
			}
		}
		return true
	})
}

// The CLI's first Ctrl-C (SIGINT) stops gracefully: the pool closes, its
// workers exit, and the command exits 130 (its work was cut short).
func TestCLIFirstSignalStopsGracefully(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, stderr, exited, pids := startDemo(t)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				if code := exitCodeOf(t, err); code != 130 {
					t.Fatalf("exit code %d after %s, want 130; stderr:\n%s", code, sig, stderr.String())
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("demo did not stop within 20s of %s; stderr:\n%s", sig, stderr.String())
			}
			if !strings.Contains(stderr.String(), "procpool: stopping (again to stop now)") ||
				strings.Contains(stderr.String(), "procpool: stopped\n") {
				t.Errorf("stderr after one %s:\n%s", sig, stderr.String())
			}
			waitGone(t, pids, 5*time.Second)
		})
	}
}

// A second signal exits at once; the worker processes die with their
// parent (parent-death signal) instead of being left behind.
func TestCLISecondSignalStopsNow(t *testing.T) {
	cmd, stderr, exited, pids := startDemo(t)
	_ = cmd.Process.Signal(os.Interrupt)
	testutil.WaitFor(t, 5*time.Second, "the first signal to be noticed", func() bool {
		return strings.Contains(stderr.String(), "stopping")
	})
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-exited:
		if code := exitCodeOf(t, err); code != 130 {
			t.Fatalf("exit code %d after two signals, want 130; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("demo did not exit after a second signal")
	}
	waitGone(t, pids, 5*time.Second)
}
