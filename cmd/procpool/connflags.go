package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"

	"github.com/procpool/procpool/internal/secrets"
	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/pool"
)

// connFlags are the flags every command that talks to a pool shares, with
// environment fallbacks: PROCPOOL_URL, PROCPOOL_POOL, PROCPOOL_TOKEN,
// PROCPOOL_USER and PROCPOOL_PASSWORD, PROCPOOL_PROCESSES. The secrets
// leave the environment as they are read, so that worker processes and
// what their tasks start do not inherit them.
type connFlags struct {
	fs        *flag.FlagSet // to tell flags given from defaults
	url       string
	poolName  string
	processes int
	token     string
	user      string
	password  string
	tlsCA     string // --tls-ca and friends: TLS files for a tls:// broker
	tlsCert   string
	tlsKey    string
	logFlags         // --log-level, --log-format (logflags.go)
	metrics   string // --metrics, where registerMetrics was called
}

func (c *connFlags) register(fs *flag.FlagSet, defaultProcesses int) {
	c.fs = fs
	env := secrets.Take()
	fs.StringVar(&c.url, "url", env.URL, "NATS server or cluster URL(s), comma-separated; empty: an embedded broker (env PROCPOOL_URL)")
	fs.StringVar(&c.poolName, "pool", envDefault("PROCPOOL_POOL", "default"), "pool name, shared with remote workers (env PROCPOOL_POOL)")
	if v, err := strconv.Atoi(os.Getenv("PROCPOOL_PROCESSES")); err == nil {
		defaultProcesses = v
	}
	fs.IntVar(&c.processes, "processes", defaultProcesses, "local worker processes; 0: remote workers only (env PROCPOOL_PROCESSES)")
	fs.StringVar(&c.tlsCA, "tls-ca", os.Getenv("PROCPOOL_TLS_CA"), "PEM `file` of the CA to trust for a tls:// broker (env PROCPOOL_TLS_CA)")
	fs.StringVar(&c.tlsCert, "tls-cert", os.Getenv("PROCPOOL_TLS_CERT"), "client certificate PEM `file`, for a broker that verifies clients (env PROCPOOL_TLS_CERT)")
	fs.StringVar(&c.tlsKey, "tls-key", os.Getenv("PROCPOOL_TLS_KEY"), "client key PEM `file` (env PROCPOOL_TLS_KEY)")
	c.token = env.Token // secrets only from the environment or the URL
	c.user, c.password = os.Getenv("PROCPOOL_USER"), env.Password
	c.logFlags.register(fs)
}

// setup checks the connection settings once the flags are parsed (a URL
// on the command line that carries credentials earns one warning; a user
// name with a dot is refused), then sets up logging.
func (c *connFlags) setup(stderr io.Writer) (*slog.Logger, error) {
	urlFlag := false
	c.fs.Visit(func(f *flag.Flag) { urlFlag = urlFlag || f.Name == "url" })
	if env := secrets.URLCredentials(c.url); urlFlag && env != "" {
		fmt.Fprintln(stderr, secrets.ArgvWarning(c.fs.Name(), []secrets.Given{{Flag: "--url", Env: env}}))
	}
	if err := wire.CheckUserName(wire.ConnUser(c.user, c.url)); err != nil {
		return nil, err
	}
	return c.logFlags.setup(stderr)
}

// registerMetrics adds --metrics, for commands that run one pool at a time.
func (c *connFlags) registerMetrics(fs *flag.FlagSet) {
	fs.StringVar(&c.metrics, "metrics", os.Getenv("PROCPOOL_METRICS"), "serve the pool's Prometheus metrics on `host:port` at /metrics (env PROCPOOL_METRICS)")
}

// options turns the flags into pool options.
func (c *connFlags) options() []pool.Option {
	opts := []pool.Option{pool.WithProcesses(c.processes), pool.WithName(c.poolName),
		pool.WithWorkerOutputPrefix()} // workers' prints and logs, prefixed with their id
	opts = append(opts, c.logFlags.poolOptions()...)
	if c.metrics != "" {
		opts = append(opts, pool.WithMetrics(c.metrics))
	}
	if c.url != "" {
		opts = append(opts, pool.WithBroker(c.url))
		if c.token != "" {
			opts = append(opts, pool.WithToken(c.token))
		}
		if c.user != "" {
			opts = append(opts, pool.WithCredentials(c.user, c.password))
		}
		if c.tlsCA != "" || c.tlsCert != "" {
			opts = append(opts, pool.WithTLS(c.tlsCA, c.tlsCert, c.tlsKey))
		}
	}
	return opts
}

func envDefault(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

var numCPU = runtime.NumCPU()
