package chaos

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrUnsupported: the chaos run needs Linux.
var ErrUnsupported = errors.New("chaos: needs Linux (/proc, POSIX signals)")

// MaxAttempts is the callers' pool.WithMaxAttempts: the most executions a
// task may have.
const MaxAttempts = 3

// Config is one chaos run.
type Config struct {
	// Duration is how long the nemesis applies faults (the workload runs a
	// little longer: it starts before and stops after). Required.
	Duration time.Duration
	// Seed drives every random choice of the nemesis and the workload: the
	// same seed replays the same sequence of faults and calls (their timing
	// on a real machine differs).
	Seed uint64
	// Procpool and Worker are the paths of the procpool and
	// procpool-worker binaries. Procpool runs the brokers and, re-executed
	// as `procpool chaos caller`, the callers. Required.
	Procpool, Worker string
	// Processes is the number of worker processes per worker host
	// (default 2); Callers the number of caller processes (default 2).
	Processes, Callers int
	// Dir holds the brokers' stores, the logs and the history; it must
	// exist. Default: a temporary directory, removed at the end unless the
	// run found a violation.
	Dir string
	// NoNetns keeps everything on loopback even when network namespaces
	// are available (no partitions then).
	NoNetns bool
	// Lossy adds lossy links to the faults: a node's or a worker host's
	// link drops 10 to 40 % of its packets both ways, or everything it
	// receives (a one-way partition), for a while. It needs network
	// namespaces and nft(8) (netns_lossy.go), and fails the run without
	// them. Off by default, so that a seed replays the same faults as
	// before it existed.
	Lossy bool
	// RecoveryBound is how long the system may take, once the nemesis has
	// stopped and then the callers have finished, to have every node
	// answering, every worker back and nothing pending in the task stream
	// (a dead caller's tasks are held until their results' receipts time
	// out, a minute). Default 2m.
	RecoveryBound time.Duration
	// Log receives progress lines. Default: discarded.
	Log io.Writer
}

func (c *Config) check() error {
	switch {
	case c.Duration <= 0:
		return fmt.Errorf("chaos: Duration %s: want a positive duration", c.Duration)
	case c.Procpool == "" || c.Worker == "":
		return errors.New("chaos: Procpool and Worker binaries are required")
	case c.Lossy && c.NoNetns:
		return errors.New("chaos: Lossy needs network namespaces, and NoNetns asks for none")
	case c.Processes < 0 || c.Callers < 0 || c.RecoveryBound < 0:
		return errors.New("chaos: negative Processes, Callers or RecoveryBound")
	}
	if c.Processes == 0 {
		c.Processes = 2
	}
	if c.Callers == 0 {
		c.Callers = 2
	}
	if c.RecoveryBound == 0 {
		c.RecoveryBound = 2 * time.Minute
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return nil
}

// Violation is one broken promise found in the history.
type Violation struct {
	Rule   string `json:"rule"`   // e.g. "one-outcome", "max-attempts"
	Detail string `json:"detail"` // what, which task, when
}

func (v Violation) String() string { return v.Rule + ": " + v.Detail }

// Report is what a run found.
type Report struct {
	Seed     uint64        `json:"seed"`
	Duration time.Duration `json:"duration_ns"`
	Netns    bool          `json:"netns"`   // namespaces and partitions were used
	Lossy    bool          `json:"lossy"`   // lossy links and one-way partitions too
	Skipped  []string      `json:"skipped"` // what this machine could not do, and why
	// Tasks is the number of distinct tasks submitted; Outcomes counts
	// their outcomes by kind ("ok", "worker_lost", "timeout", ...).
	Tasks    int            `json:"tasks"`
	Outcomes map[string]int `json:"outcomes"`
	// Executions is the number of task executions the workers recorded;
	// Retried the tasks executed more than once.
	Executions int `json:"executions"`
	Retried    int `json:"retried"`
	// Faults is the number of faults applied; FaultsByKind splits it.
	Faults       int            `json:"faults"`
	FaultsByKind map[string]int `json:"faults_by_kind"`
	// QueuePut and QueueGot count queue items; QueueDuplicates the items
	// got more than once (each explained by a fault, or a violation).
	QueuePut        int `json:"queue_put"`
	QueueGot        int `json:"queue_got"`
	QueueDuplicates int `json:"queue_duplicates"`
	// Pipes is the number of pipe rounds checked.
	Pipes int `json:"pipes"`
	// Recovery is how long, once the nemesis had stopped and then the
	// callers had finished, the system took to have every worker back and nothing
	// pending; MaxHostStop the longest a worker host took to exit after
	// SIGTERM.
	Recovery    time.Duration `json:"recovery_ns"`
	MaxHostStop time.Duration `json:"max_host_stop_ns"`
	Violations  []Violation   `json:"violations"`
	Dir         string        `json:"dir,omitempty"` // kept when there are violations
}
