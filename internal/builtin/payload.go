package builtin

import (
	"context"
	"fmt"

	"github.com/procpool/procpool/worker"
)

// MaxBlob bounds Blob's argument: a typo must not ask a worker for
// terabytes.
const MaxBlob = 4 << 30

var (
	// Len is the length of a string: a task whose cost is its argument's
	// transfer.
	Len = worker.Register("procpool.len", func(ctx context.Context, s string) (int, error) {
		return len(s), nil
	})
	// Blob returns n bytes (the pattern of Python's bench: 0..250 over and
	// over): a task whose cost is its result's transfer.
	Blob = worker.Register("procpool.blob", func(ctx context.Context, n int) ([]byte, error) {
		if n < 0 || n > MaxBlob {
			return nil, fmt.Errorf("blob: n=%d out of range [0, %d]", n, MaxBlob)
		}
		return BlobBytes(n), nil
	})
)

// BlobBytes is Blob's result for n.
func BlobBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}
