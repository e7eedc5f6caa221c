package integration

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// TestWorkerBinaryChildLogs: procpool-worker's --log-level and --log-format
// reach the worker processes it supervises (worker.Config LogLevel and
// LogFormat), and their lines appear on its stderr prefixed with their id
// (worker.Config PrefixOutput); at the default level their debug lines do
// not appear.
func TestWorkerBinaryChildLogs(t *testing.T) {
	bin, b, env := remoteSetup(t)
	w := startProc(t, "worker-debug", env, bin.worker, "--processes", "2", "--wait", "1m", "--log-level", "debug", "--log-format", "json")
	w.waitOutput(t, regexp.MustCompile(`worker processes ready`), 90*time.Second)
	re := regexp.MustCompile(`(?m)^\[w \S+-(\d+)\] \{"time":"[^"]+","level":"DEBUG","msg":"worker ready".*"pid":(\d+)`)
	w.waitOutput(t, re, 10*time.Second)
	kids := w.descendants()
	seen := 0
	for _, m := range re.FindAllStringSubmatch(w.out.String(), -1) {
		pid, _ := strconv.Atoi(m[1])
		if m[1] != m[2] || !slices.Contains(kids, pid) {
			t.Fatalf("debug line of pid %s prefixed with pid %s; worker processes: %v", m[2], m[1], kids)
		}
		seen++
	}
	if seen != 2 {
		t.Fatalf("%d worker processes logged at debug level, want 2:\n%s", seen, w.out.String())
	}

	// The default level: info, and the workers' debug lines stay out.
	q := startProc(t, "worker-info", []string{env[0], env[1], "PROCPOOL_POOL=" + poolName(t) + "-info"}, bin.worker, "--processes", "1", "--wait", "1m")
	q.waitOutput(t, regexp.MustCompile(`worker processes ready`), 90*time.Second)
	opts := remoteOpts(t, b, 0)
	opts = append(opts, pool.WithName(poolName(t)+"-info"))
	p := remotePool(t, opts...)
	if _, err := pool.Apply(testutil.Ctx(t, 30*time.Second), p, builtin.Upper, "x"); err != nil {
		t.Fatal(err) // the worker served a task, so it is past "worker ready"
	}
	if out := q.out.String(); strings.Contains(out, "level=DEBUG") {
		t.Fatalf("debug lines at the default level:\n%s", out)
	}
}
