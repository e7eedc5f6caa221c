package supervise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/spawn"
	"github.com/procpool/procpool/internal/wire"
)

// Supervisor keeps n local worker processes running: it re-executes the
// program's own binary with the worker marker, hands each child its
// configuration over stdin, follows it through the status pipe, replaces it
// when it exits, and gives back the task a dead child was holding.
type Supervisor struct {
	exe   string
	cfg   spawn.ChildConfig // template; ID is set per child
	n     int
	nc    *nats.Conn // for handing back a dead child's task
	log   *slog.Logger
	host  string
	delay time.Duration // stop: ask (SIGTERM, or the stop line), then kill after this long
	out   *prefixer     // PrefixOutput (output.go); nil: children inherit stdout and stderr

	stopping atomic.Bool // set under mu, with stopMode: see register
	stopCh   chan struct{}
	wg       sync.WaitGroup

	mu       sync.Mutex
	procs    map[int]*child // by slot
	stopMode stopMode       // how children are ended once stopping; under mu
	ready    chan readyEvent
	starts   atomic.Int64 // processes started, for tests and status
	deaths   atomic.Int64 // processes that exited without being asked to
}

// stopMode is how Stop ends children: a graceful stop that runs out of
// time becomes a kill, and so does a Stop(false) during a graceful one.
type stopMode int

const (
	stopGraceful stopMode = iota + 1 // ask (childProc.askStop), then kill after the delay
	stopKill                         // kill the process group (job object on Windows)
)

type readyEvent struct {
	slot int
	err  error
}

// child is one worker process.
type child struct {
	cmd       *exec.Cmd
	proc      *childProc
	id        string
	pid       int
	started   time.Time
	ready     atomic.Bool
	held      atomic.Pointer[string] // ack subject of the message it executes
	heldAt    atomic.Int64           // unix nanos when it took it
	task      atomic.Pointer[string] // name of the task it executes
	done      atomic.Int64           // tasks executed
	exited    chan struct{}
	readyCh   chan struct{} // closed when it reports ready
	statusEOF chan struct{} // closed when its status pipe is read to the end
	output    *outputPipes  // its stdout and stderr, with PrefixOutput
	initErr   atomic.Pointer[string]
	planned   atomic.Bool // it announced a recycle or a timeout exit
	exitCode  int
}

// New prepares a supervisor of n children of this program's own binary,
// each given cfg (with its own ID). nc is used to hand back the task a dead
// child held; delay is how long a graceful Stop waits before SIGKILL.
func New(n int, cfg spawn.ChildConfig, nc *nats.Conn, log *slog.Logger, delay time.Duration) (*Supervisor, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("procpool: cannot find own executable to spawn workers: %w", err)
	}
	host, _ := os.Hostname()
	return &Supervisor{
		exe: exe, cfg: cfg, n: n, nc: nc, log: log, host: host, delay: delay,
		stopCh: make(chan struct{}),
		procs:  map[int]*child{},
		ready:  make(chan readyEvent, n),
	}, nil
}

// Start launches one goroutine per slot and waits until every slot's
// first process is ready, one fails, or ctx ends.
func (s *Supervisor) Start(ctx context.Context) error {
	for slot := range s.n {
		s.wg.Go(func() { s.run(slot) })
	}
	for range s.n {
		select {
		case ev := <-s.ready:
			if ev.err != nil {
				return ev.err
			}
		case <-ctx.Done():
			return fmt.Errorf("procpool: waiting for %d worker processes: %w", s.n, ctx.Err())
		}
	}
	return nil
}

// run keeps one slot filled until the supervisor stops. A child that
// dies young is restarted after a back-off that doubles up to 5s.
func (s *Supervisor) run(slot int) {
	backoff := time.Duration(0)
	first := true
	for !s.stopping.Load() {
		if backoff > 0 {
			select {
			case <-time.After(backoff):
			case <-s.stopCh:
				return
			}
		}
		c, err := s.spawn(slot)
		if err != nil {
			s.log.Error("spawning worker", "err", err)
			if first {
				s.ready <- readyEvent{slot, err}
				first = false
			}
			backoff = min(max(backoff*2, 100*time.Millisecond), 5*time.Second)
			continue
		}
		s.wait(c, slot, &first)
		if s.stopping.Load() {
			return
		}
		lived := time.Since(c.started)
		switch {
		case c.planned.Load() || lived > 10*time.Second:
			backoff = 0
		case c.initErr.Load() != nil:
			backoff = min(max(backoff*2, time.Second), 5*time.Second)
		default:
			backoff = min(max(backoff*2, 50*time.Millisecond), 5*time.Second)
		}
	}
}

