package pool_test

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
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
			ctx := testutil.Ctx(t, 20*time.Second)
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

// Worker processes run their collector at GOGC 75 (less idle heap per
// process), unless the environment they inherit sets GOGC.
func TestWorkerGOGC(t *testing.T) {
	for _, tc := range []struct {
		name, env string // "": GOGC unset
		want      uint64
	}{
		{"default", "", 75},
		{"GOGC set", "200", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("GOGC", tc.env) // the children inherit it
			} else if v, ok := os.LookupEnv("GOGC"); ok {
				os.Unsetenv("GOGC")
				t.Cleanup(func() { os.Setenv("GOGC", v) })
			}
			p := newPool(t, pool.WithProcesses(1))
			got, err := pool.Apply(testutil.Ctx(t, 20*time.Second), p, gogc, struct{}{})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("a worker runs at GOGC %d, want %d", got, tc.want)
			}
		})
	}
}
