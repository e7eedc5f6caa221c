package testutil

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// NonLoopbackIP is an address of this machine that other hosts could
// dial; the test is skipped on a machine that has none.
func NonLoopbackIP(tb testing.TB) string {
	tb.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		tb.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
			return ipn.IP.String()
		}
	}
	tb.Skip("no non-loopback IPv4 address to dial from")
	return ""
}

// Reachable reports whether host:port accepts a TCP connection.
func Reachable(host, port string) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// ReadInfo reads the INFO line a NATS listener (client or route) sends
// first.
func ReadInfo(tb testing.TB, addr string) string {
	tb.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		tb.Fatalf("read INFO from %s: %v", addr, err)
	}
	return line
}

// OtherIPs are this machine's addresses other than loopback and
// link-local ones: where a listener bound to loopback must not answer.
func OtherIPs(tb testing.TB) []net.IP {
	tb.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		tb.Fatal(err)
	}
	var ips []net.IP
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		ips = append(ips, ipn.IP)
	}
	return ips
}
