package ipc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Condition is a condition variable shared by every process that opens
// it (Python's multiprocessing.Condition, Go's sync.Cond): holders of its
// [Lock] wait in [Condition.Wait] until another holder notifies them.
//
// Each waiter is a key "cond.<lock name>.<ticket>" of the [SyncBucket],
// tickets taken in order from the counter "cond.<lock name>", created on
// the waiter's lease (see [WithLease]) while it holds the lock; Notify
// deletes the oldest waiters' keys, each by a compare-and-swap on its
// revision, and a waiter wakes when its key is gone. No wakeup is lost:
// a waiter is registered before it unlocks, and a notifier holds the
// lock. A waiter that gives up after being notified passes the
// notification on to the next. A waiter that died keeps its key until its
// lease runs out, and a notify meanwhile may go to it (Python's notify
// would wait for it forever).
//
// As with sync.Cond, a waiter may wake with nothing changed (a
// notification passed on, a waiter's lease lost in an outage): wait in a
// loop that checks the condition.
type Condition struct {
	l   *Lock
	key string
}

// NewCondition returns a condition variable on l: its waiters and
// notifiers must hold l, and every process's Condition on a lock of the
// same name is the same one.
func NewCondition(l *Lock) (*Condition, error) {
	if l == nil {
		return nil, fmt.Errorf("%w: nil *Lock", ErrInvalidArgument)
	}
	return &Condition{l: l, key: syncKey("cond", l.name)}, nil
}

// L returns the condition's lock.
func (c *Condition) L() *Lock { return c.l }

// Wait unlocks the lock, waits until notified or until ctx ends, and
// locks it again. It returns nil with the lock held; an error with the
// lock not held: [ErrNotHeld] if the caller did not hold it (or its lease
// had run out), ctx's error if ctx ended first.
func (c *Condition) Wait(ctx context.Context) error {
	if !c.l.Held() {
		return ErrNotHeld
	}
	ticket, err := updateKey(ctx, c.l.kv, c.key, func(n uint64, _ bool) uint64 { return n + 1 })
	if err != nil {
		return fmt.Errorf("ipc: condition %q: %w", c.l.name, err)
	}
	key := fmt.Sprintf("%s.%020d", c.key, ticket)
	updates, stop := watchKeys(ctx, c.l.kv, key) // from before it exists
	defer stop()
	w, err := tryLease(ctx, c.l.js, c.l.kv, key, c.l.lease)
	if err != nil {
		return fmt.Errorf("ipc: condition %q: %w", c.l.name, err)
	}
	if err := c.l.Unlock(ctx); err != nil {
		cctx, cancel := cleanupCtx(ctx)
		defer cancel()
		_ = w.release(cctx)
		return err
	}
	notified := c.waitNotified(ctx, key, &updates)
	cctx, cancel := cleanupCtx(ctx)
	defer cancel()
	if !notified {
		// Its own delete tells whether a notify came meanwhile.
		if err := w.release(cctx); !errors.Is(err, ErrNotHeld) {
			return fmt.Errorf("ipc: condition %q: wait: %w", c.l.name, ctx.Err())
		}
	} else {
		_ = w.release(cctx) // stops the renewals; the key is gone
	}
	err = ctx.Err()
	if err == nil {
		if err = c.l.Lock(ctx); err == nil {
			return nil
		}
	}
	// Notified but not going on: the next waiter takes the notification.
	_ = c.notify(cctx, 1)
	return fmt.Errorf("ipc: condition %q: wait: %w", c.l.name, err)
}

// waitNotified waits until key is gone (true) or ctx ends (false).
func (c *Condition) waitNotified(ctx context.Context, key string, updates *<-chan jetstream.KeyValueEntry) bool {
	poll := time.NewTicker(syncPoll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case e, ok := <-*updates:
			if !ok {
				*updates = nil
				continue
			}
			if e != nil && e.Operation() != jetstream.KeyValuePut {
				return true
			}
		case <-poll.C: // should the watch have missed it
			if _, err := c.l.kv.Get(ctx, key); errors.Is(err, jetstream.ErrKeyNotFound) {
				return true
			}
		}
	}
}

// Notify wakes up to n waiters, the longest waiting first. The caller
// must hold the lock ([ErrNotHeld] otherwise).
func (c *Condition) Notify(ctx context.Context, n int) error {
	if n < 0 {
		return fmt.Errorf("%w: condition %q: notify %d", ErrInvalidArgument, c.l.name, n)
	}
	if !c.l.Held() {
		return ErrNotHeld
	}
	if err := c.notify(ctx, n); err != nil {
		return fmt.Errorf("ipc: condition %q: notify: %w", c.l.name, err)
	}
	return nil
}

// NotifyAll wakes every waiter. The caller must hold the lock.
func (c *Condition) NotifyAll(ctx context.Context) error {
	return c.Notify(ctx, int(^uint(0)>>1))
}

// notify deletes the keys of up to n waiters, oldest first.
func (c *Condition) notify(ctx context.Context, n int) error {
	for woken := 0; woken < n; {
		waiters, err := c.waiters(ctx)
		if err != nil || len(waiters) == 0 {
			return err
		}
		for _, e := range waiters {
			if woken == n {
				break
			}
			err := c.l.kv.Purge(ctx, e.Key(), jetstream.LastRevision(e.Revision()), jetstream.PurgeTTL(syncMarkerTTL))
			switch {
			case err == nil:
				woken++
			case casConflict(err):
				// Renewed or gone since the listing: the next round sees.
			default:
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// waiters lists the waiters' keys, oldest first.
func (c *Condition) waiters(ctx context.Context) ([]jetstream.KeyValueEntry, error) {
	w, err := c.l.kv.Watch(ctx, c.key+".*", jetstream.IgnoreDeletes(), jetstream.MetaOnly())
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.Stop() }()
	var out []jetstream.KeyValueEntry
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("the watch ended")
			}
			if e == nil {
				slices.SortFunc(out, func(a, b jetstream.KeyValueEntry) int { return strings.Compare(a.Key(), b.Key()) })
				return out, nil
			}
			out = append(out, e)
		}
	}
}

// Delete removes the condition's waiters and counter from the broker
// (not its lock); waiters wake.
func (c *Condition) Delete(ctx context.Context) error {
	if err := purgeSync(ctx, c.l.js, c.key); err != nil {
		return fmt.Errorf("ipc: condition %q: delete: %w", c.l.name, err)
	}
	return nil
}
