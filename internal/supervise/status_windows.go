package supervise

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// passStatus gives the child an inherited copy of w, the status pipe's
// write end, and returns that handle's value, which the child reads from
// its configuration: Windows passes handles, not descriptor numbers, and
// exec.Cmd.ExtraFiles is not supported there. The copy is inheritable, but
// Go's StartProcess names the handles each child inherits, so no other
// child gets it. done closes the parent's copy once the child has started.
func passStatus(cmd *exec.Cmd, w *os.File) (fd uintptr, done func(), err error) {
	self := windows.CurrentProcess()
	var h windows.Handle
	if err := windows.DuplicateHandle(self, windows.Handle(w.Fd()), self, &h, 0, true, windows.DUPLICATE_SAME_ACCESS); err != nil {
		return 0, nil, fmt.Errorf("procpool: status pipe handle: %w", err)
	}
	cmd.SysProcAttr.AdditionalInheritedHandles = append(cmd.SysProcAttr.AdditionalInheritedHandles, syscall.Handle(h))
	return uintptr(h), func() { windows.CloseHandle(h) }, nil
}
