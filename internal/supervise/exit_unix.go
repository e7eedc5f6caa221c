//go:build unix

package supervise

import (
	"fmt"
	"os"
	"syscall"
)

// exitCode is a child's exit status, -N when signal N killed it (as
// Python's multiprocessing reports it), -1 before it exited.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -int(ws.Signal())
	}
	return ps.ExitCode()
}

func describeExit(ps *os.ProcessState, err error) string {
	if ps == nil {
		return fmt.Sprint(err)
	}
	return ps.String()
}
