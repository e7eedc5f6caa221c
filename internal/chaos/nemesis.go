//go:build linux

package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Fault kinds.
const (
	faultNodeKill      = "node-kill"      // SIGKILL a broker node, restart it after a while
	faultNodeStop      = "node-stop"      // SIGSTOP a broker node, SIGCONT it after a while
	faultNodePartition = "node-partition" // a node's link down, then up
	faultWorkerKill    = "worker-kill"    // SIGKILL one worker process (its host replaces it)
	faultHostKill      = "host-kill"      // SIGKILL a worker host and its processes, restart it
	faultHostTerm      = "host-term"      // SIGTERM a worker host (its stop bound is checked), restart it
	faultHostPartition = "host-partition" // a worker host's link down, then up
	faultNodeLossy     = "node-lossy"     // a node's link drops 10-40 % of its packets (Config.Lossy)
	faultNodeOneWay    = "node-one-way"   // a node's link drops all it receives (Config.Lossy)
	faultHostLossy     = "host-lossy"     // a worker host's link drops 10-40 % of its packets (Config.Lossy)
	faultHostOneWay    = "host-one-way"   // a worker host's link drops all it receives (Config.Lossy)
	faultCallerKill    = "caller-kill"    // SIGKILL a caller, start a new one
	faultCallerCut     = "caller-cut"     // a caller's connection cut (forced reconnect)
)

// nemesis applies faults on two tracks at once, each driven by its own
// generator seeded from the run's seed: the brokers (one node at a time,
// so at most one of three is ever down, and a third of the time the task
// stream's leader) and everything else (worker processes, worker hosts,
// callers).
func (r *run) nemesis(ctx context.Context, d time.Duration) {
	until := time.Now().Add(d)
	var wg sync.WaitGroup
	wg.Go(func() { r.brokerTrack(ctx, rand.New(rand.NewPCG(r.cfg.Seed, 1)), until) })
	wg.Go(func() { r.othersTrack(ctx, rand.New(rand.NewPCG(r.cfg.Seed, 2)), until) })
	wg.Wait()
}

// between is a random duration in [lo, hi).
func between(rnd *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rnd.Int64N(int64(hi-lo)))
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func (r *run) brokerTrack(ctx context.Context, rnd *rand.Rand, until time.Time) {
	kinds := []string{faultNodeKill, faultNodeStop}
	if r.net != nil {
		kinds = append(kinds, faultNodePartition)
	}
	if r.cfg.Lossy { // after the others: a seed's faults without Lossy are unchanged
		kinds = append(kinds, faultNodeLossy, faultNodeOneWay)
	}
	for {
		pause(ctx, between(rnd, time.Second, 5*time.Second))
		if ctx.Err() != nil || time.Now().After(until) {
			return
		}
		n := r.nodes[rnd.IntN(len(r.nodes))]
		note := ""
		if rnd.IntN(3) == 0 {
			// A leader specifically: the task stream's, or the JetStream
			// meta leader's (which places streams and answers the API).
			leader, what := "", "stream leader"
			if rnd.IntN(2) == 0 {
				if name, err := r.metaLeader(ctx); err == nil {
					leader, what = name, "meta leader"
				}
			} else if st, err := r.streamState(ctx); err == nil {
				leader = st.leader
			}
			for _, cand := range r.nodes {
				if cand.name == leader {
					n, note = cand, what
				}
			}
		}
		kind := kinds[rnd.IntN(len(kinds))]
		down := between(rnd, time.Second, 8*time.Second)
		in, out := lossOf(rnd, kind)
		if in > 0 {
			note = strings.TrimPrefix(fmt.Sprintf("%s, drops %d%% in, %d%% out", note, in, out), ", ")
		}
		f := Fault{Kind: kind, Target: n.name, Start: time.Now(), Note: note}
		r.logf("nemesis: %s %s %s for %s", kind, n.name, note, down.Round(time.Millisecond))
		switch kind {
		case faultNodeKill:
			n.p.killTree()
			pause(ctx, down)
			if err := r.startNode(n); err != nil {
				r.violate("nemesis", fmt.Sprintf("restart %s: %v", n.name, err))
			}
		case faultNodeStop:
			_ = n.p.signal(syscall.SIGSTOP)
			pause(ctx, down)
			_ = n.p.signal(syscall.SIGCONT)
		case faultNodePartition:
			_ = r.net.cut(n.name)
			pause(ctx, down)
			_ = r.net.heal(n.name)
		case faultNodeLossy, faultNodeOneWay:
			r.degraded(ctx, n.name, in, out, down)
		}
		f.End = time.Now()
		r.addFault(f)
		// The next node fault waits until this node is back in the
		// cluster: never two of three away at once.
		_ = waitUntil(ctx, time.Minute, n.name+" back", func() bool { return r.jetStreamOK(n) })
		_ = waitUntil(ctx, 30*time.Second, "task stream replicas current", func() bool {
			st, err := r.streamState(ctx)
			return err == nil && st.current
		})
	}
}

