package pool_test

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// scrape fetches a metrics endpoint and returns its samples by series
// (name and labels as printed).
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// The pool's metrics count what happened: tasks submitted, completed and
// failed, their durations, the live workers.
func TestMetricsEndpoint(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2), pool.WithName("met"), pool.WithMetrics("127.0.0.1:0"))
	ctx := testutil.Ctx(t, 60*time.Second)
	if p.MetricsAddr() == "" {
		t.Fatal("no metrics address")
	}
	if _, err := pool.Map(ctx, p, square, ints(20), pool.WithChunksize(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Apply(ctx, p, failing, "x"); err == nil {
		t.Fatal("failing task succeeded")
	}
	m := scrape(t, p.MetricsAddr())
	l := `{pool="met"}`
	for series, want := range map[string]float64{
		"procpool_tasks_submitted_total" + l:                          21,
		"procpool_tasks_completed_total" + l:                          20,
		"procpool_tasks_failed_total" + l:                             1,
		"procpool_tasks_retried_total" + l:                            0,
		"procpool_task_redeliveries_total" + l:                        0,
		"procpool_duplicate_results_total" + l:                        0,
		"procpool_task_duration_seconds_count" + l:                    21,
		`procpool_task_duration_seconds_bucket{pool="met",le="+Inf"}`: 21,
		"procpool_tasks_pending" + l:                                  0,
		"procpool_workers_alive" + l:                                  2,
		"procpool_workers_started_total" + l:                          2,
		"procpool_workers_lost_total" + l:                             0,
	} {
		got, ok := m[series]
		if !ok {
			t.Errorf("no series %s", series)
		} else if got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if s := m["procpool_task_duration_seconds_sum"+l]; s <= 0 {
		t.Errorf("duration sum %v", s)
	}
	if _, ok := m["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
	addr := p.MetricsAddr()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := (&http.Client{Timeout: time.Second}).Get("http://" + addr + "/metrics"); err == nil {
		t.Error("metrics endpoint still serving after Close")
	}
}

func TestWithMetricsInvalid(t *testing.T) {
	if _, err := pool.New(testutil.Ctx(t, 10*time.Second), pool.WithMetrics("")); !errors.Is(err, pool.ErrInvalidOption) {
		t.Fatalf("WithMetrics(\"\"): %v, want ErrInvalidOption", err)
	}
}
