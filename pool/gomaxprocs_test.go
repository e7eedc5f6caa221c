package pool_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/procpool/procpool/pool"
)

// Worker processes run Go code on one thread each unless told otherwise:
// the pool starts one per CPU.
func TestWorkerGOMAXPROCS(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []pool.Option
		want int
	}{
		{"default", nil, 1},
		{"three", []pool.Option{pool.WithWorkerGOMAXPROCS(3)}, 3},
		// A child inherits the environment, GOMAXPROCS included, so Go's
		// default there is this process's.
		{"Go's default", []pool.Option{pool.WithWorkerGOMAXPROCS(-1)}, runtime.GOMAXPROCS(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, append(tc.opts, pool.WithProcesses(2))...)
			ctx := testCtx(t, 20*time.Second)
			for range 4 {
				got, err := pool.Apply(ctx, p, gomaxprocs, struct{}{})
				if err != nil {
					t.Fatal(err)
				}
				if got != tc.want {
					t.Fatalf("a worker runs with GOMAXPROCS %d, want %d", got, tc.want)
				}
			}
		})
	}
}
