package integration

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/pool"
)

// Row 8: an argument or a result larger than the broker's max payload
// fails at once with a typed error naming the size and the limit; never a
// timeout. (No transparent Object Store offload: see docs/reliability.md.)

const smallPayload = 64 << 10

func TestRow08OversizedPayloads(t *testing.T) {
	b := startBroker(t, broker.Config{MaxPayload: smallPayload})
	p := externalPool(t, b.ClientURL(), b.User(), b.Password(), pool.WithProcesses(2))
	pids := workerPIDs(p)
	ctx := testCtx(t, 30*time.Second)

	// A call that could never succeed must not wait for ctx: bound each
	// check well below the test's context.
	quickly := func(t *testing.T, what string, start time.Time) {
		t.Helper()
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("%s took %s: must fail at once", what, d)
		}
	}
	mentions := func(t *testing.T, err error, sizes ...int) {
		t.Helper()
		for _, n := range sizes {
			if !strings.Contains(err.Error(), fmt.Sprint(n)) {
				t.Fatalf("error %q does not name %d", err, n)
			}
		}
	}

	t.Run("argument/Apply", func(t *testing.T) {
		start := time.Now()
		_, err := pool.Apply(ctx, p, size, make([]byte, 100_000))
		quickly(t, "oversized Apply", start)
		if !errors.Is(err, pool.ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
		mentions(t, err, 100_000)
		if !strings.Contains(err.Error(), "limit") {
			t.Fatalf("error %q does not name the limit", err)
		}
	})
	t.Run("argument/Map item", func(t *testing.T) {
		items := [][]byte{make([]byte, 10), make([]byte, 200_000), make([]byte, 10)}
		start := time.Now()
		_, err := pool.Map(ctx, p, size, items, pool.WithChunksize(1))
		quickly(t, "Map with an oversized item", start)
		if !errors.Is(err, pool.ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
		mentions(t, err, 200_000)
	})
	t.Run("argument/Map chunk", func(t *testing.T) {
		// Every item fits, their chunk does not.
		items := make([][]byte, 10)
		for i := range items {
			items[i] = make([]byte, 20_000)
		}
		start := time.Now()
		_, err := pool.Map(ctx, p, size, items, pool.WithChunksize(10))
		quickly(t, "Map with an oversized chunk", start)
		if !errors.Is(err, pool.ErrTooLarge) || !strings.Contains(err.Error(), "WithChunksize") {
			t.Fatalf("err = %v, want ErrTooLarge advising a smaller chunk size", err)
		}
		mentions(t, err, 10)
	})
	t.Run("result", func(t *testing.T) {
		start := time.Now()
		_, err := pool.Apply(ctx, p, bigResult, 100_000)
		quickly(t, "oversized result", start)
		var te *pool.TaskError
		if !errors.As(err, &te) || te.Code != "bad_output" || !errors.Is(err, pool.ErrBadOutput) {
			t.Fatalf("err = %#v, want a *TaskError with code bad_output", err)
		}
		mentions(t, err, smallPayload)
		if !strings.Contains(te.Message, "bytes") {
			t.Fatalf("message %q does not give the result's size", te.Message)
		}
	})
	t.Run("result in a Map", func(t *testing.T) {
		start := time.Now()
		_, err := pool.Map(ctx, p, bigResult, []int{10, 100_000, 10}, pool.WithChunksize(1))
		quickly(t, "Map with an oversized result", start)
		var te *pool.TaskError
		if !errors.As(err, &te) || !errors.Is(err, pool.ErrBadOutput) || te.Index != 1 {
			t.Fatalf("err = %#v, want bad_output at index 1", err)
		}
	})
	t.Run("what fits still works", func(t *testing.T) {
		n, err := pool.Apply(ctx, p, size, make([]byte, smallPayload-8<<10))
		if err != nil || n != smallPayload-8<<10 {
			t.Fatalf("Apply just under the limit: %d, %v", n, err)
		}
		s, err := pool.Apply(ctx, p, bigResult, smallPayload-8<<10)
		if err != nil || len(s) != smallPayload-8<<10 {
			t.Fatalf("result just under the limit: %d bytes, %v", len(s), err)
		}
	})
	// I4: no worker died or was replaced, nothing is left pending.
	if now := workerPIDs(p); !slices.Equal(now, pids) {
		t.Fatalf("workers %v became %v", pids, now)
	}
	if st := p.Stats(); st.Pending != 0 || st.WorkersLost != 0 {
		t.Fatalf("stats after row 8: %+v", st)
	}
}
