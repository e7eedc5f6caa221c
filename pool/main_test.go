package pool_test

import (
	"context"
	"errors"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil/pooltest"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
	"go.uber.org/goleak"
)

// The test binary is also the workers' binary: pools re-execute it, and
// worker.Main turns those copies into workers.
func TestMain(m *testing.M) {
	worker.Main()
	// Every goroutine a pool starts must be gone once it is closed.
	goleak.VerifyTestMain(m)
}

var (
	upper = worker.Register("test.upper", func(ctx context.Context, s string) (string, error) {
		return strings.ToUpper(s), nil
	})
	square = worker.Register("test.square", func(ctx context.Context, n int) (int, error) {
		return n * n, nil
	})
	sleepMS = worker.Register("test.sleep", func(ctx context.Context, ms int) (int, error) {
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			return worker.Current(ctx).PID, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	failing = worker.Register("test.fail", func(ctx context.Context, s string) (string, error) {
		return "", errors.New("bad " + s)
	})
	panicking = worker.Register("test.panic", func(ctx context.Context, s string) (string, error) {
		panic("boom " + s)
	})
	whoami = worker.Register("test.whoami", func(ctx context.Context, _ struct{}) (worker.Info, error) {
		return worker.Current(ctx), nil
	})
	gomaxprocs = worker.Register("test.gomaxprocs", func(ctx context.Context, _ struct{}) (int, error) {
		return runtime.GOMAXPROCS(0), nil
	})
	gogc = worker.Register("test.gogc", func(ctx context.Context, _ struct{}) (uint64, error) {
		s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
		metrics.Read(s)
		return s[0].Value.Uint64(), nil
	})
	raw = worker.Register("test.raw", func(ctx context.Context, b []byte) ([]byte, error) {
		out := make([]byte, len(b))
		for i, c := range b {
			out[i] = c ^ 0xff
		}
		return out, nil
	})
)

// newPool starts a pool for a test and closes it at cleanup.
func newPool(tb testing.TB, opts ...pool.Option) *pool.Pool {
	tb.Helper()
	return pooltest.New(tb, 30*time.Second, nil, opts...)
}
