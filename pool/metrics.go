package pool

import (
	"sync/atomic"
	"time"

	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// counters are the dispatcher's event counts, incremented where the events
// happen; Collector exports them.
type counters struct {
	submitted    atomic.Int64 // tasks handed to the publisher
	messages     atomic.Int64 // task messages published (a message packs one or more tasks)
	completed    atomic.Int64 // results without error
	failed       atomic.Int64 // results with an error
	retried      atomic.Int64 // results of a task executed more than once
	redeliveries atomic.Int64 // extra executions behind those results (attempt - 1)
	durSum       atomic.Int64 // nanoseconds from submission to result, summed
	durCount     []atomic.Int64
}

func newCounters() *counters {
	return &counters{durCount: make([]atomic.Int64, len(wire.DurationBuckets)+1)}
}

// result counts one result that reached its waiter, submitted at start.
func (c *counters) result(r *wire.Result, start time.Time) {
	if r.Err != nil {
		c.failed.Add(1)
	} else {
		c.completed.Add(1)
	}
	if r.Attempt > 1 {
		c.retried.Add(1)
		c.redeliveries.Add(int64(r.Attempt - 1))
	}
	if start.IsZero() {
		return
	}
	d := time.Since(start)
	c.durSum.Add(int64(d))
	secs, i := d.Seconds(), 0
	for i < len(wire.DurationBuckets) && secs > wire.DurationBuckets[i] {
		i++
	}
	c.durCount[i].Add(1)
}

// WithMetrics serves the pool's Prometheus metrics (see Collector) over
// HTTP on addr ("127.0.0.1:9090"; port 0 picks one, see MetricsAddr) at
// /metrics, until the pool stops. Default: no endpoint.
func WithMetrics(addr string) Option {
	return func(o *options) error {
		if addr == "" {
			return invalid("WithMetrics: empty address")
		}
		o.metricsAddr = addr
		return nil
	}
}

// MetricsAddr is the address WithMetrics' endpoint listens on, or "".
func (p *Pool) MetricsAddr() string {
	if p.metrics == nil {
		return ""
	}
	return p.metrics.Addr()
}

// startMetrics starts WithMetrics' endpoint.
func (p *Pool) startMetrics() error {
	if p.o.metricsAddr == "" {
		return nil
	}
	srv, err := metrics.Listen(p.o.metricsAddr, p.Collector())
	if err != nil {
		return err
	}
	p.metrics = srv
	return nil
}

// Collector is a Prometheus collector of the pool's metrics, labelled with
// the pool's name, for a registry of the caller's:
//
//	procpool_tasks_submitted_total       tasks queued (a Map chunk is one task)
//	procpool_tasks_completed_total       results without error
//	procpool_tasks_failed_total          results with an error
//	procpool_tasks_retried_total         results of tasks executed more than once
//	procpool_task_redeliveries_total     the extra executions behind those
//	procpool_duplicate_results_total     results dropped: their task was already answered
//	procpool_task_duration_seconds       histogram: submission to result
//	procpool_tasks_pending               tasks submitted and not yet answered
//	procpool_workers_alive               live workers, local and remote
//	procpool_workers_started_total       local worker processes started
//	procpool_workers_lost_total          local worker processes that exited unasked
func (p *Pool) Collector() prometheus.Collector { return &poolCollector{p: p} }

type poolCollector struct{ p *Pool }

var (
	label       = []string{"pool"}
	descSubmit  = prometheus.NewDesc("procpool_tasks_submitted_total", "Tasks queued (a Map chunk is one task).", label, nil)
	descDone    = prometheus.NewDesc("procpool_tasks_completed_total", "Task results without error.", label, nil)
	descFailed  = prometheus.NewDesc("procpool_tasks_failed_total", "Task results with an error.", label, nil)
	descRetried = prometheus.NewDesc("procpool_tasks_retried_total", "Results of tasks executed more than once (their worker died or hung).", label, nil)
	descRedeliv = prometheus.NewDesc("procpool_task_redeliveries_total", "Extra executions behind retried tasks' results.", label, nil)
	descDups    = prometheus.NewDesc("procpool_duplicate_results_total", "Results dropped because their task was already answered.", label, nil)
	descDur     = prometheus.NewDesc("procpool_task_duration_seconds", "Time from a task's submission to its result.", label, nil)
	descPending = prometheus.NewDesc("procpool_tasks_pending", "Tasks submitted and not yet answered.", label, nil)
	descAlive   = prometheus.NewDesc("procpool_workers_alive", "Live workers, local and remote.", label, nil)
	descStarted = prometheus.NewDesc("procpool_workers_started_total", "Local worker processes started, replacements included.", label, nil)
	descLost    = prometheus.NewDesc("procpool_workers_lost_total", "Local worker processes that exited unasked.", label, nil)
)

// Describe sends the descriptors of every metric.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSubmit, descDone, descFailed, descRetried, descRedeliv,
		descDups, descDur, descPending, descAlive, descStarted, descLost} {
		ch <- d
	}
}

// Collect sends the current values.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	p, name := c.p, c.p.Name()
	ctr := p.d.ctr
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), name)
	}
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), name)
	}
	st := p.Stats()
	counter(descSubmit, ctr.submitted.Load())
	counter(descDone, ctr.completed.Load())
	counter(descFailed, ctr.failed.Load())
	counter(descRetried, ctr.retried.Load())
	counter(descRedeliv, ctr.redeliveries.Load())
	counter(descDups, st.DuplicateResult)
	counter(descStarted, st.WorkersStarted)
	counter(descLost, st.WorkersLost)
	gauge(descPending, st.Pending)
	gauge(descAlive, len(p.Workers()))
	ch <- metrics.ConstHistogram(descDur, wire.DurationBuckets, loadAll(ctr.durCount),
		time.Duration(ctr.durSum.Load()).Seconds(), name)
}

func loadAll(a []atomic.Int64) []int64 {
	out := make([]int64, len(a))
	for i := range a {
		out[i] = a[i].Load()
	}
	return out
}
