package integration

import (
	"context"
	"strings"

	"github.com/procpool/procpool/worker"
)

// Tasks of the reliability tests (rows 8-13).
var (
	// bigResult returns a string of n bytes.
	bigResult = worker.Register("it.big-result", func(ctx context.Context, n int) (string, error) {
		return strings.Repeat("r", n), nil
	})
	// size returns the length of its argument.
	size = worker.Register("it.size", func(ctx context.Context, b []byte) (int, error) {
		return len(b), nil
	})
)
