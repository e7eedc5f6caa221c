package dashboard_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/dashboard"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/testutil/pooltest"
	"github.com/procpool/procpool/pool"
)

func brokerConn(t *testing.T) *nats.Conn {
	t.Helper()
	b := testutil.StartBroker(t, broker.Config{})
	nc, err := nats.Connect(b.ClientURL(), nats.UserInfo(b.User(), b.Password()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func start(t *testing.T, cfg dashboard.Config) *dashboard.Server {
	t.Helper()
	srv, err := dashboard.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// Start refuses what it cannot serve safely or at all.
func TestStartRefuses(t *testing.T) {
	nc := brokerConn(t)
	for _, tc := range []struct {
		name string
		cfg  dashboard.Config
		want error
	}{
		{"no conn", dashboard.Config{Pools: []string{"p"}}, dashboard.ErrInvalidConfig},
		{"neither pools nor all", dashboard.Config{Conn: nc}, dashboard.ErrInvalidConfig},
		{"both pools and all", dashboard.Config{Conn: nc, Pools: []string{"p"}, All: true}, dashboard.ErrInvalidConfig},
		{"bad pool name", dashboard.Config{Conn: nc, Pools: []string{"a.b"}}, dashboard.ErrInvalidConfig},
		{"bad address", dashboard.Config{Conn: nc, Pools: []string{"p"}, Listen: "nowhere"}, dashboard.ErrInvalidConfig},
		{"every interface, no token", dashboard.Config{Conn: nc, Pools: []string{"p"}, Listen: ":0"}, dashboard.ErrTokenRequired},
		{"an address, no token", dashboard.Config{Conn: nc, Pools: []string{"p"}, Listen: "0.0.0.0:0"}, dashboard.ErrTokenRequired},
		{"token with a space", dashboard.Config{Conn: nc, Pools: []string{"p"}, Token: "a b"}, dashboard.ErrInvalidConfig},
	} {
		srv, err := dashboard.Start(tc.cfg)
		if err == nil {
			srv.Close()
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: Start = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func get(t *testing.T, url string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// Without a token, only requests naming a loopback host are served (a
// page on another site cannot rebind its name to the dashboard); with one,
// every request needs it, and the page takes it once in its URL.
func TestHostAndToken(t *testing.T) {
	nc := brokerConn(t)
	open := start(t, dashboard.Config{Conn: nc, Pools: []string{"p"}, Listen: "127.0.0.1:0"})
	if r := get(t, open.URL(), nil); r.StatusCode != http.StatusOK {
		t.Errorf("loopback page: %s", r.Status)
	}
	if r := get(t, open.URL(), map[string]string{"Host": "evil.example:80"}); r.StatusCode != http.StatusForbidden {
		t.Errorf("page for Host evil.example: %s, want 403", r.Status)
	}
	if r := get(t, open.URL(), nil); r.Header.Get("Content-Security-Policy") == "" || r.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("page headers: %v", r.Header)
	}

	const token = "s3cret-t0ken"
	locked := start(t, dashboard.Config{Conn: nc, Pools: []string{"p"}, Listen: "127.0.0.1:0", Token: token})
	for _, path := range []string{"", "events", "api/state", "assets/app.js"} {
		if r := get(t, locked.URL()+path, nil); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("/%s without the token: %s, want 401", path, r.Status)
		}
	}
	if r := get(t, locked.URL()+"?token=wrong", nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("page with a wrong token: %s, want 401", r.Status)
	}
	r := get(t, locked.URL()+"?token="+token, map[string]string{"Host": "dash.example:8222"})
	if r.StatusCode != http.StatusSeeOther || len(r.Cookies()) != 1 || !r.Cookies()[0].HttpOnly {
		t.Fatalf("page with the token: %s, cookies %v; want a redirect setting an HttpOnly cookie", r.Status, r.Cookies())
	}
	cookie := r.Cookies()[0]
	if r := get(t, locked.URL()+"api/state", map[string]string{"Cookie": cookie.Name + "=" + cookie.Value}); r.StatusCode != http.StatusOK {
		t.Errorf("state with the cookie: %s", r.Status)
	}
	if r := get(t, locked.URL()+"api/state", map[string]string{"Authorization": "Bearer " + token}); r.StatusCode != http.StatusOK {
		t.Errorf("state with the bearer token: %s", r.Status)
	}
}

// The event stream sends the state as it changes, and the state is the
// pool's (here a pool with no workers: its queue cannot be read).
func TestEventsStream(t *testing.T) {
	nc := brokerConn(t)
	srv := start(t, dashboard.Config{Conn: nc, Pools: []string{"nopool"}, Listen: "127.0.0.1:0", Interval: 200 * time.Millisecond})
	req, err := http.NewRequestWithContext(testutil.Ctx(t, 20*time.Second), "GET", srv.URL()+"events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events: Content-Type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	var states []dashboard.State
	for len(states) < 3 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading events: %v (after %d states)", err, len(states))
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var st dashboard.State
			if err := json.Unmarshal([]byte(data), &st); err != nil {
				t.Fatalf("event data: %v: %s", err, data)
			}
			states = append(states, st)
		}
	}
	last := states[len(states)-1]
	if len(last.Pools) != 1 || last.Pools[0].Name != "nopool" || last.Pools[0].Queue.Error == "" || last.Control {
		t.Errorf("state %+v: want pool nopool, a queue error, no control", last)
	}
	if !last.Time.After(states[0].Time) || len(last.Pools[0].Series.T) <= len(states[0].Pools[0].Series.T) {
		t.Errorf("states do not advance: %v then %v", states[0].Time, last.Time)
	}
}

// With All, the dashboard shows every pool it hears from, with its workers.
func TestAllPools(t *testing.T) {
	p := pooltest.New(t, 60*time.Second, nil, pool.WithName("dashall"), pool.WithProcesses(1))
	srv := start(t, dashboard.Config{Conn: p.Conn(), All: true, Listen: "127.0.0.1:0"})
	testutil.WaitFor(t, 30*time.Second, "pool dashall and its worker", func() bool {
		resp, err := http.Get(srv.URL() + "api/state")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st dashboard.State
		if json.NewDecoder(resp.Body).Decode(&st) != nil {
			return false
		}
		for _, ps := range st.Pools {
			if ps.Name == "dashall" && len(ps.Workers) == 1 && ps.Workers[0].PID == p.Workers()[0].PID && ps.Queue.Error == "" {
				return true
			}
		}
		return false
	})
}
