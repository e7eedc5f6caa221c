package integration

import (
	"bytes"
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// restrictedBroker starts a broker whose users are a worker "wkr" and a
// caller "clr" of pool name, with the recommended permissions.
func restrictedBroker(t *testing.T, name string) *broker.Server {
	t.Helper()
	workerPerms, err := broker.WorkerPermissions(name, "_INBOX.wkr")
	if err != nil {
		t.Fatal(err)
	}
	callerPerms, err := broker.CallerPermissions(name, "_INBOX.clr")
	if err != nil {
		t.Fatal(err)
	}
	b := testutil.StartBroker(t, broker.Config{Users: []broker.User{
		{Name: "wkr", Password: "wkr-password-0123456789", Permissions: &workerPerms},
		{Name: "clr", Password: "clr-password-0123456789", Permissions: &callerPerms},
	}})
	return b
}

// A worker with the recommended worker permissions (no stream updates)
// that starts before any caller creates the pool's task stream itself,
// and a caller with the recommended caller permissions then uses it.
func TestRestrictedWorkerStartsFirst(t *testing.T) {
	name := poolName(t)
	b := restrictedBroker(t, name)
	start := time.Now()
	w := startWorkerProc(t, b.ClientURL(), "wkr", "wkr-password-0123456789", name)
	t.Logf("restricted worker ready in %v", time.Since(start).Round(time.Millisecond))

	p := externalPool(t, b.ClientURL(), "clr", "clr-password-0123456789", pool.WithProcesses(0))
	ctx := testutil.Ctx(t, 30*time.Second)
	got, err := pool.Apply(ctx, p, builtin.Echo, []byte("hello"))
	if err != nil || string(got) != "hello" {
		t.Fatalf("Apply through the restricted worker: %q, %v", got, err)
	}
	if !w.alive() {
		t.Fatal("worker exited")
	}
	w.kill() // before the pool's cleanup checks that no child is left
}

// Large values between a caller and a worker with the recommended
// permissions, the worker as if on another host (it cannot see the
// caller's value directory): both ways through the pool's bucket, which
// is empty afterwards.
func TestRestrictedRolesCarryLargeValues(t *testing.T) {
	name := poolName(t)
	b := restrictedBroker(t, name)
	t.Setenv("PROCPOOL_VALUE_ROOT", t.TempDir()) // the worker's "host"
	w := startWorkerProc(t, b.ClientURL(), "wkr", "wkr-password-0123456789", name)
	t.Setenv("PROCPOOL_VALUE_ROOT", t.TempDir()) // the caller's
	p := externalPool(t, b.ClientURL(), "clr", "clr-password-0123456789", pool.WithProcesses(0))
	ctx := testutil.Ctx(t, 60*time.Second)
	in := builtin.BlobBytes(3 << 20)
	got, err := pool.Apply(ctx, p, builtin.Echo, in)
	if err != nil || !bytes.Equal(got, in) {
		t.Fatalf("Apply(3 MiB) through restricted roles: %d bytes, %v", len(got), err)
	}
	waitBucketEmpty(t, p.Conn(), blob.Bucket(name))
	w.kill()
}
