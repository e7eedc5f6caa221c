//go:build linux

package chaos

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/pool"
)

// callBound is the most any one call of the workload may take, chaos and
// all; a call that outlives it is recorded as a hang (a violation).
const callBound = 2 * time.Minute

// queueName is the queue the callers share: each puts items and gets
// items, so items cross processes.
const queueName = "chaos"

// RunCaller is a caller process (`procpool chaos caller`): it runs the
// mixed workload (Map, IMap with an early break, ApplyAsync with Get
// timeouts and cancellations, large values, a pipe, and a queue shared
// with the other callers) until ctx ends, recording every submission and
// outcome in <dir>/caller-<id>.jsonl. SIGUSR1 makes it cut its connection
// (a forced reconnect). When ctx ends it finishes the call in hand,
// flushes and closes, records "exit" and returns.
func RunCaller(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("procpool chaos caller", flag.ContinueOnError)
	dir := fs.String("dir", "", "the run's `directory`")
	id := fs.String("id", "", "caller incarnation `id`")
	urls := fs.String("urls", "", "broker `URLs`")
	seed := fs.Uint64("seed", 0, "the run's seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *id == "" || *urls == "" {
		return errors.New("chaos caller: --dir, --id and --urls are required")
	}
	token := os.Getenv("PROCPOOL_TOKEN")
	rec, err := newRecorder(filepath.Join(*dir, "caller-"+*id+".jsonl"), *id)
	if err != nil {
		return err
	}
	defer rec.close()
	work := context.WithoutCancel(ctx) // calls in flight finish after ctx ends
	startCtx, cancel := context.WithTimeout(work, 3*time.Minute)
	p, err := pool.New(startCtx, pool.WithBroker(*urls), pool.WithToken(token), pool.WithName(poolName),
		pool.WithProcesses(0), pool.WithFileStore(""), pool.WithMaxAttempts(MaxAttempts))
	cancel()
	if err != nil {
		return fmt.Errorf("chaos caller %s: %w", *id, err)
	}
	h := fnv.New64a()
	_, _ = io.WriteString(h, *id)
	c := &caller{id: *id, rec: rec, p: p, rnd: rand.New(rand.NewPCG(*seed, h.Sum64())), execDir: filepath.Join(*dir, "exec")}
	rec.add(Event{Ev: evStart})

	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	go func() {
		for range usr1 {
			rec.add(Event{Ev: evConnCut})
			_ = p.Conn().ForceReconnect()
		}
	}()

	var wg sync.WaitGroup
	qctx, stopQueue := context.WithCancel(work)
	octx, ocancel := context.WithTimeout(work, time.Minute)
	q, qerr := pool.NewQueue[string](octx, p.Conn(), queueName, pool.WithFileStorage(), pool.WithQueueReplicas(3))
	ocancel()
	if qerr == nil {
		seed := c.rnd.Uint64()
		wg.Go(func() { c.producer(qctx, q, seed) })
		wg.Go(func() { c.consumer(qctx, q) })
	} else {
		rec.add(Event{Ev: evQPutErr, Err: "open queue: " + qerr.Error()})
	}
	for round := 0; ctx.Err() == nil; round++ {
		switch round % 5 {
		case 0:
			c.doMap(work)
		case 1:
			c.doIMap(work)
		case 2:
			c.doApplyAsync(work)
		case 3:
			c.doLarge(work)
		case 4:
			c.doPipe(work)
		}
	}
	stopQueue()
	wg.Wait()
	if qerr == nil {
		_ = q.Close() // hands back the items it holds and has not returned
	}
	sctx, cancel := context.WithTimeout(work, 30*time.Second)
	defer cancel()
	err = p.Shutdown(sctx)
	rec.add(Event{Ev: evExit})
	return err
}

// caller is one caller process's workload.
type caller struct {
	id      string
	rec     *recorder
	p       *pool.Pool
	rnd     *rand.Rand // used by the round loop's goroutine only
	execDir string
	seq     int
}

func (c *caller) key(call string) string {
	c.seq++
	return fmt.Sprintf("%s-%s%d", c.id, call, c.seq)
}

func (c *caller) arg(key string, maxSleep time.Duration) builtin.ChaosArg {
	return builtin.ChaosArg{Key: key, Log: c.execDir, Sleep: time.Duration(c.rnd.Int64N(int64(maxSleep) + 1))}
}

