package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/dashboard"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/testutil/pooltest"
	"github.com/procpool/procpool/pool"
)

// pageCall is a row of a section's Calls in flight.
type pageCall struct {
	Done  int    `json:"done"`
	Total int    `json:"total"`
	Ended string `json:"ended"`
	Label string `json:"label"`
}

// inSection is a selector for what matches sel in pool name's section.
func inSection(name, sel string) string {
	return `section.pool[data-pool="` + name + `"] ` + sel
}

// sectionWorkersJS lists the worker rows of pool name's section.
func sectionWorkersJS(name string) string {
	return `[...document.querySelectorAll('` + inSection(name, "tr.worker") + `')].map(r => ({id: r.dataset.id, pid: +r.dataset.pid, state: r.dataset.state}))`
}

// sectionCallsJS lists the call rows of pool name's section.
func sectionCallsJS(name string) string {
	return `[...document.querySelectorAll('` + inSection(name, "tr.call") + `')].map(r => ({done: +r.dataset.done, total: +r.dataset.total, ended: r.dataset.ended, label: r.querySelector('.label').textContent}))`
}

// liveWorkers reports whether ws has a live row for each of want's pids
// and no row for any pid of other.
func liveWorkers(ws []pageWorker, want, other []int) bool {
	for _, pid := range want {
		if w, ok := rowOf(ws, pid); !ok || w.State == "dead" || w.State == "exited" {
			return false
		}
	}
	for _, pid := range other {
		if _, ok := rowOf(ws, pid); ok {
			return false
		}
	}
	return true
}

// mapDone runs a Map of n 1 ms tasks on p and waits, in the browser, for
// its row in pool name's section to show it ended at 100%.
func mapDone(t *testing.T, ctx, browser context.Context, p *pool.Pool, name string, n int) {
	t.Helper()
	items := make([]int, n)
	for i := range items {
		items[i] = 1 // ms
	}
	if _, err := pool.Map(ctx, p, nap, items, pool.WithChunksize(10)); err != nil {
		t.Fatalf("Map on %s: %v", name, err)
	}
	waitJS(t, browser, 30*time.Second, "the Map's progress at 100% in pool "+name+"'s section", sectionCallsJS(name), func(cs []pageCall) bool {
		return slices.ContainsFunc(cs, func(c pageCall) bool {
			return c.Total == n && c.Done == n && c.Ended == "true" && strings.Contains(c.Label, "100%")
		})
	})
}

