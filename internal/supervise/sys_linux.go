package supervise

import "syscall"

// sysProcAttr puts a worker in its own process group (a terminal's Ctrl-C
// goes to the parent, which decides) and has the kernel kill it when the
// parent dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup SIGKILLs a worker and anything it started.
func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}