func (c *caller) submit(key, call string) { c.rec.add(Event{Ev: evSubmit, Key: key, Call: call}) }

func (c *caller) outcome(key, call, kind string, err error) {
	e := Event{Ev: evOutcome, Key: key, Call: call, Kind: kind}
	if err != nil {
		e.Err = err.Error()
	}
	c.rec.add(e)
}

// kindOf names an outcome by its typed error.
func kindOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, pool.ErrWorkerLost):
		return "worker_lost"
	case errors.Is(err, pool.ErrTimeout):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return kindHang // only callBound sets deadlines on calls
	case errors.Is(err, pool.ErrClosed):
		return "closed"
	case errors.Is(err, pool.ErrBadInput):
		return "bad_input"
	case errors.Is(err, pool.ErrBadOutput):
		return "bad_output"
	case errors.Is(err, pool.ErrTaskFailed):
		return "task_failed"
	case errors.Is(err, pool.ErrUnavailable):
		return "unavailable"
	default:
		return "untyped"
	}
}

// checkResult is "ok" if r is key's own result, else kindWrong.
func checkResult(r builtin.ChaosResult, a builtin.ChaosArg) string {
	if r.Key != a.Key || r.Sum != builtin.ChaosSum(a.Pad) || a.Echo && string(r.Pad) != string(a.Pad) {
		return kindWrong
	}
	return "ok"
}

func (c *caller) doMap(ctx context.Context) {
	n := 8 + c.rnd.IntN(9)
	args := make([]builtin.ChaosArg, n)
	for i := range args {
		args[i] = c.arg(c.key("m"), 30*time.Millisecond)
		c.submit(args[i].Key, "map")
	}
	ctx, cancel := context.WithTimeout(ctx, callBound)
	defer cancel()
	res, err := pool.Map(ctx, c.p, builtin.Chaos, args, pool.WithChunksize(1+c.rnd.IntN(3)))
	for i, a := range args {
		if err != nil {
			c.outcome(a.Key, "map", kindOf(err), err)
		} else {
			c.outcome(a.Key, "map", checkResult(res[i], a), nil)
		}
	}
}

