package integration

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/ipc"
	"github.com/procpool/procpool/pool"
)

// The attack table of docs/security.md, rows 1-9: two pools, A and B, on
// one broker, each with the recommended caller and worker credentials
// (broker.CallerPermissions, broker.WorkerPermissions), and a second
// caller of pool A. Every row is an attack that worked before pools were
// kept apart; each test also checks that the legitimate use next to it
// still works, so that a refusal cannot pass for a broken rig.

const secPass = "-password-0123456789abcdef"

type secRig struct {
	b              *broker.Server
	a, bPool       *pool.Pool // callers' pools, no workers of their own
	aName, bName   string
	aWorkerConn    *nats.Conn // a rogue: pool A's worker credential
	aCaller2       *nats.Conn // another caller of pool A
	bCallerConn    *nats.Conn
	bWorkerConn    *nats.Conn
	aWorkerPrefix  string
	aCaller2Prefix string
}

func roles(t *testing.T, poolName, caller, worker string) []broker.User {
	t.Helper()
	cp, err := broker.CallerPermissions(poolName, "_INBOX."+caller)
	if err != nil {
		t.Fatal(err)
	}
	wp, err := broker.WorkerPermissions(poolName, "_INBOX."+worker)
	if err != nil {
		t.Fatal(err)
	}
	return []broker.User{
		{Name: caller, Password: caller + secPass, Permissions: &cp},
		{Name: worker, Password: worker + secPass, Permissions: &wp},
	}
}

func connectRole(t *testing.T, url, user string, errs chan<- error) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.UserInfo(user, user+secPass), nats.CustomInboxPrefix("_INBOX."+user),
		nats.PermissionErrOnSubscribe(true),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errs != nil {
				select {
				case errs <- err:
				default:
				}
			}
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func startSecRig(t *testing.T) *secRig {
	t.Helper()
	r := &secRig{aName: "secA", bName: "secB", aWorkerPrefix: "_INBOX.wa", aCaller2Prefix: "_INBOX.ca2"}
	users := append(roles(t, r.aName, "ca", "wa"), roles(t, r.bName, "cb", "wb")...)
	cp2, err := broker.CallerPermissions(r.aName, r.aCaller2Prefix)
	if err != nil {
		t.Fatal(err)
	}
	users = append(users, broker.User{Name: "ca2", Password: "ca2" + secPass, Permissions: &cp2})
	r.b = testutil.StartBroker(t, broker.Config{Users: users})
	url := r.b.ClientURL()
	r.a = newPool(t, pool.WithBroker(url), pool.WithCredentials("ca", "ca"+secPass), pool.WithName(r.aName), pool.WithProcesses(0))
	r.bPool = newPool(t, pool.WithBroker(url), pool.WithCredentials("cb", "cb"+secPass), pool.WithName(r.bName), pool.WithProcesses(0))
	r.aWorkerConn = connectRole(t, url, "wa", nil)
	r.aCaller2 = connectRole(t, url, "ca2", nil)
	r.bCallerConn = connectRole(t, url, "cb", nil)
	r.bWorkerConn = connectRole(t, url, "wb", nil)
	return r
}

