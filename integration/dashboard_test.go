package integration

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/procpool/procpool/dashboard"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

func dashState(t *testing.T, srv *dashboard.Server) dashboard.State {
	t.Helper()
	resp, err := http.Get(srv.URL() + "api/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st dashboard.State
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// A dashboard needs no more than a pool's own credentials: with a worker
// credential of pool A (broker.WorkerPermissions, which sees A's tasks
// anyway) it sees A's remote worker, the calls A's caller makes, and
// drains the worker, without a permission error. With another caller's
// credential of pool A it sees the worker but not the calls (they carry
// other callers' failures); with B's caller it sees nothing of A.
func TestDashboardWithRoleCredentials(t *testing.T) {
	r := startSecRig(t)
	w := startWorkerProc(t, r.b.ClientURL(), "wa", "wa"+secPass, r.aName)
	ctx := testutil.Ctx(t, 90*time.Second)
	errs := make(chan error, 8)
	nc := connectRole(t, r.b.ClientURL(), "wa", errs)
	srv, err := dashboard.Start(dashboard.Config{Conn: nc, Pools: []string{r.aName}, Listen: "127.0.0.1:0", AllowControl: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	other, err := dashboard.Start(dashboard.Config{Conn: r.bCallerConn, Pools: []string{r.aName}, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	peer, err := dashboard.Start(dashboard.Config{Conn: r.aCaller2, Pools: []string{r.aName}, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })

	var id string
	testutil.WaitFor(t, 30*time.Second, "A's worker on A's dashboard", func() bool {
		ws := dashState(t, srv).Pools[0].Workers
		if len(ws) == 1 && ws[0].PID == w.pid() && ws[0].State != "dead" {
			id = ws[0].ID
			return true
		}
		return false
	})
	if _, err := pool.Map(ctx, r.a, builtin.Square, []int{1, 2, 3, 4, 5, 6, 7}, pool.WithChunksize(1)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "A's caller's Map, ended, on A's dashboard", func() bool {
		return slices.ContainsFunc(dashState(t, srv).Pools[0].Calls, func(c dashboard.Call) bool {
			return c.Ended && c.Task == builtin.Square.Name() && c.Done == 7 && c.Total == 7
		})
	})
	if ps := dashState(t, other).Pools[0]; len(ps.Workers) != 0 || len(ps.Calls) != 0 || len(ps.Callers) != 0 {
		t.Errorf("B's caller's dashboard of pool A shows %+v", ps)
	}
	testutil.WaitFor(t, 30*time.Second, "A's worker on A's second caller's dashboard", func() bool {
		return len(dashState(t, peer).Pools[0].Workers) == 1
	})
	if ps := dashState(t, peer).Pools[0]; len(ps.Calls) != 0 || len(ps.Failures) != 0 {
		t.Errorf("A's second caller's dashboard shows another caller's calls: %+v", ps.Calls)
	}

	req, _ := http.NewRequest("POST", srv.URL()+"api/drain", bytes.NewReader([]byte(`{"pool":"`+r.aName+`","worker":"`+id+`"}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Procpool-Control", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("drain: %s", resp.Status)
	}
	testutil.WaitFor(t, 30*time.Second, "the drained worker to exit", func() bool { return !w.alive() })
	testutil.WaitFor(t, 30*time.Second, "the dashboard to show it exited", func() bool {
		ws := dashState(t, srv).Pools[0].Workers
		return len(ws) == 1 && ws[0].State == "exited"
	})
	select {
	case err := <-errs:
		t.Errorf("A's caller's connection: %v", err)
	default:
	}
}
