package ipc

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/procpool/procpool/internal/wire"
)

// Value is one value of type T shared by every process that opens it by
// name (Python's multiprocessing.Value, for any type): Load and Store,
// and Update, an atomic read-modify-write that never loses a concurrent
// update. It needs no lock: Update is a compare-and-swap on the key's
// revision, retried until it wins.
//
// It is the key "value.<name>" of the [SyncBucket], holding T encoded
// as task arguments are (JSON; []byte and string as they are). A value
// never stored loads as T's zero value.
type Value[T any] struct {
	name string
	key  string
	js   jetstream.JetStream
	kv   jetstream.KeyValue
}

// NewValue opens the value called name. The name may hold only letters,
// digits, '_' and '-'. Options: [WithFileStorage] and [WithReplicas]
// (see [NewLock]).
func NewValue[T any](ctx context.Context, nc *nats.Conn, name string, opts ...Option) (*Value[T], error) {
	if err := validName("value", name); err != nil {
		return nil, err
	}
	_, js, kv, err := openSync(ctx, nc, "value", name, opts)
	if err != nil {
		return nil, err
	}
	return &Value[T]{name: name, key: syncKey("value", name), js: js, kv: kv}, nil
}

// Name returns the value's name, by which other processes open it.
func (v *Value[T]) Name() string { return v.name }

// Load returns the value (T's zero value if none was stored).
func (v *Value[T]) Load(ctx context.Context) (T, error) {
	x, _, err := loadKey[T](ctx, v.kv, v.key)
	if err != nil {
		return x, fmt.Errorf("ipc: value %q: %w", v.name, err)
	}
	return x, nil
}

// Store sets the value.
func (v *Value[T]) Store(ctx context.Context, x T) error {
	data, err := wire.Encode(x)
	if err != nil {
		return fmt.Errorf("ipc: value %q: %w", v.name, err)
	}
	if _, err := v.kv.Put(ctx, v.key, data); err != nil {
		return fmt.Errorf("ipc: value %q: store: %w", v.name, err)
	}
	return nil
}

// Update sets the value to fn(old) atomically and returns the new value:
// if another process changed it between the read and the write, fn runs
// again on the newer value, until a write wins or ctx ends. fn may thus
// run more than once, and must do nothing but compute.
func (v *Value[T]) Update(ctx context.Context, fn func(old T) T) (T, error) {
	x, err := updateKey(ctx, v.kv, v.key, func(old T, _ bool) T { return fn(old) })
	if err != nil {
		return x, fmt.Errorf("ipc: value %q: update: %w", v.name, err)
	}
	return x, nil
}

// Delete removes the value from the broker (it loads as T's zero value
// after).
func (v *Value[T]) Delete(ctx context.Context) error {
	if err := purgeSync(ctx, v.js, v.key); err != nil {
		return fmt.Errorf("ipc: value %q: delete: %w", v.name, err)
	}
	return nil
}

// loadKey reads key: its value, its revision (0: none) and whether it
// exists.
func loadKey[T any](ctx context.Context, kv jetstream.KeyValue, key string) (T, uint64, error) {
	var zero T
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return zero, 0, nil
	}
	if err != nil {
		return zero, 0, err
	}
	x, err := wire.Decode[T](e.Value())
	if err != nil {
		return zero, 0, err
	}
	return x, e.Revision(), nil
}

// updateKey writes fn(old, ok) on key by compare-and-swap, retried until
// it wins or ctx ends.
func updateKey[T any](ctx context.Context, kv jetstream.KeyValue, key string, fn func(old T, ok bool) T) (T, error) {
	for {
		var zero T
		old, rev, err := loadKey[T](ctx, kv, key)
		if err != nil {
			return zero, err
		}
		x := fn(old, rev != 0)
		data, err := wire.Encode(x)
		if err != nil {
			return zero, err
		}
		if rev == 0 {
			_, err = kv.Create(ctx, key, data)
		} else {
			_, err = kv.Update(ctx, key, data, rev)
		}
		switch {
		case err == nil:
			return x, nil
		case errors.Is(err, jetstream.ErrKeyExists), casConflict(err):
			if err := ctx.Err(); err != nil {
				return zero, err
			}
		default:
			return zero, err
		}
	}
}
