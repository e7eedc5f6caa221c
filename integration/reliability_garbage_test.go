package integration

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/pool"
)

// Row 9: garbage on the pool's task subjects while good tasks run. The
// decoders themselves are fuzzed in internal/wire and internal/spawn.

func TestRow09GarbageOnTaskSubjects(t *testing.T) {
	b := testutil.StartBroker(t, broker.Config{})
	p := externalPool(t, b.ClientURL(), b.User(), b.Password(), pool.WithProcesses(0))
	workers := []*workerProc{
		startWorkerProc(t, b.ClientURL(), b.User(), b.Password(), p.Name()),
		startWorkerProc(t, b.ClientURL(), b.User(), b.Password(), p.Name()),
	}
	nc, err := nats.Connect(b.ClientURL(), nats.UserInfo(b.User(), b.Password()))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// The rogue publisher's own inbox, for the messages that decode.
	inbox := nats.NewInbox()
	answers, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}

	log := newExecLog(t)
	ctx := testutil.Ctx(t, 60*time.Second)
	items := make([]probe, 200)
	for i := range items {
		items[i] = probe{N: i, Log: log.path, Wait: time.Millisecond}
	}
	mapped := make(chan error, 1)
	go func() {
		out, err := pool.Map(ctx, p, sleepy, items, pool.WithChunksize(1))
		for i, o := range out {
			if err == nil && o.N != 2*i {
				t.Errorf("out[%d] = %+v", i, o)
			}
		}
		mapped <- err
	}()

	good := wire.AppendTaskMsg(nil, &wire.TaskMsg{Call: 1, Tasks: []wire.Task{{Seq: 1, Items: [][]byte{[]byte(`{"N":5,"Log":"/dev/null"}`)}}}})
	rng := rand.New(rand.NewPCG(9, 9))
	random := make([]byte, 200)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	random[0] = 'T' // get past the magic byte, fail later
	wrongVersion := slices.Clone(good)
	wrongVersion[1] = 99
	subject := wire.Subjects{Pool: p.Name()}.Task(quick.Name())
	dropped := []struct {
		name    string
		data    []byte
		noReply bool
	}{
		{name: "random bytes", data: random},
		{name: "truncated envelope", data: good[:len(good)-3]},
		{name: "wrong magic", data: wire.AppendResultMsg(nil, &wire.ResultMsg{Worker: "x"})},
		{name: "wrong version", data: wrongVersion},
		{name: "huge count", data: []byte{'T', wire.Version, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{name: "empty", data: nil},
		{name: "missing reply header", data: good, noReply: true},
	}
	pub := func(data []byte, hdr map[string]string) {
		t.Helper()
		m := nats.NewMsg(subject)
		m.Data = data
		for k, v := range hdr {
			m.Header.Set(k, v)
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := js.PublishMsg(pctx, m); err != nil {
			t.Fatalf("publish garbage: %v", err)
		}
	}
	testutil.WaitFor(t, 20*time.Second, "good tasks to run", func() bool { return len(log.read(t)) >= 10 })
	for _, g := range dropped {
		hdr := map[string]string{wire.HdrReply: inbox}
		if g.noReply {
			hdr = nil
		}
		pub(g.data, hdr)
	}
	// Messages that decode but carry nonsense headers or an undecodable
	// argument: the worker answers them, typed, and survives.
	pub(good, map[string]string{wire.HdrReply: inbox, wire.HdrTimeout: "abc", wire.HdrMaxAttempts: "-7", wire.HdrDeaths: "x"})
	badItem := wire.AppendTaskMsg(nil, &wire.TaskMsg{Call: 2, Tasks: []wire.Task{{Seq: 2, Items: [][]byte{[]byte("{not json")}}}})
	pub(badItem, map[string]string{wire.HdrReply: inbox})

	if err := <-mapped; err != nil {
		t.Fatalf("good tasks next to garbage: %v", err)
	}
	// I1-I3 for the good tasks: each ran exactly once.
	execs := log.executions(t)
	if len(execs) != len(items) {
		t.Fatalf("%d good tasks executed, want %d", len(execs), len(items))
	}
	for id, e := range execs {
		if len(e) != 1 {
			t.Fatalf("task %s ran %d times", id, len(e))
		}
	}
	// The two decodable messages were answered.
	got := map[uint64]wire.Result{}
	for len(got) < 2 {
		m, err := answers.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("answers to the decodable messages: %v (have %d)", err, len(got))
		}
		rm, err := wire.DecodeResultMsg(m.Data)
		if err != nil {
			t.Fatalf("answer does not decode: %v", err)
		}
		if m.Reply != "" {
			_ = nc.Publish(m.Reply, nil) // receipt, as a caller sends
		}
		for _, r := range rm.Results {
			got[r.Seq] = r
		}
	}
	if r := got[1]; r.Err != nil || r.Len() != 1 || string(r.First()) == "" || !strings.Contains(string(r.First()), `"N":10`) {
		t.Fatalf("answer to the nonsense headers: %+v", r)
	}
	if r := got[2]; r.Err == nil || r.Err.Code != wire.CodeBadInput {
		t.Fatalf("answer to the undecodable argument: %+v, want a bad_input error", r)
	}
	// Each undecodable message was dropped with a logged reason...
	var lines []string
	testutil.WaitFor(t, 10*time.Second, "a log line per dropped message", func() bool {
		lines = nil
		for _, w := range workers {
			lines = append(lines, w.stderr.Lines("dropping malformed task message")...)
		}
		return len(lines) >= len(dropped)
	})
	if len(lines) != len(dropped) {
		t.Fatalf("%d drop lines, want %d:\n%s", len(lines), len(dropped), strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		if !strings.Contains(l, "err=") || (strings.Contains(l, "err=<nil>") && !strings.Contains(l, "reply=false")) {
			t.Fatalf("drop line without a reason: %s", l)
		}
	}
	t.Logf("drop reasons:\n%s", strings.Join(lines, "\n"))
	// ...and removed from the stream for good (not redelivered forever).
	testutil.WaitFor(t, 10*time.Second, "the task stream to be empty", func() bool {
		s, err := js.Stream(ctx, wire.Subjects{Pool: p.Name()}.Stream())
		if err != nil {
			return false
		}
		info, err := s.Info(ctx)
		return err == nil && info.State.Msgs == 0
	})
	// I4: the workers never crashed.
	for _, w := range workers {
		if !w.alive() {
			t.Fatalf("worker %d died: %s", w.pid(), w.stderr.String())
		}
	}
	if st := p.Stats(); st.Pending != 0 {
		t.Fatalf("stats: %+v", st)
	}
}
