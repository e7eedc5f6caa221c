package integration

import (
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// A worker asked to stop gracefully (SIGTERM, or the stop line on
// Windows) finishes the task in hand: the stop does not reach the task as
// its own cancellation. builtin.Sleep returns ctx.Err() when its context
// ends; it used to answer "context canceled" to the caller, and a task
// fetching a stored argument answered bad_input.
func TestGracefulStopFinishesTaskInHand(t *testing.T) {
	b := testutil.StartBroker(t, broker.Config{})
	p := externalPool(t, b.ClientURL(), b.User(), b.Password(), pool.WithProcesses(0))
	w := startWorkerProc(t, b.ClientURL(), b.User(), b.Password(), p.Name())
	ctx := testutil.Ctx(t, 30*time.Second)
	res := pool.ApplyAsync(ctx, p, builtin.Sleep, 2*time.Second)
	testutil.WaitFor(t, 10*time.Second, "the worker busy with the task", func() bool {
		for _, wi := range p.Workers() {
			if wi.Busy {
				return true
			}
		}
		return false
	})
	w.child.Stop()
	who, err := res.Get(20 * time.Second)
	if err != nil || who.PID != w.pid() {
		t.Fatalf("the task in hand at the stop: %+v, %v; want it finished by worker %d", who, err, w.pid())
	}
	select {
	case <-w.child.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not exit after finishing its task")
	}
}
