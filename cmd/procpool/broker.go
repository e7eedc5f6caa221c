package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/secrets"
)

const brokerUsage = `Usage: procpool broker [flags]

Runs a procpool broker node (a NATS server with JetStream) until interrupted.
Clients must authenticate: give a token (PROCPOOL_TOKEN) or a user and
password (PROCPOOL_USER, PROCPOOL_PASSWORD), or a --config file with an
authorization block. Prefer the environment to the flags for secrets: a
command line is visible to every user of the machine.

A cluster node needs --cluster and --routes listing every node (itself
included). Routes must authenticate unless --cluster is a loopback address:
give every node the same PROCPOOL_CLUSTER_USER and PROCPOOL_CLUSTER_PASSWORD,
or --cluster-tls-* so that routes are encrypted and both ends verified (or
both).

Flags:
`

// runBroker is the "procpool broker" subcommand. It returns 0 after a
// graceful shutdown when ctx ends, 1 when the broker fails, and 2 for bad
// flags or settings.
func runBroker(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("procpool broker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), brokerUsage)
		fs.PrintDefaults()
	}
	var (
		listen      = fs.String("listen", "127.0.0.1:4222", "client listen `host:port` (port 0: a free port)")
		store       = fs.String("store", "", "JetStream file store `dir`, kept across restarts (default: a temporary dir removed on exit)")
		name        = fs.String("name", "", "server `name`, distinct for every node of a cluster (default: random)")
		cluster     = fs.String("cluster", "", "route listen `host:port` for a cluster (default: no cluster)")
		clusterName = fs.String("cluster-name", "procpool", "cluster `name`, the same on every node")
		routes      = fs.String("routes", "", "comma-separated route `URLs` of every node, e.g. nats-route://10.0.0.1:6222")
		token       = fs.String("token", "", "client auth `token` (env PROCPOOL_TOKEN)")
		user        = fs.String("user", "", "client `user` (env PROCPOOL_USER)")
		password    = fs.String("password", "", "client `password` (env PROCPOOL_PASSWORD)")
		tlsCert     = fs.String("tls-cert", "", "client TLS certificate `file` (PEM)")
		tlsKey      = fs.String("tls-key", "", "client TLS key `file` (PEM)")
		tlsCA       = fs.String("tls-ca", "", "CA `file` (PEM); when set, clients must present a certificate it signed")
		clusterUser = fs.String("cluster-user", "", "route `user` every node presents and requires (env PROCPOOL_CLUSTER_USER)")
		clusterPass = fs.String("cluster-password", "", "route `password` (env PROCPOOL_CLUSTER_PASSWORD)")
		cTLSCert    = fs.String("cluster-tls-cert", "", "route TLS certificate `file` (PEM)")
		cTLSKey     = fs.String("cluster-tls-key", "", "route TLS key `file` (PEM)")
		cTLSCA      = fs.String("cluster-tls-ca", "", "route TLS CA `file` (PEM), verifying both ends of every route")
		monitor     = fs.String("monitor", "0", "HTTP monitoring, without authentication: a `port` on 127.0.0.1, or host:port to serve it elsewhere (0: off; -1 or host:0: a free port)")
		configFile  = fs.String("config", "", "nats-server configuration `file`; flags given explicitly override it")
		lf          logFlags
	)
	lf.register(fs)
	env := secrets.Take() // out of the environment before anything could inherit it
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // flag has printed the error and the usage
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "procpool broker: "+format+"\n", a...)
		return 2
	}
	log, err := lf.setup(stderr) // logflags.go
	if err != nil {
		return usageErr("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if w := secrets.ArgvWarning("procpool broker", argvSecrets(set, *routes)); w != "" {
		fmt.Fprintln(stderr, w)
	}
	orValue(token, env.Token)
	orValue(user, os.Getenv("PROCPOOL_USER"))
	orValue(password, env.Password)
	if *cluster != "" || *configFile != "" {
		// Route credentials in the environment serve cluster nodes; a
		// stand-alone node started from the same shell ignores them.
		orValue(clusterUser, os.Getenv("PROCPOOL_CLUSTER_USER"))
		orValue(clusterPass, env.ClusterPassword)
	}

	cfg := broker.Config{
		StoreDir:   *store,
		ServerName: *name,
		Token:      *token,
		User:       *user,
		Password:   *password,
		ConfigFile: *configFile,
		Logger:     log,
	}
	if cfg.MonitorHost, cfg.MonitorPort, err = parseMonitor(*monitor); err != nil {
		return usageErr("--monitor: %v", err)
	}
	if cfg.MonitorPort != 0 && cfg.MonitorHost != "" && !isLoopback(cfg.MonitorHost) {
		fmt.Fprintf(stderr, "procpool broker: warning: monitoring on %s answers anyone who can reach it, without credentials (/connz lists every client)\n", *monitor)
	}
	// Without a config file the flag defaults apply; with one, only the
	// flags given explicitly override it.
	if *configFile == "" || set["listen"] {
		host, port, err := splitListen(*listen)
		if err != nil {
			return usageErr("--listen: %v", err)
		}
		cfg.Host, cfg.Port = host, port
	}
	if *configFile == "" || set["cluster-name"] {
		if *cluster != "" {
			cfg.ClusterName = *clusterName
		}
	}
	cfg.ClusterListen = *cluster
	cfg.ClusterUser, cfg.ClusterPassword = *clusterUser, *clusterPass
	for r := range strings.SplitSeq(*routes, ",") {
		if r = strings.TrimSpace(r); r != "" {
			cfg.Routes = append(cfg.Routes, r)
		}
	}
	if *tlsCert != "" || *tlsKey != "" || *tlsCA != "" {
		tc, err := broker.LoadTLS(*tlsCert, *tlsKey, *tlsCA)
		if err != nil {
			return usageErr("client TLS: %v", err)
		}
		cfg.TLS = tc
	}
	if *cTLSCert != "" || *cTLSKey != "" || *cTLSCA != "" {
		tc, err := broker.LoadClusterTLS(*cTLSCert, *cTLSKey, *cTLSCA)
		if err != nil {
			return usageErr("cluster TLS: %v", err)
		}
		cfg.ClusterTLS = tc
	}
	if *configFile == "" && cfg.Token == "" && cfg.User == "" {
		if !isLoopback(cfg.Host) {
			return usageErr("refusing to listen on %s without credentials: set PROCPOOL_TOKEN (or --token), or PROCPOOL_USER and PROCPOOL_PASSWORD", cfg.Host)
		}
		return usageErr("no credentials: set PROCPOOL_TOKEN (or --token), or PROCPOOL_USER and PROCPOOL_PASSWORD, so that clients can connect")
	}

	b, err := broker.Start(ctx, cfg)
	if err != nil {
		if errors.Is(err, broker.ErrInvalidConfig) {
			return usageErr("%v", err)
		}
		if ctx.Err() != nil {
			return 0 // interrupted while starting
		}
		fmt.Fprintf(stderr, "procpool broker: %v\n", err)
		return 1
	}
	defer b.Shutdown()
	if b.GeneratedCredentials() {
		// The config file had no authorization either: nobody could
		// connect with the random password, and it must not be printed.
		return usageErr("no credentials: %s has no authorization block; set PROCPOOL_TOKEN or PROCPOOL_USER and PROCPOOL_PASSWORD", *configFile)
	}

	fmt.Fprintln(stdout, readyLine(b))
	<-ctx.Done()
	fmt.Fprintf(stderr, "procpool broker: shutting down %s\n", b.Name())
	b.Shutdown()
	return 0
}

