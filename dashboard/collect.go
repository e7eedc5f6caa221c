package dashboard

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/wire"
)

// How much history the collector keeps.
const (
	seriesLen    = 600              // chart points: ten minutes, one a second
	rateWindow   = 5                // points the tasks/s figure averages over
	keepDead     = 2 * time.Minute  // a dead worker stays listed this long
	keepEnded    = time.Minute      // an ended call stays listed this long
	keepFailures = 50               // failures listed per pool
	streamsEvery = 5 * time.Second  // how often the broker's streams are listed
	queryTimeout = 2 * time.Second  // bound on each JetStream query
	deadAfter    = 3                // missed heartbeat intervals that make a worker dead
	minInterval  = 1 * time.Second  // the shortest heartbeat interval assumed
	callerAfter  = 3                // missed report intervals that forget a caller
	maxSeenFails = 4 * keepFailures // failure keys remembered per pool, to drop repeats
)

// collector keeps what the pools publish and the streams' state, and
// builds a State from them once a second.
type collector struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	all     bool
	control bool
	started time.Time

	mu      sync.Mutex
	pools   map[string]*poolData
	streams []Stream
	subs    []*nats.Subscription
}

type poolData struct {
	workers  map[string]*workerData
	callers  map[string]*callerData
	ended    map[string]endedCall // by caller and call id
	failures []Failure            // oldest first
	seen     map[string]bool      // failure keys already listed
	counted  map[string]int64
	series   Series
	sums     []int64 // tasks counted per point, for the rate window
	queue    Queue
	lost     int
}

type workerData struct {
	beat   wire.Beat
	seen   time.Time
	gone   bool
	goneAt time.Time
}

type endedCall struct {
	call Call
	at   time.Time // when its last report came
}

type callerData struct {
	rep  wire.CallsReport
	seen time.Time
}

func newCollector(nc *nats.Conn, pools []string, all, control bool) (*collector, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	c := &collector{nc: nc, js: js, all: all, control: control, started: time.Now(), pools: map[string]*poolData{}}
	names := pools
	if all {
		names = []string{"*"}
	}
	for _, name := range names {
		if name != "*" {
			c.pool(name)
		}
		s := wire.Subjects{Pool: name}
		for subject, h := range map[string]nats.MsgHandler{s.Heartbeat(): c.onBeat, s.Calls(): c.onCalls} {
			sub, err := nc.Subscribe(subject, h)
			if err != nil {
				c.close()
				return nil, err
			}
			c.subs = append(c.subs, sub)
		}
	}
	return c, nil
}

func (c *collector) close() {
	for _, s := range c.subs {
		_ = s.Unsubscribe()
	}
}

// pool returns name's data, creating it; c.mu is held or not yet shared.
func (c *collector) pool(name string) *poolData {
	p := c.pools[name]
	if p == nil {
		p = &poolData{workers: map[string]*workerData{}, callers: map[string]*callerData{},
			ended: map[string]endedCall{}, seen: map[string]bool{}, counted: map[string]int64{}}
		c.pools[name] = p
	}
	return p
}

// poolOf is the pool token of a subject procpool.<pool>.…, if it is one
// the collector shows.
func (c *collector) poolOf(subject string) (string, bool) {
	parts := strings.SplitN(subject, ".", 3)
	if len(parts) < 3 || parts[0] != "procpool" {
		return "", false
	}
	if !c.all && c.pools[parts[1]] == nil {
		return "", false
	}
	return parts[1], true
}

func (c *collector) onBeat(m *nats.Msg) {
	var b wire.Beat
	if json.Unmarshal(m.Data, &b) != nil || b.ID == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	name, ok := c.poolOf(m.Subject)
	if !ok {
		return
	}
	p := c.pool(name)
	w := p.workers[b.ID]
	if w == nil {
		w = &workerData{}
		p.workers[b.ID] = w
		// Tasks a worker did before the dashboard started are not this
		// dashboard's throughput; those of a worker started since are.
		if b.Started.Before(c.started) {
			p.counted[b.ID] = b.TasksDone
		}
	}
	w.beat, w.seen, w.gone = b, time.Now(), false
}

