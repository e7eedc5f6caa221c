package dashboard_test

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/dashboard"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/testutil/pooltest"
	"github.com/procpool/procpool/pool"
)

// pageWorker is a worker row of the page.
type pageWorker struct {
	ID    string `json:"id"`
	PID   int    `json:"pid"`
	State string `json:"state"`
}

const workersJS = `[...document.querySelectorAll('tr.worker')].map(r => ({id: r.dataset.id, pid: +r.dataset.pid, state: r.dataset.state}))`

func rowOf(ws []pageWorker, pid int) (pageWorker, bool) {
	for _, w := range ws {
		if w.PID == pid {
			return w, true
		}
	}
	return pageWorker{}, false
}

func pids(p *pool.Pool) []int {
	var out []int
	for _, w := range p.Workers() {
		out = append(out, w.PID)
	}
	return out
}

// The page of pool.WithDashboard, in a real browser, against a real pool
// of two worker processes: it lists every worker with its pid; a Map of
// 3000 short tasks shows its progress reach 100% while the throughput chart
// gains points; a failed task shows in Failures with its message; a worker
// SIGKILLed is marked dead and its replacement appears; and the page,
// read-only, has no control actions (the endpoint is absent too).
func TestPageWorkersMapFailuresDeath(t *testing.T) {
	const name = "dashpage"
	p := pooltest.New(t, 60*time.Second, nil, pool.WithName(name), pool.WithProcesses(2), pool.WithDashboard("127.0.0.1:0"))
	ctx := testutil.Ctx(t, 3*time.Minute)
	browser := newBrowser(t)
	open(t, browser, "http://"+p.DashboardAddr()+"/", name)

	// Every worker, with its pid, alive.
	want := pids(p)
	if len(want) != 2 {
		t.Fatalf("pool has workers %v, want 2", want)
	}
	waitJS(t, browser, 30*time.Second, "a row per worker", workersJS, func(ws []pageWorker) bool {
		for _, pid := range want {
			if w, ok := rowOf(ws, pid); !ok || w.State == "dead" {
				return false
			}
		}
		return true
	})

	// Read-only: no drain button, no control endpoint.
	if n := evalJS[int](t, browser, `document.querySelectorAll('button.drain').length`); n != 0 {
		t.Errorf("read-only page shows %d drain buttons", n)
	}
	if mode := evalJS[string](t, browser, `document.getElementById('mode').textContent`); mode != "read-only" {
		t.Errorf("mode %q, want read-only", mode)
	}
	resp, err := http.Post("http://"+p.DashboardAddr()+"/api/drain", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/drain on a read-only dashboard: %s, want it absent", resp.Status)
	}

	// A Map of 3000 short tasks: progress to 100%, the chart gains points.
	chartJS := `(() => { const c = window.procpool.charts["` + name + `"]; return c ? c.rate.data[0].length : 0 })()`
	before := evalJS[int](t, browser, chartJS)
	items := make([]int, 3000)
	for i := range items {
		items[i] = 1 // ms
	}
	if _, err := pool.Map(ctx, p, nap, items, pool.WithChunksize(10)); err != nil {
		t.Fatalf("Map: %v", err)
	}
	type call struct {
		Done, Total int
		Ended       string
		Label       string
	}
	callJS := `[...document.querySelectorAll('tr.call')].map(r => ({done: +r.dataset.done, total: +r.dataset.total, ended: r.dataset.ended, label: r.querySelector('.label').textContent}))`
	waitJS(t, browser, 30*time.Second, "the Map's progress at 100%", callJS, func(cs []call) bool {
		return slices.ContainsFunc(cs, func(c call) bool {
			return c.Total == 3000 && c.Done == 3000 && c.Ended == "true" && strings.Contains(c.Label, "100%")
		})
	})
	type chart struct {
		Points int     `json:"points"`
		Max    float64 `json:"max"`
	}
	waitJS(t, browser, 30*time.Second, "throughput points above zero",
		`(() => { const u = window.procpool.charts["`+name+`"].rate; return {points: u.data[0].length, max: Math.max(0, ...u.data[1])} })()`,
		func(c chart) bool { return c.Points > before && c.Max > 0 })

	// A failed task, in Failures with its message.
	const msg = "dashboard test failure 7f3a"
	if _, err := pool.Apply(ctx, p, fail, msg); err == nil {
		t.Fatal("Apply(fail) succeeded")
	}
	waitJS(t, browser, 30*time.Second, "the failure's message", `[...document.querySelectorAll('tr.failure .message')].map(e => e.textContent)`,
		func(ms []string) bool { return slices.Contains(ms, msg) })

	// A worker SIGKILLed: marked dead; its replacement appears.
	victim := want[0]
	if err := testutil.KillPID(victim); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "the pool to replace the killed worker", func() bool {
		now := pids(p)
		return len(now) == 2 && !slices.Contains(now, victim)
	})
	replacement := -1
	for _, pid := range pids(p) {
		if pid != want[1] {
			replacement = pid
		}
	}
	waitJS(t, browser, 30*time.Second, "the killed worker dead and its replacement alive", workersJS, func(ws []pageWorker) bool {
		dead, okd := rowOf(ws, victim)
		repl, okr := rowOf(ws, replacement)
		return okd && dead.State == "dead" && okr && repl.State != "dead" && repl.State != "exited"
	})
	if lost := evalJS[string](t, browser, `document.querySelector('section.pool .summary .lost').textContent`); lost != "1" {
		t.Errorf("workers lost: %q, want 1", lost)
	}
	screenshot(t, browser)
}

