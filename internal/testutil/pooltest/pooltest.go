// Package pooltest starts pools for the tests of several packages. Only
// tests import it.
package pooltest

import (
	"context"
	"testing"
	"time"

	"github.com/procpool/procpool/pool"
)

// New starts a pool with opts, failing tb if that takes longer than
// timeout. At cleanup it terminates the pool, then calls after (if not
// nil), for checks that need the pool gone.
func New(tb testing.TB, timeout time.Duration, after func(), opts ...pool.Option) *pool.Pool {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	p, err := pool.New(ctx, opts...)
	if err != nil {
		tb.Fatalf("pool.New: %v", err)
	}
	tb.Cleanup(func() {
		if err := p.Terminate(); err != nil {
			tb.Errorf("Terminate: %v", err)
		}
		if after != nil {
			after()
		}
	})
	return p
}
