package supervise

import "syscall"

// sysProcAttr starts a worker in its own process group, so that a console's
// Ctrl-C goes to the parent, which decides (as Setpgid does on Unix).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}
