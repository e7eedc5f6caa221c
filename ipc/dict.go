package ipc

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/procpool/procpool/internal/wire"
)

// Dict is a map from string keys to V shared by every process that opens
// it by name, on one host or many (Python's Manager().dict()): Get, Set,
// Delete, Keys, Len, an atomic Update per key that never loses a
// concurrent update, and Watch for its changes.
//
// Each entry is a key "dict.<name>.<k>" of the [SyncBucket], where <k>
// is the dict key base64url-encoded (any string is a key, the empty one
// included), holding V encoded as task arguments are. Keys and Len read
// the whole dict: they cost a watch of its entries.
type Dict[V any] struct {
	name string
	key  string
	js   jetstream.JetStream
	kv   jetstream.KeyValue
}

// DictChange is one change to a [Dict], as [Dict.Watch] reports it.
type DictChange[V any] struct {
	Key     string
	Value   V    // the new value; V's zero value if Deleted
	Deleted bool // the key was deleted
	// Err: the entry could not be decoded as a V (Key and Deleted are
	// right, Value is V's zero value).
	Err error
}

// NewDict opens the dict called name; a dict never written is empty. The
// name may hold only letters, digits, '_' and '-'. Options:
// [WithFileStorage] and [WithReplicas] (see [NewLock]).
func NewDict[V any](ctx context.Context, nc *nats.Conn, name string, opts ...Option) (*Dict[V], error) {
	if err := validName("dict", name); err != nil {
		return nil, err
	}
	_, js, kv, err := openSync(ctx, nc, "dict", name, opts)
	if err != nil {
		return nil, err
	}
	return &Dict[V]{name: name, key: syncKey("dict", name), js: js, kv: kv}, nil
}

// Name returns the dict's name, by which other processes open it.
func (d *Dict[V]) Name() string { return d.name }

// entry is the bucket key of the dict's key k. The "k" keeps it from
// being empty, which a bucket key may not be.
func (d *Dict[V]) entry(k string) string {
	return d.key + ".k" + base64.RawURLEncoding.EncodeToString([]byte(k))
}

// dictKey is the inverse of entry, for a bucket key under the dict.
func (d *Dict[V]) dictKey(entry string) (string, bool) {
	enc, ok := strings.CutPrefix(entry, d.key+".k")
	if !ok {
		return "", false
	}
	k, err := base64.RawURLEncoding.DecodeString(enc)
	return string(k), err == nil
}

// Get returns the value of key and whether the dict has it.
func (d *Dict[V]) Get(ctx context.Context, key string) (V, bool, error) {
	v, rev, err := loadKey[V](ctx, d.kv, d.entry(key))
	if err != nil {
		return v, false, fmt.Errorf("ipc: dict %q: get %q: %w", d.name, key, err)
	}
	return v, rev != 0, nil
}

// Set sets the value of key.
func (d *Dict[V]) Set(ctx context.Context, key string, v V) error {
	data, err := wire.Encode(v)
	if err != nil {
		return fmt.Errorf("ipc: dict %q: set %q: %w", d.name, key, err)
	}
	if _, err := d.kv.Put(ctx, d.entry(key), data); err != nil {
		return fmt.Errorf("ipc: dict %q: set %q: %w", d.name, key, err)
	}
	return nil
}

// Delete deletes key from the dict; deleting a key it does not have is
// no error.
func (d *Dict[V]) Delete(ctx context.Context, key string) error {
	if err := d.kv.Delete(ctx, d.entry(key)); err != nil {
		return fmt.Errorf("ipc: dict %q: delete %q: %w", d.name, key, err)
	}
	return nil
}

// Update sets key to fn(old, ok) atomically, where ok says whether the
// dict had key, and returns the new value. If another process changed
// key between the read and the write, fn runs again on the newer value,
// until a write wins or ctx ends: fn may run more than once, and must do
// nothing but compute.
func (d *Dict[V]) Update(ctx context.Context, key string, fn func(old V, ok bool) V) (V, error) {
	v, err := updateKey(ctx, d.kv, d.entry(key), fn)
	if err != nil {
		return v, fmt.Errorf("ipc: dict %q: update %q: %w", d.name, key, err)
	}
	return v, nil
}

// Keys returns the dict's keys, in no particular order.
func (d *Dict[V]) Keys(ctx context.Context) ([]string, error) {
	w, err := d.kv.Watch(ctx, d.key+".>", jetstream.IgnoreDeletes(), jetstream.MetaOnly())
	if err != nil {
		return nil, fmt.Errorf("ipc: dict %q: keys: %w", d.name, err)
	}
	defer func() { _ = w.Stop() }()
	var keys []string
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ipc: dict %q: keys: %w", d.name, ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("ipc: dict %q: keys: the watch ended", d.name)
			}
			if e == nil {
				return keys, nil // the end of the current entries
			}
			if k, ok := d.dictKey(e.Key()); ok {
				keys = append(keys, k)
			}
		}
	}
}

// Len returns the number of keys in the dict.
func (d *Dict[V]) Len(ctx context.Context) (int, error) {
	keys, err := d.Keys(ctx)
	return len(keys), err
}

// Watch reports the dict's entries, then every change, on the channel
// it returns, until ctx ends; then it closes the channel. A receiver that
// falls behind holds the watch back; changes in the meantime are not
// lost, but a key changed twice may be reported with its latest value
// only.
func (d *Dict[V]) Watch(ctx context.Context) (<-chan DictChange[V], error) {
	w, err := d.kv.Watch(ctx, d.key+".>")
	if err != nil {
		return nil, fmt.Errorf("ipc: dict %q: watch: %w", d.name, err)
	}
	out := make(chan DictChange[V], 64)
	go func() {
		defer close(out)
		defer func() { _ = w.Stop() }()
		for {
			var e jetstream.KeyValueEntry
			select {
			case <-ctx.Done():
				return
			case x, ok := <-w.Updates():
				if !ok {
					return
				}
				e = x
			}
			if e == nil {
				continue // the end of the current entries
			}
			k, ok := d.dictKey(e.Key())
			if !ok {
				continue
			}
			c := DictChange[V]{Key: k, Deleted: e.Operation() != jetstream.KeyValuePut}
			if !c.Deleted {
				c.Value, c.Err = wire.Decode[V](e.Value())
			}
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// Clear deletes every key of the dict.
func (d *Dict[V]) Clear(ctx context.Context) error {
	keys, err := d.Keys(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range keys {
		if err := d.Delete(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Destroy removes the dict and its entries from the broker. (Delete is
// the dict's deletion of one key, as Python's del d[key].)
func (d *Dict[V]) Destroy(ctx context.Context) error {
	if err := purgeSync(ctx, d.js, d.key); err != nil {
		return fmt.Errorf("ipc: dict %q: destroy: %w", d.name, err)
	}
	return nil
}
