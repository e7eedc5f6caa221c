package pool_test

import "os"

// killSelf ends this process at once, as SIGKILL does (on Windows,
// TerminateProcess): a worker that dies mid-task.
func killSelf() error { return killPID(os.Getpid()) }
