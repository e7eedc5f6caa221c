package pool

// Queues and pipes live in package ipc. The names below keep code written
// against pool working; each forwards to its ipc counterpart, and new code
// uses ipc.

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/procpool/procpool/ipc"
)

// Queue forwards to [ipc.Queue]. Deprecated-style: new code uses ipc.
type Queue[T any] = ipc.Queue[T]

// PipeEnd forwards to [ipc.PipeEnd]. Deprecated-style: new code uses ipc.
type PipeEnd[T any] = ipc.PipeEnd[T]

// QueueOption forwards to [ipc.Option]. Deprecated-style: new code uses ipc.
type QueueOption = ipc.Option

// ErrQueueEmpty forwards to [ipc.ErrQueueEmpty] (the same value).
// Deprecated-style: new code uses ipc.
var ErrQueueEmpty = ipc.ErrQueueEmpty

// Queue defaults, forwarding to ipc's. Deprecated-style: new code uses ipc.
const (
	// DefaultQueueAckWait forwards to [ipc.DefaultAckWait].
	DefaultQueueAckWait = ipc.DefaultAckWait
	// DefaultQueuePrefetch forwards to [ipc.DefaultPrefetch]: the most
	// messages one pull request of a queue handle asks for.
	DefaultQueuePrefetch = ipc.DefaultPrefetch
	// DefaultPutWindow forwards to [ipc.DefaultPutWindow].
	DefaultPutWindow = ipc.DefaultPutWindow
	// DefaultQueueValueTTL forwards to [ipc.DefaultValueTTL].
	DefaultQueueValueTTL = ipc.DefaultValueTTL
	// DefaultQueueMaxBytes forwards to [ipc.DefaultMaxBytes].
	DefaultQueueMaxBytes = ipc.DefaultMaxBytes
)

// NewQueue forwards to [ipc.NewQueue]. Deprecated-style: new code uses ipc.
func NewQueue[T any](ctx context.Context, nc *nats.Conn, name string, opts ...QueueOption) (*Queue[T], error) {
	return ipc.NewQueue[T](ctx, nc, name, opts...)
}

// DeleteQueue forwards to [ipc.DeleteQueue]. Deprecated-style: new code uses ipc.
func DeleteQueue(ctx context.Context, nc *nats.Conn, name string) error {
	return ipc.DeleteQueue(ctx, nc, name)
}

// NewPipe forwards to [ipc.NewPipe]. Deprecated-style: new code uses ipc.
func NewPipe[T any](ctx context.Context, nc *nats.Conn, opts ...QueueOption) (*PipeEnd[T], *PipeEnd[T], error) {
	return ipc.NewPipe[T](ctx, nc, opts...)
}

// OpenPipe forwards to [ipc.OpenPipe]. Deprecated-style: new code uses ipc.
func OpenPipe[T any](ctx context.Context, nc *nats.Conn, name string, opts ...QueueOption) (*PipeEnd[T], error) {
	return ipc.OpenPipe[T](ctx, nc, name, opts...)
}

// DeletePipe forwards to [ipc.DeletePipe]. Deprecated-style: new code uses ipc.
func DeletePipe(ctx context.Context, nc *nats.Conn, name string) error {
	return ipc.DeletePipe(ctx, nc, name)
}

// WithQueueMaxBytes forwards to [ipc.WithMaxBytes]. Deprecated-style: new code uses ipc.
func WithQueueMaxBytes(n int64) QueueOption { return ipc.WithMaxBytes(n) }

// WithMaxSize forwards to [ipc.WithMaxSize]. Deprecated-style: new code uses ipc.
func WithMaxSize(n int) QueueOption { return ipc.WithMaxSize(n) }

// WithQueueAckWait forwards to [ipc.WithAckWait]. Deprecated-style: new code uses ipc.
func WithQueueAckWait(d time.Duration) QueueOption { return ipc.WithAckWait(d) }

// WithFileStorage forwards to [ipc.WithFileStorage]. Deprecated-style: new code uses ipc.
func WithFileStorage() QueueOption { return ipc.WithFileStorage() }

// WithQueueReplicas forwards to [ipc.WithReplicas]. Deprecated-style: new code uses ipc.
func WithQueueReplicas(n int) QueueOption { return ipc.WithReplicas(n) }

// WithPrefetch forwards to [ipc.WithPrefetch]: it caps how many messages
// one pull request of the handle asks for (a handle fetches nothing ahead
// of its Gets). Deprecated-style: new code uses ipc.
func WithPrefetch(n int) QueueOption { return ipc.WithPrefetch(n) }

// WithPutWindow forwards to [ipc.WithPutWindow]. Deprecated-style: new code uses ipc.
func WithPutWindow(n int) QueueOption { return ipc.WithPutWindow(n) }

// WithQueueValueTTL forwards to [ipc.WithValueTTL]. Deprecated-style: new code uses ipc.
func WithQueueValueTTL(d time.Duration) QueueOption { return ipc.WithValueTTL(d) }
