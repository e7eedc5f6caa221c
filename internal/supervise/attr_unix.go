//go:build unix && !linux

package supervise

import "syscall"

// sysProcAttr puts a worker in its own process group (a terminal's Ctrl-C
// goes to the parent, which decides). There is no PR_SET_PDEATHSIG outside
// Linux: the stdin control channel ends a worker whose parent died.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
