// Package pool is procpool's SDK: Python's multiprocessing.Pool for Go,
// built on NATS.
//
// A Pool is a set of worker OS processes (one per CPU by default) that run
// tasks registered with package worker. New starts an embedded NATS broker
// on loopback, the pool's JetStream task stream, and the workers, which
// are re-executions of the program's own binary: main must call
// worker.Main() first.
//
//	var upper = worker.Register("upper", func(ctx context.Context, s string) (string, error) {
//		return strings.ToUpper(s), nil
//	})
//
//	func main() {
//		worker.Main() // a spawned worker serves here and never returns
//		ctx := context.Background()
//		p, err := pool.New(ctx) // one worker process per CPU
//		if err != nil { log.Fatal(err) }
//		defer p.Close()
//		out, err := pool.Map(ctx, p, upper, []string{"a", "b"}) // ["A" "B"]
//	}
//
// The calls mirror Python's: Apply and ApplyAsync (an *AsyncResult with
// Get(timeout), Wait, Ready, Successful, Done), Map, IMap and
// IMapUnordered over an iter.Seq with WithChunksize. Arguments and results
// travel as JSON ([]byte passes through unencoded).
//
// Delivery: every task is executed at least once and its caller sees
// exactly one result. A worker that dies mid-task (SIGKILL, os.Exit, a
// crash in cgo) is replaced and its task runs again on another worker;
// after WithMaxAttempts such deaths the task fails with ErrWorkerLost. A
// task past WithTaskTimeout that ignores its context gets ErrTimeout and
// its worker is replaced. Tasks should therefore be idempotent. A task's
// own error or panic comes back as a *TaskError, matched by errors.Is
// against ErrTaskFailed, ErrPanic, ErrTimeout and the other sentinels.
//
// The same program scales out: WithBroker points the pool at a NATS
// cluster where remote workers (cmd/procpool-worker) serve the same pool
// name, and WithProcesses(0) leaves all the work to them.
package pool
