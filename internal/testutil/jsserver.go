package testutil

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// JetStreamServer starts a bare nats-server with JetStream, storing in
// dir, on 127.0.0.1:port (server.RANDOM_PORT for any), without
// authentication: for a test that stops and restarts a broker on the same
// port and store, or disables its JetStream, which the procpool broker
// does not offer. It is shut down when the test ends.
func JetStreamServer(tb testing.TB, dir string, port int) *server.Server {
	tb.Helper()
	return NATSServer(tb, &server.Options{Port: port, JetStream: true, StoreDir: dir})
}

// NATSServer starts a bare nats-server with opts on 127.0.0.1, quiet and
// without signal handlers (a zero Port: any free port), and shuts it down
// when the test ends: for a server the procpool broker would not run, such
// as one without JetStream or with hand-made users.
func NATSServer(tb testing.TB, opts *server.Options) *server.Server {
	tb.Helper()
	o := *opts
	o.Host, o.NoSigs, o.NoLog = "127.0.0.1", true, true
	if o.Port == 0 {
		o.Port = server.RANDOM_PORT
	}
	ns, err := server.NewServer(&o)
	if err != nil {
		tb.Fatal(err)
	}
	ns.Start()
	tb.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		tb.Fatal("server not ready")
	}
	return ns
}
