package wire

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamOptions are the settings of a pool's task stream and consumer.
type StreamOptions struct {
	File     bool          // file storage instead of memory
	Replicas int           // stream replicas; 0 means 1
	AckWait  time.Duration // redelivery after this long without ack or progress; 0 means DefaultAckWait
	MaxBytes int64         // the stream's byte limit; 0 means DefaultTaskStreamBytes
}

// DefaultTaskStreamBytes bounds a pool's queued tasks: a publish beyond
// it is refused (nothing accepted is dropped) and the call fails with the
// broker's "maximum bytes exceeded". Values too large for a message are
// stored elsewhere (internal/blob), so this bounds messages of at most
// 256 KiB each. On a broker with less room, CreateFitted makes it fit.
const DefaultTaskStreamBytes = 1 << 30

// DefaultAckWait is how long a held task may go without an ack or a
// progress heartbeat before JetStream gives it to another worker.
const DefaultAckWait = 5 * time.Second

// EnsureStream creates or updates the pool's work-queue stream and its
// shared durable pull consumer.
func EnsureStream(ctx context.Context, js jetstream.JetStream, s Subjects, o StreamOptions) (jetstream.Consumer, error) {
	cfg := streamConfig(s, o)
	err := CreateFitted(&cfg, func() error { // fit.go
		_, err := js.CreateOrUpdateStream(ctx, cfg)
		return err
	})
	if err != nil {
		// JetStream cannot change a stream's storage; say which side
		// chose which, rather than pass on "can not change storage type".
		if st, serr := js.Stream(ctx, cfg.Name); serr == nil {
			if have := st.CachedInfo().Config.Storage; have != cfg.Storage {
				return nil, fmt.Errorf("stream %s exists with %s storage (a worker or another caller of pool %s created it first) and this caller asks for %s storage: "+
					"start it with the same storage, or remove the stream while no tasks are queued (nats stream rm %s): %w",
					cfg.Name, storageName(have), s.Pool, storageName(cfg.Storage), cfg.Name, err)
			}
		}
		return nil, fmt.Errorf("stream %s: %w", cfg.Name, err)
	}
	return EnsureConsumer(ctx, js, s, o)
}

// streamConfig is the pool's task stream as o asks for it.
func streamConfig(s Subjects, o StreamOptions) jetstream.StreamConfig {
	storage := jetstream.MemoryStorage
	if o.File {
		storage = jetstream.FileStorage
	}
	maxBytes := o.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultTaskStreamBytes
	}
	return jetstream.StreamConfig{
		Name:        s.Stream(),
		Description: "procpool tasks of pool " + s.Pool,
		Subjects:    []string{s.TaskFilter()},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     storage,
		Replicas:    max(o.Replicas, 1),
		Duplicates:  2 * time.Minute,
		MaxBytes:    maxBytes,
		Discard:     jetstream.DiscardNew,
	}
}

func storageName(t jetstream.StorageType) string {
	if t == jetstream.FileStorage {
		return "file"
	}
	return "memory"
}

// EnsureConsumer creates or updates the pool's shared worker consumer.
func EnsureConsumer(ctx context.Context, js jetstream.JetStream, s Subjects, o StreamOptions) (jetstream.Consumer, error) {
	ackWait := o.AckWait
	if ackWait <= 0 {
		ackWait = DefaultAckWait
	}
	c, err := js.CreateOrUpdateConsumer(ctx, s.Stream(), jetstream.ConsumerConfig{
		Durable:       ConsumerName,
		Description:   "procpool workers of pool " + s.Pool,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxDeliver:    -1, // attempts are bounded by the worker, see docs/protocol.md
		MaxAckPending: 100000,
		MaxWaiting:    4096,
		FilterSubject: s.TaskFilter(),
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", ConsumerName, err)
	}
	return c, nil
}

// LookupOrEnsure makes sure the pool's stream and consumer exist, creating
// them with default settings (R3 on a cluster, see DefaultReplicas) if no
// caller has yet. It only ever creates: a worker's permissions need not
// allow updating a stream (broker.WorkerPermissions), and a stream that
// exists was set up by a caller, whose settings stand.
func LookupOrEnsure(ctx context.Context, js jetstream.JetStream, s Subjects) error {
	_, err := js.Consumer(ctx, s.Stream(), ConsumerName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		o := StreamOptions{Replicas: DefaultReplicas(js.Conn())}
		cfg := streamConfig(s, o)
		err = CreateFitted(&cfg, func() error {
			_, err := js.CreateStream(ctx, cfg)
			return err
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil // a caller or another worker made it first, maybe differently: theirs stands
		}
		if err != nil {
			return fmt.Errorf("stream %s: %w", s.Stream(), err)
		}
		_, err = js.Consumer(ctx, s.Stream(), ConsumerName)
	}
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		_, err = EnsureConsumer(ctx, js, s, StreamOptions{})
	}
	return err
}
