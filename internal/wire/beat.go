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
}
