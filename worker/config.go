package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/wire"
)

// ErrInvalidConfig is wrapped by the error Serve returns for a bad Config.
var ErrInvalidConfig = errors.New("worker: invalid config")

// Config configures Serve, and Run with the processes it starts. The
// fields up to HardTimeoutGrace are the worker loop's: Run hands the
// connection's (URL, credentials, TLS), Pool, MaxTasksPerChild and
// AckWait to each process, and refuses Registry, Init, ID, GiveBackAfter
// and HardTimeoutGrace, which cannot cross into a process that is this
// binary run again. The last few fields are Run's alone.
type Config struct {
	// URL is the NATS server or cluster to dial: one URL or a
	// comma-separated list. It may carry credentials (nats://TOKEN@host).
	// Ignored when Conn is set.
	URL string
	// Conn is an existing connection to serve on instead of dialling URL.
	// Serve does not close it.
	Conn *nats.Conn
	// User and Password, or Token, authenticate the connection Serve dials.
	User, Password, Token string
	// TLSCA is a PEM file of the certificate authority to trust for a
	// tls:// server (a private CA); TLSCert and TLSKey are the worker's
	// client certificate and key, for a server that verifies clients.
	// Default: none; the system's roots are trusted.
	TLSCA, TLSCert, TLSKey string
	// Pool is the pool whose tasks to serve. Default "default".
	Pool string
	// ID identifies the worker in the pool. Default "<host>-<pid>".
	ID string
	// Registry holds the tasks to serve. Default: DefaultRegistry().
	Registry *Registry
	// MaxTasksPerChild makes Serve return nil after executing that many
	// tasks (Python's maxtasksperchild). Default 0: no limit.
	MaxTasksPerChild int
	// Init runs once, before the first task; if it fails Serve returns its
	// error without taking any task. Default: the hook set with OnStart.
	Init func(ctx context.Context) error
	// Logger receives the worker's log lines. Default slog.Default() with
	// the worker id and pid attached.
	Logger *slog.Logger
	// AckWait is how long a held task may go without an ack or progress
	// before JetStream redelivers it; Serve sends progress every AckWait/5.
	// It must match the consumer's (set by the pool). Default 5s.
	AckWait time.Duration
	// GiveBackAfter is the fairness quantum: a worker that has run one
	// message's tasks for this long hands the ones it has not started back
	// to the queue, so they never wait behind a long task while another
	// worker is idle. Default 5ms.
	GiveBackAfter time.Duration
	// HardTimeoutGrace is how long a task may run past its timeout, its
	// context already cancelled, before the worker gives up on it: it
	// reports a timeout error and exits, so its supervisor replaces it.
	// Default 1s.
	HardTimeoutGrace time.Duration

	// The fields below are read by Run only, for the worker processes it
	// starts; Serve, which runs in the calling process, ignores them.

	// GOMAXPROCS is how many threads may run Go code at once in each
	// worker process that Run starts (it does not touch the process that
	// calls Serve). Default 0 means 1: Run starts one process per CPU, each
	// meant to keep one CPU busy, as a Python worker does; a worker with
	// all the CPUs to itself only spins threads that steal them from its
	// siblings. Tasks that run goroutines in parallel want more; -1 keeps
	// Go's default (the GOMAXPROCS environment variable or the CPU count).
	GOMAXPROCS int
	// LogLevel ("debug", "info", "warn", "error") and LogFormat ("text",
	// "json") are the logging of the worker processes Run starts (see
	// NewLogger). Default: info, text. Serve ignores them: it logs to Logger.
	LogLevel, LogFormat string
	// PrefixOutput makes the lines Run's worker processes write to stdout
	// and stderr appear on this process's prefixed with the worker's id
	// ("[w host-1234] "), whole lines. Default: they inherit stdout and
	// stderr unchanged. Serve ignores it.
	PrefixOutput bool
	// StopTimeout bounds Run's graceful stop: once its context ends, the
	// worker processes have this long to finish the task in hand and exit
	// before they are killed (their tasks are then delivered again). It
	// holds whatever the state of the brokers. With no processes, Run
	// serves in this process and returns an error once it has waited this
	// long for the task in hand. Default 30s; Serve ignores it.
	StopTimeout time.Duration

	status io.Writer // the supervisor's status pipe, set by Main
	ppid   int       // the supervisor's pid, set by Main: exit if it changes
	// exitOnDisconnect: give up after a few seconds of reconnecting (the
	// broker was the parent's, embedded); set by Main.
	exitOnDisconnect bool
}

// connectOptions are the NATS options for the credentials and TLS files of c.
func (c *Config) connectOptions() []nats.Option {
	var opts []nats.Option
	if c.User != "" {
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	if c.Token != "" {
		opts = append(opts, nats.Token(c.Token))
	}
	if c.TLSCA != "" {
		opts = append(opts, nats.RootCAs(c.TLSCA))
	}
	if c.TLSCert != "" {
		opts = append(opts, nats.ClientCert(c.TLSCert, c.TLSKey))
	}
	return opts
}

// DefaultStopTimeout is Config.StopTimeout's default.
const DefaultStopTimeout = 30 * time.Second

// ExitHardTimeout is the exit code of a worker process that gave up on a
// task ignoring its hard timeout.
const ExitHardTimeout = 3

func (c *Config) setDefaults() error {
	if c.Conn == nil && c.URL == "" {
		return fmt.Errorf("%w: URL or Conn is required", ErrInvalidConfig)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("%w: TLSCert and TLSKey go together", ErrInvalidConfig)
	}
	if c.Pool == "" {
		c.Pool = "default"
	}
	if err := wire.ValidPoolName(c.Pool); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	if c.GOMAXPROCS < -1 {
		return fmt.Errorf("%w: GOMAXPROCS %d: want -1 (Go's default), 0 (1) or more", ErrInvalidConfig, c.GOMAXPROCS)
	}
	if c.MaxTasksPerChild < 0 || c.AckWait < 0 || c.GiveBackAfter < 0 || c.HardTimeoutGrace < 0 || c.StopTimeout < 0 {
		return fmt.Errorf("%w: negative setting", ErrInvalidConfig)
	}
	if c.Registry == nil {
		c.Registry = defaultRegistry
	}
	if c.AckWait == 0 {
		c.AckWait = wire.DefaultAckWait
	}
	if c.GiveBackAfter == 0 {
		c.GiveBackAfter = 5 * time.Millisecond
	}
	if c.HardTimeoutGrace == 0 {
		c.HardTimeoutGrace = time.Second
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	if c.Init == nil {
		c.Init = startHook()
	}
	return nil
}
