package worker

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/wire"
)

// unavailableSetup queues a message on a file-stored stream: with gate,
// of two tasks, task 0 ("gate", blocking its first run) inline and task 1
// a value stored in the pool's object bucket; without, of task 1 alone.
// It starts a worker connected to workerURL and returns the harness and
// the worker's log.
func unavailableSetup(t *testing.T, ns *server.Server, workerURL string, gate bool) (*gbHarness, *testutil.SyncBuffer, func()) {
	t.Helper()
	// A read that stalls (the broker's JetStream gone) ends sooner.
	was := valueTimeout
	valueTimeout = 3 * time.Second
	t.Cleanup(func() { valueTimeout = was })
	conns := make([]*nats.Conn, 2)
	for i, url := range []string{ns.ClientURL(), workerURL} {
		nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		conns[i] = nc
	}
	// The task stream and the value bucket on file, so that they outlive
	// the JetStream outage.
	h := newGBHarness(t, conns[0], "unav", wire.StreamOptions{File: true, AckWait: 2 * time.Second}, 0)
	vals := blob.NewValues(h.js, blob.Bucket(h.subj.Pool), blob.ObjectsConfig{File: true})
	t.Cleanup(vals.Close)
	ref, err := vals.Put(h.ctx, "", "a", wire.AppendItem(nil, []byte("1")))
	if err != nil {
		t.Fatal(err)
	}
	tasks := []wire.Task{{Seq: 0, Items: [][]byte{[]byte("0")}}, {Seq: 1, NItems: 1, Ref: &ref}}
	if !gate {
		tasks = tasks[1:]
	}
	body := wire.TaskMsgHeader(nil, 1, len(tasks))
	for i := range tasks {
		body = wire.AppendTask(body, &tasks[i])
	}
	m := nats.NewMsg(h.subj.Task("t.gb"))
	m.Data = body
	m.Header.Set(wire.HdrReply, h.inbox)
	m.Header.Set(wire.HdrMaxAttempts, "3")
	m.Header.Set(wire.HdrMsgID, "caller1.1.tok")
	if _, err := h.js.PublishMsg(h.ctx, m); err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	wait := h.serveWith(conns[1], Config{ID: "w.u", GiveBackAfter: time.Minute, // no fairness give-back here
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	return h, logs, wait
}

// A stored argument that cannot be read because the broker is down (here
// stopped for longer than internal/blob's read retries) is not the
// caller's bad_input: the worker hands the task back, as one more
// attempt, and it runs once the broker is back.
func TestUnavailableArgumentRetriedNotBadInput(t *testing.T) {
	dir := t.TempDir()
	ns := testutil.JetStreamServer(t, dir, server.RANDOM_PORT)
	port := ns.Addr().(*net.TCPAddr).Port
	h, logs, wait := unavailableSetup(t, ns, ns.ClientURL(), true)
	h.waitBlocked(0)
	ns.Shutdown()
	close(h.releases[0]) // task 1 now fetches its argument, and fails
	testutil.WaitFor(t, 60*time.Second, "the worker to give up reading the argument", func() bool {
		return strings.Contains(logs.String(), "stored argument unavailable; handing the task back")
	})
	testutil.JetStreamServer(t, dir, port) // the broker is back, with its streams
	testutil.WaitFor(t, 60*time.Second, "both tasks answered", func() bool { return h.answered(2) })
	wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	// Task 0 may run again, with its message's ack lost in the outage;
	// task 1 ran once, on its second attempt, and succeeded.
	if r := h.results[1][0]; r.Err != nil || r.Attempt != 2 {
		t.Errorf("task 1: attempt %d, error %+v; want attempt 2 (the failed read counts) and a result", r.Attempt, r.Err)
	}
	if h.execs[1] != 1 || h.execs[0] > 3 {
		t.Errorf("executions %v: want task 1 once, task 0 at most MaxAttempts (3) times", h.execs)
	}
}

// When the broker's JetStream stays unavailable (here disabled, the
// server still up for the results), the task ends with the typed
// unavailable error (pool.ErrUnavailable at the caller), not bad_input
// and not a wait without end.
func TestUnavailableArgumentPersistentTypedError(t *testing.T) {
	ns := testutil.JetStreamServer(t, t.TempDir(), server.RANDOM_PORT)
	h, _, wait := unavailableSetup(t, ns, ns.ClientURL(), true)
	h.waitBlocked(0)
	if err := ns.DisableJetStream(); err != nil {
		t.Fatal(err)
	}
	close(h.releases[0])
	testutil.WaitFor(t, 60*time.Second, "both tasks answered", func() bool { return h.answered(2) })
	h.mu.Lock()
	r := h.results[1][0]
	h.mu.Unlock()
	if r.Err == nil || r.Err.Code != wire.CodeUnavailable {
		t.Errorf("task 1: %+v, want error code %s", r.Err, wire.CodeUnavailable)
	}
	wait()
}

// cutProxy forwards TCP connections to a NATS server. Armed, it cuts the
// connection right after forwarding the first JetStream delivery (a
// message with an ack subject) to the client, and refuses connections
// until resume: the worker has its task message and then no broker.
type cutProxy struct {
	ln     net.Listener
	target string
	cut    chan struct{}

	mu    sync.Mutex
	armed bool
	down  bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, cut: make(chan struct{}), armed: true}
	t.Cleanup(func() { _ = ln.Close() })
	go p.accept()
	return p
}

func (p *cutProxy) url() string { return "nats://" + p.ln.Addr().String() }

func (p *cutProxy) resume() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

func (p *cutProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			_ = c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
		go p.toClient(c, s)
	}
}

// toClient copies the server's bytes to the client, cutting both when
// armed and a delivery went by.
func (p *cutProxy) toClient(c, s net.Conn) {
	defer c.Close()
	defer s.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
			p.mu.Lock()
			cut := p.armed && bytes.Contains(buf[:n], []byte("$JS.ACK."))
			if cut {
				p.armed, p.down = false, true
			}
			p.mu.Unlock()
			if cut {
				close(p.cut)
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// A task alone in its message whose stored argument cannot be read (the
// worker's connection cut just after the message came) asks for its
// message again (a -NAK with a delay) rather than answer bad_input; the
// redelivery, a second attempt, runs it.
func TestUnavailableArgumentAloneNaksForAnotherAttempt(t *testing.T) {
	ns := testutil.JetStreamServer(t, t.TempDir(), server.RANDOM_PORT)
	px := newCutProxy(t, ns.Addr().String())
	h, logs, wait := unavailableSetup(t, ns, px.url(), false)
	select {
	case <-px.cut:
	case <-h.ctx.Done():
		t.Fatal("the task message never reached the worker")
	}
	testutil.WaitFor(t, 60*time.Second, "the worker to give up reading the argument", func() bool {
		return strings.Contains(logs.String(), "stored argument unavailable; the task's message will be delivered again")
	})
	px.resume()
	testutil.WaitFor(t, 60*time.Second, "the task answered", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.results[1]) > 0
	})
	wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.results[1][0]; r.Err != nil || r.Attempt != 2 {
		t.Errorf("task: attempt %d, error %+v; want attempt 2 (the failed read counts) and a result", r.Attempt, r.Err)
	}
	if len(h.results[1]) != 1 || h.execs[1] != 1 {
		t.Errorf("%d results, %d executions; want 1 and 1", len(h.results[1]), h.execs[1])
	}
}