func (c *caller) doIMap(ctx context.Context) {
	n, stopAt := 20, 3+c.rnd.IntN(8)
	var args []builtin.ChaosArg
	items := func(yield func(builtin.ChaosArg) bool) {
		for range n {
			a := c.arg(c.key("i"), 30*time.Millisecond)
			args = append(args, a)
			c.submit(a.Key, "imap")
			if !yield(a) {
				return
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, callBound)
	defer cancel()
	got, broke := 0, false
	var last error
	for r, err := range pool.IMap(ctx, c.p, builtin.Chaos, items) {
		a := args[got]
		if err != nil {
			c.outcome(a.Key, "imap", kindOf(err), err)
			last = err
		} else {
			c.outcome(a.Key, "imap", checkResult(r, a), nil)
		}
		got++
		if got == stopAt {
			broke = true
			break
		}
	}
	for _, a := range args[got:] {
		switch {
		case broke:
			c.outcome(a.Key, "imap", "abandoned", nil) // the caller broke out of the loop
		case last != nil:
			c.outcome(a.Key, "imap", kindOf(last), last)
		default:
			c.outcome(a.Key, "imap", "missing", errors.New("IMap ended without its result or an error"))
		}
	}
}

func (c *caller) doApplyAsync(ctx context.Context) {
	for range 4 {
		a := c.arg(c.key("a"), 1500*time.Millisecond)
		c.submit(a.Key, "apply_async")
		actx, acancel := context.WithCancel(ctx)
		ar := pool.ApplyAsync(actx, c.p, builtin.Chaos, a)
		r, err := ar.Get(time.Duration(100+c.rnd.IntN(1400)) * time.Millisecond)
		if errors.Is(err, pool.ErrTimeout) {
			if c.rnd.IntN(2) == 0 {
				acancel() // the caller gives up on it
			}
			wctx, wcancel := context.WithTimeout(ctx, callBound)
			r, err = ar.Wait(wctx)
			wcancel()
		}
		acancel()
		if err != nil {
			c.outcome(a.Key, "apply_async", kindOf(err), err)
		} else {
			c.outcome(a.Key, "apply_async", checkResult(r, a), nil)
		}
	}
}

// doLarge sends an argument above the inline limit (through the brokers'
// bucket), and sometimes asks for it back as the result.
func (c *caller) doLarge(ctx context.Context) {
	a := c.arg(c.key("l"), 10*time.Millisecond)
	a.Pad = make([]byte, 300<<10+c.rnd.IntN(200<<10))
	for i := range a.Pad {
		a.Pad[i] = byte(c.rnd.Uint32())
	}
	a.Echo = c.rnd.IntN(2) == 0
	c.submit(a.Key, "large")
	ctx, cancel := context.WithTimeout(ctx, callBound)
	defer cancel()
	r, err := pool.Apply(ctx, c.p, builtin.Chaos, a)
	if err != nil {
		c.outcome(a.Key, "large", kindOf(err), err)
		return
	}
	c.outcome(a.Key, "large", checkResult(r, a), nil)
}

// doPipe sends ten values from one end of a new pipe to the other (both
// ends in this process, each with its own goroutine) and records what was
// sent and received; the checker wants them in order, each once.
func (c *caller) doPipe(ctx context.Context) {
	name := c.key("p")
	ctx, cancel := context.WithTimeout(ctx, callBound)
	defer cancel()
	a, b, err := pool.NewPipe[string](ctx, c.p.Conn())
	if err != nil {
		c.rec.add(Event{Ev: evPipeDone, Call: name, Kind: kindOf(err), Err: err.Error()})
		return
	}
	const n = 10
	recvErr := make(chan error, 1)
	go func() {
		for range n {
			v, err := b.Recv(ctx)
			if err != nil {
				recvErr <- err
				return
			}
			c.rec.add(Event{Ev: evPipeRecv, Call: name, Key: v})
		}
		recvErr <- nil
	}()
	var sendErr error
	for i := range n {
		v := fmt.Sprintf("%s.%02d", name, i)
		c.rec.add(Event{Ev: evPipeSend, Call: name, Key: v})
		if sendErr = a.Send(ctx, v); sendErr != nil {
			break
		}
	}
	if sendErr == nil {
		sendErr = a.Flush(ctx)
	}
	if sendErr != nil {
		cancel() // the receiver waits for values that will not come
	}
	err = errors.Join(sendErr, <-recvErr)
	e := Event{Ev: evPipeDone, Call: name, Kind: kindOf(err)}
	if err != nil {
		e.Err = err.Error()
	}
	c.rec.add(e)
	_ = a.Close()
	_ = b.Close()
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	_ = pool.DeletePipe(dctx, c.p.Conn(), a.Name())
	dcancel()
}

// producer puts items into the shared queue in small batches, each batch
// confirmed by Flush: an item is recorded put ("qput-ok") once the broker
// acknowledged it, so only those must come out again.
func (c *caller) producer(ctx context.Context, q *pool.Queue[string], seed uint64) {
	rnd := rand.New(rand.NewPCG(seed, 1))
	seq := 0
	for ctx.Err() == nil {
		var batch []string
		for range 1 + rnd.IntN(5) {
			seq++
			k := fmt.Sprintf("%s-q%d", c.id, seq)
			c.rec.add(Event{Ev: evQPutTry, Key: k})
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := q.Put(pctx, k)
			cancel()
			if err != nil {
				c.rec.add(Event{Ev: evQPutErr, Key: k, Err: err.Error()})
				break
			}
			batch = append(batch, k)
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := q.Flush(fctx)
		cancel()
		for _, k := range batch {
			if err != nil {
				c.rec.add(Event{Ev: evQPutErr, Key: k, Err: err.Error()})
			} else {
				c.rec.add(Event{Ev: evQPutOK, Key: k})
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(20+rnd.IntN(200)) * time.Millisecond):
		}
	}
}

// consumer gets items from the shared queue until ctx ends.
func (c *caller) consumer(ctx context.Context, q *pool.Queue[string]) {
	for ctx.Err() == nil {
		v, err := q.GetTimeout(ctx, 500*time.Millisecond)
		if err == nil {
			c.rec.add(Event{Ev: evQGot, Key: v})
		} else if !errors.Is(err, pool.ErrQueueEmpty) && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond) // a broker fault: try again
		}
	}
}
