package ipc

import (
	"errors"
	"fmt"
	"time"
)

// DefaultLease is how long a holder that stops renewing (its process was
// killed, its host cut off) keeps a [Lock] or a [Semaphore] slot.
const DefaultLease = 15 * time.Second

// minLease: the broker's per-message TTLs are counted in whole seconds.
const minLease = time.Second

// WithLease sets how long a silent holder keeps a [Lock] or a
// [Semaphore] slot (default [DefaultLease], at least a second): a holder
// renews its lease every third of it while it holds, so only a holder
// that cannot reach the broker for that long (killed, frozen, cut off)
// loses it. Shorter leases free a dead holder's lock sooner and cost a
// renewal message more often. It is per handle: handles of one lock may
// use different leases.
//
// It is an option of the primitives only; a queue or a pipe given it
// fails with ErrInvalidOption.
func WithLease(d time.Duration) Option {
	return func(*options) error {
		if d < minLease {
			return fmt.Errorf("%w: lease %v is below %v", ErrInvalidOption, d, minLease)
		}
		// Option writes into the queues' options, which have no room for a
		// lease: the setting travels as an error that queues and pipes
		// return as is (an ErrInvalidOption) and the primitives read.
		return &primOption{lease: d}
	}
}

// primOption carries a primitive's setting through an Option.
type primOption struct{ lease time.Duration }

func (p *primOption) Error() string {
	return "ipc: WithLease is an option of the primitives (Lock, Semaphore), not of queues or pipes"
}

func (p *primOption) Unwrap() error { return ErrInvalidOption }

// syncOptions are a primitive's options.
type syncOptions struct {
	lease    time.Duration
	file     bool
	replicas int
}

// syncOptionsOf applies opts: WithLease, and WithFileStorage and
// WithReplicas, which shape the primitives' bucket when a call creates it
// (see [Lock]). Other options are the queues'.
func syncOptionsOf(opts []Option) (syncOptions, error) {
	so := syncOptions{lease: DefaultLease, replicas: 1}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		var qo options
		err := opt(&qo)
		var po *primOption
		switch {
		case errors.As(err, &po):
			so.lease = po.lease
			continue
		case err != nil:
			return so, err
		}
		if qo.file {
			so.file = true
		}
		if qo.replicas != 0 {
			so.replicas = qo.replicas
		}
		qo.file, qo.replicas = false, 0
		if qo != (options{}) {
			return so, fmt.Errorf("%w: only WithLease, WithFileStorage and WithReplicas apply to locks, semaphores, events, barriers, values and dicts", ErrInvalidOption)
		}
	}
	return so, nil
}
