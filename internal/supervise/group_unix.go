//go:build unix

package supervise

import (
	"os"
	"syscall"
)

// procGroup is a worker's process group (Setpgid: its id is the worker's
// pid), so that a kill reaches whatever the worker started too.
type procGroup struct{ pid int }

func newGroup(p *os.Process) (*procGroup, error) { return &procGroup{pid: p.Pid}, nil }

// kill SIGKILLs the worker and anything it started.
func (g *procGroup) kill() {
	_ = syscall.Kill(-g.pid, syscall.SIGKILL)
	_ = syscall.Kill(g.pid, syscall.SIGKILL)
}

// close has nothing to release on Unix: the group goes with its processes.
func (g *procGroup) close() {}
