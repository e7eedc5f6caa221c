package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/spawn"
	"github.com/procpool/procpool/internal/wire"
)

// handBack re-queues the tasks of j not yet started. On the give-back
// timer (GiveBackAfter) it flushes the results so far, which should not
// wait behind the long task either, and hands the tasks back in two
// messages, so that two idle workers can share them, without blocking the
// task that runs (j.handing tracks it). When the worker is about to be
// recycled (recycling) it hands them back in one message and waits, so
// the worker runs no more than its share and strands nothing. Each
// give-back is recorded first (givenback.go). Tasks that cannot be
// re-queued are run here after all (j.returned).
func (rt *executor) handBack(j *job, recycling bool) {
	j.mu.Lock()
	if j.finished || j.next >= j.end {
		j.mu.Unlock()
		return
	}
	rest := detach(j.tm.Tasks[j.next:j.end])
	from, end := j.next, j.end
	j.end = j.next
	tag, failed := "g", "handing tasks back failed; running them here"
	if recycling {
		tag, failed = "r", "recycling: could not hand back tasks; running them here"
	}
	send := func() {
		half := len(rest)
		if !recycling && len(rest) >= 2 {
			half = len(rest) / 2
		}
		parts := []part{{tag + strconv.Itoa(from), span{from, from + half}}}
		if half < len(rest) {
			parts = append(parts, part{tag + strconv.Itoa(from+half), span{from + half, end}})
		}
		k := 0 // the first part not handed back
		err := rt.record(j, recordWrite, parts...)
		if err == nil {
			giveBackRecorded()
			for ; k < len(parts); k++ {
				p := parts[k]
				if err = rt.requeue(j, rest[p.lo-from:p.hi-from], p.tag, p.hi-p.lo, j.used()); err != nil {
					break
				}
			}
		}
		if err != nil {
			rt.log.Warn(failed, "err", err)
			j.unrecord(parts[k:]...)
			j.mu.Lock()
			j.returned = append(j.returned, span{parts[k].lo, end})
			j.mu.Unlock()
		}
	}
	if recycling {
		j.mu.Unlock()
		send()
		return
	}
	rt.flush(j)
	j.handing.Add(1)
	j.mu.Unlock()
	go func() {
		defer j.handing.Done()
		send()
	}()
}

// detach copies tasks handed back, for a re-publish that may outlive the
// message's decode: their Items are windows on the executor's reused item
// slice, which the message's Release (or the next message) overwrites as
// soon as the message is done; hardTimeout re-publishes while the task
// that ignored its timeout may yet return. The item bytes stay where
// they are, in the message's data, which j keeps.
func detach(tasks []wire.Task) []wire.Task {
	out := append([]wire.Task(nil), tasks...)
	n := 0
	for _, t := range out {
		n += len(t.Items)
	}
	flat := make([][]byte, 0, n)
	for i := range out {
		start := len(flat)
		flat = append(flat, out[i].Items...)
		out[i].Items = flat[start:len(flat):len(flat)]
	}
	return out
}

// recycleDue reports whether MaxTasksPerChild tasks are done.
func (rt *executor) recycleDue() bool {
	return rt.cfg.MaxTasksPerChild > 0 && rt.done.Load() >= int64(rt.cfg.MaxTasksPerChild)
}

// requeueTimeout bounds a requeue: its publishes and their retries.
const requeueTimeout = 10 * time.Second

// used is how many attempts the tasks of j have used before this one: the
// Procpool-Deaths a message handing them back carries.
func (j *job) used() int { return max(j.deaths, 0) + j.delivery - 1 }

// requeue publishes tasks again as new messages of per tasks each (waiting
// for JetStream to store them), carrying the attempts they have used
// (deaths). Message ids derive from the original (<msgID>.<tag>.<start>),
// so repeating this after a crash does not queue them twice.
func (rt *executor) requeue(j *job, tasks []wire.Task, tag string, per, deaths int) error {
	ctx, cancel := context.WithTimeout(context.Background(), requeueTimeout)
	defer cancel()
	for start := 0; start < len(tasks); start += per {
		id := j.msgID + "." + tag + "." + strconv.Itoa(start)
		if err := rt.publishPart(ctx, j, tasks[start:min(start+per, len(tasks))], id, deaths); err != nil {
			return err
		}
	}
	return nil
}

