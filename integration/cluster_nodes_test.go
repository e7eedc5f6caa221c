package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/internal/testcerts"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/pool"
)

// A 3-node cluster of separate `procpool broker` processes on loopback,
// TLS on client and route connections, users with the recommended
// per-subject permissions (from a nats-server config file), workers
// (procpool-worker processes, user "worker") on nodes 1 and 2, the caller
// (user "caller") on node 3. Rows 17 and 21 of docs/reliability.md.

const (
	clusterPool    = "cluster"
	adminPassword  = "admin-pw"
	callerPassword = "caller-pw"
	workerPassword = "worker-pw"
)

type testCluster struct {
	bin   builtBinaries
	nodes []*osProc
	urls  []string // client URLs (tls://127.0.0.1:port), by node
	mons  []string // monitoring addresses (127.0.0.1:port), by node
	names []string
}

// authConfig is a nats-server config file's accounts block: the pool's
// own account (broker.PoolAccount) with JetStream, holding an
// administrator, a caller and a worker user with the recommended
// permissions; the inbox prefixes are _INBOX.<user>, as procpool sets
// them. Another pool would get an account of its own beside it.
func authConfig(t *testing.T) string {
	t.Helper()
	callerPerms, err := broker.CallerPermissions(clusterPool, "_INBOX.caller")
	if err != nil {
		t.Fatal(err)
	}
	workerPerms, err := broker.WorkerPermissions(clusterPool, "_INBOX.worker")
	if err != nil {
		t.Fatal(err)
	}
	perms := func(p broker.Permissions) string {
		m := map[string]any{
			"publish":   map[string]any{"allow": p.Publish.Allow, "deny": p.Publish.Deny},
			"subscribe": map[string]any{"allow": p.Subscribe.Allow},
		}
		if p.AllowResponses {
			m["allow_responses"] = map[string]any{"max": 1}
		}
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // ">" stays ">": the config syntax has no \u escapes
		_ = enc.Encode(m)
		return strings.TrimSpace(b.String())
	}
	return fmt.Sprintf(`accounts {
  %q {
    jetstream: enabled
    users = [
      {user: "admin", password: %q}
      {user: "caller", password: %q, permissions: %s}
      {user: "worker", password: %q, permissions: %s}
    ]
  }
}
`, broker.PoolAccount(clusterPool), adminPassword, callerPassword, perms(callerPerms), workerPassword, perms(workerPerms))
}

