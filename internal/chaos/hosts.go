//go:build linux

package chaos

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// host is one worker host: a `procpool-worker` process supervising
// Config.Processes worker processes, in a namespace of its own when the
// run has them. Each host has its own value directory root, so that large
// values cross the brokers' bucket as they would between machines.
type host struct {
	name string // h1, h2
	argv []string
	env  []string
	p    *proc
}

// hostStopBound is how long a worker host may take to exit after SIGTERM:
// procpool-worker's documented bound (--stop-timeout 7s + 1s, see
// docs/operations.md) and a second of slack for a loaded machine.
const hostStopBound = 9 * time.Second

func (r *run) startHosts(ctx context.Context) error {
	for i := range 2 {
		h := &host{name: "h" + strconv.Itoa(i+1)}
		root := filepath.Join(r.dir, "values", h.name)
		if err := os.MkdirAll(root, 0o700); err != nil {
			return err
		}
		h.argv = []string{r.cfg.Worker, "--processes", strconv.Itoa(r.cfg.Processes), "--wait", "5m"}
		if r.net != nil {
			h.argv = r.net.wrap(h.name, h.argv)
		}
		h.env = []string{"PROCPOOL_URL=" + r.urls, "PROCPOOL_POOL=" + poolName, "PROCPOOL_TOKEN=" + r.token,
			"PROCPOOL_VALUE_ROOT=" + root, "PROCPOOL_STOP_TIMEOUT=7s"}
		r.hosts = append(r.hosts, h)
		if err := r.startHost(h); err != nil {
			return err
		}
	}
	return waitUntil(ctx, 3*time.Minute, "every worker serving", func() bool { return r.workersUp() })
}

func (r *run) startHost(h *host) error {
	p, err := r.procs.start("worker host "+h.name, filepath.Join(r.dir, h.name+".log"), h.env, h.argv...)
	if err != nil {
		return err
	}
	h.p = p
	return nil
}

// workerPIDs lists h's worker processes.
func (h *host) workerPIDs() []int {
	if h.p == nil || h.p.done() {
		return nil
	}
	return children(h.p.pid())
}

// workersUp says whether every host runs its worker processes and the
// pool sees all of them serving (by their heartbeats).
func (r *run) workersUp() bool {
	for _, h := range r.hosts {
		if len(h.workerPIDs()) != r.cfg.Processes {
			return false
		}
	}
	return len(r.observer.Workers()) == len(r.hosts)*r.cfg.Processes
}

// stopHost sends h SIGTERM and waits for it; past hostStopBound it is
// killed. It returns how long the host took and whether it kept its bound.
func (r *run) stopHost(h *host) (time.Duration, bool) {
	start := time.Now()
	_ = h.p.signal(syscall.SIGTERM)
	ok := h.p.waitExit(hostStopBound)
	took := time.Since(start)
	if !ok {
		h.p.killTree()
	}
	r.mu.Lock()
	r.maxHostStop = max(r.maxHostStop, took)
	r.mu.Unlock()
	return took, ok
}
