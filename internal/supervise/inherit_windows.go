package supervise

import (
	"os"

	"golang.org/x/sys/windows"
)

// noInherit keeps f from processes this one starts: os.Pipe's handles are
// inheritable on Windows, and a process started by anything but Go's
// StartProcess (which names the handles each child inherits) would get
// them all.
func noInherit(f *os.File) {
	_ = windows.SetHandleInformation(windows.Handle(f.Fd()), windows.HANDLE_FLAG_INHERIT, 0)
}
