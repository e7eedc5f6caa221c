package broker

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// defaultClusterName is the cluster name when a cluster is configured
// without one; nats-server needs a fixed name for JetStream clustering.
const defaultClusterName = "procpool"

// validateCluster checks the cluster fields of cfg.
func (cfg *Config) validateCluster() error {
	if cfg.ClusterListen != "" {
		host, port, err := net.SplitHostPort(cfg.ClusterListen)
		if err != nil {
			return fmt.Errorf("%w: cluster listen %q: want host:port", ErrInvalidConfig, cfg.ClusterListen)
		}
		if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
			return fmt.Errorf("%w: cluster listen %q: bad host", ErrInvalidConfig, cfg.ClusterListen)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			return fmt.Errorf("%w: cluster listen %q: port out of range", ErrInvalidConfig, cfg.ClusterListen)
		}
	}
	if cfg.ClusterName != "" && !validName(cfg.ClusterName) {
		return fmt.Errorf("%w: cluster name %q: use letters, digits, '-', '_' and '.'", ErrInvalidConfig, cfg.ClusterName)
	}
	if (cfg.ClusterUser == "") != (cfg.ClusterPassword == "") {
		return fmt.Errorf("%w: cluster user and password go together", ErrInvalidConfig)
	}
	for _, r := range cfg.Routes {
		if _, err := parseRoute(r); err != nil {
			return err
		}
	}
	if cfg.ConfigFile == "" && cfg.ClusterListen == "" {
		switch {
		case len(cfg.Routes) > 0:
			return fmt.Errorf("%w: routes need a cluster listen address", ErrInvalidConfig)
		case cfg.ClusterTLS != nil:
			return fmt.Errorf("%w: cluster TLS needs a cluster listen address", ErrInvalidConfig)
		case cfg.ClusterUser != "":
			return fmt.Errorf("%w: cluster credentials need a cluster listen address", ErrInvalidConfig)
		}
	}
	return nil
}

// parseRoute accepts "nats-route://host:port", "nats://host:port" or a
// bare "host:port".
func parseRoute(r string) (*url.URL, error) {
	s := r
	if !strings.Contains(s, "://") {
		s = "nats-route://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("%w: route %q: want nats-route://host:port", ErrInvalidConfig, r)
	}
	switch u.Scheme {
	case "nats-route", "nats", "tls":
	default:
		return nil, fmt.Errorf("%w: route %q: unknown scheme %q", ErrInvalidConfig, r, u.Scheme)
	}
	if p, err := strconv.Atoi(u.Port()); err != nil || p <= 0 || p > 65535 {
		return nil, fmt.Errorf("%w: route %q: port out of range", ErrInvalidConfig, r)
	}
	return u, nil
}

// applyCluster sets the route options from cfg over a config file's.
func applyCluster(opts *server.Options, cfg *Config) error {
	if cfg.ClusterListen != "" {
		host, port, _ := net.SplitHostPort(cfg.ClusterListen)
		p, _ := strconv.Atoi(port)
		if p == 0 {
			p = server.RANDOM_PORT
		}
		if host == "" {
			host = opts.Host
		}
		opts.Cluster.Host, opts.Cluster.Port = host, p
	}
	if opts.Cluster.Port == 0 {
		if len(opts.Routes) > 0 || len(cfg.Routes) > 0 || cfg.ClusterTLS != nil || cfg.ClusterUser != "" || cfg.ClusterName != "" {
			return fmt.Errorf("%w: routes and cluster settings need a cluster listen address", ErrInvalidConfig)
		}
		return nil
	}
	if len(opts.Routes) == 0 && len(cfg.Routes) == 0 {
		return fmt.Errorf("%w: a cluster node needs routes (list every node, this one included): JetStream clustering requires them", ErrInvalidConfig)
	}
	if cfg.ClusterName != "" {
		opts.Cluster.Name = cfg.ClusterName
	} else if opts.Cluster.Name == "" {
		opts.Cluster.Name = defaultClusterName
	}
	if cfg.ClusterUser != "" {
		opts.Cluster.Username, opts.Cluster.Password = cfg.ClusterUser, cfg.ClusterPassword
	}
	if len(cfg.Routes) > 0 {
		opts.Routes = opts.Routes[:0]
		for _, r := range cfg.Routes {
			u, _ := parseRoute(r)
			opts.Routes = append(opts.Routes, u)
		}
	}
	if opts.Cluster.Username != "" {
		for _, u := range opts.Routes {
			if u.User == nil {
				u.User = url.UserPassword(opts.Cluster.Username, opts.Cluster.Password)
			}
		}
	}
	if cfg.ClusterTLS != nil {
		opts.Cluster.TLSConfig = clusterTLS(cfg.ClusterTLS)
	}
	return checkRouteAuth(opts)
}

