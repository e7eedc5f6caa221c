package integration

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// Rows 18-20: access control of a pool's broker, end to end.

func TestRow18UnauthenticatedClientRefused(t *testing.T) {
	p := newPool(t, pool.WithProcesses(1))
	for _, tc := range []struct {
		name string
		opts []nats.Option
	}{
		{name: "no credentials"},
		{name: "wrong password", opts: []nats.Option{nats.UserInfo("procpool", "not-the-password")}},
		{name: "wrong user", opts: []nats.Option{nats.UserInfo("admin", "admin")}},
		{name: "token instead", opts: []nats.Option{nats.Token("guess")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := connectAs(p.URL(), tc.opts...)
			if err == nil {
				t.Fatalf("%s: connection to %s accepted", tc.name, p.URL())
			}
			if !strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
				t.Fatalf("%s: err = %v, want an authorization violation", tc.name, err)
			}
		})
	}
	// The pool's own connection and workers are unaffected.
	ctx := testutil.Ctx(t, 20*time.Second)
	if got, err := pool.Apply(ctx, p, quick, probe{N: 4, Log: os.DevNull}); err != nil || got.N != 8 {
		t.Fatalf("Apply after refused clients: %+v, %v", got, err)
	}

	// With credentials the test knows (an external broker), the right ones
	// connect and wrong ones do not: the refusals above are about
	// credentials, not about TCP access.
	b := testutil.StartBroker(t, broker.Config{})
	if err := connectAs(b.ClientURL(), nats.UserInfo(b.User(), b.Password())); err != nil {
		t.Fatalf("right credentials refused: %v", err)
	}
	if err := connectAs(b.ClientURL(), nats.UserInfo(b.User(), b.Password()+"x")); err == nil {
		t.Fatal("wrong password accepted")
	}
}

func TestRow19BrokerNotOnNonLoopback(t *testing.T) {
	p := newPool(t, pool.WithProcesses(1))
	u, err := url.Parse(p.URL())
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(u.Host)
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Fatalf("pool URL %s is not on loopback", p.URL())
	}
	// Dial the same port on every non-loopback address of this host.
	ips := testutil.OtherIPs(t)
	for _, ip := range ips {
		addr := net.JoinHostPort(ip.String(), port)
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			c.Close()
			t.Fatalf("the pool's broker accepts connections on %s", addr)
		}
		t.Logf("%s: %v", addr, err)
	}
	if len(ips) == 0 {
		t.Log("no non-loopback address on this host; checking the listening socket only")
	}
	// And the listening socket itself is bound to 127.0.0.1, not 0.0.0.0.
	local := listenAddrs(t, port)
	if len(local) == 0 {
		t.Fatalf("no listening socket on port %s found in /proc/net/tcp*", port)
	}
	for _, a := range local {
		if a != "127.0.0.1" {
			t.Fatalf("a socket listens on %s:%s", a, port)
		}
	}
}

// listenAddrs returns the local addresses of the TCP sockets listening on
// port, from /proc/net/tcp and tcp6.
func listenAddrs(t *testing.T, port string) []string {
	t.Helper()
	var p int
	fmt.Sscan(port, &p)
	var out []string
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fl := strings.Fields(line)
			if len(fl) < 4 || fl[3] != "0A" { // 0A: LISTEN
				continue
			}
			hostHex, portHex, _ := strings.Cut(fl[1], ":")
			var lp int
			fmt.Sscanf(portHex, "%X", &lp)
			if lp != p {
				continue
			}
			out = append(out, hexIP(hostHex))
		}
	}
	return out
}

// hexIP decodes /proc/net/tcp's little-endian hex address.
func hexIP(h string) string {
	var b []byte
	for i := 0; i+8 <= len(h); i += 8 {
		var w uint32
		fmt.Sscanf(h[i:i+8], "%08X", &w)
		b = append(b, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
	}
	return net.IP(b).String()
}

func TestRow20NoSecretsInProcessMetadata(t *testing.T) {
	// An external broker, so that the test knows the secrets to look for.
	const user, password = "row20user", "row20-Secret-Pa55word-0123456789"
	b := testutil.StartBroker(t, broker.Config{User: user, Password: password})
	p := externalPool(t, b.ClientURL(), user, password, pool.WithProcesses(2))
	pids := workerPIDs(p)
	if len(pids) != 2 {
		t.Fatalf("workers %v", pids)
	}
	self, _ := os.ReadFile("/proc/self/environ")
	for _, pid := range pids {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			t.Fatal(err)
		}
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			t.Fatal(err)
		}
		for what, data := range map[string][]byte{"cmdline": cmdline, "environ": environ} {
			if bytes.Contains(data, []byte(password)) {
				t.Fatalf("worker %d: the password is in /proc/%d/%s", pid, pid, what)
			}
		}
		// argv is the program alone, and the environment is the parent's
		// plus the worker marker: nothing secret was added.
		if args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"); len(args) != 1 {
			t.Fatalf("worker %d argv = %q, want the program alone", pid, args)
		}
		added := envDiff(self, environ)
		if !slices.Equal(added, []string{"PROCPOOL_WORKER=1"}) {
			t.Fatalf("worker %d environment adds %q to its parent's, want only the worker marker", pid, added)
		}
	}
	// And the embedded broker's generated password: same argv and
	// environment shape, so it cannot be there either.
	if err := p.Terminate(); err != nil { // one pool's children at a time
		t.Fatal(err)
	}
	q := newPool(t, pool.WithProcesses(1))
	for _, pid := range workerPIDs(q) {
		environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if added := envDiff(self, environ); !slices.Equal(added, []string{"PROCPOOL_WORKER=1"}) {
			t.Fatalf("embedded-broker worker %d environment adds %q", pid, added)
		}
		if strings.Count(string(cmdline), "\x00") != 1 {
			t.Fatalf("embedded-broker worker %d argv %q", pid, cmdline)
		}
	}
}

// envDiff lists the entries of child's environment block not in parent's.
func envDiff(parent, child []byte) []string {
	have := map[string]bool{}
	for _, e := range bytes.Split(parent, []byte{0}) {
		have[string(e)] = true
	}
	var out []string
	for _, e := range bytes.Split(child, []byte{0}) {
		if len(e) > 0 && !have[string(e)] {
			out = append(out, string(e))
		}
	}
	return out
}
