package pool_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

var getenv = worker.Register("test.getenv", func(ctx context.Context, name string) (string, error) {
	return os.Getenv(name), nil
})

// TestWorkersInheritNoSecrets: a program that keeps PROCPOOL_TOKEN or
// PROCPOOL_PASSWORD in its environment does not hand them to its worker
// processes, so task code cannot read them; other variables pass.
func TestWorkersInheritNoSecrets(t *testing.T) {
	t.Setenv("PROCPOOL_TOKEN", "tok-should-not-leak")
	t.Setenv("PROCPOOL_PASSWORD", "pw-should-not-leak")
	t.Setenv("PROCPOOL_TEST_PLAIN", "plain")
	p := newPool(t, pool.WithProcesses(1))
	ctx := testutil.Ctx(t, 30*time.Second)
	for name, want := range map[string]string{"PROCPOOL_TOKEN": "", "PROCPOOL_PASSWORD": "", "PROCPOOL_TEST_PLAIN": "plain"} {
		if got, err := pool.Apply(ctx, p, getenv, name); err != nil || got != want {
			t.Fatalf("%s in a worker = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := pool.New(ctx, pool.WithCredentials("c.d", "x")); err == nil {
		t.Fatal("WithCredentials accepted a dotted user name")
	}
}
