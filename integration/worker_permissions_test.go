package integration

import (
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/pool"
)

// A worker with the recommended worker permissions (no stream updates)
// that starts before any caller creates the pool's task stream itself,
// and a caller with the recommended caller permissions then uses it.
func TestRestrictedWorkerStartsFirst(t *testing.T) {
	name := poolName(t)
	workerPerms, err := broker.WorkerPermissions(name, "_INBOX.wkr")
	if err != nil {
		t.Fatal(err)
	}
	callerPerms, err := broker.CallerPermissions(name, "_INBOX.clr")
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, broker.Config{Users: []broker.User{
		{Name: "wkr", Password: "wkr-password-0123456789", Permissions: &workerPerms},
		{Name: "clr", Password: "clr-password-0123456789", Permissions: &callerPerms},
	}})
	start := time.Now()
	w := startWorkerProc(t, b.ClientURL(), "wkr", "wkr-password-0123456789", name)
	t.Logf("restricted worker ready in %v", time.Since(start).Round(time.Millisecond))

	p := externalPool(t, b.ClientURL(), "clr", "clr-password-0123456789", pool.WithProcesses(0))
	ctx := testCtx(t, 30*time.Second)
	got, err := pool.Apply(ctx, p, builtin.Echo, []byte("hello"))
	if err != nil || string(got) != "hello" {
		t.Fatalf("Apply through the restricted worker: %q, %v", got, err)
	}
	if !w.alive() {
		t.Fatal("worker exited")
	}
	w.kill() // before the pool's cleanup checks that no child is left
}
