package dashboard_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/procpool/procpool/worker"
)

// The test binary is also the workers' binary: pools re-execute it, and
// worker.Main turns those copies into workers.
func TestMain(m *testing.M) {
	worker.Main()
	m.Run()
}

var (
	// nap sleeps ms milliseconds: a short task.
	nap = worker.Register("dash.nap", func(ctx context.Context, ms int) (int, error) {
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			return ms, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	// fail fails with msg.
	fail = worker.Register("dash.fail", func(ctx context.Context, msg string) (int, error) {
		return 0, errors.New(msg)
	})
)
