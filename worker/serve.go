package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/spawn"
	"github.com/procpool/procpool/internal/wire"
)

// errInit wraps the initializer's error.
var errInit = errors.New("worker: initializer failed")

// executor is one serving worker: one connection, one task at a time.
type executor struct {
	cfg     Config
	nc      *nats.Conn
	js      jetstream.JetStream
	subj    wire.Subjects
	log     *slog.Logger
	host    string
	pid     int
	started time.Time
	maxPay  int

	done   atomic.Int64 // tasks executed
	failed atomic.Int64 // tasks that returned an error
	stop   atomic.Bool  // draining: take no more work

	mu      sync.Mutex
	current *job // the message being executed, for progress heartbeats

	cancelled cancelSet
	statusMu  sync.Mutex

	// The executor's reusable buffers (exec.go, results.go), and the result header.
	resBuf, itemBuf []byte
	resultHdr       []byte
	tm              wire.TaskMsg // the message being executed, decoded in place
	flushSize       atomic.Int64 // size of the last result message, to size the next buffer
	out             outBufs      // result message buffers, recycled after their receipts

	confirms *confirmer // results awaiting the caller's receipt (confirm.go)

	vals   *blob.Values // stored arguments and results (values.go)
	recs   records      // the bucket of give-back records (givenback.go)
	inline int          // the largest result carried inside a message

	obs *observe // self-measurements and the operator's drain request (micro.go)
}

// Serve runs a worker: it takes the pool's tasks one message at a time,
// runs them with the registry's functions and sends each result to its
// caller's inbox, until ctx ends (it then finishes the message in hand,
// whose tasks' contexts the stop does not cancel),
// MaxTasksPerChild tasks are done, or the connection closes for good.
// It returns nil on a normal stop.
func Serve(ctx context.Context, cfg Config) error {
	if err := cfg.setDefaults(); err != nil {
		return err
	}
	host, _ := os.Hostname()
	rt := &executor{cfg: cfg, subj: wire.Subjects{Pool: cfg.Pool}, host: host, pid: os.Getpid(), started: time.Now(), obs: newObserve()}
	if rt.cfg.ID == "" {
		rt.cfg.ID = fmt.Sprintf("%s-%d", host, rt.pid)
	}
	rt.log = cfg.Logger
	if rt.log == nil {
		rt.log = slog.Default()
	}
	rt.log = rt.log.With("worker", rt.cfg.ID, "pid", rt.pid)
	rt.resultHdr = wire.ResultHeaderPrefix(rt.cfg.ID, rt.pid, host)

	closed := make(chan struct{})
	nc := cfg.Conn
	if nc == nil {
		opts := []nats.Option{
			nats.Name("procpool-worker " + rt.cfg.ID),
			nats.MaxReconnects(rt.maxReconnects()),
			nats.ReconnectWait(250 * time.Millisecond),
			nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
		}
		opts = append(opts, cfg.connectOptions()...)
		if prefix := wire.InboxPrefix(cfg.User, cfg.URL); prefix != "" {
			// A user's inboxes are its own: see broker.WorkerPermissions.
			opts = append(opts, nats.CustomInboxPrefix(prefix))
		}
		var err error
		nc, err = nats.Connect(cfg.URL, opts...)
		if err != nil {
			return fmt.Errorf("worker: connect: %w", err)
		}
		defer nc.Close()
	}
	rt.nc = nc
	rt.maxPay = int(nc.MaxPayload())
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("worker: jetstream: %w", err)
	}
	rt.js = js
	rt.vals = blob.NewValues(js, blob.Bucket(cfg.Pool), blob.ObjectsConfig{Replicas: wire.DefaultReplicas(nc)})
	defer rt.vals.Close()
	rt.inline = wire.InlineLimit(rt.maxPay)
	setupCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = wire.LookupOrEnsure(setupCtx, js, rt.subj)
	cancel()
	if err != nil {
		return fmt.Errorf("worker: task stream of pool %s: %w", cfg.Pool, err)
	}
	if cfg.Init != nil {
		if err := runInit(ctx, cfg.Init); err != nil {
			rt.status(spawn.StatusInitError, err.Error())
			return fmt.Errorf("%w: %w", errInit, err)
		}
	}
	cancelSub, err := nc.Subscribe(rt.subj.Cancel(), func(m *nats.Msg) {
		if key := string(m.Data); wire.ValidCancelKey(key) {
			rt.cancelled.add(key)
		}
	})
	if err != nil {
		return fmt.Errorf("worker: subscribe: %w", err)
	}
	defer cancelSub.Unsubscribe()
	if rt.confirms, err = newConfirmer(rt); err != nil {
		return fmt.Errorf("worker: subscribe: %w", err)
	}
	defer func() { rt.confirms.close(ctx, rt.receiptWait(ctx)) }()
	// Discovery and control: nats micro ls|info|stats procpool.
	svc, err := rt.addService()
	if err != nil {
		return err
	}
	defer svc.Stop()

	// Every goroutine Serve starts is waited for before it returns.
	var wg sync.WaitGroup
	bgCtx, stopBg := context.WithCancel(context.Background())
	defer func() { stopBg(); wg.Wait() }()
	wg.Go(func() { rt.beatLoop(bgCtx) })

	rt.status(spawn.StatusReady, rt.cfg.ID)
	rt.log.Debug("worker ready", "pool", cfg.Pool)
	return rt.pullLoop(ctx, closed)
}