func jsOf(t *testing.T, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// queueBTask puts one task of pool B in B's stream, with no worker to
// take it, and returns its pending call.
func (r *secRig) queueBTask(t *testing.T, ctx context.Context, arg string) *pool.AsyncResult[string] {
	t.Helper()
	res := pool.ApplyAsync(ctx, r.bPool, builtin.Upper, arg)
	js := jsOf(t, r.bCallerConn)
	testutil.WaitFor(t, 10*time.Second, "B's task in its stream", func() bool {
		s, err := js.Stream(ctx, "PROCPOOL_"+r.bName)
		return err == nil && s.CachedInfo().State.Msgs >= 1
	})
	return res
}

func TestSecurityPoolsApart(t *testing.T) {
	r := startSecRig(t)
	ctx := testutil.Ctx(t, 60*time.Second)
	secret := "b-secret-argument-" + strconv.Itoa(os.Getpid())
	bCall := r.queueBTask(t, ctx, secret)
	bStream := "PROCPOOL_" + r.bName

	// Row 1: a pool-A credential reads pool B's queued tasks.
	t.Run("Row01ReadOtherPoolsTasks", func(t *testing.T) {
		for who, nc := range map[string]*nats.Conn{"A's caller": r.a.Conn(), "A's worker": r.aWorkerConn} {
			s, err := jsOf(t, nc).Stream(ctx, bStream)
			if err == nil {
				if m, gerr := s.GetMsg(ctx, 1); gerr == nil && strings.Contains(string(m.Data), secret) {
					t.Fatalf("%s read B's task: %q", who, m.Data)
				}
				t.Fatalf("%s sees B's stream %s", who, bStream)
			}
			if !errors.Is(err, jetstream.ErrStreamNotFound) {
				t.Fatalf("%s looking up B's stream: %v, want stream not found (another account)", who, err)
			}
		}
		// The control: B's own caller sees it.
		if _, err := jsOf(t, r.bCallerConn).Stream(ctx, bStream); err != nil {
			t.Fatalf("B's caller cannot see its own stream: %v", err)
		}
	})

	// Row 2: a pool-A worker pulls and acks a task from B's consumer.
	t.Run("Row02PullOtherPoolsTask", func(t *testing.T) {
		_, err := jsOf(t, r.aWorkerConn).Consumer(ctx, bStream, wire.ConsumerName)
		if err == nil {
			t.Fatal("A's worker reached B's consumer")
		}
		// B's task is still there, and a B worker runs it.
		w := startWorkerProc(t, r.b.ClientURL(), "wb", "wb"+secPass, r.bName)
		got, err := bCall.Wait(ctx)
		if err != nil || got != strings.ToUpper(secret) {
			t.Fatalf("B's task after A's attempt: %q, %v", got, err)
		}
		w.kill()
	})

	// Row 3: a pool-A worker publishes into a pool-B caller's inbox.
	t.Run("Row03PublishIntoOtherPoolsInbox", func(t *testing.T) {
		inbox := "_INBOX.cb.row3"
		sub, err := r.bCallerConn.SubscribeSync(inbox)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.bCallerConn.Flush(); err != nil { // the subscription is in place before anyone publishes
			t.Fatal(err)
		}
		if err := r.aWorkerConn.Publish(inbox, []byte("forged")); err != nil {
			t.Fatal(err)
		}
		_ = r.aWorkerConn.Flush()
		// The control: B's own worker reaches it, after A's attempt.
		if err := r.bWorkerConn.Publish(inbox, []byte("real")); err != nil {
			t.Fatal(err)
		}
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil || string(m.Data) != "real" {
			t.Fatalf("first message in B's inbox: %v, %v; want B's worker's, not A's", m, err)
		}
	})

	// Row 5: a pool-A credential deletes B's consumer, or purges or
	// deletes B's stream.
	t.Run("Row05DestroyOtherPoolsStream", func(t *testing.T) {
		for who, nc := range map[string]*nats.Conn{"A's caller": r.a.Conn(), "A's worker": r.aWorkerConn} {
			js := jsOf(t, nc)
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			errDel := js.DeleteConsumer(cctx, bStream, wire.ConsumerName)
			errStream := js.DeleteStream(cctx, bStream)
			cancel()
			if errDel == nil || errStream == nil {
				t.Fatalf("%s: delete consumer %v, delete stream %v; want both refused", who, errDel, errStream)
			}
		}
		s, err := jsOf(t, r.bCallerConn).Stream(ctx, bStream)
		if err != nil {
			t.Fatalf("B's stream after the attempts: %v", err)
		}
		if _, err := s.Consumer(ctx, wire.ConsumerName); err != nil {
			t.Fatalf("B's consumer after the attempts: %v", err)
		}
	})
}

// Row 4: a worker credential creates a stream capturing the callers'
// inboxes: refused, and no such stream exists.
func TestSecurityWorkerCannotCaptureInboxes(t *testing.T) {
	r := startSecRig(t)
	ctx := testutil.Ctx(t, 30*time.Second)
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err := jsOf(t, r.aWorkerConn).CreateStream(cctx, jetstream.StreamConfig{Name: "SPY", Subjects: []string{"_INBOX.>"}})
	if err == nil {
		t.Fatal("A's worker created a stream on _INBOX.>")
	}
	if _, err := jsOf(t, r.a.Conn()).Stream(ctx, "SPY"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("the spy stream: %v, want not found", err)
	}
	// The control: the worker credential still serves the pool.
	w := startWorkerProc(t, r.b.ClientURL(), "wa", "wa"+secPass, r.aName)
	if got, err := pool.Apply(ctx, r.a, builtin.Upper, "row4"); err != nil || got != "ROW4" {
		t.Fatalf("Apply with A's worker: %q, %v", got, err)
	}
	w.kill()
}

// Row 6: queues and pipes work with the recommended caller and worker
// credentials (they lived outside the pool's subjects and were refused).
func TestSecurityQueuesWithRoleCredentials(t *testing.T) {
	r := startSecRig(t)
	ctx := testutil.Ctx(t, 30*time.Second)
	q, err := ipc.NewQueue[string](ctx, r.a.Conn(), "row6")
	if err != nil {
		t.Fatalf("A's caller makes a queue: %v", err)
	}
	defer q.Close()
	wq, err := ipc.NewQueue[string](ctx, r.aWorkerConn, "row6")
	if err != nil {
		t.Fatalf("A's worker opens it: %v", err)
	}
	defer wq.Close()
	// A queue the worker credential may not create: the refusal comes
	// back at once (the request was unanswered, so ipc asked again for
	// about 55 s, past this test's context).
	start := time.Now()
	if _, err := ipc.NewQueue[string](ctx, r.aWorkerConn, "row6-worker-made"); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("A's worker creating a queue: %v after %s, want a permissions violation", err, time.Since(start))
	} else if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("A's worker creating a queue: refused only after %s", took)
	}
	if err := wq.Put(ctx, "from the worker"); err != nil {
		t.Fatal(err)
	}
	if err := wq.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := q.Get(ctx); err != nil || got != "from the worker" {
		t.Fatalf("caller's Get = %q, %v", got, err)
	}
	a, b, err := ipc.NewPipe[string](ctx, r.a.Conn())
	if err != nil {
		t.Fatalf("A's caller makes a pipe: %v", err)
	}
	defer a.Close()
	defer b.Close()
	wb, err := ipc.OpenPipe[string](ctx, r.aWorkerConn, b.Name())
	if err != nil {
		t.Fatalf("A's worker opens its end: %v", err)
	}
	defer wb.Close()
	if err := a.Send(ctx, "ping"); err != nil {
		t.Fatal(err)
	}
	if got, err := wb.Recv(ctx); err != nil || got != "ping" {
		t.Fatalf("worker's Recv = %q, %v", got, err)
	}
	// Pool B's caller does not see pool A's queue at all.
	if _, err := jsOf(t, r.bCallerConn).Stream(ctx, "PROCPOOL_Q_row6"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("B's caller looking up A's queue: %v, want not found", err)
	}
}

