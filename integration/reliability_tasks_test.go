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
	// checksumTask is a checksum of its argument: a wrong byte anywhere shows.
	checksumTask = worker.Register("it.checksum", func(ctx context.Context, b []byte) (uint64, error) {
		return sum64(b), nil
	})
)

// sum64 is FNV-1a over b.
func sum64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}
