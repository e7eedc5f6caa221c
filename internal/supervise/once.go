package supervise

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/procpool/procpool/internal/spawn"
)

// maxOnceResult bounds the result length a one-shot child may announce
// on its status pipe: far above any result memory holds (a result of 1
// GiB and more passes), only a guard against a garbage length. Memory is
// taken as the bytes arrive (readResult), never for the length announced.
const maxOnceResult int64 = 1 << 40

// firstResultBuf is what readResult allocates before any byte arrived.
const firstResultBuf = 1 << 20

// Once is one one-shot child process (pool.Start): a re-execution of this
// program's binary that runs one call and exits. It is never restarted.
//
// The child writes its result on its status pipe, not to a NATS inbox: the
// pipe is read to its end after the process exits, so "exited with a
// result" and "died without one" are told apart without a race or a grace
// period, and the result arrives even when the broker is unreachable.
type Once struct {
	cmd    *exec.Cmd
	proc   *childProc
	pid    int
	exited chan struct{} // closed when the process is reaped
	done   chan struct{} // closed when it is reaped and its status pipe read

	mu       sync.Mutex
	result   []byte // the wire result message, if the child wrote one
	initErr  string // the child's init-error line, if any
	ready    bool
	state    *os.ProcessState
	waitErr  error
	pipeNote string // a status pipe that could not be read as expected
}

// StartOnce spawns a one-shot child of this program's binary with cfg
// (cfg.Once must be set). It returns once the process is started.
func StartOnce(cfg spawn.ChildConfig) (*Once, error) {
	if cfg.Once == nil {
		return nil, errors.New("procpool: StartOnce without a call")
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("procpool: cannot find own executable to spawn a process: %w", err)
	}
	var id func(int) string
	if cfg.ID == "" {
		host, _ := os.Hostname()
		id = func(pid int) string { return host + "-" + strconv.Itoa(pid) }
	}
	// Its prints show where the parent's do, as in Python.
	cp, _, err := startChild(exe, cfg, os.Stdout, os.Stderr, id)
	if err != nil {
		return nil, err
	}
	cmd, statusR := cp.cmd, cp.statusR
	o := &Once{cmd: cmd, proc: cp, pid: cmd.Process.Pid, exited: make(chan struct{}), done: make(chan struct{})}
	statusEOF := make(chan struct{})
	go func() {
		defer close(statusEOF)
		defer statusR.Close()
		o.readStatus(statusR)
	}()
	go func() {
		err := cmd.Wait()
		cp.release()
		o.mu.Lock()
		o.state, o.waitErr = cmd.ProcessState, err
		o.mu.Unlock()
		close(o.exited)
		// Bounded: a grandchild could keep the pipe open.
		select {
		case <-statusEOF:
		case <-time.After(2 * time.Second):
		}
		close(o.done)
	}()
	return o, nil
}

// readStatus reads status lines, and the result bytes after a result line.
func (o *Once) readStatus(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		kind, arg := spawn.ParseStatus(line)
		switch kind {
		case spawn.StatusReady:
			o.mu.Lock()
			o.ready = true
			o.mu.Unlock()
		case spawn.StatusInitError:
			o.mu.Lock()
			o.initErr = arg
			o.mu.Unlock()
		case spawn.StatusResult:
			n, err := strconv.ParseInt(arg, 10, 64)
			if err != nil || n < 0 || n > min(maxOnceResult, math.MaxInt) {
				o.note(fmt.Sprintf("bad result length %q", arg))
				return
			}
			buf, err := readResult(br, int(n))
			if err != nil {
				o.note(fmt.Sprintf("result cut short after %d of %d bytes: %v", len(buf), n, err))
				return
			}
			o.mu.Lock()
			o.result = buf
			o.mu.Unlock()
		}
	}
}

// readResult reads the n bytes of a result, growing its buffer (by
// doubling) as they arrive: a child that announces more than it writes
// costs at most twice what it wrote. On error, the bytes read so far.
func readResult(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, firstResultBuf))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), cap(buf)+min(cap(buf), n-cap(buf)))
			copy(grown, buf)
			buf = grown
		}
		k, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err == io.EOF && len(buf) < n {
			err = io.ErrUnexpectedEOF
		}
		if err != nil && len(buf) < n {
			return buf, err
		}
	}
	return buf, nil
}

func (o *Once) note(s string) {
	o.mu.Lock()
	o.pipeNote = s
	o.mu.Unlock()
}

// PID is the child's process id.
func (o *Once) PID() int { return o.pid }

// Exited is closed when the child has exited and been reaped.
func (o *Once) Exited() <-chan struct{} { return o.exited }

// Done is closed once the child has exited and what it wrote was read.
func (o *Once) Done() <-chan struct{} { return o.done }

// Outcome is what a one-shot child left behind; valid after Done.
type Outcome struct {
	Result   []byte // the wire result message; nil if it wrote none
	InitErr  string // its initializer's (or connection's) failure, if any
	Ready    bool   // it connected and passed its initializer
	ExitCode int    // its exit status; -N when killed by signal N
	Exit     string // its exit status in words ("exit status 1", "signal: killed")
	Note     string // a malformed status pipe, if so
}

// Outcome returns what the child left behind. Call it after Done.
func (o *Once) Outcome() Outcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	return Outcome{Result: o.result, InitErr: o.initErr, Ready: o.ready,
		ExitCode: exitCode(o.state), Exit: describeExit(o.state, o.waitErr), Note: o.pipeNote}
}

// ExitCode is the child's exit status once it has exited (-N when killed
// by signal N), and -1 before.
func (o *Once) ExitCode() int {
	select {
	case <-o.exited:
	default:
		return -1
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return exitCode(o.state)
}

// Terminate ends the child as Python's Process.terminate does: SIGTERM on
// Unix, TerminateJobObject on Windows (stop_*.go). A child that has
// already exited is not an error.
func (o *Once) Terminate() error {
	select {
	case <-o.exited:
		return nil
	default:
	}
	err := o.proc.terminate()
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// Kill ends the child and everything in its process group (its job object
// on Windows) at once.
func (o *Once) Kill() {
	select {
	case <-o.exited:
		return
	default:
	}
	o.proc.kill()
}