func (c *collector) onCalls(m *nats.Msg) {
	var r wire.CallsReport
	if json.Unmarshal(m.Data, &r) != nil || r.Caller == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	name, ok := c.poolOf(m.Subject)
	if !ok {
		return
	}
	p := c.pool(name)
	now := time.Now()
	p.callers[r.Caller] = &callerData{rep: r, seen: now}
	for _, cp := range r.Calls {
		if cp.Ended {
			p.ended[r.Caller+" "+itoa(cp.ID)] = endedCall{makeCall(r, cp), now}
		}
	}
	for _, f := range r.Failures {
		key := r.Caller + " " + itoa(f.Seq)
		if p.seen[key] {
			continue
		}
		p.seen[key] = true
		p.failures = append(p.failures, makeFailure(r, f))
	}
	if len(p.failures) > keepFailures {
		p.failures = append(p.failures[:0:0], p.failures[len(p.failures)-keepFailures:]...)
	}
	if len(p.seen) > maxSeenFails {
		// Forget keys of failures no longer listed: a caller reports only
		// its latest, so an old key does not come back.
		keep := map[string]bool{}
		for _, f := range p.failures {
			keep[f.Caller+" "+itoa(f.Seq)] = true
		}
		p.seen = keep
	}
}

func makeCall(r wire.CallsReport, cp wire.CallProgress) Call {
	call := Call{ID: cp.ID, Kind: cp.Kind, Task: cp.Task, Started: cp.Started, Done: cp.Done, Failed: cp.Failed,
		Total: cp.Total, Ended: cp.Ended, Caller: r.Caller, Host: r.Host, PID: r.PID}
	if el := r.Time.Sub(cp.Started).Seconds(); el > 0 {
		call.Rate = float64(cp.Done) / el
	}
	if !cp.Ended && cp.Total > 0 && call.Rate > 0 {
		call.ETASeconds = float64(cp.Total-cp.Done) / call.Rate
	}
	return call
}

func makeFailure(r wire.CallsReport, f wire.Failure) Failure {
	return Failure{Seq: f.Seq, Time: f.Time, Task: f.Task, Code: f.Code, Message: f.Message, Stack: f.Stack,
		Worker: f.Worker, PID: f.PID, Host: f.Host, Attempt: f.Attempt, Caller: r.Caller}
}