// startCluster starts three broker processes and waits until JetStream
// answers on every one of them.
func startCluster(t *testing.T) *testCluster {
	t.Helper()
	c := &testCluster{bin: buildBinaries(t)}
	dir := t.TempDir()
	certs := clusterCerts(t)
	// The callers and workers trust the test CA the Go way (crypto/x509
	// reads SSL_CERT_FILE once per process: one CA per test binary run,
	// whichever cluster test comes first).
	t.Setenv("SSL_CERT_FILE", certs.CA)
	conf := filepath.Join(dir, "auth.conf")
	if err := os.WriteFile(conf, []byte(authConfig(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	ports := testutil.FreePorts(t, 6)
	routePorts, monPorts := ports[:3], ports[3:]
	var routes []string
	for _, p := range routePorts {
		routes = append(routes, "nats-route://127.0.0.1:"+strconv.Itoa(p))
	}
	for i := range 3 {
		name := "n" + strconv.Itoa(i+1)
		mon := "127.0.0.1:" + strconv.Itoa(monPorts[i])
		node := startProc(t, "broker "+name, nil, c.bin.procpool, "broker",
			"--config", conf, "--name", name, "--listen", "127.0.0.1:0", "--monitor", mon,
			"--store", filepath.Join(dir, name),
			"--cluster", "127.0.0.1:"+strconv.Itoa(routePorts[i]), "--routes", strings.Join(routes, ","),
			"--tls-cert", certs.ServerCert, "--tls-key", certs.ServerKey,
			"--cluster-tls-cert", certs.ServerCert, "--cluster-tls-key", certs.ServerKey, "--cluster-tls-ca", certs.CA)
		c.nodes = append(c.nodes, node)
		c.names = append(c.names, name)
		c.mons = append(c.mons, mon)
	}
	for _, node := range c.nodes {
		u := node.waitOutput(t, readyURL, 30*time.Second)
		c.urls = append(c.urls, strings.Replace(u, "nats://", "tls://", 1))
	}
	for i := range c.nodes {
		testutil.WaitFor(t, 60*time.Second, "JetStream on "+c.names[i], func() bool { return c.jetStreamOK(i) })
	}
	return c
}

// clusterCerts are the cluster tests' CA and certificates, made once per
// test binary run (see startCluster) and removed by TestMain.
var clusterCertsOnce struct {
	sync.Once
	dir   string
	files testcerts.Files
	err   error
}

func clusterCerts(t *testing.T) testcerts.Files {
	t.Helper()
	c := &clusterCertsOnce
	c.Do(func() {
		if c.dir, c.err = os.MkdirTemp("", "procpool-cluster-certs-"); c.err == nil {
			c.files, c.err = testcerts.Generate(c.dir)
		}
	})
	if c.err != nil {
		t.Fatal(c.err)
	}
	return c.files
}

// admin connects to node i as the unrestricted administrator.
func (c *testCluster) admin(t *testing.T, i int) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(c.urls[i], nats.UserInfo("admin", adminPassword))
	if err != nil {
		t.Fatalf("admin connection to %s: %v", c.names[i], err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func (c *testCluster) jetStreamOK(i int) bool {
	nc, err := nats.Connect(c.urls[i], nats.UserInfo("admin", adminPassword), nats.Timeout(2*time.Second))
	if err != nil {
		return false
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err == nil
}

// worker starts a procpool-worker on node i as the restricted worker user.
func (c *testCluster) worker(t *testing.T, name string, i, processes int) *osProc {
	return startWorkerBinary(t, c.bin, name, processes,
		"PROCPOOL_URL="+c.urls[i], "PROCPOOL_POOL="+clusterPool,
		"PROCPOOL_USER=worker", "PROCPOOL_PASSWORD="+workerPassword)
}

// streamInfo reads the task stream's state through node i.
func (c *testCluster) streamInfo(t *testing.T, i int) *jetstream.StreamInfo {
	t.Helper()
	s, err := lookupStream(c.admin(t, i), "PROCPOOL_"+clusterPool)
	if err != nil {
		t.Fatalf("task stream via %s: %v", c.names[i], err)
	}
	return s.CachedInfo()
}

// lookupStream looks a stream up through nc, asking again while the
// cluster elects a leader: a request sent during an election gets no
// answer at all, so one attempt is not the answer.
func lookupStream(nc *nats.Conn, name string) (jetstream.Stream, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var s jetstream.Stream
	err = wire.APICall(ctx, js, func(ctx context.Context) (err error) {
		s, err = js.Stream(ctx, name)
		return err
	})
	return s, err
}

func TestClusterTLSPermissions(t *testing.T) {
	c := startCluster(t)
	// The caller creates the task stream: the worker credential may not
	// (no STREAM.UPDATE, which creating-or-updating starts with), so
	// restricted workers wait for a caller (procpool-worker --wait).
	p := remotePool(t, pool.WithBroker(c.urls[2]), pool.WithCredentials("caller", callerPassword),
		pool.WithName(clusterPool), pool.WithProcesses(0))
	// The workers as on other hosts: they cannot see the caller's value
	// directory, so large results, like arguments, cross the bucket.
	t.Setenv("PROCPOOL_VALUE_ROOT", t.TempDir())
	c.worker(t, "worker-n1", 0, 1)
	c.worker(t, "worker-n2", 1, 1)
	testutil.WaitFor(t, 20*time.Second, "two remote workers", func() bool { return len(p.Workers()) >= 2 })
	if got := p.Conn().ConnectedUrl(); !strings.HasPrefix(got, "tls://") || !p.Conn().TLSRequired() {
		t.Fatalf("the caller's connection %s is not TLS", got)
	}
	if si := c.streamInfo(t, 2); si.Config.Replicas != 3 {
		t.Fatalf("task stream has %d replicas on a 3-node cluster, want 3 (the default)", si.Config.Replicas)
	}

	// Row 17: a node SIGKILLed under load; no accepted task lost.
	t.Run("NodeKilledMidMap", func(t *testing.T) {
		si := c.streamInfo(t, 2)
		victim := slices.Index(c.names, si.Cluster.Leader)
		if victim < 0 {
			t.Fatalf("stream leader %q is not a node", si.Cluster.Leader)
		}
		const n = 3000
		items := make([]int, n)
		want := map[int]int{}
		for i := range items {
			items[i] = 20000 + i%50
			if _, ok := want[items[i]]; !ok {
				want[items[i]] = builtin.CountPrimes(items[i])
			}
		}
		ctx := testutil.Ctx(t, 3*time.Minute)
		got := 0
		var killedAt time.Time
		for v, err := range pool.IMap(ctx, p, builtin.Primes, slices.Values(items), pool.WithChunksize(10)) {
			if err != nil {
				t.Fatalf("result %d: %v", got, err)
			}
			if v != want[items[got]] {
				t.Fatalf("primes(%d) = %d, want %d", items[got], v, want[items[got]])
			}
			got++
			if got == n/3 {
				c.nodes[victim].killAll()
				killedAt = time.Now()
				t.Logf("SIGKILLed %s, the stream leader, after %d of %d results", c.names[victim], got, n)
			}
		}
		if got != n {
			t.Fatalf("%d results, want %d", got, n)
		}
		t.Logf("all %d results right, %s after the kill; stats %+v", n, time.Since(killedAt).Round(time.Millisecond), p.Stats())
		// Every task message is acked and gone (acks follow results, so poll).
		js, _ := jetstream.New(c.admin(t, (victim+1)%3))
		var left uint64
		testutil.WaitFor(t, 20*time.Second, "an empty task stream", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			s, err := js.Stream(ctx, "PROCPOOL_"+clusterPool)
			if err != nil {
				return false // the cluster may still be electing a leader
			}
			left = s.CachedInfo().State.Msgs
			return left == 0
		})
	})

	// The nodes still up, for what follows.
	var up []int
	for i, node := range c.nodes {
		select {
		case <-node.exited:
		default:
			up = append(up, i)
		}
	}

	// Values of any size, between a caller and remote workers on other
	// nodes, with the recommended credentials: through the pool's bucket
	// (R3 like the task stream), which is empty again afterwards.
	t.Run("LargeValues", func(t *testing.T) {
		ctx := testutil.Ctx(t, 2*time.Minute)
		big := make([]string, 6)
		for i := range big {
			big[i] = strings.Repeat(string(rune('a'+i)), 5<<20)
		}
		lens, err := pool.Map(ctx, p, builtin.Len, big)
		if err != nil || !slices.Equal(lens, slices.Repeat([]int{5 << 20}, 6)) {
			t.Fatalf("Map over 6 x 5 MiB on the cluster: %v, %v", lens, err)
		}
		blobs, err := pool.Map(ctx, p, builtin.Blob, []int{5 << 20, 3 << 20, 10})
		if err != nil || len(blobs) != 3 {
			t.Fatalf("Map returning 5 MiB results on the cluster: %v", err)
		}
		for i, n := range []int{5 << 20, 3 << 20, 10} {
			if !slices.Equal(blobs[i], builtin.BlobBytes(n)) {
				t.Fatalf("result %d: %d bytes, not the %d-byte pattern", i, len(blobs[i]), n)
			}
		}
		for _, w := range p.Workers() {
			if w.Local {
				t.Fatalf("a local worker %+v: the values must have gone to remote ones", w)
			}
		}
		waitBucketEmpty(t, c.admin(t, up[0]), "procpool_"+clusterPool)
		s, err := lookupStream(c.admin(t, up[0]), "OBJ_procpool_"+clusterPool)
		if err != nil || s.CachedInfo().Config.Replicas != 3 {
			t.Fatalf("the value bucket: %v; want 3 replicas like the task stream", err)
		}
	})

	t.Run("WorkerJoinsMidMap", func(t *testing.T) {
		ctx := testutil.Ctx(t, 2*time.Minute)
		const n = 200
		var whos []builtin.Who
		var joiner *osProc
		joinedAt := 0
		// A window of 4 and no results taken until the joiner is up: the
		// Map sends its remaining tasks only then, so the joiner is there
		// for them however slowly it starts (with the default window all
		// 200 were queued at once, and in CI the two first workers once
		// finished them before the joiner fetched anything).
		for w, err := range pool.IMap(ctx, p, builtin.Sleep, slices.Values(sleeps(n, 50*time.Millisecond)), pool.WithChunksize(1), pool.WithWindow(4)) {
			if err != nil {
				t.Fatal(err)
			}
			whos = append(whos, w)
			if len(whos) == 20 {
				joiner = c.worker(t, "worker-joiner", up[0], 1)
				joinedAt = len(whos)
				testutil.WaitFor(t, 30*time.Second, "the joiner's worker", func() bool {
					return slices.ContainsFunc(p.Workers(), func(w pool.WorkerInfo) bool { return w.PPID == joiner.pid() })
				})
			}
		}
		checkWhos(t, whos, n)
		by := whoCount(whos[joinedAt:])
		t.Logf("after the join at #%d: %s (joiner %d)", joinedAt, describe(by), joiner.pid())
		if by[joiner.pid()] == 0 {
			t.Fatalf("the worker that joined mid-Map ran nothing of the %d tasks left", n-joinedAt)
		}
	})

	t.Run("WorkerHostKilledMidMap", func(t *testing.T) {
		victim := c.worker(t, "worker-victim", up[len(up)-1], 2)
		testutil.WaitFor(t, 20*time.Second, "the victim's workers", func() bool { return len(p.Workers()) >= 5 })
		ctx := testutil.Ctx(t, 2*time.Minute)
		const n = 300
		var whos []builtin.Who
		var dead []int
		for w, err := range pool.IMap(ctx, p, builtin.Sleep, slices.Values(sleeps(n, 10*time.Millisecond)), pool.WithChunksize(1)) {
			if err != nil {
				t.Fatal(err)
			}
			whos = append(whos, w)
			if len(whos) == n/4 {
				dead = pidsOf(victim)
				victim.killAll()
			}
		}
		checkWhos(t, whos, n)
		by := whoCount(whos)
		t.Logf("results by supervisor: %s; killed %v", describe(by), dead)
		if by[victim.pid()] == 0 {
			t.Fatalf("the killed host had run nothing before the kill: the test proves nothing")
		}
	})

	// Row 21: the worker credential cannot read callers' results nor
	// delete the stream; the stream and the pool carry on.
	t.Run("RogueWorkerCredential", func(t *testing.T) {
		errs := make(chan error, 16)
		rogue, err := nats.Connect(c.urls[up[0]], nats.UserInfo("worker", workerPassword),
			nats.CustomInboxPrefix("_INBOX.worker"), nats.PermissionErrOnSubscribe(true),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				select {
				case errs <- err:
				default:
				}
			}))
		if err != nil {
			t.Fatal(err)
		}
		defer rogue.Close()
		for _, subj := range []string{"_INBOX.caller.>", "_INBOX.>", ">"} {
			spy, err := rogue.SubscribeSync(subj)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := spy.NextMsg(10 * time.Second); !errors.Is(err, nats.ErrPermissionViolation) {
				t.Fatalf("worker subscribing to %q: %v, want a permissions violation", subj, err)
			}
		}
		js, _ := jetstream.New(rogue)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, "PROCPOOL_"+clusterPool); err == nil {
			t.Fatal("the worker credential deleted the task stream")
		}
		if err := testutil.WaitErr(errs, nats.ErrPermissionViolation, 10*time.Second); err != nil {
			t.Fatalf("worker deleting the stream: %v", err)
		}
		if si := c.streamInfo(t, up[0]); si.Config.Replicas != 3 {
			t.Fatalf("stream after the attempt: %+v", si.Config)
		}
		out, err := pool.Map(testutil.Ctx(t, time.Minute), p, builtin.Upper, []string{"still", "works"})
		if err != nil || strings.Join(out, " ") != "STILL WORKS" {
			t.Fatalf("Map after the rogue attempt: %v, %v", out, err)
		}
	})
}
