package ipc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Event is a flag shared by every process that opens it by name
// (Python's multiprocessing.Event): Set raises it and wakes every
// waiter, Clear lowers it. It is the key "event.<name>" of the
// [SyncBucket], "1" when set; a waiter watches it.
type Event struct {
	name string
	key  string
	js   jetstream.JetStream
	kv   jetstream.KeyValue
}

// NewEvent opens the event called name; an event never set is clear. The
// name may hold only letters, digits, '_' and '-'. Options:
// [WithFileStorage] and [WithReplicas] (see [NewLock]).
func NewEvent(ctx context.Context, nc *nats.Conn, name string, opts ...Option) (*Event, error) {
	if err := validName("event", name); err != nil {
		return nil, err
	}
	_, js, kv, err := openSync(ctx, nc, "event", name, opts)
	if err != nil {
		return nil, err
	}
	return &Event{name: name, key: syncKey("event", name), js: js, kv: kv}, nil
}

// Name returns the event's name, by which other processes open it.
func (e *Event) Name() string { return e.name }

// Set sets the event, waking every process waiting on it.
func (e *Event) Set(ctx context.Context) error {
	if _, err := e.kv.Put(ctx, e.key, []byte("1")); err != nil {
		return fmt.Errorf("ipc: event %q: set: %w", e.name, err)
	}
	return nil
}

// Clear clears the event.
func (e *Event) Clear(ctx context.Context) error {
	if _, err := e.kv.Put(ctx, e.key, []byte("0")); err != nil {
		return fmt.Errorf("ipc: event %q: clear: %w", e.name, err)
	}
	return nil
}

// IsSet reports whether the event is set.
func (e *Event) IsSet(ctx context.Context) (bool, error) {
	v, err := e.kv.Get(ctx, e.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("ipc: event %q: %w", e.name, err)
	}
	return string(v.Value()) == "1", nil
}

// Wait returns when the event is set (at once if it is), or ctx's error
// when ctx ends first. An event set and cleared again while Wait looked
// away (a reconnect) may go unseen: like Python's, Wait reports that it
// is set, not that it was.
func (e *Event) Wait(ctx context.Context) error {
	updates, stop := watchKeys(ctx, e.kv, e.key)
	defer stop()
	if set, err := e.IsSet(ctx); err != nil || set {
		return err
	}
	poll := time.NewTicker(syncPoll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("ipc: event %q: wait: %w", e.name, ctx.Err())
		case v, ok := <-updates:
			if !ok {
				updates = nil
				continue
			}
			if v != nil && v.Operation() == jetstream.KeyValuePut && string(v.Value()) == "1" {
				return nil
			}
		case <-poll.C: // should the watch have missed it
			if set, err := e.IsSet(ctx); err != nil || set {
				return err
			}
		}
	}
}

// Delete removes the event from the broker (it reads as clear after).
func (e *Event) Delete(ctx context.Context) error {
	if err := purgeSync(ctx, e.js, e.key); err != nil {
		return fmt.Errorf("ipc: event %q: delete: %w", e.name, err)
	}
	return nil
}
