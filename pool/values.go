package pool

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/wire"
)

// Values of any size. A task whose encoded items are larger than
// d.inline (256 KiB, or less under a small broker max payload) is
// stored, and its message carries a reference (docs/protocol.md, Values of
// any size): in this caller's value directory when every worker is on
// this host (an embedded broker listens on loopback only), in the pool's
// object store bucket otherwise. Workers store large results the same
// way, in this caller's directory when they can reach it.

// storeTask stores a task's encoded items (the concatenation of parts)
// if they are too large for a message, and returns the reference (nil:
// they travel inline).
func (d *dispatcher) storeTask(ctx context.Context, task string, parts ...[]byte) (*wire.Ref, error) {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if n <= d.inline {
		return nil, nil
	}
	ref, err := d.vals.Put(ctx, d.argDir, "a", parts...)
	if blob.NoRoom(err) {
		return nil, fmt.Errorf("%w: %s: the value store has no room for a %d-byte argument: %w", ErrTooLarge, task, n, err)
	}
	if err != nil {
		// A broker that cannot serve the store is unavailable, as for the
		// task's own publish (a chaos run met an untyped "disconnected").
		return nil, wire.MarkUnavailable(fmt.Errorf("pool: %s: store a %d-byte argument: %w", task, n, err))
	}
	return &ref, nil
}

// fetchTimeout bounds the fetch of one stored result.
const fetchTimeout = 5 * time.Minute

// resultRetryWindow is how long a stored result that the broker cannot
// serve (a cluster electing a leader, a node restarting) is asked for
// again, beyond the value store's own 5 s of retries: the task ran, and
// its result is stored; giving up soon would throw it away. A chaos run
// (issue 18) saw one answered bad_output after those 5 s.
var resultRetryWindow = time.Minute

// fetchStored reads the stored value ref, reading again every second for
// resultRetryWindow while the broker cannot serve it, never past ctx.
func fetchStored(ctx context.Context, vals *blob.Values, ref wire.Ref) ([]byte, error) {
	start := time.Now()
	for {
		data, err := vals.Get(ctx, ref)
		if err == nil || !wire.Unreachable(err) || time.Since(start) >= resultRetryWindow {
			return data, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Second):
		}
	}
}

// fetchErrCode is the code of a result whose stored value could not be
// read: unavailable when the broker could not serve it (the value is
// there, the task ran), or did not within ctx's deadline; bad_output when
// the value is gone or not what the worker said.
func fetchErrCode(ctx context.Context, err error) string {
	if wire.Unreachable(err) || errors.Is(err, context.DeadlineExceeded) && ctx.Err() == context.DeadlineExceeded {
		return wire.CodeUnavailable
	}
	return wire.CodeBadOutput
}

// fetchResult fetches a stored result for its waiter, off the result
// router, and deletes it. The waiter stays pending meanwhile, so Close
// waits for it; if the call was given up or failed in the meantime, the
// result is dropped.
func (d *dispatcher) fetchResult(w *waiter, r wire.Result, src *source) {
	d.wg.Go(func() {
		ctx, cancel := context.WithTimeout(d.stopCtx, fetchTimeout)
		defer cancel()
		data, err := fetchStored(ctx, d.vals, *r.Ref)
		d.vals.Release(*r.Ref)
		d.mu.Lock()
		current := d.pending[r.Seq] == w
		if current {
			d.remove(r.Seq)
		}
		d.mu.Unlock()
		if !current {
			return // forgotten (cancelled) or failed (closed) meanwhile
		}
		if err == nil {
			_, err = wire.SplitItems(nil, data, r.NItems) // a check only: All reads Encoded
		}
		if err != nil {
			r = wire.Result{Seq: r.Seq, Attempt: r.Attempt, Err: &wire.ErrorInfo{Code: fetchErrCode(ctx, err),
				Message: fmt.Sprintf("fetch stored result %v: %v", *r.Ref, err)}}
		} else {
			r.Ref, r.Encoded, r.Owned = nil, data, true
		}
		w.done(&r, src)
	})
}

// setupValues prepares the pool's stores of large values: the bucket
// (made on first use) and this caller's value directory. Arguments go to
// the directory only when the pool's broker is its own embedded one, which
// listens on loopback: then every worker that can take a task is on this
// host. Results may come to it from any worker on this host.
func (p *Pool) setupValues(js jetstream.JetStream, replicas int) {
	d := p.d
	d.inline = wire.InlineLimit(d.maxPayload)
	d.vals = blob.NewValues(js, blob.Bucket(p.o.name), blob.ObjectsConfig{
		File: p.o.fileStore, Replicas: replicas, TTL: p.o.valueTTL})
	dir, err := blob.NewDir()
	if err != nil {
		p.log.Warn("no value directory on this host: large values go through the broker", "err", err)
		return
	}
	d.vdir = dir
	if p.broker != nil {
		d.argDir = dir.Name()
	}
	ttl := p.o.valueTTL
	if ttl <= 0 {
		ttl = blob.DefaultTTL
	}
	d.wg.Go(func() { d.expireValues(ttl) })
}

// expireValues removes, every tenth of ttl (at least a minute apart),
// value files older than ttl from this caller's directory: a worker killed
// while it stored a result leaves a file nobody will announce. This is the
// same bound the bucket's TTL puts on objects.
func (d *dispatcher) expireValues(ttl time.Duration) {
	t := time.NewTicker(max(ttl/10, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-t.C:
			d.vdir.Expire(ttl)
		case <-d.stop:
			return
		}
	}
}

// closeValues stops deleting in the background and removes this caller's
// value directory with whatever is left in it. The dispatcher is closed.
func (p *Pool) closeValues() {
	if p.d.vals != nil {
		p.d.vals.Close()
	}
	if p.d.vdir != nil {
		if err := p.d.vdir.Remove(); err != nil {
			p.log.Warn("removing the value directory", "dir", p.d.vdir.Path(), "err", err)
		}
	}
}
