package ipc_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoPoolNorBroker: ipc depends on the NATS client and
// internal/wire and internal/blob only, so what uses a queue links no
// NATS server.
func TestImportsNoPoolNorBroker(t *testing.T) {
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
		if !strings.HasPrefix(pkg, "github.com/procpool/procpool/") {
			if strings.Contains(pkg, "nats-server") {
				t.Errorf("ipc imports %s", pkg)
			}
			continue
		}
		switch strings.TrimPrefix(pkg, "github.com/procpool/procpool/") {
		case "ipc", "internal/wire", "internal/blob":
		default:
			t.Errorf("ipc imports %s", pkg)
		}
	}
}
