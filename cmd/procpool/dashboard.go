package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/procpool/procpool/dashboard"
)

const dashboardUsage = `Usage: procpool dashboard [flags]

Serves a live web page of a pool (--pool) or of every pool the connection
sees (--all): workers by host as a process tree, throughput and queue
charts, Map and IMap calls in flight, recent failures, queues and pipes.
It reads what the pools publish, with the credentials it is given: a
pool's worker credentials are enough (a caller's show workers and queues,
not the calls, which carry every caller's failures). Credentials come from the URL or the
environment: PROCPOOL_TOKEN, or PROCPOOL_USER and PROCPOOL_PASSWORD.

It listens on loopback unless --listen says otherwise; another address
needs a page token (--token, or better PROCPOOL_DASHBOARD_TOKEN: argv is
visible to other users of the machine), and the page is then opened as
http://HOST:PORT/?token=TOKEN. Read-only unless --allow-control.

Flags:
`

// runDashboard is `procpool dashboard`.
func runDashboard(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("procpool dashboard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), dashboardUsage)
		fs.PrintDefaults()
	}
	var cf connFlags
	cf.register(fs, 0)
	all := fs.Bool("all", false, "show every pool the connection sees, instead of --pool")
	listen := fs.String("listen", dashboard.DefaultListen, "`host:port` to serve the page on")
	token := fs.String("token", os.Getenv("PROCPOOL_DASHBOARD_TOKEN"), "the page's token, required off loopback (env PROCPOOL_DASHBOARD_TOKEN)")
	control := fs.Bool("allow-control", false, "let the page drain workers")
	timeout := fs.Duration("timeout", 5*time.Second, "bound on connecting")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	os.Unsetenv("PROCPOOL_DASHBOARD_TOKEN") // not for the processes this one starts
	log, err := cf.setup(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "procpool dashboard:", err)
		return 2
	}
	if cf.url == "" {
		fmt.Fprintln(stderr, "procpool dashboard: --url (or PROCPOOL_URL) is required: the broker the pool uses")
		return 2
	}
	poolGiven := false
	fs.Visit(func(f *flag.Flag) { poolGiven = poolGiven || f.Name == "pool" })
	if *all && poolGiven {
		fmt.Fprintln(stderr, "procpool dashboard: --pool and --all exclude each other")
		return 2
	}
	cfg := dashboard.Config{Listen: *listen, Token: *token, AllowControl: *control, All: *all, Logger: log}
	if !*all {
		cfg.Pools = []string{cf.poolName}
	}
	nc, err := cf.connect(*timeout) // status.go
	if err != nil {
		fmt.Fprintln(stderr, "procpool dashboard:", err)
		return 1
	}
	defer nc.Close()
	cfg.Conn = nc
	srv, err := dashboard.Start(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "procpool", err) // "procpool dashboard: …"
		if errors.Is(err, dashboard.ErrTokenRequired) || errors.Is(err, dashboard.ErrInvalidConfig) {
			return 2
		}
		return 1
	}
	defer srv.Close()
	what := fmt.Sprintf("pool %q", cf.poolName)
	if *all {
		what = "every pool"
	}
	mode := "read-only"
	if *control {
		mode = "control enabled"
	}
	page := srv.URL()
	if *token != "" {
		page += "?token=…"
	}
	fmt.Fprintf(stdout, "procpool dashboard: %s of %s on %s (%s); Ctrl-C stops\n", what, nc.ConnectedUrlRedacted(), page, mode)
	<-ctx.Done()
	return 0
}
