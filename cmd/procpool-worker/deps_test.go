package main

import (
	"strings"
	"testing"

	"github.com/procpool/procpool/internal/testutil"
)

// TestLinksNoNATSServer: procpool-worker, and so every worker process and
// task, links the NATS client only: nothing it imports starts a broker.
func TestLinksNoNATSServer(t *testing.T) {
	for _, pkg := range testutil.Deps(t) {
		if strings.Contains(pkg, "nats-server") || pkg == "github.com/procpool/procpool/pool" || pkg == "github.com/procpool/procpool/broker" {
			t.Errorf("procpool-worker imports %s", pkg)
		}
	}
}
