package pool_test

// What Process.Kill leaves on Windows: TerminateJobObject's exit status,
// reported as -SIGTERM as Python's multiprocessing does there.
const (
	killedCode = -15
	killedWord = "terminated"
)

// ownProcessGroup: Windows has no process groups. A worker's job object
// plays that part, and golang.org/x/sys/windows has no IsProcessInJob to
// check it with, so the check is not made there.
func ownProcessGroup(int) (bool, error) { return true, nil }