// takeTask pulls one task message of pool A as A's (rogue) worker.
func (r *secRig) takeTask(t *testing.T, ctx context.Context) jetstream.Msg {
	t.Helper()
	c, err := jsOf(t, r.aWorkerConn).Consumer(ctx, "PROCPOOL_"+r.aName, wire.ConsumerName)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatalf("taking a task: %v", err)
	}
	return m
}

// Row 7: a worker sends the caller a result whose reply subject is a
// JetStream API call (deleting the pool's stream): the caller receipts
// only to inboxes, so it never publishes there with its rights. And a
// result without the task message's token is not taken.
func TestSecurityConfusedDeputyReceipt(t *testing.T) {
	r := startSecRig(t)
	ctx := testutil.Ctx(t, 30*time.Second)
	call := pool.ApplyAsync(ctx, r.a, builtin.Upper, "row7")
	m := r.takeTask(t, ctx)
	tm, err := wire.DecodeTaskMsg(m.Data())
	if err != nil || len(tm.Tasks) != 1 {
		t.Fatalf("task message: %v", err)
	}
	inbox, token := m.Headers().Get(wire.HdrReply), m.Headers().Get(wire.HdrToken)
	result := func(v string) []byte {
		return wire.AppendResultMsg(nil, &wire.ResultMsg{Worker: "rogue", PID: 1, Host: "h",
			Results: []wire.Result{{Seq: tm.Tasks[0].Seq, Attempt: 1, Items: [][]byte{[]byte(v)}}}})
	}
	deputy := "$JS.API.STREAM.DELETE.PROCPOOL_" + r.aName
	forged := &nats.Msg{Subject: inbox, Reply: deputy, Data: result("FORGED"), Header: nats.Header{}}
	if err := r.aWorkerConn.PublishMsg(forged); err != nil {
		t.Fatal(err)
	}
	real := &nats.Msg{Subject: inbox, Reply: deputy, Data: result("ROW7"), Header: nats.Header{wire.HdrToken: []string{token}}}
	if err := r.aWorkerConn.PublishMsg(real); err != nil {
		t.Fatal(err)
	}
	got, err := call.Wait(ctx)
	if err != nil || got != "ROW7" {
		t.Fatalf("the call took %q, %v; want the result that echoed its token", got, err)
	}
	_ = r.a.Conn().Flush()
	time.Sleep(200 * time.Millisecond) // the fault: give a (wrong) receipt time to act
	if _, err := jsOf(t, r.a.Conn()).Stream(ctx, "PROCPOOL_"+r.aName); err != nil {
		t.Fatalf("the pool's stream after the result with a JetStream reply subject: %v", err)
	}
	_ = m.Term()
}

