// Command procpool is procpool's command line: a demo of the pool, a broker
// node, a status view and the benchmark against Python's multiprocessing.
//
//	procpool demo            # the pool on an embedded broker, start to finish
//	procpool broker [flags]  # run one broker node (a NATS server with JetStream)
//	procpool bench [--json]  # the workloads of py_anchor.py, side by side
//	procpool status --url U  # a pool's workers, queue and throughput
//	procpool dashboard --url U  # the same, live in a browser
//	procpool chaos --duration D --seed S  # random faults on a cluster, every task checked
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sync/atomic"
	"syscall"

	_ "github.com/procpool/procpool/internal/builtin" // the tasks the demo runs
	"github.com/procpool/procpool/worker"
)

func main() {
	worker.Main() // a pool started by this binary re-executes it as its workers
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Usage: procpool <command> [flags]

Commands:
  demo      run the pool on an embedded broker (or --url) and show what it does
  broker    run one broker node: a NATS server with JetStream
  bench     the workloads of Python's py_anchor.py, for a side-by-side comparison
  status    a pool's workers, queue and throughput (--url, --pool; --json, --watch)
  dashboard a live web page of a pool's workers, calls and failures (--url, --pool|--all)
  chaos     a cluster, worker hosts and callers under random faults, then a check of every task (--duration, --seed)
  version   print the version

Run 'procpool <command> -h' for a command's flags.
`

// run maps a command line to an exit code. The first SIGINT or SIGTERM
// cancels the command's context (a graceful stop; a command whose work
// it cut short exits 130); a second exits 130 at once.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var interrupted atomic.Bool
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		fmt.Fprintln(stderr, "procpool: stopping (again to stop now)")
		interrupted.Store(true)
		cancel()
		if _, ok := <-sigs; ok {
			fmt.Fprintln(stderr, "procpool: stopped")
			os.Exit(130)
		}
	}()
	cmd, rest := args[0], args[1:]
	code := dispatch(ctx, cmd, rest, stdout, stderr)
	if code == 1 && interrupted.Load() {
		return 130 // work cut short by the signal, after a graceful stop
	}
	return code
}

// dispatch runs one command.
func dispatch(ctx context.Context, cmd string, rest []string, stdout, stderr io.Writer) int {
	switch cmd {
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "broker":
		return runBroker(ctx, rest, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "status":
		return runStatus(ctx, rest, stdout, stderr)
	case "dashboard":
		return runDashboard(ctx, rest, stdout, stderr)
	case "chaos":
		return runChaos(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "procpool", version())
		return 0
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "procpool: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

// version is the module version from the build info.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
