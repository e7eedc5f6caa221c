package pool_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

// oddFails fails for odd numbers.
var oddFails = worker.Register("test.odd-fails", func(ctx context.Context, n int) (int, error) {
	if n%2 == 1 {
		return 0, fmt.Errorf("odd %d", n)
	}
	return n, nil
})

// progressLog records Progress reports and fails the test if two overlap
// or Done goes backwards.
type progressLog struct {
	t     *testing.T
	in    atomic.Bool
	calls []pool.Progress
}

func (l *progressLog) fn(p pool.Progress) {
	if l.in.Swap(true) {
		l.t.Errorf("progress callback called concurrently with itself")
	}
	defer l.in.Store(false)
	if n := len(l.calls); n > 0 && (p.Done < l.calls[n-1].Done || p.Failed < l.calls[n-1].Failed) {
		l.t.Errorf("progress went backwards: %+v after %+v", p, l.calls[n-1])
	}
	if p.Failed > p.Done || (p.Total >= 0 && p.Done > p.Total) {
		l.t.Errorf("inconsistent progress %+v", p)
	}
	l.calls = append(l.calls, p)
}

func (l *progressLog) last() pool.Progress {
	l.t.Helper()
	if len(l.calls) == 0 {
		l.t.Fatal("progress callback never called")
	}
	return l.calls[len(l.calls)-1]
}

func ints(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestProgress(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 60*time.Second)
	tests := []struct {
		name string
		run  func(fn func(pool.Progress)) error
		want pool.Progress
	}{
		{"Map", func(fn func(pool.Progress)) error {
			out, err := pool.Map(ctx, p, square, ints(100), pool.WithChunksize(7), pool.WithProgress(fn))
			if err == nil && out[99] != 99*99 {
				err = fmt.Errorf("map: out[99] = %d", out[99])
			}
			return err
		}, pool.Progress{Done: 100, Total: 100}},
		{"Map empty", func(fn func(pool.Progress)) error {
			_, err := pool.Map(ctx, p, square, nil, pool.WithProgress(fn))
			return err
		}, pool.Progress{}},
		{"Map failing", func(fn func(pool.Progress)) error {
			_, err := pool.Map(ctx, p, oddFails, []int{0, 2, 3}, pool.WithChunksize(1), pool.WithProgress(fn))
			if err == nil {
				return errors.New("map of a failing item succeeded")
			}
			return nil
		}, pool.Progress{}}, // checked below: stops at the failure
		{"IMap", func(fn func(pool.Progress)) error {
			n := 0
			for v, err := range pool.IMap(ctx, p, square, slices.Values(ints(50)), pool.WithChunksize(3), pool.WithProgress(fn)) {
				if err != nil || v != n*n {
					return fmt.Errorf("imap item %d: %d, %v", n, v, err)
				}
				n++
			}
			return nil
		}, pool.Progress{Done: 50, Total: 50}},
		{"IMapUnordered with failures", func(fn func(pool.Progress)) error {
			failed := 0
			for _, err := range pool.IMapUnordered(ctx, p, oddFails, slices.Values(ints(40)), pool.WithProgress(fn)) {
				if err != nil {
					failed++
				}
			}
			if failed != 20 {
				return fmt.Errorf("%d items failed, want 20", failed)
			}
			return nil
		}, pool.Progress{Done: 40, Total: 40, Failed: 20}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &progressLog{t: t}
			if err := tc.run(l.fn); err != nil {
				t.Fatal(err)
			}
			last := l.last()
			if tc.name == "Map failing" {
				if last.Total != 3 || last.Failed != 1 || last.Done < 1 {
					t.Fatalf("last progress %+v, want 1 failed of 3", last)
				}
				return
			}
			if last != tc.want {
				t.Fatalf("last progress %+v, want %+v (%d calls)", last, tc.want, len(l.calls))
			}
			for i := 1; i < len(l.calls); i++ {
				if l.calls[i] == l.calls[i-1] {
					t.Fatalf("progress %+v reported twice in a row", l.calls[i])
				}
			}
			if tc.want.Total > 0 && last.Done != last.Total {
				t.Fatalf("last progress %+v: Done != Total", last)
			}
		})
	}
}

func TestProgressNil(t *testing.T) {
	p := newPool(t, pool.WithProcesses(1))
	_, err := pool.Map(testutil.Ctx(t, 10*time.Second), p, square, []int{1}, pool.WithProgress(nil))
	if !errors.Is(err, pool.ErrInvalidOption) {
		t.Fatalf("WithProgress(nil): %v, want ErrInvalidOption", err)
	}
}
