package metrics

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/wire"
	"github.com/prometheus/client_golang/prometheus"
)

// WorkerCollector is a Prometheus collector of worker processes built from
// their heartbeats (the workers run in other processes, so their beats are
// the only source): the latest beat of each live worker, plus the final
// counts of the workers that have gone, so that counters never go down
// when a worker exits or is replaced. Series (label pool):
//
//	procpool_worker_tasks_completed_total    tasks executed without error
//	procpool_worker_tasks_failed_total       tasks executed with an error
//	procpool_worker_task_redeliveries_total  task messages received on a redelivery
//	procpool_worker_task_duration_seconds    histogram: message execution time
//	procpool_worker_processes_alive          workers heard from in the last 3 beats
//	procpool_worker_rss_bytes                resident memory of those, summed
//
// Counts are as fresh as the latest heartbeat (one a second).
type WorkerCollector struct {
	sub  *nats.Subscription
	pool string
	ppid int

	mu      sync.Mutex
	live    map[string]seenBeat
	retired totals // counts of the workers that have gone
}

type seenBeat struct {
	wire.Beat
	seen time.Time
}

type totals struct {
	done, failed, redelivered int64
	busy                      time.Duration
	hist                      []int64
}

func (t *totals) add(b *wire.Beat) {
	t.done += b.TasksDone
	t.failed += b.Failed
	t.redelivered += b.Redelivered
	t.busy += b.BusyTime
	for i := range min(len(b.Durations), len(t.hist)) {
		t.hist[i] += b.Durations[i]
	}
}

// NewWorkerCollector subscribes on nc to the heartbeats of pool's workers
// whose parent process is ppid (a standalone worker passes os.Getpid(): the
// processes it supervises), or of every worker of the pool with ppid 0.
// Close unsubscribes; nc stays the caller's.
func NewWorkerCollector(nc *nats.Conn, pool string, ppid int) (*WorkerCollector, error) {
	switch {
	case nc == nil:
		return nil, fmt.Errorf("%w: nil connection", ErrInvalidArgument)
	case ppid < 0:
		return nil, fmt.Errorf("%w: ppid %d", ErrInvalidArgument, ppid)
	}
	if err := wire.ValidPoolName(pool); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	c := &WorkerCollector{pool: pool, ppid: ppid, live: map[string]seenBeat{},
		retired: totals{hist: make([]int64, len(wire.DurationBuckets)+1)}}
	sub, err := nc.Subscribe(wire.Subjects{Pool: pool}.Heartbeat(), c.onBeat)
	if err != nil {
		return nil, fmt.Errorf("metrics: subscribe to heartbeats: %w", err)
	}
	c.sub = sub
	return c, nil
}

func (c *WorkerCollector) onBeat(m *nats.Msg) {
	var b wire.Beat
	if json.Unmarshal(m.Data, &b) != nil || b.ID == "" || (c.ppid != 0 && b.PPID != c.ppid) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live[b.ID] = seenBeat{Beat: b, seen: time.Now()}
}

// Close stops listening to heartbeats.
func (c *WorkerCollector) Close() error { return c.sub.Unsubscribe() }

var (
	wlabel     = []string{"pool"}
	descWDone  = prometheus.NewDesc("procpool_worker_tasks_completed_total", "Tasks the workers executed without error.", wlabel, nil)
	descWFail  = prometheus.NewDesc("procpool_worker_tasks_failed_total", "Tasks the workers executed with an error.", wlabel, nil)
	descWRedel = prometheus.NewDesc("procpool_worker_task_redeliveries_total", "Task messages the workers received on a redelivery.", wlabel, nil)
	descWDur   = prometheus.NewDesc("procpool_worker_task_duration_seconds", "Execution time of the task messages the workers executed.", wlabel, nil)
	descWAlive = prometheus.NewDesc("procpool_worker_processes_alive", "Workers heard from within three heartbeat intervals.", wlabel, nil)
	descWRSS   = prometheus.NewDesc("procpool_worker_rss_bytes", "Resident memory of the live workers, summed.", wlabel, nil)
)

// Describe sends the descriptors of every metric.
func (c *WorkerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descWDone, descWFail, descWRedel, descWDur, descWAlive, descWRSS} {
		ch <- d
	}
}

// Collect sends the current values.
func (c *WorkerCollector) Collect(ch chan<- prometheus.Metric) {
	t, alive, rss := c.snapshot(time.Now())
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), c.pool)
	}
	gauge := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), c.pool)
	}
	counter(descWDone, t.done-t.failed)
	counter(descWFail, t.failed)
	counter(descWRedel, t.redelivered)
	gauge(descWAlive, int64(alive))
	gauge(descWRSS, rss)
	ch <- ConstHistogram(descWDur, wire.DurationBuckets, t.hist, t.busy.Seconds(), c.pool)
}

// snapshot retires the workers not heard from within three beat intervals
// and returns the totals, the live count and their summed RSS.
func (c *WorkerCollector) snapshot(now time.Time) (totals, int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, b := range c.live {
		if now.Sub(b.seen) > 3*max(b.Interval, time.Second) {
			c.retired.add(&b.Beat)
			delete(c.live, id)
		}
	}
	t := c.retired
	t.hist = append([]int64(nil), c.retired.hist...)
	var rss int64
	for _, b := range c.live {
		t.add(&b.Beat)
		rss += b.RSS
	}
	return t, len(c.live), rss
}
