//go:build linux

package chaos

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Explaining windows: how far around a re-execution or a duplicate a
// fault may be and still explain it.
const (
	// A task message taken during a fault may run only after the fault
	// ended: a worker hands the tasks it has not started back for up to
	// 10s and JetStream redelivers after the 5s ack wait. So a fault up to
	// execBefore before the first execution explains a repeat (the CI run
	// with seed 18 saw one end 6s before; with 2s it was reported).
	execBefore = 15 * time.Second
	execAfter  = 2 * time.Second  // clock and scheduling noise
	queueSlack = 60 * time.Second // a queue message goes back after its ack wait (30s)
)

// check turns a history into the report's counts and violations.
func check(h *History, rep *Report) {
	v := func(rule, format string, a ...any) {
		rep.Violations = append(rep.Violations, Violation{Rule: rule, Detail: fmt.Sprintf(format, a...)})
	}
	explained := func(from, to time.Time, before, after time.Duration) bool {
		from, to = from.Add(-before), to.Add(after)
		for _, f := range h.Faults {
			if !f.Start.After(to) && !f.End.Before(from) {
				return true
			}
		}
		return false
	}

	// Callers: which incarnations finished cleanly.
	clean := map[string]bool{}
	for _, e := range h.Events {
		if e.Ev == evExit {
			clean[e.Caller] = true
		}
	}

	// One outcome per submitted task at its caller; none for a task never
	// submitted; no wrong result, no hang, nothing missing.
	type task struct {
		caller   string
		call     string
		outcomes []Event
	}
	tasks := map[string]*task{}
	rep.Outcomes = map[string]int{}
	for _, e := range h.Events {
		switch e.Ev {
		case evSubmit:
			if tasks[e.Key] != nil {
				v("unique-key", "task %s submitted twice", e.Key)
				continue
			}
			tasks[e.Key] = &task{caller: e.Caller, call: e.Call}
		case evOutcome:
			t := tasks[e.Key]
			if t == nil {
				v("no-phantom-result", "caller %s: outcome %s for task %s, never submitted", e.Caller, e.Kind, e.Key)
				continue
			}
			t.outcomes = append(t.outcomes, e)
			rep.Outcomes[e.Kind]++
			switch e.Kind {
			case kindHang:
				v("no-hang", "task %s (%s, caller %s): the call outlived its %s bound: %s", e.Key, t.call, t.caller, callBound, e.Err)
			case kindWrong:
				v("own-result", "task %s (%s, caller %s): a result that is not its own", e.Key, t.call, t.caller)
			case "missing":
				v("one-outcome", "task %s (%s, caller %s): %s", e.Key, t.call, t.caller, e.Err)
			}
		}
	}
	rep.Tasks = len(tasks)
	for key, t := range tasks {
		switch {
		case len(t.outcomes) > 1:
			v("one-outcome", "task %s (%s, caller %s): %d outcomes", key, t.call, t.caller, len(t.outcomes))
		case len(t.outcomes) == 0 && clean[t.caller]:
			v("one-outcome", "task %s (%s, caller %s, which finished cleanly): no outcome", key, t.call, t.caller)
		case len(t.outcomes) == 0:
			rep.Outcomes["caller_killed"]++
		}
	}

	// Executions: at most MaxAttempts, more than one only around a fault,
	// none for a task never submitted, and one at least for every result.
	execs := map[string][]Exec{}
	for _, x := range h.Execs {
		execs[x.Key] = append(execs[x.Key], x)
	}
	rep.Executions = len(h.Execs)
	for key, xs := range execs {
		t := tasks[key]
		if t == nil {
			// A caller SIGKILLed between its pool accepting a task and
			// writing the submit line cannot happen: the line is written
			// first. So an execution without a submission is a phantom.
			v("no-phantom-execution", "task %s executed %d times, never submitted", key, len(xs))
			continue
		}
		if len(xs) > MaxAttempts {
			v("max-attempts", "task %s (%s): %d executions, MaxAttempts is %d", key, t.call, len(xs), MaxAttempts)
		}
		if len(xs) > 1 {
			rep.Retried++
			sort.Slice(xs, func(i, j int) bool { return xs[i].T.Before(xs[j].T) })
			if !explained(xs[0].T, xs[len(xs)-1].T, execBefore, execAfter) {
				v("retry-explained", "task %s (%s): executed %d times (%s to %s) with no fault around", key, t.call, len(xs),
					xs[0].T.Format("15:04:05.000"), xs[len(xs)-1].T.Format("15:04:05.000"))
			}
		}
	}
	for key, t := range tasks {
		if len(t.outcomes) == 1 && t.outcomes[0].Kind == "ok" && len(execs[key]) == 0 {
			v("result-from-execution", "task %s (%s): a result, but no worker recorded an execution", key, t.call)
		}
	}

	// The queue: every item the broker acknowledged is got; once, or more
	// often only around a fault; nothing got that was never put.
	tried, acked := map[string]bool{}, map[string]bool{}
	got := map[string][]time.Time{}
	for _, e := range h.Events {
		switch e.Ev {
		case evQPutTry:
			tried[e.Key] = true
		case evQPutOK:
			acked[e.Key] = true
		case evQGot:
			got[e.Key] = append(got[e.Key], time.Unix(0, e.T))
			rep.QueueGot++
		}
	}
	rep.QueuePut = len(acked)
	for key := range acked {
		if len(got[key]) == 0 {
			v("queue-no-loss", "queue item %s: put and acknowledged, never got", key)
		}
	}
	for key, ts := range got {
		if !tried[key] {
			v("queue-no-phantom", "queue item %s got, never put", key)
		}
		if len(ts) > 1 {
			rep.QueueDuplicates++
			slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
			if !explained(ts[0], ts[len(ts)-1], queueSlack, queueSlack) {
				v("queue-duplicate-explained", "queue item %s got %d times with no fault around", key, len(ts))
			}
		}
	}

	// Pipes: in order, each once; a round that ended well received all.
	type pipe struct {
		sent, recv []string
		done       *Event
	}
	pipes := map[string]*pipe{}
	pipeOf := func(name string) *pipe {
		if pipes[name] == nil {
			pipes[name] = &pipe{}
		}
		return pipes[name]
	}
	for _, e := range h.Events {
		switch e.Ev {
		case evPipeSend:
			pipeOf(e.Call).sent = append(pipeOf(e.Call).sent, e.Key)
		case evPipeRecv:
			pipeOf(e.Call).recv = append(pipeOf(e.Call).recv, e.Key)
		case evPipeDone:
			pipeOf(e.Call).done = &e
		}
	}
	for name, p := range pipes {
		if p.done == nil {
			continue // its caller was killed
		}
		rep.Pipes++
		if !slices.IsSorted(p.recv) || len(slices.Compact(slices.Clone(p.recv))) != len(p.recv) {
			v("pipe-order", "pipe %s: received %s, want each once and in order", name, strings.Join(p.recv, " "))
		}
		for _, r := range p.recv {
			if !slices.Contains(p.sent, r) {
				v("pipe-no-phantom", "pipe %s: received %s, never sent", name, r)
			}
		}
		if p.done.Kind == "ok" && len(p.recv) != len(p.sent) {
			v("pipe-no-loss", "pipe %s: %d sent, %d received, and the round reported no error", name, len(p.sent), len(p.recv))
		}
		if p.done.Kind == kindHang {
			v("no-hang", "pipe %s: outlived its %s bound: %s", name, callBound, p.done.Err)
		}
	}
}
