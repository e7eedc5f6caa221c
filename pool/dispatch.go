package pool

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/wire"
)

// Packing limits for one task message. Several tasks share a message when
// they are submitted faster than they are published; a worker hands back
// what it has not started after a few milliseconds, so packing never holds
// a task hostage (see docs/protocol.md).
const (
	maxTasksPerMsg   = 256
	msgHeadroom      = wire.MsgHeadroom // headers and envelope overhead under max payload
	maxTaskPackBytes = wire.MaxMessageBytes
	submitQueueSize  = 4096
	// publishAckTimeout is how long a task message may wait for
	// JetStream's confirmation before it is published again.
	publishAckTimeout = 10 * time.Second
)

// completion receives a task's result. It runs on the result router's
// goroutine and must not block.
type completion func(r *wire.Result, src *source)

// submission is one task on its way to the publisher.
type submission struct {
	name  string
	call  uint64
	task  wire.Task
	size  int
	items int
	frame []byte // task.Encoded with wire.MaxOneTaskPrefix bytes of room in front, or nil
	pack  int    // at most this many tasks of its call share a message; 0: no cap beyond the limits above
}

// dispatcher publishes tasks to the pool's stream and routes results from
// the pool's inbox back to whoever waits for them.
type dispatcher struct {
	nc          *nats.Conn
	times       *taskTimes // how long each task runs, for packing
	js          jetstream.JetStream
	subj        wire.Subjects
	inbox       string
	maxAttempts string
	timeoutMS   string
	maxPayload  int
	callerID    string

	seq     atomic.Uint64
	callSeq atomic.Uint64
	msgSeq  atomic.Uint64
	dups    atomic.Int64   // results for tasks already answered or abandoned
	forged  atomic.Int64   // results whose token answers no task of this caller
	ctr     *counters      // event counts for metrics (metrics.go)
	recent  recentFailures // the latest failed results, for the calls report (calls.go)

	mu      sync.Mutex
	pending map[uint64]*waiter
	idle    chan struct{} // closed and replaced when pending drops to zero
	failed  error         // set by failAll: no waiter is added after it

	submit  chan submission
	stop    chan struct{}
	stopCtx context.Context // ends with stop, for fetches in flight
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	sub     *nats.Subscription

	receipts *receipter  // result receipts, sent off the result path
	tokens   tokenSource // publishLoop's alone (tokens.go)

	// Values too large for a message (values.go).
	vals   *blob.Values
	vdir   *blob.Dir // this caller's value files; nil where none could be made
	argDir string    // vdir's name when arguments may go there: every worker is on this host
	inline int       // the largest task or result carried inside a message
}

type waiter struct {
	call  uint64
	name  string // the task's, for its execution time
	done  completion
	start time.Time // when it was submitted, for the duration histogram
	ref   *wire.Ref // its stored argument, deleted once the task is over
	// fetching: its result is stored and being fetched; a copy of the
	// result that comes meanwhile is a duplicate. A resend of the same
	// result message names the same value, which must not be deleted
	// under the fetch.
	fetching bool
	fetchRef wire.Ref
	token    string // the task message's HdrToken, which its result echoes; "" for a Process
}

