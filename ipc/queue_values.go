package ipc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/wire"
)

// Items of any size. A queue item or pipe value whose encoding is larger
// than the inline limit (wire.InlineLimit: 256 KiB, less under a small
// broker max payload) is stored in a JetStream object store bucket, and
// a message of its own carries the reference instead: the header
// Procpool-Stored marks it, and its body is the wire.Ref (wire.AppendRef)
// and nothing else. Such a message is never packed with other items: one
// more message beside the several chunks of a stored value costs nothing,
// and the packed format, its readers and a handle's give-back of a packed
// message's rest stay as they are.
//
// The bucket is the queue's or pipe's own, named as its stream
// (PROCPOOL_Q_<name>, PROCPOOL_P_<id>; JetStream keeps it in the stream
// OBJ_ plus that name), made on the first stored item. One bucket per
// queue rather than one for every queue: credentials scoped to a queue's
// subjects can be scoped to its bucket's the same way (a shared bucket
// would let every queue's user read and delete every other queue's
// items), and deleting a queue or pipe deletes its bucket with it. Queues
// that never carry a large item cost no bucket.
//
// The reader deletes a stored item once it has it (a queue: once it has
// acknowledged the message). What nobody deletes (a producer killed
// between storing an item and publishing its message, a reader killed
// with one in hand, a pipe end that is never read again) the bucket's TTL
// ends: WithValueTTL for a queue, blob.DefaultTTL for a pipe.
const (
	storedHeader = "Procpool-Stored"
	// queueValueTTLKey records WithValueTTL in the queue stream's
	// metadata, so that whichever handle makes the bucket later uses the
	// TTL the queue was created with.
	queueValueTTLKey = "procpool_value_ttl"
	// ipcValueTimeout bounds the store or fetch of one item.
	ipcValueTimeout = 5 * time.Minute
)

// ipcValues is a queue or pipe handle's access to its bucket.
type ipcValues struct {
	bucket string
	inline int
	vals   *blob.Values
}

func newIPCValues(nc *nats.Conn, js jetstream.JetStream, bucket string, cfg blob.ObjectsConfig) *ipcValues {
	return &ipcValues{bucket: bucket, inline: wire.InlineLimit(int(nc.MaxPayload())),
		vals: blob.NewValues(js, bucket, cfg)}
}

// queueBucketConfig is how a queue's bucket is made: stored like the
// queue's items, replicated like them, with the TTL the queue was created
// with.
func queueBucketConfig(sc jetstream.StreamConfig) blob.ObjectsConfig {
	cfg := blob.ObjectsConfig{File: sc.Storage == jetstream.FileStorage, Replicas: sc.Replicas}
	if ttl, err := time.ParseDuration(sc.Metadata[queueValueTTLKey]); err == nil && ttl > 0 {
		cfg.TTL = ttl
	}
	return cfg
}

// store returns the message body that carries data: data itself if it
// fits in a message, else a reference to it, stored, with stored true.
func (v *ipcValues) store(ctx context.Context, data []byte) (body []byte, stored bool, err error) {
	if len(data) <= v.inline {
		return data, false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, ipcValueTimeout)
	defer cancel()
	ref, err := v.vals.Put(ctx, "", "i", data)
	if blob.NoRoom(err) {
		return nil, false, fmt.Errorf("%w: bucket %s has no room for a %d-byte item: %w", ErrTooLarge, v.bucket, len(data), err)
	}
	if err != nil {
		return nil, false, fmt.Errorf("store a %d-byte item: %w", len(data), err)
	}
	return wire.AppendRef(nil, &ref), true, nil
}

// storedMsg is the message of a stored item whose reference is body.
func storedMsg(subject string, body []byte) *nats.Msg {
	return &nats.Msg{Subject: subject, Data: body, Header: nats.Header{storedHeader: []string{"1"}}}
}

// storedRef returns the reference a stored item's message carries, nil
// for a message of inline items. Only an object of the bucket may be
// named: a file ref would let whoever can publish on the queue make its
// getters read, and delete, another process's value files on their host.
func storedRef(m *nats.Msg) (*wire.Ref, error) {
	if m.Header == nil || m.Header.Get(storedHeader) == "" {
		return nil, nil
	}
	if m.Header.Get(packHeader) != "" {
		return nil, fmt.Errorf("%w: a stored item's message is packed", errBadPack)
	}
	ref, err := wire.DecodeRef(m.Data)
	if err != nil {
		return nil, fmt.Errorf("stored item: %w", err)
	}
	if ref.Kind != wire.RefObject {
		return nil, fmt.Errorf("%w: stored item %v is not an object of the bucket", wire.ErrMalformed, ref)
	}
	return &ref, nil
}

// openMsg returns the items of a message, or the one stored item's ref.
func openMsg(m *nats.Msg) ([][]byte, *wire.Ref, error) {
	ref, err := storedRef(m)
	if err != nil || ref != nil {
		return [][]byte{nil}, ref, err
	}
	items, err := unpack(m)
	return items, nil, err
}

// fetch returns a stored item's encoding; the caller releases it once it
// is done with it.
func (v *ipcValues) fetch(ctx context.Context, ref wire.Ref) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, ipcValueTimeout)
	defer cancel()
	data, err := v.vals.Get(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("stored item: %w", err)
	}
	return data, nil
}

// release deletes a stored item in the background.
func (v *ipcValues) release(ref wire.Ref) { v.vals.Release(ref) }

// lost deletes the stored item of a message that was never stored in the
// stream (the publisher's onLost): nobody will read it.
func (v *ipcValues) lost(m *nats.Msg) {
	if ref, err := storedRef(m); err == nil && ref != nil {
		v.release(*ref)
	}
}

// close stops the background deletes, after at most a second more.
func (v *ipcValues) close() { v.vals.Close() }

// deleteBucket deletes a queue's or pipe's bucket, if it was ever made.
func deleteBucket(ctx context.Context, js jetstream.JetStream, bucket string) error {
	err := wire.APICall(ctx, js, func(ctx context.Context) error { return js.DeleteObjectStore(ctx, bucket) })
	if err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("delete bucket %s: %w", bucket, err)
	}
	return nil
}

// decodeFetched decodes a fetched item, which nothing else holds: a
// []byte is the fetched bytes themselves rather than a copy of them.
func decodeFetched[T any](data []byte) (T, error) {
	var v T
	if p, ok := any(&v).(*[]byte); ok {
		*p = data
		return v, nil
	}
	return wire.Decode[T](data)
}

// keepReserved tells the broker every staleAfter/4 that the message whose
// reply subject is reply is still being worked on, while a stored item is
// fetched, until the returned stop is called; stop returns when it last
// did (zero if never).
func keepReserved(nc *nats.Conn, reply string, staleAfter time.Duration) (stop func() time.Time) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var last time.Time // written by the goroutine, read after wg.Wait
	wg.Go(func() {
		t := time.NewTicker(max(staleAfter/4, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				_ = nc.Publish(reply, ackProgress)
				last = now
			}
		}
	})
	return func() time.Time {
		close(done)
		wg.Wait()
		return last
	}
}
