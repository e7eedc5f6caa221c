package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/procpool/procpool/internal/spawn"
)

// Exit codes of a worker process, for its supervisor.
const (
	ExitOK         = 0 // stopped on request or recycled after MaxTasksPerChild
	ExitError      = 1 // could not connect or serve
	ExitInitFailed = 4 // the OnStart initializer failed
)

// IsWorkerProcess reports whether this process was spawned as a worker, in
// which case Main does not return.
func IsWorkerProcess() bool { return os.Getenv(spawn.EnvMarker) != "" }

// Main turns this process into a worker if a pool spawned it as one, and
// never returns then; otherwise it returns at once. Call it as the first
// line of main, before flags are parsed or anything else runs: a pool
// re-executes the program's own binary to make its workers, as Python's
// multiprocessing does with `if __name__ == '__main__':`.
func Main() {
	if !IsWorkerProcess() {
		return
	}
	os.Exit(runChild())
}

// workerGOGC is a worker process's GOGC unless its environment sets one. A
// pool runs one worker per CPU, so a worker's idle heap room counts as many
// times over: 75 makes workers smaller at no measurable throughput or
// latency cost, where 50 costs throughput (figures in BENCHMARKS.md,
// Figures behind code comments).
const workerGOGC = 75

// setGCPercent applies workerGOGC, unless GOGC (inherited from the pool's
// environment) chooses.
func setGCPercent() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(workerGOGC)
	}
}

func runChild() int {
	defer startProfiles()() // profile.go
	in := takeStdin()       // parent.go
	cfg, err := spawn.ReadConfig(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "procpool worker:", err)
		return ExitError
	}
	stopAsked := watchParent(in) // exits the process when the parent is gone
	os.Unsetenv(spawn.EnvMarker) // programs a task starts are not workers
	if cfg.GOMAXPROCS > 0 {
		runtime.GOMAXPROCS(cfg.GOMAXPROCS)
	}
	setGCPercent()
	statusFD := cfg.StatusFD
	if statusFD == 0 {
		statusFD = spawn.StatusFD
	}
	noInherit(statusFD)
	status := os.NewFile(statusFD, "procpool-status")
	log := childLogger(cfg) // logging.go
	if cfg.Once != nil {
		return runOnce(cfg, status, log) // a pool.Start process: one call, then exit
	}

	// The supervisor sends SIGTERM (the stop line on Windows) to stop a
	// worker gracefully: finish the message in hand, take no more. SIGINT
	// from a terminal is the supervisor's to handle, not ours.
	signal.Ignore(os.Interrupt)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ctx, cancel := stopOn(ctx, stopAsked)
	defer cancel()

	err = Serve(ctx, Config{
		URL: cfg.URL, User: cfg.User, Password: cfg.Password, Token: cfg.Token,
		TLSCA: cfg.TLSCA, TLSCert: cfg.TLSCert, TLSKey: cfg.TLSKey,
		Pool: cfg.Pool, ID: cfg.ID, MaxTasksPerChild: cfg.MaxTasksPerChild,
		AckWait: cfg.AckWait, Logger: log, status: status, ppid: os.Getppid(),
		exitOnDisconnect: cfg.ExitOnDisconnect,
	})
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errInit):
		log.Error("worker initializer failed", "err", err, "worker", cfg.ID, "pid", os.Getpid())
		return ExitInitFailed
	default:
		log.Error("worker stopped", "err", err, "worker", cfg.ID, "pid", os.Getpid())
		return ExitError
	}
}
