//go:build linux

package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"time"
)

// network puts each broker node and worker host in a network namespace of
// its own, each with one veth whose other end is on a bridge in the run's
// namespace (where the callers are): the network is all they share, and
// setting a namespace's veth down partitions it from everyone.
type network struct {
	id     string            // random, in every name, so that runs do not collide
	subnet string            // "10.a.b": the /24 the run uses
	bridge string            // the bridge, with address subnet.254
	ns     map[string]string // role ("n1", "h2") -> namespace
	host   map[string]int    // role -> last octet of its address
}

// netnsAvailable says why namespaces cannot be used here ("" if they can).
func netnsAvailable() string {
	if os.Geteuid() != 0 {
		return "not root"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "no ip(8) (iproute2)"
	}
	return ""
}

// netCmdBound bounds one ip(8) or nft(8) command: each answers in
// milliseconds, and the nemesis must not wait forever on one that hangs.
const netCmdBound = 30 * time.Second

func ipCmd(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), netCmdBound)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// setupNetwork makes the bridge and one namespace per role; roles get
// addresses .1, .2, ... in order. On error what was made is removed.
func setupNetwork(roles []string) (n *network, err error) {
	var rnd [2]byte
	_, _ = rand.Read(rnd[:])
	a, _ := rand.Int(rand.Reader, big.NewInt(50))
	b, _ := rand.Int(rand.Reader, big.NewInt(250))
	n = &network{id: hex.EncodeToString(rnd[:]), subnet: fmt.Sprintf("10.%d.%d", 150+a.Int64(), 1+b.Int64()),
		ns: map[string]string{}, host: map[string]int{}}
	n.bridge = "ppx" + n.id + "br"
	defer func() {
		if err != nil {
			n.teardown()
		}
	}()
	for _, args := range [][]string{
		{"link", "add", "name", n.bridge, "type", "bridge"},
		{"addr", "add", n.subnet + ".254/24", "dev", n.bridge},
		{"link", "set", n.bridge, "up"},
	} {
		if err := ipCmd(args...); err != nil {
			return n, err
		}
	}
	for i, role := range roles {
		ns := "ppx-" + n.id + "-" + role
		if err := ipCmd("netns", "add", ns); err != nil {
			return n, err
		}
		n.ns[role], n.host[role] = ns, i+1
		outer := fmt.Sprintf("ppx%sv%d", n.id, i)
		for _, args := range [][]string{
			{"link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", ns},
			{"link", "set", outer, "master", n.bridge},
			{"link", "set", outer, "up"},
			{"-n", ns, "addr", "add", n.addr(role) + "/24", "dev", "eth0"},
			{"-n", ns, "link", "set", "eth0", "up"},
			{"-n", ns, "link", "set", "lo", "up"},
		} {
			if err := ipCmd(args...); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// addr is role's address.
func (n *network) addr(role string) string { return fmt.Sprintf("%s.%d", n.subnet, n.host[role]) }

// wrap runs argv in role's namespace.
func (n *network) wrap(role string, argv []string) []string {
	return append([]string{"ip", "netns", "exec", n.ns[role]}, argv...)
}

// cut partitions role from everyone; heal ends that.
func (n *network) cut(role string) error {
	return ipCmd("-n", n.ns[role], "link", "set", "eth0", "down")
}
func (n *network) heal(role string) error {
	return ipCmd("-n", n.ns[role], "link", "set", "eth0", "up")
}

// teardown removes the namespaces (their veths go with them) and the bridge.
func (n *network) teardown() error {
	var errs []error
	for _, ns := range n.ns {
		if err := ipCmd("netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if err := ipCmd("link", "del", n.bridge); err != nil && !strings.Contains(err.Error(), "Cannot find") {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
