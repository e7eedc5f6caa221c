package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/dashboard"
	"github.com/procpool/procpool/internal/spawn"
	"github.com/procpool/procpool/internal/supervise"
	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/metrics"
	"github.com/procpool/procpool/worker"
)

// Pool is a pool of worker processes fed through NATS. Create one with New;
// it is safe for concurrent use. Close it when done.
type Pool struct {
	o      options
	log    *slog.Logger
	subj   wire.Subjects
	broker *broker.Server // nil with WithBroker
	nc     *nats.Conn
	url    string
	d      *dispatcher
	sup    *supervise.Supervisor // nil with WithProcesses(0)
	beats  *beatTable

	metrics *metrics.Server   // WithMetrics; nil without (metrics.go)
	calls   *callReporter     // reports calls in flight (calls.go)
	dash    *dashboard.Server // WithDashboard; nil without (dashboard.go)

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// New starts a pool: an embedded broker (unless WithBroker), the pool's task
// stream, and one worker process per CPU (see WithProcesses), each a
// re-execution of this program's binary, which must call worker.Main()
// first thing in main. New returns once every worker is ready. With
// WithBroker, New waits up to the start timeout for a server to accept the
// connection and for a JetStream cluster to be ready for the task stream.
func New(ctx context.Context, opts ...Option) (*Pool, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil context", ErrInvalidArgument)
	}
	if worker.IsWorkerProcess() {
		return nil, errors.New("pool: New called in a worker process: call worker.Main() as the first line of main")
	}
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil Option", ErrInvalidOption)
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.brokerURL == "" && (o.tlsCA != "" || o.tlsCert != "") {
		return nil, invalid("WithTLS without WithBroker: the embedded broker is reached in-process")
	}
	if o.brokerURL != "" && o.storeDir != "" {
		return nil, invalid("WithFileStore(%q) with WithBroker: the store belongs to the external broker", o.storeDir)
	}
	p := &Pool{o: o, subj: wire.Subjects{Pool: o.name}, log: o.logger}
	if p.log == nil {
		p.log = slog.Default()
	}
	if err := p.start(ctx); err != nil {
		p.shutdown(false)
		return nil, err
	}
	return p, nil
}

