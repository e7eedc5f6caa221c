package blob

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// stallingStore is a real object store whose first Get never answers, as
// when the reply of one of its JetStream API requests is lost in a leader
// change or a reconnect, or its ordered consumer stops delivering: only
// the context's deadline ends it.
type stallingStore struct {
	jetstream.ObjectStore
	stalls atomic.Int32
}

func (s *stallingStore) Get(ctx context.Context, name string, opts ...jetstream.GetObjectOpt) (jetstream.ObjectResult, error) {
	if s.stalls.Add(-1) >= 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.ObjectStore.Get(ctx, name, opts...)
}

// TestObjectGetStalledReadIsRetried is the chaos run's (issue 18) hang: a
// worker's fetch of its task's stored argument stalled, and, its context
// allowing 5 minutes, the worker held the task (sending progress, so it
// was never redelivered) while the caller waited. A stalled read is now
// one attempt of several: the value comes back within one attempt's bound.
func TestObjectGetStalledReadIsRetried(t *testing.T) {
	js := startJS(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a caller's patience, below valueTimeout
	defer cancel()
	o, err := OpenObjects(ctx, js, Bucket("stall"), ObjectsConfig{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("stalled read "), 40_000) // 520 KB, the size of a large argument
	ref, err := o.Put(ctx, "a", data)
	if err != nil {
		t.Fatal(err)
	}
	st := &stallingStore{ObjectStore: o.store}
	st.stalls.Store(1)
	o.store = st
	start := time.Now()
	got, err := o.Get(ctx, ref)
	took := time.Since(start)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get after a stalled read = %d bytes, %v (after %s)", len(got), err, took)
	}
	if bound := attemptTimeout(ref.Size) + 15*time.Second; took > bound {
		t.Fatalf("Get took %s; one stalled attempt should cost at most %s", took, bound)
	}
	if st.stalls.Load() >= 0 {
		t.Fatal("the stalled read was not retried")
	}
	t.Logf("value back %s after a stalled first read (attempt bound %s)", took.Round(time.Millisecond), attemptTimeout(ref.Size))
}