func newDispatcher(nc *nats.Conn, subj wire.Subjects, o *options) (*dispatcher, error) {
	d := &dispatcher{
		nc: nc, subj: subj, receipts: newReceipter(nc), times: newTaskTimes(),
		maxAttempts: strconv.Itoa(o.maxAttempts),
		maxPayload:  int(nc.MaxPayload()),
		callerID:    nats.NewInbox()[len("_INBOX."):],
		pending:     map[uint64]*waiter{},
		idle:        make(chan struct{}),
		submit:      make(chan submission, submitQueueSize),
		stop:        make(chan struct{}),
		ctr:         newCounters(),
	}
	d.stopCtx, d.cancel = context.WithCancel(context.Background())
	if o.taskTimeout > 0 {
		d.timeoutMS = strconv.FormatInt(o.taskTimeout.Milliseconds(), 10)
	}
	d.inbox = nc.NewInbox() // under the connection's inbox prefix, which permissions may require
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(4096),
		// A publish lost with a dropped connection gets no ack: time it
		// out so that publishFailed sends it again (same message id).
		jetstream.WithPublishAsyncTimeout(publishAckTimeout),
		jetstream.WithPublishAsyncErrHandler(d.publishFailed))
	if err != nil {
		return nil, err
	}
	d.js = js
	d.sub, err = nc.Subscribe(d.inbox, d.route)
	if err != nil {
		return nil, fmt.Errorf("pool: subscribe to results: %w", err)
	}
	// Results are never dropped for being slow: windows bound how many can come.
	_ = d.sub.SetPendingLimits(-1, -1)
	d.wg.Go(d.publishLoop)
	return d, nil
}

// close stops the publisher and the result router; pending waiters are
// left for the caller to fail.
func (d *dispatcher) close() {
	close(d.stop)
	d.cancel()
	d.wg.Wait()
	_ = d.sub.Unsubscribe()
	d.receipts.close()
}

func (d *dispatcher) newCall() uint64 { return d.callSeq.Add(1) }

// add registers a waiter for a new task and returns the task's sequence.
// Once failAll has run it adds nothing and returns failAll's error: a call
// that passed its closed check just before the pool stopped would
// otherwise wait for a result nothing will send.
// ref is the task's stored argument, if any: the waiter owns it from here.
func (d *dispatcher) add(call uint64, name string, ref *wire.Ref, done completion) (uint64, error) {
	seq := d.seq.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failed != nil {
		if ref != nil {
			d.vals.Release(*ref)
		}
		return 0, d.failed
	}
	d.pending[seq] = &waiter{call: call, name: name, done: done, start: time.Now(), ref: ref}
	return seq, nil
}

// forget drops a waiter; its result, if one comes, counts as a duplicate.
func (d *dispatcher) forget(seq uint64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.pending[seq]
	if ok {
		d.remove(seq)
	}
	return ok
}

// remove deletes a waiter, and its stored argument; d.mu is held.
func (d *dispatcher) remove(seq uint64) {
	if w := d.pending[seq]; w != nil && w.ref != nil {
		d.vals.Release(*w.ref)
	}
	delete(d.pending, seq)
	if len(d.pending) == 0 {
		close(d.idle)
		d.idle = make(chan struct{})
	}
}

// cancelCall forgets every task of a call and tells workers not to start
// the ones still queued.
func (d *dispatcher) cancelCall(call uint64, seqs []uint64) {
	d.mu.Lock()
	for _, s := range seqs {
		if _, ok := d.pending[s]; ok {
			d.remove(s)
		}
	}
	d.mu.Unlock()
	_ = d.nc.Publish(d.subj.Cancel(), []byte(wire.CancelKey(d.inbox, call)))
}