// Row 8: another caller of the same pool cannot see the pool's task
// messages (their ids included), and ids are not predictable: a message
// published under the id the old scheme would have given next does not
// make the victim's task a "duplicate".
func TestSecurityMessageIDsUnpredictable(t *testing.T) {
	r := startSecRig(t)
	ctx := testutil.Ctx(t, 30*time.Second)
	errs := make(chan error, 4)
	spy := connectRole(t, r.b.ClientURL(), "ca2", errs)
	sub, err := spy.SubscribeSync("procpool." + r.aName + ".task.>")
	if err == nil {
		if _, err = sub.NextMsg(5 * time.Second); !errors.Is(err, nats.ErrPermissionViolation) {
			t.Fatalf("a second caller subscribing to the pool's tasks: %v, want a permissions violation", err)
		}
	}
	// Two task messages, seen by the worker credential: their ids end in
	// 64 random bits.
	var calls []*pool.AsyncResult[string]
	idRE := regexp.MustCompile(`^([^.]+)\.(\d+)\.([0-9a-f]{16})$`)
	var ids []string
	for _, arg := range []string{"x", "y"} {
		calls = append(calls, pool.ApplyAsync(ctx, r.a, builtin.Upper, arg))
		m := r.takeTask(t, ctx)
		ids = append(ids, m.Headers().Get(wire.HdrMsgID))
		_ = m.NakWithDelay(2 * time.Second) // back to the queue, after the next one
	}
	p0, p1 := idRE.FindStringSubmatch(ids[0]), idRE.FindStringSubmatch(ids[1])
	if p0 == nil || p1 == nil || p0[3] == p1[3] {
		t.Fatalf("message ids %q: want <caller>.<n>.<16 random hex>, the random part differing", ids)
	}
	// The old scheme's next id, published first by the other caller:
	// the victim's next task is still queued and answered.
	n, _ := strconv.Atoi(max(p0[2], p1[2]))
	guess := max(p0[1], p1[1]) + "." + strconv.Itoa(n+1)
	js := jsOf(t, r.aCaller2)
	hdr := nats.Header{wire.HdrMsgID: []string{guess}}
	if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: "procpool." + r.aName + ".task." + builtin.Upper.Name(), Data: []byte("junk"), Header: hdr}); err != nil {
		t.Fatalf("the second caller publishing a task: %v", err)
	}
	calls = append(calls, pool.ApplyAsync(ctx, r.a, builtin.Upper, "victim"))
	w := startWorkerProc(t, r.b.ClientURL(), "wa", "wa"+secPass, r.aName)
	for i, want := range []string{"X", "Y", "VICTIM"} {
		if got, err := calls[i].Wait(ctx); err != nil || got != want {
			t.Fatalf("call %d: %q, %v; want %q", i, got, err, want)
		}
	}
	w.kill()
}

