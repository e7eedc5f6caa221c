package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// chaosReport is the part of `procpool chaos --json`'s last line the test
// reads (internal/chaos.Report).
type chaosReport struct {
	Seed         uint64         `json:"seed"`
	Netns        bool           `json:"netns"`
	Skipped      []string       `json:"skipped"`
	Tasks        int            `json:"tasks"`
	Outcomes     map[string]int `json:"outcomes"`
	Executions   int            `json:"executions"`
	Faults       int            `json:"faults"`
	FaultsByKind map[string]int `json:"faults_by_kind"`
	QueuePut     int            `json:"queue_put"`
	Pipes        int            `json:"pipes"`
	Violations   []struct {
		Rule   string `json:"rule"`
		Detail string `json:"detail"`
	} `json:"violations"`
}

// TestChaosShortRun runs `procpool chaos` (issue 18) for a minute with a
// fixed seed, as CI does: a 3-node cluster of broker processes, two worker
// hosts (in network namespaces when the test runs as root with ip(8)),
// two callers, and the nemesis. It asserts that the run checked real work
// under real faults (tasks, executions, queue items, pipes, faults of
// several kinds) and that the history holds no violation. A failure prints
// the summary and the seed that replays it.
func TestChaosShortRun(t *testing.T) {
	needProcFS(t)
	bin := buildBinaries(t)
	const seed = "18"
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	// The run's directory (history, every process's log) outlives a
	// failed test, for whoever reads the failure.
	dir, err := os.MkdirTemp("", "procpool-chaos-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the run's history and logs are kept in %s", dir)
		} else {
			os.RemoveAll(dir)
		}
	})
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin.procpool, "chaos", "--duration", "60s", "--seed", seed, "--json",
		"--worker", bin.worker, "--dir", dir)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.SysProcAttr = testProcAttr()
	err = cmd.Run()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var rep chaosReport
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); jerr != nil {
		t.Fatalf("procpool chaos: %v; no JSON report on its last line (%v):\n%s\n%s", err, jerr, out.String(), tail(errOut.String(), 60))
	}
	t.Logf("procpool chaos --seed %s:\n%s", seed, strings.Join(lines[:len(lines)-1], "\n"))
	if len(rep.Violations) > 0 {
		t.Fatalf("%d violations (replay: procpool chaos --duration 60s --seed %s):\n%v\nlog:\n%s", len(rep.Violations), seed, rep.Violations, tail(errOut.String(), 80))
	}
	if err != nil {
		t.Fatalf("procpool chaos exited %v with no violation reported:\n%s", err, tail(errOut.String(), 60))
	}
	if rep.Violations == nil {
		t.Fatal(`the JSON report has no "violations" list`)
	}
	if rep.Seed != 18 || rep.Tasks < 100 || rep.Executions < 50 || rep.Outcomes["ok"] < 50 || rep.QueuePut < 50 || rep.Pipes < 2 {
		t.Fatalf("too little work checked: %+v", rep)
	}
	if rep.Faults < 10 || len(rep.FaultsByKind) < 4 {
		t.Fatalf("too few faults: %d of %d kinds (%v)", rep.Faults, len(rep.FaultsByKind), rep.FaultsByKind)
	}
	if !rep.Netns {
		if len(rep.Skipped) == 0 {
			t.Fatal("no network namespaces, and the report does not say what it skipped")
		}
		t.Logf("skipped: %v", rep.Skipped)
	}
}
