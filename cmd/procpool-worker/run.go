package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/procpool/procpool/internal/secrets"
	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/worker"
)

const usage = `Usage: procpool-worker [flags]

Serves a procpool pool's tasks from a NATS server or cluster with
--processes worker processes, until interrupted (once: graceful, twice: now).
Credentials: PROCPOOL_TOKEN, or PROCPOOL_USER and PROCPOOL_PASSWORD, or in
the URL (nats://TOKEN@host:4222). TLS: --tls-ca for a private CA, and
--tls-cert/--tls-key for a broker that verifies clients.

Flags:
`

// options are the command line, after the environment fallbacks.
type options struct {
	cfg       worker.Config
	processes int
	wait      time.Duration
	check     bool
	level     slog.Level
	metrics   string // --metrics: address of the Prometheus endpoint (metrics.go)
}

// parse reads the flags; it returns the exit code to stop with when the
// command line is bad (2) or asked for help or the version (0).
func parse(args []string, stdout, stderr io.Writer) (options, int, bool) {
	var o options
	// Out of the environment before anything is spawned: worker processes
	// get them over stdin, and the programs their tasks start get none.
	env := secrets.Take()
	fs := flag.NewFlagSet("procpool-worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	defProcs := runtime.NumCPU()
	if v := os.Getenv("PROCPOOL_PROCESSES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			fmt.Fprintf(stderr, "procpool-worker: PROCPOOL_PROCESSES=%q: not a number\n", v)
			return o, 2, false
		}
		defProcs = n
	}
	fs.StringVar(&o.cfg.URL, "url", env.URL, "NATS server `URLs`, comma-separated for a cluster (env PROCPOOL_URL)")
	fs.StringVar(&o.cfg.Pool, "pool", envDefault("PROCPOOL_POOL", "default"), "pool `name` to serve (env PROCPOOL_POOL)")
	fs.IntVar(&o.processes, "processes", defProcs, "worker processes to supervise; 0: serve in this process (env PROCPOOL_PROCESSES)")
	fs.IntVar(&o.cfg.MaxTasksPerChild, "max-tasks-per-child", 0, "replace a worker process after it ran `n` tasks; 0: never")
	fs.IntVar(&o.cfg.GOMAXPROCS, "gomaxprocs", 1, "threads running Go code at once in each worker process (`n`); -1: Go's default, the CPU count")
	fs.StringVar(&o.cfg.TLSCA, "tls-ca", os.Getenv("PROCPOOL_TLS_CA"), "PEM `file` of the CA to trust for a tls:// broker (env PROCPOOL_TLS_CA)")
	fs.StringVar(&o.cfg.TLSCert, "tls-cert", os.Getenv("PROCPOOL_TLS_CERT"), "client certificate PEM `file`, for a broker that verifies clients (env PROCPOOL_TLS_CERT)")
	fs.StringVar(&o.cfg.TLSKey, "tls-key", os.Getenv("PROCPOOL_TLS_KEY"), "client key PEM `file` (env PROCPOOL_TLS_KEY)")
	logLevel := fs.String("log-level", envDefault("PROCPOOL_LOG_LEVEL", "info"), "log `level` of this process and its worker processes: debug, info, warn or error (env PROCPOOL_LOG_LEVEL)")
	fs.StringVar(&o.cfg.LogFormat, "log-format", envDefault("PROCPOOL_LOG_FORMAT", "text"), "log `format` of this process and its worker processes: text or json (env PROCPOOL_LOG_FORMAT)")
	fs.DurationVar(&o.cfg.StopTimeout, "stop-timeout", stopTimeoutDefault(), "on the first SIGINT or SIGTERM, how long worker processes may take to finish the task in hand before they are killed; the command exits within this plus "+stopBackstop.String()+" whatever the state of its brokers (env PROCPOOL_STOP_TIMEOUT)")
	fs.DurationVar(&o.wait, "wait", 2*time.Minute, "at start-up, keep retrying for this `duration` while the broker is unreachable or not ready")
	fs.BoolVar(&o.check, "check", false, "only check that the broker answers (JetStream included) with these credentials, then exit 0 or 1; for container health checks")
	fs.StringVar(&o.metrics, "metrics", os.Getenv("PROCPOOL_METRICS"), "serve the worker processes' Prometheus metrics on `host:port` at /metrics (env PROCPOOL_METRICS)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, 0, false
		}
		return o, 2, false
	}
	bad := func(format string, a ...any) (options, int, bool) {
		fmt.Fprintf(stderr, "procpool-worker: "+format+"\n", a...)
		return o, 2, false
	}
	switch {
	case *showVersion:
		fmt.Fprintln(stdout, "procpool-worker", version())
		return o, 0, false
	case fs.NArg() > 0:
		return bad("unexpected argument %q", fs.Arg(0))
	case o.cfg.URL == "":
		return bad("no broker: give --url or PROCPOOL_URL")
	case o.processes < 0:
		return bad("--processes %d: negative", o.processes)
	case o.cfg.MaxTasksPerChild < 0:
		return bad("--max-tasks-per-child %d: negative", o.cfg.MaxTasksPerChild)
	case o.cfg.GOMAXPROCS == 0 || o.cfg.GOMAXPROCS < -1:
		return bad("--gomaxprocs %d: want 1 or more, or -1 for Go's default", o.cfg.GOMAXPROCS)
	case o.cfg.StopTimeout <= 0:
		return bad("--stop-timeout (or PROCPOOL_STOP_TIMEOUT=%q): want a positive duration", os.Getenv("PROCPOOL_STOP_TIMEOUT"))
	case o.wait < 0:
		return bad("--wait %s: negative", o.wait)
	case (o.cfg.TLSCert == "") != (o.cfg.TLSKey == ""):
		return bad("--tls-cert and --tls-key go together")
	}
	if err := o.level.UnmarshalText([]byte(*logLevel)); err != nil {
		return bad("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	if o.cfg.LogFormat != "text" && o.cfg.LogFormat != "json" {
		return bad("--log-format %q: want text or json", o.cfg.LogFormat)
	}
	o.cfg.LogLevel = *logLevel // for the worker processes too
	o.cfg.PrefixOutput = true  // their lines on ours, prefixed with their id
	// Secrets only from the environment (or the URL): never argv.
	o.cfg.Token = env.Token
	o.cfg.User, o.cfg.Password = os.Getenv("PROCPOOL_USER"), env.Password
	if o.cfg.Token != "" && o.cfg.User != "" {
		return bad("PROCPOOL_TOKEN and PROCPOOL_USER are exclusive")
	}
	if (o.cfg.User == "") != (o.cfg.Password == "") {
		return bad("PROCPOOL_USER and PROCPOOL_PASSWORD go together")
	}
	if err := wire.CheckUserName(wire.ConnUser(o.cfg.User, o.cfg.URL)); err != nil {
		return bad("%v", err)
	}
	urlFlag := false
	fs.Visit(func(f *flag.Flag) { urlFlag = urlFlag || f.Name == "url" })
	if env := secrets.URLCredentials(o.cfg.URL); urlFlag && env != "" {
		fmt.Fprintln(stderr, secrets.ArgvWarning("procpool-worker", []secrets.Given{{Flag: "--url", Env: env}}))
	}
	return o, 0, true
}

