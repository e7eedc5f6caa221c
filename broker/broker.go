package broker

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ErrInvalidConfig is wrapped by every error [Start] returns for a bad Config.
var ErrInvalidConfig = errors.New("broker: invalid config")

// Config describes a broker node. The zero value is a loopback-only,
// authenticated, JetStream-enabled, stand-alone broker on a random port,
// with monitoring off and plain TCP.
type Config struct {
	// Host is the client listen address. Default "127.0.0.1" (also when a
	// ConfigFile does not set one: nats-server's own default would be
	// 0.0.0.0).
	Host string
	// Port is the client port. Default 0, which here means a random free
	// port (nats-server's own 0 would mean 4222), unless ConfigFile sets one.
	Port int

	// User and Password are the credentials every client must present.
	// Default: a user "procpool" with a random 128-bit password, unless
	// Token is set or ConfigFile defines its own authorization. With Users,
	// this user is the unrestricted administrator next to them.
	User, Password string
	// Token is a single secret every client must present instead of a user
	// and password (nats.Token, or a URL like nats://TOKEN@host:port).
	// Default "": user and password. Setting Token together with User,
	// Password or Users is an error.
	Token string
	// Users are additional named users, each with its own password and
	// optional per-subject permissions; see [CallerPermissions] and
	// [WorkerPermissions] for the sets recommended for procpool's roles.
	// Names (User's too) have no dots, so that no user's inbox prefix
	// "_INBOX.<name>" holds another's. Default nil: only User (or Token)
	// may connect.
	Users []User

	// StoreDir is the JetStream store directory. Default: the ConfigFile's
	// store_dir, else a fresh temporary directory that Shutdown removes.
	// A directory given here (or in ConfigFile) is kept, so a file store
	// survives restarts.
	StoreDir string
	// MaxMemory and MaxStore cap JetStream's memory and file storage in
	// bytes. Default 0: the ConfigFile's values, else nats-server's defaults
	// (a share of RAM and disk).
	MaxMemory, MaxStore int64
	// MaxPayload is the largest message the broker accepts, in bytes.
	// Default 0: the ConfigFile's max_payload, else nats-server's 1 MiB.
	MaxPayload int32
	// ServerName names the node in logs and in a cluster; every node of a
	// cluster needs a distinct one. Default: the ConfigFile's server_name,
	// else "procpool-" and 8 random hex digits.
	ServerName string

	// ClusterListen is the "host:port" on which this node accepts routes
	// from the other nodes of a cluster; port 0 picks a free port (see
	// [Server.ClusterAddr]). Default "": the ConfigFile's cluster block,
	// else no cluster.
	ClusterListen string
	// ClusterName names the cluster; all nodes must agree. Default: the
	// ConfigFile's cluster name, else "procpool" when a cluster is configured.
	ClusterName string
	// Routes are the route URLs ("nats-route://host:port" or "host:port")
	// of the cluster's nodes; list every node, this one included (a node
	// skips itself), on every node. JetStream then runs clustered
	// (replicated streams, a meta leader). A cluster node needs at least
	// one route. Default nil: the ConfigFile's routes.
	Routes []string
	// ClusterUser and ClusterPassword are the credentials routes must
	// present; they are added to route URLs that carry none. Default "":
	// routes are not authenticated, which Start allows only when
	// ClusterListen is a loopback address or ClusterTLS verifies both ends
	// (a node that joins a cluster sees all its traffic).
	ClusterUser, ClusterPassword string

	// TLS, when set, makes clients connect over TLS with this configuration
	// (see [LoadTLS]); with ClientAuth set to tls.RequireAndVerifyClientCert
	// clients must also present a certificate. In-process connections
	// ([Server.Connect]) skip TLS. Default nil: the ConfigFile's tls block,
	// else plain TCP.
	TLS *tls.Config
	// ClusterTLS, when set, protects routes; it serves both ends of a route,
	// so it needs Certificates, ClientCAs and RootCAs (see [LoadClusterTLS];
	// RootCAs defaults to ClientCAs). Default nil: the ConfigFile's cluster
	// tls block, else plain TCP.
	ClusterTLS *tls.Config

	// MonitorPort is the HTTP monitoring port (/varz, /jsz, ...), served on
	// MonitorHost. Default 0: the ConfigFile's http_port, else off; -1 picks
	// a free port (see [Server.MonitorAddr]).
	MonitorPort int
	// MonitorHost is the address monitoring listens on. Monitoring asks no
	// credentials and lists every connection and subscription (/connz:
	// clients and their inboxes), so it does not follow Host. Default: the
	// ConfigFile's http host, else "127.0.0.1".
	MonitorHost string

	// ConfigFile is a standard nats-server configuration file read first;
	// the fields above, when set, override what it says. Explicit
	// authorization (User, Token or Users) replaces the file's
	// authorization entirely. JetStream is always on and signal handlers
	// are never installed, whatever the file says. Default "": none.
	ConfigFile string

	// Logger receives the server's log lines, its notices at Info level.
	// Default: slog.Default(), with the notices (start-up banner and the
	// like) at Debug level so that a pool starts quietly.
	Logger *slog.Logger
	// ReadyTimeout bounds the wait for the server to accept connections.
	// Default 10s.
	ReadyTimeout time.Duration
}

