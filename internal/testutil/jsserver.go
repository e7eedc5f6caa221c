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
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoSigs: true, NoLog: true,
		JetStream: true, StoreDir: dir})
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