// With AllowControl the page has a drain button per live worker, and
// clicking one drains that worker: it exits (shown as exited, not dead)
// and the pool replaces it.
func TestPageDrain(t *testing.T) {
	const name = "dashdrain"
	p := pooltest.New(t, 60*time.Second, nil, pool.WithName(name), pool.WithProcesses(2))
	srv, err := dashboard.Start(dashboard.Config{Conn: p.Conn(), Pools: []string{name}, Listen: "127.0.0.1:0", AllowControl: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	browser := newBrowser(t)
	open(t, browser, srv.URL(), name)
	want := pids(p)
	waitJS(t, browser, 30*time.Second, "a drain button per worker",
		`[...document.querySelectorAll('tr.worker')].filter(r => r.querySelector('button.drain')).map(r => +r.dataset.pid)`,
		func(got []int) bool {
			slices.Sort(got)
			return slices.Equal(got, want)
		})
	if mode := evalJS[string](t, browser, `document.getElementById('mode').textContent`); mode != "control enabled" {
		t.Errorf("mode %q, want control enabled", mode)
	}

	victim := p.Workers()[0]
	evalJS[bool](t, browser, `window.confirm = () => true; document.querySelector('button.drain[data-worker="`+victim.ID+`"]').click(); true`)
	testutil.WaitFor(t, 30*time.Second, "the pool to replace the drained worker", func() bool {
		now := pids(p)
		return len(now) == 2 && !slices.Contains(now, victim.PID)
	})
	waitJS(t, browser, 30*time.Second, "the drained worker gone and its replacement alive", workersJS, func(ws []pageWorker) bool {
		gone, ok := rowOf(ws, victim.PID)
		if !ok || gone.State != "exited" {
			return false
		}
		for _, pid := range pids(p) {
			if w, ok := rowOf(ws, pid); !ok || w.State == "dead" || w.State == "exited" {
				return false
			}
		}
		return true
	})

	// The endpoint refuses a request a cross-site page could make.
	req, _ := http.NewRequest("POST", srv.URL()+"api/drain", bytes.NewReader([]byte(`{"pool":"`+name+`","worker":"x"}`)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("drain without the control header: %s, want 403", resp.Status)
	}
}