// Server is a running broker node.
type Server struct {
	ns        *server.Server
	user      string
	password  string
	token     string
	generated bool // user and password made up by Start
	storeDir  string
	removeDir bool
	accounts  []string // pool accounts made for Config.Users (accounts.go)
	logger    *slog.Logger

	guards     []inboxGuard       // inboxguard.go
	stopGuards context.CancelFunc // ends a clustered node's guard attempts

	once sync.Once
}

// Start starts a broker node and waits until it accepts connections, or
// until ctx ends or cfg.ReadyTimeout passes. A clustered node is ready
// before its cluster has formed: use [Server.JetStreamReady] to wait for a
// JetStream meta leader.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	opts := &server.Options{}
	if cfg.ConfigFile != "" {
		var err error
		if opts, err = loadConfigFile(cfg.ConfigFile); err != nil {
			return nil, err
		}
	}
	s := &Server{}
	if err := s.configure(opts, &cfg); err != nil {
		return nil, err
	}
	s.planInboxGuards(opts) // inboxguard.go

	ns, err := server.NewServer(opts)
	if err != nil {
		s.cleanup()
		return nil, fmt.Errorf("broker: %w", err)
	}
	logger, notice := cfg.Logger, slog.LevelInfo
	if logger == nil {
		logger, notice = slog.Default(), slog.LevelDebug
	}
	// nats-server reports start-up failures (port in use, JetStream
	// refusing to start) through Fatalf and carries on; catch the first one
	// so that Start fails at once with the reason instead of timing out.
	fatal := make(chan string, 1)
	ns.SetLoggerV2(slogAdapter{l: logger.With("component", "broker"), notice: notice, fatal: fatal}, false, false, false)
	s.ns, s.logger = ns, logger
	ns.Start()

	timeout := cfg.ReadyTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	// Poll in short steps so that a fatal start-up error or the end of ctx
	// is noticed at once, and no goroutine outlives Start.
	deadline := time.Now().Add(timeout)
	for !ns.ReadyForConnections(50 * time.Millisecond) {
		select {
		case msg := <-fatal:
			s.Shutdown()
			return nil, fmt.Errorf("broker: start: %s", msg)
		case <-ctx.Done():
			s.Shutdown()
			return nil, fmt.Errorf("broker: start: %w", ctx.Err())
		default:
		}
		if time.Now().After(deadline) {
			s.Shutdown()
			return nil, fmt.Errorf("broker: not ready after %s", timeout)
		}
	}
	select {
	case msg := <-fatal:
		s.Shutdown()
		return nil, fmt.Errorf("broker: start: %s", msg)
	default:
	}
	if err := s.enableAccounts(); err != nil { // accounts.go
		s.Shutdown()
		return nil, err
	}
	if err := s.startInboxGuards(ctx); err != nil {
		s.Shutdown()
		return nil, err
	}
	return s, nil
}

// validate checks cfg on its own, before any file is read.
func (cfg *Config) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, a...)...)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return bad("port %d out of range", cfg.Port)
	}
	if cfg.Host != "" && net.ParseIP(cfg.Host) == nil && !validHostname(cfg.Host) {
		return bad("host %q is not an IP address or host name", cfg.Host)
	}
	if cfg.MonitorHost != "" && net.ParseIP(cfg.MonitorHost) == nil && !validHostname(cfg.MonitorHost) {
		return bad("monitor host %q is not an IP address or host name", cfg.MonitorHost)
	}
	if cfg.MonitorPort < -1 || cfg.MonitorPort > 65535 {
		return bad("monitor port %d out of range (0 off, -1 random)", cfg.MonitorPort)
	}
	if cfg.MaxMemory < 0 || cfg.MaxStore < 0 || cfg.MaxPayload < 0 || cfg.ReadyTimeout < 0 {
		return bad("negative limit")
	}
	if cfg.ServerName != "" && !validName(cfg.ServerName) {
		return bad("server name %q: use letters, digits, '-', '_' and '.'", cfg.ServerName)
	}
	if cfg.ConfigFile != "" {
		if _, err := os.Stat(cfg.ConfigFile); err != nil {
			return bad("config file: %v", err)
		}
	}
	if err := cfg.validateAuth(); err != nil {
		return err
	}
	if err := cfg.validateTLS(); err != nil {
		return err
	}
	return cfg.validateCluster()
}

