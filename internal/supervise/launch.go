package supervise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/procpool/procpool/internal/spawn"
)

// Launched is one worker child started by [Launch], outside a Supervisor: for
// a program (or a test) that chooses each child's broker URL and
// credentials itself and watches it alone. It is started exactly as a
// Supervisor starts its children (startChild): same environment, process
// group, death with the parent, stdin control channel and status pipe.
type Launched struct {
	cp     *childProc
	cfg    spawn.ChildConfig
	ready  chan struct{}
	exited chan struct{}

	mu      sync.Mutex
	exitErr error
}

// Launch starts exe as a worker child with cfg (sent over its stdin) and
// its stdout and stderr going to the writers given. It returns at once;
// use [Launched.Ready] to wait until the child is serving.
func Launch(exe string, cfg spawn.ChildConfig, stdout, stderr io.Writer) (*Launched, error) {
	if exe == "" {
		return nil, errors.New("supervise: Launch: no executable")
	}
	cp, cfg, err := startChild(exe, cfg, stdout, stderr, nil)
	if err != nil {
		return nil, err
	}
	c := &Launched{cp: cp, cfg: cfg, ready: make(chan struct{}), exited: make(chan struct{})}
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		defer cp.statusR.Close()
		var once sync.Once
		sc := spawn.NewStatusScanner(cp.statusR)
		for sc.Scan() {
			if kind, _ := spawn.ParseStatus(sc.Text()); kind == spawn.StatusReady {
				once.Do(func() { close(c.ready) })
			}
		}
	}()
	go func() {
		err := cp.cmd.Wait()
		<-statusDone
		c.mu.Lock()
		c.exitErr = err
		c.mu.Unlock()
		cp.release()
		close(c.exited)
	}()
	return c, nil
}

// Pid is the child's process id.
func (c *Launched) Pid() int { return c.cp.cmd.Process.Pid }

// ID is the worker id the child was given.
func (c *Launched) ID() string { return c.cfg.ID }

// Ready waits until the child reports it is serving, or until it exits or
// ctx ends.
func (c *Launched) Ready(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-c.exited:
		return fmt.Errorf("supervise: worker child %d exited before it was ready: %v", c.Pid(), c.Err())
	case <-ctx.Done():
		return fmt.Errorf("supervise: worker child %d not ready: %w", c.Pid(), ctx.Err())
	}
}

// Exited is closed once the child has been reaped.
func (c *Launched) Exited() <-chan struct{} { return c.exited }

// Err is the child's exit error once it has exited (nil for exit status 0).
func (c *Launched) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.exitErr
}

// Stop asks the child to stop gracefully, the way a Supervisor's Stop does.
func (c *Launched) Stop() { c.cp.askStop() }

// Kill ends the child and whatever it started at once, and waits until it
// is reaped.
func (c *Launched) Kill() {
	c.cp.kill()
	<-c.exited
}
