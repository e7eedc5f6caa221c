package dashboard

import "time"

// State is what the page shows, pushed to it once a second and served as
// JSON at /api/state.
type State struct {
	Time    time.Time   `json:"time"`
	Control bool        `json:"control"` // drain buttons: Config.AllowControl
	Pools   []PoolState `json:"pools"`
	Streams []Stream    `json:"streams"` // the broker's queues and pipes
}

// PoolState is one pool.
type PoolState struct {
	Name     string    `json:"name"`
	Workers  []Worker  `json:"workers"` // by host, parent pid, id; dead ones for a while after
	Queue    Queue     `json:"queue"`
	Series   Series    `json:"series"`
	Calls    []Call    `json:"calls"`
	Callers  []Caller  `json:"callers"`
	Failures []Failure `json:"failures"` // newest first
	Retried  int64     `json:"retried"`  // results of tasks executed more than once, over the callers
	Lost     int       `json:"lost"`     // workers that stopped beating without saying they would stop
}

// Worker is one worker process, from its heartbeats.
type Worker struct {
	ID          string    `json:"id"`
	Host        string    `json:"host"`
	PID         int       `json:"pid"`
	PPID        int       `json:"ppid"`
	State       string    `json:"state"` // idle, busy, draining, exited (after a drain or stop) or dead
	Task        string    `json:"task,omitempty"`
	TaskSeconds float64   `json:"task_seconds,omitempty"`
	Done        int64     `json:"done"`
	Errors      int64     `json:"errors"`
	RSS         int64     `json:"rss"`
	Started     time.Time `json:"started"`
	LastSeen    time.Time `json:"last_seen"`
}

// Queue is the pool's task stream: tasks waiting and held by workers.
type Queue struct {
	Pending  uint64 `json:"pending"`
	InFlight int    `json:"in_flight"`
	Error    string `json:"error,omitempty"`
}

// Series are the charts' points, one a second, oldest first: Unix seconds,
// tasks completed per second, and the queue's depths.
type Series struct {
	T        []int64   `json:"t"`
	Rate     []float64 `json:"rate"`
	Pending  []float64 `json:"pending"`
	InFlight []float64 `json:"in_flight"`
}

// Call is one Map or IMap call of a caller, in flight or recently ended.
type Call struct {
	ID         uint64    `json:"id"`   // unique within the caller
	Kind       string    `json:"kind"` // "map", "imap" or "imap_unordered"
	Task       string    `json:"task"`
	Started    time.Time `json:"started"`
	Done       int64     `json:"done"`   // items completed, failed ones included
	Failed     int64     `json:"failed"` // items completed with an error
	Total      int64     `json:"total"`  // -1 while an IMap's input has not ended
	Ended      bool      `json:"ended,omitempty"`
	Caller     string    `json:"caller"`
	Host       string    `json:"host"`
	PID        int       `json:"pid"`
	Rate       float64   `json:"rate"`                  // items per second since it started
	ETASeconds float64   `json:"eta_seconds,omitempty"` // at that rate; 0 when unknown or ended
}

// Caller is one program submitting work, from its calls reports.
type Caller struct {
	ID        string    `json:"id"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Submitted int64     `json:"submitted"`
	Completed int64     `json:"completed"`
	Failed    int64     `json:"failed"`
	Retried   int64     `json:"retried"`
	InFlight  int64     `json:"in_flight"` // tasks submitted and not yet answered: Apply, ApplyAsync and maps alike
	LastSeen  time.Time `json:"last_seen"`
}

// Failure is one failed task result, as a caller received it.
type Failure struct {
	Seq     uint64    `json:"seq"` // increasing within the caller
	Time    time.Time `json:"time"`
	Task    string    `json:"task"`
	Code    string    `json:"code"` // a pool.TaskError code
	Message string    `json:"message"`
	Stack   string    `json:"stack,omitempty"`
	Worker  string    `json:"worker,omitempty"`
	PID     int       `json:"pid,omitempty"`
	Host    string    `json:"host,omitempty"`
	Attempt int       `json:"attempt,omitempty"`
	Caller  string    `json:"caller"`
}

// Stream is a queue or pipe on the broker.
type Stream struct {
	Kind      string `json:"kind"` // queue or pipe
	Name      string `json:"name"`
	Messages  uint64 `json:"messages"`
	Bytes     uint64 `json:"bytes"`
	Consumers int    `json:"consumers"`
}
