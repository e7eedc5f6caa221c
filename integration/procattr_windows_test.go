package integration

import "syscall"

// testProcAttr starts a process in its own process group, as Setpgid does
// on Unix.
func testProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}