// run maps a command line to an exit code: 0 after a stop on request, 1
// when serving fails, 2 for a bad command line. The first SIGINT or
// SIGTERM stops gracefully; a second exits at once (worker processes die
// with this one, and the tasks they held are delivered again).
func run(args []string, stdout, stderr io.Writer) int {
	o, code, ok := parse(args, stdout, stderr)
	if !ok {
		return code
	}
	log, err := worker.NewLogger(stderr, o.cfg.LogLevel, o.cfg.LogFormat)
	if err != nil {
		fmt.Fprintln(stderr, "procpool-worker:", err)
		return 2
	}
	o.cfg.Logger = log

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		log.Info("stopping: worker processes finish the task in hand (signal again to stop now)", "within", o.cfg.StopTimeout)
		cancel()
		// The bound holds whatever the brokers do: past it, exit; the
		// worker processes die with this one (end of file on their stdin,
		// and the parent-death signal on Linux).
		time.AfterFunc(o.cfg.StopTimeout+stopBackstop, func() {
			log.Error("stop took longer than --stop-timeout; exiting now", "stop-timeout", o.cfg.StopTimeout)
			os.Exit(1)
		})
		if _, ok := <-sigs; ok {
			log.Warn("stopped at once")
			os.Exit(130)
		}
	}()

	if o.check {
		return check(ctx, o, stdout, stderr)
	}
	stopMetrics, err := serveMetrics(o, log)
	if err != nil {
		log.Error("cannot serve metrics", "err", err)
		return 1
	}
	defer stopMetrics()
	return serve(ctx, o, log)
}

// serve runs worker.Run, retrying start-up failures (broker not up yet,
// JetStream cluster still electing its leader) with back-off for o.wait.
func serve(ctx context.Context, o options, log *slog.Logger) int {
	giveUp := time.Now().Add(o.wait)
	backoff := 250 * time.Millisecond
	log.Info("procpool-worker starting", "pool", o.cfg.Pool, "url", wire.RedactURLs(o.cfg.URL), "processes", o.processes, "version", version())
	for {
		// Wait for the broker with short probes: a worker process asking a
		// cluster with no JetStream leader yet would wait long for nothing.
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		where, err := probe(pctx, o)
		cancel()
		if err == nil {
			log.Debug("broker ready", "at", where)
			err = worker.Run(ctx, o.cfg, o.processes)
		}
		switch {
		case err == nil:
			log.Info("procpool-worker stopped")
			return 0
		case errors.Is(err, worker.ErrInvalidConfig):
			log.Error("bad configuration", "err", err)
			return 2
		case ctx.Err() != nil:
			return 0 // stopped while starting
		case time.Now().After(giveUp):
			log.Error("procpool-worker failed", "err", err)
			return 1
		}
		log.Warn("cannot serve yet; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// defaultStopTimeout is --stop-timeout's default: with stopBackstop, the
// command is gone within 8s of a SIGTERM, inside the 10s that docker and
// podman wait before they SIGKILL a container.
const defaultStopTimeout = 7 * time.Second

// stopBackstop is how long after --stop-timeout the command exits even if
// stopping its worker processes has not returned.
const stopBackstop = time.Second

// stopTimeoutDefault is PROCPOOL_STOP_TIMEOUT if it parses, else
// defaultStopTimeout (a bad value is reported by parse's check).
func stopTimeoutDefault() time.Duration {
	if v := os.Getenv("PROCPOOL_STOP_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return -1
		}
		return d
	}
	return defaultStopTimeout
}

func envDefault(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// version is the module version from the build info.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
