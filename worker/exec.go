package worker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/spawn"
	"github.com/procpool/procpool/internal/wire"
)

// job is one task message being executed. The executor takes tasks from
// [next, end); the give-back timer may shrink end to hand the rest back.
type job struct {
	msg      *nats.Msg
	name     string
	reply    string
	timeout  time.Duration
	attempt  int
	deaths   int
	delivery int
	tm       *wire.TaskMsg // valid while the job runs: the next message reuses it
	call     uint64
	start    time.Time
	msgID    string
	stream   string // the message's stream and sequence, for its give-back record
	seq      uint64
	valueDir string // the caller's value directory, for large results (values.go)
	token    string // the message's wire.HdrToken, echoed on its results

	maxAttempts int  // Procpool-Max-Attempts; 0 if absent
	nak         bool // a task asked for another attempt (values.go): -NAK at the end, not ack

	recMu sync.Mutex // serializes the writes of the give-back record (givenback.go)
	parts []part     // what the record says was handed back; recMu

	mu        sync.Mutex
	next, end int
	returned  []span // tasks to run after [next, end): a give-back that failed, a redelivery's rest
	out       []byte // encoded results not yet sent
	nout      int
	outExec   time.Duration // execution time of the tasks in out
	outItems  int           // and their number of items
	lastFlush time.Time
	handing   sync.WaitGroup // give-backs in flight: ack only after they are queued
	finished  bool           // acked or terminated: the timeout path must not act
}

func (rt *executor) handle(ctx context.Context, m *nats.Msg) {
	meta, ok := wire.ParseAck(m.Reply)
	if !ok {
		rt.log.Warn("dropping message without a JetStream ack subject", "subject", m.Subject)
		return
	}
	j := &job{msg: m, delivery: meta.Delivered, start: time.Now(), msgID: m.Header.Get(wire.HdrMsgID), stream: meta.Stream, seq: meta.StreamSeq}
	j.reply = m.Header.Get(wire.HdrReply)
	j.valueDir = m.Header.Get(wire.HdrValueDir)
	j.token = m.Header.Get(wire.HdrToken)
	j.name = m.Subject[min(len(rt.subj.TaskPrefix()), len(m.Subject)):]
	tm := &rt.tm // decoded into the same memory, message after message
	// Between messages, hold nothing of this one: a large Map chunk's
	// data would stay in memory until the next message, which shows in
	// a worker's RSS (BENCHMARKS.md, Figures behind code comments).
	defer tm.Release()
	err := wire.DecodeTaskMsgInto(m.Data, tm)
	if err != nil || j.reply == "" || j.name == "" {
		// Nobody to answer, or nothing to run: drop it for good, with a reason.
		rt.log.Warn("dropping malformed task message", "subject", m.Subject, "seq", meta.StreamSeq, "err", err, "reply", j.reply != "")
		rt.term(m)
		return
	}
	j.tm, j.call, j.end = tm, tm.Call, len(tm.Tasks)
	if v := m.Header.Get(wire.HdrTimeout); v != "" {
		ms, _ := strconv.ParseInt(v, 10, 64)
		j.timeout = time.Duration(max(ms, 0)) * time.Millisecond
	}
	j.deaths, _ = strconv.Atoi(m.Header.Get(wire.HdrDeaths))
	j.attempt = max(j.deaths, 0) + meta.Delivered
	j.maxAttempts, _ = strconv.Atoi(m.Header.Get(wire.HdrMaxAttempts))

	if rt.cancelled.has(wire.CancelKey(j.reply, tm.Call)) {
		rt.ack(m)
		return
	}
	if meta.Delivered > 1 && len(tm.Tasks) > 1 {
		// A redelivered batch: one of its tasks may be the one that killed
		// the last worker. Split it so each task is counted on its own,
		// but not the tasks an earlier delivery handed back (givenback.go).
		if rt.redeliver(j) {
			return
		}
	} else if j.maxAttempts > 0 && j.attempt > j.maxAttempts {
		// Every earlier delivery ended with its worker gone or hung.
		rt.failAll(j, &wire.ErrorInfo{Code: wire.CodeWorkerLost, Message: fmt.Sprintf(
			"task %s: worker lost on each of %d attempts", j.name, j.maxAttempts)})
		rt.confirms.settle(j, wire.AckTerm)
		return
	}
	h := rt.cfg.Registry.lookup(j.name)
	if h == nil {
		rt.failAll(j, &wire.ErrorInfo{Code: wire.CodeUnknownTask, Message: fmt.Sprintf(
			"unknown task %q: not registered in worker %s (serves %v)", j.name, rt.cfg.ID, rt.cfg.Registry.Names())})
		rt.confirms.settle(j, wire.AckOK)
		return
	}
	rt.run(ctx, j, h)
}

