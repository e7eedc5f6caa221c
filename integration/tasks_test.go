package integration

import (
	"context"
	"os"
	"time"

	"github.com/procpool/procpool/worker"
)

// probe is the argument of the instrumented tasks.
type probe struct {
	Log  string // execution log path
	N    int
	Wait time.Duration
}

// outcome is what instrumented tasks return: who ran them.
type outcome struct {
	N       int
	PID     int
	Attempt int
}

func done(ctx context.Context, a probe) outcome {
	i := worker.Current(ctx)
	return outcome{N: a.N * 2, PID: i.PID, Attempt: i.Attempt}
}

var (
	// quick records and doubles N.
	quick = worker.Register("it.quick", func(ctx context.Context, a probe) (outcome, error) {
		execLog{a.Log}.record(ctx)
		return done(ctx, a), nil
	})
	// blockFirst blocks its first attempt until its worker is killed.
	blockFirst = worker.Register("it.block-first", func(ctx context.Context, a probe) (outcome, error) {
		execLog{a.Log}.record(ctx)
		if worker.Current(ctx).Attempt == 1 {
			select {}
		}
		return done(ctx, a), nil
	})
	// exitFirst calls os.Exit on its first attempt.
	exitFirst = worker.Register("it.exit-first", func(ctx context.Context, a probe) (outcome, error) {
		execLog{a.Log}.record(ctx)
		if worker.Current(ctx).Attempt == 1 {
			os.Exit(1)
		}
		return done(ctx, a), nil
	})
	// hang ignores its context forever.
	hang = worker.Register("it.hang", func(ctx context.Context, a probe) (outcome, error) {
		execLog{a.Log}.record(ctx)
		select {}
	})
	// sleepy sleeps a.Wait, honouring ctx.
	sleepy = worker.Register("it.sleep", func(ctx context.Context, a probe) (outcome, error) {
		execLog{a.Log}.record(ctx)
		select {
		case <-time.After(a.Wait):
			return done(ctx, a), nil
		case <-ctx.Done():
			return outcome{}, ctx.Err()
		}
	})
	// stallFirst sleeps a.Wait on its first attempt (not watching ctx),
	// then returns; later attempts return at once.
	stallFirst = worker.Register("it.stall-first", func(ctx context.Context, a probe) (outcome, error) {
		execLog{a.Log}.record(ctx)
		if worker.Current(ctx).Attempt == 1 {
			time.Sleep(a.Wait)
		}
		return done(ctx, a), nil
	})
	// poison kills every worker that runs it.
	poison = worker.Register("it.poison", func(ctx context.Context, a probe) (outcome, error) {
		execLog{a.Log}.record(ctx)
		os.Exit(7)
		return outcome{}, nil
	})
	// failOrPanic returns an error for even N and panics for odd N.
	failOrPanic = worker.Register("it.fail-or-panic", func(ctx context.Context, a probe) (outcome, error) {
		execLog{a.Log}.record(ctx)
		if a.N%2 == 1 {
			panic("odd input")
		}
		return outcome{}, errInput
	})
)

var errInput = errorString("even input")

type errorString string

func (e errorString) Error() string { return string(e) }
