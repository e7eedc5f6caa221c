package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/procpool/procpool/internal/chaos"
)

const chaosUsage = `Usage: procpool chaos --duration D --seed S [--json] [flags]

Starts a 3-node broker cluster (procpool broker processes, file store,
R3 streams, authenticated routes), two worker hosts (procpool-worker
processes, each in a network namespace of its own when run as root with
ip(8); otherwise on loopback, without partitions, and it says so) and
caller processes (this binary, re-executed as 'procpool chaos caller')
running Map, IMap with an early break, ApplyAsync with Get timeouts and
cancellations, large values, pipes and a queue shared between them. For D,
a nemesis driven by S kills, pauses, restarts and partitions brokers (one
of three at a time), worker processes, worker hosts and callers; with
--lossy, it also makes links drop a share of their packets, or all they
receive (a one-way partition). Then it
checks the history: one outcome per task, executions within MaxAttempts
and repeated only around a fault, every queue item got, recovery within a
bound, worker hosts that stop within their bound, no process left behind.
It prints a summary and exits 1 on any violation; with --json the last
line is the report as one JSON object (tasks, faults, violations, seed...).

Flags:
`

func runChaos(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "caller" { // a caller process of a run
		if err := chaos.RunCaller(ctx, args[1:]); err != nil {
			fmt.Fprintln(stderr, "procpool chaos caller:", err)
			return 1
		}
		return 0
	}
	fs := flag.NewFlagSet("procpool chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), chaosUsage)
		fs.PrintDefaults()
	}
	var cfg chaos.Config
	fs.DurationVar(&cfg.Duration, "duration", 0, "how long the nemesis applies faults (required)")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "the seed of the faults and the workload; the same seed replays the same choices")
	fs.IntVar(&cfg.Processes, "processes", 2, "worker processes per worker host")
	fs.IntVar(&cfg.Callers, "callers", 2, "caller processes")
	fs.StringVar(&cfg.Worker, "worker", "", "the procpool-worker `binary` (default: beside this one, else on PATH)")
	fs.StringVar(&cfg.Dir, "dir", "", "keep the run's stores, logs and history in this existing `directory` (default: a temporary one, kept only when a violation is found)")
	fs.BoolVar(&cfg.NoNetns, "no-netns", false, "stay on loopback even where network namespaces are available")
	fs.BoolVar(&cfg.Lossy, "lossy", false, "add lossy links and one-way partitions to the faults (needs network namespaces and nft)")
	fs.DurationVar(&cfg.RecoveryBound, "recovery-bound", 2*time.Minute, "how long the system may take to recover once the nemesis stops")
	asJSON := fs.Bool("json", false, "print the report as one JSON object on the last line")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "procpool chaos: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if cfg.Duration <= 0 {
		fmt.Fprintln(stderr, "procpool chaos: --duration is required (e.g. --duration 5m)")
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "procpool chaos:", err)
		return 1
	}
	cfg.Procpool = exe
	if cfg.Worker == "" {
		cfg.Worker = filepath.Join(filepath.Dir(exe), "procpool-worker")
		if _, err := os.Stat(cfg.Worker); err != nil {
			if cfg.Worker, err = exec.LookPath("procpool-worker"); err != nil {
				fmt.Fprintln(stderr, "procpool chaos: no procpool-worker beside this binary or on PATH; give --worker")
				return 2
			}
		}
	}
	cfg.Log = stderr
	rep, err := chaos.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "procpool chaos:", err)
		return 1
	}
	printChaos(stdout, rep)
	if *asJSON {
		if rep.Violations == nil {
			rep.Violations = []chaos.Violation{}
		}
		b, _ := json.Marshal(rep)
		fmt.Fprintln(stdout, string(b))
	}
	if len(rep.Violations) > 0 {
		return 1
	}
	return 0
}

// printChaos is the human summary of a run.
func printChaos(w io.Writer, rep *chaos.Report) {
	fmt.Fprintf(w, "chaos run, seed %d, nemesis for %s, network namespaces: %v, lossy links: %v\n", rep.Seed, rep.Duration, rep.Netns, rep.Lossy)
	for _, s := range rep.Skipped {
		fmt.Fprintln(w, "  skipped:", s)
	}
	fmt.Fprintf(w, "  tasks %d, outcomes %s\n", rep.Tasks, counts(rep.Outcomes))
	fmt.Fprintf(w, "  executions %d, tasks executed more than once %d\n", rep.Executions, rep.Retried)
	fmt.Fprintf(w, "  faults %d: %s\n", rep.Faults, counts(rep.FaultsByKind))
	fmt.Fprintf(w, "  queue: %d items put, %d gets, %d items got more than once; %d pipe rounds\n", rep.QueuePut, rep.QueueGot, rep.QueueDuplicates, rep.Pipes)
	fmt.Fprintf(w, "  recovery %s after the nemesis stopped and the callers finished; slowest worker host stop %s\n", rep.Recovery.Round(time.Millisecond), rep.MaxHostStop.Round(time.Millisecond))
	if len(rep.Violations) == 0 {
		fmt.Fprintln(w, "  no violation")
		return
	}
	fmt.Fprintf(w, "  %d VIOLATIONS (replay: procpool chaos --duration %s --seed %d; history in %s):\n", len(rep.Violations), rep.Duration, rep.Seed, rep.Dir)
	for i, v := range rep.Violations {
		if i == 50 {
			fmt.Fprintf(w, "    ... and %d more\n", len(rep.Violations)-i)
			break
		}
		fmt.Fprintln(w, "   ", v)
	}
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