// run executes a job's tasks in order, handing back what it has not started
// once it has run for GiveBackAfter, and acks the message at the end.
func (rt *executor) run(ctx context.Context, j *job, h handler) {
	rt.mu.Lock()
	rt.current = j
	rt.mu.Unlock()
	rt.status(spawn.StatusTake, j.msg.Reply+" "+j.name)
	j.lastFlush = j.start

	var giveBack *time.Timer
	if j.end-j.next > 1 {
		giveBack = time.AfterFunc(rt.cfg.GiveBackAfter, func() { rt.handBack(j, false) })
	}
	for {
		j.mu.Lock()
		if j.next >= j.end {
			j.mu.Unlock()
			if giveBack != nil {
				giveBack.Stop()
			}
			j.handing.Wait()
			j.mu.Lock()
			if len(j.returned) == 0 {
				j.mu.Unlock()
				break
			}
			// A give-back failed, or a redelivery could not be split: run
			// those tasks here after all.
			j.next, j.end = j.returned[0].lo, j.returned[0].hi
			j.returned = j.returned[1:]
			j.mu.Unlock()
			giveBack = nil
			continue
		}
		i := j.next
		j.next++
		j.mu.Unlock()

		t := &j.tm.Tasks[i]
		t0 := time.Now()
		enc := rt.runTask(ctx, j, h, t, i)
		took := time.Since(t0)

		j.mu.Lock()
		if enc != nil { // nil: handed back to run again (values.go)
			rt.addEncoded(j, enc, t.Seq)
			j.outExec += took
			j.outItems += t.Len()
		}
		if time.Since(j.lastFlush) >= rt.cfg.GiveBackAfter {
			rt.flush(j)
		}
		j.mu.Unlock()
		if rt.recycleDue() {
			rt.handBack(j, true)
		}
	}
	j.mu.Lock()
	if j.finished {
		// The hard timeout answers for the message (handback.go): it acks
		// once what it hands back is queued, then the process exits.
		j.mu.Unlock()
		return
	}
	rt.flush(j)
	j.finished = true
	j.mu.Unlock()
	// Ack once the caller has receipted the results (confirm.go).
	if j.nak {
		rt.confirms.settle(j, string(wire.NakDelay(retryNakDelay)))
	} else {
		rt.confirms.settle(j, wire.AckOK)
	}
	rt.obs.finished(time.Since(j.start), j.delivery) // observe.go
	rt.mu.Lock()
	rt.current = nil
	rt.mu.Unlock()
	rt.status(spawn.StatusDone, strconv.FormatInt(rt.done.Load(), 10))
}

