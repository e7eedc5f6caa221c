package ipc_test

import (
	"strings"
	"testing"

	"github.com/procpool/procpool/internal/testutil"
)

// TestImportsNoPoolNorBroker: ipc depends on the NATS client and
// internal/wire and internal/blob only, so what uses a queue links no
// NATS server.
func TestImportsNoPoolNorBroker(t *testing.T) {
	for _, pkg := range testutil.Deps(t) {
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