// waitIdle waits until no task is pending or ctx ends.
func (d *dispatcher) waitIdle(ctx context.Context) error {
	for {
		d.mu.Lock()
		n, idle := len(d.pending), d.idle
		d.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// failAll completes every pending task with err (pool closing).
func (d *dispatcher) failAll(err error) {
	d.mu.Lock()
	d.failed = err
	ws := make([]*waiter, 0, len(d.pending))
	for seq, w := range d.pending {
		ws = append(ws, w)
		d.remove(seq)
	}
	d.mu.Unlock()
	info := &wire.ErrorInfo{Code: codeClosed, Message: err.Error()}
	for _, w := range ws {
		w.done(&wire.Result{Err: info}, &source{})
	}
}

// route is the result subscription's handler: it hands each result to its
// waiter, once; later copies of a result (after a redelivery) are dropped.
func (d *dispatcher) route(m *nats.Msg) {
	took, timed := itemNanos(m.Header.Get(wire.HdrItemNanos)) // tasktimes.go
	rm, err := wire.DecodeResultMsg(m.Data)
	if err != nil {
		return // not from a worker of ours: no receipt, nothing to deliver
	}
	if wire.ValidInbox(m.Reply) {
		// The receipt lets the worker ack the task (worker/confirm.go). Only
		// to a worker's inbox: the sender chose m.Reply, and a receipt
		// published with this caller's rights must not land elsewhere.
		d.receipts.add(m.Reply, timed && took >= receiptAtOnce)
	}
	token := m.Header.Get(wire.HdrToken)
	src := &source{worker: rm.Worker, pid: rm.PID, host: rm.Host}
	for i := range rm.Results {
		r := &rm.Results[i]
		d.mu.Lock()
		w := d.pending[r.Seq]
		if w != nil && w.token != token {
			// Not an answer to the task this caller sent under that seq:
			// forged, or meant for another caller.
			d.mu.Unlock()
			d.forged.Add(1)
			continue
		}
		keep := false // a stored result that is being fetched
		if w != nil && w.fetching {
			keep = r.Ref != nil && *r.Ref == w.fetchRef
			w = nil // its first result is being fetched: this is a copy
		}
		if w != nil && r.Ref != nil {
			w.fetching, w.fetchRef = true, *r.Ref // stays pending (Close waits for it) until fetched
		} else if w != nil {
			d.remove(r.Seq)
		}
		d.mu.Unlock()
		if w == nil {
			d.dups.Add(1)
			if r.Ref != nil && !keep {
				d.vals.Release(*r.Ref)
			}
			continue
		}
		if r.Ref != nil {
			d.fetchResult(w, *r, src) // values.go
			continue
		}
		if timed && i == 0 {
			d.times.observe(w.name, took) // tasktimes.go
		}
		d.ctr.result(r, w.start)
		if r.Err != nil {
			d.recent.add(w.name, r, src) // calls.go
		}
		w.done(r, src)
	}
}

// enqueue hands a task to the publisher, waiting for room while ctx lives.
func (d *dispatcher) enqueue(ctx context.Context, s submission) error {
	select {
	case d.submit <- s:
		d.ctr.submitted.Add(1)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-d.stop:
		return ErrClosed
	}
}

// publishLoop packs whatever tasks are waiting into as few messages as
// fit, and publishes them asynchronously; JetStream's acks come back to
// publishFailed only on failure.
func (d *dispatcher) publishLoop() {
	type batch struct {
		subs []submission
		size int
		est  time.Duration // estimated execution time (tasktimes.go)
		item time.Duration // estimated time of one item of its task
	}
	// Pack up to 256 KiB: bigger messages pipeline worse between caller,
	// broker and workers. A single larger task still goes, alone.
	limit := min(d.maxPayload-msgHeadroom, maxTaskPackBytes)
	open := map[[2]string]*batch{}
	var order [][2]string
	flush := func(k [2]string) {
		b := open[k]
		delete(open, k)
		d.publish(b.subs)
	}
	for {
		var s submission
		select {
		case s = <-d.submit:
		case <-d.stop:
			return
		}
		for more := true; more; {
			k := [2]string{s.name, strconv.FormatUint(s.call, 10)}
			b := open[k]
			if b != nil && (len(b.subs) >= maxTasksPerMsg || (s.pack > 0 && len(b.subs) >= s.pack) || b.size+s.size > limit ||
				b.est+b.item*time.Duration(s.items) > packBudget) {
				flush(k)
				b = nil
			}
			if b == nil {
				// One look-up per batch, not per task: a batch is one name.
				b = &batch{item: d.times.itemTime(s.name)}
				open[k] = b
				order = append(order, k)
			}
			b.subs = append(b.subs, s)
			b.size += s.size
			b.est += b.item * time.Duration(s.items)
			select {
			case s = <-d.submit:
			default:
				more = false
			}
		}
		for _, k := range order {
			if open[k] != nil {
				flush(k)
			}
		}
		order = order[:0]
	}
}

// publish sends one task message.
func (d *dispatcher) publish(subs []submission) {
	d.ctr.messages.Add(1)
	var body []byte
	if s := &subs[0]; len(subs) == 1 && s.frame != nil {
		// A Map chunk alone: its head goes into the room in front of its
		// items, and the buffer becomes the message as it is.
		var head [wire.MaxOneTaskPrefix]byte
		h := wire.AppendOneTaskPrefix(head[:0], s.call, s.task.Seq, s.task.NItems)
		start := wire.MaxOneTaskPrefix - len(h)
		copy(s.frame[start:], h)
		body = s.frame[start:]
	} else {
		body = wire.TaskMsgHeader(make([]byte, 0, 64+subs[0].size*len(subs)), subs[0].call, len(subs))
		for i := range subs {
			body = wire.AppendTask(body, &subs[i].task)
		}
	}
	m := nats.NewMsg(d.subj.Task(subs[0].name))
	m.Data = body
	// The id is unpredictable: another caller that could guess the next
	// one would publish first and have the real task dropped as its
	// duplicate. The token, echoed by the result, is how route knows a
	// result answers this message.
	tok := d.tokens.next()
	d.mu.Lock()
	for i := range subs {
		if w := d.pending[subs[i].task.Seq]; w != nil {
			w.token = tok
		}
	}
	d.mu.Unlock()
	m.Header.Set(wire.HdrMsgID, d.callerID+"."+strconv.FormatUint(d.msgSeq.Add(1), 10)+"."+tok)
	m.Header.Set(wire.HdrToken, tok)
	m.Header.Set(wire.HdrReply, d.inbox)
	m.Header.Set(wire.HdrMaxAttempts, d.maxAttempts)
	if d.timeoutMS != "" {
		m.Header.Set(wire.HdrTimeout, d.timeoutMS)
	}
	if d.vdir != nil {
		m.Header.Set(wire.HdrValueDir, d.vdir.Name())
	}
	for attempt := 0; ; attempt++ {
		_, err := d.js.PublishMsgAsync(m)
		if err == nil {
			return
		}
		if errors.Is(err, jetstream.ErrTooManyStalledMsgs) && attempt < 1000 {
			select {
			case <-d.stop:
			case <-time.After(time.Millisecond):
				continue
			}
		}
		d.failMsg(m, fmt.Errorf("pool: queue task %s: %w", subs[0].name, err))
		return
	}
}

// publishFailed runs when JetStream did not confirm a task message. It is
// published again with the same message id, so it is never queued twice;
// after a few tries its tasks fail with the error.
func (d *dispatcher) publishFailed(_ jetstream.JetStream, m *nats.Msg, err error) {
	go func() {
		for i := range 5 {
			select {
			case <-d.stop:
				return
			case <-time.After(time.Duration(50<<i) * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err = d.js.PublishMsg(ctx, m)
			cancel()
			if err == nil {
				return
			}
		}
		d.failMsg(m, fmt.Errorf("pool: queue task: %w", err))
	}()
}

// failMsg fails every task of a message that could not be queued.
func (d *dispatcher) failMsg(m *nats.Msg, err error) {
	tm, derr := wire.DecodeTaskMsg(m.Data)
	if derr != nil {
		return
	}
	info := &wire.ErrorInfo{Code: codeQueue, Message: err.Error()}
	for _, t := range tm.Tasks {
		d.mu.Lock()
		w := d.pending[t.Seq]
		if w != nil {
			d.remove(t.Seq)
		}
		d.mu.Unlock()
		if w != nil {
			w.done(&wire.Result{Seq: t.Seq, Err: info}, &source{})
		}
	}
}
