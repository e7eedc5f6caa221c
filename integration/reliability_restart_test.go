package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/internal/spawn"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// Row 11: the broker process is SIGKILLed with tasks queued and restarted
// on the same file store and port.

// brokerEnv makes the test binary a broker process: "<port> <store dir>
// <config file>"; the user and password come in brokerUserEnv and
// brokerPassEnv. It prints "ready" and serves until SIGTERM or SIGKILL.
const (
	brokerEnv     = "PROCPOOL_TEST_BROKER"
	brokerUserEnv = "PROCPOOL_TEST_BROKER_USER"
	brokerPassEnv = "PROCPOOL_TEST_BROKER_PASS"
)

func init() {
	if v := os.Getenv(brokerEnv); v != "" && os.Getenv(spawn.EnvMarker) == "" {
		os.Exit(brokerMain(v))
	}
}

func brokerMain(arg string) int {
	f := strings.Fields(arg)
	if len(f) != 3 {
		fmt.Println("error: want port, store dir and config file")
		return 2
	}
	port, _ := strconv.Atoi(f[0])
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	b, err := broker.Start(ctx, broker.Config{Port: port, StoreDir: f[1], ConfigFile: f[2],
		User: os.Getenv(brokerUserEnv), Password: os.Getenv(brokerPassEnv)})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer b.Shutdown()
	fmt.Println("ready", b.ClientURL())
	<-ctx.Done()
	return 0
}

// brokerProc is a broker in a process of its own.
type brokerProc struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{}
}

func startBrokerProc(t *testing.T, port int, store, config, user, pass string) *brokerProc {
	t.Helper()
	needProcFS(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %s %s", brokerEnv, port, store, config),
		brokerUserEnv+"="+user, brokerPassEnv+"="+pass)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = testProcAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	bp := &brokerProc{cmd: cmd, exited: make(chan struct{})}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		for sc.Scan() {
		}
		_ = cmd.Wait()
		close(bp.exited)
	}()
	t.Cleanup(bp.kill)
	select {
	case l := <-line:
		f := strings.Fields(l)
		if len(f) != 2 || f[0] != "ready" {
			t.Fatalf("broker process said %q", l)
		}
		bp.url = f[1]
	case <-time.After(20 * time.Second):
		t.Fatal("broker process not ready after 20s")
	}
	return bp
}

func (b *brokerProc) kill() {
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.exited
}

// syncedStore is a broker store directory and a config file that fsyncs
// every write: the durability settings under test (docs/reliability.md).
func syncedStore(t *testing.T) (store, config string) {
	t.Helper()
	store, config = t.TempDir(), filepath.Join(t.TempDir(), "broker.conf")
	if err := os.WriteFile(config, []byte("jetstream {\n  sync_interval: always\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return store, config
}

func TestRow11BrokerRestartFileStore(t *testing.T) {
	store, config := syncedStore(t)
	const user, pass = "row11", "row11-password-0123456789abcdef"
	port := testutil.FreePort(t)
	b := startBrokerProc(t, port, store, config, user, pass)
	p := externalPool(t, b.url, user, pass, pool.WithFileStore(""), pool.WithProcesses(2), pool.WithMaxAttempts(3))

	log := newExecLog(t)
	ctx := testutil.Ctx(t, 120*time.Second)
	const n = 40
	rs := make([]*pool.AsyncResult[outcome], n)
	for i := range rs {
		rs[i] = pool.ApplyAsync(ctx, p, sleepy, probe{N: i, Log: log.path, Wait: 100 * time.Millisecond})
	}
	// Tasks are accepted (some already ran: the stream has them all).
	testutil.WaitFor(t, 30*time.Second, "some tasks to run", func() bool { return len(log.read(t)) >= 4 })
	b.kill()
	killedAfter := len(log.executions(t))
	t.Logf("broker SIGKILLed after %d of %d tasks started", killedAfter, n)
	startBrokerProc(t, port, store, config, user, pass) // same port, same store
	restarted := time.Now()

	for i, r := range rs {
		got, err := r.Wait(ctx)
		if err != nil {
			t.Fatalf("task %d after the restart: %v (pending %d)", i, err, p.Stats().Pending)
		}
		if got.N != 2*i {
			t.Fatalf("task %d: %+v", i, got)
		}
	}
	t.Logf("all %d tasks answered %s after the restart; duplicate results dropped: %d",
		n, time.Since(restarted), p.Stats().DuplicateResult)
	// I1/I3: every task ran, none more than MaxAttempts times. (A task
	// running while the broker died may run again: at least once.)
	execs := log.executions(t)
	if len(execs) != n {
		t.Fatalf("%d tasks executed, want %d", len(execs), n)
	}
	again := 0
	for id, e := range execs {
		if len(e) > 3 {
			t.Fatalf("task %s ran %d times", id, len(e))
		}
		again += len(e) - 1
	}
	t.Logf("re-executions: %d", again)
	if st := p.Stats(); st.Pending != 0 {
		t.Fatalf("stats: %+v", st)
	}
	// The pool goes on working on the restarted broker.
	checkRecovered(t, p, 2)
}

// Row 11 with values too large for a message: tasks whose arguments are
// stored in the pool's bucket (file storage, like the task stream) are
// queued with no worker, the broker is SIGKILLed and restarted on the same
// store, then a worker comes: every task completes with the right result,
// and the bucket is empty afterwards.
func TestRow11BrokerRestartLargeArguments(t *testing.T) {
	store, config := syncedStore(t)
	const user, pass = "row11", "row11-password-0123456789abcdef"
	port := testutil.FreePort(t)
	b := startBrokerProc(t, port, store, config, user, pass)
	p := externalPool(t, b.url, user, pass, pool.WithFileStore(""), pool.WithProcesses(0))
	ctx := testutil.Ctx(t, 120*time.Second)
	const n = 5
	rs := make([]*pool.AsyncResult[uint64], n)
	want := make([]uint64, n)
	for i := range rs {
		arg := builtin.BlobBytes(2<<20 + i)
		want[i] = sum64(arg)
		rs[i] = pool.ApplyAsync(ctx, p, checksumTask, arg)
	}
	js, err := jetstream.New(p.Conn())
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "the tasks to be stored", func() bool {
		s, err := js.Stream(ctx, "PROCPOOL_"+p.Name())
		return err == nil && s.CachedInfo().State.Msgs == n
	})
	b.kill()
	startBrokerProc(t, port, store, config, user, pass) // same port, same store
	w := startWorkerProc(t, b.url, user, pass, p.Name())
	for i, r := range rs {
		got, err := r.Wait(ctx)
		if err != nil || got != want[i] {
			t.Fatalf("task %d after the restart: %x, %v; want %x", i, got, err, want[i])
		}
	}
	waitBucketEmpty(t, p.Conn(), blob.Bucket(p.Name()))
	w.kill()
}
