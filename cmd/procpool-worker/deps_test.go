package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoNATSServer: procpool-worker, and so every worker process and
// task, links the NATS client only: nothing it imports starts a broker.
func TestLinksNoNATSServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "nats-server") || pkg == "github.com/procpool/procpool/pool" || pkg == "github.com/procpool/procpool/broker" {
			t.Errorf("procpool-worker imports %s", pkg)
		}
	}
}
