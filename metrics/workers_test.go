package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// TestWorkerCollector: the collector sums the latest beat of each worker of
// its parent (ignoring other parents' and other pools'), keeps the counts of
// workers that stopped beating (counters never go down), and drops them
// from the live count.
func TestWorkerCollector(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown()
	nc, err := nats.Connect(b.ClientURL(), nats.Token("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	if _, err := metrics.NewWorkerCollector(nil, "p", 1); !errors.Is(err, metrics.ErrInvalidArgument) {
		t.Fatalf("nil conn: %v", err)
	}
	if _, err := metrics.NewWorkerCollector(nc, "bad pool", 1); !errors.Is(err, metrics.ErrInvalidArgument) {
		t.Fatalf("bad pool name: %v", err)
	}
	c, err := metrics.NewWorkerCollector(nc, "p", 100)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reg := prometheus.NewPedanticRegistry() // also checks the metrics are consistent
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}

	beat := func(pool, id string, ppid int, done, failed int64) {
		h := make([]int64, len(wire.DurationBuckets)+1)
		h[2] = done
		data, _ := json.Marshal(wire.Beat{ID: id, PPID: ppid, Pool: pool, TasksDone: done, Failed: failed,
			Redelivered: 1, Durations: h, BusyTime: time.Duration(done) * time.Millisecond, Interval: time.Second, RSS: 1000})
		if err := nc.Publish(wire.Subjects{Pool: pool}.Heartbeat(), data); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	want := func(what string, w map[string]float64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got := values(t, reg)
			ok := true
			for k, v := range w {
				ok = ok && got[k] == v
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: got %v, want %v", what, got, w)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	beat("p", "a", 100, 10, 2)
	beat("p", "b", 100, 5, 0)
	beat("p", "other-parent", 200, 1000, 1000)
	beat("q", "other-pool", 100, 1000, 1000)
	want("two workers", map[string]float64{"procpool_worker_tasks_completed_total": 13, "procpool_worker_tasks_failed_total": 2,
		"procpool_worker_processes_alive": 2, "procpool_worker_task_redeliveries_total": 2, "procpool_worker_rss_bytes": 2000,
		"procpool_worker_task_duration_seconds_count": 15, "procpool_worker_task_duration_seconds_sum": 0.015})

	// b goes quiet while a beats on: b's counts stay, b leaves the live count.
	deadline := time.Now().Add(10 * time.Second)
	for values(t, reg)["procpool_worker_processes_alive"] != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the quiet worker is still counted alive after 10s")
		}
		beat("p", "a", 100, 11, 2)
		time.Sleep(200 * time.Millisecond)
	}
	want("b retired", map[string]float64{"procpool_worker_tasks_completed_total": 14, "procpool_worker_tasks_failed_total": 2,
		"procpool_worker_processes_alive": 1, "procpool_worker_rss_bytes": 1000, "procpool_worker_task_duration_seconds_count": 16})
}

// values gathers reg: one value per metric name (counter, gauge, or a
// histogram's _count and _sum).
func values(tb testing.TB, reg *prometheus.Registry) map[string]float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				out[mf.GetName()] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[mf.GetName()] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[mf.GetName()+"_count"] = float64(m.Histogram.GetSampleCount())
				out[mf.GetName()+"_sum"] = m.Histogram.GetSampleSum()
			}
		}
	}
	return out
}
