package wire

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Protocol version carried in every envelope's second byte.
const Version = 2

// Header names on task messages.
const (
	HdrMsgID       = "Nats-Msg-Id"           // JetStream de-duplication: a retried publish is not queued twice
	HdrReply       = "Procpool-Reply"        // the caller's result inbox
	HdrTimeout     = "Procpool-Timeout-Ms"   // per-task hard timeout, milliseconds; absent: none
	HdrMaxAttempts = "Procpool-Max-Attempts" // executions allowed before ErrWorkerLost
	HdrDeaths      = "Procpool-Deaths"       // deliveries that ended without a result before this message was re-published
	HdrItemNanos   = "Procpool-Item-Ns"      // on a result message: mean execution time per item of its tasks, nanoseconds
	HdrValueDir    = "Procpool-Value-Dir"    // the caller's value directory on its host, where a worker on that host stores large results
	HdrToken       = "Procpool-Token"        // random per task message; a result message echoes it, so the caller takes results only for tasks it sent
)

// ConsumerName is the durable pull consumer all of a pool's workers share.
const ConsumerName = "workers"

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidPoolName reports whether name can be a pool name: it becomes a
// subject token and part of a stream name.
func ValidPoolName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("pool name %q: want 1-64 of [A-Za-z0-9_-]", name)
	}
	return nil
}

// ValidTaskName reports whether name can be a task name: it becomes the
// tail of a subject, so it may hold dots but no spaces or wildcards.
func ValidTaskName(name string) error {
	if name == "" {
		return fmt.Errorf("empty task name")
	}
	if len(name) > 200 {
		return fmt.Errorf("task name %q: longer than 200 bytes", name)
	}
	if strings.ContainsAny(name, " \t\r\n*>") || strings.HasPrefix(name, ".") ||
		strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return fmt.Errorf("task name %q: must be a valid NATS subject tail (no spaces, '*', '>', empty tokens)", name)
	}
	return nil
}

// Subjects are the names of one pool on the wire.
type Subjects struct{ Pool string }

// Stream is the JetStream work-queue stream holding the pool's tasks.
func (s Subjects) Stream() string { return "PROCPOOL_" + s.Pool }

// TaskPrefix precedes every task name in a task subject.
func (s Subjects) TaskPrefix() string { return "procpool." + s.Pool + ".task." }

// Task is the subject a task of that name is published on.
func (s Subjects) Task(name string) string { return s.TaskPrefix() + name }

// TaskFilter matches every task subject of the pool.
func (s Subjects) TaskFilter() string { return "procpool." + s.Pool + ".task.>" }

// Heartbeat is where every worker announces itself once a second.
func (s Subjects) Heartbeat() string { return "procpool." + s.Pool + ".workers.hb" }

// Cancel is where a caller announces a call it no longer wants run.
func (s Subjects) Cancel() string { return "procpool." + s.Pool + ".cancel" }

// PullNext is the JetStream API subject a worker asks for its next task on.
func (s Subjects) PullNext() string {
	return ConsumerNextSubject(s.Stream(), ConsumerName)
}

// CancelKey names a call in a cancel notice: the caller's inbox and the
// call number, which together are unique.
func CancelKey(reply string, call uint64) string {
	return reply + " " + strconv.FormatUint(call, 10)
}

// MaxCancelKey bounds a cancel notice: an inbox and a call number.
const MaxCancelKey = 256

// ValidCancelKey reports whether key has CancelKey's form and size: a
// worker keeps the keys it is sent, so it takes no other.
func ValidCancelKey(key string) bool {
	inbox, call, ok := strings.Cut(key, " ")
	if !ok || len(key) > MaxCancelKey || !ValidInbox(inbox) {
		return false
	}
	_, err := strconv.ParseUint(call, 10, 64)
	return err == nil
}

// ValidInbox reports whether subj is a literal inbox subject: "_INBOX."
// then tokens of printable ASCII without wildcards. A caller sends
// receipts only to such a subject, so that a result message cannot make
// it publish where the sender chose (a JetStream API subject, say).
func ValidInbox(subj string) bool {
	rest, ok := strings.CutPrefix(subj, "_INBOX.")
	if !ok || rest == "" || len(subj) > 200 {
		return false
	}
	for _, tok := range strings.Split(rest, ".") {
		if tok == "" || tok == "*" || tok == ">" {
			return false
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; c <= ' ' || c >= 0x7f {
				return false
			}
		}
	}
	return true
}