// publishPart publishes tasks of j as one message with the message id id.
func (rt *executor) publishPart(ctx context.Context, j *job, tasks []wire.Task, id string, deaths int) error {
	body := wire.TaskMsgHeader(nil, j.call, len(tasks))
	for i := range tasks {
		body = wire.AppendTask(body, &tasks[i])
	}
	m := nats.NewMsg(j.msg.Subject)
	m.Data = body
	for k, v := range j.msg.Header {
		m.Header[k] = v
	}
	m.Header.Set(wire.HdrDeaths, strconv.Itoa(deaths))
	m.Header.Set(wire.HdrMsgID, id)
	return publishRetry(ctx, rt.js, m)
}

// publishRetry publishes m to JetStream until it is stored or ctx ends,
// each try bounded by 2s: a try whose request or reply was lost with a
// dropped connection is repeated, and the message id keeps the repeat
// from being queued twice.
func publishRetry(ctx context.Context, js jetstream.JetStream, m *nats.Msg) error {
	for {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.PublishMsg(tctx, m)
		cancel()
		if err == nil || ctx.Err() != nil || errors.Is(err, nats.ErrConnectionClosed) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// hardTimeout runs when a task has ignored its cancelled context for the
// grace period: the worker answers for it, hands back what it has not
// started (recorded first, givenback.go), and exits so that its
// supervisor starts a fresh process.
func (rt *executor) hardTimeout(j *job, t *wire.Task) {
	j.mu.Lock()
	if j.finished {
		j.mu.Unlock()
		return
	}
	// The tasks' headers are copied (detach) while the message is surely
	// held: the task that ignored its timeout may yet return, and the
	// executor move on to the next message.
	tasks := detach(j.tm.Tasks)
	rest := []span{{j.next, j.end}}
	j.end = j.next
	rt.addResult(j, &wire.Result{Seq: t.Seq, Attempt: j.attempt, Err: &wire.ErrorInfo{Code: wire.CodeTimeout, Message: fmt.Sprintf(
		"task %s ignored its %s timeout for %s; worker %s (pid %d) exits", j.name, j.timeout, rt.cfg.HardTimeoutGrace, rt.cfg.ID, rt.pid)}})
	rt.flush(j)
	j.finished = true
	j.mu.Unlock()
	j.handing.Wait()
	// With the give-backs in flight done, what they could not hand back is
	// known too.
	j.mu.Lock()
	rest = append(rest, j.returned...)
	j.returned = nil
	j.mu.Unlock()
	var parts []part
	for _, s := range rest {
		if s.lo < s.hi {
			parts = append(parts, part{"t" + strconv.Itoa(s.lo), s})
		}
	}
	if len(parts) > 0 {
		err := rt.record(j, recordWrite, parts...)
		for k := 0; err == nil && k < len(parts); k++ {
			p := parts[k]
			err = rt.requeue(j, tasks[p.lo:p.hi], p.tag, p.hi-p.lo, j.used())
		}
		if err != nil {
			// Leave the message unacked: it is redelivered, and the tasks
			// not handed back are split then.
			rt.log.Error("hard timeout: could not hand back tasks", "err", err)
			rt.exitHard()
			return
		}
	}
	rt.ack(j.msg)
	rt.log.Error("task ignored its timeout; exiting", "task", j.name, "timeout", j.timeout)
	rt.status(spawn.StatusTimeout, j.name)
	rt.exitHard()
}

// hardExit ends the process when a task ignores its hard timeout; a test
// may replace it.
var hardExit = func() { os.Exit(ExitHardTimeout) }

func (rt *executor) exitHard() {
	_ = rt.nc.FlushTimeout(time.Second)
	hardExit()
}
