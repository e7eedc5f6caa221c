package pool_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/procpool/procpool/dashboard"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// WithDashboard serves the pool's state until the pool stops (TestMain's
// goleak then finds none of its goroutines).
func TestWithDashboard(t *testing.T) {
	p := newPool(t, pool.WithProcesses(1), pool.WithName("dash"), pool.WithDashboard("127.0.0.1:0"))
	addr := p.DashboardAddr()
	if addr == "" {
		t.Fatal("DashboardAddr is empty")
	}
	testutil.WaitFor(t, 20*time.Second, "the pool's worker on its dashboard", func() bool {
		resp, err := http.Get("http://" + addr + "/api/state")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st dashboard.State
		if json.NewDecoder(resp.Body).Decode(&st) != nil || len(st.Pools) != 1 {
			return false
		}
		ws := st.Pools[0].Workers
		return st.Pools[0].Name == "dash" && !st.Control && len(ws) == 1 && ws[0].PID == p.Workers()[0].PID
	})
	if err := p.Terminate(); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get("http://" + addr + "/api/state"); err == nil {
		resp.Body.Close()
		t.Errorf("the dashboard still serves after Terminate: %s", resp.Status)
	}
}

func TestWithDashboardInvalid(t *testing.T) {
	for _, addr := range []string{"", "nowhere", "0.0.0.0:8222", ":8222", "example.com:80"} {
		if _, err := pool.New(testutil.Ctx(t, 10*time.Second), pool.WithDashboard(addr)); !errors.Is(err, pool.ErrInvalidOption) {
			t.Errorf("WithDashboard(%q): %v, want ErrInvalidOption", addr, err)
		}
	}
}
