package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ErrInvalidConfig is wrapped by every error [Start] returns for a bad Config.
var ErrInvalidConfig = errors.New("broker: invalid config")

// Config describes an embedded broker. The zero value is a loopback-only,
// authenticated, JetStream-enabled broker on a random port.
type Config struct {
	// Host is the client listen address. Default "127.0.0.1".
	Host string
	// Port is the client port. Default 0, which here means a random free
	// port (nats-server's own 0 would mean 4222).
	Port int
	// User and Password are the credentials every client must present.
	// Default: a user "procpool" with a random 128-bit password.
	User, Password string
	// StoreDir is the JetStream store directory. Default: a fresh temporary
	// directory that Shutdown removes. A directory given here is kept.
	StoreDir string
	// MaxMemory and MaxStore cap JetStream's memory and file storage in
	// bytes. Default 0: nats-server's defaults (a share of RAM and disk).
	MaxMemory, MaxStore int64
	// MaxPayload is the largest message the broker accepts, in bytes.
	// Default 0: nats-server's default of 1 MiB.
	MaxPayload int32
	// ServerName names the node in logs and in a cluster. Default: random.
	ServerName string
	// Logger receives the server's log lines. Default: slog.Default()
	// at a level that hides the server's start-up notices.
	Logger *slog.Logger
	// ReadyTimeout bounds the wait for the server to accept connections.
	// Default 10s.
	ReadyTimeout time.Duration
}

// Server is a running embedded broker.
type Server struct {
	ns        *server.Server
	user      string
	password  string
	storeDir  string
	removeDir bool

	once sync.Once
}

// Start starts an embedded broker and waits until it accepts connections,
// or until ctx ends or cfg.ReadyTimeout passes.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("%w: port %d out of range", ErrInvalidConfig, cfg.Port)
	}
	if (cfg.User == "") != (cfg.Password == "") {
		return nil, fmt.Errorf("%w: user and password go together", ErrInvalidConfig)
	}
	if cfg.MaxMemory < 0 || cfg.MaxStore < 0 || cfg.MaxPayload < 0 || cfg.ReadyTimeout < 0 {
		return nil, fmt.Errorf("%w: negative limit", ErrInvalidConfig)
	}
	s := &Server{user: cfg.User, password: cfg.Password, storeDir: cfg.StoreDir}
	if s.user == "" {
		s.user, s.password = "procpool", randomHex(16)
	}
	if s.storeDir == "" {
		dir, err := os.MkdirTemp("", "procpool-broker-")
		if err != nil {
			return nil, fmt.Errorf("broker: store dir: %w", err)
		}
		s.storeDir, s.removeDir = dir, true
	}
	host := cfg.Host
	if host == "" {
		host = "127.0.0.1"
	}
	port := cfg.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	name := cfg.ServerName
	if name == "" {
		name = "procpool-" + randomHex(4)
	}
	opts := &server.Options{
		ServerName:         name,
		Host:               host,
		Port:               port,
		NoSigs:             true,
		Username:           s.user,
		Password:           s.password,
		JetStream:          true,
		StoreDir:           s.storeDir,
		JetStreamMaxMemory: cfg.MaxMemory,
		JetStreamMaxStore:  cfg.MaxStore,
		MaxPayload:         cfg.MaxPayload,
		// Procpool's own clients reconnect; a slow one should not be cut
		// off while a worker is busy.
		WriteDeadline: 10 * time.Second,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		s.cleanup()
		return nil, fmt.Errorf("broker: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	ns.SetLoggerV2(slogAdapter{logger.With("component", "broker")}, false, false, false)
	s.ns = ns
	ns.Start()

	timeout := cfg.ReadyTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ready := make(chan bool, 1)
	go func() { ready <- ns.ReadyForConnections(timeout) }()
	select {
	case ok := <-ready:
		if !ok {
			s.Shutdown()
			return nil, fmt.Errorf("broker: not ready after %s", timeout)
		}
	case <-ctx.Done():
		s.Shutdown()
		return nil, fmt.Errorf("broker: start: %w", ctx.Err())
	}
	return s, nil
}

// ClientURL is the URL clients dial, without credentials.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// User is the user name clients must present.
func (s *Server) User() string { return s.user }

// Password is the password clients must present. Hand it to child
// processes over stdin or an inherited file, never on a command line.
func (s *Server) Password() string { return s.password }

// StoreDir is the JetStream store directory in use.
func (s *Server) StoreDir() string { return s.storeDir }

// Connect opens an in-process connection to the broker (no TCP hop), with
// the broker's credentials and the given options applied after them.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	all := append([]nats.Option{
		nats.InProcessServer(s.ns),
		nats.UserInfo(s.user, s.password),
	}, opts...)
	return nats.Connect(s.ClientURL(), all...)
}

// Shutdown stops the broker, waits for it to finish and removes a store
// directory that Start created. It is safe to call more than once.
func (s *Server) Shutdown() {
	s.once.Do(func() {
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
