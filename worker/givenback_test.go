package worker

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/wire"
)

// gbHarness is a caller, a task stream and a registry whose task "t.gb"
// counts its executions per argument, and blocks the first execution of
// the arguments in block until release(arg).
type gbHarness struct {
	t      *testing.T
	ctx    context.Context
	js     jetstream.JetStream
	stream jetstream.Stream
	subj   wire.Subjects
	reg    *Registry
	inbox  string

	mu       sync.Mutex
	execs    map[int]int
	results  map[uint64][]*wire.Result
	blocked  chan int
	releases map[int]chan struct{}
}

func newGBHarness(t *testing.T, caller *nats.Conn, pool string, so wire.StreamOptions, block ...int) *gbHarness {
	t.Helper()
	h := &gbHarness{t: t, ctx: testutil.Ctx(t, 90*time.Second), subj: wire.Subjects{Pool: pool},
		execs: map[int]int{}, results: map[uint64][]*wire.Result{}, blocked: make(chan int, 16), releases: map[int]chan struct{}{}}
	for _, b := range block {
		h.releases[b] = make(chan struct{})
	}
	var err error
	if h.js, err = jetstream.New(caller); err != nil {
		t.Fatal(err)
	}
	if _, err = wire.EnsureStream(h.ctx, h.js, h.subj, so); err != nil {
		t.Fatal(err)
	}
	if h.stream, err = h.js.Stream(h.ctx, h.subj.Stream()); err != nil {
		t.Fatal(err)
	}
	h.reg = NewRegistry()
	RegisterIn(h.reg, "t.gb", func(ctx context.Context, id int) (int, error) {
		if testing.Verbose() {
			in := Current(ctx)
			t.Logf("run %d on %s attempt %d", id, in.WorkerID, in.Attempt)
		}
		h.mu.Lock()
		h.execs[id]++
		first := h.execs[id] == 1
		rel := h.releases[id]
		h.mu.Unlock()
		if first && rel != nil {
			h.blocked <- id
			select {
			case <-rel:
			case <-time.After(60 * time.Second):
			}
		}
		return id, nil
	})
	// The caller receipts every result message at once, as a pool does.
	h.inbox = caller.NewInbox()
	sub, err := caller.Subscribe(h.inbox, func(m *nats.Msg) {
		if m.Reply != "" {
			_ = m.Respond(nil)
		}
		rm, err := wire.DecodeResultMsg(m.Data)
		if err != nil {
			t.Errorf("result message: %v", err)
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		for i := range rm.Results {
			r := rm.Results[i]
			if testing.Verbose() {
				t.Logf("result %d from %s attempt %d err %v", r.Seq, rm.Worker, r.Attempt, r.Err)
			}
			h.results[r.Seq] = append(h.results[r.Seq], &r)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return h
}

// publish queues one message of n tasks, arguments and seqs 0..n-1.
func (h *gbHarness) publish(n, maxAttempts int) {
	h.t.Helper()
	body := wire.TaskMsgHeader(nil, 1, n)
	for i := range n {
		body = wire.AppendTask(body, &wire.Task{Seq: uint64(i), Items: [][]byte{[]byte(strconv.Itoa(i))}})
	}
	m := nats.NewMsg(h.subj.Task("t.gb"))
	m.Data = body
	m.Header.Set(wire.HdrReply, h.inbox)
	m.Header.Set(wire.HdrMaxAttempts, strconv.Itoa(maxAttempts))
	m.Header.Set(wire.HdrMsgID, "caller1.1.tok")
	if _, err := h.js.PublishMsg(h.ctx, m); err != nil {
		h.t.Fatal(err)
	}
}

// serve starts a worker on nc; the returned func stops it and waits for
// it to end.
func (h *gbHarness) serve(nc *nats.Conn, id string) (wait func()) {
	return h.serveWith(nc, Config{ID: id})
}

// serveWith is serve with more of the worker's configuration.
func (h *gbHarness) serveWith(nc *nats.Conn, cfg Config) (wait func()) {
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	cfg.Conn, cfg.Pool, cfg.Registry, cfg.AckWait = nc, h.subj.Pool, h.reg, 2*time.Second
	id := cfg.ID
	go func() {
		done <- Serve(ctx, cfg)
	}()
	return func() {
		h.t.Helper()
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			h.t.Fatalf("worker %s did not stop", id)
		}
	}
}

// waitBlocked waits until the first execution of id blocks.
func (h *gbHarness) waitBlocked(id int) {
	h.t.Helper()
	select {
	case got := <-h.blocked:
		if got != id {
			h.t.Fatalf("task %d blocked, want %d", got, id)
		}
	case <-h.ctx.Done():
		h.t.Fatalf("task %d never ran", id)
	}
}

// waitStream waits until the task stream holds n messages.
func (h *gbHarness) waitStream(n uint64, what string) {
	h.t.Helper()
	testutil.WaitFor(h.t, 30*time.Second, what, func() bool {
		info, err := h.stream.Info(h.ctx)
		return err == nil && info.State.Msgs == n
	})
}

// answered reports whether every seq below n has a result.
func (h *gbHarness) answered(n int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range n {
		if len(h.results[uint64(i)]) == 0 {
			return false
		}
	}
	return true
}

// check asserts that each of the n tasks ran at most maxAttempts times
// and has exactly one result, a success.
func (h *gbHarness) check(n, maxAttempts int) {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range n {
		if e := h.execs[i]; e > maxAttempts {
			h.t.Errorf("task %d executed %d times, MaxAttempts %d (executions: %v)", i, e, maxAttempts, h.execs)
		}
		rs := h.results[uint64(i)]
		if len(rs) != 1 {
			h.t.Errorf("task %d: %d results, want 1", i, len(rs))
			continue
		}
		if rs[0].Err != nil {
			h.t.Errorf("task %d: error %s: %s", i, rs[0].Err.Code, rs[0].Err.Message)
		}
	}
}

// gbStream is the tests' task stream: with AckWait 2s, a message held by
// a worker whose connection is cut comes back soon, but not before the
// test has moved on.
var gbStream = wire.StreamOptions{AckWait: 2 * time.Second}

// A worker runs task 0 of a message of 5, hands back 1-2 and 3-4 (the
// fairness give-back) and loses its connection before acking the
// message. A second worker runs the give-back of 1-2, then loses its
// connection running 3 (having handed 4 back in turn). A third gets the
// rest: the give-back of 3-4 and the original, both redelivered. Before
// the give-back records, each redelivery was split whole, so the tasks
// handed back ran in two lineages: 3 three times with MaxAttempts 2, and
// 1, 2 and 4 twice with two results each. Now a redelivery splits only
// the tasks its earlier delivery did not hand back, and publishes the
// give-backs again under their ids, which JetStream drops as duplicates.
func TestGiveBackThenRedeliveryOneLineage(t *testing.T) {
	conns := brokerConns(t, 4) // helpers_test.go
	h := newGBHarness(t, conns[0], "gbl", gbStream, 0, 3)
	const n, maxAttempts = 5, 2
	h.publish(n, maxAttempts) // stream sequence 1

	waitA := h.serve(conns[1], "w.a")
	h.waitBlocked(0)
	// Sequences 2 (tasks 1-2) and 3 (tasks 3-4).
	h.waitStream(3, "the original and its two give-back messages in the stream")
	conns[1].Close() // the worker is cut off before it acks the original
	close(h.releases[0])
	waitA()

	waitB := h.serve(conns[2], "w.b")
	h.waitBlocked(3)
	// Tasks 1 and 2 are answered and their message acked (gone from the
	// work-queue stream) before this worker is cut off too.
	testutil.WaitFor(t, 30*time.Second, "the give-back of tasks 1-2 acked", func() bool {
		_, err := h.stream.GetMsg(h.ctx, 2)
		return errors.Is(err, jetstream.ErrMsgNotFound)
	})
	conns[2].Close()
	close(h.releases[3])
	waitB()

	waitC := h.serve(conns[3], "w.c")
	testutil.WaitFor(t, 60*time.Second, "every task answered", func() bool { return h.answered(n) })
	h.waitStream(0, "every message acked")
	waitC()
	h.check(n, maxAttempts)
}

// A worker that records a give-back and is cut off before publishing it
// (simulated: the connection is closed between the two) loses nothing:
// the redelivered original publishes the recorded parts, which were never
// stored, and every task is answered.
func TestGiveBackRecordedNotPublishedNoLoss(t *testing.T) {
	conns := brokerConns(t, 3)
	h := newGBHarness(t, conns[0], "gbn", gbStream, 0)
	const n, maxAttempts = 4, 2
	h.publish(n, maxAttempts)

	var once sync.Once
	recorded := make(chan struct{})
	giveBackRecorded = func() {
		once.Do(func() {
			conns[1].Close()
			close(recorded)
		})
	}
	t.Cleanup(func() { giveBackRecorded = func() {} })

	waitA := h.serve(conns[1], "w.a")
	h.waitBlocked(0)
	select {
	case <-recorded:
	case <-h.ctx.Done():
		t.Fatal("no give-back was recorded")
	}
	close(h.releases[0])
	waitA()
	// Only the original is queued: the give-back never was.
	info, err := h.stream.Info(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("%d messages in the stream, want the original only", info.State.Msgs)
	}
	giveBackRecorded = func() {}

	waitC := h.serve(conns[2], "w.c")
	testutil.WaitFor(t, 60*time.Second, "every task answered", func() bool { return h.answered(n) })
	h.waitStream(0, "every message acked")
	waitC()
	h.check(n, maxAttempts)
}

// With the recommended worker permissions (broker.WorkerPermissions), a
// worker records its give-back (it may create the bucket and write and
// read its keys) and so hands the tasks back, and a redelivery reads the
// record: the flow of TestGiveBackThenRedeliveryOneLineage, shortened.
func TestGiveBackRecordWithWorkerPermissions(t *testing.T) {
	const pool = "gbp"
	wp, err := broker.WorkerPermissions(pool, "_INBOX.wkr")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := broker.CallerPermissions(pool, "_INBOX.clr")
	if err != nil {
		t.Fatal(err)
	}
	b := testutil.StartBroker(t, broker.Config{Users: []broker.User{
		{Name: "wkr", Password: "wkr-password-0123456789", Permissions: &wp},
		{Name: "clr", Password: "clr-password-0123456789", Permissions: &cp},
	}})
	connect := func(user, inbox string) *nats.Conn {
		nc, err := b.Connect(nats.UserInfo(user, user+"-password-0123456789"), nats.CustomInboxPrefix(inbox))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	caller := connect("clr", "_INBOX.clr")
	wa, wc := connect("wkr", "_INBOX.wkr"), connect("wkr", "_INBOX.wkr")
	h := newGBHarness(t, caller, pool, gbStream, 0)
	const n, maxAttempts = 4, 2
	h.publish(n, maxAttempts)
	waitA := h.serve(wa, "w.a")
	h.waitBlocked(0)
	h.waitStream(3, "the original and its two give-back messages (recorded first) in the stream")
	wa.Close()
	close(h.releases[0])
	waitA()
	waitC := h.serve(wc, "w.c")
	testutil.WaitFor(t, 60*time.Second, "every task answered", func() bool { return h.answered(n) })
	h.waitStream(0, "every message acked")
	waitC()
	h.check(n, maxAttempts)
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := 1; i < n; i++ {
		if h.execs[i] != 1 {
			t.Errorf("task %d, handed back, executed %d times, want 1 (the redelivery read no record?)", i, h.execs[i])
		}
	}
}

// A record reads back as written, a record that does not fit the message
// is refused (the redelivery then splits everything), and the tasks no
// part holds are the ones split.
func TestGiveBackRecordParts(t *testing.T) {
	parts := []part{{"g1", span{1, 3}}, {"g3", span{3, 6}}, {"u7", span{7, 8}}}
	enc := encodeParts(parts)
	if string(enc) != "g1:1:3 g3:3:6 u7:7:8" {
		t.Errorf("encoded %q", enc)
	}
	got, err := decodeParts(enc, 9)
	if err != nil || !slices.Equal(got, parts) {
		t.Errorf("decoded %v, %v; want %v", got, err, parts)
	}
	for _, bad := range []string{"g1:1:3 g3:3:10", "g1:2:2", "x:0:1", "G1:0:1", "g1:-1:1", "g1:0", "g1:a:1"} {
		if _, err := decodeParts([]byte(bad), 9); err == nil {
			t.Errorf("%q for a message of 9 tasks: no error", bad)
		}
	}
	if got, err := decodeParts(nil, 9); err != nil || len(got) != 0 {
		t.Errorf("empty record: %v, %v", got, err)
	}
	want := []span{{0, 1}, {6, 7}, {8, 9}}
	if got := uncovered(9, parts); !slices.Equal(got, want) {
		t.Errorf("uncovered %v, want %v", got, want)
	}
	if got := uncovered(3, nil); !slices.Equal(got, []span{{0, 3}}) {
		t.Errorf("uncovered without record %v", got)
	}
}
