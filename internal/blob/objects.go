package blob

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/wire"
)

// ObjectsConfig is how a pool's bucket is made when nobody made it yet.
type ObjectsConfig struct {
	File     bool          // file storage instead of memory
	Replicas int           // 0 means 1
	TTL      time.Duration // a stored value's longest life; 0 means DefaultTTL
}

// DefaultTTL bounds the life of a value whose owner was killed before it
// could delete it. A task still queued after that long finds its argument
// gone and fails with a clear error.
const DefaultTTL = 24 * time.Hour

// Bucket is the object store bucket of pool's values; JetStream keeps it
// in the stream "OBJ_" + Bucket(pool).
func Bucket(pool string) string { return "procpool_" + pool }

// Objects is a pool's bucket of stored values.
type Objects struct {
	js     jetstream.JetStream
	store  jetstream.ObjectStore
	stream jetstream.Stream
	bucket string
	chunk  uint32
}

// OpenObjects binds to the bucket, creating it with cfg if it does not
// exist (a bucket that exists keeps its settings).
func OpenObjects(ctx context.Context, js jetstream.JetStream, bucket string, cfg ObjectsConfig) (*Objects, error) {
	store, err := js.ObjectStore(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		sc := jetstream.ObjectStoreConfig{
			Bucket:      bucket,
			Description: "procpool values too large for a message",
			TTL:         cfg.TTL,
			Storage:     jetstream.MemoryStorage,
			Replicas:    max(cfg.Replicas, 1),
		}
		if sc.TTL <= 0 {
			sc.TTL = DefaultTTL
		}
		if cfg.File {
			sc.Storage = jetstream.FileStorage
		}
		store, err = js.CreateObjectStore(ctx, sc)
		if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			store, err = js.ObjectStore(ctx, bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("procpool: object store %s: %w", bucket, err)
	}
	stream, err := js.Stream(ctx, "OBJ_"+bucket)
	if err != nil {
		return nil, fmt.Errorf("procpool: object store %s: %w", bucket, err)
	}
	// Large chunks move faster (fewer acks); they must fit the broker's
	// max payload with room for headers.
	chunk := uint32(1 << 20)
	if mp := js.Conn().MaxPayload(); mp > 0 && mp-8<<10 < int64(chunk) {
		chunk = uint32(max(mp-8<<10, 4<<10))
	}
	return &Objects{js: js, store: store, stream: stream, bucket: bucket, chunk: chunk}, nil
}

// Put stores the concatenation of parts as a new object named prefix plus
// a random part (putSync: not through ObjectStore.Put).
func (o *Objects) Put(ctx context.Context, prefix string, parts ...[]byte) (wire.Ref, error) {
	return o.putSync(ctx, o.js, prefix, parts...)
}

// Get fetches an object ref's value. Each read is one attempt with a
// deadline of its own, attemptTimeout(ref.Size), and a read that misses it
// is started again, until ctx ends: a JetStream API reply lost in a leader
// change or a reconnect, or an ordered consumer that stopped delivering,
// would otherwise hold the read until ctx's own deadline (minutes), and a
// worker fetching its task's argument sends progress all that time, so
// that nobody redelivers the task. A read that fails is tried again for
// up to retryWindow: on a cluster, the object's metadata is read with a
// direct get, which any replica answers, and one that is behind (a node
// just restarted or reconnected) answers "not found" for an object the
// leader has; a leader election answers "temporarily unavailable". Both
// made large values fail under the chaos run's faults (issue 18) while
// small ones went through.
func (o *Objects) Get(ctx context.Context, ref wire.Ref) ([]byte, error) {
	if err := ref.Valid(); err != nil || ref.Kind != wire.RefObject {
		return nil, fmt.Errorf("procpool: bad object ref %v: %v", ref, err)
	}
	var retry retrying
	mismatches := 0
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout(ref.Size))
		b, err := o.get(actx, ref)
		stalled := err != nil && actx.Err() != nil && ctx.Err() == nil
		cancel()
		switch {
		case err == nil || ctx.Err() != nil:
			return b, err
		case stalled:
			continue // this attempt's deadline, not the caller's: again
		case errors.Is(err, jetstream.ErrDigestMismatch):
			// One mismatch was seen under load on a 3-node cluster after
			// a node was killed, and not reproduced; the reader (an
			// ordered consumer that resets on a gap) is the suspect. A
			// value that is really corrupt still fails, the third time.
			if mismatches++; mismatches == 3 {
				return nil, err
			}
			continue
		}
		if !retry.again(ctx) {
			return nil, err
		}
	}
}

// retrying paces the attempts after a failure: backing off from 100 ms to
// 1 s, for retryWindow from the first failure, and not past ctx.
type retrying struct {
	first   time.Time
	backoff time.Duration
}

// again waits before the next attempt and reports whether to make it.
func (r *retrying) again(ctx context.Context) bool {
	if r.first.IsZero() {
		r.first, r.backoff = time.Now(), 100*time.Millisecond
	}
	if time.Since(r.first) >= retryWindow {
		return false
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(r.backoff):
	}
	r.backoff = min(2*r.backoff, time.Second)
	return true
}

// retryWindow is how long Get tries again a read that failed (rather than
// stalled): long enough for a replica to catch up or a leader to be
// elected, short enough that a value really gone fails soon.
const retryWindow = 5 * time.Second

// attemptTimeout bounds one read of a size-byte object: 15s, and the time
// to move it at 2 MiB/s, far below what a read takes when it goes at all.
func attemptTimeout(size int64) time.Duration {
	return 15*time.Second + time.Duration(size/(2<<20))*time.Second
}

// get reads an object once.
func (o *Objects) get(ctx context.Context, ref wire.Ref) ([]byte, error) {
	r, err := o.store.Get(ctx, ref.Name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("%w: %v in %s (deleted, or past the bucket's TTL)", ErrMissing, ref, o.bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("procpool: fetch value %v from %s: %w", ref, o.bucket, err)
	}
	defer r.Close()
	// Reading to the end checks the object's digest.
	b, err := readExactly(r, ref)
	if err != nil {
		return nil, fmt.Errorf("procpool: fetch value from %s: %w", o.bucket, err)
	}
	return b, nil
}

// Delete removes an object and its tombstone: the object store keeps a
// deleted object's metadata, which would add up over millions of values.
func (o *Objects) Delete(ctx context.Context, ref wire.Ref) error {
	err := o.store.Delete(ctx, ref.Name)
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("procpool: delete value %v: %w", ref, err)
	}
	meta := "$O." + o.bucket + ".M." + base64.URLEncoding.EncodeToString([]byte(ref.Name))
	if err := o.stream.Purge(ctx, jetstream.WithPurgeSubject(meta)); err != nil {
		return fmt.Errorf("procpool: delete value %v: %w", ref, err)
	}
	return nil
}
