package ipc

import (
	"fmt"
	"time"
)

// Option configures [NewQueue], [NewPipe] and [OpenPipe].
//
// WithMaxSize, WithAckWait, WithFileStorage, WithReplicas, WithMaxBytes
// and WithValueTTL shape the queue and take effect only when NewQueue
// creates it: a handle that opens an existing queue uses the queue as it
// was created. WithPrefetch and WithPutWindow are per handle.
//
// A pipe takes WithFileStorage, WithReplicas and WithMaxBytes, which shape
// it when NewPipe makes it, and WithPrefetch and WithPutWindow, per end
// (defaults 512 and 1024). WithMaxSize, WithAckWait and WithValueTTL mean
// nothing to a pipe and are an ErrInvalidOption there.
type Option func(*options) error

type options struct {
	maxSize   int
	ackWait   time.Duration
	file      bool
	replicas  int
	prefetch  int
	putWindow int
	valueTTL  time.Duration
	maxBytes  int64
}

const (
	// DefaultAckWait is how long an item a getter has taken stays
	// reserved for it before it goes back to the queue, unless acknowledged.
	DefaultAckWait = 30 * time.Second
	// DefaultPrefetch is the most messages one pull request of a queue
	// handle asks for (see [WithPrefetch]).
	DefaultPrefetch = 128
	// DefaultPutWindow is how many puts a handle may have awaiting the
	// broker's acknowledgement before Put waits.
	DefaultPutWindow = 1024

	// DefaultValueTTL is how long a stored item (one too large for a
	// message, see [Queue]) lives at most.
	DefaultValueTTL = 24 * time.Hour

	// DefaultMaxBytes bounds a queue's messages: a Put beyond it
	// fails (or, on a queue bounded with WithMaxSize, waits), nothing
	// already queued is dropped. Items too large for a message are stored
	// apart and count as their reference.
	DefaultMaxBytes = 256 << 20

	maxPrefetch  = 1 << 16
	maxPutWindow = 1 << 16
)

func defaultOptions() options {
	return options{
		ackWait:   DefaultAckWait,
		replicas:  1,
		prefetch:  DefaultPrefetch,
		putWindow: DefaultPutWindow,
		valueTTL:  DefaultValueTTL,
		maxBytes:  DefaultMaxBytes,
	}
}

// WithMaxBytes bounds the bytes of the queue's messages (default
// [DefaultMaxBytes]); it takes effect when NewQueue creates the queue.
func WithMaxBytes(n int64) Option {
	return func(o *options) error {
		if n < 64<<10 {
			return fmt.Errorf("%w: queue max bytes %d is below 64 KiB", ErrInvalidOption, n)
		}
		o.maxBytes = n
		return nil
	}
}

// WithMaxSize bounds the queue to n items (Python's Queue(maxsize)): Put
// waits while the queue is full, until a Get makes room or its ctx ends.
// Items fetched by a getter but not yet acknowledged count as in the queue.
// n = 0 means unbounded (the default). A bounded queue's Put waits for the
// broker's acknowledgement of every item, so it is slower than an unbounded
// queue's.
func WithMaxSize(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("%w: queue max size %d is negative", ErrInvalidOption, n)
		}
		o.maxSize = n
		return nil
	}
}

// WithAckWait sets how long an item taken by a getter that then vanished
// (its process died or froze, its connection dropped) stays invisible
// before it goes back to the queue. Default [DefaultAckWait]. A live
// getter keeps the message it returns items from reserved while its Gets
// go on, and hands it back when it goes idle (see [Queue]); a getter that
// did not touch such a message for half of the ack wait (it was frozen)
// drops the rest, which the broker may have redelivered, so a slow getter
// never returns an item that another getter may also have received.
func WithAckWait(d time.Duration) Option {
	return func(o *options) error {
		if d < 10*time.Millisecond {
			return fmt.Errorf("%w: queue ack wait %v is below 10ms", ErrInvalidOption, d)
		}
		o.ackWait = d
		return nil
	}
}

// WithFileStorage keeps the queue's items on disk in the broker's JetStream
// store, so they survive a broker restart. Default: memory.
func WithFileStorage() Option {
	return func(o *options) error {
		o.file = true
		return nil
	}
}

// WithReplicas sets the number of replicas of the queue's stream in a
// clustered broker (1 to 5). Default 1.
func WithReplicas(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 5 {
			return fmt.Errorf("%w: queue replicas %d not in 1..5", ErrInvalidOption, n)
		}
		o.replicas = n
		return nil
	}
}

// WithPrefetch caps how many messages one pull request of this handle
// asks for (1 to 65536). Default [DefaultPrefetch]; a pipe end's is 512.
// A handle fetches nothing ahead of its calls (see [Queue]): a request
// asks for one message per Get (or Recv) of the handle waiting at the
// time, so the cap matters only to a handle that many goroutines read at
// once. A message may hold up to 256 packed items.
func WithPrefetch(n int) Option {
	return func(o *options) error {
		if n < 1 || n > maxPrefetch {
			return fmt.Errorf("%w: prefetch %d not in 1..%d", ErrInvalidOption, n, maxPrefetch)
		}
		o.prefetch = n
		return nil
	}
}

// WithPutWindow sets how many puts this handle may have awaiting the
// broker's acknowledgement before Put waits for the oldest (1 to 65536).
// Default [DefaultPutWindow]. It has no effect on a bounded queue, whose Put
// waits for each acknowledgement.
func WithPutWindow(n int) Option {
	return func(o *options) error {
		if n < 1 || n > maxPutWindow {
			return fmt.Errorf("%w: put window %d not in 1..%d", ErrInvalidOption, n, maxPutWindow)
		}
		o.putWindow = n
		return nil
	}
}

// WithValueTTL sets how long an item too large for a message lives
// in the queue's bucket at most (see [Queue]); default
// [DefaultValueTTL]. It ends what a killed producer or getter left
// behind; an item still queued after it is lost: its Get returns an
// error. It must be at least a second.
func WithValueTTL(d time.Duration) Option {
	return func(o *options) error {
		if d < time.Second {
			return fmt.Errorf("%w: queue value TTL %v is below 1s", ErrInvalidOption, d)
		}
		o.valueTTL = d
		return nil
	}
}

func applyOptions(o *options, opts []Option) error {
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(o); err != nil {
			return err
		}
	}
	return nil
}

// pipeOptions are a pipe's options: its defaults, then opts.
func pipeOptions(opts []Option) (options, error) {
	o := options{
		replicas:  1,
		prefetch:  pipePrefetch,
		putWindow: pipeSendWindow,
		maxBytes:  DefaultMaxBytes,
	}
	if err := applyOptions(&o, opts); err != nil {
		return o, err
	}
	if o.maxSize != 0 || o.ackWait != 0 || o.valueTTL != 0 {
		return o, fmt.Errorf("%w: WithMaxSize, WithAckWait and WithValueTTL are for queues, not pipes", ErrInvalidOption)
	}
	return o, nil
}