func (r *run) othersTrack(ctx context.Context, rnd *rand.Rand, until time.Time) {
	kinds := []string{faultWorkerKill, faultWorkerKill, faultHostKill, faultHostTerm, faultCallerKill, faultCallerCut, faultCallerCut}
	if r.net != nil {
		kinds = append(kinds, faultHostPartition, faultHostPartition)
	}
	if r.cfg.Lossy {
		kinds = append(kinds, faultHostLossy, faultHostOneWay)
	}
	for {
		pause(ctx, between(rnd, 500*time.Millisecond, 4*time.Second))
		if ctx.Err() != nil || time.Now().After(until) {
			return
		}
		kind := kinds[rnd.IntN(len(kinds))]
		h := r.hosts[rnd.IntN(len(r.hosts))]
		c := r.callers[rnd.IntN(len(r.callers))]
		f := Fault{Kind: kind, Start: time.Now()}
		switch kind {
		case faultWorkerKill:
			pids := h.workerPIDs()
			if len(pids) == 0 {
				continue
			}
			pid := pids[rnd.IntN(len(pids))]
			f.Target = fmt.Sprintf("%s pid %d", h.name, pid)
			r.logf("nemesis: %s %s", kind, f.Target)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		case faultHostKill:
			f.Target = h.name
			down := between(rnd, 500*time.Millisecond, 5*time.Second)
			r.logf("nemesis: %s %s for %s", kind, h.name, down.Round(time.Millisecond))
			h.p.killTree()
			pause(ctx, down)
			r.restartHost(h)
		case faultHostTerm:
			f.Target = h.name
			took, ok := r.stopHost(h)
			f.Note = fmt.Sprintf("exited %s after SIGTERM", took.Round(time.Millisecond))
			r.logf("nemesis: %s %s: %s", kind, h.name, f.Note)
			if !ok {
				r.violate("stop-bound", fmt.Sprintf("worker host %s still running %s after SIGTERM (bound %s), killed", h.name, took.Round(time.Millisecond), hostStopBound))
			}
			r.restartHost(h)
		case faultHostPartition:
			f.Target = h.name
			down := between(rnd, 2*time.Second, 10*time.Second)
			r.logf("nemesis: %s %s for %s", kind, h.name, down.Round(time.Millisecond))
			_ = r.net.cut(h.name)
			pause(ctx, down)
			_ = r.net.heal(h.name)
		case faultHostLossy, faultHostOneWay:
			f.Target = h.name
			down := between(rnd, 2*time.Second, 10*time.Second)
			in, out := lossOf(rnd, kind)
			f.Note = fmt.Sprintf("drops %d%% in, %d%% out", in, out)
			r.logf("nemesis: %s %s %s for %s", kind, h.name, f.Note, down.Round(time.Millisecond))
			r.degraded(ctx, h.name, in, out, down)
		case faultCallerKill:
			f.Target = c.id
			r.logf("nemesis: %s %s", kind, c.id)
			c.p.killTree()
			pause(ctx, between(rnd, 200*time.Millisecond, 3*time.Second))
			if err := r.startCaller(c); err != nil {
				r.violate("nemesis", fmt.Sprintf("restart caller: %v", err))
			}
		case faultCallerCut:
			f.Target = c.id
			r.logf("nemesis: %s %s", kind, c.id)
			_ = c.p.signal(syscall.SIGUSR1)
		}
		f.End = time.Now()
		r.addFault(f)
	}
}

func (r *run) restartHost(h *host) {
	if err := r.startHost(h); err != nil {
		r.violate("nemesis", fmt.Sprintf("restart %s: %v", h.name, err))
	}
}

// lossOf is the share of packets a lossy fault of kind drops on the way
// in and out (0, 0 for other kinds): the same random share both ways, or
// everything received for a one-way partition.
func lossOf(rnd *rand.Rand, kind string) (in, out int) {
	switch kind {
	case faultNodeLossy, faultHostLossy:
		pct := 10 + rnd.IntN(31)
		return pct, pct
	case faultNodeOneWay, faultHostOneWay:
		return 100, 0
	}
	return 0, 0
}

// degraded makes role's link lossy for d. A rule that cannot be set or
// removed is a violation of the run itself, as a node that cannot be
// restarted: the faults it reports would not be the faults applied.
func (r *run) degraded(ctx context.Context, role string, in, out int, d time.Duration) {
	if err := r.net.degrade(role, in, out); err != nil {
		r.violate("nemesis", fmt.Sprintf("degrade %s's link: %v", role, err))
		return
	}
	pause(ctx, d)
	if err := r.net.restore(role); err != nil {
		r.violate("nemesis", fmt.Sprintf("restore %s's link: %v", role, err))
	}
}
