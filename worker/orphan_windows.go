package worker

// orphaned is always false on Windows, where a process keeps its parent's
// pid after the parent dies: the stdin control channel (parent.go) and the
// job object end a worker whose parent is gone.
func orphaned(int) bool { return false }