// configure turns cfg into opts, on top of what a config file put there.
func (s *Server) configure(opts *server.Options, cfg *Config) error {
	if cfg.Host != "" {
		opts.Host = cfg.Host
	} else if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if cfg.Port != 0 {
		opts.Port = cfg.Port
	} else if opts.Port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	if cfg.ServerName != "" {
		opts.ServerName = cfg.ServerName
	} else if opts.ServerName == "" {
		opts.ServerName = "procpool-" + randomHex(4)
	}
	opts.NoSigs = true
	opts.JetStream = true
	if cfg.MaxMemory != 0 {
		opts.JetStreamMaxMemory = cfg.MaxMemory
	}
	if cfg.MaxStore != 0 {
		opts.JetStreamMaxStore = cfg.MaxStore
	}
	if cfg.MaxPayload != 0 {
		opts.MaxPayload = cfg.MaxPayload
	}
	if opts.WriteDeadline == 0 {
		// Procpool's own clients reconnect; a slow one should not be cut
		// off while a worker is busy.
		opts.WriteDeadline = 10 * time.Second
	}
	if cfg.MonitorPort != 0 {
		opts.HTTPPort = cfg.MonitorPort
	}
	if cfg.MonitorHost != "" {
		opts.HTTPHost = cfg.MonitorHost
	} else if opts.HTTPHost == "" {
		// nats-server would serve it on Host, every interface for a node
		// that clients reach over the network.
		opts.HTTPHost = "127.0.0.1"
	}
	s.applyAuth(opts, cfg)
	if err := applyCluster(opts, cfg); err != nil {
		return err
	}
	applyTLS(opts, cfg)

	switch {
	case cfg.StoreDir != "":
		opts.StoreDir = cfg.StoreDir
	case opts.StoreDir != "":
	default:
		dir, err := os.MkdirTemp("", "procpool-broker-")
		if err != nil {
			return fmt.Errorf("broker: store dir: %w", err)
		}
		opts.StoreDir, s.removeDir = dir, true
	}
	s.storeDir = opts.StoreDir
	return nil
}

// ClientURL is the URL clients dial, without credentials ("tls://" when
// clients must use TLS).
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// Name is the node's server name.
func (s *Server) Name() string { return s.ns.Name() }

// User is the user name clients must present; "" with Token or with a
// ConfigFile's users.
func (s *Server) User() string { return s.user }

// Password is the password clients must present. Hand it to child
// processes over stdin or an inherited file, never on a command line.
func (s *Server) Password() string { return s.password }

// Token is the token clients must present; "" unless Config.Token (or the
// ConfigFile's authorization token) is in use. Treat it like [Server.Password].
func (s *Server) Token() string { return s.token }

// GeneratedCredentials reports whether Start made up the user and
// password because neither the Config nor its ConfigFile gave any: only
// holders of [Server.Password] (this process and those it hands it to) can
// connect.
func (s *Server) GeneratedCredentials() bool { return s.generated }

// StoreDir is the JetStream store directory in use.
func (s *Server) StoreDir() string { return s.storeDir }

// MonitorAddr is the "host:port" of the HTTP monitoring endpoint, or ""
// when monitoring is off.
func (s *Server) MonitorAddr() string {
	if a := s.ns.MonitorAddr(); a != nil {
		return net.JoinHostPort(hostOf(a.IP), strconv.Itoa(a.Port))
	}
	return ""
}

// Connect opens an in-process connection to the broker (no TCP hop, no
// TLS), with the broker's credentials and the given options applied after
// them. With a ConfigFile whose users the broker does not know, pass
// credentials in opts.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	all := []nats.Option{nats.InProcessServer(s.ns)}
	switch {
	case s.token != "":
		all = append(all, nats.Token(s.token))
	case s.user != "":
		all = append(all, nats.UserInfo(s.user, s.password))
	}
	all = append(all, opts...)
	// The scheme decides whether nats.go insists on TLS; the in-process
	// pipe needs none.
	url := "nats://127.0.0.1"
	if a, ok := s.ns.Addr().(*net.TCPAddr); ok {
		url = "nats://" + net.JoinHostPort(hostOf(a.IP), strconv.Itoa(a.Port))
	}
	return nats.Connect(url, all...)
}

// Shutdown stops the broker, waits for it to finish and removes a store
// directory that Start created. It is safe to call more than once.
func (s *Server) Shutdown() {
	s.once.Do(func() {
		if s.stopGuards != nil {
			s.stopGuards()
		}
		if s.ns != nil {
			s.ns.Shutdown()
			s.ns.WaitForShutdown()
		}
		s.cleanup()
	})
}

func (s *Server) cleanup() {
	if s.removeDir {
		os.RemoveAll(s.storeDir)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("broker: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// validName reports whether s is a safe server, cluster or user name.
func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// userNameRule is why a user name was refused.
const userNameRule = "use letters, digits, '-' and '_', no dots: a user's connections use the inbox prefix _INBOX.<user>, " +
	"and user c's _INBOX.c would hold user c.d's _INBOX.c.d and receive its results"

// validUserName reports whether s can be a user name: a valid name that is
// one subject token, so that inbox prefixes cannot overlap.
func validUserName(s string) bool {
	return validName(s) && !strings.Contains(s, ".")
}

func validHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
		default:
			return false
		}
	}
	return s != ""
}

// hostOf returns the host to dial for a listener bound to ip: loopback
// when bound to every address.
func hostOf(ip net.IP) string {
	if ip != nil && !ip.IsUnspecified() {
		return ip.String()
	}
	return "127.0.0.1"
}
