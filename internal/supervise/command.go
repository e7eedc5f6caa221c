package supervise

import (
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/procpool/procpool/internal/secrets"
	"github.com/procpool/procpool/internal/spawn"
)

// childProc is a started child of this program's binary: its pid, the
// parent's end of its status pipe, of its stdin (control), and its process
// group (a job object on Windows). Both a supervised worker and a one-shot
// process start this way.
type childProc struct {
	cmd     *exec.Cmd
	statusR *os.File
	ctl     *control
	grp     *procGroup
}

// startChild starts exe as a worker child: the marker in its environment,
// its own process group, death with the parent (sysProcAttr, and the stdin
// control channel held open), the status pipe (as fd 3 on Unix), stdout and
// stderr as given, and cfg (secrets included) sent over stdin, never argv.
// idFor names the child from its pid into cfg.ID. Call release once the
// child is reaped.
func startChild(exe string, cfg spawn.ChildConfig, stdout, stderr io.Writer, idFor func(pid int) string) (*childProc, spawn.ChildConfig, error) {
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, cfg, err
	}
	defer statusW.Close()
	stdin, stdinW, err := os.Pipe()
	if err != nil {
		statusR.Close()
		return nil, cfg, err
	}
	defer stdin.Close()
	// No other process may hold the write ends: the child's end of file on
	// stdin, and ours on the status pipe, must come when the holder exits.
	noInherit(statusW)
	noInherit(stdinW)
	cmd := exec.Command(exe)
	// The program's own secret variables stay with it: task code gets no
	// credential from its environment (the child's come over stdin).
	cmd.Env = append(secrets.Scrub(os.Environ()), spawn.EnvMarker+"=1")
	cmd.Stdin = stdin
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = sysProcAttr()
	statusFD, started, err := passStatus(cmd, statusW)
	if err != nil {
		statusR.Close()
		stdinW.Close()
		return nil, cfg, err
	}
	err = cmd.Start()
	started()
	if err != nil {
		statusR.Close()
		stdinW.Close()
		return nil, cfg, fmt.Errorf("procpool: start worker process: %w", err)
	}
	grp, err := newGroup(cmd.Process)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		statusR.Close()
		stdinW.Close()
		return nil, cfg, err
	}
	if idFor != nil {
		cfg.ID = idFor(cmd.Process.Pid)
	}
	cfg.StatusFD = statusFD
	return &childProc{cmd: cmd, statusR: statusR, ctl: newControl(stdinW, cfg), grp: grp}, cfg, nil
}

// kill ends the child and whatever it started, at once.
func (cp *childProc) kill() { cp.grp.kill() }

// release closes the parent's ends of the reaped child's stdin and process
// group.
func (cp *childProc) release() {
	cp.ctl.close()
	cp.grp.close()
}
