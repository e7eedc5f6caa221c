//go:build unix

package supervise

import (
	"syscall"

	"github.com/procpool/procpool/internal/spawn"
)

// askStop asks a worker to finish the task in hand and exit: SIGTERM, or
// in the portable test mode the stop line Windows uses.
func (cp *childProc) askStop() {
	if spawn.Portable() {
		cp.ctl.askStop()
		return
	}
	_ = cp.cmd.Process.Signal(syscall.SIGTERM)
}

// terminate sends a one-shot child SIGTERM (Python's Process.terminate),
// which it does not handle: it dies with exit code -15.
func (cp *childProc) terminate() error {
	return cp.cmd.Process.Signal(syscall.SIGTERM)
}
