// Command procpool-worker is the standalone worker of a procpool pool: it
// connects to a NATS server or cluster, supervises --processes worker
// processes (re-executions of itself, one per CPU by default, replaced when
// they die, exactly as a local pool does) and serves the pool's tasks until
// it is stopped. A first SIGINT or SIGTERM stops it gracefully (each worker
// process finishes the task in hand, for at most --stop-timeout, 7s by
// default: the command is gone within 8s whatever the state of its
// brokers); a second stops it at once.
//
//	PROCPOOL_TOKEN=s3cret procpool-worker --url nats://10.0.0.1:4222,nats://10.0.0.2:4222 --pool default
//
// Credentials come from the environment (PROCPOOL_TOKEN, or PROCPOOL_USER
// and PROCPOOL_PASSWORD) or the URL (nats://TOKEN@host:4222), never from
// flags, so that they do not show in the process list (a --url that
// carries them earns a warning). They leave the environment before any
// worker process starts: worker processes get them over stdin, and task
// code finds none.
//
// It serves procpool's built-in tasks (upper-case, square, echo, sleep,
// sha256 of bytes, a CPU-bound count of primes, whoami, crash-once), for
// trying a cluster with `procpool demo --processes 0`.
//
// # A template for your own worker binary
//
// A worker binary is a main that registers its tasks (package-level
// worker.Register calls, here those of internal/builtin, linked in by the
// blank import) and calls one function, worker.Run:
//
//	var Resize = worker.Register("thumbs.resize", func(ctx context.Context, img []byte) ([]byte, error) { ... })
//
//	func main() {
//		worker.Main() // first: the worker processes are re-executions of this binary
//		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//		defer stop()
//		cfg := worker.Config{URL: os.Getenv("PROCPOOL_URL"), Token: os.Getenv("PROCPOOL_TOKEN"), Pool: "thumbs"}
//		if err := worker.Run(ctx, cfg, runtime.NumCPU()); err != nil {
//			log.Fatal(err)
//		}
//	}
//
// Callers name the same task with worker.Ref[[]byte, []byte]("thumbs.resize")
// (or share the package that registers it) and submit to a pool made with
// pool.WithBroker and pool.WithName("thumbs"). This file's run adds flags,
// environment fallbacks, a retry while the broker is not up yet, and the
// two-signal stop. See docs/cluster.md.
package main

import (
	"os"

	_ "github.com/procpool/procpool/internal/builtin" // the tasks this worker serves
	"github.com/procpool/procpool/worker"
)

func main() {
	worker.Main() // the worker processes are re-executions of this binary
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
