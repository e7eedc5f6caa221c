//go:build linux

package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// callerProc is one caller slot: a `procpool chaos caller` process,
// restarted as a new incarnation (c<slot>.<n>) after the nemesis kills it.
type callerProc struct {
	slot, incarnation int
	id                string
	p                 *proc
}

func (r *run) startCallers() error {
	for i := range r.cfg.Callers {
		c := &callerProc{slot: i + 1}
		r.callers = append(r.callers, c)
		if err := r.startCaller(c); err != nil {
			return err
		}
	}
	return nil
}

// startCaller starts c's next incarnation.
func (r *run) startCaller(c *callerProc) error {
	c.incarnation++
	c.id = fmt.Sprintf("c%d.%d", c.slot, c.incarnation)
	root := filepath.Join(r.dir, "values", c.id)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return err
	}
	env := []string{"PROCPOOL_TOKEN=" + r.token, "PROCPOOL_VALUE_ROOT=" + root}
	p, err := r.procs.start("caller "+c.id, filepath.Join(r.dir, "caller-"+strconv.Itoa(c.slot)+".log"), env,
		r.cfg.Procpool, "chaos", "caller", "--dir", r.dir, "--id", c.id, "--urls", r.urls,
		"--seed", strconv.FormatUint(r.cfg.Seed, 10))
	if err != nil {
		return err
	}
	c.p = p
	return nil
}

// stopCallers asks every caller to finish (SIGTERM: the call in hand
// completes, the queue is flushed and closed) and waits for them; one that
// does not exit within callBound and a minute is a violation (a hang).
func (r *run) stopCallers() {
	for _, c := range r.callers {
		_ = c.p.signal(syscall.SIGTERM)
	}
	for _, c := range r.callers {
		if !c.p.waitExit(callBound + time.Minute) {
			r.violate("no-hang", fmt.Sprintf("caller %s did not finish within %s of SIGTERM", c.id, callBound+time.Minute))
			c.p.killTree()
			continue
		}
		if st := c.p.cmd.ProcessState; !st.Success() {
			r.violate("caller-exit", fmt.Sprintf("caller %s exited %v (see caller-%d.log)", c.id, st, c.slot))
		}
	}
}