// A dashboard with a token, in a real browser: the page opened without the
// token, or with a wrong one, is refused (401 and the server's message, no
// script, no pool); opened as /?token=… it drops the token from the
// address bar, keeps it in an HttpOnly cookie and renders the pool's
// workers; and opened again at the bare address it still renders the live
// state through its event stream: a Map started afterwards shows its
// progress. And a link to /?token=… on another site's page, followed in a
// fresh browser, opens the page too.
func TestPageToken(t *testing.T) {
	const name = "dashtoken"
	const token = "page-t0ken-5d1c"
	p := pooltest.New(t, 60*time.Second, nil, pool.WithName(name), pool.WithProcesses(2))
	srv := start(t, dashboard.Config{Conn: p.Conn(), Pools: []string{name}, Listen: "127.0.0.1:0", Token: token})
	ctx := testutil.Ctx(t, 3*time.Minute)
	browser := newBrowser(t)
	want := pids(p)
	if len(want) != 2 {
		t.Fatalf("pool has workers %v, want 2", want)
	}

	refused := func(url string) {
		t.Helper()
		resp := navigate(t, browser, url)
		if resp.Status != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", url, resp.Status, resp.StatusText)
		}
		if text := evalJS[string](t, browser, `document.body.innerText.trim()`); text != "token required: open the page as /?token=…" {
			t.Errorf("%s: page text %q, want the server's refusal", url, text)
		}
		// Nothing of the dashboard ran or rendered: no script, no
		// section, no pid of the pool anywhere.
		if n := evalJS[int](t, browser, `document.querySelectorAll('script, section.pool, tr.worker').length + (window.procpool ? 1 : 0)`); n != 0 {
			t.Errorf("%s: the refused page rendered %d dashboard elements", url, n)
		}
		html := evalJS[string](t, browser, `document.documentElement.outerHTML`)
		for _, pid := range want {
			if strings.Contains(html, strconv.Itoa(pid)) {
				t.Errorf("%s: the refused page shows worker pid %d", url, pid)
			}
		}
	}
	refused(srv.URL())
	refused(srv.URL() + "?token=wrong-" + token)

	// With the token: redirected to the bare address, the token in a
	// cookie the page's scripts cannot read, the pool's workers listed.
	open(t, browser, srv.URL()+"?token="+token, name)
	if loc := evalJS[string](t, browser, `location.href`); loc != srv.URL() {
		t.Errorf("address after opening with the token: %q, want %q (the token dropped)", loc, srv.URL())
	}
	if c := evalJS[string](t, browser, `document.cookie`); strings.Contains(c, token) {
		t.Errorf("the page's scripts can read the token: document.cookie %q", c)
	}
	waitJS(t, browser, 30*time.Second, "a live row per worker", workersJS, func(ws []pageWorker) bool { return liveWorkers(ws, want, nil) })

	// The bare address, afresh: the cookie is enough for the page, its
	// assets and its event stream, which delivers a Map started now.
	open(t, browser, srv.URL(), name)
	waitJS(t, browser, 30*time.Second, "a live row per worker (cookie only)", workersJS, func(ws []pageWorker) bool { return liveWorkers(ws, want, nil) })
	if state := evalJS[string](t, browser, `document.getElementById('conn').dataset.state`); state != "live" {
		t.Errorf("event stream with the cookie: %q, want live", state)
	}
	if n := evalJS[int](t, browser, `document.querySelectorAll('tr.call').length`); n != 0 {
		t.Fatalf("%d calls on the page before the Map", n)
	}
	mapDone(t, ctx, browser, p, name, 300)

	// A wrong token in the URL is refused even with the right cookie.
	refused(srv.URL() + "?token=wrong-" + token)

	// The token link followed from another site's page, in a fresh
	// browser: the page renders (the cookie set by the redirect is sent on
	// it). localhost is another site than 127.0.0.1, where the link is.
	target := strings.Replace(srv.URL(), "127.0.0.1", "localhost", 1)
	links := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><a id="dash" href="%s?token=%s">dashboard</a>`, target, token)
	}))
	t.Cleanup(links.Close)
	other := newBrowser(t)
	navigate(t, other, links.URL)
	cctx, cancel := context.WithTimeout(other, 30*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(cctx, chromedp.Click("#dash"))
	if err != nil {
		t.Fatalf("follow the link to the dashboard: %v", err)
	}
	if resp.Status != http.StatusOK || resp.URL != target {
		t.Fatalf("the link from another site: %d %s at %s, want 200 at %s", resp.Status, resp.StatusText, resp.URL, target)
	}
	waitJS(t, other, 30*time.Second, "the page opened from another site's link to render the workers", workersJS,
		func(ws []pageWorker) bool { return liveWorkers(ws, want, nil) })
}

// With All, in a real browser: two pools on one broker each get their
// section with their own workers' pids, and a Map on the second shows its
// progress in the second's section, not the first's.
func TestPageAllPools(t *testing.T) {
	const first, second = "dashallone", "dashalltwo"
	b := testutil.StartBroker(t, broker.Config{})
	remote := func(name string) *pool.Pool {
		return pooltest.New(t, 60*time.Second, nil, pool.WithBroker(b.ClientURL()), pool.WithCredentials(b.User(), b.Password()),
			pool.WithName(name), pool.WithProcesses(1))
	}
	p1, p2 := remote(first), remote(second)
	nc, err := nats.Connect(b.ClientURL(), nats.UserInfo(b.User(), b.Password()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	srv := start(t, dashboard.Config{Conn: nc, All: true, Listen: "127.0.0.1:0"})
	ctx := testutil.Ctx(t, 3*time.Minute)
	browser := newBrowser(t)
	open(t, browser, srv.URL(), first)

	pids1, pids2 := pids(p1), pids(p2)
	if len(pids1) != 1 || len(pids2) != 1 {
		t.Fatalf("pools have workers %v and %v, want one each", pids1, pids2)
	}
	waitJS(t, browser, 30*time.Second, "pool "+first+"'s worker in its section", sectionWorkersJS(first),
		func(ws []pageWorker) bool { return liveWorkers(ws, pids1, pids2) })
	waitJS(t, browser, 30*time.Second, "pool "+second+"'s worker in its section", sectionWorkersJS(second),
		func(ws []pageWorker) bool { return liveWorkers(ws, pids2, pids1) })
	names := evalJS[[]string](t, browser, `[...document.querySelectorAll('section.pool')].map(s => s.querySelector('h2 .name').textContent)`)
	slices.Sort(names)
	if !slices.Equal(names, []string{first, second}) {
		t.Errorf("sections %v, want %s and %s", names, first, second)
	}

	mapDone(t, ctx, browser, p2, second, 300)
	if cs := evalJS[[]pageCall](t, browser, sectionCallsJS(first)); len(cs) != 0 {
		t.Errorf("pool %s's section shows %d calls of pool %s's Map: %+v", first, len(cs), second, cs)
	}
}
