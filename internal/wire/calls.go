package wire

import "time"

// Calls is where a caller reports, a few times a second at most, the Map
// and IMap calls it has in flight and its recent task failures, so that
// the dashboard and procpool status see them from any host.
func (s Subjects) Calls() string { return "procpool." + s.Pool + ".calls" }

// CallsReport is one caller's report on Subjects.Calls.
type CallsReport struct {
	Caller   string        `json:"caller"` // unique per caller connection: host, pid and a random tag
	Host     string        `json:"host"`
	PID      int           `json:"pid"`
	Pool     string        `json:"pool"`
	Time     time.Time     `json:"time"`
	Interval time.Duration `json:"interval"` // the longest gap between two reports while it lives

	Calls []CallProgress `json:"calls,omitempty"` // in flight, and those ended since the last report

	// The caller's task counts since it started (every kind of call).
	Submitted int64 `json:"submitted"`
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
	Retried   int64 `json:"retried"` // results of tasks executed more than once

	Failures []Failure `json:"failures,omitempty"` // the most recent, oldest first
}

// CallProgress is how far one Map or IMap call has come, in items.
type CallProgress struct {
	ID      uint64    `json:"id"`   // unique within the caller
	Kind    string    `json:"kind"` // "map", "imap" or "imap_unordered"
	Task    string    `json:"task"`
	Started time.Time `json:"started"`
	Done    int64     `json:"done"`   // items completed, failed ones included
	Failed  int64     `json:"failed"` // items completed with an error
	Total   int64     `json:"total"`  // -1 while an IMap's input has not ended
	Ended   bool      `json:"ended,omitempty"`
}

// Failure is one failed task result a caller received.
type Failure struct {
	Seq     uint64    `json:"seq"` // increasing within the caller
	Time    time.Time `json:"time"`
	Task    string    `json:"task"`
	Code    string    `json:"code"`
	Message string    `json:"message"`
	Stack   string    `json:"stack,omitempty"`
	Worker  string    `json:"worker,omitempty"`
	PID     int       `json:"pid,omitempty"`
	Host    string    `json:"host,omitempty"`
	Attempt int       `json:"attempt,omitempty"`
}
