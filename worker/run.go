package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/spawn"
	"github.com/procpool/procpool/internal/supervise"
)

// Run is the body of a standalone worker binary: it serves cfg.Pool's
// tasks with the given number of worker processes until ctx ends, then
// stops them gracefully (each finishes the task in hand). With processes
// 0 it serves in this process (Serve); otherwise it supervises that many
// child processes, re-executions of this binary, exactly as a local pool
// does, so main must call Main first:
//
//	func main() {
//		worker.Main()
//		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//		defer stop()
//		err := worker.Run(ctx, worker.Config{URL: os.Getenv("PROCPOOL_URL")}, runtime.NumCPU())
//		...
//	}
func Run(ctx context.Context, cfg Config, processes int) error {
	if processes < 0 {
		return fmt.Errorf("%w: processes %d", ErrInvalidConfig, processes)
	}
	if processes == 0 {
		return serveBounded(ctx, cfg)
	}
	if err := cfg.forProcesses(); err != nil {
		return err
	}
	if err := cfg.setDefaults(); err != nil {
		return err
	}
	if cfg.Conn != nil || cfg.URL == "" {
		return fmt.Errorf("%w: worker processes need Config.URL to dial", ErrInvalidConfig)
	}
	if _, err := NewLogger(io.Discard, cfg.LogLevel, cfg.LogFormat); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	opts := []nats.Option{nats.Name("procpool-worker supervisor"), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
	opts = append(opts, cfg.connectOptions()...)
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return fmt.Errorf("worker: connect: %w", err)
	}
	defer nc.Close()
	child := spawn.ChildConfig{URL: cfg.URL, User: cfg.User, Password: cfg.Password, Token: cfg.Token,
		TLSCA: cfg.TLSCA, TLSCert: cfg.TLSCert, TLSKey: cfg.TLSKey,
		Pool: cfg.Pool, MaxTasksPerChild: cfg.MaxTasksPerChild, AckWait: cfg.AckWait,
		LogLevel: cfg.LogLevel, LogFormat: cfg.LogFormat, GOMAXPROCS: spawn.ChildGOMAXPROCS(cfg.GOMAXPROCS)}
	sup, err := supervise.New(processes, child, nc, log, cfg.StopTimeout)
	if err != nil {
		return err
	}
	if cfg.PrefixOutput {
		sup.PrefixOutput(os.Stdout, os.Stderr)
	}
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err = sup.Start(startCtx)
	cancel()
	if err != nil {
		sup.Stop(false)
		return err
	}
	log.Info("worker processes ready", "pool", cfg.Pool, "processes", processes)
	<-ctx.Done()
	sup.Stop(true)
	return nil
}

// forProcesses refuses the fields that cannot reach the worker processes
// Run starts, rather than ignore them: each process is this binary run
// again, so it serves the tasks the binary registers, runs the OnStart
// hook, and names itself "<host>-<pid>"; the fairness and hard-timeout
// settings are its own defaults.
func (c *Config) forProcesses() error {
	var bad []string
	if c.Registry != nil && c.Registry != DefaultRegistry() {
		bad = append(bad, "Registry (processes serve the tasks the binary registers with Register)")
	}
	if c.Init != nil {
		bad = append(bad, "Init (use OnStart, which runs in every process)")
	}
	if c.ID != "" {
		bad = append(bad, "ID (each process is <host>-<pid>)")
	}
	if c.GiveBackAfter != 0 || c.HardTimeoutGrace != 0 {
		bad = append(bad, "GiveBackAfter and HardTimeoutGrace (Serve's own; processes keep the defaults)")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: Run with worker processes cannot hand them %s; set them only with processes 0 or Serve", ErrInvalidConfig, strings.Join(bad, ", "))
	}
	return nil
}

// serveBounded is Run with no processes: Serve in this process, its stop
// bounded by cfg.StopTimeout as the processes' is. A stop does not cancel
// the task in hand, so a long one would otherwise hold Run for as long as
// it runs; past the bound Run returns an error and leaves the task to the
// process's exit (its message is delivered again once the connection is
// gone).
func serveBounded(ctx context.Context, cfg Config) error {
	if cfg.StopTimeout < 0 {
		return fmt.Errorf("%w: negative StopTimeout", ErrInvalidConfig)
	}
	timeout := cfg.StopTimeout
	if timeout == 0 {
		timeout = DefaultStopTimeout
	}
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("worker: stop: the task in hand still runs after %s (Config.StopTimeout); it runs again elsewhere once this process exits", timeout)
	}
}