// readyLine describes the running node, without any secret.
func readyLine(b *broker.Server) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "procpool broker %s ready: %s", b.Name(), b.ClientURL())
	if a := b.ClusterAddr(); a != "" {
		fmt.Fprintf(&sb, " routes=%s", a)
	}
	if a := b.MonitorAddr(); a != "" {
		fmt.Fprintf(&sb, " monitor=http://%s", a)
	}
	return sb.String()
}

// orValue fills *v with value when *v is empty: a flag given explicitly
// wins over its environment variable.
func orValue(v *string, value string) {
	if *v == "" {
		*v = value
	}
}

// argvSecrets lists the secrets given on the command line: the flags set
// explicitly, and route URLs that carry credentials.
func argvSecrets(set map[string]bool, routes string) []secrets.Given {
	var given []secrets.Given
	for _, f := range []secrets.Given{{Flag: "token", Env: secrets.TokenEnv}, {Flag: "password", Env: secrets.PasswordEnv},
		{Flag: "cluster-password", Env: secrets.ClusterPasswordEnv}} {
		if set[f.Flag] {
			given = append(given, secrets.Given{Flag: "--" + f.Flag, Env: f.Env})
		}
	}
	if secrets.URLCredentials(routes) != "" {
		given = append(given, secrets.Given{Flag: "--routes", Env: "PROCPOOL_CLUSTER_USER and " + secrets.ClusterPasswordEnv})
	}
	return given
}

func splitListen(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("want host:port, got %q", s)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q out of range", p)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// parseMonitor reads --monitor: a port, served on loopback ("" host: the
// broker's default), or host:port, where port 0 picks a free one.
func parseMonitor(s string) (host string, port int, err error) {
	if !strings.Contains(s, ":") {
		port, err := strconv.Atoi(s)
		if err != nil {
			return "", 0, fmt.Errorf("want a port or host:port, got %q", s)
		}
		return "", port, nil
	}
	host, port, err = splitListen(s)
	if err != nil {
		return "", 0, err
	}
	if port == 0 {
		port = -1 // the broker's "a free port"; its 0 is "off"
	}
	return host, port, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
