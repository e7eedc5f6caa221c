//go:build linux

package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a process the run started, in a process group of its own, its
// output appended to a log file (kept across restarts of the same role).
type proc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
}

// procs starts processes and remembers every one of them, and every
// descendant it has seen, to prove at the end that none is left behind.
type procs struct {
	mu   sync.Mutex
	seen map[procID]string // every process seen, by identity, with its role
	live []*proc
}

// procID tells a process from a later one that reuses its pid.
type procID struct {
	pid   int
	start uint64 // clock ticks after boot, /proc/<pid>/stat field 22
}

func newProcs() *procs { return &procs{seen: map[procID]string{}} }

// start runs argv with env (added to this process's environment, less
// its PROCPOOL_ variables) and its output appended to logPath.
func (ps *procs) start(name, logPath string, env []string, argv ...string) (*proc, error) {
	out, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	fmt.Fprintf(out, "----- %s: %s\n", time.Now().UTC().Format(time.RFC3339Nano), strings.Join(argv, " "))
	p := &proc{name: name, exited: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(cleanEnv(), env...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("chaos: start %s: %w", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	ps.mu.Lock()
	ps.live = append(ps.live, p)
	ps.mu.Unlock()
	ps.snapshot()
	return p, nil
}

// cleanEnv is this process's environment without its PROCPOOL_ settings:
// the run gives each process it starts its own.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PROCPOOL_") {
			out = append(out, kv)
		}
	}
	return out
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) done() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

func (p *proc) signal(sig syscall.Signal) error { return syscall.Kill(p.pid(), sig) }

// waitExit waits up to d for p to exit.
func (p *proc) waitExit(d time.Duration) bool {
	select {
	case <-p.exited:
		return true
	case <-time.After(d):
		return false
	}
}

// killTree SIGKILLs p's process group and every process below it (worker
// processes have process groups of their own), and reaps p: a host that
// vanishes at once.
func (p *proc) killTree() {
	kids := descendants(p.pid())
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	_ = syscall.Kill(p.pid(), syscall.SIGKILL)
	for _, k := range kids {
		_ = syscall.Kill(-k, syscall.SIGKILL)
		_ = syscall.Kill(k, syscall.SIGKILL)
	}
	p.waitExit(10 * time.Second)
}

// snapshot records every live process started and its descendants.
func (ps *procs) snapshot() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	keep := ps.live[:0]
	for _, p := range ps.live {
		if p.done() {
			continue
		}
		keep = append(keep, p)
		for _, pid := range append([]int{p.pid()}, descendants(p.pid())...) {
			if st, ok := startTime(pid); ok {
				ps.seen[procID{pid, st}] = p.name
			}
		}
	}
	ps.live = keep
}

// leftBehind lists the processes seen that still run (zombies included),
// after waiting up to d for them to go.
func (ps *procs) leftBehind(d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		var out []string
		ps.mu.Lock()
		for id, name := range ps.seen {
			if st, ok := startTime(id.pid); ok && st == id.start {
				out = append(out, fmt.Sprintf("%s (pid %d)", name, id.pid))
			}
		}
		ps.mu.Unlock()
		if len(out) == 0 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// statFields is /proc/<pid>/stat after the command name.
func statFields(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// startTime is pid's start time, if it exists.
func startTime(pid int) (uint64, bool) {
	f := statFields(pid)
	if len(f) < 20 {
		return 0, false
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	return st, err == nil
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		cpid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(cpid); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, cpid)
		}
	}
	return out
}

// descendants lists every process below pid.
func descendants(pid int) []int {
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		kids := children(queue[0])
		queue = append(queue[1:], kids...)
		out = append(out, kids...)
	}
	return out
}
