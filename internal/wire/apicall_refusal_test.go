package wire_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/wire"
)

// A JetStream API request that the connection's permissions refuse gets
// no answer, only an asynchronous error. APICall returns that refusal as
// soon as it comes, each time it is asked, rather than wait out its
// attempt and window (about 55 s) as if the cluster were electing.
func TestAPICallReturnsPermissionRefusal(t *testing.T) {
	ns := testutil.NATSServer(t, &server.Options{JetStream: true, StoreDir: t.TempDir(),
		Users: []*server.User{{Username: "limited", Password: "limited-password", Permissions: &server.Permissions{
			Publish: &server.SubjectPermission{Allow: []string{">"}, Deny: []string{"$JS.API.STREAM.CREATE.>"}},
		}}}})
	nc, err := nats.Connect(ns.ClientURL(), nats.UserInfo("limited", "limited-password"),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})) // the refusals are expected
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	create := func(ctx context.Context) error {
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "DENIED", Subjects: []string{"denied.>"}, Storage: jetstream.MemoryStorage})
		return err
	}

	// Twice: the second refusal has the same text as the first, and must
	// be seen as new all the same.
	for round := 1; round <= 2; round++ {
		start := time.Now()
		err := wire.APICall(ctx, js, create)
		took := time.Since(start)
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Fatalf("round %d: %v after %s, want the permissions violation", round, err, took)
		}
		if took > 5*time.Second {
			t.Fatalf("round %d: the refusal came after %s, want it within a few polls", round, took)
		}
		t.Logf("round %d: %v after %s", round, err, took.Round(time.Millisecond))
	}

	// A permitted request on the same connection, after the refusals, is
	// answered as usual.
	if err := wire.APICall(ctx, js, func(ctx context.Context) error { _, err := js.AccountInfo(ctx); return err }); err != nil {
		t.Fatalf("a permitted request after the refusals: %v", err)
	}

	// The control: without the handle to watch, the refused request looks
	// like one lost to an election, and only the context ends it.
	short, stop := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer stop()
	if err := wire.APICall(short, nil, create); errors.Is(err, nats.ErrPermissionViolation) || short.Err() == nil {
		t.Fatalf("unwatched: %v with the context still live, want it to run to the context's end", err)
	}
}
