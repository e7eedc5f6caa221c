package worker

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/procpool/procpool/internal/wire"
)

// observe is what a worker measures about itself for its heartbeat, its
// micro service and metrics, and the operator's drain request.
type observe struct {
	busy        atomic.Int64   // nanoseconds spent executing messages
	redelivered atomic.Int64   // messages received on a redelivery
	hist        []atomic.Int64 // counts per wire.DurationBuckets bucket, then +Inf

	drainOnce sync.Once
	drainCh   chan struct{} // closed when an operator asks the worker to drain

	mu      sync.Mutex
	samples []doneSample // tasks done, once a heartbeat, over the last minute
}

type doneSample struct {
	at   time.Time
	done int64
}

func newObserve() *observe {
	return &observe{drainCh: make(chan struct{}), hist: make([]atomic.Int64, len(wire.DurationBuckets)+1)}
}

// finished records one executed message.
func (o *observe) finished(took time.Duration, delivery int) {
	o.busy.Add(int64(took))
	if delivery > 1 {
		o.redelivered.Add(1)
	}
	secs := took.Seconds()
	i := 0
	for i < len(wire.DurationBuckets) && secs > wire.DurationBuckets[i] {
		i++
	}
	o.hist[i].Add(1)
}

// requestDrain asks the pull loop to stop taking work; it is idempotent.
func (o *observe) requestDrain() { o.drainOnce.Do(func() { close(o.drainCh) }) }

// draining reports whether an operator asked for a drain.
func (o *observe) draining() bool {
	select {
	case <-o.drainCh:
		return true
	default:
		return false
	}
}

// fill adds the self-measurements to a heartbeat, and samples done for the
// one-minute count.
func (o *observe) fill(b *wire.Beat) {
	b.RSS = rss()
	b.BusyTime = time.Duration(o.busy.Load())
	b.Redelivered = o.redelivered.Load()
	b.Durations = make([]int64, len(o.hist))
	for i := range b.Durations {
		b.Durations[i] = o.hist[i].Load()
	}
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if n := len(o.samples); n == 0 || now.Sub(o.samples[n-1].at) >= 500*time.Millisecond {
		o.samples = append(o.samples, doneSample{now, b.TasksDone})
	}
	// Keep the newest sample at least a minute old as the baseline.
	for len(o.samples) > 1 && now.Sub(o.samples[1].at) >= time.Minute {
		o.samples = o.samples[1:]
	}
	b.Done1m = b.TasksDone - o.samples[0].done
}

// rss is this process's resident set size in bytes, from /proc/self/statm
// (0 where that does not exist).
func rss() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(data)
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(string(f[1]), 10, 64)
	return pages * int64(os.Getpagesize())
}
