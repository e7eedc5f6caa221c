package worker

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/testutil"
)

// brokerConns starts an embedded broker for the test and returns n
// connections to it; all are closed at cleanup.
func brokerConns(t *testing.T, n int) []*nats.Conn {
	t.Helper()
	b := testutil.StartBroker(t, broker.Config{})
	conns := make([]*nats.Conn, n)
	for i := range conns {
		var err error
		if conns[i], err = b.Connect(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(conns[i].Close)
	}
	return conns
}
