package supervise

import (
	"syscall"

	"github.com/procpool/procpool/internal/spawn"
)

// sysProcAttr puts a worker in its own process group (a terminal's Ctrl-C
// goes to the parent, which decides) and has the kernel kill it when the
// parent dies (PR_SET_PDEATHSIG, Linux only; the stdin control channel does
// the same everywhere, and alone in the portable test mode).
func sysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if !spawn.Portable() {
		a.Pdeathsig = syscall.SIGKILL
	}
	return a
}
