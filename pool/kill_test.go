package pool_test

import "os"

// killSelf ends this process at once, as SIGKILL does (on Windows,
// TerminateProcess): a worker that dies mid-task.
func killSelf() error { return killPID(os.Getpid()) }

// killPID kills the process pid at once.
func killPID(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
