package testutil

import "os"

// KillPID ends process pid at once (SIGKILL; TerminateProcess on Windows).
func KillPID(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	defer p.Release()
	return p.Kill()
}
