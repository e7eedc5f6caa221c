//go:build linux

package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/pool"
)

// run is one chaos run's state.
type run struct {
	cfg                  Config
	dir                  string
	net                  *network // nil on loopback
	procs                *procs
	token, routePassword string
	urls                 string // every node's client URL, comma-separated
	nodes                []*node
	hosts                []*host
	callers              []*callerProc
	observer             *pool.Pool // the run's own pool: creates the task stream, counts workers
	admin                *nats.Conn // stream state

	mu          sync.Mutex
	faults      []Fault
	violations  []Violation
	maxHostStop time.Duration
}

func (r *run) logf(format string, a ...any) {
	fmt.Fprintf(r.cfg.Log, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05.000")}, a...)...)
}

func (r *run) violate(rule, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.violations = append(r.violations, Violation{Rule: rule, Detail: detail})
	r.logf("VIOLATION %s: %s", rule, detail)
}

func (r *run) addFault(f Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = append(r.faults, f)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Run is one chaos run: it sets the system up, runs the workload under the
// nemesis for cfg.Duration, lets it recover, takes it down and checks the
// history. A violation is in the report, not an error: the error is for a
// run that could not be carried out (a binary missing, a cluster that
// never started).
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, procs: newProcs(), token: randomHex(16), routePassword: randomHex(16)}
	rep = &Report{Seed: cfg.Seed, Duration: cfg.Duration}
	r.dir = cfg.Dir
	if r.dir == "" {
		if r.dir, err = os.MkdirTemp("", "procpool-chaos-"); err != nil {
			return nil, err
		}
		defer func() {
			switch {
			case err != nil:
				err = fmt.Errorf("%w (logs in %s)", err, r.dir)
			case len(rep.Violations) == 0:
				os.RemoveAll(r.dir)
				rep.Dir = ""
			}
		}()
	}
	rep.Dir = r.dir
	if err := os.MkdirAll(filepath.Join(r.dir, "exec"), 0o700); err != nil {
		return nil, err
	}

	why := netnsAvailable()
	if cfg.NoNetns {
		why = "NoNetns asked for"
	}
	if why == "" {
		if r.net, err = setupNetwork([]string{"n1", "n2", "n3", "h1", "h2"}); err != nil {
			why, r.net = err.Error(), nil
		}
	}
	if why != "" {
		rep.Skipped = append(rep.Skipped, "network namespaces ("+why+"): everything on loopback, no node or worker host partitions")
	}
	rep.Netns = r.net != nil
	defer r.teardown()
	if cfg.Lossy {
		if r.net == nil {
			return nil, fmt.Errorf("chaos: Lossy needs network namespaces: %s", why)
		}
		if lossWhy := r.net.lossyAvailable("h1"); lossWhy != "" {
			return nil, fmt.Errorf("chaos: Lossy: %s", lossWhy)
		}
		rep.Lossy = true
	}

	snapCtx, stopSnap := context.WithCancel(ctx)
	defer stopSnap()
	go func() { // every process the run makes is remembered, to find any left behind
		for snapCtx.Err() == nil {
			r.procs.snapshot()
			pause(snapCtx, time.Second)
		}
	}()

	r.logf("starting 3 broker nodes (netns: %v) in %s", rep.Netns, r.dir)
	if err := r.startCluster(ctx); err != nil {
		return nil, err
	}
	if r.admin, err = nats.Connect(r.urls, nats.Token(r.token), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond)); err != nil {
		return nil, fmt.Errorf("chaos: admin connection: %w", err)
	}
	startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	r.observer, err = pool.New(startCtx, pool.WithBroker(r.urls), pool.WithToken(r.token), pool.WithName(poolName),
		pool.WithProcesses(0), pool.WithFileStore(""), pool.WithMaxAttempts(MaxAttempts))
	cancel()
	if err != nil {
		return nil, fmt.Errorf("chaos: the run's pool: %w", err)
	}
	r.logf("starting 2 worker hosts of %d worker processes", cfg.Processes)
	if err := r.startHosts(ctx); err != nil {
		return nil, err
	}
	r.logf("starting %d callers; the nemesis runs for %s (seed %d)", cfg.Callers, cfg.Duration, cfg.Seed)
	if err := r.startCallers(); err != nil {
		return nil, err
	}
	pause(ctx, 3*time.Second)
	r.nemesis(ctx, cfg.Duration)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	calm := time.Now()
	r.logf("nemesis stopped; callers finish")
	r.stopCallers()

	// Recovery: every node answering, every worker back, the task stream's
	// replicas current and nothing pending.
	r.logf("callers finished %s after the nemesis stopped", time.Since(calm).Round(time.Millisecond))
	calm = time.Now()
	lastSaid := time.Now()
	err = waitUntil(ctx, cfg.RecoveryBound, "recovery", func() bool {
		why := r.notRecovered(ctx)
		if why != "" && time.Since(lastSaid) > 10*time.Second {
			r.logf("not recovered yet: %s", why)
			lastSaid = time.Now()
		}
		return why == ""
	})
	rep.Recovery = time.Since(calm)
	if err != nil {
		r.violate("recovery", fmt.Sprintf("not recovered %s after the nemesis stopped and the callers finished: %s", cfg.RecoveryBound, r.notRecovered(ctx)))
	} else {
		r.logf("recovered %s after the callers finished", rep.Recovery.Round(time.Millisecond))
	}
	r.drainQueue(ctx)

	r.shutdown()
	for _, p := range r.procs.leftBehind(15 * time.Second) {
		r.violate("no-process-left", p+" still runs after the run stopped everything")
	}
	stopSnap()

	h, err := readHistory(r.dir, r.faults)
	if err != nil {
		return nil, err
	}
	check(h, rep)
	rep.Violations = append(r.violations, rep.Violations...)
	rep.Faults = len(r.faults)
	rep.FaultsByKind = map[string]int{}
	for _, f := range r.faults {
		rep.FaultsByKind[f.Kind]++
	}
	rep.MaxHostStop = r.maxHostStop
	sort.SliceStable(rep.Violations, func(i, j int) bool { return rep.Violations[i].Rule < rep.Violations[j].Rule })
	return rep, nil
}