func (s *Supervisor) spawn(slot int) (*child, error) {
	var stdout, stderr io.Writer = os.Stdout, os.Stderr // a child's prints show where the parent's do, as in Python
	var output *outputPipes
	if s.out != nil {
		var err error
		if output, err = newOutputPipes(); err != nil {
			return nil, err
		}
		defer output.closeWrite()
		stdout, stderr = output.w[0], output.w[1]
	}
	id := func(pid int) string { return s.host + "-" + strconv.Itoa(pid) }
	cp, cfg, err := startChild(s.exe, s.cfg, stdout, stderr, id)
	if err != nil {
		if output != nil {
			output.closeAll()
		}
		return nil, err
	}
	s.starts.Add(1)
	cmd := cp.cmd
	c := &child{cmd: cmd, proc: cp, pid: cmd.Process.Pid, started: time.Now(), exited: make(chan struct{}), readyCh: make(chan struct{}), statusEOF: make(chan struct{})}
	c.id = cfg.ID
	if output != nil {
		c.output = output
		output.start(s.out, "[w "+c.id+"] ")
	}
	s.register(slot, c)
	go s.readStatus(c, cp.statusR)
	return c, nil
}

// register records a freshly started child in its slot. A stop may have
// begun while it was being started: then it is ended at once, the way the
// stop ends the others. Stop sets stopping and snapshots procs under the
// same lock, so every child is either in that snapshot or sees the stop
// here; none is left running for run to wait on forever.
func (s *Supervisor) register(slot int, c *child) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.procs[slot] = c
	if s.stopping.Load() {
		s.end(c, s.stopMode)
	}
}

// end signals one child according to mode.
func (s *Supervisor) end(c *child, mode stopMode) {
	if mode == stopKill {
		c.proc.kill()
		return
	}
	c.proc.askStop()
}

// readStatus follows a child's status pipe until the child closes it.
func (s *Supervisor) readStatus(c *child, r *os.File) {
	defer close(c.statusEOF)
	defer r.Close()
	sc := spawn.NewStatusScanner(r)
	for sc.Scan() {
		kind, arg := spawn.ParseStatus(sc.Text())
		switch kind {
		case spawn.StatusReady:
			if !c.ready.Swap(true) {
				close(c.readyCh)
			}
		case spawn.StatusTake:
			ack, name, _ := strings.Cut(arg, " ")
			c.heldAt.Store(time.Now().UnixNano())
			c.task.Store(&name)
			c.held.Store(&ack)
		case spawn.StatusDone:
			c.held.Store(nil)
			if n, err := strconv.ParseInt(arg, 10, 64); err == nil {
				c.done.Store(n)
			}
		case spawn.StatusInitError:
			c.initErr.Store(&arg)
		case spawn.StatusRecycle, spawn.StatusTimeout:
			c.planned.Store(true)
		}
	}
}

