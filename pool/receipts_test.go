package pool

import (
	"log/slog"
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/testutil"
)

// A receipt asked for at once goes out while others wait their delay:
// results of long tasks do not cost the caller a wakeup of their own.
func TestReceiptAtOnceOrDelayed(t *testing.T) {
	nc, err := testutil.StartBroker(t, broker.Config{Logger: slog.New(slog.DiscardHandler)}).Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sub, err := nc.SubscribeSync("receipt.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	r := newReceipter(nc)
	r.delay = time.Hour // nothing delayed goes out during the test

	r.add("receipt.short", false)
	r.add("receipt.long", true)
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("receipt asked for at once: %v", err)
	}
	if m.Subject != "receipt.long" {
		t.Fatalf("first receipt out was %s, want receipt.long", m.Subject)
	}
	if m, err := sub.NextMsg(200 * time.Millisecond); err == nil {
		t.Fatalf("%s went out before its delay", m.Subject)
	}
	r.close() // sends what waits
	if m, err := sub.NextMsg(5 * time.Second); err != nil || m.Subject != "receipt.short" {
		t.Fatalf("delayed receipt at close: %v, %v", m, err)
	}
}
