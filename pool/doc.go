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
//
// Beyond the pool, the rest of Python's multiprocessing:
//
//   - Callbacks: ApplyAsync(...).Then(onValue, onError) is
//     apply_async(callback=, error_callback=); MapAsync is map_async. The
//     callback runs on a goroutine of its own, never on the one that routes
//     results, so it may block.
//   - Process: Start(ctx, p, task, arg) spawns one fresh worker process
//     for one call (Python's Process); PID, IsAlive, ExitCode, Terminate,
//     Kill as in Python, and Join returns the call's result, which
//     Python's Process cannot. It runs the OnStart initializer too.
//   - Queue: NewQueue[T](ctx, nc, name) creates or opens a named queue on a
//     JetStream work-queue stream, from the parent (p.Conn()) or inside a
//     task (worker.Conn(ctx)), on any host: Put, Get, GetTimeout, Len,
//     Empty, Delete. FIFO per producer; an item a dead getter held comes
//     back. See Queue for how packing items into shared messages bounds
//     what a dying getter can see twice.
//   - Pipe: NewPipe[T](ctx, nc) returns two connected ends; hand one to a
//     task by its Name, which opens it with OpenPipe. Send, Recv (io.EOF
//     after the other end closed), Poll, Close; nothing sent before the
//     reader attaches is lost.
//
// For example:
//
//	pr, err := pool.Start(ctx, p, upper, "bob")
//	v, err := pr.Join(ctx) // "BOB"; pr.ExitCode() == 0
//	pool.ApplyAsync(ctx, p, upper, "kel").Then(func(s string) { fmt.Println(s) }, nil)
//
// examples/ holds the five Python programs that motivated procpool, ported.
package pool