// wait reaps a child, reports its first readiness, and hands back the task
// it held when it died so that another worker takes it now rather than
// after the ack wait.
func (s *Supervisor) wait(c *child, slot int, first *bool) {
	waitErr := make(chan error, 1)
	go func() {
		err := c.cmd.Wait()
		c.proc.release()
		waitErr <- err
	}()
	var err error
	reported := !*first
	readyCh := c.readyCh
loop:
	for {
		select {
		case err = <-waitErr:
			break loop
		case <-readyCh:
			readyCh = nil
			if !reported {
				reported, *first = true, false
				s.ready <- readyEvent{slot: slot}
			}
		}
	}
	// Read what the child wrote before it died: whether it was ready, and
	// which task it held. (Bounded: a grandchild could keep the pipe open.)
	select {
	case <-c.statusEOF:
	case <-time.After(2 * time.Second):
	}
	if c.output != nil {
		c.output.wait(2 * time.Second) // its last lines, before it is reported gone
	}
	if !reported && c.ready.Load() {
		reported, *first = true, false
		s.ready <- readyEvent{slot: slot}
	}
	close(c.exited)
	c.exitCode = exitCode(c.cmd.ProcessState)
	if held := c.held.Load(); held != nil {
		// The child died mid-task: give the task back now.
		_ = s.nc.Publish(*held, []byte(wire.AckNak))
		c.held.Store(nil)
	}
	if !reported {
		*first = false
		msg := fmt.Sprintf("procpool: worker process %d exited (%s) before it was ready", c.pid, describeExit(c.cmd.ProcessState, err))
		if ie := c.initErr.Load(); ie != nil {
			msg = fmt.Sprintf("procpool: worker initializer failed in process %d: %s", c.pid, *ie)
		} else if c.exitCode == 0 || c.exitCode == 2 {
			msg += "; does main call worker.Main() first?"
		}
		s.ready <- readyEvent{slot: slot, err: errors.New(msg)}
	}
	if !s.stopping.Load() && !c.planned.Load() {
		s.deaths.Add(1)
		s.log.Warn("worker process exited; replacing it", "pid", c.pid, "exit", describeExit(c.cmd.ProcessState, err))
	}
	s.mu.Lock()
	if s.procs[slot] == c {
		delete(s.procs, slot)
	}
	s.mu.Unlock()
}

// Stop ends every child: gracefully (SIGTERM, or the stop line on
// Windows, then a kill after the stop delay) or at once (a kill), and
// waits for all of them, children that were being started when it was
// called included. A Stop(false) while a graceful Stop is under way turns
// it into a kill. Stop is idempotent.
func (s *Supervisor) Stop(graceful bool) {
	mode := stopKill
	if graceful {
		mode = stopGraceful
	}
	s.mu.Lock()
	first := !s.stopping.Load()
	if first {
		s.stopping.Store(true)
		s.stopMode = mode
		close(s.stopCh)
	}
	s.mu.Unlock()
	if !first {
		if !graceful {
			s.killAll()
		}
		s.wg.Wait()
		return
	}
	if !graceful {
		s.killAll()
		s.wg.Wait()
		return
	}
	s.signalAll(stopGraceful)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	timer := time.NewTimer(s.delay)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		s.killAll()
		<-done
	}
}

// killAll switches the stop to killing and kills every child known now;
// any child registered later is killed by register.
func (s *Supervisor) killAll() {
	s.mu.Lock()
	s.stopMode = stopKill
	s.mu.Unlock()
	s.signalAll(stopKill)
}

// signalAll ends every registered child with mode. It signals under the
// lock, so no child registers between the snapshot and the signal.
func (s *Supervisor) signalAll(mode stopMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.procs {
		s.end(c, mode)
	}
}

// Child describes one live, ready child process.
type Child struct {
	ID        string
	PID       int
	Started   time.Time
	TasksDone int64
	Busy      bool      // executing a task
	Task      string    // its name, when busy
	BusySince time.Time // when it took it
}

// Children lists the live, ready children.
func (s *Supervisor) Children() []Child {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Child, 0, len(s.procs))
	for _, c := range s.procs {
		if !c.ready.Load() {
			continue
		}
		ch := Child{ID: c.id, PID: c.pid, Started: c.started, TasksDone: c.done.Load()}
		if c.held.Load() != nil {
			ch.Busy = true
			if name := c.task.Load(); name != nil {
				ch.Task, ch.BusySince = *name, time.Unix(0, c.heldAt.Load())
			}
		}
		out = append(out, ch)
	}
	return out
}

// Host is the host name children run on.
func (s *Supervisor) Host() string { return s.host }

// Started counts the children started so far, replacements included.
func (s *Supervisor) Started() int64 { return s.starts.Load() }

// Lost counts the children that exited without being asked to.
func (s *Supervisor) Lost() int64 { return s.deaths.Load() }
