package wire

import "time"

// Beat is the heartbeat every worker publishes on Subjects.Heartbeat, so
// that a pool (and procpool status) sees remote workers too.
type Beat struct {
	ID        string        `json:"id"`
	PID       int           `json:"pid"`
	PPID      int           `json:"ppid"`
	Host      string        `json:"host"`
	Pool      string        `json:"pool"`
	Started   time.Time     `json:"started"`
	TasksDone int64         `json:"tasks_done"`
	Failed    int64         `json:"failed"`
	Busy      bool          `json:"busy"`
	Task      string        `json:"task,omitempty"`      // the task running now
	TaskSince time.Time     `json:"task_since,omitzero"` // since when
	Tasks     []string      `json:"tasks,omitempty"`     // names it serves
	Stopping  bool          `json:"stopping,omitempty"`  // draining: takes no more work
	Interval  time.Duration `json:"interval"`            // how often it beats

	RSS         int64         `json:"rss,omitempty"`         // resident set size, bytes (Linux)
	BusyTime    time.Duration `json:"busy_time,omitempty"`   // total time spent executing task messages
	Redelivered int64         `json:"redelivered,omitempty"` // task messages it got on a redelivery
	Done1m      int64         `json:"done_1m,omitempty"`     // tasks executed in the last minute
	Durations   []int64       `json:"durations,omitempty"`   // message execution times: counts per DurationBuckets bucket, the last one +Inf
}

// DurationBuckets are the upper bounds, in seconds, of the execution-time
// histogram a worker sends in its Beat.
var DurationBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}
