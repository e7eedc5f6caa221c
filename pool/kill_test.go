package pool_test

import (
	"os"

	"github.com/procpool/procpool/internal/testutil"
)

// killSelf ends this process at once, as SIGKILL does (on Windows,
// TerminateProcess): a worker that dies mid-task.
func killSelf() error { return testutil.KillPID(os.Getpid()) }