// tick queries the streams, ages what it holds and adds a chart point.
func (c *collector) tick(ctx context.Context, now time.Time, listStreams bool) State {
	c.mu.Lock()
	names := make([]string, 0, len(c.pools))
	for name := range c.pools {
		names = append(names, name)
	}
	c.mu.Unlock()
	sort.Strings(names)

	queues := make(map[string]Queue, len(names))
	for _, name := range names {
		queues[name] = c.queue(ctx, name)
	}
	var streams []Stream
	var found []string
	if listStreams {
		streams, found = c.listStreams(ctx)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if listStreams {
		c.streams = streams
		if c.all {
			for _, name := range found {
				c.pool(name)
			}
		}
	}
	st := State{Time: now.UTC(), Control: c.control, Streams: c.streams, Pools: []PoolState{}}
	if st.Streams == nil {
		st.Streams = []Stream{}
	}
	for _, name := range names {
		p := c.pools[name]
		p.queue = queues[name]
		st.Pools = append(st.Pools, p.advance(name, now))
	}
	return st
}

// advance ages the pool's data to now, adds a chart point and returns its
// state. The collector's lock is held.
func (p *poolData) advance(name string, now time.Time) PoolState {
	ps := PoolState{Name: name, Queue: p.queue, Workers: []Worker{}, Calls: []Call{}, Callers: []Caller{}, Failures: []Failure{}}

	var counted int64
	for id, w := range p.workers {
		b := w.beat
		if d := b.TasksDone - p.counted[id]; d > 0 {
			counted += d
			p.counted[id] = b.TasksDone
		}
		if !w.gone && now.Sub(w.seen) > deadAfter*max(b.Interval, minInterval) {
			w.gone, w.goneAt = true, now
			if !b.Stopping {
				p.lost++
			}
		}
		if w.gone && now.Sub(w.goneAt) > keepDead {
			delete(p.workers, id)
			delete(p.counted, id)
			continue
		}
		ps.Workers = append(ps.Workers, workerState(w, now))
	}
	sort.Slice(ps.Workers, func(i, j int) bool {
		a, b := ps.Workers[i], ps.Workers[j]
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		if a.PPID != b.PPID {
			return a.PPID < b.PPID
		}
		return a.ID < b.ID
	})
	ps.Lost = p.lost

	// The chart point: tasks/s over the last rateWindow points.
	p.sums = append(p.sums, counted)
	s := &p.series
	s.T = append(s.T, now.Unix())
	if len(p.sums) > rateWindow {
		p.sums = p.sums[len(p.sums)-rateWindow:]
	}
	var sum int64
	for _, n := range p.sums {
		sum += n
	}
	s.Rate = append(s.Rate, float64(sum)/float64(len(p.sums)))
	s.Pending = append(s.Pending, float64(p.queue.Pending))
	s.InFlight = append(s.InFlight, float64(p.queue.InFlight))
	if n := len(s.T); n > seriesLen {
		s.T, s.Rate, s.Pending, s.InFlight = s.T[n-seriesLen:], s.Rate[n-seriesLen:], s.Pending[n-seriesLen:], s.InFlight[n-seriesLen:]
	}
	ps.Series = Series{T: clone(s.T), Rate: clone(s.Rate), Pending: clone(s.Pending), InFlight: clone(s.InFlight)}

	for id, cd := range p.callers {
		r := cd.rep
		if now.Sub(cd.seen) > callerAfter*max(r.Interval, minInterval) {
			delete(p.callers, id)
			continue
		}
		ps.Callers = append(ps.Callers, Caller{ID: id, Host: r.Host, PID: r.PID, Submitted: r.Submitted,
			Completed: r.Completed, Failed: r.Failed, Retried: r.Retried,
			InFlight: max(r.Submitted-r.Completed-r.Failed, 0), LastSeen: cd.seen})
		ps.Retried += r.Retried
		for _, cp := range r.Calls {
			key := id + " " + itoa(cp.ID)
			if _, ended := p.ended[key]; !cp.Ended && !ended {
				ps.Calls = append(ps.Calls, makeCall(r, cp))
			}
		}
	}
	for key, e := range p.ended {
		if now.Sub(e.at) > keepEnded {
			delete(p.ended, key)
			continue
		}
		ps.Calls = append(ps.Calls, e.call)
	}
	sort.Slice(ps.Calls, func(i, j int) bool {
		a, b := ps.Calls[i], ps.Calls[j]
		if a.Ended != b.Ended {
			return !a.Ended
		}
		return a.Started.After(b.Started)
	})
	sort.Slice(ps.Callers, func(i, j int) bool { return ps.Callers[i].ID < ps.Callers[j].ID })
	for i := len(p.failures) - 1; i >= 0; i-- {
		ps.Failures = append(ps.Failures, p.failures[i])
	}
	return ps
}

func workerState(w *workerData, now time.Time) Worker {
	b := w.beat
	x := Worker{ID: b.ID, Host: b.Host, PID: b.PID, PPID: b.PPID, Done: b.TasksDone, Errors: b.Failed,
		RSS: b.RSS, Started: b.Started, LastSeen: w.seen, State: "idle"}
	switch {
	case w.gone && b.Stopping:
		x.State = "exited"
	case w.gone:
		x.State = "dead"
	case b.Stopping:
		x.State = "draining"
	case b.Busy:
		x.State = "busy"
	}
	if b.Busy && !w.gone {
		x.Task = b.Task
		if !b.TaskSince.IsZero() {
			x.TaskSeconds = now.Sub(b.TaskSince).Seconds()
		}
	}
	return x
}

// queue reads the pool's task stream consumer.
func (c *collector) queue(ctx context.Context, name string) Queue {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	s := wire.Subjects{Pool: name}
	cons, err := c.js.Consumer(ctx, s.Stream(), wire.ConsumerName)
	if err != nil {
		return Queue{Error: err.Error()}
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		return Queue{Error: err.Error()}
	}
	return Queue{Pending: ci.NumPending, InFlight: ci.NumAckPending}
}

// Stream name prefixes: a pool's task stream, a queue's, a pipe's.
const (
	poolStreamPrefix  = "PROCPOOL_"
	queueStreamPrefix = "PROCPOOL_Q_"
	pipeStreamPrefix  = "PROCPOOL_P_"
)

// listStreams lists the broker's queues and pipes, and the pools whose
// task streams it finds.
func (c *collector) listStreams(ctx context.Context) ([]Stream, []string) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	out := []Stream{}
	var pools []string
	l := c.js.ListStreams(ctx)
	for si := range l.Info() {
		name := si.Config.Name
		st := Stream{Name: name, Messages: si.State.Msgs, Bytes: si.State.Bytes, Consumers: si.State.Consumers}
		switch {
		case strings.HasPrefix(name, queueStreamPrefix):
			st.Kind, st.Name = "queue", strings.TrimPrefix(name, queueStreamPrefix)
		case strings.HasPrefix(name, pipeStreamPrefix):
			st.Kind, st.Name = "pipe", strings.TrimPrefix(name, pipeStreamPrefix)
		case strings.HasPrefix(name, poolStreamPrefix):
			pools = append(pools, strings.TrimPrefix(name, poolStreamPrefix))
			continue
		default:
			continue
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind > out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out, pools
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func clone[T any](s []T) []T { return append([]T{}, s...) }
