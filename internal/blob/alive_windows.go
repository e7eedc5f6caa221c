//go:build windows

package blob

import "os"

// processAlive reports whether pid runs: on Windows, FindProcess opens the
// process and fails for one that has exited.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}
