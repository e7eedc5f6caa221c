//go:build linux

package chaos

import (
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestLossyLink checks the lossy-link fault on a real namespace: a
// one-way partition lets nothing in, a 30 % loss drops about 30 % of
// datagrams, and restore gives the link back whole.
func TestLossyLink(t *testing.T) {
	if why := netnsAvailable(); why != "" {
		testutil.SkipOutsideCI(t, "network namespaces: %s", why)
	}
	if _, err := exec.LookPath("nft"); err != nil {
		testutil.SkipOutsideCI(t, "no nft(8) (nftables)")
	}
	n, err := setupNetwork([]string{"h1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.teardown() })
	if why := n.lossyAvailable("h1"); why != "" {
		t.Fatalf("lossyAvailable: %s", why)
	}

	// A TCP and a UDP listener in h1's namespace, reached from this one
	// (the bridge's) over h1's link, as the callers reach a node.
	var tl net.Listener
	var ul net.PacketConn
	inNetns(t, n.ns["h1"], func() {
		if tl, err = net.Listen("tcp", n.addr("h1")+":7100"); err != nil {
			t.Fatal(err)
		}
		if ul, err = net.ListenPacket("udp", n.addr("h1")+":7101"); err != nil {
			t.Fatal(err)
		}
	})
	t.Cleanup(func() { tl.Close(); ul.Close() })
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dial := func() error {
		c, err := net.DialTimeout("tcp", n.addr("h1")+":7100", time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatalf("dial before any fault: %v", err)
	}

	if err := n.degrade("h1", 100, 0); err != nil {
		t.Fatal(err)
	}
	if err := dial(); err == nil {
		t.Fatal("dial through a one-way partition (all received dropped) succeeded")
	}
	if err := n.restore("h1"); err != nil {
		t.Fatal(err)
	}
	if err := dial(); err != nil {
		t.Fatalf("dial after restore: %v", err)
	}

	const sent, lossPct = 400, 30
	if err := n.degrade("h1", lossPct, lossPct); err != nil {
		t.Fatal(err)
	}
	got := datagrams(t, ul, n.addr("h1")+":7101", sent)
	if err := n.restore("h1"); err != nil {
		t.Fatal(err)
	}
	// 70 % of 400 is 280, with a standard deviation of about 9.
	if got < 220 || got > 340 {
		t.Fatalf("%d of %d datagrams arrived through a %d%% loss, want about %d", got, sent, lossPct, sent*(100-lossPct)/100)
	}
	t.Logf("%d of %d datagrams arrived through a %d%% loss", got, sent, lossPct)
	if got := datagrams(t, ul, n.addr("h1")+":7101", 100); got != 100 {
		t.Fatalf("%d of 100 datagrams arrived after restore", got)
	}
	if err := n.restore("h1"); err != nil {
		t.Fatalf("restore of a link not degraded: %v", err)
	}
	if err := n.degrade("h1", 101, 0); err == nil {
		t.Fatal("degrade by 101% accepted")
	}
}

// datagrams sends n numbered datagrams to addr and counts those ul gets.
func datagrams(t *testing.T, ul net.PacketConn, addr string, n int) int {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seen := make(chan int, 1)
	go func() {
		got, buf := 0, make([]byte, 16)
		for {
			_ = ul.SetReadDeadline(time.Now().Add(time.Second))
			if _, _, err := ul.ReadFrom(buf); err != nil {
				seen <- got
				return
			}
			got++
		}
	}()
	for i := range n {
		if _, err := c.Write([]byte{byte(i), byte(i >> 8)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // a pace the receiver's buffer keeps up with, not a synchronisation
	}
	return <-seen
}

// inNetns runs f on a thread moved into the namespace ns: sockets f opens
// belong to it, and stay there after the thread moves back.
func inNetns(t *testing.T, ns string, f func()) {
	t.Helper()
	runtime.LockOSThread()
	home, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer home.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer target.Close()
	if err := setns(target); err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer func() {
		if err := setns(home); err != nil {
			t.Errorf("back to this namespace: %v", err) // the thread stays locked, and dies with the goroutine
			return
		}
		runtime.UnlockOSThread()
	}()
	f()
}

func setns(f *os.File) error {
	return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
}
