package ipc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Lock is a mutual-exclusion lock shared by every process that opens it
// by name (Python's multiprocessing.Lock; the shape of etcd's
// concurrency.Mutex), on one host or many. Unlike Python's, a lock whose
// holder dies is not held forever: it is held on a lease (see
// [WithLease]) that the holder renews while it holds, so the others
// proceed at most a lease after the holder was killed. Unlock by a holder
// whose lease ran out (it could not renew, the lock may have gone to
// another since) returns [ErrNotHeld].
//
// A Lock value is a handle, safe for concurrent use: like a sync.Mutex,
// it is held or not, by whichever goroutine locked it, and any goroutine
// may unlock it. A handle renews its lease until Unlock or until its
// connection closes, so a task must unlock what it locked before it
// returns (a worker process outlives its tasks), as with a sync.Mutex. Waiters are not served in order; no fairness is
// promised. There is no reentrant form (Python's RLock): Go has no
// goroutine identity to count re-entries by, and sync.Mutex has no
// reentrant form for the reason that a lock taken again by code already
// inside it hides a broken invariant rather than keeping one.
//
// Its state is the key "lock.<name>" of the [SyncBucket], which holds
// the holder's token while the lock is held, with a per-key TTL of the
// lease. A lease protects the others from a dead holder, not the holder
// from the others: a holder frozen longer than its lease (stopped,
// swapped out, cut off) may run on in its critical section after another
// took the lock. State that must never be written twice is updated with
// a compare-and-swap ([Value.Update]) as well.
type Lock struct {
	name  string
	key   string
	js    jetstream.JetStream
	kv    jetstream.KeyValue
	lease time.Duration

	mu   sync.Mutex
	held *lease
}

// NewLock opens the lock called name, which needs no creating: a lock
// nobody holds is no key at all. The name may hold only letters, digits,
// '_' and '-'. Options: [WithLease], and [WithFileStorage] and
// [WithReplicas], which shape the [SyncBucket] if this call creates it.
func NewLock(ctx context.Context, nc *nats.Conn, name string, opts ...Option) (*Lock, error) {
	if err := validName("lock", name); err != nil {
		return nil, err
	}
	so, js, kv, err := openSync(ctx, nc, "lock", name, opts)
	if err != nil {
		return nil, err
	}
	return &Lock{name: name, key: syncKey("lock", name), js: js, kv: kv, lease: so.lease}, nil
}

// Name returns the lock's name, by which other processes open it.
func (l *Lock) Name() string { return l.name }

// Lock takes the lock, waiting until it is free or ctx ends.
func (l *Lock) Lock(ctx context.Context) error {
	if err := l.TryLock(ctx); !errors.Is(err, ErrLocked) {
		return err
	}
	updates, stop := watchKeys(ctx, l.kv, l.key)
	defer stop()
	for {
		err := l.TryLock(ctx)
		if !errors.Is(err, ErrLocked) {
			return err
		}
		if err := waitChange(ctx, &updates); err != nil {
			return fmt.Errorf("ipc: lock %q: %w", l.name, err)
		}
	}
}

// TryLock takes the lock if it is free and returns [ErrLocked] at once if
// another holder (this handle included) has it.
func (l *Lock) TryLock(ctx context.Context) error {
	l.mu.Lock()
	mine := l.held != nil && l.held.held()
	l.mu.Unlock()
	if mine {
		return ErrLocked
	}
	h, err := tryLease(ctx, l.js, l.kv, l.key, l.lease)
	if errors.Is(err, ErrLocked) {
		return ErrLocked
	}
	if err != nil {
		return fmt.Errorf("ipc: lock %q: %w", l.name, err)
	}
	l.mu.Lock()
	prev := l.held
	l.held = h
	l.mu.Unlock()
	if prev != nil {
		_ = prev.release(ctx) // a lost lease: stop its goroutine
	}
	return nil
}

// Unlock releases the lock. It returns [ErrNotHeld] if this handle does
// not hold it: never locked, unlocked already, or its lease ran out.
// Whatever it returns, the handle holds the lock no more and stops
// renewing it: a lock it could not delete (ctx ended, the broker out of
// reach) passes on when its lease runs out.
func (l *Lock) Unlock(ctx context.Context) error {
	l.mu.Lock()
	h := l.held
	l.held = nil
	l.mu.Unlock()
	if h == nil {
		return ErrNotHeld
	}
	if err := h.release(ctx); err != nil {
		if errors.Is(err, ErrNotHeld) {
			return ErrNotHeld
		}
		return fmt.Errorf("ipc: lock %q: unlock: %w", l.name, err)
	}
	return nil
}

// Held reports whether this handle holds the lock as far as it knows: it
// locked it and has not found its lease lost since.
func (l *Lock) Held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held != nil && l.held.held()
}

// Delete removes the lock's state from the broker: a holder's Unlock then
// returns ErrNotHeld, and a waiter takes the lock.
func (l *Lock) Delete(ctx context.Context) error {
	if err := purgeSync(ctx, l.js, l.key); err != nil {
		return fmt.Errorf("ipc: lock %q: delete: %w", l.name, err)
	}
	return nil
}

// waitChange waits until *updates brings a change, syncPoll passes, or
// ctx ends. A closed channel is set to nil (polling from then on).
func waitChange(ctx context.Context, updates *<-chan jetstream.KeyValueEntry) error {
	t := time.NewTimer(syncPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		case e, ok := <-*updates:
			if !ok {
				*updates = nil
				continue
			}
			if e == nil {
				continue // the end of the initial values
			}
			return nil
		}
	}
}