func (p *Pool) start(ctx context.Context) error {
	child := spawn.ChildConfig{Pool: p.o.name, MaxTasksPerChild: p.o.maxTasksPerChild, AckWait: p.o.ackWait,
		GOMAXPROCS: spawn.ChildGOMAXPROCS(p.o.workerGOMAXPROCS)}
	child.LogLevel, child.LogFormat = p.workerLog() // logging.go
	var err error
	if p.o.brokerURL == "" {
		p.broker, err = broker.Start(ctx, broker.Config{StoreDir: p.o.storeDir, Logger: p.o.logger})
		if err != nil {
			return err
		}
		p.url = p.broker.ClientURL()
		child.URL, child.User, child.Password = p.url, p.broker.User(), p.broker.Password()
		child.ExitOnDisconnect = true
		p.nc, err = p.broker.Connect(nats.Name("procpool-pool " + p.o.name))
	} else {
		p.url = wire.RedactURLs(p.o.brokerURL)
		child.URL, child.User, child.Password, child.Token = p.o.brokerURL, p.o.user, p.o.password, p.o.token
		child.TLSCA, child.TLSCert, child.TLSKey = p.o.tlsCA, p.o.tlsCert, p.o.tlsKey
		copts := []nats.Option{nats.Name("procpool-pool " + p.o.name), nats.MaxReconnects(-1),
			nats.ReconnectWait(250 * time.Millisecond), nats.ReconnectBufSize(64 << 20)}
		if p.o.user != "" {
			copts = append(copts, nats.UserInfo(p.o.user, p.o.password))
		}
		if prefix := wire.InboxPrefix(p.o.user, p.o.brokerURL); prefix != "" {
			// A user's inboxes are its own: see broker.CallerPermissions.
			copts = append(copts, nats.CustomInboxPrefix(prefix))
		}
		if p.o.token != "" {
			copts = append(copts, nats.Token(p.o.token))
		}
		if p.o.tlsCA != "" {
			copts = append(copts, nats.RootCAs(p.o.tlsCA))
		}
		if p.o.tlsCert != "" {
			copts = append(copts, nats.ClientCert(p.o.tlsCert, p.o.tlsKey))
		}
		p.nc, err = dialBroker(ctx, p.o.brokerURL, p.o.startTimeout, p.log, copts...)
	}
	if err != nil {
		return fmt.Errorf("pool: connect to broker: %w", err)
	}
	js, err := jetstream.New(p.nc)
	if err != nil {
		return err
	}
	replicas := p.o.replicas
	if replicas == 0 && p.broker == nil {
		replicas = clusterReplicas(p.nc) // R3 on a cluster of 3 or more nodes
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = ensureStream(sctx, js, p.subj, wire.StreamOptions{File: p.o.fileStore, Replicas: replicas, AckWait: p.o.ackWait, MaxBytes: p.o.maxQueuedBytes})
	cancel()
	if err != nil {
		return fmt.Errorf("pool: %w", err)
	}
	if p.beats, err = watchBeats(p.nc, p.subj); err != nil {
		return err
	}
	if p.d, err = newDispatcher(p.nc, p.subj, &p.o); err != nil {
		return err
	}
	p.setupValues(js, replicas)                    // values.go
	p.calls = startCallReporter(p.nc, p.subj, p.d) // calls.go
	if err := p.startDashboard(); err != nil {     // dashboard.go
		return err
	}
	if err := p.startMetrics(); err != nil { // metrics.go
		return err
	}
	if p.o.processes > 0 {
		p.sup, err = supervise.New(p.o.processes, child, p.nc, p.log, p.o.stopTimeout)
		if err != nil {
			return err
		}
		p.prefixOutput() // output.go
		sctx, cancel := context.WithTimeout(ctx, p.o.startTimeout)
		defer cancel()
		if err := p.sup.Start(sctx); err != nil {
			return err
		}
	}
	return nil
}

// Close stops the pool gracefully: new calls fail with ErrClosed, calls in
// flight finish, then the workers and the embedded broker stop. Like
// Python's close() and join(), it waits for in-flight work: bound that with
// WithTaskTimeout, or use Shutdown with a context. It is idempotent.
func (p *Pool) Close() error { return p.Shutdown(context.Background()) }

// Shutdown is Close bounded by ctx: if ctx ends before in-flight calls
// finish, they fail with ErrClosed and the pool stops at once.
func (p *Pool) Shutdown(ctx context.Context) error {
	p.closed.Store(true)
	err := p.d.waitIdle(ctx)
	p.closeOnce.Do(func() { p.shutdown(err == nil) })
	if err != nil {
		return fmt.Errorf("pool: shutdown: %w", err)
	}
	return p.closeErr
}

// Terminate stops the pool now: workers are killed, calls in flight fail
// with ErrClosed. It is idempotent.
func (p *Pool) Terminate() error {
	p.closed.Store(true)
	p.closeOnce.Do(func() { p.shutdown(false) })
	return p.closeErr
}

// shutdown order: stop taking calls, stop workers (so nothing more runs),
// fail what is left, stop the publisher and result router, then the
// connection and the broker.
func (p *Pool) shutdown(graceful bool) {
	p.closed.Store(true)
	if p.sup != nil {
		p.sup.Stop(graceful)
	}
	if p.d != nil {
		p.d.failAll(ErrClosed)
		p.d.close()
		p.closeValues() // values.go
	}
	if p.beats != nil {
		p.beats.stop()
	}
	if p.metrics != nil {
		_ = p.metrics.Close()
	}
	if p.dash != nil {
		_ = p.dash.Close()
	}
	if p.calls != nil {
		p.calls.close()
	}
	if p.nc != nil {
		if p.broker == nil {
			if err := p.nc.Drain(); err != nil {
				p.nc.Close()
			}
		} else {
			p.nc.Close()
		}
	}
	if p.broker != nil {
		p.broker.Shutdown()
	}
}

// Conn is the pool's NATS connection, for Queues, Pipes or plain NATS.
func (p *Pool) Conn() *nats.Conn { return p.nc }

// URL is the broker's client URL, without credentials.
func (p *Pool) URL() string { return p.url }

// Name is the pool's name (see WithName).
func (p *Pool) Name() string { return p.o.name }

// Stats are counters of a pool's life so far.
type Stats struct {
	WorkersStarted  int64 // local worker processes started, replacements included
	WorkersLost     int64 // local worker processes that exited unasked
	DuplicateResult int64 // results dropped because their task was already answered
	Pending         int   // tasks submitted and not yet answered
	// TaskMessages counts the task messages published: tasks submitted
	// close together share one, unless they are known to run long (see
	// docs/protocol.md, packing).
	TaskMessages int64
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	st := Stats{DuplicateResult: p.d.dups.Load(), TaskMessages: p.d.ctr.messages.Load()}
	if p.sup != nil {
		st.WorkersStarted, st.WorkersLost = p.sup.Started(), p.sup.Lost()
	}
	p.d.mu.Lock()
	st.Pending = len(p.d.pending)
	p.d.mu.Unlock()
	return st
}

// check validates a call's common arguments.
func check(ctx context.Context, p *Pool, name string) error {
	switch {
	case ctx == nil:
		return fmt.Errorf("%w: nil context", ErrInvalidArgument)
	case p == nil:
		return fmt.Errorf("%w: nil pool", ErrInvalidArgument)
	case name == "":
		return fmt.Errorf("%w: zero Task: get one from worker.Register or worker.Ref", ErrInvalidArgument)
	case p.closed.Load():
		return ErrClosed
	}
	return ctx.Err()
}
