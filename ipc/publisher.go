package ipc

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publisher sends messages to a stream with asynchronous acknowledgements,
// at most window of them pending at a time.
type publisher struct {
	js jetstream.JetStream
	// onLost, if set (before the first publish), is told of every message
	// known not to be stored: refused by the broker, or never sent. A
	// stored item's value is deleted then rather than at its TTL.
	onLost func(*nats.Msg)

	mu    sync.Mutex // serialises publishers so items stay in order
	err   atomic.Pointer[error]
	async atomic.Bool // PublishMsgAsync was called
}

func newPublisher(nc *nats.Conn, window int) (*publisher, error) {
	p := &publisher{}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(window),
		jetstream.WithPublishAsyncTimeout(asyncAckTimeout),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			p.err.CompareAndSwap(nil, &err)
			p.lost(m)
		}),
	)
	if err != nil {
		return nil, err
	}
	p.js = js
	return p, nil
}

// takeErr returns, once, the first failure of an asynchronous publish.
func (p *publisher) takeErr() error {
	if p.err.Load() == nil {
		return nil
	}
	if e := p.err.Swap(nil); e != nil {
		return fmt.Errorf("an earlier item was not stored: %w", *e)
	}
	return nil
}

// lost reports m to onLost.
func (p *publisher) lost(m *nats.Msg) {
	if p.onLost != nil && m != nil {
		p.onLost(m)
	}
}

func (p *publisher) publish(ctx context.Context, m *nats.Msg) (err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer func() {
		if err != nil {
			p.lost(m)
		}
	}()
	if err := p.takeErr(); err != nil {
		return err
	}
	p.async.Store(true)
	for {
		_, err := p.js.PublishMsgAsync(m, jetstream.WithStallWait(stallPoll))
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// publishSync sends m and waits for the broker's acknowledgement, after
// every earlier asynchronous publish.
func (p *publisher) publishSync(ctx context.Context, m *nats.Msg) (err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer func() {
		if err != nil {
			p.lost(m)
		}
	}()
	if err := p.takeErr(); err != nil {
		return err
	}
	_, err = p.js.PublishMsg(ctx, m)
	return err
}

func (p *publisher) flush(ctx context.Context) error {
	if p.js.PublishAsyncPending() > 0 {
		select {
		case <-p.js.PublishAsyncComplete():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return p.takeErr()
}

// close releases the asynchronous publisher's reply subscription.
func (p *publisher) close() {
	if p.async.Load() {
		// nats.go (v1.55) starts a goroutine with the first asynchronous
		// publish that reads the publisher's status channel once it runs;
		// CleanupPublisher sets that channel to nil, and a goroutine that
		// had not run yet then waits on nil forever. Let it run first.
		for range 10 {
			runtime.Gosched()
		}
		time.Sleep(time.Millisecond)
	}
	p.js.CleanupPublisher()
}
