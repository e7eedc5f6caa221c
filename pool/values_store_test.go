package pool

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/wire"
)

// An argument too large for a message that the broker cannot store (its
// JetStream gone, as a cluster without a leader, or the connection
// dropped) fails the call as unavailable, like the task's own publish:
// a chaos run (issue 18) got an untyped "store a …-byte argument: …
// server is disconnected".
func TestStoreTaskBrokerUnavailableIsTyped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	big := bytes.Repeat([]byte("x"), 64<<10)
	storeVia := func(url string) (*wire.Ref, error) {
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		vals := blob.NewValues(js, blob.Bucket("store"), blob.ObjectsConfig{TTL: time.Hour})
		t.Cleanup(vals.Close)
		d := &dispatcher{vals: vals, inline: 1 << 10}
		return d.storeTask(ctx, "t", big)
	}

	// The control: with JetStream there, it is stored.
	up := testutil.JetStreamServer(t, t.TempDir(), server.RANDOM_PORT)
	if ref, err := storeVia(up.ClientURL()); err != nil || ref == nil {
		t.Fatalf("store with JetStream up: %v, %v", ref, err)
	}
	// A broker that answers no JetStream request ("no responders", as a
	// node whose JetStream is down): refused for the value store's 5 s
	// of retries, then unavailable.
	bare := testutil.NATSServer(t, &server.Options{}) // no JetStream
	_, err := storeVia(bare.ClientURL())
	if !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
		t.Fatalf("store without JetStream: %v, want ErrUnavailable before the context's end", err)
	}
	t.Logf("%v", err)
}
