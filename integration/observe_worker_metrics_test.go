package integration

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// TestWorkerBinaryMetrics: procpool-worker --metrics serves the counts of
// the worker processes it supervises, from their heartbeats: tasks
// completed and failed equal the tasks the pool ran on them, the duration
// histogram counts their messages, and the live workers are its processes.
func TestWorkerBinaryMetrics(t *testing.T) {
	bin, b, env := remoteSetup(t)
	w := startProc(t, "worker", env, bin.worker, "--processes", "2", "--wait", "1m", "--metrics", "127.0.0.1:0")
	addr := w.waitOutput(t, regexp.MustCompile(`serving metrics" url=(http://\S+/metrics)`), 90*time.Second)
	w.waitOutput(t, regexp.MustCompile(`worker processes ready`), 90*time.Second)
	p := remotePool(t, remoteOpts(t, b, 0)...)
	pl := `pool="` + poolName(t) + `"`

	testutil.WaitFor(t, 10*time.Second, "procpool_worker_processes_alive 2", func() bool {
		return metric(t, addr, "procpool_worker_processes_alive{"+pl+"}") == 2
	})
	if got := metric(t, addr, "procpool_worker_tasks_completed_total{"+pl+"}"); got != 0 {
		t.Fatalf("completed = %v before any task", got)
	}

	const ok, bad = 40, 3
	ctx := testutil.Ctx(t, time.Minute)
	if _, err := pool.Map(ctx, p, builtin.Sleep, sleeps(ok, time.Millisecond), pool.WithChunksize(1)); err != nil {
		t.Fatal(err)
	}
	for range bad {
		if _, err := pool.Apply(ctx, p, builtin.Primes, -1); err == nil {
			t.Fatal("primes(-1) succeeded")
		}
	}
	// Heartbeats come once a second: poll until the counts arrive, then
	// check that they are exact (not just large enough).
	testutil.WaitFor(t, 10*time.Second, "the counts in the heartbeats", func() bool {
		return metric(t, addr, "procpool_worker_tasks_completed_total{"+pl+"}") >= ok &&
			metric(t, addr, "procpool_worker_tasks_failed_total{"+pl+"}") >= bad
	})
	checks := map[string]float64{
		"procpool_worker_tasks_completed_total{" + pl + "}":   ok,
		"procpool_worker_tasks_failed_total{" + pl + "}":      bad,
		"procpool_worker_task_redeliveries_total{" + pl + "}": 0,
		"procpool_worker_processes_alive{" + pl + "}":         2,
	}
	for series, want := range checks {
		if got := metric(t, addr, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	// The histogram counts task messages, and a worker may take several
	// tasks in one message: between 1 and one per task.
	if n := metric(t, addr, "procpool_worker_task_duration_seconds_count{"+pl+"}"); n < 1 || n > ok+bad {
		t.Errorf("procpool_worker_task_duration_seconds_count = %v, want 1..%d", n, ok+bad)
	}
	if rss := metric(t, addr, "procpool_worker_rss_bytes{"+pl+"}"); rss < 1<<20 {
		t.Errorf("procpool_worker_rss_bytes = %v, want the workers' RSS (>1 MiB)", rss)
	}
}

// metric scrapes url and returns the value of series (name{labels}), or -1
// when it is absent.
func metric(tb testing.TB, url, series string) float64 {
	tb.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		tb.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("scrape %s: %v %v", url, resp.Status, err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		tb.Fatalf("%s: value %q: %v", series, m[1], err)
	}
	return v
}
