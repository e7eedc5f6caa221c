//go:build unix

package pool_test

import "syscall"

// What Process.Kill leaves: death by SIGKILL.
const (
	killedCode = -9
	killedWord = "killed"
)

// ownProcessGroup reports whether pid leads a process group of its own
// (Setpgid), so that a kill reaches whatever it started.
func ownProcessGroup(pid int) (bool, error) {
	pg, err := syscall.Getpgid(pid)
	return pg == pid, err
}
