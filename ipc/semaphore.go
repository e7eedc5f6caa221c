package ipc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// maxSemaphore bounds a semaphore's count: each slot is a key, and an
// acquisition may try each.
const maxSemaphore = 4096

// Semaphore is a bounded semaphore shared by every process that opens it
// by name (Python's multiprocessing.BoundedSemaphore): at most n
// acquisitions are held at once, across every process and host.
//
// It is n slots, the keys "sem.<name>.<i>" of the [SyncBucket], each
// held like a [Lock] on a lease (see [WithLease]): an acquisition held by
// a process that died is given back at most a lease later. Hence a
// release gives back an acquisition of its own handle (the latest it
// holds), not one of another process: [Semaphore.Release] with none held returns
// [ErrNotHeld], as Python's BoundedSemaphore raises ValueError. Waiters
// are not served in order; no fairness is promised.
//
// The count is the key "sem.<name>", written by the first NewSemaphore;
// opening it with another count is an [ErrMismatch].
type Semaphore struct {
	name  string
	key   string
	n     int
	js    jetstream.JetStream
	kv    jetstream.KeyValue
	lease time.Duration

	mu   sync.Mutex
	held []*lease
}

// NewSemaphore opens the semaphore called name, of count n (1 to 4096),
// creating it if it does not exist. The name may hold only letters,
// digits, '_' and '-'. Options: as [NewLock]'s.
func NewSemaphore(ctx context.Context, nc *nats.Conn, name string, n int, opts ...Option) (*Semaphore, error) {
	if err := validName("semaphore", name); err != nil {
		return nil, err
	}
	if n < 1 || n > maxSemaphore {
		return nil, fmt.Errorf("%w: semaphore %q: count %d not in 1..%d", ErrInvalidArgument, name, n, maxSemaphore)
	}
	so, js, kv, err := openSync(ctx, nc, "semaphore", name, opts)
	if err != nil {
		return nil, err
	}
	s := &Semaphore{name: name, key: syncKey("sem", name), n: n, js: js, kv: kv, lease: so.lease}
	count := strconv.Itoa(n)
	_, err = kv.Create(ctx, s.key, []byte(count))
	if errors.Is(err, jetstream.ErrKeyExists) || casConflict(err) {
		var e jetstream.KeyValueEntry
		if e, err = kv.Get(ctx, s.key); err == nil && string(e.Value()) != count {
			return nil, fmt.Errorf("%w: semaphore %q has count %s, not %d", ErrMismatch, name, e.Value(), n)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ipc: semaphore %q: %w", name, err)
	}
	return s, nil
}

// Name returns the semaphore's name, by which other processes open it.
func (s *Semaphore) Name() string { return s.name }

// Acquire takes one of the semaphore's n slots, waiting until one is free
// or ctx ends.
func (s *Semaphore) Acquire(ctx context.Context) error {
	if err := s.TryAcquire(ctx); !errors.Is(err, ErrLocked) {
		return err
	}
	updates, stop := watchKeys(ctx, s.kv, s.key+".>")
	defer stop()
	for {
		err := s.TryAcquire(ctx)
		if !errors.Is(err, ErrLocked) {
			return err
		}
		if err := waitChange(ctx, &updates); err != nil {
			return fmt.Errorf("ipc: semaphore %q: %w", s.name, err)
		}
	}
}

// TryAcquire takes a free slot, or returns [ErrLocked] at once if all n
// are held.
func (s *Semaphore) TryAcquire(ctx context.Context) error {
	// Start at a random slot, so that acquirers do not all race for slot 0.
	first := rand.IntN(s.n)
	for i := range s.n {
		slot := s.key + "." + strconv.Itoa((first+i)%s.n)
		h, err := tryLease(ctx, s.js, s.kv, slot, s.lease)
		if errors.Is(err, ErrLocked) {
			continue
		}
		if err != nil {
			return fmt.Errorf("ipc: semaphore %q: %w", s.name, err)
		}
		s.mu.Lock()
		s.held = append(s.held, h)
		s.mu.Unlock()
		return nil
	}
	return ErrLocked
}

// Release gives back the latest slot this handle acquired. It returns
// [ErrNotHeld] if the handle holds none, or if that slot's lease ran out.
func (s *Semaphore) Release(ctx context.Context) error {
	s.mu.Lock()
	if len(s.held) == 0 {
		s.mu.Unlock()
		return ErrNotHeld
	}
	h := s.held[len(s.held)-1]
	s.held = s.held[:len(s.held)-1]
	s.mu.Unlock()
	if err := h.release(ctx); err != nil {
		if errors.Is(err, ErrNotHeld) {
			return ErrNotHeld
		}
		return fmt.Errorf("ipc: semaphore %q: release: %w", s.name, err)
	}
	return nil
}

// Delete removes the semaphore (its count and its slots) from the broker.
func (s *Semaphore) Delete(ctx context.Context) error {
	if err := purgeSync(ctx, s.js, s.key); err != nil {
		return fmt.Errorf("ipc: semaphore %q: delete: %w", s.name, err)
	}
	return nil
}
