//go:build unix

package integration

import (
	"syscall"
	"testing"
)

// killGroup SIGKILLs process pid's process group and pid itself.
func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// pause stops process pid (SIGSTOP) until resume.
func pause(tb testing.TB, pid int) {
	tb.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		tb.Fatal(err)
	}
}

func resume(pid int) { _ = syscall.Kill(pid, syscall.SIGCONT) }