// checkRouteAuth refuses routes reachable beyond loopback that anyone may
// open: a node that joins a cluster receives its tasks and results and can
// publish into any inbox, so an unauthenticated route port on a network is
// an open door. Route credentials or route TLS that verifies both ends
// close it.
func checkRouteAuth(opts *server.Options) error {
	if isLoopback(opts.Cluster.Host) || opts.Cluster.Username != "" || verifiedRouteTLS(opts.Cluster.TLSConfig) {
		return nil
	}
	host, port := opts.Cluster.Host, opts.Cluster.Port
	if host == "" {
		host = "0.0.0.0"
	}
	if port == server.RANDOM_PORT {
		port = 0
	}
	return fmt.Errorf("%w: routes on %s (not loopback) need authentication: set route credentials "+
		"(Config.ClusterUser and ClusterPassword; procpool broker: PROCPOOL_CLUSTER_USER and PROCPOOL_CLUSTER_PASSWORD; "+
		"a config file: cluster { authorization { user, password } }) or route TLS that verifies both ends "+
		"(Config.ClusterTLS; procpool broker: --cluster-tls-cert, --cluster-tls-key and --cluster-tls-ca; a config file: cluster { tls { ... } })",
		ErrInvalidConfig, net.JoinHostPort(host, strconv.Itoa(port)))
}

// verifiedRouteTLS reports whether tc makes both ends of a route prove
// who they are: client certificates required and verified, and the
// server's certificate checked.
func verifiedRouteTLS(tc *tls.Config) bool {
	return tc != nil && tc.ClientAuth == tls.RequireAndVerifyClientCert && !tc.InsecureSkipVerify
}

// isLoopback reports whether host names the loopback interface only;
// "" (every interface, nats-server's default) does not.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ClusterAddr is the "host:port" on which the node accepts routes, or ""
// when it is not part of a cluster.
func (s *Server) ClusterAddr() string {
	if a := s.ns.ClusterAddr(); a != nil {
		return net.JoinHostPort(hostOf(a.IP), strconv.Itoa(a.Port))
	}
	return ""
}

// NumRoutes is the number of route connections the node has (nats-server
// pools several connections per peer, so this is not the peer count).
func (s *Server) NumRoutes() int { return s.ns.NumRoutes() }

// ClusterSize is the number of nodes this node is routed to, itself
// included: 1 for a stand-alone node.
func (s *Server) ClusterSize() int {
	rz, err := s.ns.Routez(&server.RoutezOptions{})
	if err != nil {
		return 1
	}
	peers := map[string]bool{}
	for _, r := range rz.Routes {
		peers[r.RemoteID] = true
	}
	return 1 + len(peers)
}

// JetStreamReady waits until JetStream on this node can serve requests:
// for a clustered node, until the cluster has a JetStream meta leader and
// this node is current with it. It polls until ctx ends; give ctx a
// deadline. Right after a cluster forms, creating a replicated stream may
// still fail for a moment with "no suitable peers for placement" while the
// leader hears from every node: retry it.
func (s *Server) JetStreamReady(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.jetStreamReady() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("broker: waiting for JetStream on %s: %w", s.Name(), ctx.Err())
		case <-tick.C:
		}
	}
}

func (s *Server) jetStreamReady() bool {
	if !s.ns.JetStreamEnabled() {
		return false
	}
	if !s.ns.JetStreamIsClustered() {
		return true
	}
	jsi, err := s.ns.Jsz(&server.JSzOptions{})
	if err != nil || jsi.Meta == nil || jsi.Meta.Leader == "" {
		return false
	}
	return s.ns.JetStreamIsCurrent()
}
