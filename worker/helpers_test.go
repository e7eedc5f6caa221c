package worker

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/broker"
)

// startBroker starts an embedded broker for the test and returns n
// connections to it; all are closed at cleanup.
func startBroker(t *testing.T, ctx context.Context, n int) []*nats.Conn {
	t.Helper()
	b, err := broker.Start(ctx, broker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	conns := make([]*nats.Conn, n)
	for i := range conns {
		if conns[i], err = b.Connect(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(conns[i].Close)
	}
	return conns
}
