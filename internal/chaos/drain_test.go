//go:build linux

package chaos

import (
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// A getter that dies holding a taken message (its connection gone, no
// hand-back) leaves the items in the queue's stream until the ack wait
// gives them back. The final drain must wait for them: the first version
// stopped at the first empty Get and reported them lost (queue-no-loss,
// seed 18 in CI).
func TestDrainWaitsForItemsOfAGoneGetter(t *testing.T) {
	srv := testutil.StartBroker(t, broker.Config{})
	ctx := testutil.Ctx(t, 60*time.Second)
	connect := func() *nats.Conn {
		nc, err := nats.Connect(srv.ClientURL(), nats.UserInfo(srv.User(), srv.Password()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	const ackWait = 4 * time.Second // longer than the drain's empty wait
	open := func(nc *nats.Conn) *pool.Queue[string] {
		q, err := pool.NewQueue[string](ctx, nc, "drain", pool.WithQueueAckWait(ackWait))
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	put := open(connect())
	want := []string{"a", "b", "c"}
	for _, v := range want {
		if err := put.Put(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := put.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	goneNC := connect()
	gone := open(goneNC)
	first, err := gone.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	goneNC.Close() // at once: before its idle hand-back (20 ms) can give the rest back

	var got []string
	start := time.Now()
	if err := drainItems(ctx, open(connect()), time.Second, func(v string) { got = append(got, v) }); err != nil {
		t.Fatalf("drain: %v", err)
	}
	for _, v := range want {
		if v != first && !slices.Contains(got, v) {
			t.Fatalf("drain got %v (the gone getter had %q): %q missing", got, first, v)
		}
	}
	if took := time.Since(start); took < ackWait/2 {
		t.Fatalf("drain took %s: the items should only have come back after the ack wait (%s)", took, ackWait)
	}
	t.Logf("drain got %v after %s (the gone getter had taken %q)", got, time.Since(start).Round(time.Millisecond), first)
}
