package broker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/wire"
)

// errCodeSubjectOverlap is JetStream's "subjects overlap with an
// existing stream" (nats-server's JSStreamSubjectOverlapErr).
const errCodeSubjectOverlap = 10065

// The inbox guard on a cluster: each node tries until the cluster has a
// JetStream leader; then a caller of the pool cannot make a stream that
// would capture another caller's inboxes, whichever node it is on.
func TestInboxGuardOnCluster(t *testing.T) {
	users := func() []broker.User {
		var us []broker.User
		for _, name := range []string{"c1", "c2"} {
			p, err := broker.CallerPermissions("guarded", "_INBOX."+name)
			if err != nil {
				t.Fatal(err)
			}
			us = append(us, broker.User{Name: name, Password: name + "-secret-password", Permissions: &p})
		}
		return us
	}
	nodes := startCluster(t, 3, func(_ int, cfg *broker.Config) { cfg.Users = users() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	nc := connect(t, nodes[2].ClientURL(), nats.UserInfo("c2", "c2-secret-password"), nats.CustomInboxPrefix("_INBOX.c2"))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// Each lookup has its own bound: a request sent while the cluster
	// elects a meta leader gets no answer at all, and one such request
	// given the whole test's context failed CI with the guard in place.
	for {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := js.Stream(sctx, broker.InboxGuardStream)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the guard never appeared: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // poll interval, bounded by ctx
	}
	for _, subject := range []string{"_INBOX.>", "_INBOX.c1.>", "_INBOX.c1.*.*"} {
		// The refusal must be JetStream's overlap error: an attempt lost
		// to an election is asked again, not taken for a refusal.
		err := wire.APICall(ctx, js, func(ctx context.Context) error {
			_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SPY", Subjects: []string{subject}, Storage: jetstream.MemoryStorage})
			return err
		})
		if err == nil {
			t.Fatalf("c2 created a stream on %s", subject)
		}
		if api := (*jetstream.APIError)(nil); !errors.As(err, &api) || api.ErrorCode != errCodeSubjectOverlap {
			t.Fatalf("a stream on %s: %v, want JetStream's subject overlap refusal (%d)", subject, err, errCodeSubjectOverlap)
		}
	}
	// The control: an ordinary stream (a queue's) is still allowed.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "OWN", Subjects: []string{"procpool.queue.own.>"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatalf("c2's own stream: %v", err)
	}
}
