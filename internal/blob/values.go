package blob

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/wire"
)

// Values is one process's access to stored values: files on this host
// and the pool's bucket, opened on first use (most processes never need
// it). It deletes what it is asked to in the background, so that a
// result router never waits on the broker.
type Values struct {
	js     jetstream.JetStream
	bucket string
	cfg    ObjectsConfig

	mu      sync.Mutex
	obj     *Objects
	doomed  []wire.Ref    // object refs to delete
	wake    chan struct{} // the deleter has work
	stop    chan struct{}
	stopped chan struct{}
	started bool
	closed  bool
}

// NewValues prepares access to bucket through js.
func NewValues(js jetstream.JetStream, bucket string, cfg ObjectsConfig) *Values {
	return &Values{js: js, bucket: bucket, cfg: cfg,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
}

// Bucket is the bucket's name.
func (v *Values) Bucket() string { return v.bucket }

func (v *Values) objects(ctx context.Context) (*Objects, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.obj != nil {
		return v.obj, nil
	}
	o, err := openObjects(ctx, v.js, v.bucket, v.cfg)
	if err != nil {
		return nil, err // not kept: the next call tries again
	}
	v.obj = o
	return o, nil
}

// openObjects is OpenObjects asked through wire.APICall, as every
// JetStream API request of ipc is: an attempt whose reply is lost in a
// leader change is bounded (wire.APIAttempt) and made again, and so is
// one that fails while the cluster or the connection changes, for
// wire.APIWindow. Given the caller's whole context, a lost lookup hung a
// large Apply 2 minutes in a chaos run (seed 7, issue 18); given only a
// few seconds, a connection that kept dropping failed one ("nats: server
// is disconnected") while the task's own publish rode it out.
func openObjects(ctx context.Context, js jetstream.JetStream, bucket string, cfg ObjectsConfig) (*Objects, error) {
	var o *Objects
	err := wire.APICall(ctx, js, func(actx context.Context) error {
		var err error
		o, err = OpenObjects(actx, js, bucket, cfg)
		return err
	})
	return o, err
}

// Put stores the concatenation of parts: as a file in the value directory
// dir when dir is set and exists on this host, in the bucket otherwise.
func (v *Values) Put(ctx context.Context, dir, prefix string, parts ...[]byte) (wire.Ref, error) {
	if dir != "" {
		if ref, err := WriteIn(dir, prefix, parts...); err == nil {
			return ref, nil
		}
		// Not this host's directory (a remote worker), or it cannot be
		// written: the bucket reaches the caller wherever it is.
	}
	o, err := v.objects(ctx)
	if err != nil {
		return wire.Ref{}, err
	}
	return o.Put(ctx, prefix, parts...)
}

// Get fetches a stored value.
func (v *Values) Get(ctx context.Context, ref wire.Ref) ([]byte, error) {
	switch ref.Kind {
	case wire.RefFile:
		return readFile(ref)
	case wire.RefObject:
		o, err := v.objects(ctx)
		if err != nil {
			return nil, err
		}
		return o.Get(ctx, ref)
	}
	return nil, fmt.Errorf("procpool: bad ref %v", ref)
}

// Delete removes a stored value now.
func (v *Values) Delete(ctx context.Context, ref wire.Ref) error {
	if ref.Kind == wire.RefFile {
		return removeFile(ref)
	}
	o, err := v.objects(ctx)
	if err != nil {
		return err
	}
	return o.Delete(ctx, ref)
}

// Release deletes a stored value without waiting: a file at once, an
// object in the background. It never blocks on the broker.
func (v *Values) Release(ref wire.Ref) {
	if ref.Kind == wire.RefFile {
		_ = removeFile(ref)
		return
	}
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return // the bucket's TTL ends it
	}
	v.doomed = append(v.doomed, ref)
	if !v.started {
		v.started = true
		go v.deleter()
	}
	v.mu.Unlock()
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// deleter deletes released objects until Close.
func (v *Values) deleter() {
	defer close(v.stopped)
	for {
		select {
		case <-v.wake:
		case <-v.stop:
			v.drain(time.Second) // what was released before Close, briefly
			return
		}
		v.drain(0)
	}
}

// drain deletes the released objects; with a bound, gives up after it.
func (v *Values) drain(bound time.Duration) {
	var end time.Time
	if bound > 0 {
		end = time.Now().Add(bound)
	}
	for {
		v.mu.Lock()
		refs := v.doomed
		v.doomed = nil
		v.mu.Unlock()
		if len(refs) == 0 {
			return
		}
		for _, ref := range refs {
			if !end.IsZero() && time.Now().After(end) {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = v.Delete(ctx, ref) // failing that, the bucket's TTL ends it
			cancel()
		}
	}
}

// Close stops the background deleter, after at most a second more of
// deleting what was released.
func (v *Values) Close() {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return
	}
	v.closed = true
	started := v.started
	v.mu.Unlock()
	close(v.stop)
	if started {
		<-v.stopped
	}
}
