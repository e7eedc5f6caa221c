package supervise

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/procpool/procpool/internal/spawn"
)

// childProc is a started child of this program's binary: its pid, and the
// parent's end of its status pipe. Both a supervised worker and a one-shot
// process start this way.
type childProc struct {
	cmd     *exec.Cmd
	statusR *os.File
}

// startChild starts exe as a worker child: the marker in its environment,
// its own process group, death with the parent (sysProcAttr), the status
// pipe as fd 3, stdout and stderr as given, and cfg (secrets included) sent
// over stdin, never argv. idFor names the child from its pid into cfg.ID.
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
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), spawn.EnvMarker+"=1")
	cmd.Stdin = stdin
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.ExtraFiles = []*os.File{statusW}
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		statusR.Close()
		stdinW.Close()
		return nil, cfg, fmt.Errorf("procpool: start worker process: %w", err)
	}
	if idFor != nil {
		cfg.ID = idFor(cmd.Process.Pid)
	}
	// Written in the background in case the child dies before reading.
	go func(cfg spawn.ChildConfig) {
		_ = json.NewEncoder(stdinW).Encode(cfg)
		stdinW.Close()
	}(cfg)
	return &childProc{cmd: cmd, statusR: statusR}, cfg, nil
}
