package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/dashboard"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

func TestDashboardRefuses(t *testing.T) {
	t.Setenv("PROCPOOL_URL", "")
	t.Setenv("PROCPOOL_DASHBOARD_TOKEN", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dashboard"}, "--url"},
		{[]string{"dashboard", "--url", "nats://127.0.0.1:1", "--pool", "a", "--all"}, "exclude"},
	} {
		var out, errOut bytes.Buffer
		if code := run(tc.args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut.String(), tc.want)
		}
	}
}

// procpool dashboard serves its pool's state; off loopback it wants a token.
func TestDashboardServes(t *testing.T) {
	b := testutil.StartBroker(t, broker.Config{})
	ctx := testutil.Ctx(t, 60*time.Second)
	p, err := pool.New(ctx, pool.WithBroker(b.ClientURL()), pool.WithCredentials(b.User(), b.Password()),
		pool.WithName("dashcli"), pool.WithProcesses(2))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Terminate()

	env := func() {
		t.Setenv("PROCPOOL_USER", b.User())
		t.Setenv("PROCPOOL_PASSWORD", b.Password()) // each command takes it out of the environment
		t.Setenv("PROCPOOL_DASHBOARD_TOKEN", "")
	}
	env()
	var out, errOut testutil.SyncBuffer
	if code := dispatch(ctx, "dashboard", []string{"--url", b.ClientURL(), "--pool", "dashcli", "--listen", "0.0.0.0:0"}, &out, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), dashboard.ErrTokenRequired.Error()) {
		t.Errorf("dashboard on 0.0.0.0 without a token: exit %d, stderr %q", code, errOut.String())
	}

	env()
	dctx, cancel := context.WithCancel(ctx)
	code := make(chan int, 1)
	go func() {
		code <- dispatch(dctx, "dashboard", []string{"--url", b.ClientURL(), "--pool", "dashcli", "--listen", "127.0.0.1:0"}, &out, &errOut)
	}()
	urlRE := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`)
	testutil.WaitFor(t, 20*time.Second, "the dashboard's address", func() bool { return urlRE.MatchString(out.String()) })
	url := urlRE.FindString(out.String())
	testutil.WaitFor(t, 20*time.Second, "both workers in the state", func() bool {
		resp, err := http.Get(url + "api/state")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st dashboard.State
		if json.NewDecoder(resp.Body).Decode(&st) != nil || len(st.Pools) != 1 {
			return false
		}
		return st.Pools[0].Name == "dashcli" && len(st.Pools[0].Workers) == 2 && !st.Control
	})
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("dashboard exited %d: %s", c, errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("dashboard did not stop with its context")
	}
}

// procpool status shows a Map in flight, as its caller reports it.
func TestStatusShowsCalls(t *testing.T) {
	b := testutil.StartBroker(t, broker.Config{})
	ctx := testutil.Ctx(t, 60*time.Second)
	p, err := pool.New(ctx, pool.WithBroker(b.ClientURL()), pool.WithCredentials(b.User(), b.Password()),
		pool.WithName("stcalls"), pool.WithProcesses(2))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Terminate()
	naps := make([]time.Duration, 40)
	for i := range naps {
		naps[i] = 250 * time.Millisecond
	}
	started := make(chan struct{}, 1)
	mapErr := make(chan error, 1)
	go func() {
		_, err := pool.Map(ctx, p, builtin.Sleep, naps, pool.WithChunksize(1), pool.WithProgress(func(pr pool.Progress) {
			if pr.Done > 0 {
				select {
				case started <- struct{}{}:
				default:
				}
			}
		}))
		mapErr <- err
	}()
	select {
	case <-started:
	case err := <-mapErr:
		t.Fatalf("Map ended before status ran: %v", err)
	}
	t.Setenv("PROCPOOL_USER", b.User())
	t.Setenv("PROCPOOL_PASSWORD", b.Password())
	var out, errOut bytes.Buffer
	if code := run([]string{"status", "--url", b.ClientURL(), "--pool", "stcalls", "--json"}, &out, &errOut); code != 0 {
		t.Fatalf("status --json: exit %d: %s", code, errOut.String())
	}
	var rep statusReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(rep.Calls) != 1 || rep.Calls[0].Kind != "map" || rep.Calls[0].Task != builtin.Sleep.Name() || rep.Calls[0].Total != 40 || rep.Calls[0].Done >= 40 {
		t.Errorf("status calls %+v, want the Map of 40 in flight", rep.Calls)
	}
	if len(rep.Workers) != 2 {
		t.Errorf("status: %d workers, want 2", len(rep.Workers))
	}
	if err := <-mapErr; err != nil {
		t.Fatal(err)
	}
}
