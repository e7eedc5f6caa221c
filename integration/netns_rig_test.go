package integration

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/procpool/procpool/internal/testutil"
)

// netnsStar makes a network namespace for a broker and one for each of
// roles, each joined to the broker's by its own veth pair with a /30 in a
// private range used only inside them: the network is all they share. It
// returns the namespaces' names by role ("broker" and roles) and, by role,
// the broker's address on that role's link. Names carry tag and a random
// id, so that parallel runs do not meet; all is removed at cleanup. It
// skips outside CI without ip(8), and when the kernel refuses namespaces.
func netnsStar(t *testing.T, tag string, roles ...string) (ns, brokerAddr map[string]string) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		testutil.SkipOutsideCI(t, "no ip(8) (iproute2) on this machine")
	}
	id := fmt.Sprintf("%04x", rand.IntN(1<<16))
	ns = map[string]string{"broker": "pp-" + tag + "b-" + id}
	for i, role := range roles {
		ns[role] = fmt.Sprintf("pp-%s%d-%s", tag, i, id)
	}
	net := 200 + rand.IntN(50) // 10.<net>.<i+1>.0/30: the broker and roles[i]
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
	for _, role := range roles {
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
	brokerAddr = map[string]string{}
	for i, role := range roles {
		bEnd, oEnd := fmt.Sprintf("pp%sb%s%d", tag, id, i), fmt.Sprintf("pp%so%s%d", tag, id, i)
		must("link", "add", bEnd, "netns", ns["broker"], "type", "veth", "peer", "name", oEnd, "netns", ns[role])
		brokerAddr[role] = fmt.Sprintf("10.%d.%d.1", net, i+1)
		must("-n", ns["broker"], "addr", "add", brokerAddr[role]+"/30", "dev", bEnd)
		must("-n", ns[role], "addr", "add", fmt.Sprintf("10.%d.%d.2/30", net, i+1), "dev", oEnd)
		must("-n", ns["broker"], "link", "set", bEnd, "up")
		must("-n", ns[role], "link", "set", oEnd, "up")
	}
	return ns, brokerAddr
}
