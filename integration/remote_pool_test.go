package integration

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// Remote-only and mixed pools on one broker, with workers that are
// procpool-worker processes (issue 4, item 3).

const remoteToken = "remote-test-token"

// remoteSetup is a token-authenticated broker and the environment that
// points procpool-worker at it for the test's pool.
func remoteSetup(t *testing.T) (builtBinaries, *broker.Server, []string) {
	t.Helper()
	bin := buildBinaries(t)
	b := testutil.StartBroker(t, broker.Config{Token: remoteToken})
	env := []string{"PROCPOOL_URL=" + b.ClientURL(), "PROCPOOL_TOKEN=" + remoteToken, "PROCPOOL_POOL=" + poolName(t)}
	return bin, b, env
}

func remoteOpts(t *testing.T, b *broker.Server, processes int) []pool.Option {
	return []pool.Option{pool.WithBroker(b.ClientURL()), pool.WithToken(remoteToken),
		pool.WithName(poolName(t)), pool.WithProcesses(processes)}
}

// TestRemoteOnlyPool: WithProcesses(0) runs everything on remote workers,
// and on all of them.
func TestRemoteOnlyPool(t *testing.T) {
	bin, b, env := remoteSetup(t)
	w1 := startWorkerBinary(t, bin, "worker-1", 1, env...)
	w2 := startWorkerBinary(t, bin, "worker-2", 1, env...)
	p := remotePool(t, remoteOpts(t, b, 0)...)
	testutil.WaitFor(t, 10*time.Second, "two remote workers", func() bool { return len(p.Workers()) == 2 })
	for _, w := range p.Workers() {
		if w.Local {
			t.Fatalf("worker %+v is local in a WithProcesses(0) pool", w)
		}
	}
	ctx := testutil.Ctx(t, time.Minute)
	whos, err := pool.Map(ctx, p, builtin.Sleep, sleeps(100, 10*time.Millisecond), pool.WithChunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	checkWhos(t, whos, 100)
	for _, w := range whos {
		if w.GOMAXPROCS != 1 {
			t.Fatalf("worker %s ran with GOMAXPROCS %d; procpool-worker's default is 1", w.ID, w.GOMAXPROCS)
		}
	}
	by := whoCount(whos)
	t.Logf("results by supervisor pid: %s", describe(by))
	if by[os.Getpid()] != 0 {
		t.Fatalf("%d tasks ran in this process's children", by[os.Getpid()])
	}
	if by[w1.pid()] == 0 || by[w2.pid()] == 0 || by[w1.pid()]+by[w2.pid()] != 100 {
		t.Fatalf("results by supervisor %s: want all 100 from %d and %d, both used", describe(by), w1.pid(), w2.pid())
	}
}

// TestMixedPool: local worker processes and a remote worker share a Map.
func TestMixedPool(t *testing.T) {
	bin, b, env := remoteSetup(t)
	w := startWorkerBinary(t, bin, "worker", 1, env...)
	p := remotePool(t, remoteOpts(t, b, 1)...)
	testutil.WaitFor(t, 10*time.Second, "a local and a remote worker", func() bool { return len(p.Workers()) == 2 })
	ctx := testutil.Ctx(t, time.Minute)
	whos, err := pool.Map(ctx, p, builtin.Sleep, sleeps(100, 10*time.Millisecond), pool.WithChunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	checkWhos(t, whos, 100)
	by := whoCount(whos)
	t.Logf("results: %d local (ppid %d), %d remote (ppid %d)", by[os.Getpid()], os.Getpid(), by[w.pid()], w.pid())
	if by[os.Getpid()] < 10 || by[w.pid()] < 10 || by[os.Getpid()]+by[w.pid()] != 100 {
		t.Fatalf("results by parent %s: want local (%d) and remote (%d) workers to share all 100", describe(by), os.Getpid(), w.pid())
	}
}

// TestRemoteWorkerJoinsMidMap: a worker host that starts while a Map runs
// takes work at once. Results are read in the order they complete
// (IMapUnordered): "at once" is about time, and an ordered map's input
// index says little about it, since the joiner takes whichever message is
// oldest in the queue, maybe a handed-back half far ahead in the input.
func TestRemoteWorkerJoinsMidMap(t *testing.T) {
	bin, b, env := remoteSetup(t)
	first := startWorkerBinary(t, bin, "worker-first", 1, env...)
	p := remotePool(t, remoteOpts(t, b, 0)...)
	ctx := testutil.Ctx(t, 2*time.Minute)
	const n = 300
	var whos []builtin.Who
	var joiner *osProc
	var joinedAt int
	// A window of 8 and no results taken until the joiner is registered:
	// the Map sends the rest only then, so "at once" is measured from the
	// joiner being up, not from its process starting, which a loaded
	// machine can make take longer than the whole backlog.
	for w, err := range pool.IMapUnordered(ctx, p, builtin.Sleep, slices.Values(sleeps(n, 20*time.Millisecond)), pool.WithChunksize(1), pool.WithWindow(8)) {
		if err != nil {
			t.Fatal(err)
		}
		whos = append(whos, w)
		if len(whos) == 30 {
			joiner = startWorkerBinary(t, bin, "worker-joiner", 1, env...)
			joinedAt = len(whos)
			testutil.WaitFor(t, 30*time.Second, "the joiner's worker", func() bool {
				return slices.ContainsFunc(p.Workers(), func(w pool.WorkerInfo) bool { return w.PPID == joiner.pid() })
			})
		}
	}
	checkWhos(t, whos, n)
	by := whoCount(whos[joinedAt:])
	firstJoiner := slices.IndexFunc(whos, func(w builtin.Who) bool { return w.PPID == joiner.pid() })
	t.Logf("after the join at result %d: %s (first %d, joiner %d); the joiner's first result is #%d",
		joinedAt, describe(by), first.pid(), joiner.pid(), firstJoiner)
	// At once: among the next few results to complete (those finishing
	// while it started), not after the backlog. Its share of the rest is
	// logged, not asserted (about half here; with an ordered IMap well under
	// half, see the report of issue 4).
	if firstJoiner < 0 || firstJoiner > joinedAt+30 {
		t.Fatalf("the joiner's first result is #%d; it joined at #%d", firstJoiner, joinedAt)
	}
	if by[joiner.pid()] < 5 {
		t.Fatalf("the joiner ran %d of the %d tasks left", by[joiner.pid()], n-joinedAt)
	}
}

// TestRemoteWorkerGroupKilledMidMap: a worker host whose processes all
// die mid-Map loses nothing: every result right, exactly one per item.
func TestRemoteWorkerGroupKilledMidMap(t *testing.T) {
	bin, b, env := remoteSetup(t)
	victim := startWorkerBinary(t, bin, "worker-victim", 2, env...)
	survivor := startWorkerBinary(t, bin, "worker-survivor", 1, env...)
	p := remotePool(t, remoteOpts(t, b, 0)...)
	ctx := testutil.Ctx(t, 2*time.Minute)
	const n = 300
	items := make([]int, n)
	for i := range items {
		items[i] = 20000 + i
	}
	var got []int
	var dead []int
	for v, err := range pool.IMap(ctx, p, builtin.Primes, slices.Values(items), pool.WithChunksize(2)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
		if len(got) == n/4 {
			dead = pidsOf(victim)
			victim.killAll()
			t.Logf("SIGKILLed worker host %v after %d results", dead, len(got))
		}
	}
	if len(got) != n {
		t.Fatalf("%d results, want %d", len(got), n)
	}
	for i, v := range got {
		if want := builtin.CountPrimes(items[i]); v != want {
			t.Fatalf("primes(%d) = %d, want %d", items[i], v, want)
		}
	}
	if len(dead) < 3 {
		t.Fatalf("the victim host had %d processes (%v), want a supervisor and 2 workers", len(dead), dead)
	}
	for _, pid := range dead {
		if alive(pid) {
			t.Fatalf("pid %d of the killed host still alive", pid)
		}
	}
	// The survivor's pool view no longer lists the dead workers.
	testutil.WaitFor(t, 10*time.Second, "the dead workers to leave Workers()", func() bool {
		for _, w := range p.Workers() {
			if slices.Contains(dead, w.PID) {
				return false
			}
		}
		return true
	})
	t.Logf("stats %+v; survivor pid %s", p.Stats(), strconv.Itoa(survivor.pid()))
}

// A caller that asks for file storage on a pool whose stream a worker
// already made in memory (workers make it with default settings) gets an
// error that says so and what to do, not JetStream's bare "can not
// change storage type".
func TestFileStoreCallerAfterMemoryStream(t *testing.T) {
	const user, pass = "fs", "fs-password-0123456789abcdef"
	b := testutil.StartBroker(t, broker.Config{User: user, Password: pass})
	name := poolName(t)
	w := startWorkerProc(t, b.ClientURL(), user, pass, name)

	ctx := testutil.Ctx(t, 30*time.Second)
	_, err := pool.New(ctx, pool.WithBroker(b.ClientURL()), pool.WithCredentials(user, pass), pool.WithName(name),
		pool.WithProcesses(0), pool.WithFileStore(""))
	if err == nil {
		t.Fatal("a WithFileStore pool started on a stream a worker made in memory")
	}
	for _, want := range []string{"exists with memory storage", "asks for file storage", "nats stream rm"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
	// The same caller without WithFileStore uses the stream as it is.
	w.kill() // before the pool, whose cleanup checks that no child is left
	p := externalPool(t, b.ClientURL(), user, pass, pool.WithProcesses(1))
	if _, err := pool.Apply(ctx, p, builtin.Echo, []byte("x")); err != nil {
		t.Fatal(err)
	}
}
