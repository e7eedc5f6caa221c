//go:build unix

package worker

import (
	"os"

	"github.com/procpool/procpool/internal/spawn"
)

// orphaned reports whether the supervisor whose pid was ppid is gone: Unix
// gives an orphan a new parent. It is belt and braces beside
// PR_SET_PDEATHSIG and the stdin control channel (parent.go), and off in
// the portable test mode, which proves the channel alone.
func orphaned(ppid int) bool {
	return ppid != 0 && !spawn.Portable() && os.Getppid() != ppid
}
