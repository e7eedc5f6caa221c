package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/testutil/pooltest"
	"github.com/procpool/procpool/pool"
)

// Helpers of the scale-out tests (cluster_*, remote_*, netns_*): real
// broker and worker processes, built from cmd/ with go build.

// builtBinaries are cmd/procpool and cmd/procpool-worker, built for one test.
type builtBinaries struct{ procpool, worker string }

// buildBinaries builds cmd/procpool and cmd/procpool-worker into the
// test's temporary directory (the build cache makes this a link step).
func buildBinaries(tb testing.TB) builtBinaries {
	tb.Helper()
	dir := tb.TempDir()
	out := builtBinaries{procpool: filepath.Join(dir, "procpool"), worker: filepath.Join(dir, "procpool-worker")}
	for pkg, path := range map[string]string{"cmd/procpool": out.procpool, "cmd/procpool-worker": out.worker} {
		cmd := exec.Command("go", "build", "-o", path, "github.com/procpool/procpool/"+pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return out
}

// osProc is a process the test started, in its own process group; it is
// SIGKILLed (group and all) and reaped at cleanup.
type osProc struct {
	name   string
	cmd    *exec.Cmd
	out    *testutil.SyncBuffer
	exited chan struct{}
}

// startProc starts argv with env added to the test's environment.
func startProc(tb testing.TB, name string, env []string, argv ...string) *osProc {
	tb.Helper()
	needProcFS(tb)
	p := &osProc{name: name, out: &testutil.SyncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = testProcAttr()
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	tb.Cleanup(func() {
		p.killAll()
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			tb.Errorf("%s (pid %d) not reaped 10s after SIGKILL", name, p.pid())
		}
		if tb.Failed() {
			tb.Logf("----- output of %s:\n%s", name, tail(p.out.String(), 60))
		}
	})
	return p
}

func (p *osProc) pid() int { return p.cmd.Process.Pid }

// descendants lists the live processes below p.
func (p *osProc) descendants() []int {
	var out []int
	queue := []int{p.pid()}
	for len(queue) > 0 {
		kids := children(queue[0])
		queue = append(queue[1:], kids...)
		out = append(out, kids...)
	}
	return out
}

// killAll SIGKILLs p's process group and every process below it (worker
// processes have process groups of their own): a host that vanishes.
func (p *osProc) killAll() {
	kids := p.descendants()
	killGroup(p.pid())
	for _, k := range kids {
		killGroup(k)
	}
}

// waitOutput waits until p's output matches re and returns the first
// submatch (or the whole match).
func (p *osProc) waitOutput(tb testing.TB, re *regexp.Regexp, d time.Duration) string {
	tb.Helper()
	deadline := time.Now().Add(d)
	for {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			return m[len(m)-1]
		}
		select {
		case <-p.exited:
			tb.Fatalf("%s exited (%v) before printing %s:\n%s", p.name, p.cmd.ProcessState, re, tail(p.out.String(), 40))
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: no %s within %s:\n%s", p.name, re, d, tail(p.out.String(), 40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var readyURL = regexp.MustCompile(`procpool broker \S+ ready: (\S+)`)

// startWorkerBinary starts procpool-worker with n worker processes and
// waits until they serve.
func startWorkerBinary(tb testing.TB, bin builtBinaries, name string, processes int, env ...string) *osProc {
	tb.Helper()
	w := startProc(tb, name, env, bin.worker, "--processes", strconv.Itoa(processes), "--wait", "1m")
	w.waitOutput(tb, regexp.MustCompile(`worker processes ready`), 90*time.Second)
	return w
}

// remotePool starts a pool on an external broker (terminated at cleanup).
func remotePool(tb testing.TB, opts ...pool.Option) *pool.Pool {
	tb.Helper()
	needProcFS(tb)
	return pooltest.New(tb, 60*time.Second, nil, opts...)
}

// whoCount tallies where results came from, by the pid of the worker
// process's parent (a procpool-worker supervisor, or this test for a
// pool's local workers).
func whoCount(whos []builtin.Who) map[int]int {
	m := map[int]int{}
	for _, w := range whos {
		m[w.PPID]++
	}
	return m
}

// checkWhos asserts that every result names a worker that ran it.
func checkWhos(tb testing.TB, whos []builtin.Who, n int) {
	tb.Helper()
	if len(whos) != n {
		tb.Fatalf("%d results, want %d", len(whos), n)
	}
	for i, w := range whos {
		if w.PID <= 0 || w.PPID <= 0 || w.Host == "" || w.ID == "" || w.Attempt < 1 {
			tb.Fatalf("result %d = %+v: not from a worker", i, w)
		}
	}
}

// sleeps is n copies of d.
func sleeps(n int, d time.Duration) []time.Duration { return slices.Repeat([]time.Duration{d}, n) }

func tail(s string, lines int) string {
	n := 0
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			n++
			if n > lines {
				return s[i+1:]
			}
		}
	}
	return s
}

// pidsOf lists the pids of p and every process below it.
func pidsOf(p *osProc) []int { return append([]int{p.pid()}, p.descendants()...) }

func describe(m map[int]int) string { return fmt.Sprint(m) }
