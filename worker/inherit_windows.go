package worker

import "golang.org/x/sys/windows"

// noInherit keeps handle fd from the programs a task starts: one holding
// the status pipe open would hide this process's exit from its supervisor.
func noInherit(fd uintptr) {
	_ = windows.SetHandleInformation(windows.Handle(fd), windows.HANDLE_FLAG_INHERIT, 0)
}
