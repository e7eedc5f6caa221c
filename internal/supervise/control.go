package supervise

import (
	"encoding/json"
	"os"
	"sync"

	"github.com/procpool/procpool/internal/spawn"
)

// control is the parent's end of a child's stdin (spawn.StopLine): the
// configuration, then at most a stop line. The parent holds it open for the
// child's whole life, so that the child sees end of file only when the
// parent is gone; it closes it once the child is reaped. No other process
// holds it: os.Pipe opens it close-on-exec on Unix, and startChild makes it
// non-inheritable on Windows.
type control struct {
	w        *os.File
	stop     chan struct{} // closed to ask for a graceful stop
	quit     chan struct{} // closed when the child is reaped
	stopOnce sync.Once
	quitOnce sync.Once
}

// newControl writes cfg to w in the background (the child may die before
// it reads), then the stop line if asked.
func newControl(w *os.File, cfg spawn.ChildConfig) *control {
	c := &control{w: w, stop: make(chan struct{}), quit: make(chan struct{})}
	go c.run(cfg)
	return c
}

func (c *control) run(cfg spawn.ChildConfig) {
	if err := json.NewEncoder(c.w).Encode(cfg); err != nil {
		return // the child is gone, or close came first
	}
	select {
	case <-c.stop:
		_, _ = c.w.Write([]byte(spawn.StopLine + "\n"))
	case <-c.quit:
	}
}

// askStop has the stop line written, after the configuration.
func (c *control) askStop() { c.stopOnce.Do(func() { close(c.stop) }) }

// close ends the writer and closes the parent's end.
func (c *control) close() {
	c.quitOnce.Do(func() {
		close(c.quit)
		_ = c.w.Close()
	})
}
