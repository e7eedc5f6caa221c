package broker_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/testutil"
)

// testLogger returns a logger that writes warnings and errors to the
// test's output until the test's cleanups have run.
func testLogger(t testing.TB) *slog.Logger {
	t.Helper()
	w := &testWriter{w: t.Output()}
	t.Cleanup(w.close) // registered first, so it runs after the brokers stop
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return len(p), nil
	}
	return w.w.Write(p)
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// startRefused starts a broker with cfg, which Start must refuse with
// ErrInvalidConfig, and returns Start's error. accepted says what Start
// would have accepted otherwise.
func startRefused(t testing.TB, ctx context.Context, cfg broker.Config, accepted string) error {
	t.Helper()
	b, err := broker.Start(ctx, cfg)
	if err == nil {
		b.Shutdown()
		t.Fatal("Start accepted " + accepted)
	}
	if !errors.Is(err, broker.ErrInvalidConfig) {
		t.Fatalf("want ErrInvalidConfig, got %v", err)
	}
	return err
}

// start starts a broker with cfg and shuts it down when the test ends.
func start(t testing.TB, cfg broker.Config) *broker.Server {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(b.Shutdown)
	return b
}

// connect opens a TCP connection to url and closes it when the test ends.
func connect(t testing.TB, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, append([]nats.Option{nats.Timeout(5 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// inProcess opens an in-process connection to b, closed when the test ends.
func inProcess(t testing.TB, b *broker.Server, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := b.Connect(opts...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// startCluster starts n nodes on loopback that all route to each other,
// lets edit adjust each node's Config, and waits until every node sees the
// whole cluster and JetStream has a meta leader.
func startCluster(t testing.TB, n int, edit func(i int, cfg *broker.Config)) []*broker.Server {
	t.Helper()
	ports := testutil.FreePorts(t, n)
	var routes []string
	for _, p := range ports {
		routes = append(routes, "nats-route://127.0.0.1:"+strconv.Itoa(p))
	}
	logger := testLogger(t)
	nodes := make([]*broker.Server, n)
	for i := range n {
		cfg := broker.Config{
			ServerName:    "node-" + strconv.Itoa(i+1),
			ClusterName:   "test",
			ClusterListen: "127.0.0.1:" + strconv.Itoa(ports[i]),
			Routes:        routes,
			User:          "admin",
			Password:      "admin-secret",
			StoreDir:      t.TempDir(),
			Logger:        logger,
		}
		if edit != nil {
			edit(i, &cfg)
		}
		nodes[i] = start(t, cfg)
	}
	testutil.WaitFor(t, 30*time.Second, "cluster to form", func() bool {
		for _, b := range nodes {
			if b.ClusterSize() != n {
				return false
			}
		}
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, b := range nodes {
		if err := b.JetStreamReady(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return nodes
}
