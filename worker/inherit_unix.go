//go:build unix

package worker

import "syscall"

// noInherit keeps descriptor fd from the programs a task starts: one
// holding the status pipe open would hide this process's exit from its
// supervisor.
func noInherit(fd uintptr) { syscall.CloseOnExec(int(fd)) }
