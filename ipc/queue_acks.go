package ipc

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// ackConfirmWait bounds how long Len waits for the broker to confirm this
// handle's acks: past it the count is taken anyway (it is approximate
// while other handles use the queue).
const ackConfirmWait = 2 * time.Second

// ackConfirms sends a queue handle's acks with a reply subject, without
// waiting, so that Len can wait until the broker has applied them: an item
// Get has returned must not still be counted as in the queue.
type ackConfirms struct {
	nc    *nats.Conn
	inbox string
	sub   *nats.Subscription

	mu       sync.Mutex
	inFlight int
	zero     chan struct{} // closed when inFlight drops to 0; nil at 0
}

func newAckConfirms(nc *nats.Conn) (*ackConfirms, error) {
	a := &ackConfirms{nc: nc, inbox: nc.NewInbox()}
	sub, err := nc.Subscribe(a.inbox, func(*nats.Msg) { a.confirmed() })
	if err != nil {
		return nil, err
	}
	a.sub = sub
	return a, nil
}

// ack acknowledges the message whose reply subject is reply.
func (a *ackConfirms) ack(reply string) error {
	a.mu.Lock()
	a.inFlight++
	if a.zero == nil {
		a.zero = make(chan struct{})
	}
	a.mu.Unlock()
	if err := a.nc.PublishRequest(reply, a.inbox, ackAck); err != nil {
		a.confirmed()
		return err
	}
	return nil
}

func (a *ackConfirms) confirmed() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inFlight == 0 {
		return // a late confirmation after wait gave up
	}
	a.inFlight--
	if a.inFlight == 0 {
		close(a.zero)
		a.zero = nil
	}
}

// wait returns once every ack sent so far is confirmed, ctx ends or
// ackConfirmWait passes; in the last case it stops waiting for them.
func (a *ackConfirms) wait(ctx context.Context) error {
	a.mu.Lock()
	zero := a.zero
	a.mu.Unlock()
	if zero == nil {
		return nil
	}
	t := time.NewTimer(ackConfirmWait)
	defer t.Stop()
	select {
	case <-zero:
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		a.mu.Lock()
		if a.zero == zero {
			a.inFlight = 0
			close(a.zero)
			a.zero = nil
		}
		a.mu.Unlock()
	}
	return nil
}

func (a *ackConfirms) close() { _ = a.sub.Unsubscribe() }
