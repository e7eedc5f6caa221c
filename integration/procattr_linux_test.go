package integration

import "syscall"

// testProcAttr puts a process the test starts in its own process group and
// has the kernel kill it if the test process dies (PR_SET_PDEATHSIG).
func testProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
