package ipc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/procpool/procpool/internal/wire"
)

const (
	// SyncBucket is the JetStream key-value bucket (stream KV_PROCPOOL_SYNC)
	// that holds every primitive's state, under keys
	// "<kind>.<name>[.<part>]". One bucket serves all of an account's
	// primitives: pools on one broker are kept apart by accounts (see
	// docs/security.md), so each pool has its own, and a worker's
	// credential needs to create this one stream only.
	SyncBucket = wire.SyncBucket

	// syncMarkerTTL is how long the broker keeps the marker it puts in
	// place of a lease that ran out; watchers see the marker and wake.
	syncMarkerTTL = time.Minute
	// syncPoll bounds a wait's sleep between two looks at the state,
	// should a watcher miss a change (a reconnect, a purge).
	syncPoll = time.Second
	// syncCleanupTimeout bounds what a wait does after its ctx ended
	// (breaking a barrier, taking back a half-made acquisition).
	syncCleanupTimeout = 5 * time.Second
)

// syncKV opens the primitives' bucket, creating it with so's storage
// and replicas if it does not exist.
func syncKV(ctx context.Context, nc *nats.Conn, so syncOptions) (jetstream.JetStream, jetstream.KeyValue, error) {
	if nc == nil {
		return nil, nil, fmt.Errorf("%w: nil *nats.Conn", ErrInvalidArgument)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, nil, err
	}
	for {
		kv, err := lookupSyncKV(ctx, js)
		if err == nil {
			if err := checkSyncStream(ctx, js); err != nil {
				return nil, nil, err
			}
			return js, kv, nil
		}
		if !errors.Is(err, jetstream.ErrBucketNotFound) {
			return nil, nil, fmt.Errorf("ipc: open bucket %s: %w", SyncBucket, err)
		}
		cfg := wire.SyncBucketConfig(so.replicas, so.file)
		err = wire.APICall(ctx, js, func(ctx context.Context) error {
			kv, err = js.CreateKeyValue(ctx, cfg)
			return err
		})
		if err == nil {
			return js, kv, nil
		}
		// Another process made it first (perhaps with other options): use it.
		if !errors.Is(err, jetstream.ErrBucketExists) && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil, nil, fmt.Errorf("ipc: create bucket %s: %w", SyncBucket, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
	}
}

// checkSyncStream refuses a bucket stream that takes more subjects than
// its own: one made by a rogue credential that got to the name first
// (docs/security.md) to capture other subjects, such as reply inboxes.
func checkSyncStream(ctx context.Context, js jetstream.JetStream) error {
	s, err := lookupStream(ctx, js, "KV_"+SyncBucket)
	if err != nil {
		return fmt.Errorf("ipc: bucket %s: %w", SyncBucket, err)
	}
	if subj := s.CachedInfo().Config.Subjects; len(subj) != 1 || subj[0] != syncSubject(">") {
		return fmt.Errorf("ipc: bucket %s: its stream takes the subjects %q, not only %s: refusing it (was it made by something else?)", SyncBucket, subj, syncSubject(">"))
	}
	return nil
}

// syncKey is the key of a primitive's state.
func syncKey(kind, name string) string { return kind + "." + name }

// syncSubject is the subject of key in the bucket's stream.
func syncSubject(key string) string { return "$KV." + SyncBucket + "." + key }

// casConflict reports whether err is a compare-and-swap that lost: the
// key's revision was not the one expected.
func casConflict(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// purgeSync removes a primitive's keys: key and every key under it.
func purgeSync(ctx context.Context, js jetstream.JetStream, key string) error {
	s, err := lookupStream(ctx, js, "KV_"+SyncBucket)
	if err != nil {
		return err
	}
	for _, subj := range []string{syncSubject(key), syncSubject(key) + ".>"} {
		err := wire.APICall(ctx, js, func(ctx context.Context) error { return s.Purge(ctx, jetstream.WithPurgeSubject(subj)) })
		if err != nil {
			return err
		}
	}
	return nil
}

// lookupSyncKV binds to the primitives' bucket, asking again while the
// request goes unanswered (wire.APICall).
func lookupSyncKV(ctx context.Context, js jetstream.JetStream) (kv jetstream.KeyValue, err error) {
	err = wire.APICall(ctx, js, func(ctx context.Context) error {
		kv, err = js.KeyValue(ctx, SyncBucket)
		return err
	})
	return kv, err
}

// cleanupCtx is a ctx for the work a wait does after its own ctx ended.
func cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), syncCleanupTimeout)
}

// watchKeys watches filter, returning its updates, and a stop func. A
// nil watcher (the watch could not be made) leaves the wait to polling.
func watchKeys(ctx context.Context, kv jetstream.KeyValue, filter string) (<-chan jetstream.KeyValueEntry, func()) {
	w, err := kv.Watch(ctx, filter)
	if err != nil {
		return nil, func() {}
	}
	return w.Updates(), func() { _ = w.Stop() }
}

// openSync reads a primitive's options and binds to the pool's sync
// bucket; errors name the primitive (kind and name).
func openSync(ctx context.Context, nc *nats.Conn, kind, name string, opts []Option) (syncOptions, jetstream.JetStream, jetstream.KeyValue, error) {
	so, err := syncOptionsOf(opts)
	if err != nil {
		return so, nil, nil, err
	}
	js, kv, err := syncKV(ctx, nc, so)
	if err != nil {
		return so, nil, nil, fmt.Errorf("ipc: %s %q: %w", kind, name, err)
	}
	return so, js, kv, nil
}
