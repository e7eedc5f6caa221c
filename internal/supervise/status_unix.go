//go:build unix

package supervise

import (
	"os"
	"os/exec"

	"github.com/procpool/procpool/internal/spawn"
)

// passStatus gives the child w, the status pipe's write end, as descriptor
// spawn.StatusFD. done is called once the child has started.
func passStatus(cmd *exec.Cmd, w *os.File) (fd uintptr, done func(), err error) {
	cmd.ExtraFiles = []*os.File{w}
	return spawn.StatusFD, func() {}, nil
}