func runInit(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn(ctx)
}

// pullLoop asks JetStream for one message at a time, and only when idle:
// a worker never holds a task it is not running, so a task never waits
// behind another while some worker is idle, and a worker's death strands
// at most the one message it was executing.
func (rt *executor) pullLoop(ctx context.Context, closed <-chan struct{}) error {
	inbox := rt.nc.NewInbox()
	msgs := make(chan *nats.Msg, 64)
	sub, err := rt.nc.ChanSubscribe(inbox, msgs)
	if err != nil {
		return fmt.Errorf("worker: subscribe: %w", err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	defer sub.Unsubscribe()

	const expires = 5 * time.Second
	req, _ := json.Marshal(map[string]any{"batch": 1, "expires": expires.Nanoseconds()})
	outstanding := false
	lastPull := time.Time{}
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	draining := false
	var drained chan struct{}
	drainReq := rt.obs.drainCh // an operator's drain (micro.go): like ctx ending
	for {
		if !draining && rt.obs.draining() {
			rt.status(spawn.StatusRecycle, "drain") // a planned exit, for the supervisor
			draining, drained, drainReq = true, rt.drain(sub), nil
			rt.publishBeat(nil, time.Second) // and for watchers (the dashboard): it says Stopping
		}
		if !outstanding && !draining {
			if err := rt.nc.PublishRequest(rt.subj.PullNext(), inbox, req); err != nil && rt.nc.IsClosed() {
				return errors.New("worker: connection closed")
			}
			outstanding, lastPull = true, time.Now()
			retry.Reset(expires + time.Second)
		}
		select {
		case m := <-msgs:
			if code := m.Header.Get("Status"); code != "" || len(m.Data) == 0 && m.Reply == "" {
				switch code {
				case "100": // idle heartbeat
				default: // 404, 408 request expired, 409 leader change etc.: ask again
					outstanding = false
					if code == "409" && !draining {
						// e.g. consumer deleted or too many waiting pulls; don't spin.
						time.Sleep(100 * time.Millisecond)
					}
				}
				continue
			}
			outstanding = false
			// The message in hand is finished, not cancelled, when the
			// worker is asked to stop: the stop only ends the taking of
			// more (the supervisor's stop timeout bounds how long).
			rt.handle(context.WithoutCancel(ctx), m)
			if rt.recycleDue() && !draining {
				rt.status(spawn.StatusRecycle, fmt.Sprint(rt.done.Load()))
				draining, drained = true, rt.drain(sub)
			}
		case <-retry.C:
			// A pull whose expiry status never came (e.g. lost in a reconnect).
			if time.Since(lastPull) >= expires {
				outstanding = false
			}
		case <-ctx.Done():
			if !draining {
				draining, drained = true, rt.drain(sub)
			}
		case <-drainReq:
			drainReq = nil // handled at the top of the loop
		case <-drained:
			// Interest is gone and everything sent before that is in msgs.
			for {
				select {
				case m := <-msgs:
					if m.Header.Get("Status") == "" && m.Reply != "" {
						rt.handle(context.WithoutCancel(ctx), m)
					}
				default:
					return nil
				}
			}
		case <-closed:
			return errors.New("worker: connection closed")
		}
	}
}

// drain withdraws the pull inbox's interest; the returned channel closes
// once the server has processed that, so no message can still be on its way.
func (rt *executor) drain(sub *nats.Subscription) chan struct{} {
	rt.stop.Store(true)
	done := make(chan struct{})
	_ = sub.Unsubscribe()
	go func() {
		defer close(done)
		_ = rt.nc.FlushTimeout(2 * time.Second)
	}()
	return done
}

// receiptWait is how long a stopping worker waits for its callers' receipts
// before it NAKs the task messages they settle, to run again elsewhere. A
// worker recycled after MaxTasksPerChild is healthy and nobody is waiting
// for it to go: it waits out a slow caller (a loaded machine) rather than
// have the work done twice. One asked to stop waits stopReceiptWait.
func (rt *executor) receiptWait(ctx context.Context) time.Duration {
	if rt.recycleDue() && ctx.Err() == nil {
		return 30 * time.Second
	}
	return stopReceiptWait
}

// maxReconnects is unlimited, except for a child of a pool with an embedded
// broker: that broker dies with the pool, so after ~5s the worker exits.
func (rt *executor) maxReconnects() int {
	if rt.cfg.exitOnDisconnect {
		return 20
	}
	return -1
}

// status writes a line to the supervisor's status pipe, if there is one.
func (rt *executor) status(kind, arg string) {
	if rt.cfg.status == nil {
		return
	}
	rt.statusMu.Lock()
	defer rt.statusMu.Unlock()
	_, _ = rt.cfg.status.Write(spawn.StatusLine(kind, arg))
}

// beatLoop sends progress for the message in hand (so JetStream does not
// redeliver a long task while its worker lives) and the worker's heartbeat.
func (rt *executor) beatLoop(ctx context.Context) {
	interval := max(rt.cfg.AckWait/5, 50*time.Millisecond)
	beatEvery := time.Second
	t := time.NewTicker(min(interval, beatEvery))
	defer t.Stop()
	lastBeat := time.Time{}
	for {
		rt.mu.Lock()
		j := rt.current
		rt.mu.Unlock()
		if j != nil && time.Since(j.start) >= interval/2 {
			_ = rt.nc.Publish(j.msg.Reply, []byte(wire.AckProgress))
		}
		rt.confirms.sweep()
		if time.Since(lastBeat) >= beatEvery {
			lastBeat = time.Now()
			rt.publishBeat(j, beatEvery)
		}
		if orphaned(rt.cfg.ppid) { // orphan_*.go
			rt.log.Warn("supervisor gone; exiting")
			os.Exit(1)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (rt *executor) publishBeat(j *job, every time.Duration) {
	b := rt.beat() // micro.go
	b.Interval = every
	if j != nil {
		b.Busy, b.Task, b.TaskSince = true, j.name, j.start
	}
	data, _ := json.Marshal(b)
	_ = rt.nc.Publish(rt.subj.Heartbeat(), data)
}

// cancelSet remembers calls their callers gave up on, for a while.
type cancelSet struct {
	mu sync.Mutex
	m  map[string]time.Time
}

// maxCancelled bounds the cancel set: with wire.MaxCancelKey, at most
// ~2.5 MB however many notices come.
const maxCancelled = 10000

// add remembers a cancelled call for 10 minutes. Full, it forgets the
// expired entries and, if that is not enough, half of the rest at random:
// a flood of notices costs bounded memory and amortised constant time,
// and at worst a forgotten call's queued task runs (its result is
// dropped by its caller).
func (c *cancelSet) add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]time.Time{}
	}
	now := time.Now()
	if len(c.m) >= maxCancelled {
		for k, t := range c.m {
			if now.Sub(t) > 10*time.Minute {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) <= maxCancelled/2 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = now
}

func (c *cancelSet) has(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[key]
	return ok
}
