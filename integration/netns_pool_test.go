package integration

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestNetnsBrokerWorkersCaller puts a broker, a worker host and a caller
// in three network namespaces joined by veth pairs, with addresses in a
// private range used only inside them: the network is all they share.
// The caller is `procpool demo --processes 0`, which exits 0 only when
// every result is right (a worker killed mid-task included).
func TestNetnsBrokerWorkersCaller(t *testing.T) {
	if _, err := exec.LookPath("ip"); err != nil {
		skipOutsideCI(t, "no ip(8) (iproute2) on this machine")
	}
	id := fmt.Sprintf("%04x", rand.IntN(1<<16))
	ns := map[string]string{"broker": "pp-b-" + id, "worker": "pp-w-" + id, "caller": "pp-c-" + id}
	net := 200 + rand.IntN(50) // 10.<net>.1.0/30 broker-worker, 10.<net>.2.0/30 broker-caller
	ip := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := ip("netns", "add", ns["broker"]); err != nil {
		t.Skipf("the kernel refuses network namespaces here: %v", err)
	}
	t.Cleanup(func() { _ = ip("netns", "del", ns["broker"]) })
	for _, role := range []string{"worker", "caller"} {
		if err := ip("netns", "add", ns[role]); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ip("netns", "del", ns[role]) })
	}
	must := func(args ...string) {
		t.Helper()
		if err := ip(args...); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range ns {
		must("-n", n, "link", "set", "lo", "up")
	}
	brokerAddr := map[string]string{}
	for i, role := range []string{"worker", "caller"} {
		bEnd, oEnd := fmt.Sprintf("ppb%s%d", id, i), fmt.Sprintf("ppo%s%d", id, i)
		must("link", "add", bEnd, "netns", ns["broker"], "type", "veth", "peer", "name", oEnd, "netns", ns[role])
		brokerAddr[role] = fmt.Sprintf("10.%d.%d.1", net, i+1)
		must("-n", ns["broker"], "addr", "add", brokerAddr[role]+"/30", "dev", bEnd)
		must("-n", ns[role], "addr", "add", fmt.Sprintf("10.%d.%d.2/30", net, i+1), "dev", oEnd)
		must("-n", ns["broker"], "link", "set", bEnd, "up")
		must("-n", ns[role], "link", "set", oEnd, "up")
	}

	bin := buildBinaries(t)
	const token = "netns-test-token"
	env := []string{"PROCPOOL_TOKEN=" + token, "PROCPOOL_POOL=netns"}
	b := startProc(t, "broker", env, "ip", "netns", "exec", ns["broker"], bin.procpool, "broker", "--listen", "0.0.0.0:4222")
	b.waitOutput(t, readyURL, 30*time.Second)

	// Only the network connects them: the broker is not on the caller's
	// own loopback, and the caller reaches it on its veth address.
	if err := exec.Command("ip", "netns", "exec", ns["caller"], bin.worker, "--check", "--url", "nats://127.0.0.1:4222").Run(); err == nil {
		t.Fatal("the caller's namespace reaches a broker on its own loopback")
	}
	w := startProc(t, "worker host", append(env, "PROCPOOL_URL=nats://"+brokerAddr["worker"]+":4222"),
		"ip", "netns", "exec", ns["worker"], bin.worker, "--processes", "2")
	w.waitOutput(t, regexp.MustCompile(`worker processes ready`), 60*time.Second)

	demo := exec.Command("ip", "netns", "exec", ns["caller"], bin.procpool, "demo", "--processes", "0",
		"--url", "nats://"+brokerAddr["caller"]+":4222", "--wait-workers", "30s")
	demo.Env = append(os.Environ(), env...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() {
		out, err = demo.CombinedOutput()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		_ = demo.Process.Kill()
		<-done
		t.Fatalf("the caller did not finish in 2 minutes:\n%s", out)
	}
	if err != nil {
		t.Fatalf("procpool demo in the caller's namespace: %v\n%s", err, out)
	}
	for _, want := range []string{"all results correct", "demo ok", "completed on worker"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("demo output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("caller in %s, worker host in %s, broker in %s (10.%d.0.0/16):\n%s", ns["caller"], ns["worker"], ns["broker"], net, tail(string(out), 12))
}
