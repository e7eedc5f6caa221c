package pool_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/spawn"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// A worker's stdin is its control channel (internal/spawn, StopLine): the
// parent holds the write end for the worker's life, writes "stop" to ask
// for a graceful stop, and the worker exits at end of file, when the
// parent is gone. These tests hold the parent's side of it.

// TestGracefulStopOverStdin: with spawn.PortableEnv set, a graceful stop
// sends no SIGTERM, only the stop line (what Windows uses). Close must end
// the workers long before the 10 s stop delay after which they would be
// killed, and leave none behind.
func TestGracefulStopOverStdin(t *testing.T) {
	t.Setenv(spawn.PortableEnv, "1")
	before := childPIDs(t)
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 20*time.Second)
	if got, err := pool.Map(ctx, p, square, []int{1, 2, 3}); err != nil || fmt.Sprint(got) != "[1 4 9]" {
		t.Fatalf("Map = %v, %v", got, err)
	}
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	d := time.Since(start)
	if d > 5*time.Second {
		t.Fatalf("Close took %s: the workers did not stop on the stop line (they were killed after the stop delay)", d)
	}
	t.Logf("Close took %s", d)
	if left := newChildren(t, before); len(left) > 0 {
		t.Fatalf("child processes %v remain after Close", left)
	}
}

// TestWorkerStdinWriteEndInParentOnly: each worker's (and a one-shot
// process's) stdin pipe has one write end, in the parent, write-only; no
// other child holds it (os.Pipe opens it close-on-exec). Were a sibling to
// inherit it, or the parent to keep its copy of the read end, the worker
// would not see end of file when the parent dies.
func TestWorkerStdinWriteEndInParentOnly(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads descriptors through Linux's /proc")
	}
	p := newPool(t, pool.WithProcesses(3))
	pr := start(t, p, procBlock, struct{}{})
	kids := []int{pr.PID()}
	for _, w := range p.Workers() {
		kids = append(kids, w.PID)
	}
	for _, kid := range kids {
		pipe := pipeOf(t, kid)
		for _, other := range kids {
			want := 0
			if other == kid {
				want = 1 // its stdin
			}
			if n := fdsTo(t, other, pipe); n != want {
				t.Errorf("process %d holds %d descriptors of %d's stdin %s, want %d", other, n, kid, pipe, want)
			}
		}
		if n := fdsTo(t, os.Getpid(), pipe); n != 1 {
			t.Errorf("the parent holds %d descriptors of %d's stdin %s, want 1 (the write end)", n, kid, pipe)
		}
		if !writeOnly(t, os.Getpid(), pipe) {
			t.Errorf("the parent's descriptor of %d's stdin %s is not its write end", kid, pipe)
		}
	}
}

// TestWorkerStdinClosedWhenReaped: the parent closes its end of a
// child's stdin once the child is reaped, so a pool that replaces workers
// (and runs one-shot processes) for days does not pile up descriptors.
func TestWorkerStdinClosedWhenReaped(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads descriptors through Linux's /proc")
	}
	p := newPool(t, pool.WithProcesses(1))
	pr := start(t, p, procBlock, struct{}{})
	dead := []int{pr.PID(), p.Workers()[0].PID}
	var pipes []string
	for _, pid := range dead {
		pipes = append(pipes, pipeOf(t, pid))
		if err := testutil.KillPID(pid); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pr.Join(testutil.Ctx(t, 10*time.Second)); err == nil {
		t.Fatal("Join after Kill: no error")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var held []string
		for i, pipe := range pipes {
			if fdsTo(t, os.Getpid(), pipe) > 0 {
				held = append(held, fmt.Sprintf("%d's %s", dead[i], pipe))
			}
		}
		if len(held) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the parent still holds the stdin of reaped children: %v", held)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pipeOf is what process pid's stdin links to ("pipe:[inode]").
func pipeOf(t *testing.T, pid int) string {
	t.Helper()
	l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/0", pid))
	if err != nil || !strings.HasPrefix(l, "pipe:") {
		t.Fatalf("stdin of %d: %q, %v; want a pipe", pid, l, err)
	}
	return l
}

// fdsTo counts process pid's descriptors that link to target.
func fdsTo(t *testing.T, pid int, target string) int {
	t.Helper()
	fds, err := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && l == target {
			n++
		}
	}
	return n
}

// writeOnly reports whether process pid's descriptor of target is opened
// write-only (O_WRONLY in /proc/<pid>/fdinfo).
func writeOnly(t *testing.T, pid int, target string) bool {
	t.Helper()
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err != nil || l != target {
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, filepath.Base(fd)))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(line, "flags:"); ok {
				flags, _ := strconv.ParseInt(strings.TrimSpace(v), 8, 64)
				return flags&3 == 1 // O_ACCMODE is O_WRONLY
			}
		}
	}
	return false
}
