package integration

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/procpool/procpool/ipc"
)

// syncRoleEnv makes this test binary a process of TestNetnsIPCSync (see
// init): "count", "hold" or "take", with the broker's URL in
// PROCPOOL_URL and its token in PROCPOOL_TOKEN.
const syncRoleEnv = "PROCPOOL_IT_SYNC_ROLE"

// nsRounds is how many locked increments each counting process makes.
const nsRounds = 40

func init() {
	role := os.Getenv(syncRoleEnv)
	if role == "" {
		return
	}
	if err := syncRole(role); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// syncRole plays role on the broker of PROCPOOL_URL. Each prints one line
// the test waits for.
func syncRole(role string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	nc, err := nats.Connect(os.Getenv("PROCPOOL_URL"), nats.Token(os.Getenv("PROCPOOL_TOKEN")))
	if err != nil {
		return err
	}
	defer nc.Close()
	switch role {
	case "count": // meet the other, count under the lock and in the dict, meet again
		start, err := ipc.NewBarrier(ctx, nc, "ns-start", 2)
		if err != nil {
			return err
		}
		end, err := ipc.NewBarrier(ctx, nc, "ns-end", 2)
		if err != nil {
			return err
		}
		lock, err := ipc.NewLock(ctx, nc, "ns-count")
		if err != nil {
			return err
		}
		v, err := ipc.NewValue[int](ctx, nc, "ns-count")
		if err != nil {
			return err
		}
		d, err := ipc.NewDict[int](ctx, nc, "ns-count")
		if err != nil {
			return err
		}
		if _, err := start.Wait(ctx); err != nil {
			return err
		}
		for range nsRounds {
			if err := lock.Lock(ctx); err != nil {
				return err
			}
			n, err := v.Load(ctx)
			if err == nil {
				err = v.Store(ctx, n+1)
			}
			if uerr := lock.Unlock(ctx); err == nil {
				err = uerr
			}
			if err != nil {
				return err
			}
			if _, err := d.Update(ctx, "n", func(n int, _ bool) int { return n + 1 }); err != nil {
				return err
			}
		}
		if _, err := end.Wait(ctx); err != nil {
			return err
		}
		total, err := v.Load(ctx)
		if err != nil {
			return err
		}
		dn, _, err := d.Get(ctx, "n")
		if err != nil {
			return err
		}
		fmt.Printf("total %d dict %d\n", total, dn)
	case "hold": // take the lock, say so, hold it until killed
		lock, err := ipc.NewLock(ctx, nc, "ns-held", ipc.WithLease(2*time.Second))
		if err != nil {
			return err
		}
		held, err := ipc.NewEvent(ctx, nc, "ns-held")
		if err != nil {
			return err
		}
		if err := lock.Lock(ctx); err != nil {
			return err
		}
		if err := held.Set(ctx); err != nil {
			return err
		}
		fmt.Println("holding")
		<-ctx.Done()
	case "take": // once the other holds the lock, wait for it
		held, err := ipc.NewEvent(ctx, nc, "ns-held")
		if err != nil {
			return err
		}
		if err := held.Wait(ctx); err != nil {
			return err
		}
		lock, err := ipc.NewLock(ctx, nc, "ns-held")
		if err != nil {
			return err
		}
		fmt.Println("waiting")
		t0 := time.Now()
		if err := lock.Lock(ctx); err != nil {
			return err
		}
		fmt.Printf("took the lock after %dms\n", time.Since(t0).Milliseconds())
		return lock.Unlock(ctx)
	default:
		return fmt.Errorf("unknown role %q", role)
	}
	return nil
}

// TestNetnsIPCSync runs the primitives across network namespaces joined
// by veth pairs, as TestNetnsBrokerWorkersCaller does: a broker in one,
// and a process in each of two others, which share only the network.
// The two count under one Lock, meeting at a Barrier before and after,
// and update one Dict key: the totals are exact. Then one holds a lock
// and is SIGKILLed; the other takes it once the lease has run out.
func TestNetnsIPCSync(t *testing.T) {
	ns, brokerAddr := netnsStar(t, "s", "a", "b")

	bin := buildBinaries(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const token = "netns-sync-token"
	b := startProc(t, "broker", []string{"PROCPOOL_TOKEN=" + token}, "ip", "netns", "exec", ns["broker"], bin.procpool, "broker", "--listen", "0.0.0.0:4222")
	b.waitOutput(t, readyURL, 30*time.Second)
	in := func(role, side string) *osProc {
		env := []string{syncRoleEnv + "=" + role, "PROCPOOL_TOKEN=" + token, "PROCPOOL_URL=nats://" + brokerAddr[side] + ":4222"}
		return startProc(t, role+" in "+ns[side], env, "ip", "netns", "exec", ns[side], self)
	}

	// Counting from both sides.
	total := regexp.MustCompile(`total (\d+) dict (\d+)`)
	counters := []*osProc{in("count", "a"), in("count", "b")}
	for _, c := range counters {
		c.waitOutput(t, total, 90*time.Second)
		m := total.FindStringSubmatch(c.out.String())
		if m == nil || m[1] != strconv.Itoa(2*nsRounds) || m[2] != strconv.Itoa(2*nsRounds) {
			t.Fatalf("%s: %q, want total %d dict %d", c.name, m, 2*nsRounds, 2*nsRounds)
		}
	}

	// A holder in one namespace, SIGKILLed; a taker in the other.
	holder := in("hold", "a")
	holder.waitOutput(t, regexp.MustCompile(`holding`), 60*time.Second)
	taker := in("take", "b")
	taker.waitOutput(t, regexp.MustCompile(`waiting`), 60*time.Second)
	holder.killAll()
	took := taker.waitOutput(t, regexp.MustCompile(`took the lock after \d+ms`), 60*time.Second)
	t.Logf("two processes in %s and %s, broker in %s: %d locked increments each, exact; %s once the holder in %s was killed (lease 2s)",
		ns["a"], ns["b"], ns["broker"], nsRounds, took, ns["a"])
}
