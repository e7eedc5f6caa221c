package supervise

import (
	"fmt"
	"os"
	"syscall"
)

// exitTerminated is the exit status Kill and Terminate give a child on
// Windows, which has no signals: Python's multiprocessing uses the same
// value (TERMINATE) for TerminateProcess and reports it as -SIGTERM.
const exitTerminated = 0x10000

// exitCode is a child's exit status, -15 (-SIGTERM) when Kill or Terminate
// ended it, as Python's multiprocessing reports it on Windows, -1 before it
// exited.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ps.ExitCode() == exitTerminated {
		return -int(syscall.SIGTERM)
	}
	return ps.ExitCode()
}

func describeExit(ps *os.ProcessState, err error) string {
	switch {
	case ps == nil:
		return fmt.Sprint(err)
	case ps.ExitCode() == exitTerminated:
		return "terminated"
	}
	return ps.String()
}
