package integration

import (
	"testing"

	"github.com/procpool/procpool/internal/testutil"
)

// killGroup ends process pid: Windows has no process groups to signal.
func killGroup(pid int) { _ = testutil.KillPID(pid) }

// pause skips: Windows has no SIGSTOP.
func pause(tb testing.TB, pid int) {
	tb.Helper()
	tb.Skip("stops a process with SIGSTOP: none on Windows")
}

func resume(int) {}
