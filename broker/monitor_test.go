package broker_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/testutil"
)

// TestMonitorOnLoopbackUnlessAsked is attack row 11: monitoring answers
// anyone (/connz lists every client and its inboxes), so a node whose
// clients listen on every interface still serves it on loopback only,
// from a Config or a config file; MonitorHost puts it elsewhere on purpose.
func TestMonitorOnLoopbackUnlessAsked(t *testing.T) {
	ip := testutil.NonLoopbackIP(t)
	conf := filepath.Join(t.TempDir(), "monitor.conf")
	if err := os.WriteFile(conf, []byte("listen: 0.0.0.0:-1\nhttp_port: -1\nauthorization { token: t }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]broker.Config{
		"config":      {Host: "0.0.0.0", MonitorPort: -1},
		"config file": {ConfigFile: conf},
	} {
		t.Run(name, func(t *testing.T) {
			b := start(t, cfg)
			_, port, err := net.SplitHostPort(b.MonitorAddr())
			if err != nil {
				t.Fatalf("MonitorAddr %q: %v", b.MonitorAddr(), err)
			}
			if !testutil.Reachable("127.0.0.1", port) {
				t.Fatal("monitoring not served on loopback")
			}
			if testutil.Reachable(ip, port) {
				t.Fatalf("monitoring answers on %s:%s, beyond loopback", ip, port)
			}
		})
	}
	t.Run("asked for", func(t *testing.T) {
		b := start(t, broker.Config{Host: "0.0.0.0", MonitorPort: -1, MonitorHost: "0.0.0.0"})
		_, port, _ := net.SplitHostPort(b.MonitorAddr())
		if !testutil.Reachable(ip, port) {
			t.Fatalf("monitoring not on %s:%s although MonitorHost is 0.0.0.0", ip, port)
		}
	})
	t.Run("bad host", func(t *testing.T) {
		if _, err := broker.Start(t.Context(), broker.Config{MonitorPort: -1, MonitorHost: "no where"}); err == nil {
			t.Fatal("Start accepted a bad MonitorHost")
		}
	})
}