// notRecovered says what is not back yet ("" once every node answers,
// every worker serves, and the task stream's replicas are current with
// nothing pending).
func (r *run) notRecovered(ctx context.Context) string {
	for _, n := range r.nodes {
		if !r.jetStreamOK(n) {
			return n.name + " does not answer JetStream requests"
		}
	}
	st, err := r.streamState(ctx)
	switch {
	case err != nil:
		return "task stream: " + err.Error()
	case !st.current:
		return "task stream replicas not current"
	case st.pending > 0:
		var busy []string
		for _, w := range r.observer.Workers() {
			if w.Busy {
				busy = append(busy, fmt.Sprintf("%s busy with %s since %s", w.ID, w.Task, w.BusySince.Format("15:04:05.000")))
			}
		}
		return fmt.Sprintf("task stream: %s; busy workers: %v", st.detail, busy)
	}
	if !r.workersUp() {
		var per []string
		for _, h := range r.hosts {
			per = append(per, fmt.Sprintf("%s %d processes", h.name, len(h.workerPIDs())))
		}
		return fmt.Sprintf("workers: %s, %d serving", strings.Join(per, ", "), len(r.observer.Workers()))
	}
	return ""
}

// drainQueue gets what the callers left in the shared queue, recorded as
// the gets of a caller "final". An empty Get does not end it while the
// queue's stream still holds messages: those a SIGKILLed caller (or one
// whose Nak a partition lost) had taken come back only after the
// queue's ack wait (30 s), and stopping at the first empty Get reported
// them as lost (queue-no-loss, seed 18: two items of one packed message).
func (r *run) drainQueue(ctx context.Context) {
	rec, err := newRecorder(filepath.Join(r.dir, "caller-final.jsonl"), "final")
	if err != nil {
		r.violate("run", err.Error())
		return
	}
	defer rec.close()
	qctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	q, err := pool.NewQueue[string](qctx, r.observer.Conn(), queueName, pool.WithFileStorage(), pool.WithQueueReplicas(3))
	if err != nil {
		r.violate("recovery", "cannot open the queue after the run: "+err.Error())
		return
	}
	defer q.Close()
	if err := drainItems(qctx, q, 3*time.Second, func(v string) { rec.add(Event{Ev: evQGot, Key: v}) }); err != nil {
		r.violate("recovery", "queue after the run: "+err.Error())
	}
}

// drainItems gets q's items, handing each to got, until a Get waits empty
// for emptyWait and q's stream holds nothing. Items that q still holds
// but no Get returns (taken by a getter that is gone, back after the
// queue's ack wait) keep it going until ctx ends, which is an error.
func drainItems(ctx context.Context, q *pool.Queue[string], emptyWait time.Duration, got func(string)) error {
	for {
		v, err := q.GetTimeout(ctx, emptyWait)
		if err == nil {
			got(v)
			continue
		}
		if !errors.Is(err, pool.ErrQueueEmpty) {
			return fmt.Errorf("get: %w", err)
		}
		n, err := q.Len(ctx)
		switch {
		case err != nil:
			return fmt.Errorf("length: %w", err)
		case n == 0:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("it still holds %d items nobody can get: %w", n, ctx.Err())
		}
	}
}

// shutdown stops everything the way an operator would: the run's pool,
// the worker hosts (SIGTERM, within their bound) and the brokers.
func (r *run) shutdown() {
	if r.observer != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = r.observer.Shutdown(sctx)
		cancel()
		r.observer = nil
	}
	for _, h := range r.hosts {
		if h.p.done() {
			continue
		}
		if took, ok := r.stopHost(h); !ok {
			r.violate("stop-bound", fmt.Sprintf("worker host %s still running %s after SIGTERM at the end, killed", h.name, took.Round(time.Millisecond)))
		}
	}
	if r.admin != nil {
		r.admin.Close()
	}
	for _, n := range r.nodes {
		_ = n.p.signal(syscall.SIGTERM)
	}
	for _, n := range r.nodes {
		if !n.p.waitExit(30 * time.Second) {
			n.p.killTree()
		}
	}
}

// teardown kills whatever still runs (after an error) and removes the
// namespaces.
func (r *run) teardown() {
	if r.observer != nil {
		_ = r.observer.Terminate()
	}
	if r.admin != nil {
		r.admin.Close()
	}
	r.procs.mu.Lock()
	live := append([]*proc(nil), r.procs.live...)
	r.procs.mu.Unlock()
	for _, p := range live {
		if !p.done() {
			p.killTree()
		}
	}
	if r.net != nil {
		if err := r.net.teardown(); err != nil {
			r.logf("removing the namespaces: %v", err)
		}
	}
}