// Row 9: 150 messages of 900 KiB on the pool's cancel subject do not
// grow a worker's memory (its cancel table keeps only well-formed keys,
// and a bounded number of them); the worker goes on serving.
func TestSecurityCancelFloodBounded(t *testing.T) {
	r := startSecRig(t)
	ctx := testutil.Ctx(t, 60*time.Second)
	w := startWorkerProc(t, r.b.ClientURL(), "wa", "wa"+secPass, r.aName)
	if _, err := pool.Apply(ctx, r.a, builtin.Upper, "warm"); err != nil {
		t.Fatal(err)
	}
	before := rssKB(t, w.pid())
	junk := make([]byte, 900<<10)
	for i := range 150 {
		junk[0] = byte(i) // distinct keys
		junk[1] = byte(i >> 8)
		if err := r.aCaller2.Publish("procpool."+r.aName+".cancel", junk); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.aCaller2.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, err := pool.Apply(ctx, r.a, builtin.Upper, "after"); err != nil || got != "AFTER" {
		t.Fatalf("Apply after the flood: %q, %v", got, err)
	}
	after := rssKB(t, w.pid())
	t.Logf("worker RSS %d KB before, %d KB after 150 x 900 KiB cancel notices", before, after)
	if after-before > 40<<10 {
		t.Fatalf("worker RSS grew by %d KB: the cancel table keeps what it is sent", after-before)
	}
	w.kill()
}

// rssKB is a process's resident set in KB (Linux /proc).
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skipf("needs /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// Bounded by default: a pool's task stream and a queue refuse what would
// pass their byte limit with a clear error; what was accepted stays.
func TestSecurityStreamsBounded(t *testing.T) {
	b := testutil.StartBroker(t, broker.Config{})
	p := externalPool(t, b.ClientURL(), b.User(), b.Password(), pool.WithProcesses(0), pool.WithMaxQueuedBytes(1<<20))
	ctx := testutil.Ctx(t, 60*time.Second)
	arg := strings.Repeat("x", 100<<10) // inline: under the 256 KiB a message carries
	var calls []*pool.AsyncResult[string]
	for range 20 {
		calls = append(calls, pool.ApplyAsync(ctx, p, builtin.Upper, arg))
	}
	// The accepted tasks wait for a worker; the others fail.
	var refusal error
	testutil.WaitFor(t, 20*time.Second, "a task past the stream's limit to fail", func() bool {
		for _, c := range calls {
			if c.Ready() && !c.Successful() {
				_, refusal = c.Get(0)
				return true
			}
		}
		return false
	})
	if !strings.Contains(refusal.Error(), "maximum bytes") {
		t.Fatalf("a task past the stream's limit failed with %v; want the broker's maximum bytes error", refusal)
	}
	s, err := jsOf(t, p.Conn()).Stream(ctx, "PROCPOOL_"+p.Name())
	if err != nil {
		t.Fatal(err)
	}
	if st := s.CachedInfo().State; st.Msgs == 0 || st.Bytes > 1<<20 {
		t.Fatalf("task stream %+v: want the accepted tasks kept, within 1 MiB", st)
	}

	q, err := ipc.NewQueue[string](ctx, p.Conn(), "bounded", ipc.WithMaxBytes(256<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Delete(context.Background())
	var putErr error
	for i := 0; i < 10 && putErr == nil; i++ {
		if putErr = q.Put(ctx, arg); putErr == nil {
			putErr = q.Flush(ctx)
		}
	}
	if putErr == nil || !strings.Contains(putErr.Error(), "maximum bytes") {
		t.Fatalf("1 MB into a 256 KiB queue: %v; want the broker's maximum bytes error", putErr)
	}
	if n, err := q.Len(ctx); err != nil || n == 0 {
		t.Fatalf("queue after the refusal: %d items, %v; want the accepted ones", n, err)
	}
}

// The roles can do what observing their pool needs: `procpool status` and
// the nats CLI's `nats micro ls` with pool A's caller credential see A's
// worker; with pool B's they see none of A's.
func TestSecurityRolesObserveTheirPool(t *testing.T) {
	cli, nats := procpoolCLI(t), natsCLI(t)
	r := startSecRig(t)
	w := startWorkerProc(t, r.b.ClientURL(), "wa", "wa"+secPass, r.aName)
	ctx := testutil.Ctx(t, 60*time.Second)
	if _, err := pool.Apply(ctx, r.a, builtin.Upper, "seen"); err != nil {
		t.Fatal(err)
	}
	env := func(user string) []string {
		return append(os.Environ(), "HOME="+os.TempDir(), "NATS_CONTEXT=",
			"PROCPOOL_URL="+r.b.ClientURL(), "PROCPOOL_USER="+user, "PROCPOOL_PASSWORD="+user+secPass,
			"NATS_URL="+r.b.ClientURL(), "NATS_USER="+user, "NATS_PASSWORD="+user+secPass)
	}
	var st statusJSON
	out := runCmd(t, 30*time.Second, env("ca"), cli, "status", "--pool", r.aName, "--json")
	if err := json.Unmarshal(out, &st); err != nil || len(st.Workers) != 1 || st.Workers[0].PID != w.pid() {
		t.Fatalf("procpool status as A's caller: %v, %s; want A's one worker (pid %d)", err, out, w.pid())
	}
	var infos []micro.Info
	out = runCmd(t, 30*time.Second, env("ca"), nats, "--inbox-prefix", "_INBOX.ca", "micro", "ls", "procpool", "--json")
	if err := json.Unmarshal(out, &infos); err != nil || len(infos) != 1 {
		t.Fatalf("nats micro ls as A's caller: %v, %s; want A's one worker", err, out)
	}
	// As B's caller: the CLI finds no service at all (it exits 1 saying
	// so), or lists none.
	cmd := exec.CommandContext(ctx, nats, "--inbox-prefix", "_INBOX.cb", "micro", "ls", "procpool", "--json")
	cmd.Env = env("cb")
	out, _ = cmd.CombinedOutput()
	infos = nil
	if json.Unmarshal(out, &infos) == nil && len(infos) != 0 || strings.Contains(string(out), strconv.Itoa(w.pid())) {
		t.Fatalf("nats micro ls as B's caller sees pool A's worker:\n%s", out)
	}
	w.kill()
}
