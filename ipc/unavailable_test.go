package ipc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/ipc"
	"github.com/procpool/procpool/pool"
)

// On a broker whose JetStream does not answer (here: a NATS server with
// none), queues and pipes fail with ipc.ErrUnavailable (also
// pool.ErrUnavailable), not with a bare NATS error, and the text still
// says what happened.
func TestUnavailableBrokerIsErrUnavailable(t *testing.T) {
	ns := testutil.NATSServer(t, &server.Options{}) // no JetStream
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	_, qerr := ipc.NewQueue[string](ctx, nc, "nojs")
	_, _, perr := ipc.NewPipe[string](ctx, nc)
	_, oerr := ipc.OpenPipe[string](ctx, nc, "abc.a")
	for what, err := range map[string]error{"NewQueue": qerr, "NewPipe": perr, "OpenPipe": oerr} {
		if !errors.Is(err, ipc.ErrUnavailable) || !errors.Is(err, pool.ErrUnavailable) {
			t.Errorf("%s without JetStream: %v, want ipc.ErrUnavailable", what, err)
		}
		if !errors.Is(err, nats.ErrNoResponders) && !errors.Is(err, nats.ErrJetStreamNotEnabled) {
			t.Logf("%s: %v (the NATS error underneath)", what, err)
		}
	}
	// The control: an error that is not the broker's stays as it was.
	if _, err := ipc.NewQueue[string](ctx, nc, "bad name!"); errors.Is(err, ipc.ErrUnavailable) || !errors.Is(err, ipc.ErrInvalidArgument) {
		t.Errorf("a bad name: %v, want ErrInvalidArgument only", err)
	}
}
