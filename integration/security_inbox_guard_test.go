package integration

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/ipc"
	"github.com/procpool/procpool/pool"
)

// Row 4, the callers' half: a caller may create streams (its queues and
// pipes are streams), so nothing in its permissions can stop it naming
// another caller's inboxes as a stream's subjects and reading their
// results. The broker's inbox guard (broker.InboxGuardStream) makes
// JetStream refuse every such stream. On the code before the guard, the
// first attempt below succeeded.
func TestSecurityCallerCannotCaptureInboxes(t *testing.T) {
	r := startSecRig(t)
	ctx := testutil.Ctx(t, 60*time.Second)
	spy := jsOf(t, r.aCaller2) // the second caller of pool A; the victim is A's caller "ca"
	for _, subject := range []string{
		"_INBOX.>", "_INBOX.*.>", "_INBOX.ca.>", "_INBOX.ca.*", "_INBOX.ca.*.*", "_INBOX.ca.*.*.*",
		"_INBOX.*.*.*", "_INBOX.wa.>", "_INBOX.ca.*.>",
	} {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := spy.CreateStream(cctx, jetstream.StreamConfig{Name: "SPY", Subjects: []string{subject}, Storage: jetstream.MemoryStorage})
		cancel()
		if err == nil {
			t.Fatalf("A's second caller created a stream on %s", subject)
		}
	}
	if _, err := spy.Stream(ctx, "SPY"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("the spy stream: %v, want not found", err)
	}

	// Its own queue's stream cannot be widened onto inboxes either.
	q, err := ipc.NewQueue[string](ctx, r.aCaller2, "guarded")
	if err != nil {
		t.Fatalf("the control: A's second caller makes a queue: %v", err)
	}
	defer q.Close()
	var queueStream string
	for name := range spy.StreamNames(ctx).Name() {
		if name != broker.InboxGuardStream && name != "PROCPOOL_"+r.aName {
			queueStream = name
		}
	}
	st, err := spy.Stream(ctx, queueStream)
	if err != nil {
		t.Fatalf("queue stream %q: %v", queueStream, err)
	}
	cfg := st.CachedInfo().Config
	cfg.Subjects = append(cfg.Subjects, "_INBOX.ca.>")
	if _, err := spy.UpdateStream(ctx, cfg); err == nil {
		t.Fatalf("A's second caller widened %s onto A's caller's inboxes", queueStream)
	}

	// Nor can it remove the guard or take its name.
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second) // refused by permissions: no reply comes
	defer cancel()
	if err := spy.DeleteStream(dctx, broker.InboxGuardStream); err == nil {
		t.Fatal("A's second caller deleted the inbox guard")
	}
	if g, err := jsOf(t, r.aWorkerConn).Stream(ctx, broker.InboxGuardStream); err != nil {
		t.Fatalf("the guard is gone: %v", err)
	} else if n := g.CachedInfo().State.Msgs; n != 0 {
		t.Fatalf("the guard holds %d messages; nothing should reach it", n)
	}

	// The control: results still reach A's caller, through the guard's account.
	w := startWorkerProc(t, r.b.ClientURL(), "wa", "wa"+secPass, r.aName)
	defer w.kill()
	if got, err := pool.Apply(ctx, r.a, builtin.Upper, "guarded"); err != nil || got != "GUARDED" {
		t.Fatalf("Apply with the guard in place: %q, %v", got, err)
	}
}

// Row 4, by name: a worker may create the pool's own streams by name (it
// may start before any caller), and creation by name is creation with
// any subjects. Before the guard, a worker that came first could make the
// value bucket's or the primitives' bucket's stream on _INBOX.>.
func TestSecurityWorkerCannotCaptureInboxesByName(t *testing.T) {
	r := startSecRig(t)
	ctx := testutil.Ctx(t, 60*time.Second)
	js := jsOf(t, r.aWorkerConn)
	for _, name := range []string{"OBJ_procpool_" + r.aName, "KV_PROCPOOL_SYNC"} {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := js.CreateStream(cctx, jetstream.StreamConfig{Name: name, Subjects: []string{"_INBOX.>"}, Storage: jetstream.MemoryStorage})
		cancel()
		if err == nil {
			t.Fatalf("A's worker created %s on _INBOX.>", name)
		}
	}
	// The control: the same names, made as the pool makes them, work.
	if _, err := ipc.NewLock(ctx, r.aWorkerConn, "by-name"); err != nil {
		t.Fatalf("A's worker makes a lock (and so KV_PROCPOOL_SYNC): %v", err)
	}
}
