package pool

import (
	"fmt"
	"net"

	"github.com/procpool/procpool/dashboard"
)

// WithDashboard serves the pool's live web dashboard (package dashboard:
// its workers, throughput, calls in flight and failures) on addr, a
// loopback host:port such as "127.0.0.1:8222" (port 0 picks one, see
// DashboardAddr), until the pool stops. The page is read-only. For a
// dashboard on another address, with a token, or with control actions,
// run `procpool dashboard`. Default: none.
func WithDashboard(addr string) Option {
	return func(o *options) error {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return invalid("WithDashboard(%q): %v", addr, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return invalid("WithDashboard(%q): not a loopback address (procpool dashboard serves others, with a token)", addr)
		}
		o.dashboardAddr = addr
		return nil
	}
}

// DashboardAddr is the address WithDashboard's page listens on, or "".
func (p *Pool) DashboardAddr() string {
	if p.dash == nil {
		return ""
	}
	return p.dash.Addr()
}

// startDashboard starts WithDashboard's server on the pool's connection.
func (p *Pool) startDashboard() error {
	if p.o.dashboardAddr == "" {
		return nil
	}
	srv, err := dashboard.Start(dashboard.Config{Conn: p.nc, Pools: []string{p.o.name}, Listen: p.o.dashboardAddr, Logger: p.log})
	if err != nil {
		return fmt.Errorf("pool: %w", err)
	}
	p.dash = srv
	return nil
}
