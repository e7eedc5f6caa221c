//go:build linux

package chaos

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// An Event is one line of a caller's history file (caller-<id>.jsonl):
// what the caller submitted and what came back.
type Event struct {
	T      int64  `json:"t"`             // unix nanoseconds
	Caller string `json:"caller"`        // caller incarnation, e.g. "c1.2"
	Ev     string `json:"ev"`            // see the ev* constants
	Key    string `json:"key,omitempty"` // task, queue item or pipe item
	Call   string `json:"call,omitempty"`
	Kind   string `json:"kind,omitempty"` // outcome kind: "ok", "worker_lost", ...
	Err    string `json:"err,omitempty"`
}

// Event kinds.
const (
	evStart    = "start"    // the caller process is up
	evSubmit   = "submit"   // a task handed to the pool
	evOutcome  = "outcome"  // its one outcome at the caller
	evQPutTry  = "qput-try" // a queue Put begins
	evQPutOK   = "qput-ok"  // ... and returned nil
	evQPutErr  = "qput-err" // ... or an error (the item may still be queued)
	evQGot     = "qgot"     // a queue Get returned the item
	evPipeSend = "pipe-send"
	evPipeRecv = "pipe-recv"
	evPipeDone = "pipe-done" // the round's outcome: Kind ok or an error
	evConnCut  = "conn-cut"  // the caller forced its connection to reconnect
	evExit     = "exit"      // the caller finished cleanly: every call has its outcome
)

// Outcome kinds that are violations in themselves.
const (
	kindHang  = "hang"  // a call outlived its bound (no-hang promise)
	kindWrong = "wrong" // a result that is not the task's own
)

// recorder appends events to a file, one write per event, so that a
// SIGKILL loses at most the event being written.
type recorder struct {
	mu     sync.Mutex
	f      *os.File
	caller string
}

func newRecorder(path, caller string) (*recorder, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &recorder{f: f, caller: caller}, nil
}

func (r *recorder) add(e Event) {
	e.T, e.Caller = time.Now().UnixNano(), r.caller
	b, _ := json.Marshal(e)
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = r.f.Write(append(b, '\n'))
}

func (r *recorder) close() error { return r.f.Close() }

// Fault is one fault the nemesis applied, from Start to End (End equals
// Start for an instant fault such as a SIGKILL; the restart that follows
// is part of the same fault).
type Fault struct {
	Kind   string    `json:"kind"`
	Target string    `json:"target"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Note   string    `json:"note,omitempty"`
}

// Exec is one execution of a task, from the workers' logs.
type Exec struct {
	Key     string
	Attempt int
	PID     int
	Host    string
	T       time.Time
}

// History is everything a run recorded.
type History struct {
	Events []Event
	Execs  []Exec
	Faults []Fault
}

// readHistory reads the caller files and the execution logs in dir.
func readHistory(dir string, faults []Fault) (*History, error) {
	h := &History{Faults: faults}
	callers, _ := filepath.Glob(filepath.Join(dir, "caller-*.jsonl"))
	for _, path := range callers {
		err := eachLine(path, func(line string) error {
			var e Event
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				return nil // a line cut short by a SIGKILL
			}
			h.Events = append(h.Events, e)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "exec", "exec-*.log"))
	for _, path := range logs {
		err := eachLine(path, func(line string) error {
			f := strings.Fields(line)
			if len(f) != 5 {
				return nil // cut short
			}
			att, err1 := strconv.Atoi(f[1])
			pid, err2 := strconv.Atoi(f[2])
			ns, err3 := strconv.ParseInt(f[4], 10, 64)
			if err1 != nil || err2 != nil || err3 != nil {
				return nil
			}
			h.Execs = append(h.Execs, Exec{Key: f[0], Attempt: att, PID: pid, Host: f[3], T: time.Unix(0, ns)})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return h, nil
}

func eachLine(path string, fn func(string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("chaos: history: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if err := fn(sc.Text()); err != nil {
			return err
		}
	}
	return sc.Err()
}