// runTask runs one task's items in order and returns its encoded result;
// the first failing item fails the task. The encoding lives in buffers the
// executor reuses from task to task (rt.resBuf, rt.itemBuf): the caller
// copies it out (addEncoded) before the next task. Nothing per item is
// allocated here, so a worker's garbage is mostly what its tasks make.
// It returns nil when the task, the message's i-th, was handed back to run
// again: its stored argument could not be read (values.go).
func (rt *executor) runTask(ctx context.Context, j *job, h handler, t *wire.Task, i int) []byte {
	tctx := withTask(ctx, taskCtx{rt: rt, j: j, seq: t.Seq})
	var hard *time.Timer
	if j.timeout > 0 {
		var cancel context.CancelFunc
		tctx, cancel = context.WithTimeout(tctx, j.timeout)
		defer cancel()
		hard = time.AfterFunc(j.timeout+rt.cfg.HardTimeoutGrace, func() { rt.hardTimeout(j, t) })
		defer hard.Stop()
	}
	rt.trimBuffers()                    // values.go
	items, info := rt.taskItems(ctx, t) // values.go: fetched if stored
	if info != nil && info.Code == wire.CodeUnavailable && rt.retryUnavailable(j, i) {
		return nil
	}
	if info != nil {
		rt.failed.Add(1)
		rt.done.Add(1)
		rt.resBuf = wire.AppendResult(rt.resBuf[:0], &wire.Result{Seq: t.Seq, Attempt: j.attempt, Err: info})
		return rt.resBuf
	}
	buf := wire.AppendResultOK(rt.resBuf[:0], t.Seq, j.attempt, len(items))
	head := len(buf)
	owned := t.Ref != nil && len(items) == 1 // a fetched value nothing else refers to
	for k, item := range items {
		out, alias, err := callHandlerOwned(tctx, h, item, owned, rt.itemBuf[:0])
		if !alias {
			rt.itemBuf = out
		}
		if err == nil && len(items) == 1 && len(out) > rt.inline {
			// One large result: stored from where it is, not copied here first.
			rt.done.Add(1)
			rt.resBuf = rt.storeResult(ctx, j, t, buf[:0], 1, binary.AppendUvarint(nil, uint64(len(out))), out) // values.go
			return rt.resBuf
		}
		if err != nil {
			rt.failed.Add(1)
			rt.done.Add(1)
			info := errorInfo(err)
			info.Item = k
			rt.resBuf = wire.AppendResult(buf[:0], &wire.Result{Seq: t.Seq, Attempt: j.attempt, Err: info})
			return rt.resBuf
		}
		buf = wire.AppendItem(buf, out)
	}
	rt.done.Add(1)
	if len(buf) > rt.inline {
		buf = rt.storeResult(ctx, j, t, buf[:0], len(items), buf[head:]) // values.go
	}
	rt.resBuf = buf
	return buf
}

func (j *job) taskID(seq uint64) string {
	return j.reply + "." + strconv.FormatUint(j.call, 10) + "." + strconv.FormatUint(seq, 10)
}

// callHandler is the task boundary: a panic becomes an error with its
// stack. The result is appended to dst, or is the task's own memory.
func callHandler(ctx context.Context, h handler, in, dst []byte) (out []byte, err error) {
	out, _, err = callHandlerOwned(ctx, h, in, false, dst)
	return out, err
}

// callHandlerOwned is callHandler for an argument this process owns (see
// handler); alias says out is the task's memory, not dst's.
func callHandlerOwned(ctx context.Context, h handler, in []byte, owned bool, dst []byte) (out []byte, alias bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, alias, err = dst, false, &panicError{value: r, stack: string(debug.Stack())}
		}
	}()
	return h(ctx, in, owned, dst)
}

type panicError struct {
	value any
	stack string
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

func errorInfo(err error) *wire.ErrorInfo {
	info := &wire.ErrorInfo{Code: wire.CodeTask, Message: err.Error()}
	var pe *panicError
	var ce *codedError
	switch {
	case errors.As(err, &pe):
		info.Code, info.Stack = wire.CodePanic, pe.stack
	case errors.As(err, &ce):
		info.Code = ce.code
	case errors.Is(err, context.DeadlineExceeded):
		info.Code = wire.CodeTimeout
	case errors.Is(err, context.Canceled):
		info.Code = wire.CodeCanceled
	}
	return info
}

func (rt *executor) ack(m *nats.Msg)  { _ = rt.nc.Publish(m.Reply, []byte(wire.AckOK)) }
func (rt *executor) term(m *nats.Msg) { _ = rt.nc.Publish(m.Reply, []byte(wire.AckTerm)) }
