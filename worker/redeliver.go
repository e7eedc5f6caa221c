package worker

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/procpool/procpool/internal/wire"
)

// A redelivered message of several tasks is split before anything runs,
// one message per task, so that one poison task cannot take its packed
// neighbours down with it; the tasks an earlier delivery handed back are
// left to the messages it published (givenback.go).

// retryNakDelay is how long a message given back with a -NAK waits
// before its next delivery.
const retryNakDelay = 2 * time.Second

// uncovered returns the spans of [0, n) that no part covers.
func uncovered(n int, parts []part) []span {
	covered := make([]bool, n)
	for _, p := range parts {
		for i := p.lo; i < p.hi; i++ {
			covered[i] = true
		}
	}
	var out []span
	for i := 0; i < n; {
		if covered[i] {
			i++
			continue
		}
		k := i
		for k < n && !covered[k] {
			k++
		}
		out = append(out, span{i, k})
		i = k
	}
	return out
}

// redeliver handles a message of several tasks delivered again, before
// anything runs. With a record, the parts an earlier delivery handed back
// are published again with their ids and only the other tasks are split,
// one message each (<msgID>.s.<index>), so that one poison task cannot
// take its neighbours down with it; without one, all are split. It
// reports whether the message is settled; if not (it could not be split),
// j's next, end and returned say which tasks to run here.
func (rt *executor) redeliver(j *job) bool {
	parts, err := rt.givenBack(j)
	if err != nil {
		// As before records: split all. If some had been handed back, they
		// now run in two lineages.
		rt.log.Warn("redelivered message: cannot read its give-back record; splitting all its tasks", "msg", j.msgID, "err", err)
		parts = nil
	}
	j.parts = parts
	todo := uncovered(len(j.tm.Tasks), parts)
	lost := j.maxAttempts > 0 && j.attempt > j.maxAttempts
	lostInfo := &wire.ErrorInfo{Code: wire.CodeWorkerLost, Message: fmt.Sprintf(
		"task %s: worker lost on each of %d attempts", j.name, j.maxAttempts)}
	for _, p := range parts {
		if err := rt.requeue(j, j.tm.Tasks[p.lo:p.hi], p.tag, p.hi-p.lo, j.used()); err != nil {
			if lost {
				// Nothing more to try: every task gets the error.
				rt.failAll(j, lostInfo)
				rt.confirms.settle(j, wire.AckTerm)
				return true
			}
			// Not one of this message's tasks may run before its handed-back
			// parts are known to be queued: the message comes back later.
			rt.log.Warn("redelivered message: cannot publish its handed-back tasks again; retrying later", "msg", j.msgID, "err", err)
			_ = rt.nc.Publish(j.msg.Reply, wire.NakDelay(retryNakDelay))
			return true
		}
	}
	if lost {
		// Every earlier delivery ended with its worker gone or hung.
		rt.failSpans(j, todo, lostInfo)
		rt.confirms.settle(j, wire.AckTerm)
		return true
	}
	if err := rt.split(j, todo); err == nil {
		rt.ack(j.msg)
		return true
	}
	if len(todo) == 0 {
		rt.ack(j.msg)
		return true
	}
	j.next, j.end, j.returned = todo[0].lo, todo[0].hi, todo[1:]
	return false
}

// split publishes each task of todo as a message of its own.
func (rt *executor) split(j *job, todo []span) error {
	ctx, cancel := context.WithTimeout(context.Background(), requeueTimeout)
	defer cancel()
	for _, s := range todo {
		for i := s.lo; i < s.hi; i++ {
			if err := rt.publishPart(ctx, j, j.tm.Tasks[i:i+1], j.msgID+".s."+strconv.Itoa(i), j.used()); err != nil {
				return err
			}
		}
	}
	return nil
}
