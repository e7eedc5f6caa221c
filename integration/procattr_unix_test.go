//go:build unix && !linux

package integration

import "syscall"

// testProcAttr puts a process the test starts in its own process group
// (there is no PR_SET_PDEATHSIG outside Linux).
func testProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
