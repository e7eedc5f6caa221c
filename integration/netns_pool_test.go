package integration

import (
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
	ns, brokerAddr := netnsStar(t, "", "worker", "caller")

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
	t.Logf("caller in %s, worker host in %s, broker in %s (reached at %s and %s):\n%s", ns["caller"], ns["worker"], ns["broker"], brokerAddr["worker"], brokerAddr["caller"], tail(string(out), 12))
}
