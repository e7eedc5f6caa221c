package integration

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// A task the broker never confirms (the caller's connection cut for
// longer than the publish retries) fails with a typed error,
// pool.ErrUnavailable, not an untyped one; once the connection is back,
// calls succeed again.
func TestTaskNotConfirmedIsErrUnavailable(t *testing.T) {
	b := testutil.StartBroker(t, broker.Config{})
	px := newProxy(t, strings.TrimPrefix(b.ClientURL(), "nats://"))
	p := externalPool(t, px.URL(), b.User(), b.Password(), pool.WithProcesses(0))
	startWorkerProc(t, b.ClientURL(), b.User(), b.Password(), p.Name())
	ctx := testutil.Ctx(t, 3*time.Minute)
	if _, err := pool.Apply(ctx, p, builtin.Upper, "before"); err != nil {
		t.Fatal(err)
	}
	px.Cut()
	start := time.Now()
	_, err := pool.Apply(ctx, p, builtin.Upper, "during")
	if !errors.Is(err, pool.ErrUnavailable) {
		t.Fatalf("Apply with the broker out of reach for good: %v, want pool.ErrUnavailable", err)
	}
	t.Logf("failed after %s: %v", time.Since(start).Round(time.Second), err)
	px.Restore()
	testutil.WaitFor(t, 60*time.Second, "a call to succeed once the connection is back", func() bool {
		got, err := pool.Apply(ctx, p, builtin.Upper, "after")
		return err == nil && got == "AFTER"
	})
}
